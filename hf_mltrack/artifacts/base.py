"""`FileInfo` and the `ArtifactRepository` base class every artifact store implements.

A repository is bound to one artifact root URI (usually a run's `artifact_uri`). Subclasses implement a
few primitives on *validated* relative paths (`_upload_file`, `_upload_stream`, `_list_dir`, `_stat`,
`_download_file`, `_open_read`, `_delete`); the public methods validate every path first, hide in-flight
temporary files, drive progress bars, and run folder transfers on a thread pool.
"""

from __future__ import annotations

import abc
import io
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import BinaryIO

from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError

from .. import _env
from ._progress import ProgressCallback, progress_bar
from .paths import is_temporary_name, join_artifact_path, safe_join, validate_artifact_path

__all__ = ["ArtifactRepository", "FileInfo", "UploadItem"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing.

    Args:
        path (`str`): path relative to the repository root, with `/` separators, e.g. `"model/config.json"`.
        is_dir (`bool`): whether the entry is a folder.
        file_size (`int`, *optional*): size in bytes; `None` for folders.
    """

    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict:
        """The MLflow REST shape (`file_size` is omitted for folders)."""
        out: dict = {"path": self.path, "is_dir": self.is_dir}
        if self.file_size is not None:
            out["file_size"] = self.file_size
        return out


@dataclass(frozen=True)
class UploadItem:
    """One local file to upload: its path, its destination artifact path and its size."""

    local_path: str
    artifact_path: str
    size: int


def collect_local_files(local_dir: str, artifact_path: str) -> tuple[list[UploadItem], list[str]]:
    """Walk `local_dir` (following symlinks, without loops) into upload items and empty artifact folders.

    Every relative name is validated, so a local file whose name is not a safe artifact path (say, one
    containing a backslash) is reported before anything is uploaded.
    """
    items: list[UploadItem] = []
    empty_dirs: list[str] = []
    seen: set[str] = set()
    for current, dirnames, filenames in os.walk(local_dir, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:  # a symlink loop, or two links to the same folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames.sort()
        rel_dir = os.path.relpath(current, local_dir)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dest_dir = join_artifact_path(artifact_path, rel_dir)
        if not dirnames and not filenames and dest_dir:
            empty_dirs.append(dest_dir)
        for name in sorted(filenames):
            path = os.path.join(current, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                _logger.warning("Skipping %s: it is a broken symlink.", path)
                continue
            if not stat.S_ISREG(st.st_mode):
                _logger.warning("Skipping %s: not a regular file.", path)
                continue
            rel = validate_artifact_path(
                join_artifact_path(rel_dir, name), what=f"file name (from {path!r})", allow_empty=False
            )
            items.append(UploadItem(path, join_artifact_path(artifact_path, rel), st.st_size))
    return items, empty_dirs


def run_parallel(func, args: Sequence, max_workers: int) -> None:
    """Call `func(arg)` for each arg on a thread pool; the first error cancels the rest and is raised."""
    if len(args) <= 1 or max_workers <= 1:
        for arg in args:
            func(arg)
        return
    with ThreadPoolExecutor(max_workers=min(max_workers, len(args)), thread_name_prefix="hf_mltrack-art") as pool:
        futures = [pool.submit(func, arg) for arg in args]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in pending:
            fut.cancel()
        for fut in futures:
            if fut.done() and not fut.cancelled() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]


class ArtifactRepository(abc.ABC):
    """Files of one artifact root (a run's `artifact_uri`), on some storage.

    Use [`~hf_mltrack.artifacts.get_artifact_repository`] to get the right subclass for a URI.

    Args:
        artifact_uri (`str`): the root this repository reads and writes under.
    """

    #: Whether `download_artifacts(..., dst_path=None)` returns paths inside the store itself.
    returns_store_paths = False

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.artifact_uri!r})"

    # ------------------------------------------------------------------ primitives (validated paths)
    @abc.abstractmethod
    def _upload_file(self, local_file: str, dest: str, progress: ProgressCallback) -> None:
        """Atomically store `local_file` at the artifact path `dest`."""

    @abc.abstractmethod
    def _upload_stream(self, fileobj: BinaryIO, dest: str) -> None:
        """Atomically store everything read from `fileobj` at `dest`."""

    @abc.abstractmethod
    def _list_dir(self, path: str) -> list[FileInfo]:
        """Immediate children of the folder `path` ("" is the root); `[]` if it is not a folder."""

    @abc.abstractmethod
    def _stat(self, path: str) -> FileInfo | None:
        """What `path` is (file with its size, or folder), or `None` if nothing is there."""

    @abc.abstractmethod
    def _download_file(self, path: str, local_file: str, progress: ProgressCallback) -> None:
        """Atomically write the artifact file `path` to the local path `local_file`."""

    @abc.abstractmethod
    def _open_read(self, path: str) -> BinaryIO:
        """A binary file object reading the artifact file `path`."""

    @abc.abstractmethod
    def _delete(self, path: str) -> None:
        """Delete the file or folder `path` ("" deletes everything under the root)."""

    # ------------------------------------------------------------------ overridable bulk operations
    @property
    def max_workers(self) -> int:
        return max(1, _env.ARTIFACT_MAX_WORKERS.get())

    def _upload_files(self, items: list[UploadItem], progress: ProgressCallback) -> None:
        run_parallel(lambda it: self._upload_file(it.local_path, it.artifact_path, progress), items, self.max_workers)

    def _make_dirs(self, paths: Iterable[str]) -> None:
        """Create empty folders (only stores with real folders do something)."""
        return None

    def _walk_files(self, path: str) -> list[FileInfo]:
        """Every file below the folder `path`, recursively."""
        out: list[FileInfo] = []
        stack = [path]
        while stack:
            for info in self._list_dir(stack.pop()):
                if info.is_dir:
                    stack.append(info.path)
                elif not is_temporary_name(info.path):
                    out.append(info)
        return out

    def _download_files(self, items: list[tuple[str, str]], progress: ProgressCallback) -> None:
        run_parallel(lambda it: self._download_file(it[0], it[1], progress), items, self.max_workers)

    # ------------------------------------------------------------------ public API
    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload one local file to `<root>/<artifact_path>/<file name>`.

        Args:
            local_file (`str` or `os.PathLike`): the file to log.
            artifact_path (`str`, *optional*): folder under the root; defaults to the root itself.
        """
        local_file = os.fspath(local_file)
        if os.path.isdir(local_file):
            raise InvalidParameterError(
                f"{local_file!r} is a folder: use log_artifacts({local_file!r}, ...) to log a folder."
            )
        if not os.path.isfile(local_file):
            raise ResourceNotFoundError(f"Cannot log {local_file!r}: no such local file.")
        folder = validate_artifact_path(artifact_path)
        name = validate_artifact_path(os.path.basename(local_file), what="file name", allow_empty=False)
        size = os.path.getsize(local_file)
        with progress_bar(size, f"Uploading {name}") as update:
            self._upload_file(local_file, join_artifact_path(folder, name), update)

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the contents of a local folder under `<root>/<artifact_path>/`, files in parallel.

        Args:
            local_dir (`str` or `os.PathLike`): the folder whose contents to log (not the folder itself).
            artifact_path (`str`, *optional*): folder under the root; defaults to the root itself.
        """
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            if os.path.isfile(local_dir):
                raise InvalidParameterError(
                    f"{local_dir!r} is a file: use log_artifact({local_dir!r}, ...) to log one file."
                )
            raise ResourceNotFoundError(f"Cannot log {local_dir!r}: no such local folder.")
        folder = validate_artifact_path(artifact_path)
        items, empty_dirs = collect_local_files(local_dir, folder)
        items.sort(key=lambda it: -it.size)  # largest first balances the pool best
        self._make_dirs(empty_dirs)
        total = sum(it.size for it in items)
        with progress_bar(total, f"Uploading {len(items)} files") as update:
            self._upload_files(items, update)

    def write_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store `data` as the artifact file `artifact_file` (atomically replacing any previous one)."""
        self.write_stream(io.BytesIO(data), artifact_file)

    def write_text(self, text: str, artifact_file: str, encoding: str = "utf-8") -> None:
        """Store `text` as the artifact file `artifact_file`."""
        self.write_bytes(text.encode(encoding), artifact_file)

    def write_stream(self, fileobj: BinaryIO, artifact_file: str) -> None:
        """Store everything read from the binary file object `fileobj` as `artifact_file`.

        The upload is atomic: if reading `fileobj` fails half-way, nothing appears under `artifact_file`
        (and a previous version of it, if any, is left intact).
        """
        dest = validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
        self._upload_stream(fileobj, dest)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under `path` (the root by default), sorted by path.

        Returns `[]` when `path` does not exist or is a file.
        """
        rel = validate_artifact_path(path)
        infos = [i for i in self._list_dir(rel) if not is_temporary_name(i.path)]
        return sorted(infos, key=lambda i: i.path)

    def exists(self, path: str | None = None) -> bool:
        """Whether a file or folder is stored at `path`."""
        rel = validate_artifact_path(path)
        return True if not rel else self._stat(rel) is not None

    def _require(self, rel: str) -> FileInfo:
        info = FileInfo("", True) if not rel else self._stat(rel)
        if info is None:
            raise ResourceNotFoundError(f"No artifact {rel!r} under {self.artifact_uri!r}.")
        return info

    def download_artifacts(self, artifact_path: str | None = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Download a file or folder to the local filesystem and return its local path.

        Args:
            artifact_path (`str`, *optional*): the file or folder to download; the root by default.
            dst_path (`str` or `os.PathLike`, *optional*): local folder to download into (created if
                needed); the artifact lands at `<dst_path>/<artifact_path>`. Defaults to a new temporary
                folder (local stores return the stored file itself instead: do not modify it).

        Returns:
            `str`: the local path of the downloaded file or folder.
        """
        rel = validate_artifact_path(artifact_path)
        info = self._require(rel)
        dst_root = os.fspath(dst_path) if dst_path is not None else tempfile.mkdtemp(prefix="hf_mltrack-artifacts-")
        os.makedirs(dst_root, exist_ok=True)
        target = safe_join(dst_root, rel, what="artifact path")
        if not info.is_dir:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with progress_bar(info.file_size or 0, f"Downloading {rel}") as update:
                self._download_file(rel, target, update)
            return target
        files = self._walk_files(rel)
        os.makedirs(target, exist_ok=True)
        items: list[tuple[str, str]] = []
        for f in files:
            local = safe_join(dst_root, f.path, what="stored artifact name")
            os.makedirs(os.path.dirname(local), exist_ok=True)
            items.append((f.path, local))
        total = sum(f.file_size or 0 for f in files)
        with progress_bar(total, f"Downloading {len(files)} files") as update:
            self._download_files(items, update)
        return target

    def open(self, artifact_file: str) -> BinaryIO:
        """Open the artifact file for binary reading (use as a context manager)."""
        rel = validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
        return self._open_read(rel)

    def read_bytes(self, artifact_file: str) -> bytes:
        """The whole content of the artifact file `artifact_file`."""
        with self.open(artifact_file) as f:
            return f.read()

    def read_text(self, artifact_file: str, encoding: str = "utf-8") -> str:
        """The content of the artifact file `artifact_file`, decoded."""
        return self.read_bytes(artifact_file).decode(encoding)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete the file or folder `artifact_path` (everything under the root by default)."""
        self._delete(validate_artifact_path(artifact_path))
