"""System tags that describe where a run comes from: user, source file, git commit.

Read cheaply without subprocesses: the git commit comes straight from ``.git/HEAD`` and refs.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

USER_TAG = "hf_mltrack.user"
SOURCE_NAME_TAG = "hf_mltrack.source.name"
SOURCE_TYPE_TAG = "hf_mltrack.source.type"
GIT_COMMIT_TAG = "hf_mltrack.source.git.commit"
RUN_NAME_TAG = "hf_mltrack.runName"
PARENT_RUN_ID_TAG = "hf_mltrack.parentRunId"
NOTE_TAG = "hf_mltrack.note.content"


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def source_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    if not path or path in ("-c", "-"):
        return "<interactive>" if hasattr(sys, "ps1") else "<unknown>"
    return str(Path(path).resolve())


def git_commit(start: str | os.PathLike | None = None) -> str | None:
    """The commit checked out in the repository containing ``start`` (the source file's folder)."""
    try:
        here = Path(start or os.getcwd()).resolve()
        if here.is_file():
            here = here.parent
        for folder in (here, *here.parents):
            git = folder / ".git"
            if git.is_file():  # worktree or submodule: "gitdir: <path>"
                text = git.read_text().strip()
                if text.startswith("gitdir:"):
                    git = (folder / text.split(":", 1)[1].strip()).resolve()
            if git.is_dir():
                return _read_head(git)
    except OSError:
        return None
    return None


def _read_head(git_dir: Path) -> str | None:
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in (git_dir, common):
        ref_file = base / ref
        if ref_file.is_file():
            return ref_file.read_text().strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    return None  # a fresh repository with no commit yet


def default_tags() -> dict[str, str]:
    tags = {USER_TAG: current_user(), SOURCE_NAME_TAG: source_name(), SOURCE_TYPE_TAG: "LOCAL"}
    src = tags[SOURCE_NAME_TAG]
    commit = git_commit(src if src.startswith("/") else None)
    if commit:
        tags[GIT_COMMIT_TAG] = commit
    return tags
