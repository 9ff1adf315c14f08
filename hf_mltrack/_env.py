"""Every ``HF_MLTRACK_*`` environment variable, typed, read at call time (never cached at import)."""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# os.environ's own mapping and key encoding (CPython's ``os._Environ``): a lookup there is exact (the same
# data os.environ.get reads, updated by os.environ[...] = and monkeypatch.setenv) and ~10x cheaper than
# os.environ.get, which matters to variables read on every log_metric call.
_ENV_DATA = getattr(os.environ, "_data", None)
_ENCODE_KEY = getattr(os.environ, "encodekey", None)
_DECODE_VALUE = getattr(os.environ, "decodevalue", None)
_FAST = isinstance(_ENV_DATA, dict) and _ENCODE_KEY is not None and _DECODE_VALUE is not None


@dataclass(frozen=True)
class EnvVar(Generic[T]):
    """One environment variable with its type, default and documentation."""

    name: str
    type: type
    default: T
    doc: str

    @functools.cached_property
    def is_set(self) -> Callable[[], bool]:
        """``is_set()``: whether the variable is set now. A C-level callable (no Python frame: a fraction of
        `get`'s cost), so that a hot path can skip `get` while the variable is unset."""
        if _FAST:
            return functools.partial(operator.contains, _ENV_DATA, self._env_key)  # type: ignore[arg-type]
        return functools.partial(operator.contains, os.environ, self.name)

    @functools.cached_property
    def _env_key(self) -> object:
        return _ENCODE_KEY(self.name) if _FAST else self.name  # type: ignore[misc]

    def get(self) -> T:
        if _FAST:
            encoded = _ENV_DATA.get(self._env_key)  # type: ignore[union-attr]
            if encoded is None:
                return self.default
            raw = _DECODE_VALUE(encoded)  # type: ignore[misc]
        else:
            raw = os.environ.get(self.name)
            if raw is None:
                return self.default
        if self.type is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True  # type: ignore[return-value]
            if low in _FALSE:
                return False  # type: ignore[return-value]
            raise ValueError(f"{self.name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no")
        try:
            return self.type(raw)  # type: ignore[no-any-return]
        except ValueError as exc:
            raise ValueError(f"{self.name}={raw!r} is not a valid {self.type.__name__}") from exc

    def set(self, value: object) -> None:
        os.environ[self.name] = str(value)

    def unset(self) -> None:
        os.environ.pop(self.name, None)


TRACKING_URI = EnvVar[str | None](
    "HF_MLTRACK_TRACKING_URI",
    str,
    None,
    "Where runs are stored: a path, sqlite:///..., postgresql://..., http(s)://...",
)
REGISTRY_URI = EnvVar[str | None](
    "HF_MLTRACK_REGISTRY_URI", str, None, "Model registry store; defaults to the tracking URI."
)
HOME = EnvVar[str | None](
    "HF_MLTRACK_HOME",
    str,
    None,
    "Folder of the embedded default store (defaults to ./mlruns in the working directory).",
)
ARTIFACT_ROOT = EnvVar[str | None](
    "HF_MLTRACK_DEFAULT_ARTIFACT_ROOT", str, None, "Default artifact root for new experiments."
)
EXPERIMENT_NAME = EnvVar[str | None]("HF_MLTRACK_EXPERIMENT_NAME", str, None, "Experiment used when none is set.")
EXPERIMENT_ID = EnvVar[str | None]("HF_MLTRACK_EXPERIMENT_ID", str, None, "Experiment id used when none is set.")
RUN_ID = EnvVar[str | None]("HF_MLTRACK_RUN_ID", str, None, "start_run() resumes this run (used by projects).")
ACTIVE_MODEL_ID = EnvVar[str | None](
    "HF_MLTRACK_ACTIVE_MODEL_ID", str, None, "Logged model (m-...) that log_metric links points to (set_active_model)."
)
TRACKING_USERNAME = EnvVar[str | None]("HF_MLTRACK_TRACKING_USERNAME", str, None, "Basic-auth user for a server.")
TRACKING_PASSWORD = EnvVar[str | None]("HF_MLTRACK_TRACKING_PASSWORD", str, None, "Basic-auth password for a server.")
TRACKING_TOKEN = EnvVar[str | None]("HF_MLTRACK_TRACKING_TOKEN", str, None, "Bearer token for a server.")
TRACKING_INSECURE_TLS = EnvVar[bool]("HF_MLTRACK_TRACKING_INSECURE_TLS", bool, False, "Skip TLS verification.")
HTTP_REQUEST_TIMEOUT = EnvVar[float]("HF_MLTRACK_HTTP_REQUEST_TIMEOUT", float, 120.0, "Seconds per HTTP request.")
HTTP_REQUEST_MAX_RETRIES = EnvVar[int]("HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES", int, 5, "Retries per HTTP request.")
ASYNC_LOGGING = EnvVar[bool](
    "HF_MLTRACK_ENABLE_ASYNC_LOGGING",
    bool,
    True,
    "log_* calls enqueue and return; a background thread writes.",
)
ASYNC_FLUSH_INTERVAL = EnvVar[float](
    "HF_MLTRACK_ASYNC_FLUSH_INTERVAL", float, 0.2, "Seconds between background flushes of logged data."
)
ASYNC_MAX_QUEUE = EnvVar[int](
    "HF_MLTRACK_ASYNC_MAX_QUEUE", int, 1_000_000, "Queued points above which log_* waits for the flusher."
)
SYSTEM_METRICS = EnvVar[bool](
    "HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING", bool, False, "Log CPU/GPU/memory metrics for every run."
)
SYSTEM_METRICS_INTERVAL = EnvVar[float](
    "HF_MLTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", float, 10.0, "Seconds between system metric samples."
)
ARTIFACT_LINK_MODE = EnvVar[str](
    "HF_MLTRACK_ARTIFACT_LINK_MODE",
    str,
    "auto",
    "How local artifacts are stored: auto (copy-on-write clone, hardlink only read-only files, else copy), "
    "hardlink (fast; the artifact changes if the source file is edited in place) or copy.",
)
ARTIFACT_PROGRESS_BAR = EnvVar[bool](
    "HF_MLTRACK_ENABLE_ARTIFACTS_PROGRESS_BAR", bool, True, "Show tqdm bars for large artifact transfers."
)
ARTIFACT_PROGRESS_THRESHOLD_MB = EnvVar[float](
    "HF_MLTRACK_ARTIFACTS_PROGRESS_THRESHOLD_MB", float, 100.0, "Transfers above this size show a progress bar."
)
ARTIFACT_MAX_WORKERS = EnvVar[int](
    "HF_MLTRACK_ARTIFACTS_MAX_WORKERS", int, 10, "Threads for parallel artifact uploads and downloads."
)
S3_MULTIPART_THRESHOLD_MB = EnvVar[int](
    "HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", int, 8, "Files above this size upload to S3 in parts."
)
S3_MULTIPART_CHUNKSIZE_MB = EnvVar[int]("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", int, 8, "Size of each S3 part.")
TRUSTED_MODULES = EnvVar[str](
    "HF_MLTRACK_TRUSTED_MODULES",
    str,
    "",
    "Comma-separated packages whose modules loading a model may import when its MLmodel names them "
    "(e.g. 'mypkg,other.sub'); other modules must be imported by the caller first.",
)
MULTIPART_STALE_SECONDS = EnvVar[float](
    "HF_MLTRACK_MULTIPART_STALE_SECONDS",
    float,
    3600.0,
    "The artifact proxy removes multipart uploads neither completed nor aborted after this many seconds "
    "(staged on its disk, or aborted on an S3 destination).",
)
MULTIPART_STAGING_MAX_BYTES = EnvVar[int](
    "HF_MLTRACK_MULTIPART_STAGING_MAX_BYTES",
    int,
    10 * 1024**3,
    "Cap on the bytes of unfinished multipart uploads the artifact proxy stages on its disk; a part "
    "past it is refused with 507 until uploads complete, are aborted or go stale.",
)
S3_IGNORE_TLS = EnvVar[bool]("HF_MLTRACK_S3_IGNORE_TLS", bool, False, "Skip TLS verification for S3 endpoints.")
S3_ENDPOINT_URL = EnvVar[str | None]("HF_MLTRACK_S3_ENDPOINT_URL", str, None, "Endpoint of an S3-compatible store.")
SQLALCHEMY_POOL_SIZE = EnvVar[int]("HF_MLTRACK_SQLALCHEMYSTORE_POOL_SIZE", int, 5, "Connection pool size.")
SQLALCHEMY_MAX_OVERFLOW = EnvVar[int](
    "HF_MLTRACK_SQLALCHEMYSTORE_MAX_OVERFLOW", int, 10, "Connections opened past the pool size under load."
)
RECIPES_PROFILE = EnvVar[str | None](
    "HF_MLTRACK_RECIPES_PROFILE", str, None, "Profile used by `hf-mltrack recipes` when --profile is not given."
)
PARAM_VALUE_MAX_LENGTH = EnvVar[int](
    "HF_MLTRACK_PARAM_VALUE_MAX_LENGTH", int, 6000, "Longer param values are truncated with a warning."
)

# The tracking server and its HTTP clients
AUTH_ADMIN_USERNAME = EnvVar[str](
    "HF_MLTRACK_AUTH_ADMIN_USERNAME",
    str,
    "admin",
    "Name of the admin user of basic-auth.",
)
AUTH_ADMIN_PASSWORD = EnvVar[str | None](
    "HF_MLTRACK_AUTH_ADMIN_PASSWORD",
    str,
    None,
    "Password of the admin user, required when a basic-auth server starts on a database without one.",
)
AUTH_DEFAULT_PERMISSION = EnvVar[str](
    "HF_MLTRACK_AUTH_DEFAULT_PERMISSION",
    str,
    "READ",
    "Permission of users on experiments and models they were given nothing on: READ, EDIT, MANAGE or NO_PERMISSIONS.",
)
SERVER_CONFIG = EnvVar[str | None](
    "HF_MLTRACK_SERVER_CONFIG",
    str,
    None,
    "JSON configuration handed by `hf-mltrack server` to its worker processes (internal).",
)
HTTP_REQUEST_BACKOFF_FACTOR = EnvVar[float](
    "HF_MLTRACK_HTTP_REQUEST_BACKOFF_FACTOR",
    float,
    0.25,
    "Seconds of the first retry delay of a failed HTTP request; each retry doubles it.",
)
HTTP_JOURNAL_DIR = EnvVar[str | None](
    "HF_MLTRACK_HTTP_JOURNAL_DIR",
    str,
    None,
    "Folder of the client journal that keeps logged data while the tracking server is unreachable "
    "(defaults to <HF_MLTRACK_HOME or ~/.cache/hf_mltrack>/journal).",
)
HTTP_JOURNAL_PROBE_INTERVAL = EnvVar[float](
    "HF_MLTRACK_HTTP_JOURNAL_PROBE_INTERVAL",
    float,
    1.0,
    "Seconds between checks whether an unreachable tracking server is back (journaled data is then sent).",
)
HTTP_OUTBOX_MAX_POINTS = EnvVar[int](
    "HF_MLTRACK_HTTP_OUTBOX_MAX_POINTS",
    int,
    50_000,
    "Metric points kept in memory for a tracking server that is slower than the job; beyond it they go to "
    "the journal on disk (never dropped, the training step never waits).",
)
HTTP_EXIT_WAIT = EnvVar[float](
    "HF_MLTRACK_HTTP_EXIT_WAIT",
    float,
    30.0,
    "At interpreter exit, seconds to wait for the tracking server to take what is still queued; the rest "
    "stays in the journal on disk (sent by the next process) and the exit says so.",
)
ASYNC_COMMIT_INTERVAL_MS = EnvVar[int](
    "HF_MLTRACK_ASYNC_COMMIT_INTERVAL_MS",
    int,
    1000,
    "Embedded stores: the background writer commits logged data at least this often (milliseconds), also "
    "under contention for the database; a killed process loses at most this window.",
)
# Tracing
TRACING_ENABLED = EnvVar[bool](
    "HF_MLTRACK_TRACING_ENABLED",
    bool,
    True,
    "Record traces from @hf_mltrack.trace, start_span and pipeline tracing (false: they cost nothing).",
)
TRACE_EXPORT_INTERVAL = EnvVar[float](
    "HF_MLTRACK_TRACE_EXPORT_INTERVAL",
    float,
    0.5,
    "Seconds the background trace exporter waits to gather finished traces into one write.",
)
TRACE_EXPORT_MAX_QUEUE = EnvVar[int](
    "HF_MLTRACK_TRACE_EXPORT_MAX_QUEUE",
    int,
    10_000,
    "Finished traces waiting for export beyond which the caller writes them itself (backpressure).",
)
OTLP_ENDPOINT = EnvVar[str | None](
    "HF_MLTRACK_OTLP_ENDPOINT",
    str,
    None,
    "Also send every trace to this OpenTelemetry collector with the OpenTelemetry SDK's OTLP/HTTP exporter "
    "(the 'otel' extra; e.g. http://localhost:4318; /v1/traces is appended unless the URL already has a path).",
)
OTLP_HEADERS = EnvVar[str | None](
    "HF_MLTRACK_OTLP_HEADERS",
    str,
    None,
    "Extra headers for the OTLP exporter, as 'key1=value1,key2=value2' (e.g. an API key).",
)
OTLP_SERVICE_NAME = EnvVar[str](
    "HF_MLTRACK_OTLP_SERVICE_NAME", str, "hf_mltrack", "service.name of exported OTLP spans."
)
# The Trainer integration
LOG_CHECKPOINTS = EnvVar[bool](
    "HF_MLTRACK_LOG_CHECKPOINTS", bool, False, "Log Trainer checkpoints as run artifacts (in the background)."
)
KEEP_LAST_CHECKPOINTS = EnvVar[int | None](
    "HF_MLTRACK_KEEP_LAST_CHECKPOINTS", int, None, "Keep only the last N logged checkpoints of a run."
)
LOG_MODEL = EnvVar[bool](
    "HF_MLTRACK_LOG_MODEL",
    bool,
    True,
    "Log the final model with the transformers flavor at the end of training.",
)
DISABLE_STARTUP_HOOK = EnvVar[bool](
    "HF_MLTRACK_DISABLE_STARTUP_HOOK",
    bool,
    False,
    "Do not register report_to='hf_mltrack' at interpreter start-up.",
)

ALL: tuple[EnvVar, ...] = tuple(v for v in list(globals().values()) if isinstance(v, EnvVar))
