"""The server's configuration: one frozen object built by `create_app` or read back by worker processes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..exceptions import InvalidParameterError

#: Host names accepted in the ``Host`` header when no ``--allowed-hosts`` are given (DNS rebinding guard).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

#: The ``--app-name`` values `create_app(auth=...)` understands.
AUTH_APPS = ("basic-auth",)

#: MLflow's default cap on a JSON request body; log-batch is further limited by item counts.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Everything `create_app` needs; JSON-serializable so that several workers share it.

    Args:
        backend_store_uri (`str`): the tracking store (``sqlite:///...``, ``postgresql://...``, a folder).
        default_artifact_root (`str`, *optional*): artifact root of new experiments. Defaults to
            ``mlflow-artifacts:/`` (the proxy) when artifacts are served, else the store's own default.
        serve_artifacts (`bool`, *optional*, defaults to `True`): serve the artifact proxy
            ``/api/2.0/mlflow-artifacts/artifacts/...``.
        artifacts_destination (`str`, *optional*): where proxied artifacts are stored (a folder or an
            ``s3://`` URI); defaults to ``./mlartifacts``.
        auth (`str`, *optional*): ``"basic-auth"`` to require users and check permissions.
        allowed_hosts (`tuple[str]`, *optional*): extra accepted ``Host`` header names (``*.example.com``
            patterns allowed, ``*`` accepts any); loopback names are always accepted.
        cors_allowed_origins (`tuple[str]`, *optional*): origins allowed cross-origin requests (none by
            default).
        max_request_bytes (`int`, *optional*): cap on JSON request bodies.
        max_artifact_bytes (`int`, *optional*): cap on one artifact upload (unlimited by default).
        allowed_artifact_roots (`tuple[str]`, *optional*): extra locations clients may give new experiments
            as ``artifact_location`` (besides the default root and the proxy).
        auth_default_permission (`str`, *optional*): permission of users on resources they were given
            nothing on; defaults to ``HF_MLTRACK_AUTH_DEFAULT_PERMISSION`` (``READ``).
        webhooks_allow_private_urls (`bool`, *optional*, defaults to `False`): let webhooks deliver to
            private, loopback and link-local addresses (refused by default: server-side request forgery).
    """

    backend_store_uri: str
    default_artifact_root: str | None = None
    serve_artifacts: bool = True
    artifacts_destination: str | None = None
    auth: str | None = None
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    cors_allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_artifact_bytes: int | None = None
    allowed_artifact_roots: tuple[str, ...] = field(default_factory=tuple)
    auth_default_permission: str | None = None
    webhooks_allow_private_urls: bool = False

    def __post_init__(self) -> None:
        if self.auth is not None and self.auth not in AUTH_APPS:
            raise InvalidParameterError(
                f"Unknown app name {self.auth!r}: use one of {', '.join(AUTH_APPS)} (or none for no authentication)"
            )
        for name in ("allowed_hosts", "cors_allowed_origins", "allowed_artifact_roots"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = _split(value)
            object.__setattr__(self, name, tuple(v for v in (value or ()) if v))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        data = json.loads(text)
        return cls(**data)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]
