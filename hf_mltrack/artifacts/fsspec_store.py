"""Artifact stores through fsspec: `gs://` (gcsfs), `abfs://`/`az://` (adlfs), `hdfs://` (pyarrow), ...

Also `memory://`, fsspec's in-process filesystem, handy for users' own tests. A scheme whose fsspec
plugin is missing raises [`~hf_mltrack.exceptions.MissingDependencyError`] naming the package.

Object stores (GCS, Azure, OSS) make an object visible only once fully written, so files are put
directly. Filesystem-like stores (HDFS, SFTP, memory, ...) get a hidden temporary name first and are
then renamed, so a partial file never shows under its final name.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, BinaryIO

from hf_mltrack.exceptions import MissingDependencyError, ResourceNotFoundError

from ._fileio import atomic_path, temp_path_for
from ._progress import ProgressCallback
from .base import ArtifactRepository, FileInfo
from .paths import is_temporary_name, join_artifact_path, validate_artifact_path
from .uri import get_scheme

__all__ = ["FsspecArtifactRepository", "PLUGIN_PACKAGES"]

#: The package providing each scheme's fsspec implementation.
PLUGIN_PACKAGES: dict[str, str] = {
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "az": "adlfs",
    "adl": "adlfs",
    "hdfs": "pyarrow",
    "viewfs": "pyarrow",
    "webhdfs": "requests",
    "oss": "ossfs",
    "sftp": "paramiko",
    "ssh": "paramiko",
    "dropbox": "dropboxdrivefs",
}
_OBJECT_STORES = {"gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "s3", "s3a"}


def _filesystem(scheme: str, uri: str, storage_options: dict[str, Any]) -> Any:
    package = PLUGIN_PACKAGES.get(scheme)
    try:
        import fsspec
    except ImportError as exc:
        need = f"fsspec {package}" if package else "fsspec"
        raise MissingDependencyError(
            f"The artifact URI {uri!r} needs fsspec for {scheme}:// storage: pip install {need}"
        ) from exc
    try:
        return fsspec.filesystem(scheme, **storage_options)
    except ImportError as exc:
        package = package or "the fsspec plugin for this scheme"
        raise MissingDependencyError(
            f"The artifact URI {uri!r} needs the {package!r} package for {scheme}:// storage: pip install {package}"
        ) from exc
    except ValueError as exc:  # unknown protocol
        raise MissingDependencyError(f"No fsspec implementation for {scheme}:// ({uri!r}): {exc}") from exc


class FsspecArtifactRepository(ArtifactRepository):
    """Artifacts on any fsspec filesystem.

    Args:
        artifact_uri (`str`): e.g. `gs://bucket/prefix`, `abfs://container/prefix`, `memory://root`.
        storage_options (`dict`, *optional*): keyword arguments of the fsspec filesystem (credentials,
            account names, ...).
    """

    def __init__(self, artifact_uri: str, *, storage_options: dict[str, Any] | None = None) -> None:
        super().__init__(artifact_uri)
        self.scheme = get_scheme(artifact_uri)
        self.fs = _filesystem(self.scheme, artifact_uri, storage_options or {})
        self.root = self.fs._strip_protocol(artifact_uri).rstrip("/")
        self._atomic_by_rename = self.scheme not in _OBJECT_STORES

    def _remote(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _rel(self, name: str) -> str | None:
        name = self.fs._strip_protocol(name).rstrip("/")
        if name == self.root:
            return None
        if not name.startswith(self.root + "/"):
            return None
        return validate_artifact_path(name[len(self.root) + 1 :], what=f"stored name {name!r}")

    def _put(self, local_file: str, dest: str) -> None:
        remote = self._remote(dest)
        parent = remote.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if not self._atomic_by_rename:
            self.fs.put_file(local_file, remote)
            return
        tmp = temp_path_for(remote)
        try:
            self.fs.put_file(local_file, tmp)
            self.fs.mv(tmp, remote)
        except BaseException:
            try:
                self.fs.rm(tmp)
            except Exception:
                pass
            raise

    def _upload_file(self, local_file: str, dest: str, progress: ProgressCallback) -> None:
        self._put(local_file, dest)
        progress(os.path.getsize(local_file))

    def _upload_stream(self, fileobj: BinaryIO, dest: str) -> None:
        # Spool locally first: a failing reader then never touches the remote store.
        fd, spool = tempfile.mkstemp(prefix="hf_mltrack-spool-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := fileobj.read(1024 * 1024):
                    out.write(chunk)
            self._put(spool, dest)
        finally:
            os.unlink(spool)

    def _list_dir(self, path: str) -> list[FileInfo]:
        try:
            entries = self.fs.ls(self._remote(path), detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        out = []
        for entry in entries:
            rel = self._rel(entry["name"])
            if rel is None or is_temporary_name(rel) or rel == path:
                continue  # some filesystems list a file as its own only child
            if entry.get("type") == "directory":
                out.append(FileInfo(rel, True, None))
            else:
                out.append(FileInfo(rel, False, int(entry.get("size") or 0)))
        return out

    def _walk_files(self, path: str) -> list[FileInfo]:
        try:
            found = self.fs.find(self._remote(path), detail=True)
        except FileNotFoundError:
            return []
        out = []
        for name, entry in found.items():
            rel = self._rel(name)
            if rel is None or is_temporary_name(rel) or entry.get("type") == "directory":
                continue
            out.append(FileInfo(rel, False, int(entry.get("size") or 0)))
        return out

    def _stat(self, path: str) -> FileInfo | None:
        try:
            info = self.fs.info(self._remote(path))
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            return FileInfo(path, True, None)
        return FileInfo(path, False, int(info.get("size") or 0))

    def _download_file(self, path: str, local_file: str, progress: ProgressCallback) -> None:
        with atomic_path(local_file) as tmp:
            try:
                self.fs.get_file(self._remote(path), tmp)
            except FileNotFoundError as exc:
                raise ResourceNotFoundError(f"No artifact file {path!r} under {self.artifact_uri!r}.") from exc
        progress(os.path.getsize(local_file))

    def _open_read(self, path: str) -> BinaryIO:
        try:
            return self.fs.open(self._remote(path), "rb")
        except FileNotFoundError as exc:
            raise ResourceNotFoundError(f"No artifact file {path!r} under {self.artifact_uri!r}.") from exc

    def _delete(self, path: str) -> None:
        remote = self._remote(path)
        if self.fs.exists(remote):
            self.fs.rm(remote, recursive=True)

    def _make_dirs(self, paths: list[str]) -> None:  # type: ignore[override]
        if self._atomic_by_rename:  # only real filesystems keep empty folders
            for rel in paths:
                self.fs.makedirs(self._remote(join_artifact_path(rel)), exist_ok=True)
