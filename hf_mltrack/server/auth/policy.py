"""What each route acts on and which permission it needs: one declarative table, deny by default.

Every route of the app has one entry in `POLICIES` (a test enumerates the app's routes and fails on a
gap; with basic-auth a request to a route without an entry is refused with 403). Keys are
``(METHOD, path)`` with the path stripped of its ``/api/2.0``, ``/ajax-api/2.0`` (or ``3.0``) prefix.

An entry is a `Rule`: either an access class that names no object (``public``, ``authenticated``:
any signed-in user, the handler filters what it returns; ``admin``) or the objects the route acts on.
Each object is a `Target`: its kind, the permission needed on it, the canonical field that names it,
where that field is (``path``, ``query`` or ``body``) and the other names (aliases) it may arrive
under. The boundary step (`hf_mltrack.server.boundary`, read its docstring) reads every alias once,
refuses empty or conflicting ones with a 400, rewrites the request so the handler only sees the
canonical field, resolves each object to what permissions are kept on (a run -> its experiment, a
model version -> its registered model, a source URI -> the run, experiment or model it points at) and
authorizes, all before any handler runs.

Adding a route = adding one entry, e.g.::

    ("POST", f"{M}/runs/log-inputs"): _run("EDIT"),                     # run_id (alias run_uuid)
    ("GET", f"{M}/logged-models/{{model_id}}"): Rule("logged_model", "READ", "model_id", "path"),
    ("POST", f"{M}/model-versions/create"): _model("EDIT", also=(Target("source", "READ", "source", "body"),)),

A kind without a resolver (see ``boundary.RESOLVERS``) is refused for everyone but admins: register
one with `hf_mltrack.server.boundary.register_resolver` when adding a new kind of object.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

Where = Literal["query", "body", "path"]
#: Access classes that name no object.
ACCESS = frozenset({"public", "authenticated", "admin"})
Kind = str  # "run", "runs", "experiment", "model", "version_source", "source", "trace", "traces", "proxy", "self"...

#: The other names a canonical field may arrive under, by (kind, field): MLflow's clients send the
#: run as ``run_id`` and, for old servers, ``run_uuid``; MLflow 3 names a trace ``trace_id``.
DEFAULT_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("run", "run_id"): ("run_uuid",),
    ("trace", "request_id"): ("trace_id",),
    ("trace", "trace_id"): ("request_id",),
}


@dataclass(frozen=True)
class Target:
    """One object a route acts on.

    Args:
        kind (`str`): what the field names: ``run``, ``runs`` (a list of runs), ``experiment``, ``model``
            (a registered model's name), ``trace``, ``traces`` (a trace log-batch), ``proxy`` (an artifact
            path whose first segment is an experiment), ``source`` (a model-version source URI),
            ``version_source`` (the stored source of the version named by ``name`` and this field),
            ``self`` (a username that must be the caller's), or a kind registered by another module.
        permission (`str`): ``READ``, ``EDIT`` or ``MANAGE`` on the object (on its experiment for runs,
            traces and artifacts; on its registered model for versions).
        field (`str`): the canonical field the handler reads.
        where (`str`): ``query``, ``body`` or ``path``.
        aliases (`tuple[str, ...]`, *optional*): other names of the same object; ``None`` takes the
            kind's usual ones from `DEFAULT_ALIASES`.
        default (`str`, *optional*): the value when no alias is given (what the handler assumes).
        optional (`bool`, *optional*, defaults to `False`): absent is fine (nothing to check); otherwise
            an absent field is a 400 naming it.
    """

    kind: Kind
    permission: str = "READ"
    field: str = ""
    where: Where = "query"
    aliases: tuple[str, ...] | None = None
    default: str | None = None
    optional: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical field first, then its aliases."""
        aliases = self.aliases if self.aliases is not None else DEFAULT_ALIASES.get((self.kind, self.field), ())
        return (self.field, *aliases)

    @property
    def is_list(self) -> bool:
        return self.kind == "runs"


@dataclass(frozen=True)
class Rule:
    """What a route requires: an access class, or the objects it acts on.

    ``Rule(kind, permission, field, where, default)`` declares one object (a `Target` of those
    fields) and ``also`` any further ones; ``Rule("public")``, ``Rule("authenticated")`` and
    ``Rule("admin")`` name none (``also`` may still list objects whose aliases are checked).
    """

    kind: Kind
    permission: str = "READ"
    field: str = ""
    where: Where = "query"
    default: str | None = None
    aliases: tuple[str, ...] | None = None
    also: tuple[Target, ...] = ()
    optional: bool = False
    targets: tuple[Target, ...] = dataclass_field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        first: tuple[Target, ...] = ()
        if self.kind not in ACCESS:
            first = (
                Target(
                    self.kind,
                    self.permission,
                    self.field,
                    self.where,
                    self.aliases,
                    self.default,
                    self.optional,
                ),
            )
        object.__setattr__(self, "targets", (*first, *self.also))

    @property
    def needs_body(self) -> bool:
        return any(t.where == "body" for t in self.targets)


PUBLIC = Rule("public")
AUTHENTICATED = Rule("authenticated")
ADMIN = Rule("admin")


def _exp(permission: str, where: Where = "body", default: str | None = None, also: tuple[Target, ...] = ()) -> Rule:
    return Rule("experiment", permission, "experiment_id", where, default, also=also)


def _run(permission: str, where: Where = "body", also: tuple[Target, ...] = ()) -> Rule:
    return Rule("run", permission, "run_id", where, also=also)


def _trace(permission: str, where: Where = "path", field: str = "request_id") -> Rule:
    return Rule("trace", permission, field, where)


def _model(permission: str, where: Where = "body", field: str = "name", also: tuple[Target, ...] = ()) -> Rule:
    return Rule("model", permission, field, where, also=also)


def _self(where: Where) -> Rule:
    return Rule("self", "READ", "username", where)


def _source(where: Where = "body") -> Target:
    """A model-version ``source``: READ on the run, experiment or model it points at."""
    return Target("source", "READ", "source", where)


def _version_source(where: Where = "query") -> Target:
    """READ on what the stored source of the version ``name``/``version`` points at."""
    return Target("version_source", "READ", "version", where)


def _logged_models() -> Target:
    """READ on the experiment of every logged model listed in the body's ``models`` (``[{"model_id": ...}]``)."""
    return Target("logged_models", "READ", "models", "body", optional=True)


def _metric_model() -> Target:
    """EDIT on the experiment of the logged model a metric is written to (``model_id``, MLflow 3)."""
    return Target("logged_model", "EDIT", "model_id", "body", optional=True)


def _metric_models() -> Target:
    """EDIT on the experiment of every logged model named by a log-batch ``metrics[].model_id``."""
    return Target("metric_models", "EDIT", "metrics", "body", optional=True)


def _logged_model(permission: str) -> Rule:
    return Rule("logged_model", permission, "model_id", "path")


M = "/mlflow"
POLICIES: dict[tuple[str, str], Rule] = {
    # ---- service ----
    ("GET", "/health"): PUBLIC,
    ("GET", "/version"): PUBLIC,
    ("GET", "/openapi.json"): AUTHENTICATED,
    ("HEAD", "/openapi.json"): AUTHENTICATED,
    # ---- the web UI: signing in here makes the browser ask for credentials once ----
    ("GET", "/"): AUTHENTICATED,
    ("HEAD", "/"): AUTHENTICATED,
    ("GET", "/static/{asset_path:path}"): AUTHENTICATED,
    ("HEAD", "/static/{asset_path:path}"): AUTHENTICATED,
    # ---- the web UI's saved workspaces (hf_mltrack's own prefix): the experiment's permissions ----
    ("GET", "/hf-mltrack/workspaces/list"): _exp("READ", "query"),
    ("GET", "/hf-mltrack/workspaces/get"): _exp("READ", "query"),
    ("POST", "/hf-mltrack/workspaces/save"): _exp("EDIT"),
    ("DELETE", "/hf-mltrack/workspaces/delete"): _exp("EDIT"),
    # ---- the web UI's chart reads (columnar get-history-bulk-interval, group lines): READ on every run ----
    ("GET", "/hf-mltrack/metrics/history-columns"): Rule("runs", "READ", "run_ids", "query"),
    ("POST", "/hf-mltrack/metrics/group-aggregate"): Rule("runs", "READ", "run_ids", "body"),
    # ---- experiments ----
    ("POST", f"{M}/experiments/create"): AUTHENTICATED,
    ("GET", f"{M}/experiments/get"): _exp("READ", "query"),
    # (a 403 for an unreadable experiment, as MLflow: experiments/create tells anyone a name is taken)
    ("GET", f"{M}/experiments/get-by-name"): Rule("experiment_name", "READ", "experiment_name", "query"),
    ("POST", f"{M}/experiments/search"): AUTHENTICATED,  # results filtered
    ("GET", f"{M}/experiments/search"): AUTHENTICATED,  # results filtered
    ("POST", f"{M}/experiments/delete"): _exp("MANAGE"),
    ("POST", f"{M}/experiments/restore"): _exp("MANAGE"),
    ("POST", f"{M}/experiments/update"): _exp("EDIT"),
    ("POST", f"{M}/experiments/set-experiment-tag"): _exp("EDIT"),
    ("POST", f"{M}/experiments/delete-experiment-tag"): _exp("EDIT"),
    # ---- runs ----
    ("POST", f"{M}/runs/create"): _exp("EDIT", "body", default="0"),
    ("GET", f"{M}/runs/get"): _run("READ", "query"),
    ("POST", f"{M}/runs/update"): _run("EDIT"),
    ("POST", f"{M}/runs/delete"): _run("MANAGE"),
    ("POST", f"{M}/runs/restore"): _run("MANAGE"),
    ("POST", f"{M}/runs/search"): AUTHENTICATED,  # experiment ids filtered
    ("GET", f"{M}/runs/search"): AUTHENTICATED,  # experiment ids filtered
    # a metric may also be written to a logged model (MLflow 3): EDIT on that model's experiment too
    ("POST", f"{M}/runs/log-metric"): _run("EDIT", also=(_metric_model(),)),
    ("POST", f"{M}/runs/log-parameter"): _run("EDIT"),
    ("POST", f"{M}/runs/set-tag"): _run("EDIT"),
    ("POST", f"{M}/runs/delete-tag"): _run("EDIT"),
    ("POST", f"{M}/runs/log-batch"): _run("EDIT", also=(_metric_models(),)),
    # ---- metrics and artifacts ----
    ("GET", f"{M}/metrics/get-history"): _run("READ", "query"),
    ("GET", f"{M}/metrics/get-history-bulk-interval"): Rule("runs", "READ", "run_ids", "query"),
    ("GET", f"{M}/artifacts/list"): _run("READ", "query"),
    # ---- logged models (MLflow 3): guarded by the model's experiment ----
    ("POST", f"{M}/logged-models"): _exp("EDIT"),
    ("POST", f"{M}/logged-models/search"): AUTHENTICATED,  # experiment ids filtered
    ("GET", f"{M}/logged-models/{{model_id}}"): _logged_model("READ"),
    ("PATCH", f"{M}/logged-models/{{model_id}}"): _logged_model("EDIT"),
    ("DELETE", f"{M}/logged-models/{{model_id}}"): _logged_model("MANAGE"),
    ("POST", f"{M}/logged-models/{{model_id}}/params"): _logged_model("EDIT"),
    ("PATCH", f"{M}/logged-models/{{model_id}}/tags"): _logged_model("EDIT"),
    ("DELETE", f"{M}/logged-models/{{model_id}}/tags/{{tag_key:path}}"): _logged_model("EDIT"),
    ("GET", f"{M}/logged-models/{{model_id}}/artifacts/directories"): _logged_model("READ"),
    ("GET", f"{M}/logged-models/{{model_id}}/artifacts/files"): _logged_model("READ"),
    # and READ on every logged model the run is said to read or produce
    ("POST", f"{M}/runs/log-inputs"): _run("EDIT", also=(_logged_models(),)),
    ("POST", f"{M}/runs/outputs"): _run("EDIT", also=(_logged_models(),)),
    ("POST", f"{M}/experiments/search-datasets"): AUTHENTICATED,  # experiment ids filtered
    # ---- traces: guarded by the trace's experiment ----
    ("GET", f"{M}/traces"): AUTHENTICATED,  # experiment ids filtered
    ("GET", f"{M}/traces/{{request_id}}/info"): _trace("READ"),
    ("GET", f"{M}/get-trace-artifact"): _trace("READ", "query"),
    ("POST", f"{M}/traces/log-batch"): Rule("traces", "EDIT", "traces", "body"),
    ("POST", f"{M}/traces/delete-traces"): _exp("EDIT"),
    ("PATCH", f"{M}/traces/{{request_id}}/tags"): _trace("EDIT"),
    ("DELETE", f"{M}/traces/{{request_id}}/tags"): _trace("EDIT"),
    # ---- MLflow 3 traces (/api/3.0) and the v2 routes its client falls back to ----
    # POST /traces is v2's StartTrace and v3's StartTraceV3 (nested experiment): the handler checks EDIT.
    ("POST", f"{M}/traces"): AUTHENTICATED,
    ("PATCH", f"{M}/traces/{{request_id}}"): _trace("EDIT"),
    ("POST", f"{M}/traces/link-to-run"): _run("EDIT"),
    ("GET", f"{M}/traces/get"): _trace("READ", "query", field="trace_id"),
    ("GET", f"{M}/traces/batchGet"): AUTHENTICATED,  # unreadable traces left out
    ("POST", f"{M}/traces/batchGetInfos"): AUTHENTICATED,  # unreadable traces left out
    ("GET", f"{M}/traces/{{trace_id}}"): _trace("READ", field="trace_id"),
    ("POST", f"{M}/traces/search"): AUTHENTICATED,  # experiment ids filtered
    ("PATCH", f"{M}/traces/{{trace_id}}/tags"): _trace("EDIT", field="trace_id"),
    ("DELETE", f"{M}/traces/{{trace_id}}/tags"): _trace("EDIT", field="trace_id"),
    ("POST", f"{M}/traces/calculate-filter-correlation"): AUTHENTICATED,  # experiment ids filtered
    ("POST", f"{M}/traces/metrics"): AUTHENTICATED,  # experiment ids filtered
    ("POST", f"{M}/traces/{{trace_id}}/assessments"): _trace("EDIT", field="trace_id"),
    ("GET", f"{M}/traces/{{trace_id}}/assessments/{{assessment_id}}"): _trace("READ", field="trace_id"),
    ("PATCH", f"{M}/traces/{{trace_id}}/assessments/{{assessment_id}}"): _trace("EDIT", field="trace_id"),
    ("DELETE", f"{M}/traces/{{trace_id}}/assessments/{{assessment_id}}"): _trace("EDIT", field="trace_id"),
    ("GET", f"{M}/server-info"): PUBLIC,
    # OTLP ingest: the experiment is a header; the handler checks EDIT on it
    ("POST", "/v1/traces"): AUTHENTICATED,
    # ---- MLflow's file routes and the UI's bulk history ----
    ("GET", "/get-artifact"): _run("READ", "query"),
    ("GET", "/model-versions/get-artifact"): _model("READ", "query"),
    # optional: the handlers answer a missing run in MLflow's words ("Request must specify run_uuid.")
    ("POST", f"{M}/upload-artifact"): Rule("run", "EDIT", "run_uuid", "query", aliases=(), optional=True),
    ("GET", f"{M}/metrics/get-history-bulk"): Rule("runs", "READ", "run_id", "query", optional=True),
    # ---- webhooks: they see every registry event, so only admins manage them ----
    ("POST", f"{M}/webhooks"): ADMIN,
    ("GET", f"{M}/webhooks"): ADMIN,
    ("GET", f"{M}/webhooks/{{webhook_id}}"): ADMIN,
    ("PATCH", f"{M}/webhooks/{{webhook_id}}"): ADMIN,
    ("DELETE", f"{M}/webhooks/{{webhook_id}}"): ADMIN,
    ("POST", f"{M}/webhooks/{{webhook_id}}/test"): ADMIN,
    # ---- artifact proxy: guarded by the experiment that is the first path segment ----
    ("GET", "/mlflow-artifacts/artifacts"): Rule("proxy", "READ", "path", "query"),
    ("GET", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule("proxy", "READ", "artifact_path", "path"),
    ("PUT", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule("proxy", "EDIT", "artifact_path", "path"),
    ("DELETE", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule("proxy", "MANAGE", "artifact_path", "path"),
    # multipart uploads: the path is the artifact's folder (create/complete/abort) or file (part)
    ("POST", "/mlflow-artifacts/mpu/create/{artifact_path:path}"): Rule("proxy", "EDIT", "artifact_path", "path"),
    ("PUT", "/mlflow-artifacts/mpu/part/{artifact_path:path}"): Rule("proxy", "EDIT", "artifact_path", "path"),
    ("POST", "/mlflow-artifacts/mpu/complete/{artifact_path:path}"): Rule("proxy", "EDIT", "artifact_path", "path"),
    ("POST", "/mlflow-artifacts/mpu/abort/{artifact_path:path}"): Rule("proxy", "EDIT", "artifact_path", "path"),
    # ---- users ----
    ("POST", f"{M}/users/create"): ADMIN,
    ("GET", f"{M}/users/get"): _self("query"),
    ("GET", f"{M}/users/current"): AUTHENTICATED,
    ("PATCH", f"{M}/users/update-password"): _self("body"),
    ("PATCH", f"{M}/users/update-admin"): ADMIN,
    ("DELETE", f"{M}/users/delete"): ADMIN,
    # ---- permissions: managing them needs MANAGE on the resource ----
    ("POST", f"{M}/experiments/permissions/create"): _exp("MANAGE"),
    ("GET", f"{M}/experiments/permissions/get"): _exp("MANAGE", "query"),
    ("PATCH", f"{M}/experiments/permissions/update"): _exp("MANAGE"),
    ("DELETE", f"{M}/experiments/permissions/delete"): _exp("MANAGE"),
    ("POST", f"{M}/registered-models/permissions/create"): _model("MANAGE"),
    ("GET", f"{M}/registered-models/permissions/get"): _model("MANAGE", "query"),
    ("PATCH", f"{M}/registered-models/permissions/update"): _model("MANAGE"),
    ("DELETE", f"{M}/registered-models/permissions/delete"): _model("MANAGE"),
    # ---- model registry ----
    ("POST", f"{M}/registered-models/create"): AUTHENTICATED,  # the creator gets MANAGE
    ("GET", f"{M}/registered-models/get"): _model("READ", "query"),
    ("POST", f"{M}/registered-models/rename"): _model("MANAGE"),
    ("PATCH", f"{M}/registered-models/update"): _model("EDIT"),
    ("DELETE", f"{M}/registered-models/delete"): _model("MANAGE"),
    ("GET", f"{M}/registered-models/search"): AUTHENTICATED,  # results filtered
    ("POST", f"{M}/registered-models/get-latest-versions"): _model("READ"),
    ("GET", f"{M}/registered-models/get-latest-versions"): _model("READ", "query"),
    ("POST", f"{M}/registered-models/set-tag"): _model("EDIT"),
    ("DELETE", f"{M}/registered-models/delete-tag"): _model("EDIT"),
    ("POST", f"{M}/registered-models/alias"): _model("EDIT"),
    ("DELETE", f"{M}/registered-models/alias"): _model("EDIT"),
    ("GET", f"{M}/registered-models/alias"): _model("READ", "query"),
    ("POST", f"{M}/model-versions/create"): _model(
        "EDIT",
        also=(
            Target("run", "READ", "run_id", "body", optional=True),
            Target("logged_model", "READ", "model_id", "body", optional=True),
            _source(),
        ),
    ),
    ("GET", f"{M}/model-versions/get"): _model("READ", "query"),
    ("PATCH", f"{M}/model-versions/update"): _model("EDIT"),
    ("DELETE", f"{M}/model-versions/delete"): _model("MANAGE"),
    ("GET", f"{M}/model-versions/search"): AUTHENTICATED,  # results filtered
    ("POST", f"{M}/model-versions/transition-stage"): _model("EDIT"),
    ("GET", f"{M}/model-versions/get-download-uri"): _model("READ", "query", also=(_version_source(),)),
    ("POST", f"{M}/model-versions/set-tag"): _model("EDIT"),
    ("DELETE", f"{M}/model-versions/delete-tag"): _model("EDIT"),
    ("GET", f"{M}/model-versions/history"): _model("READ", "query"),
}

_PREFIXES = ("/api/2.0", "/ajax-api/2.0", "/api/3.0", "/ajax-api/3.0")


def policy_key(method: str, route_path: str) -> tuple[str, str]:
    for prefix in _PREFIXES:
        if route_path.startswith(prefix + "/"):
            route_path = route_path[len(prefix) :]
            break
    return method.upper(), route_path


def rule_for(method: str, route_path: str) -> Rule | None:
    return POLICIES.get(policy_key(method, route_path))
