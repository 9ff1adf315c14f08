"""Progress bars for large artifact transfers: tqdm, imported only when a bar is actually shown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .. import _env

ProgressCallback = Callable[[int], None]


def _noop(_: int) -> None:
    return None


def should_show(total_bytes: int, *, enabled: bool | None = None) -> bool:
    """Whether a transfer of `total_bytes` gets a bar: above the threshold, bars enabled, tqdm present."""
    if enabled is None:
        enabled = _env.ARTIFACT_PROGRESS_BAR.get()
    if not enabled or total_bytes < _env.ARTIFACT_PROGRESS_THRESHOLD_MB.get() * 1024 * 1024:
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def progress_bar(total_bytes: int, desc: str, *, enabled: bool | None = None) -> Iterator[ProgressCallback]:
    """Yield a thread-safe `update(n_bytes)` callable, backed by a tqdm bar only for large transfers.

    Args:
        total_bytes (`int`): size of the whole transfer.
        desc (`str`): label of the bar, e.g. `"Uploading artifacts"`.
        enabled (`bool`, *optional*): force bars on or off; defaults to
            `HF_MLTRACK_ENABLE_ARTIFACTS_PROGRESS_BAR`.
    """
    if not should_show(total_bytes, enabled=enabled):
        yield _noop
        return
    from tqdm.auto import tqdm

    lock = threading.Lock()
    bar = tqdm(total=total_bytes, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)

    def update(n: int) -> None:
        with lock:
            bar.update(n)

    try:
        yield update
    finally:
        bar.close()
