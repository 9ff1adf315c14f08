"""Local file primitives: atomic writes (temp name, then rename) and the fastest safe copy.

Copy strategy of [`copy_file`], in order:

1. **hardlink** (`os.link`): only when `link_mode="hardlink"`, or when `link_mode="auto"` and the source
   has no write permission bit at all. A hardlink *is* the source file: an in-place edit of the source
   (`open(path, "wb")`, which `torch.save`, `save_pretrained` and safetensors all do when they overwrite a
   checkpoint) would silently rewrite the logged artifact. So by default only read-only sources, which
   cannot be edited without an explicit `chmod`, are linked.
2. **reflink** (`ioctl(FICLONE)`): a copy-on-write clone on btrfs, XFS, bcachefs, ZFS 2.2+ ... as cheap as
   a hardlink, yet an independent file, so it is always safe.
3. **in-kernel copy** (`copy_file_range`, then `sendfile`): what `cp` does; no data passes through Python.
4. **stream copy**: plain buffered reads and writes, for everything else.

No `fsync`: like `cp` and MLflow, durability across a power cut is left to the filesystem; atomicity
(no partial file under the final name, ever) is guaranteed by the rename.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

from hf_mltrack.exceptions import InvalidParameterError

from ._progress import ProgressCallback, _noop
from .paths import TEMP_MARKER

LINK_MODES = ("auto", "copy", "hardlink")

_FICLONE = 0x40049409  # _IOW(0x94, 9, int), Linux
_CHUNK = 64 * 1024 * 1024
_STREAM_BUFFER = 1024 * 1024
# Errors meaning "this fast path is not available here": fall back to the next one.
_UNSUPPORTED = {
    errno.EXDEV,
    errno.ENOSYS,
    errno.EINVAL,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.ENOTTY,
    errno.EBADF,
    errno.EPERM,
}


def check_link_mode(link_mode: str) -> str:
    """Validate a link mode (`"auto"`, `"copy"` or `"hardlink"`)."""
    mode = link_mode.strip().lower()
    if mode not in LINK_MODES:
        raise InvalidParameterError(
            f"Invalid artifact link mode {link_mode!r}: choose one of {', '.join(LINK_MODES)} "
            "(HF_MLTRACK_ARTIFACT_LINK_MODE)."
        )
    return mode


def temp_path_for(final: str) -> str:
    """A hidden sibling of `final` used while it is being written (hidden from listings)."""
    folder, name = os.path.split(final)
    return os.path.join(folder, f".{name}{TEMP_MARKER}{uuid.uuid4().hex[:12]}")


@contextmanager
def atomic_path(final: str) -> Iterator[str]:
    """Yield a temporary path next to `final`; rename it to `final` on success, delete it on any failure.

    A reader therefore sees either the old file, or the complete new one, never a partial one, even when
    the writer is interrupted (an exception, `KeyboardInterrupt`, or a kill: then only the hidden temp
    file remains).
    """
    tmp = temp_path_for(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _try_reflink(src_fd: int, dst_fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def _kernel_copy(src_fd: int, dst_fd: int, progress: ProgressCallback) -> str:
    """Copy from the current offsets to EOF in the kernel; falls back step by step; returns the method."""
    if hasattr(os, "copy_file_range"):
        try:
            while n := os.copy_file_range(src_fd, dst_fd, _CHUNK):
                progress(n)
            return "copy_file_range"
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            # Offsets are where the failed call left them: continue from there.
    if hasattr(os, "sendfile"):
        try:
            while n := os.sendfile(dst_fd, src_fd, None, _CHUNK):
                progress(n)
            return "sendfile"
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
    buf = bytearray(_STREAM_BUFFER)
    view = memoryview(buf)
    while n := os.readv(src_fd, [buf]):
        _write_all(dst_fd, view[:n])
        progress(n)
    return "stream"


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _materialize(src: str, tmp: str, link_mode: str, progress: ProgressCallback) -> str:
    st = os.stat(src)
    if link_mode == "hardlink" or (link_mode == "auto" and not st.st_mode & 0o222):
        try:
            os.link(src, tmp, follow_symlinks=True)
            progress(st.st_size)
            return "hardlink"
        except OSError:
            pass  # other filesystem, no link support, link limit: copy instead
    src_fd = os.open(src, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        dst_fd = os.open(tmp, flags, (st.st_mode & 0o777) | 0o600)
        try:
            if _try_reflink(src_fd, dst_fd):
                progress(st.st_size)
                return "reflink"
            return _kernel_copy(src_fd, dst_fd, progress)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def copy_file(src: str, final: str, *, link_mode: str = "copy", progress: ProgressCallback = _noop) -> str:
    """Atomically place a copy (or, per `link_mode`, a hardlink) of `src` at `final`.

    Args:
        src (`str`): local source file; symlinks are followed.
        final (`str`): destination; its folder must exist. Replaced atomically if it exists.
        link_mode (`str`, *optional*, defaults to `"copy"`): `"auto"`, `"copy"` or `"hardlink"` (see the
            module docstring).
        progress (`Callable[[int], None]`, *optional*): called with byte counts as data is copied.

    Returns:
        `str`: the method used: `"hardlink"`, `"reflink"`, `"copy_file_range"`, `"sendfile"` or `"stream"`.
    """
    with atomic_path(final) as tmp:
        return _materialize(src, tmp, link_mode, progress)


def write_stream(fileobj: BinaryIO, final: str, *, progress: ProgressCallback = _noop) -> int:
    """Atomically write everything read from `fileobj` to `final`; returns the number of bytes."""
    total = 0
    with atomic_path(final) as tmp, open(tmp, "xb") as out:
        while chunk := fileobj.read(_STREAM_BUFFER):
            out.write(chunk)
            total += len(chunk)
            progress(len(chunk))
    return total


def remove_tree(path: str) -> None:
    """Remove a file, a symlink or a folder tree (without following symlinks inside it)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
