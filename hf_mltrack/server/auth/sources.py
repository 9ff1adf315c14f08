"""What a model-version source or an artifact location points at, for authorization (issue 18, item 2).

Registering a version exposes its files to the model's readers, and ``get-download-uri`` hands its
location out: both need READ on what the source points at. A source is attributed to

- ``runs:/<run>/...``: the run's experiment (a run of no experiment of this store: nothing to check, the
  registry decides whether it accepts it);
- ``models:/<name>/...`` or ``models:/<name>@<alias>``: the registered model ``name``;
- ``models:/m-<id>``: the logged model's experiment;
- ``mlflow-artifacts:/<id>/...`` (or the same path under the proxy's destination): experiment ``<id>``;
- any URI or path: every experiment whose artifact location holds it.

A source attributed to nothing (e.g. a folder of the artifact root that is no experiment's) is
admins' only: `None` tells the boundary to refuse everyone else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...exceptions import MlTrackException

if TYPE_CHECKING:
    from ..boundary import ResolveContext, Resources
    from ..state import ServerState


def experiment_folder(state: ServerState, uri: str) -> str | None:
    """The experiment id whose proxied folder ``mlflow-artifacts:/<id>/...`` (or its form under the
    proxy's destination) holds ``uri``, or None."""
    from ...artifacts.uri import get_scheme
    from ...registry.sources import within
    from ..state import PROXY_SCHEME, _decoded, proxy_path

    rel: str | None = None
    if get_scheme(uri) == PROXY_SCHEME:
        rel = proxy_path(uri)
    elif state.config.serve_artifacts and within(uri, state.artifacts_destination):
        rel = relative_to(uri, state.artifacts_destination)
    if rel is None:
        return None
    # decoded as a client turning the URI into a request path would (``1%2Fx`` is folder ``1``)
    first = _decoded(rel).lstrip("/").split("/", 1)[0]
    return first if first.isdigit() else None


def relative_to(uri: str, root: str) -> str:
    """The path of ``uri`` below ``root`` (both URIs or paths; ``uri`` must lie within ``root``)."""
    from ...registry.sources import file_path

    child, base = file_path(uri), file_path(root)
    if child is not None and base is not None:
        rel = child.relative_to(base).as_posix()
        return "" if rel == "." else rel
    from urllib.parse import urlparse

    c = [p for p in urlparse(uri).path.split("/") if p]
    r = [p for p in urlparse(root).path.split("/") if p]
    return "/".join(c[len(r) :])


def experiments_holding(ctx: ResolveContext, uri: str) -> list[str]:
    """Ids of the experiments whose artifact location holds ``uri`` (roots themselves excluded)."""
    import sqlalchemy as sa

    from ...registry.sources import within

    state = ctx.state
    roots = {r.rstrip("/") for r in state.allowed_artifact_roots}
    with state.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT experiment_id, artifact_location FROM experiments")).all()
    return [
        str(exp) for exp, location in rows if location and location.rstrip("/") not in roots and within(uri, location)
    ]


def resources_of_location(ctx: ResolveContext, uri: str) -> Resources | None:
    out: Resources = []
    folder = experiment_folder(ctx.state, uri)
    if folder is not None:
        out.append(("experiment", folder))
    out += [("experiment", e) for e in experiments_holding(ctx, uri)]
    return out or None


def resources_of_source(ctx: ResolveContext, source: Any) -> Resources | None:
    """What READ is needed on to register ``source`` (raises a 400 for a malformed source)."""
    from ...registry.sources import check_syntax, scheme_of, split_runs_uri

    check_syntax(source)
    scheme = scheme_of(source)
    if scheme == "runs":
        run_id, _ = split_runs_uri(source)
        exp = ctx.manager.experiment_of_run(run_id)
        return [] if exp is None else [("experiment", exp)]
    if scheme == "models":
        from ...models.uri import logged_model_id
        from ...registry.uris import parse_models_uri

        logged = logged_model_id(source)
        if logged is not None:  # models:/m-<id>: a logged model's files, guarded by its experiment
            exp = ctx.manager.experiment_of_logged_model(logged[0])
            return [] if exp is None else [("experiment", exp)]
        return [("model", parse_models_uri(source).name)]
    return resources_of_location(ctx, source)


def resources_of_version(ctx: ResolveContext, name: Any, version: Any) -> Resources | None:
    """What READ is needed on to be handed the files of version ``version`` of model ``name``."""
    if not isinstance(name, str) or not name or version is None:
        return []  # the handler answers the malformed request
    try:
        mv = ctx.state.registry().get_model_version(name, version)
    except MlTrackException:
        return []  # no such version: the handler answers 404
    out: Resources = []
    if mv.run_id:
        exp = ctx.manager.experiment_of_run(mv.run_id)
        if exp is not None:
            out.append(("experiment", exp))
    located = resources_of_location(ctx, mv.source) if mv.source else None
    if located is None and not out:
        return None
    return out + (located or [])
