"""`RestStore`: the tracking store of an ``hf-mltrack server`` (or any MLflow REST API 2.0 server).

``set_tracking_uri("http://host:5000")`` makes the fluent API and `MlTrackClient` use it. Requests go
over one keep-alive connection pool (httpx); 429, 502/503/504, timeouts and connection errors are
retried with exponential backoff. Writes are idempotent on the server (a metric point is keyed by
run, key and step), so a retried or replayed log-batch never duplicates points.

When the server is unreachable, writes (log-batch, run updates) go to a local journal file (one per
server, fsynced) with a single warning; they are sent, in order, as soon as the server answers
again (by this process or the next one using the same server), so training never fails because the
tracking server is down.

`hf_mltrack.store.rest_artifacts.HttpArtifactRepository`, the artifact store behind
``mlflow-artifacts:/`` URIs (the server's artifact proxy), shares the connection pool and credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import random
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from .. import _env
from ..artifacts.base import FileInfo
from ..entities import Experiment, Metric, PagedList, Param, Run, RunData, RunInfo, RunTag, ViewType
from ..exceptions import (
    InvalidParameterError,
    InvalidStateError,
    MlTrackException,
    PermissionDeniedError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    UnauthenticatedError,
    missing_extra,
)
from ..utils.fast_json import dumps_bytes
from .base import AbstractStore
from .rest_logged_models import RestLoggedModelMixin

if TYPE_CHECKING:
    import httpx


_logger = logging.getLogger(__name__)

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"

# MLflow's server limits for one log-batch request.
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ITEMS = 1000

_RETRY_STATUS = frozenset({429, 502, 503, 504})
_VIEW_NAMES = {
    ViewType.ACTIVE_ONLY: "ACTIVE_ONLY",
    ViewType.DELETED_ONLY: "DELETED_ONLY",
    ViewType.ALL: "ALL",
}
_ERRORS: dict[str, type[MlTrackException]] = {
    "RESOURCE_DOES_NOT_EXIST": ResourceNotFoundError,
    "INVALID_PARAMETER_VALUE": InvalidParameterError,
    "BAD_REQUEST": InvalidParameterError,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExistsError,
    "INVALID_STATE": InvalidStateError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": UnauthenticatedError,
}
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
}


class TrackingServerUnavailableError(ConnectionError):
    """The tracking server did not answer (connection refused, timeout, 502/503/504) after retries.

    A `ConnectionError` (not an `MlTrackException`) so that callers that queue writes treat it as
    transient and keep the data.
    """


# ---------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------
class HttpClient:
    """One server's connection pool, credentials, retries and error mapping.

    Args:
        host (`str`): ``http(s)://host:port`` (a path prefix is kept, for servers behind a proxy).
    """

    def __init__(self, host: str) -> None:
        try:
            import httpx  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise missing_extra("Tracking to a server", "httpx", "server") from exc
        self.host = host.rstrip("/")
        self._client: httpx.Client | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpClient({self.host!r})"

    @property
    def client(self) -> httpx.Client:
        if self._client is None or self._pid != os.getpid():  # a forked child opens its own connections
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    import httpx

                    from .. import __version__

                    self._client = httpx.Client(
                        base_url=self.host,
                        timeout=_env.HTTP_REQUEST_TIMEOUT.get(),
                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                        verify=not _env.TRACKING_INSECURE_TLS.get(),
                        headers={"User-Agent": f"hf_mltrack/{__version__}"},
                        follow_redirects=False,
                    )
                    self._pid = os.getpid()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @staticmethod
    def auth_headers() -> dict[str, str]:
        token = _env.TRACKING_TOKEN.get()
        if token:
            return {"Authorization": f"Bearer {token}"}
        user, password = _env.TRACKING_USERNAME.get(), _env.TRACKING_PASSWORD.get()
        if user is not None or password is not None:
            raw = f"{user or ''}:{password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request with retries; return the 2xx response or raise the mapped error.

        ``content`` may be a callable returning fresh content for each attempt (streamed uploads).
        """
        import httpx

        max_retries = _env.HTTP_REQUEST_MAX_RETRIES.get() if retries is None else retries
        backoff = _backoff_factor()
        hdrs = {**self.auth_headers(), **(headers or {})}
        body: bytes | None = None
        if json_body is not None:
            body = dumps_bytes(json_body)
            hdrs["Content-Type"] = "application/json"
        attempt = 0
        stale_retried = False
        while True:
            try:
                payload = body if body is not None else (content() if callable(content) else content)
                req = self.client.build_request(method, path, content=payload, params=params, headers=hdrs)
                response = self.client.send(req, stream=stream)
            except httpx.TransportError as exc:
                if not stale_retried and not isinstance(exc, (httpx.ConnectError, httpx.TimeoutException)):
                    # A pooled keep-alive connection the server closed (e.g. it restarted): retry at once.
                    stale_retried = True
                    continue
                if attempt >= max_retries:
                    raise TrackingServerUnavailableError(
                        f"Cannot reach the tracking server at {self.host} ({type(exc).__name__}: {exc}). "
                        "Check that it runs and the address (HF_MLTRACK_TRACKING_URI)"
                    ) from exc
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS or attempt >= max_retries:
                    if stream:
                        response.read()
                    raise self._error(response, method, path)
                retry_after = _retry_after(response)
                response.close()
                if retry_after is not None:
                    time.sleep(min(retry_after, 60.0))
                    attempt += 1
                    continue
            time.sleep(backoff * (2**attempt) * (0.75 + 0.5 * random.random()))
            attempt += 1

    def call(self, method: str, endpoint: str, body: Any = None, params: Any = None, **kw: Any) -> dict:
        """A JSON API call: ``endpoint`` under ``/api/2.0/mlflow``."""
        if method == "GET":
            response = self.request(method, API + endpoint, params=params, **kw)
        else:
            response = self.request(method, API + endpoint, json_body=body if body is not None else {}, **kw)
        if not response.content:
            return {}
        try:
            return response.json()  # type: ignore[no-any-return]
        except ValueError as exc:
            raise MlTrackException(
                f"The tracking server at {self.host} answered {method} {endpoint} with something "
                "that is not JSON: "
                f"{response.text[:200]!r}. Is HF_MLTRACK_TRACKING_URI the address of an hf-mltrack server?"
            ) from exc

    def _error(self, response: httpx.Response, method: str, path: str) -> Exception:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code = payload.get("error_code") if isinstance(payload, dict) else None
        message = payload.get("message") if isinstance(payload, dict) else None
        if status in _RETRY_STATUS:
            return TrackingServerUnavailableError(
                f"The tracking server at {self.host} is unavailable: {method} {path} answered {status} "
                f"{message or response.reason_phrase} after retries"
            )
        if status == 401:
            user = _env.TRACKING_USERNAME.get()
            who = f" of user {user!r}" if user else ""
            return UnauthenticatedError(
                f"The tracking server at {self.host} rejected the credentials{who} "
                f"({message or 'unauthenticated'}). "
                "Set HF_MLTRACK_TRACKING_USERNAME and HF_MLTRACK_TRACKING_PASSWORD (or "
                "HF_MLTRACK_TRACKING_TOKEN) "
                "to valid credentials"
            )
        code = code or _STATUS_CODES.get(status, "INTERNAL_ERROR")
        text = message or f"{method} {path} failed with HTTP {status}: {response.text[:300]}"
        return _ERRORS.get(code, MlTrackException)(text, error_code=code)


def _backoff_factor() -> float:
    from ..server._settings import HTTP_REQUEST_BACKOFF_FACTOR

    return max(0.0, HTTP_REQUEST_BACKOFF_FACTOR.get())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


_CLIENTS: dict[str, HttpClient] = {}
_CLIENTS_LOCK = threading.Lock()


def http_client(host: str) -> HttpClient:
    """The shared `HttpClient` of a server (one pool per host per process)."""
    host = host.rstrip("/")
    client = _CLIENTS.get(host)
    if client is None:
        with _CLIENTS_LOCK:
            client = _CLIENTS.setdefault(host, HttpClient(host))
    return client


# ---------------------------------------------------------------------------------------------------
# JSON <-> entities
# ---------------------------------------------------------------------------------------------------
def _float(value: Any) -> float:
    return float(value)  # "NaN", "Infinity" and "-Infinity" parse too


def _float_json(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _kv(items: list[dict] | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or ()}


def experiment_from_json(d: dict) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d.get("name", ""),
        artifact_location=d.get("artifact_location", ""),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
        tags=_kv(d.get("tags")),
        creation_time=_int_or_none(d.get("creation_time")),
        last_update_time=_int_or_none(d.get("last_update_time")),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def run_info_from_json(info: dict) -> RunInfo:
    return RunInfo(
        run_id=info.get("run_id") or info["run_uuid"],
        experiment_id=str(info.get("experiment_id", "")),
        run_name=info.get("run_name", ""),
        user_id=info.get("user_id", ""),
        status=info.get("status", "RUNNING"),
        start_time=int(info.get("start_time") or 0),
        end_time=_int_or_none(info.get("end_time")),
        artifact_uri=info.get("artifact_uri", ""),
        lifecycle_stage=info.get("lifecycle_stage", "active"),
    )


def run_from_json(d: dict) -> Run:
    from ..entities import RunInputs, RunOutputs

    data = d.get("data") or {}
    metrics = [_metric_from_json(m) for m in data.get("metrics") or ()]
    run_data = RunData(
        metrics={m.key: m.value for m in metrics},
        params=_kv(data.get("params")),
        tags=_kv(data.get("tags")),
        _metric_objs=metrics,
    )
    return Run(
        run_info_from_json(d["info"]),
        run_data,
        RunInputs.from_dict(d.get("inputs")),
        RunOutputs.from_dict(d.get("outputs")),
    )


def _metric_from_json(m: dict) -> Metric:
    return Metric(
        m["key"], _float(m.get("value", "NaN")), int(m.get("timestamp") or 0), int(m.get("step") or 0)
    )


def _metric_json(m: Metric) -> dict:
    out = {"key": m.key, "value": _float_json(m.value), "timestamp": m.timestamp, "step": m.step}
    if m.model_id or m.dataset_name:
        for name in ("model_id", "dataset_name", "dataset_digest"):
            value = getattr(m, name)
            if value:
                out[name] = value
    return out


def batch_requests(
    run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> Iterator[dict]:
    """Split one run's data into log-batch bodies within the server limits (params and tags first)."""
    i_m = i_p = i_t = 0
    n_m, n_p, n_t = len(metrics), len(params), len(tags)
    while i_m < n_m or i_p < n_p or i_t < n_t:
        p = params[i_p : i_p + MAX_BATCH_PARAMS]
        t = tags[i_t : i_t + MAX_BATCH_TAGS]
        room = min(MAX_BATCH_METRICS, MAX_BATCH_ITEMS - len(p) - len(t))
        m = metrics[i_m : i_m + room]
        i_m, i_p, i_t = i_m + len(m), i_p + len(p), i_t + len(t)
        body: dict[str, Any] = {"run_id": run_id}
        if m:
            body["metrics"] = [_metric_json(x) for x in m]
        if p:
            body["params"] = [{"key": x.key, "value": x.value} for x in p]
        if t:
            body["tags"] = [{"key": x.key, "value": x.value} for x in t]
        yield body


# ---------------------------------------------------------------------------------------------------
# The journal of writes made while the server was unreachable
# ---------------------------------------------------------------------------------------------------
def _journal_dir() -> str:
    from ..server._settings import HTTP_JOURNAL_DIR

    configured = HTTP_JOURNAL_DIR.get()
    if configured:
        return os.path.expanduser(configured)
    home = _env.HOME.get()
    base = os.path.expanduser(home) if home else os.path.join(os.path.expanduser("~"), ".cache", "hf_mltrack")
    return os.path.join(base, "journal")


class Journal:
    """Append-only file of pending write requests (one JSON line each) for one server.

    Appends are fsynced before the logging call returns; a replay sends the lines in order and keeps
    whatever did not get through. An ``flock`` makes processes sharing the file take turns.
    """

    PROBE_INTERVAL_S = 2.0

    def __init__(self, host: str) -> None:
        self.host = host
        digest = hashlib.sha256(host.encode()).hexdigest()[:16]
        self.path = os.path.join(_journal_dir(), f"{digest}.jsonl")
        self._lock = threading.RLock()
        self._pending = self._file_has_entries()
        self._next_probe = 0.0
        self._warned = False

    def _file_has_entries(self) -> bool:
        try:
            return os.path.getsize(self.path) > 0
        except OSError:
            return False

    def pending(self) -> bool:
        """Whether writes wait in the journal, also ones left by another process (one ``stat``, ~1 us)."""
        if not self._pending:
            self._pending = self._file_has_entries()
        return self._pending

    def _locked_file(self, mode: str) -> IO[str]:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        f = open(self.path, mode, encoding="utf-8")  # noqa: SIM115 - closed by the caller
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: the thread lock still serializes this process
            pass
        return f

    def append(self, requests: Sequence[tuple[str, dict]], reason: BaseException) -> None:
        with self._lock:
            with self._locked_file("a") as f:
                for path, body in requests:
                    f.write(json.dumps({"path": path, "body": body}, separators=(",", ":")) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._pending = True
            self._next_probe = time.monotonic() + self.PROBE_INTERVAL_S
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"hf_mltrack: the tracking server at {self.host} is unreachable ({reason}). "
                    "Logged data is kept "
                    f"in {self.path} and sent when the server is back; training continues.",
                    stacklevel=2,
                )

    def replay(self, send: Any, force: bool = False) -> bool:
        """Send the journal in order; True when it is empty afterwards. Probes at most every few seconds."""
        with self._lock:
            if not self._pending:
                return True
            if not force and time.monotonic() < self._next_probe:
                return False
            with self._locked_file("a+") as f:
                f.seek(0)
                lines = [line for line in f.read().splitlines() if line.strip()]
                done = 0
                try:
                    for line in lines:
                        try:
                            entry = json.loads(line)
                        except ValueError:  # a torn last line from a crash: nothing acknowledged is in it
                            done += 1
                            continue
                        try:
                            send(entry["path"], entry["body"])
                        except MlTrackException as exc:  # the server refused it for good: report, move on
                            warnings.warn(
                                f"hf_mltrack: the tracking server rejected journaled data: {exc.message}",
                                stacklevel=2,
                            )
                        done += 1
                except TrackingServerUnavailableError:
                    self._next_probe = time.monotonic() + self.PROBE_INTERVAL_S
                    _rewrite(f, lines[done:])
                    return False
                _rewrite(f, [])
            self._pending = False
            if self._warned:
                _logger.warning(
                    "hf_mltrack: the tracking server at %s is back; sent %d journaled requests",
                    self.host,
                    done,
                )
            self._warned = False
            return True


def _rewrite(f: IO[str], lines: list[str]) -> None:
    f.seek(0)
    f.truncate()
    if lines:
        f.write("\n".join(lines) + "\n")
    f.flush()
    os.fsync(f.fileno())


# ---------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------
class RestStore(RestLoggedModelMixin, AbstractStore):
    """Tracking store talking to an ``hf-mltrack server`` over MLflow's REST API.

    Args:
        store_uri (`str`): ``http(s)://host:port`` of the server. Credentials come from
            ``HF_MLTRACK_TRACKING_USERNAME``/``HF_MLTRACK_TRACKING_PASSWORD`` or
            ``HF_MLTRACK_TRACKING_TOKEN``.
    """

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri.rstrip("/")
        self.http = http_client(self.store_uri)
        self.journal = Journal(self.store_uri)

    def __repr__(self) -> str:
        return f"RestStore({self.store_uri!r})"

    def _call(self, method: str, endpoint: str, body: Any = None, params: Any = None) -> dict:
        if self.journal.pending():
            self.journal.replay(self._send_once, force=True)  # read-your-writes once the server is back
        return self.http.call(method, endpoint, body, params)

    def _send_once(self, path: str, body: dict) -> None:
        self.http.call("POST", path, body, retries=0)

    def _write(self, requests: list[tuple[str, dict]]) -> bool:
        """Send idempotent writes in order; journal what cannot be sent now. True if all were sent."""
        if self.journal.pending() and not self.journal.replay(self._send_once):
            self.journal.append(requests, TrackingServerUnavailableError("still unreachable"))
            return False
        for i, (path, body) in enumerate(requests):
            try:
                self.http.call("POST", path, body)
            except TrackingServerUnavailableError as exc:
                self.journal.append(requests[i:], exc)
                return False
        return True

    # ---- experiments -------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        body: dict[str, Any] = {
            "name": name,
            "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()],
        }
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self._call("POST", "/experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        out = self._call("GET", "/experiments/get", params={"experiment_id": str(experiment_id)})
        return experiment_from_json(out["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            out = self._call("GET", "/experiments/get-by-name", params={"experiment_name": name})
        except ResourceNotFoundError:
            return None
        return experiment_from_json(out["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body: dict[str, Any] = {
            "view_type": _VIEW_NAMES[ViewType.parse(view_type)],
            "max_results": max_results,
            "order_by": list(order_by or []),
        }
        if filter_string:
            body["filter"] = filter_string
        if page_token:
            body["page_token"] = page_token
        out = self._call("POST", "/experiments/search", body)
        return PagedList(
            [experiment_from_json(e) for e in out.get("experiments", [])], out.get("next_page_token") or None
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("POST", "/experiments/delete", {"experiment_id": str(experiment_id)})

    def restore_experiment(self, experiment_id: str) -> None:
        self._call("POST", "/experiments/restore", {"experiment_id": str(experiment_id)})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._call("POST", "/experiments/update", {"experiment_id": str(experiment_id), "new_name": new_name})

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._call(
            "POST",
            "/experiments/set-experiment-tag",
            {"experiment_id": str(experiment_id), "key": key, "value": value},
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._call(
            "POST", "/experiments/delete-experiment-tag", {"experiment_id": str(experiment_id), "key": key}
        )

    # ---- runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str | None,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric] = (),
    ) -> Run:
        body: dict[str, Any] = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "start_time": start_time,
            "tags": [{"key": t.key, "value": t.value} for t in tags],
        }
        if run_name:
            body["run_name"] = run_name
        run = run_from_json(self._call("POST", "/runs/create", body)["run"])
        if params or metrics:
            self.log_batch(run.info.run_id, metrics, params, ())
            run = self.get_run(run.info.run_id)
        return run

    def get_run(self, run_id: str) -> Run:
        return run_from_json(self._call("GET", "/runs/get", params={"run_id": run_id})["run"])

    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None = None
    ) -> RunInfo:
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id}
        if run_status is not None:
            body["status"] = run_status
        if end_time is not None:
            body["end_time"] = end_time
        if run_name is not None:
            body["run_name"] = run_name
        try:
            if self.journal.pending():
                raise TrackingServerUnavailableError("earlier writes are still journaled")
            return run_info_from_json(self.http.call("POST", "/runs/update", body)["run_info"])
        except TrackingServerUnavailableError:
            # Ending a run while the server is down must not fail training: journal it, in order.
            self._write([("/runs/update", body)])
            return RunInfo(run_id, "", run_name or "", "", run_status or "RUNNING", 0, end_time, "")

    def delete_run(self, run_id: str) -> None:
        self._call("POST", "/runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self._call("POST", "/runs/restore", {"run_id": run_id})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("POST", "/runs/delete-tag", {"run_id": run_id, "key": key})

    # ---- logging -------------------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        self._write([("/runs/log-batch", body) for body in batch_requests(run_id, metrics, params, tags)])

    def log_batches(self, batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]]) -> None:
        requests = [
            ("/runs/log-batch", body)
            for run_id, (metrics, params, tags) in batches.items()
            for body in batch_requests(run_id, metrics, params, tags)
        ]
        self._write(requests)

    def flush_journal(self) -> bool:
        """Send journaled writes now (no probe delay); True when none are left."""
        return self.journal.replay(self._send_once, force=True)

    # ---- reads -----------------------------------------------------------------------------------
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        out = self._call("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": key})
        points = [_metric_from_json(m) for m in out.get("metrics", [])]
        token = out.get("next_page_token")
        while token:  # servers that page on their own
            out = self._call(
                "GET",
                "/metrics/get-history",
                params={"run_id": run_id, "metric_key": key, "page_token": token},
            )
            points.extend(_metric_from_json(m) for m in out.get("metrics", []))
            token = out.get("next_page_token")
        points.sort(key=lambda m: m.step)
        return points

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> dict[str, list[Metric]]:
        params: list[tuple[str, Any]] = [("run_ids", r) for r in run_ids]
        params += [("metric_key", key), ("max_results", max_results)]
        if start_step is not None:
            params.append(("start_step", start_step))
        if end_step is not None:
            params.append(("end_step", end_step))
        out = self._call("GET", "/metrics/get-history-bulk-interval", params=params)
        result: dict[str, list[Metric]] = {r: [] for r in run_ids}
        for m in out.get("metrics", []):
            result.setdefault(m.get("run_id", ""), []).append(_metric_from_json(m))
        return result

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body: dict[str, Any] = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "run_view_type": _VIEW_NAMES[ViewType.parse(run_view_type)],
            "max_results": max_results,
            "order_by": list(order_by or []),
        }
        if filter_string:
            body["filter"] = filter_string
        if page_token:
            body["page_token"] = page_token
        out = self._call("POST", "/runs/search", body)
        return PagedList([run_from_json(r) for r in out.get("runs", [])], out.get("next_page_token") or None)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        params = {"run_id": run_id}
        if path:
            params["path"] = path
        out = self._call("GET", "/artifacts/list", params=params)
        return [FileInfo(f["path"], bool(f.get("is_dir")), f.get("file_size")) for f in out.get("files", [])]


__all__ = ["HttpClient", "Journal", "RestStore", "TrackingServerUnavailableError", "http_client"]
