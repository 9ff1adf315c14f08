"""Local store specifics: link modes, atomic writes under a real kill, symlinks that lead out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hf_mltrack.artifacts import get_artifact_repository
from hf_mltrack.artifacts._fileio import copy_file
from hf_mltrack.artifacts.local import LocalArtifactRepository
from hf_mltrack.exceptions import InvalidParameterError


@pytest.fixture
def local_repo(tmp_path: Path) -> LocalArtifactRepository:
    return get_artifact_repository(str(tmp_path / "store"))  # type: ignore[return-value]


@pytest.fixture
def src_file(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "weights.bin"
    path.parent.mkdir()
    path.write_bytes(b"original" * 1000)
    return path


def _inode(path: str | Path) -> int:
    return os.stat(path).st_ino


def test_plain_path_and_file_uri_are_the_same_store(tmp_path: Path) -> None:
    a = get_artifact_repository(str(tmp_path / "s"))
    b = get_artifact_repository((tmp_path / "s").as_uri())
    assert isinstance(a, LocalArtifactRepository) and a.root == b.root == str(tmp_path / "s")
    a.write_text("x", "f.txt")
    assert b.read_text("f.txt") == "x"


def test_file_uri_with_remote_host_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="three slashes"):
        get_artifact_repository("file://server/share/x")


def test_default_mode_copies_writable_sources(local_repo, src_file: Path) -> None:
    local_repo.log_artifact(src_file)
    stored = Path(local_repo.root) / "weights.bin"
    assert _inode(stored) != _inode(src_file)
    src_file.write_bytes(b"overwritten in place")  # what save_pretrained does to a checkpoint
    assert stored.read_bytes() == b"original" * 1000


def test_auto_mode_hardlinks_read_only_sources(local_repo, src_file: Path) -> None:
    src_file.chmod(0o444)
    local_repo.log_artifact(src_file)
    assert _inode(Path(local_repo.root) / "weights.bin") == _inode(src_file)


def test_copy_mode_never_links(tmp_path: Path, src_file: Path) -> None:
    src_file.chmod(0o444)
    repo = get_artifact_repository(str(tmp_path / "store"), link_mode="copy")
    repo.log_artifact(src_file)
    assert _inode(Path(repo.root) / "weights.bin") != _inode(src_file)


def test_hardlink_mode_is_explicit_opt_in(tmp_path: Path, src_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_ARTIFACT_LINK_MODE", "hardlink")
    repo = get_artifact_repository(str(tmp_path / "store"))
    repo.log_artifacts(src_file.parent, "model")
    stored = Path(repo.root) / "model" / "weights.bin"
    assert _inode(stored) == _inode(src_file)
    # The documented caveat of this mode: in-place edits of the source show through.
    with open(src_file, "r+b") as f:
        f.write(b"EDITED")
    assert stored.read_bytes().startswith(b"EDITED")


def test_invalid_link_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_ARTIFACT_LINK_MODE", "symlink")
    with pytest.raises(InvalidParameterError, match="auto, copy, hardlink"):
        get_artifact_repository(str(tmp_path / "store"))


def test_download_never_shares_inodes_with_the_store(tmp_path: Path, src_file: Path) -> None:
    repo = get_artifact_repository(str(tmp_path / "store"), link_mode="hardlink")
    repo.log_artifact(src_file)
    local = repo.download_artifacts("weights.bin", dst_path=tmp_path / "dl")
    assert _inode(local) != _inode(Path(repo.root) / "weights.bin")


def test_copy_file_reports_a_kernel_or_clone_method(tmp_path: Path, src_file: Path) -> None:
    progress: list[int] = []
    method = copy_file(str(src_file), str(tmp_path / "copy.bin"), progress=progress.append)
    assert method in {"reflink", "copy_file_range", "sendfile", "stream"}
    assert sum(progress) == src_file.stat().st_size
    assert (tmp_path / "copy.bin").read_bytes() == src_file.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_log_artifacts_follows_file_symlinks_and_survives_loops(local_repo, tmp_path: Path) -> None:
    src = tmp_path / "hf_cache"
    (src / "blobs").mkdir(parents=True)
    (src / "blobs" / "abc").write_text("weights")
    (src / "snapshot").mkdir()
    (src / "snapshot" / "model.bin").symlink_to(src / "blobs" / "abc")
    (src / "snapshot" / "loop").symlink_to(src)  # a loop must not hang the walk
    (src / "snapshot" / "broken").symlink_to(tmp_path / "does-not-exist")
    local_repo.log_artifacts(src / "snapshot", "m")
    assert local_repo.read_text("m/model.bin") == "weights"
    assert not (Path(local_repo.root) / "m" / "model.bin").is_symlink()
    assert not local_repo.exists("m/broken")


def test_empty_folders_are_kept(local_repo, tmp_path: Path) -> None:
    (tmp_path / "d" / "empty").mkdir(parents=True)
    local_repo.log_artifacts(tmp_path / "d", "out")
    assert [f.path for f in local_repo.list_artifacts("out")] == ["out/empty"]


def test_writing_a_file_over_a_folder_is_refused(local_repo) -> None:
    local_repo.write_text("x", "a/b.txt")
    with pytest.raises(InvalidParameterError, match="folder of that name"):
        local_repo.write_text("y", "a")


# --------------------------------------------------------------------------- symlinks out of the store
@pytest.fixture
def escaping_store(tmp_path: Path) -> tuple[LocalArtifactRepository, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    repo = get_artifact_repository(str(tmp_path / "store"))
    Path(repo.root).mkdir(parents=True)
    (Path(repo.root) / "evil").symlink_to(outside)
    (Path(repo.root) / "leak.txt").symlink_to(outside / "secret.txt")
    return repo, outside  # type: ignore[return-value]


def test_symlinked_folder_cannot_be_written_through(escaping_store, src_file: Path) -> None:
    repo, outside = escaping_store
    with pytest.raises(InvalidParameterError, match="outside the artifact root"):
        repo.log_artifact(src_file, "evil")
    with pytest.raises(InvalidParameterError, match="outside the artifact root"):
        repo.write_text("pwned", "evil/secret.txt")
    with pytest.raises(InvalidParameterError, match="outside the artifact root"):
        repo.log_artifacts(src_file.parent, "evil/sub")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


def test_symlinks_out_cannot_be_read_listed_or_deleted_through(escaping_store, tmp_path: Path) -> None:
    repo, outside = escaping_store
    for call in (
        lambda: repo.read_text("leak.txt"),
        lambda: repo.read_text("evil/secret.txt"),
        lambda: repo.download_artifacts("evil", dst_path=tmp_path / "dl"),
        lambda: repo.download_artifacts("leak.txt", dst_path=tmp_path / "dl"),
        lambda: repo.list_artifacts("evil"),
        lambda: repo.delete_artifacts("evil/secret.txt"),
    ):
        with pytest.raises(InvalidParameterError, match="outside the artifact root"):
            call()
    assert [f.path for f in repo.list_artifacts()] == []  # links out are not artifacts
    assert (outside / "secret.txt").read_text() == "secret"


def test_download_destination_symlink_cannot_redirect_writes(local_repo, tmp_path: Path) -> None:
    local_repo.write_text("payload", "model/x.txt")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "model").symlink_to(outside)
    with pytest.raises(InvalidParameterError, match="outside"):
        local_repo.download_artifacts("model", dst_path=dst)
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------- a real kill mid-write
_WRITER = textwrap.dedent(
    """
    import sys, time
    from hf_mltrack.artifacts import get_artifact_repository

    class Slow:
        def __init__(self):
            self.n = 0
        def read(self, size=-1):
            self.n += 1
            if self.n == 2:
                print("started", flush=True)
            time.sleep(0.02)
            return b"x" * 65536

    get_artifact_repository(sys.argv[1]).write_stream(Slow(), "model/weights.bin")
    """
)


def test_killed_writer_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    root = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"started", proc.stderr.read() if proc.stderr else ""
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    folder = root / "model"
    leftovers = list(folder.iterdir())
    assert [p.name for p in leftovers if p.name == "weights.bin"] == []
    assert leftovers and all(".hfmltrack-partial-" in p.name for p in leftovers)  # hidden temp only
    repo = get_artifact_repository(str(root))
    assert repo.list_artifacts("model") == [] and not repo.exists("model/weights.bin")
