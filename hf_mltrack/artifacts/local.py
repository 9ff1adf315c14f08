"""The local artifact store: a folder on this machine (plain path or `file://` URI).

Every file is written under a hidden temporary name and renamed into place, so a reader never sees a
partial file. Files are copied with the fastest *safe* method (see [`hf_mltrack.artifacts._fileio`]):
copy-on-write clones where the filesystem supports them, otherwise an in-kernel copy like `cp`.
Hardlinks are used only for sources without any write permission, or for every file when
`link_mode="hardlink"` / `HF_MLTRACK_ARTIFACT_LINK_MODE=hardlink` is chosen explicitly: a hardlinked
artifact changes whenever its source file is edited in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import BinaryIO

from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError

from .. import _env
from ._fileio import check_link_mode, copy_file, remove_tree, write_stream
from ._progress import ProgressCallback
from .base import ArtifactRepository, FileInfo
from .paths import is_temporary_name, join_artifact_path, safe_join, validate_artifact_path
from .uri import local_path_from_uri

__all__ = ["LocalArtifactRepository"]


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts in a local folder.

    Args:
        artifact_uri (`str`): a local path or `file://` URI; created on first write.
        link_mode (`str`, *optional*): `"auto"`, `"copy"` or `"hardlink"`; defaults to
            `HF_MLTRACK_ARTIFACT_LINK_MODE` (`"auto"`).
    """

    returns_store_paths = True

    def __init__(self, artifact_uri: str, *, link_mode: str | None = None) -> None:
        super().__init__(artifact_uri)
        self.root = local_path_from_uri(artifact_uri)
        self.link_mode = check_link_mode(link_mode or _env.ARTIFACT_LINK_MODE.get())

    @property
    def max_workers(self) -> int:
        # Local copies are disk-bound; a few threads hide per-file latency without thrashing the disk.
        return min(4, super().max_workers)

    def _path(self, rel: str) -> str:
        return safe_join(self.root, rel)

    def _prepare(self, dest: str) -> str:
        final = self._path(dest)
        try:
            os.makedirs(os.path.dirname(final), exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidParameterError(
                f"Cannot write the artifact file {dest!r}: a part of its folder path is a file, not a folder. "
                "Choose another artifact path or delete that file first."
            ) from None
        if os.path.isdir(final) and not os.path.islink(final):
            raise InvalidParameterError(
                f"Cannot write the artifact file {dest!r}: a folder of that name already exists in "
                f"{self.artifact_uri!r}. Choose another artifact path or delete the folder first."
            )
        return final

    def _upload_file(self, local_file: str, dest: str, progress: ProgressCallback) -> None:
        copy_file(local_file, self._prepare(dest), link_mode=self.link_mode, progress=progress)

    def _upload_stream(self, fileobj: BinaryIO, dest: str) -> None:
        write_stream(fileobj, self._prepare(dest))

    def _make_dirs(self, paths: Iterable[str]) -> None:
        for rel in paths:
            os.makedirs(self._path(rel), exist_ok=True)

    def _list_dir(self, path: str) -> list[FileInfo]:
        folder = self._path(path)
        if not os.path.isdir(folder):
            return []
        root = os.path.realpath(self.root)
        out = []
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_temporary_name(entry.name):
                    continue
                rel = join_artifact_path(path, entry.name)
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    if not (real == root or real.startswith(root + os.sep)):
                        continue  # a link out of the store is not an artifact
                try:
                    if entry.is_dir():
                        out.append(FileInfo(rel, True, None))
                    elif entry.is_file():
                        out.append(FileInfo(rel, False, entry.stat().st_size))
                except OSError:
                    continue  # vanished while listing
        return out

    def _walk_files(self, path: str) -> list[FileInfo]:
        # Faster than recursive _list_dir; links out of the store are refused later by safe_join.
        top = self._path(path)
        out = []
        for current, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not is_temporary_name(d)]
            rel_dir = os.path.relpath(current, os.path.realpath(self.root)).replace(os.sep, "/")
            rel_dir = "" if rel_dir == "." else rel_dir
            for name in filenames:
                if is_temporary_name(name):
                    continue
                full = os.path.join(current, name)
                try:
                    size = os.stat(full).st_size
                except OSError:
                    continue
                out.append(FileInfo(join_artifact_path(rel_dir, name), False, size))
        return out

    def _stat(self, path: str) -> FileInfo | None:
        full = self._path(path)
        if os.path.isdir(full):
            return FileInfo(path, True, None)
        if os.path.isfile(full):
            return FileInfo(path, False, os.path.getsize(full))
        return None

    def _download_file(self, path: str, local_file: str, progress: ProgressCallback) -> None:
        # Never hardlink out of the store: the user may edit what they downloaded.
        copy_file(self._path(path), local_file, link_mode="copy", progress=progress)

    def _open_read(self, path: str) -> BinaryIO:
        full = self._path(path)
        try:
            return open(full, "rb")
        except FileNotFoundError as exc:
            raise ResourceNotFoundError(f"No artifact file {path!r} under {self.artifact_uri!r}.") from exc
        except IsADirectoryError as exc:
            raise InvalidParameterError(
                f"{path!r} under {self.artifact_uri!r} is a folder, not a file: use list_artifacts() or "
                "download_artifacts() for folders."
            ) from exc

    def _delete(self, path: str) -> None:
        full = self._path(path)
        if os.path.lexists(full):
            remove_tree(full)

    def download_artifacts(self, artifact_path: str | None = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Like [`ArtifactRepository.download_artifacts`]; without `dst_path`, returns the stored path itself.

        The artifacts already are on the local filesystem, so nothing is copied unless `dst_path` is given
        (MLflow's behaviour). Treat the returned path as read-only.
        """
        if dst_path is None:
            rel = validate_artifact_path(artifact_path)
            self._require(rel)
            return self._path(rel)
        return super().download_artifacts(artifact_path, dst_path)
