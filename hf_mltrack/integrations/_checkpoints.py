"""Checkpoints logged as run artifacts in the background, zero-copy on local stores.

``on_save`` only takes a snapshot: the checkpoint's files are hardlinked into a hidden staging folder
next to it (metadata operations, milliseconds even for gigabytes), so the Trainer may rotate or delete
the checkpoint at once. A single background thread then logs the snapshot under
``checkpoints/checkpoint-<step>`` (on a local store the files are hardlinked again: no bytes are
copied) and deletes the oldest logged checkpoints beyond ``keep_last``. For PEFT models only the
adapter files and the small state files are logged, not optimizer state.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("hf_mltrack.integrations")

ARTIFACT_DIR = "checkpoints"
# Files a PEFT checkpoint needs to be reloaded and inspected; optimizer/scheduler/RNG state is skipped.
_PEFT_SKIP = re.compile(r"^(optimizer|scheduler|scaler|rng_state.*)\.(pt|pth|bin)$")
_STEP = re.compile(r"checkpoint-(\d+)$")


def is_local_artifact_uri(uri: str) -> bool:
    """A ``file:`` URI or a plain path (``mlflow-artifacts:/...`` and object stores are remote)."""
    from ..artifacts.uri import is_local_uri

    return is_local_uri(uri)


def artifact_repository(artifact_uri: str, zero_copy: bool = True) -> Any:
    """The run's artifact repository; hardlinks on local stores (checkpoints are never edited in place)."""
    from ..artifacts import get_artifact_repository

    if zero_copy and is_local_artifact_uri(artifact_uri):
        return get_artifact_repository(artifact_uri, link_mode="hardlink")
    return get_artifact_repository(artifact_uri)


def select_files(folder: str, adapter_only: bool) -> list[str]:
    """Relative paths of the files to log from a checkpoint folder."""
    out: list[str] = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if adapter_only and _PEFT_SKIP.match(name):
                continue
            out.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(out)


def snapshot(folder: str, files: list[str]) -> str:
    """Hardlink (or copy, where links are impossible) ``files`` of ``folder`` into a staging folder."""
    parent = os.path.dirname(os.path.abspath(folder))
    staging = tempfile.mkdtemp(prefix=".hf_mltrack-", dir=parent)
    for rel in files:
        src = os.path.join(folder, rel)
        dst = os.path.join(staging, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    return staging


def _log_folder_quietly(repo: Any, folder: str, path: str) -> None:
    """``repo.log_artifacts(folder, path)`` without a progress bar (it would mix with the Trainer's)."""
    upload = getattr(repo, "_upload_files", None)
    make_dirs = getattr(repo, "_make_dirs", None)
    from ..artifacts.base import collect_local_files

    if upload is None or make_dirs is None:
        repo.log_artifacts(folder, path)
        return
    items, empty_dirs = collect_local_files(folder, path)
    make_dirs(empty_dirs)
    upload(items, lambda _n: None)


def _step_of(name: str) -> int:
    match = _STEP.search(name)
    return int(match.group(1)) if match else -1


class CheckpointLogger:
    """Logs checkpoint folders of one run in a background thread.

    Args:
        artifact_uri (`str` or a callable returning it): the run's artifact root (a callable when the
            run is still being created: it is read by the upload thread).
        keep_last (`int`, *optional*): keep only the newest N logged checkpoints (all when None).
        adapter_only (`bool`, *optional*, defaults to `False`): log only adapter and state files.
        on_error (`Callable`, *optional*): called with the exception of a failed upload.
        on_rotated (`Callable`, *optional*): called with the name of a checkpoint deleted by rotation.
    """

    def __init__(
        self,
        artifact_uri: str | Callable[[], str],
        keep_last: int | None = None,
        adapter_only: bool = False,
        on_error: Any = None,
        on_rotated: Any = None,
    ):
        self._artifact_uri = artifact_uri
        self.keep_last = keep_last if keep_last and keep_last > 0 else None
        self.adapter_only = adapter_only
        self.on_error = on_error
        self.on_rotated = on_rotated
        self._executor: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []
        self._logged: list[str] | None = None
        self._lock = threading.Lock()
        self.logged_paths: list[str] = []

    @property
    def artifact_uri(self) -> str:
        uri = self._artifact_uri
        return uri if isinstance(uri, str) else uri()

    def submit(self, folder: str, name: str | None = None, after: Any = None, before: Any = None) -> None:
        """Snapshot ``folder`` now and log it in the background as ``checkpoints/<name>``.

        In the background, ``before()`` runs first (its failure is reported; the upload goes on), then
        the upload, then ``after(staged, repo, path, error)`` (``error`` is None on success), before the
        snapshot is removed.
        """
        name = name or os.path.basename(os.path.normpath(folder))
        files = select_files(folder, self.adapter_only)
        if not files:
            return
        staged = snapshot(folder, files)
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hf_mltrack-checkpoints")
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._executor.submit(self._upload, staged, name, after, before))

    def _upload(self, staged: str, name: str, after: Any = None, before: Any = None) -> None:
        if before is not None:
            try:
                before()
            except Exception as exc:
                after = None  # nothing to finish
                if self.on_error is not None:
                    self.on_error(exc)
        try:
            repo = artifact_repository(self.artifact_uri)
            path = f"{ARTIFACT_DIR}/{name}"
            try:
                _log_folder_quietly(repo, staged, path)
            except Exception as exc:
                if after is not None:
                    after(staged, repo, path, exc)
                raise
            self.logged_paths.append(path)
            if after is not None:
                after(staged, repo, path, None)
            self._rotate(repo, name)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)
            else:
                logger.warning("hf_mltrack: logging checkpoint %s failed: %r", name, exc)
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def _rotate(self, repo: Any, name: str) -> None:
        if self._logged is None:  # first upload of this process: learn what a resumed run already holds
            try:
                self._logged = sorted(
                    (os.path.basename(f.path) for f in repo.list_artifacts(ARTIFACT_DIR) if f.is_dir),
                    key=_step_of,
                )
            except Exception:
                self._logged = []
        if name not in self._logged:
            self._logged.append(name)
            self._logged.sort(key=_step_of)
        if self.keep_last is None:
            return
        while len(self._logged) > self.keep_last:
            old = self._logged.pop(0)
            repo.delete_artifacts(f"{ARTIFACT_DIR}/{old}")
            if self.on_rotated is not None:
                self.on_rotated(old)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every submitted checkpoint is logged."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result(timeout=timeout)

    def close(self) -> None:
        self.wait()
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
