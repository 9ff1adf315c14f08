"""Which permission each route needs: one table, deny by default.

Every route of the app must appear here (a test enumerates the routes and fails on a gap); a request
to a route without a policy is refused with 403. Paths are the route paths without the
``/api/2.0`` or ``/ajax-api/2.0`` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Where = Literal["query", "body", "path"]
Kind = Literal[
    "public",
    "authenticated",
    "admin",
    "self",
    "experiment",
    "run",
    "runs",
    "proxy",
    "model",
    "trace",
    "traces",
]


@dataclass(frozen=True)
class Rule:
    """What a route requires.

    Args:
        kind: ``public`` (no login), ``authenticated`` (any user; the handler filters results),
            ``admin``, ``self`` (the ``username`` field names the caller, or an admin), or a resource
            kind whose ``permission`` the caller needs: ``experiment``/``model`` (by ``field``), ``run``
            (its experiment), ``runs`` (every listed run), ``proxy`` (the experiment that is the first
            segment of the artifact path), ``trace`` (the trace's experiment), ``traces`` (a log-batch's
            traces: the experiment each names, and that of any stored trace it replaces).
        permission: ``READ``, ``EDIT`` or ``MANAGE``.
        field: the request field naming the resource.
        where: ``query``, ``body`` or ``path`` (a path parameter).
        default: the value when the field is absent (as the handler assumes).
    """

    kind: Kind
    permission: str = "READ"
    field: str = ""
    where: Where = "query"
    default: str | None = None

    @property
    def needs_body(self) -> bool:
        return self.where == "body"


PUBLIC = Rule("public")
AUTHENTICATED = Rule("authenticated")
ADMIN = Rule("admin")


def _exp(permission: str, where: Where = "body", default: str | None = None) -> Rule:
    return Rule("experiment", permission, "experiment_id", where, default)


def _run(permission: str, where: Where = "body") -> Rule:
    return Rule("run", permission, "run_id", where)


def _trace(permission: str, where: Where = "path") -> Rule:
    return Rule("trace", permission, "request_id", where)


def _model(permission: str, where: Where = "body", field: str = "name") -> Rule:
    return Rule("model", permission, field, where)


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
    ("GET", "/get-artifact"): _run("READ", "query"),  # MLflow's download route (UI previews)
    # ---- experiments ----
    ("POST", f"{M}/experiments/create"): AUTHENTICATED,
    ("GET", f"{M}/experiments/get"): _exp("READ", "query"),
    ("GET", f"{M}/experiments/get-by-name"): AUTHENTICATED,  # the handler hides unreadable ones
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
    ("POST", f"{M}/runs/log-metric"): _run("EDIT"),
    ("POST", f"{M}/runs/log-parameter"): _run("EDIT"),
    ("POST", f"{M}/runs/set-tag"): _run("EDIT"),
    ("POST", f"{M}/runs/delete-tag"): _run("EDIT"),
    ("POST", f"{M}/runs/log-batch"): _run("EDIT"),
    # ---- metrics and artifacts ----
    ("GET", f"{M}/metrics/get-history"): _run("READ", "query"),
    ("GET", f"{M}/metrics/get-history-bulk-interval"): Rule("runs", "READ", "run_ids", "query"),
    ("GET", f"{M}/artifacts/list"): _run("READ", "query"),
    ("POST", f"{M}/logged-models/search"): AUTHENTICATED,  # always an empty page
    # ---- traces: guarded by the trace's experiment ----
    ("GET", f"{M}/traces"): AUTHENTICATED,  # experiment ids filtered
    ("GET", f"{M}/traces/{{request_id}}/info"): _trace("READ"),
    ("GET", f"{M}/get-trace-artifact"): _trace("READ", "query"),
    ("POST", f"{M}/traces/log-batch"): Rule("traces", "EDIT", "traces", "body"),
    ("POST", f"{M}/traces/delete-traces"): _exp("EDIT"),
    ("PATCH", f"{M}/traces/{{request_id}}/tags"): _trace("EDIT"),
    ("DELETE", f"{M}/traces/{{request_id}}/tags"): _trace("EDIT"),
    # ---- artifact proxy: guarded by the experiment that is the first path segment ----
    ("GET", "/mlflow-artifacts/artifacts"): Rule("proxy", "READ", "path", "query"),
    ("GET", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule(
        "proxy", "READ", "artifact_path", "path"
    ),
    ("PUT", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule(
        "proxy", "EDIT", "artifact_path", "path"
    ),
    ("DELETE", "/mlflow-artifacts/artifacts/{artifact_path:path}"): Rule(
        "proxy", "MANAGE", "artifact_path", "path"
    ),
    # multipart uploads: the path is the artifact's folder (create/complete/abort) or file (part)
    ("POST", "/mlflow-artifacts/mpu/create/{artifact_path:path}"): Rule(
        "proxy", "EDIT", "artifact_path", "path"
    ),
    ("PUT", "/mlflow-artifacts/mpu/part/{artifact_path:path}"): Rule(
        "proxy", "EDIT", "artifact_path", "path"
    ),
    ("POST", "/mlflow-artifacts/mpu/complete/{artifact_path:path}"): Rule(
        "proxy", "EDIT", "artifact_path", "path"
    ),
    ("POST", "/mlflow-artifacts/mpu/abort/{artifact_path:path}"): Rule(
        "proxy", "EDIT", "artifact_path", "path"
    ),
    # ---- users ----
    ("POST", f"{M}/users/create"): ADMIN,
    ("GET", f"{M}/users/get"): Rule("self", field="username", where="query"),
    ("GET", f"{M}/users/current"): AUTHENTICATED,
    ("PATCH", f"{M}/users/update-password"): Rule("self", field="username", where="body"),
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
    ("POST", f"{M}/model-versions/create"): _model("EDIT"),
    ("GET", f"{M}/model-versions/get"): _model("READ", "query"),
    ("PATCH", f"{M}/model-versions/update"): _model("EDIT"),
    ("DELETE", f"{M}/model-versions/delete"): _model("MANAGE"),
    ("GET", f"{M}/model-versions/search"): AUTHENTICATED,  # results filtered
    ("POST", f"{M}/model-versions/transition-stage"): _model("EDIT"),
    ("GET", f"{M}/model-versions/get-download-uri"): _model("READ", "query"),
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
