"""One behaviour suite, run against every store: local folder, S3 (moto server), fsspec memory."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from hf_mltrack.artifacts import FileInfo, download_artifacts, get_artifact_repository
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_log_artifact_lands_under_artifact_path(repo, tmp_path: Path) -> None:
    src = tmp_path / "training_log.txt"
    src.write_text("epoch 1 loss 0.5\n")
    repo.log_artifact(src)
    repo.log_artifact(str(src), artifact_path="logs")
    assert repo.list_artifacts() == [
        FileInfo("logs", True, None),
        FileInfo("training_log.txt", False, len("epoch 1 loss 0.5\n")),
    ]
    assert repo.list_artifacts("logs") == [FileInfo("logs/training_log.txt", False, 17)]
    assert repo.read_text("logs/training_log.txt") == "epoch 1 loss 0.5\n"


def test_log_artifacts_uploads_the_folder_contents(repo, model_dir: Path, tmp_path: Path) -> None:
    repo.log_artifacts(model_dir, artifact_path="model")
    assert [f.path for f in repo.list_artifacts()] == ["model"]
    listed = {f.path: f for f in repo.list_artifacts("model")}
    assert listed["model/config.json"] == FileInfo("model/config.json", False, 14)
    assert listed["model/tokenizer"].is_dir and listed["model/tokenizer"].file_size is None
    assert listed["model/model-00001-of-00002.safetensors"].file_size == 256 * 400
    local = repo.download_artifacts("model", dst_path=tmp_path / "dl")
    assert local == str((tmp_path / "dl" / "model").resolve())
    assert _tree(Path(local)) == _tree(model_dir)


def test_log_artifacts_to_root_and_download_everything(repo, model_dir: Path, tmp_path: Path) -> None:
    repo.log_artifacts(model_dir)
    local = repo.download_artifacts(dst_path=tmp_path / "all")
    assert _tree(Path(local)) == _tree(model_dir)


def test_download_single_file_and_default_destination(repo, tmp_path: Path) -> None:
    repo.write_text("hello", "nested/dir/a.txt")
    local = repo.download_artifacts("nested/dir/a.txt", dst_path=tmp_path / "out")
    assert local == str((tmp_path / "out" / "nested" / "dir" / "a.txt").resolve())
    assert Path(local).read_text() == "hello"
    # Without dst_path a local path is returned (a temp folder, or the stored file for local stores).
    assert Path(repo.download_artifacts("nested/dir/a.txt")).read_text() == "hello"


def test_overwrite_replaces_content(repo) -> None:
    repo.write_text("v1", "status.txt")
    repo.write_text("version 2", "status.txt")
    assert repo.read_text("status.txt") == "version 2"
    assert repo.list_artifacts() == [FileInfo("status.txt", False, 9)]


def test_missing_artifacts(repo, tmp_path: Path) -> None:
    assert repo.list_artifacts("nope") == []
    assert not repo.exists("nope")
    with pytest.raises(ResourceNotFoundError, match="nope"):
        repo.download_artifacts("nope", dst_path=tmp_path / "x")
    with pytest.raises(ResourceNotFoundError):
        repo.read_bytes("nope.txt")


def test_listing_a_file_is_empty_and_exists(repo) -> None:
    repo.write_bytes(b"123", "dir/f.bin")
    assert repo.list_artifacts("dir/f.bin") == []
    assert repo.exists("dir/f.bin") and repo.exists("dir") and repo.exists()


def test_delete_file_folder_and_everything(repo, model_dir: Path) -> None:
    repo.log_artifacts(model_dir, "model")
    repo.write_text("x", "keep.txt")
    repo.delete_artifacts("model/tokenizer")
    assert "model/tokenizer" not in [f.path for f in repo.list_artifacts("model")]
    repo.delete_artifacts("model/config.json")
    assert not repo.exists("model/config.json")
    repo.delete_artifacts("model")
    assert [f.path for f in repo.list_artifacts()] == ["keep.txt"]
    repo.delete_artifacts()
    assert repo.list_artifacts() == []


def test_open_streams_content(repo) -> None:
    payload = os.urandom(300_000)
    repo.write_stream(io.BytesIO(payload), "blob.bin")
    with repo.open("blob.bin") as f:
        assert f.read() == payload


def test_log_artifact_errors_name_the_fix(repo, model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="log_artifacts"):
        repo.log_artifact(model_dir)
    with pytest.raises(ResourceNotFoundError, match="no such local file"):
        repo.log_artifact(tmp_path / "missing.txt")
    with pytest.raises(InvalidParameterError, match="log_artifact"):
        repo.log_artifacts(model_dir / "config.json")


class _FailingReader(io.RawIOBase):
    """Yields `fail_after` bytes, then raises, like a network stream or generator dying mid-upload."""

    def __init__(self, fail_after: int) -> None:
        self.remaining = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self.remaining <= 0:
            raise OSError("connection reset while reading the source")
        n = min(len(b), self.remaining, 1 << 20)
        b[:n] = b"\x07" * n
        self.remaining -= n
        return n


def test_interrupted_upload_leaves_no_partial_file(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Parts of 5 MiB from 5 MiB up: on S3 this is a multipart upload that must be aborted.
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", "5")
    with pytest.raises(OSError, match="connection reset"):
        repo.write_stream(io.BufferedReader(_FailingReader(12 * 1024 * 1024)), "checkpoint.bin")
    assert not repo.exists("checkpoint.bin")
    assert repo.list_artifacts() == []
    # An interrupted overwrite keeps the previous version intact.
    repo.write_text("good", "checkpoint.bin")
    with pytest.raises(OSError):
        repo.write_stream(io.BufferedReader(_FailingReader(6 * 1024 * 1024)), "checkpoint.bin")
    assert repo.read_text("checkpoint.bin") == "good"
    assert [f.path for f in repo.list_artifacts()] == ["checkpoint.bin"]


def test_download_artifacts_by_uri(repo, root_uri: str, model_dir: Path, tmp_path: Path) -> None:
    repo.log_artifacts(model_dir, "model")
    local = download_artifacts(f"{root_uri}/model", dst_path=tmp_path / "d1")
    assert _tree(Path(local)) == _tree(model_dir)
    single = download_artifacts(artifact_uri=f"{root_uri}/model/config.json", dst_path=tmp_path / "d2")
    assert Path(single).read_text() == '{"n_layer": 2}'
    with pytest.raises(InvalidParameterError, match="not both"):
        download_artifacts(artifact_uri=root_uri, run_id="abc")
    with pytest.raises(InvalidParameterError, match="dst_path"):
        download_artifacts(artifact_uri=root_uri, dst_path=model_dir / "config.json")


def test_repository_for_same_uri_sees_same_files(repo, root_uri: str) -> None:
    repo.write_text("shared", "a.txt")
    assert get_artifact_repository(root_uri).read_text("a.txt") == "shared"


def test_many_files_upload_in_parallel(repo, tmp_path: Path) -> None:
    src = tmp_path / "many"
    for i in range(40):
        (src / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (src / f"d{i % 4}" / f"f{i}.txt").write_text(str(i))
    repo.log_artifacts(src, "many")
    local = Path(repo.download_artifacts("many", dst_path=tmp_path / "back"))
    assert _tree(local) == _tree(src)
