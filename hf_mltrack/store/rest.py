"""`RestStore`: the tracking store of an ``hf-mltrack server`` (or any MLflow REST API 2.0 server).

``set_tracking_uri("http://host:5000")`` makes the fluent API and `MlTrackClient` use it. Requests go
over one keep-alive connection pool (httpx); 429, 502/503/504, timeouts and connection errors are
retried with exponential backoff. Writes are idempotent on the server (a metric point is keyed by
run, key and step), so a retried or replayed log-batch never duplicates points.

Writes never wait for the network (`hf_mltrack.store.rest_delivery`): a sender thread delivers them
in order; while the server is unreachable or slower than the job they go to a journal on disk (one
file per server, user and run, `hf_mltrack.store.journal`) and are sent as soon as the server answers
again, by this process or the next one of the same user (``hf-mltrack journal list|replay`` for the
rest). A run started while the server is down is an offline run: its id is chosen here and stays valid.

`hf_mltrack.store.rest_artifacts.HttpArtifactRepository`, the artifact store behind
``mlflow-artifacts:/`` URIs (the server's artifact proxy), shares the connection pool and credentials.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .. import _env
from ..artifacts.base import FileInfo
from ..entities import Experiment, Metric, PagedList, Param, Run, RunData, RunInfo, RunTag, ViewType
from ..entities.enums import LifecycleStage
from ..entities.experiment import OFFLINE_EXPERIMENT_PREFIX
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
        details = payload.get("details") if isinstance(payload, dict) else None
        if message and isinstance(details, str) and details:
            text = f"{message}: {details}"  # e.g. 'Invalid path' (MLflow's words), then why and the fix
        return _ERRORS.get(code, MlTrackException)(text, error_code=code)


def _backoff_factor() -> float:
    from .._env import HTTP_REQUEST_BACKOFF_FACTOR

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
    point = Metric(m["key"], _float(m.get("value", "NaN")), int(m.get("timestamp") or 0), int(m.get("step") or 0))
    if m.get("model_id") or m.get("dataset_name") or m.get("dataset_digest"):  # a model's or dataset's series
        return point._replace(
            dataset_name=m.get("dataset_name") or None,
            dataset_digest=m.get("dataset_digest") or None,
            model_id=m.get("model_id") or None,
        )
    return point


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
        from .rest_delivery import Delivery

        self.store_uri = store_uri.rstrip("/")
        self.http = http_client(self.store_uri)
        self.delivery = Delivery(self.http)
        from ..tracking._batcher import register_server_store

        register_server_store(self)

    def __repr__(self) -> str:
        return f"RestStore({self.store_uri!r})"

    def _rid(self, run_id: str) -> str:
        """The server's id of a run (a run started offline keeps the id the job holds)."""
        return self.delivery.aliases.get(run_id, run_id)

    def _call(self, method: str, endpoint: str, body: Any = None, params: Any = None) -> dict:
        delivery = self.delivery
        if not delivery.down:
            self._to_batcher(delivery.drain(everyone=True))  # read-your-writes: what was logged is on the server first
        # While the server is known to be down, a read fails at once instead of retrying for seconds.
        retries = 0 if delivery.down else None
        try:
            out = self.http.call(method, endpoint, body, params, retries=retries)
        except TrackingServerUnavailableError as exc:
            delivery.mark_down(exc)
            raise
        if retries == 0 and delivery.undelivered():
            # The server answered: it is back. Send what was journaled, then read again, so the
            # answer includes everything this process logged.
            delivery.back()
            self._to_batcher(delivery.drain())
            out = self.http.call(method, endpoint, body, params)
        return out

    @staticmethod
    def _raise(errors: list[MlTrackException]) -> None:
        if errors:
            if len(errors) == 1:
                raise errors[0]
            raise MlTrackException(
                f"{len(errors)} logging calls failed: " + "; ".join(e.message for e in errors[:5])
            ) from errors[0]

    def _write(self, run_id: str, requests: list[tuple[str, dict]]) -> None:
        """Queue idempotent writes of one run, in order; the sender thread delivers them (see
        `hf_mltrack.store.rest_delivery`). Never waits for the network."""
        self.delivery.submit(run_id, requests)

    def drain(self, timeout: float | None = None) -> list[MlTrackException]:
        """Wait until every queued write reached the server or the journal (the batcher's ``flush``)."""
        return self.delivery.drain(timeout)

    def undelivered_report(self, run_id: str | None = None) -> str | None:
        """A message naming what is still undelivered (and where it is kept), or None."""
        return self.delivery.report(run_id)

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

    def offline_experiment(self, name: str) -> Experiment:
        """An experiment set by name while the server is unreachable: runs start in it offline, and the
        first one to reach the server finds the experiment by that name there, or creates it."""
        return Experiment(
            experiment_id=OFFLINE_EXPERIMENT_PREFIX + name,
            name=name,
            artifact_location="",
            lifecycle_stage=LifecycleStage.ACTIVE,
        )

    def server_experiment_id(self, experiment_id: str) -> str:
        """A server's experiment id for an offline one, once the server answers; else it stays offline."""
        from .rest_delivery import offline_experiment_name

        name = offline_experiment_name(experiment_id)
        if name is None or self.delivery.down and name not in self.delivery.experiments:
            return experiment_id
        try:
            return self.delivery.experiment_id(name, retries=0)
        except TrackingServerUnavailableError as exc:
            self.delivery.mark_down(exc)
            return experiment_id

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
        self._call("POST", "/experiments/delete-experiment-tag", {"experiment_id": str(experiment_id), "key": key})

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
            "experiment_id": self.server_experiment_id(str(experiment_id)),
            "user_id": user_id,
            "start_time": start_time,
            "tags": [{"key": t.key, "value": t.value} for t in tags],
        }
        if run_name:
            body["run_name"] = run_name
        run = self._create_run_or_offline(body)
        if params or metrics:
            self.log_batch(run.info.run_id, metrics, params, ())
            if not self.delivery.down:
                run = self.get_run(run.info.run_id)
        return run

    def _create_run_or_offline(self, body: dict[str, Any]) -> Run:
        """Create the run on the server; when the server is unreachable, start it offline at once.

        An offline run has an id chosen here, which the job keeps using: its creation is journaled
        first, and once the server is back the run is created there (once, found again by its
        ``hf_mltrack.clientRunId`` tag if a replay repeats) and every later request is sent to it.
        """
        delivery = self.delivery
        if not delivery.down:
            try:
                return run_from_json(self.http.call("POST", "/runs/create", body, retries=0)["run"])
            except TrackingServerUnavailableError as exc:
                delivery.mark_down(exc)
        run_id, create = delivery.offline_run_body(body)
        delivery.offline.add(run_id)
        self._write(run_id, [("/runs/create", create)])
        tags = {t["key"]: t["value"] for t in create["tags"]}
        info = RunInfo(
            run_id=run_id,
            experiment_id=str(body["experiment_id"]),
            run_name=body.get("run_name") or tags.get("hf_mltrack.runName", ""),
            user_id=body.get("user_id", ""),
            status="RUNNING",
            start_time=int(body["start_time"]),
            end_time=None,
            artifact_uri="",
        )
        return Run(info, RunData(metrics={}, params={}, tags=tags))

    def _server_id(self, run_id: str) -> str:
        """The server's id of a run: a run started offline is created there first (when reachable)."""
        delivery = self.delivery
        if run_id in delivery.offline and run_id not in delivery.aliases:
            if delivery.down:
                try:  # is it back? (one request, no retries)
                    self.http.request("GET", "/health", retries=0)
                except Exception:
                    return run_id
                delivery.back()
            self._to_batcher(delivery.drain())
        return delivery.aliases.get(run_id, run_id)

    @staticmethod
    def _to_batcher(errors: list[MlTrackException]) -> None:
        """Errors of asynchronous writes found while reading: raised by the next ``flush()``."""
        if errors:
            from ..tracking import _batcher

            _batcher.get_batcher()._errors.extend(errors)

    def get_run(self, run_id: str) -> Run:
        run = run_from_json(self._call("GET", "/runs/get", params={"run_id": self._server_id(run_id)})["run"])
        if run.info.run_id != run_id and self.delivery.aliases.get(run_id) == run.info.run_id:
            run.info.run_id = run_id  # the id the job holds stays valid
        return run

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
        # In order after the run's queued writes; journaled (training goes on) while the server is down.
        self._write(run_id, [("/runs/update", body)])
        self._raise(self.delivery.drain())
        return RunInfo(run_id, "", run_name or "", "", run_status or "RUNNING", 0, end_time, "")

    def delete_run(self, run_id: str) -> None:
        self._call("POST", "/runs/delete", {"run_id": self._server_id(run_id)})

    def restore_run(self, run_id: str) -> None:
        self._call("POST", "/runs/restore", {"run_id": self._server_id(run_id)})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("POST", "/runs/delete-tag", {"run_id": self._server_id(run_id), "key": key})

    # ---- logging -------------------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """A synchronous write: delivered (or journaled, when the server is down) when it returns."""
        self._write(run_id, [("/runs/log-batch", body) for body in batch_requests(run_id, metrics, params, tags)])
        self._raise(self.delivery.drain())

    def log_batches(self, batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]]) -> None:
        """The batcher's asynchronous writes: handed to the sender thread (or the journal) at once."""
        for run_id, (metrics, params, tags) in batches.items():
            self._write(run_id, [("/runs/log-batch", body) for body in batch_requests(run_id, metrics, params, tags)])

    def flush_journal(self) -> bool:
        """Send journaled writes now (no probe delay); True when none are left."""
        delivery = self.delivery
        delivery.back()
        self._to_batcher(delivery.drain(everyone=True))
        return not delivery.undelivered()

    # ---- reads -----------------------------------------------------------------------------------
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        run_id = self._server_id(run_id)
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
        params = {"run_id": self._server_id(run_id)}
        if path:
            params["path"] = path
        out = self._call("GET", "/artifacts/list", params=params)
        return [FileInfo(f["path"], bool(f.get("is_dir")), f.get("file_size")) for f in out.get("files", [])]


__all__ = ["HttpClient", "RestStore", "TrackingServerUnavailableError", "http_client"]
