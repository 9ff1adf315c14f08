"""Handles on launched project runs: wait for them, ask their status, cancel them."""

from __future__ import annotations

import abc
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable

from ..entities import RunStatus

_logger = logging.getLogger(__name__)


class SubmittedRun(abc.ABC):
    """A project run that was launched, as returned by `hf_mltrack.run` (MLflow's ``SubmittedRun``)."""

    @property
    @abc.abstractmethod
    def run_id(self) -> str:
        """The id of the tracked run the project logs into."""

    @abc.abstractmethod
    def wait(self) -> bool:
        """Block until the run ends; return whether it succeeded."""

    @abc.abstractmethod
    def get_status(self) -> str:
        """The run's status: ``RUNNING``, ``FINISHED``, ``FAILED`` or ``KILLED``."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the run (its whole process group) and mark it ``KILLED``."""


class LocalSubmittedRun(SubmittedRun):
    """A project run executing as a local child process.

    When the process ends its run is marked ``FINISHED`` (exit code 0) or ``FAILED``, unless the child already
    ended the run itself; `cancel` marks it ``KILLED``.

    Args:
        run_id (`str`): the tracked run.
        process (`subprocess.Popen`): the child, started in its own session (process group).
        client (`MlTrackClient`): the client the run was created with.
        on_cancel (`Callable`, *optional*): extra cleanup when cancelled (e.g. stopping a container).
        monitor (`bool`, *optional*, defaults to `False`): finalize the run from a background thread as soon
            as the process ends (asynchronous runs).
    """

    #: Seconds between SIGTERM and SIGKILL on cancel.
    kill_grace_seconds: float = 10.0

    def __init__(
        self,
        run_id: str,
        process: subprocess.Popen[bytes],
        client: object,
        on_cancel: Callable[[], None] | None = None,
        monitor: bool = False,
    ) -> None:
        self._run_id = run_id
        self.process = process
        self._client = client
        self._on_cancel = on_cancel
        self._lock = threading.Lock()
        self._finalized = False
        self._cancelled = False
        self._status_before_cancel = RunStatus.RUNNING
        self._monitor: threading.Thread | None = None
        if monitor:
            self._monitor = threading.Thread(
                target=self._wait_and_finalize, name=f"hf_mltrack-project-{run_id[:8]}", daemon=True
            )
            self._monitor.start()

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def returncode(self) -> int | None:
        """The child's exit code, ``None`` while it runs."""
        return self.process.poll()

    def __repr__(self) -> str:
        return f"<LocalSubmittedRun run_id={self._run_id!r} pid={self.process.pid} status={self.get_status()}>"

    def _wait_and_finalize(self) -> None:
        returncode = self.process.wait()
        self._finalize(returncode)

    def wait(self) -> bool:
        returncode = self.process.wait()
        self._finalize(returncode)
        return returncode == 0 and not self._cancelled

    def get_status(self) -> str:
        returncode = self.process.poll()
        if returncode is None:
            return RunStatus.RUNNING
        self._finalize(returncode)
        return self._status_for(returncode)

    def _status_for(self, returncode: int) -> str:
        if self._cancelled:
            return RunStatus.KILLED
        return RunStatus.FINISHED if returncode == 0 else RunStatus.FAILED

    def _finalize(self, returncode: int) -> None:
        with self._lock:
            if self._finalized:
                return
            self._finalized = True
            status = self._status_for(returncode)
            try:
                if self._cancelled:
                    # An explicit cancel wins over whatever the child's signal handler recorded, unless the
                    # run had already ended before the cancel.
                    if not RunStatus.is_terminated(self._status_before_cancel):
                        self._client.set_terminated(self._run_id, status)  # type: ignore[attr-defined]
                    return
                current = self._client.get_run(self._run_id).info.status  # type: ignore[attr-defined]
                if RunStatus.is_terminated(current):
                    return  # the child ended the run itself (its `with start_run()` block): keep its verdict
                self._client.set_terminated(self._run_id, status)  # type: ignore[attr-defined]
            except Exception as exc:  # the process outcome is still reported by wait()/get_status()
                _logger.warning("Could not mark run %s as %s: %s", self._run_id, status, exc)

    def cancel(self) -> None:
        with self._lock:
            if self.process.poll() is not None or self._finalized or self._cancelled:
                return
            try:
                self._status_before_cancel = self._client.get_run(self._run_id).info.status  # type: ignore[attr-defined]
            except Exception:
                self._status_before_cancel = RunStatus.RUNNING
            self._cancelled = True
        _terminate_group(self.process, self.kill_grace_seconds)
        if self._on_cancel is not None:
            try:
                self._on_cancel()
            except Exception as exc:
                _logger.warning("Cleanup after cancelling run %s failed: %s", self._run_id, exc)
        self._finalize(self.process.wait())


def _terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it is still alive after ``grace`` seconds."""
    if os.name == "nt":  # pragma: no cover - no process groups
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # Kill the whole group even when the leader exited: grandchildren may still hold GPUs or files.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
