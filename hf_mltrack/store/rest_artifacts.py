"""`HttpArtifactRepository`: artifacts through a tracking server's proxy (``--serve-artifacts``).

``mlflow-artifacts:/<experiment>/<run>/artifacts/...`` URIs name files the server stores under its
``--artifacts-destination``; clients upload and download them over HTTP with the tracking server's
credentials, needing no object-store credentials of their own. Uploads stream from disk; files over
``HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB`` upload as a multipart upload (parts of
``HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB``, a few in parallel). A multipart upload the client gives up on
is aborted on the server at once: on any error (the parts still queued are cancelled first, so the abort
does not wait for them), on ``KeyboardInterrupt``/``SystemExit``, on ``SIGTERM`` while the main thread
uploads (if SIGTERM has no handler of the program's own, it raises `SystemExit` during the upload instead
of ending the process on the spot), and for uploads still running in other threads when the interpreter
exits (an ``atexit`` hook). Only a process killed outright leaves its parts
behind; the server sweeps those after ``HF_MLTRACK_MULTIPART_STALE_SECONDS`` (1 h). Downloads stream to a
temporary file renamed into place.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import posixpath
import tempfile
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit

from ..artifacts.base import ArtifactRepository, FileInfo
from ..exceptions import InvalidParameterError, MlTrackException
from .rest import ARTIFACTS_API, http_client

if TYPE_CHECKING:
    from ..artifacts._progress import ProgressCallback

MPU_API = ARTIFACTS_API.rsplit("/", 1)[0] + "/mpu"  # /api/2.0/mlflow-artifacts/mpu
#: Multipart uploads in progress in this process: aborted at exit if still there.
_IN_FLIGHT: dict[int, tuple[Any, str, dict]] = {}
_IN_FLIGHT_LOCK = threading.Lock()
_atexit_registered = False


def _abort(http: Any, folder_url: str, body: dict) -> None:
    """Abort one multipart upload on the server (best effort: the server sweeps what this misses)."""
    try:
        http.request("POST", f"{MPU_API}/abort/{folder_url}", json_body=body, retries=1)
    except Exception:  # noqa: BLE001 - the caller's error matters more; the server sweeps stale uploads
        pass


def _abort_in_flight() -> None:
    """``atexit``: abort the multipart uploads other threads had not finished."""
    with _IN_FLIGHT_LOCK:
        pending = list(_IN_FLIGHT.values())
        _IN_FLIGHT.clear()
    for http, folder_url, body in pending:
        _abort(http, folder_url, body)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the main thread uploads, make a default-handled SIGTERM raise `SystemExit` (so the upload is
    aborted on the way out) instead of killing the process; other handlers and threads are left alone."""
    import signal

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous: Any = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        # Installed only over the default handler. No `yield` under this suppress: an error of the upload
        # itself (an InvalidParameterError is a ValueError) must not be taken for a refused handler.
        with contextlib.suppress(ValueError, OSError):  # not allowed here (e.g. an embedded interpreter)
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                previous = signal.signal(signal.SIGTERM, terminate)
    if previous is None:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, previous)


def _track(key: int, entry: tuple[Any, str, dict] | None) -> None:
    global _atexit_registered
    with _IN_FLIGHT_LOCK:
        if entry is None:
            _IN_FLIGHT.pop(key, None)
            return
        _IN_FLIGHT[key] = entry
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(_abort_in_flight)


#: Parallel part uploads of one multipart upload.
MULTIPART_WORKERS = 4
_MAX_PARTS = 10_000
_MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------------
def _proxy_base(artifact_uri: str, tracking_uri: str | None) -> tuple[str, str]:
    """(server base URL, root path under the proxy) for an ``mlflow-artifacts:`` or proxy ``http(s)`` URI."""
    parts = urlsplit(artifact_uri)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        marker = parts.path.find(ARTIFACTS_API)
        if marker < 0:
            raise InvalidParameterError(
                f"{artifact_uri!r} is not an artifact proxy URL: expected http(s)://host{ARTIFACTS_API}/<path>"
            )
        base = f"{parts.scheme}://{parts.netloc}{parts.path[:marker]}"
        return base, parts.path[marker + len(ARTIFACTS_API) :].strip("/")
    if tracking_uri is None:
        from ..tracking.fluent import get_tracking_uri

        tracking_uri = get_tracking_uri()
    tracking = urlsplit(tracking_uri)
    if parts.netloc:
        web_scheme = tracking.scheme if tracking.scheme in ("http", "https") else "http"
        return f"{web_scheme}://{parts.netloc}", parts.path.strip("/")
    if tracking.scheme not in ("http", "https"):
        raise InvalidParameterError(
            f"{artifact_uri!r} lives on a tracking server's artifact proxy, but the tracking URI is "
            f"{tracking_uri!r}: "
            "set_tracking_uri('http://host:port') (or HF_MLTRACK_TRACKING_URI) to that server"
        )
    return tracking_uri.rstrip("/"), parts.path.strip("/")


class HttpArtifactRepository(ArtifactRepository):
    """Artifacts behind a tracking server's proxy (``hf-mltrack server --serve-artifacts``).

    Args:
        artifact_uri (`str`): ``mlflow-artifacts:/<path>`` (server taken from the tracking URI),
            ``mlflow-artifacts://host:port/<path>`` or ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/<path>``.
        tracking_uri (`str`, *optional*): the server, for URIs without a host.
    """

    def __init__(self, artifact_uri: str, *, tracking_uri: str | None = None) -> None:
        super().__init__(artifact_uri)
        base, self.root = _proxy_base(artifact_uri, tracking_uri)
        self.http = http_client(base)

    def _url(self, rel: str) -> str:
        path = "/".join(p for p in (self.root, rel) if p)
        return f"{ARTIFACTS_API}/{quote(path, safe='/')}"

    def _put(self, fileobj: BinaryIO, dest: str, progress: ProgressCallback | None = None) -> None:
        spool = None
        if not _seekable(fileobj):  # a retry must resend everything: buffer one-shot streams
            spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 - closed below
            while chunk := fileobj.read(1024 * 1024):
                spool.write(chunk)
            spool.seek(0)
            fileobj = spool  # type: ignore[assignment]
        try:
            start = fileobj.tell()
            size = fileobj.seek(0, os.SEEK_END) - start

            def content() -> Iterator[bytes]:
                fileobj.seek(start)
                return _iter_chunks(_ProgressReader(fileobj, progress) if progress is not None else fileobj)

            self.http.request(
                "PUT",
                self._url(dest),
                content=content,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
        finally:
            if spool is not None:
                spool.close()

    def _upload_file(self, local_file: str, dest: str, progress: ProgressCallback) -> None:
        from .. import _env

        size = os.path.getsize(local_file)
        threshold = max(0, _env.S3_MULTIPART_THRESHOLD_MB.get()) * _MIB
        if size > max(threshold, 0) and size > 0:
            with _sigterm_raises():  # a SIGTERM mid-upload aborts it on the server on the way out
                if self._multipart_upload(local_file, dest, size, progress):
                    return
        with open(local_file, "rb") as f:
            self._put(f, dest, progress)

    # ---- multipart -------------------------------------------------------------------------------
    def _multipart_upload(self, local_file: str, dest: str, size: int, progress: ProgressCallback) -> bool:
        """Upload ``local_file`` in parts; False when the server has no multipart support (old servers)."""
        from concurrent.futures import ThreadPoolExecutor

        from .. import _env

        chunk = max(1, _env.S3_MULTIPART_CHUNKSIZE_MB.get()) * _MIB
        chunk = max(chunk, -(-size // _MAX_PARTS))
        num_parts = -(-size // chunk)
        full = "/".join(p for p in (self.root, dest) if p)
        folder, name = posixpath.split(full)
        folder_url = quote(folder, safe="/")
        try:
            created = self.http.request(
                "POST",
                f"{MPU_API}/create/{folder_url}",
                json_body={"path": name, "num_parts": num_parts},
                retries=0,
            ).json()
        except MlTrackException as exc:
            if exc.error_code == "ENDPOINT_NOT_FOUND":
                return False  # a server (or destination) without multipart: one streamed PUT
            raise
        upload_id = created["upload_id"]
        abort_body = {"path": name, "upload_id": upload_id}
        key = id(abort_body)
        _track(key, (self.http, folder_url, abort_body))

        def put_part(credential: dict) -> dict:
            number = int(credential["part_number"])
            offset = (number - 1) * chunk
            length = min(chunk, size - offset)

            def content() -> Iterator[bytes]:
                return _iter_range(local_file, offset, length, progress)

            response = self.http.request(
                "PUT",
                _same_server_path(credential["url"]),
                content=content,
                headers={
                    **{str(k): str(v) for k, v in (credential.get("headers") or {}).items()},
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(length),
                },
            )
            etag = (response.json().get("etag") if response.content else None) or response.headers.get("etag")
            return {"part_number": number, "etag": str(etag).strip('"')}

        pool = ThreadPoolExecutor(max_workers=min(MULTIPART_WORKERS, num_parts))
        try:
            credentials = sorted(created["credentials"], key=lambda c: int(c["part_number"]))
            parts = list(pool.map(put_part, credentials))
            pool.shutdown()
            self.http.request(
                "POST",
                f"{MPU_API}/complete/{folder_url}",
                json_body={"path": name, "upload_id": upload_id, "parts": parts},
                retries=0,
            )
        except BaseException:
            # Give up now: drop the parts not started yet rather than upload them before aborting.
            pool.shutdown(wait=False, cancel_futures=True)
            _abort(self.http, folder_url, abort_body)
            raise
        finally:
            _track(key, None)
        return True

    def _upload_stream(self, fileobj: BinaryIO, dest: str) -> None:
        self._put(fileobj, dest)

    def _list_dir(self, path: str) -> list[FileInfo]:
        full = "/".join(p for p in (self.root, path) if p)
        response = self.http.request("GET", ARTIFACTS_API, params={"path": full})
        files = response.json().get("files", []) if response.content else []
        return [
            FileInfo(
                posixpath.join(path, f["path"]) if path else f["path"],
                bool(f.get("is_dir")),
                f.get("file_size"),
            )
            for f in files
        ]

    def _stat(self, path: str) -> FileInfo | None:
        parent, name = posixpath.split(path)
        for info in self._list_dir(parent):
            if posixpath.basename(info.path) == name:
                return info
        return None

    def _download_file(self, path: str, local_file: str, progress: ProgressCallback) -> None:
        folder = os.path.dirname(os.path.abspath(local_file))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".hfmltrack-partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                response = self.http.request("GET", self._url(path), stream=True)
                try:
                    for chunk in response.iter_bytes(1024 * 1024):
                        out.write(chunk)
                        progress(len(chunk))
                finally:
                    response.close()
            os.replace(tmp, local_file)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _open_read(self, path: str) -> BinaryIO:
        return io.BytesIO(self.http.request("GET", self._url(path)).content)

    def _delete(self, path: str) -> None:
        self.http.request("DELETE", self._url(path))


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable()) and f.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _same_server_path(url: str) -> str:
    """The path and query of a part URL, sent to our own server (whatever host name it answered with)."""
    parts = urlsplit(url)
    path = parts.path
    marker = path.find(MPU_API)
    if marker > 0:
        path = path[marker:]  # the client's base URL already carries any path prefix
    return f"{path}?{parts.query}" if parts.query else path


def _iter_range(path: str, offset: int, length: int, progress: ProgressCallback) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        while length > 0:
            chunk = f.read(min(length, _MIB))
            if not chunk:
                raise MlTrackException(f"{path!r} shrank while it was being uploaded")
            length -= len(chunk)
            progress(len(chunk))
            yield chunk


def _iter_chunks(f: Any) -> Iterator[bytes]:
    while chunk := f.read(1024 * 1024):
        yield chunk


class _ProgressReader:
    def __init__(self, f: BinaryIO, progress: ProgressCallback) -> None:
        self._f = f
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        chunk = self._f.read(n)
        if chunk:
            self._progress(len(chunk))
        return chunk


__all__ = ["HttpArtifactRepository"]
