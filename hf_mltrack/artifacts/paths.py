"""Path safety for artifact paths.

An artifact path names a file or folder *inside* a run's artifact root, always relative and always with
`/` separators, e.g. `"model/config.json"`. Everything that could make it name something else is refused
with an [`~hf_mltrack.exceptions.InvalidParameterError`] that names the path and the fix:

- absolute paths (`/etc/passwd`, `//server/share`) and drive letters (`C:`, `c:/x`),
- `..` segments anywhere,
- backslashes (a separator on Windows, so `a\\..\\b` would escape there),
- NUL and other control characters,
- percent-encoded forms of all of these (`%2e%2e/x`, `%2F`, `%5c`, `%00`, also double-encoded), because
  some stores and HTTP layers decode them later.

[`safe_join`] then joins a validated path to a local root and checks that the *resolved* destination
stays inside the resolved root, so a symlink placed inside the store cannot lead out of it.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

from hf_mltrack.exceptions import InvalidParameterError

__all__ = ["is_temporary_name", "join_artifact_path", "safe_join", "validate_artifact_path"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXAMPLE = "Artifact paths are relative to the artifact root and use '/' separators, e.g. 'model/config.json'."

# Files being written carry this marker until they are renamed to their final name; listings hide them.
TEMP_MARKER = ".hfmltrack-partial-"


def is_temporary_name(name: str) -> bool:
    """Whether `name` (a file name or path) is an in-flight temporary file of an artifact store."""
    return TEMP_MARKER in name.rsplit("/", 1)[-1]


#: Longest file or folder name (NAME_MAX of common file systems) and whole path, in UTF-8 bytes.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024


def _problem(path: str) -> str | None:
    """The reason `path` (one decoding layer) is unsafe, or `None`."""
    if "\x00" in path:
        return "it contains a NUL character; remove it"
    if _CONTROL.search(path):
        return "it contains a control character; use printable characters only"
    if "\\" in path:
        return "it contains a backslash; use '/' to separate folders"
    if path.startswith("/"):
        return "it is absolute; drop the leading '/' to make it relative to the artifact root"
    if _DRIVE.match(path):
        return "it starts with a drive letter; give a path relative to the artifact root instead"
    if any(part == ".." for part in path.split("/")):
        return "it contains a '..' segment, which would leave the artifact root; remove it"
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "it contains a lone UTF-16 surrogate, which is not valid Unicode text"
    if len(encoded) > MAX_PATH_BYTES:
        return f"it is {len(encoded)} bytes long in UTF-8; use at most {MAX_PATH_BYTES}"
    for part in encoded.split(b"/"):
        if len(part) > MAX_NAME_BYTES:
            shown = part[:40].decode("utf-8", "replace")
            return (
                f"its name {shown!r}... is {len(part)} bytes long in UTF-8; file systems and object stores "
                f"take at most {MAX_NAME_BYTES} bytes per name"
            )
    return None


def validate_artifact_path(
    path: str | os.PathLike[str] | None, *, what: str = "artifact path", allow_empty: bool = True
) -> str:
    """Check that `path` is a safe relative artifact path and return it normalized.

    Normalizing drops empty and `.` segments and trailing slashes: `"./a//b/"` becomes `"a/b"`.

    Args:
        path (`str` or `os.PathLike`, *optional*):
            The path to check. `None` and `""` mean the artifact root.
        what (`str`, *optional*, defaults to `"artifact path"`):
            How to name the value in the error message (e.g. `"artifact_file"`).
        allow_empty (`bool`, *optional*, defaults to `True`):
            Whether the root itself (an empty path) is acceptable; `False` for file names.

    Returns:
        `str`: the normalized path, `""` for the root.

    Raises:
        [`~hf_mltrack.exceptions.InvalidParameterError`]: the path is unsafe; the message says why and how
            to fix it.
    """
    if path is None:
        raw = ""
    elif isinstance(path, str):
        raw = path
    elif isinstance(path, os.PathLike):
        raw = os.fspath(path)
        if not isinstance(raw, str):
            raise InvalidParameterError(f"Invalid {what} {path!r}: give a str path, not bytes.")
    else:
        raise InvalidParameterError(
            f"Invalid {what} {path!r}: expected a str such as 'model/config.json', got {type(path).__name__}."
        )
    reason = _problem(raw)
    if reason is None:
        # Reject encoded forms too: decode until stable (bounded, double encoding included).
        decoded = raw
        for _ in range(4):
            nxt = unquote(decoded)
            if nxt == decoded:
                break
            decoded = nxt
            reason = _problem(decoded)
            if reason is not None:
                reason = f"once percent-decoded to {decoded!r}, {reason}"
                break
    if reason is not None:
        raise InvalidParameterError(f"Invalid {what} {raw!r}: {reason}. {_EXAMPLE}")
    normalized = "/".join(part for part in raw.split("/") if part not in ("", "."))
    if not normalized and not allow_empty:
        raise InvalidParameterError(f"Invalid {what} {raw!r}: it names no file. {_EXAMPLE}")
    return normalized


def join_artifact_path(*parts: str | None) -> str:
    """Join already-validated artifact path pieces with `/`, skipping empty ones."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def _is_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def safe_join(root: str | os.PathLike[str], artifact_path: str | None, *, what: str = "artifact path") -> str:
    """Join `artifact_path` to the local folder `root`, refusing anything that resolves outside it.

    The path is validated with [`validate_artifact_path`]; then symlinks are resolved and the result must
    stay inside the resolved root. The returned path has its parent folders resolved, but keeps its last
    component as given, so that replacing it (`os.replace`) replaces a link rather than its target.

    Args:
        root (`str` or `os.PathLike`): the local folder that must contain the result.
        artifact_path (`str`, *optional*): relative path under `root`; `None` or `""` returns the root.
        what (`str`, *optional*, defaults to `"artifact path"`): how to name the value in errors.

    Returns:
        `str`: an absolute local path inside `root`.

    Raises:
        [`~hf_mltrack.exceptions.InvalidParameterError`]: the path is unsafe or a symlink leads out of
            `root`.
    """
    rel = validate_artifact_path(artifact_path, what=what)
    real_root = os.path.realpath(os.fspath(root))
    if not rel:
        return real_root
    candidate = os.path.join(real_root, *rel.split("/"))
    parent = os.path.realpath(os.path.dirname(candidate))
    resolved = os.path.realpath(candidate)
    for target in (parent, resolved):
        if not _is_inside(target, real_root):
            raise InvalidParameterError(
                f"Invalid {what} {artifact_path!r}: it resolves to {target!r}, outside the artifact root "
                f"{real_root!r} (a symlink leads out of it). Remove the symlink or log to another path."
            )
    return os.path.join(parent, os.path.basename(candidate))
