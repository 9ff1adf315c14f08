"""Project URIs: local folders, git repositories made in the test (branches, tags, commits, #subdir)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from projects_helpers import commit_all, git, write_files

from hf_mltrack.projects import ExecutionError
from hf_mltrack.projects.fetch import cache_root, fetch_project, is_remote_git_uri, split_subdirectory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, str | Path]:
    """A repository with a tagged v1, a later main commit, a feature branch and a sub-project."""
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    write_files(root, {"MLproject": "name: v1\n", "VERSION": "1\n", "sub/MLproject": "name: sub-v1\n"})
    v1 = commit_all(root, "v1")
    git("tag", "v1.0.0", cwd=root)
    write_files(root, {"MLproject": "name: v2\n", "VERSION": "2\n"})
    v2 = commit_all(root, "v2")
    git("checkout", "-q", "-b", "feature", cwd=root)
    write_files(root, {"VERSION": "feature\n"})
    feature = commit_all(root, "feature")
    git("checkout", "-q", "main", cwd=root)
    return {"path": root, "v1": v1, "v2": v2, "feature": feature}


def test_split_subdirectory() -> None:
    assert split_subdirectory("https://h/r.git#sub/dir") == ("https://h/r.git", "sub/dir")
    assert split_subdirectory("./proj") == ("./proj", "")
    assert split_subdirectory("repo#") == ("repo", "")
    for bad in ("repo#../up", "repo#/abs", "repo#a/../../b"):
        with pytest.raises(ExecutionError, match="relative path inside the project"):
            split_subdirectory(bad)


@pytest.mark.parametrize(
    ("uri", "remote"),
    [
        ("https://github.com/my-org/llm-training.git", True),
        ("http://host/repo", True),
        ("ssh://git@host/repo.git", True),
        ("git@github.com:org/repo.git", True),
        ("file:///tmp/repo", True),
        ("./proj", False),
        ("/abs/proj", False),
        ("s3://bucket/proj", False),
    ],
)
def test_is_remote_git_uri(uri: str, remote: bool) -> None:
    assert is_remote_git_uri(uri) is remote


def test_local_folder_runs_in_place(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "plain", {"a.py": ""})
    fetched = fetch_project(str(folder))
    assert fetched.directory == folder.resolve()
    assert fetched.source_name == str(folder.resolve())
    assert fetched.git_commit is None and not fetched.is_remote


def test_local_repository_records_its_commit(repo) -> None:
    fetched = fetch_project(str(repo["path"]))
    assert fetched.directory == Path(repo["path"]).resolve()  # in place: uncommitted edits run too
    assert fetched.git_commit == repo["v2"]
    assert not fetched.is_remote


@pytest.mark.parametrize(
    ("version", "expected_version_file", "commit_key"),
    [
        pytest.param("v1.0.0", "1\n", "v1", id="tag"),
        pytest.param("feature", "feature\n", "feature", id="branch"),
        pytest.param(None, "2\n", "v2", id="default-branch"),
    ],
)
def test_file_uri_versions(repo, version, expected_version_file: str, commit_key: str) -> None:
    uri = Path(repo["path"]).as_uri()
    fetched = fetch_project(uri, version=version)
    assert fetched.is_remote
    assert fetched.git_commit == repo[commit_key]
    assert fetched.git_repo_url == uri
    assert fetched.version == version
    assert (fetched.directory / "VERSION").read_text() == expected_version_file
    # The checkout lives in the cache (HF_MLTRACK_HOME/projects), never in the source repository.
    assert cache_root() in fetched.directory.parents


def test_commit_hashes_full_and_short(repo) -> None:
    uri = Path(repo["path"]).as_uri()
    full = fetch_project(uri, version=str(repo["v1"]))
    assert (full.directory / "VERSION").read_text() == "1\n"
    short = fetch_project(uri, version=str(repo["v1"])[:8])
    assert short.git_commit == repo["v1"]
    assert short.directory == full.directory  # one checkout per commit, reused


def test_subdirectory_of_a_tag(repo) -> None:
    fetched = fetch_project(Path(repo["path"]).as_uri() + "#sub", version="v1.0.0")
    assert fetched.directory.name == "sub"
    assert (fetched.directory / "MLproject").read_text() == "name: sub-v1\n"
    assert fetched.source_name.endswith("#sub")


def test_local_repository_path_with_version(repo) -> None:
    fetched = fetch_project(str(repo["path"]), version="v1.0.0")
    assert fetched.is_remote
    assert (fetched.directory / "VERSION").read_text() == "1\n"
    # A folder inside the repository keeps its place as the subdirectory.
    inner = fetch_project(str(Path(repo["path"]) / "sub"), version="v1.0.0")
    assert inner.directory.name == "sub"
    assert (inner.directory / "MLproject").read_text() == "name: sub-v1\n"


def test_branch_updates_are_fetched_and_cache_reused(repo) -> None:
    uri = Path(repo["path"]).as_uri()
    first = fetch_project(uri, version="main")
    write_files(Path(repo["path"]), {"VERSION": "3\n"})
    v3 = commit_all(Path(repo["path"]), "v3")
    second = fetch_project(uri, version="main")
    assert second.git_commit == v3
    assert (second.directory / "VERSION").read_text() == "3\n"
    assert (first.directory / "VERSION").read_text() == "2\n"  # older checkout untouched
    mirrors = list((cache_root() / "git").glob("*/mirror.git"))
    assert len(mirrors) == 1


def test_modified_cached_checkout_is_restored(repo) -> None:
    uri = Path(repo["path"]).as_uri()
    fetched = fetch_project(uri, version="v1.0.0")
    (fetched.directory / "VERSION").write_text("tampered\n")
    with pytest.warns(UserWarning, match="Restoring modified files"):
        again = fetch_project(uri, version="v1.0.0")
    assert (again.directory / "VERSION").read_text() == "1\n"


def test_full_commit_needs_no_network(repo) -> None:
    uri = Path(repo["path"]).as_uri()
    fetch_project(uri, version="main")
    moved = Path(repo["path"]).with_name("moved")
    os.rename(repo["path"], moved)  # the origin is gone: only the cached mirror can answer
    fetched = fetch_project(uri, version=str(repo["v1"]))
    assert (fetched.directory / "VERSION").read_text() == "1\n"
    with pytest.warns(UserWarning, match="using the cached copy"):
        cached = fetch_project(uri, version="v1.0.0")
    assert cached.git_commit == repo["v1"]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        pytest.param("no-such-tag", "Version 'no-such-tag' not found", id="unknown"),
        pytest.param("--upload-pack=touch pwned", "Invalid project version", id="option-injection"),
        pytest.param("a b", "Invalid project version", id="spaces"),
    ],
)
def test_bad_versions(repo, version: str, message: str) -> None:
    with pytest.raises(ExecutionError, match=message):
        fetch_project(Path(repo["path"]).as_uri(), version=version)
    assert not Path("pwned").exists()


def test_errors(tmp_path: Path, repo) -> None:
    with pytest.raises(ExecutionError, match="does not exist"):
        fetch_project(str(tmp_path / "missing"))
    with pytest.raises(ExecutionError, match="Unsupported project URI"):
        fetch_project("s3://bucket/project")
    plain = write_files(tmp_path / "plain", {"a.py": ""})
    with pytest.raises(ExecutionError, match="needs a git repository"):
        fetch_project(str(plain), version="v1")
    with pytest.raises(ExecutionError, match="subdirectory 'nope' not found"):
        fetch_project(Path(repo["path"]).as_uri() + "#nope")
    with pytest.raises(ExecutionError, match="Cannot clone"):
        fetch_project((tmp_path / "not-a-repo").as_uri() + "x", version="main")
