"""Small filesystem helpers of the model format: paths named by a model file stay inside the model."""

from __future__ import annotations

import os
import shutil

from hf_mltrack.exceptions import InvalidParameterError


def safe_join(root: str, relative: str) -> str:
    """``root/relative``, refusing absolute paths, ``..`` and symlinks that lead outside ``root``.

    Model files are data from an artifact store; a path inside them must never reach other files.
    """
    if not isinstance(relative, str) or "\x00" in relative:
        raise InvalidParameterError(f"Invalid path {relative!r} in the model files")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")) or ".." in relative.replace("\\", "/").split("/"):
        raise InvalidParameterError(
            f"Path {relative!r} in the model files must be relative to the model folder, without '..'"
        )
    root_real = os.path.realpath(root)
    joined = os.path.realpath(os.path.join(root_real, relative))
    if joined != root_real and not joined.startswith(root_real + os.sep):
        raise InvalidParameterError(f"Path {relative!r} in the model files leads outside the model folder")
    return joined


def dir_size(path: str, exclude: tuple[str, ...] = ()) -> int:
    """Total size in bytes of the files under ``path`` (top-level names in ``exclude`` skipped)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            if dirpath == path and name in exclude:
                continue
            fp = os.path.join(dirpath, name)
            if not os.path.islink(fp):
                total += os.path.getsize(fp)
    return total


def copy_into(src: str, dst_dir: str) -> str:
    """Copy file or folder ``src`` into ``dst_dir``; returns the new path's name relative to ``dst_dir``."""
    name = os.path.basename(os.path.normpath(src))
    dst = os.path.join(dst_dir, name)
    os.makedirs(dst_dir, exist_ok=True)
    if os.path.isdir(src):
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)
    return name


def prepare_save_path(path: str) -> str:
    """Create the model folder ``path``; an existing non-empty folder is an error (no silent overwrite)."""
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        if not os.path.isdir(path) or os.listdir(path):
            raise InvalidParameterError(f"Path {path!r} already exists and is not empty: choose a new path")
    os.makedirs(path, exist_ok=True)
    return path


def copy_code_paths(code_paths: list[str] | None, path: str, subdir: str = "code") -> str | None:
    """Copy each of ``code_paths`` into ``path/<subdir>``; returns ``subdir`` (``None`` if none given)."""
    if not code_paths:
        return None
    if isinstance(code_paths, str):
        raise InvalidParameterError("code_paths must be a list of paths, e.g. code_paths=['src/my_module.py']")
    dst = os.path.join(path, subdir)
    for code_path in code_paths:
        if not os.path.exists(code_path):
            raise InvalidParameterError(f"code_paths entry {code_path!r} does not exist")
        copy_into(code_path, dst)
    return subdir
