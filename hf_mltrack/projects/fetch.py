"""Turn a project URI into a local folder: local folders as they are, git repositories checked out.

Supported URIs (each may end in ``#sub/dir`` to run a project inside a repository):

- a local folder, run in place (its git commit is recorded when it is inside a repository);
- a git repository: ``https://``, ``http://``, ``ssh://``, ``git://``, ``user@host:path``, ``file://`` and
  local repository paths given together with a ``version`` (a branch, tag or commit).

Repositories are mirrored once into the cache (``$HF_MLTRACK_HOME/projects`` when that variable is set,
else ``$XDG_CACHE_HOME/hf_mltrack/projects`` or ``~/.cache/hf_mltrack/projects``) and each commit is checked
out once beside its mirror; a later run of the same commit reuses the checkout without network access.
Git runs as a subprocess with list arguments (never a shell) and without terminal prompts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import _env
from .spec import ExecutionError

_REMOTE_SCHEMES = ("https", "http", "ssh", "git", "git+ssh", "ssh+git", "file")
_SCP_LIKE = re.compile(r"^[\w.\-]+@[\w.\-]+:(?!//)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_READY = ".ready"
# Transports are allow-listed: anything else (notably ext::, which runs arbitrary commands) is refused,
# for the project URI and for submodules alike.
_PROTOCOL_CONFIG = ["-c", "protocol.allow=never"]
for _name in ("file", "https", "http", "ssh", "git"):
    _PROTOCOL_CONFIG += ["-c", f"protocol.{_name}.allow=always"]


@dataclass(frozen=True)
class FetchedProject:
    """Where a project lives on disk and where it came from.

    Args:
        directory (`Path`): the absolute project folder (subdirectory applied).
        source_name (`str`): what the run records as its source (an absolute path or the repository URI).
        git_commit (`str`, *optional*): the commit that runs, when the project is in git.
        git_repo_url (`str`, *optional*): the repository URL (remote ``origin`` for local repositories).
        version (`str`, *optional*): the branch, tag or commit the user asked for.
        is_remote (`bool`): whether the project was checked out from a repository into the cache.
    """

    directory: Path
    source_name: str
    git_commit: str | None = None
    git_repo_url: str | None = None
    version: str | None = None
    is_remote: bool = False


def cache_root() -> Path:
    """The folder holding repository mirrors, checkouts and environments of projects."""
    home = _env.HOME.get()
    if home:
        return Path(home).expanduser().resolve() / "projects"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base).resolve() / "hf_mltrack" / "projects"


def split_subdirectory(uri: str) -> tuple[str, str]:
    """Split ``repo#sub/dir`` into ``("repo", "sub/dir")``; the subdirectory must stay inside the project.

    Raises:
        ExecutionError: the subdirectory is absolute or climbs out with ``..``.
    """
    base, sep, subdir = uri.partition("#")
    subdir = subdir.strip()
    if sep and subdir:
        if os.path.isabs(subdir) or ".." in Path(subdir).parts:
            raise ExecutionError(
                f"Project subdirectory {subdir!r} in {uri!r} must be a relative path inside the project "
                "(no leading '/', no '..')"
            )
    return base, subdir.rstrip("/")


def is_remote_git_uri(uri: str) -> bool:
    """Whether ``uri`` names a repository to clone (``https://``, ``ssh://``, ``git@host:path``, ``file://``)."""
    match = _SCHEME.match(uri)
    if match:
        return match.group(1).lower() in _REMOTE_SCHEMES
    return bool(_SCP_LIKE.match(uri))


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    return env


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise ExecutionError("Running a project from a git repository needs the git command: install git")
    argv = [git, *_PROTOCOL_CONFIG, *args]
    proc = subprocess.run(argv, cwd=cwd, env=_git_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise ExecutionError(f"git {' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


def _git_toplevel(path: Path) -> Path | None:
    if shutil.which("git") is None:
        return None
    proc = _git("rev-parse", "--show-toplevel", cwd=path, check=False)
    return Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None


def _is_bare_repo(path: Path) -> bool:
    if shutil.which("git") is None:
        return False
    proc = _git("rev-parse", "--is-bare-repository", cwd=path, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def local_git_info(path: Path) -> tuple[str | None, str | None]:
    """Return ``(commit, origin URL)`` of the repository containing ``path``, or ``(None, None)``."""
    if _git_toplevel(path) is None:
        return None, None
    commit = _git("rev-parse", "--verify", "--quiet", "HEAD", cwd=path, check=False).stdout.strip() or None
    url = _git("remote", "get-url", "origin", cwd=path, check=False).stdout.strip() or None
    return commit, url


def _validate_version(version: str) -> str:
    version = version.strip()
    if not version or version.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in version):
        raise ExecutionError(
            f"Invalid project version {version!r}: give a branch name, tag or commit hash (no spaces, no leading '-')"
        )
    return version


def _apply_subdirectory(root: Path, subdir: str, uri: str) -> Path:
    if not subdir:
        return root
    directory = (root / subdir).resolve()
    if not directory.is_relative_to(root.resolve()):
        raise ExecutionError(f"Project subdirectory {subdir!r} of {uri!r} points outside the project")
    if not directory.is_dir():
        raise ExecutionError(f"Project subdirectory {subdir!r} not found in {uri!r} (looked for {directory})")
    return directory


def fetch_project(uri: str, version: str | None = None) -> FetchedProject:
    """Make the project at ``uri`` available as a local folder.

    Args:
        uri (`str`): a local folder, a git repository URL or path, optionally with ``#subdirectory``.
        version (`str`, *optional*): a branch, tag or commit; only for git repositories.

    Returns:
        `FetchedProject`: the folder and its provenance.

    Raises:
        ExecutionError: the URI is not supported, does not exist, or the version cannot be found.
    """
    if not isinstance(uri, str | os.PathLike) or not os.fspath(uri).strip():
        raise ExecutionError(f"Project URI must be a non-empty string, got {uri!r}")
    uri = os.fspath(uri).strip()
    base, subdir = split_subdirectory(uri)
    if version is not None:
        version = _validate_version(str(version))
    if is_remote_git_uri(base):
        match = _SCHEME.match(base)
        if match and match.group(1).lower() == "file":
            from urllib.parse import unquote, urlparse

            local = Path(unquote(urlparse(base).path))
            if local.is_dir() and version is None and _git_toplevel(local) is None and not _is_bare_repo(local):
                return _local_project(local, subdir, uri)
        return _git_project(base, subdir, version, uri)
    if _SCHEME.match(base):
        raise ExecutionError(
            f"Unsupported project URI {uri!r}: use a local folder or a git repository (https://, ssh://, "
            "git@host:path, file://)"
        )
    local = Path(base).expanduser()
    if not local.exists():
        raise ExecutionError(f"Project {uri!r} not found: {local.resolve()} does not exist")
    if not local.is_dir():
        raise ExecutionError(f"Project {uri!r} must be a folder, not a file")
    local = local.resolve()
    if version is None and not _is_bare_repo(local):
        return _local_project(local, subdir, uri)
    toplevel = _git_toplevel(local)
    if toplevel is None and not _is_bare_repo(local):
        raise ExecutionError(
            f"version={version!r} needs a git repository, but {local} is a plain folder: drop the version to "
            "run the folder as it is, or point at a repository"
        )
    if toplevel is not None and toplevel.resolve() != local:
        inner = local.relative_to(toplevel.resolve()).as_posix()
        subdir = f"{inner}/{subdir}" if subdir else inner
        local = toplevel.resolve()
    return _git_project(str(local), subdir, version, uri)


def _local_project(path: Path, subdir: str, uri: str) -> FetchedProject:
    directory = _apply_subdirectory(path.resolve(), subdir, uri)
    commit, url = local_git_info(directory)
    return FetchedProject(directory=directory, source_name=str(directory), git_commit=commit, git_repo_url=url)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; concurrent first fetches may both clone
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _repo_key(url: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])[:40]
    name = name.removesuffix(".git") or "repo"
    return f"{name}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _git_project(url: str, subdir: str, version: str | None, uri: str) -> FetchedProject:
    repo_dir = cache_root() / "git" / _repo_key(url)
    with _locked(repo_dir.with_suffix(".lock")):
        mirror = _update_mirror(url, repo_dir / "mirror.git", version)
        commit = _resolve_commit(mirror, version, url)
        checkout = _checkout(mirror, repo_dir / "checkouts" / commit, commit, url)
    directory = _apply_subdirectory(checkout, subdir, uri)
    return FetchedProject(
        directory=directory,
        source_name=uri,
        git_commit=commit,
        git_repo_url=url,
        version=version,
        is_remote=True,
    )


def _update_mirror(url: str, mirror: Path, version: str | None) -> Path:
    if not (mirror / _READY).exists():
        shutil.rmtree(mirror, ignore_errors=True)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="mirror-", dir=mirror.parent))
        try:
            _git("clone", "--mirror", "--quiet", "--", url, str(tmp))
        except ExecutionError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ExecutionError(f"Cannot clone project repository {url!r}: {exc.message}") from exc
        (tmp / _READY).touch()
        os.replace(tmp, mirror)
        return mirror
    if version is not None and _FULL_SHA.match(version.lower()):
        if _git("cat-file", "-e", f"{version}^{{commit}}", cwd=mirror, check=False).returncode == 0:
            return mirror  # a full commit hash never moves: no network needed
    proc = _git("fetch", "--quiet", "--prune", "origin", cwd=mirror, check=False)
    if proc.returncode != 0:
        warnings.warn(
            f"Could not update the cached mirror of {url!r} (git fetch: {proc.stderr.strip()}); using the cached copy",
            stacklevel=3,
        )
    return mirror


def _resolve_commit(mirror: Path, version: str | None, url: str) -> str:
    rev = version or "HEAD"
    proc = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=mirror, check=False)
    commit = proc.stdout.strip()
    if proc.returncode != 0 or not commit:
        if version is None:
            raise ExecutionError(f"Repository {url!r} has no commits on its default branch")
        raise ExecutionError(f"Version {version!r} not found in {url!r}: give an existing branch, tag or commit hash")
    return commit


def _checkout(mirror: Path, dest: Path, commit: str, url: str) -> Path:
    ready = dest.with_name(dest.name + _READY)
    if ready.exists() and dest.is_dir():
        dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=dest, check=False).stdout.strip()
        if dirty:
            # An earlier run edited tracked files: restore the commit so this run gets what it asked for.
            warnings.warn(f"Restoring modified files of the cached checkout {dest}", stacklevel=4)
            _git("checkout", "--quiet", "--force", "--detach", commit, cwd=dest)
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="checkout-", dir=dest.parent))
    try:
        _git("clone", "--quiet", "--no-checkout", "--", str(mirror), str(tmp))
        _git("checkout", "--quiet", "--detach", commit, cwd=tmp)
        # The checkout's origin is the real repository, so code that inspects git sees the true URL.
        _git("remote", "set-url", "origin", url, cwd=tmp)
        if (tmp / ".gitmodules").is_file():
            _git("submodule", "update", "--init", "--recursive", "--quiet", cwd=tmp)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ready.touch()
    return dest
