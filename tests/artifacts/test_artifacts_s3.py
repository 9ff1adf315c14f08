"""S3 store specifics against a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from hf_mltrack.artifacts import get_artifact_repository
from hf_mltrack.artifacts.s3 import S3ArtifactRepository, get_s3_client, s3_endpoint_url
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, ResourceNotFoundError


def test_uri_parsing(s3_env: str) -> None:
    repo = get_artifact_repository("s3://bucket/exp/1/run/artifacts/")
    assert isinstance(repo, S3ArtifactRepository)
    assert (repo.bucket, repo.prefix) == ("bucket", "exp/1/run/artifacts")
    assert get_artifact_repository("s3://bucket").prefix == ""
    with pytest.raises(InvalidParameterError, match="s3://<bucket>"):
        S3ArtifactRepository("s3:///no-bucket")


def test_endpoint_from_hf_variable_then_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_MLTRACK_S3_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-generic:1")
    assert s3_endpoint_url() == "http://aws-generic:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://aws-s3:2")
    assert s3_endpoint_url() == "http://aws-s3:2"
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", "http://minio:9000")
    assert s3_endpoint_url() == "http://minio:9000"


def test_objects_land_under_the_prefix(s3_bucket: str, tmp_path: Path) -> None:
    repo = get_artifact_repository(f"s3://{s3_bucket}/exp/run1/artifacts")
    (tmp_path / "a.txt").write_text("A")
    repo.log_artifact(tmp_path / "a.txt", "logs")
    keys = [o["Key"] for o in get_s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["exp/run1/artifacts/logs/a.txt"]


def test_large_files_use_multipart(s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", "5")
    data = os.urandom(11 * 1024 * 1024)
    (tmp_path / "shard.bin").write_bytes(data)
    (tmp_path / "small.txt").write_text("s")
    repo = get_artifact_repository(f"s3://{s3_bucket}/r")
    repo.log_artifacts(tmp_path, "model")
    head = get_s3_client().head_object(Bucket=s3_bucket, Key="r/model/shard.bin")
    assert head["ETag"].strip('"').endswith("-3")  # 3 parts of <= 5 MiB
    assert head["ContentLength"] == len(data)
    assert repo.read_bytes("model/shard.bin") == data


def test_failed_multipart_upload_is_aborted(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", "5")
    repo = get_artifact_repository(f"s3://{s3_bucket}/r")

    class Dying(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            if self.sent >= 11 * 1024 * 1024:
                raise ConnectionResetError("source died")
            n = min(len(b), 1 << 20)
            b[:n] = b"z" * n
            self.sent += n
            return n

    with pytest.raises(ConnectionResetError):
        repo.write_stream(io.BufferedReader(Dying()), "ckpt.bin")
    client = get_s3_client()
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket)
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_missing_bucket_error_names_the_bucket(s3_env: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    repo = get_artifact_repository("s3://no-such-bucket-xyz/p")
    with pytest.raises(ResourceNotFoundError, match="'no-such-bucket-xyz' does not exist.*Create it"):
        repo.log_artifact(tmp_path / "a.txt")
    with pytest.raises(ResourceNotFoundError, match="no-such-bucket-xyz"):
        repo.list_artifacts()


def test_unreachable_endpoint_is_reported(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    repo = S3ArtifactRepository(f"s3://{s3_bucket}/p", client=client)
    with pytest.raises(MlTrackException, match="unreachable.*HF_MLTRACK_S3_ENDPOINT_URL"):
        repo.write_text("x", "a.txt")


def test_unsafe_stored_keys_are_refused_on_download(s3_bucket: str, tmp_path: Path) -> None:
    client = get_s3_client()
    client.put_object(Bucket=s3_bucket, Key="run/artifacts/model/ok.txt", Body=b"ok")
    client.put_object(Bucket=s3_bucket, Key="run/artifacts/model/../../../../escape.txt", Body=b"evil")
    repo = get_artifact_repository(f"s3://{s3_bucket}/run/artifacts")
    with pytest.raises(InvalidParameterError, match="stored S3 key"):
        repo.download_artifacts("model", dst_path=tmp_path / "dl")
    assert not any(p.name == "escape.txt" for p in tmp_path.rglob("*"))
    repo.delete_artifacts("model")  # deletion still clears such keys
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket)


def test_folder_markers_are_ignored(s3_bucket: str) -> None:
    client = get_s3_client()
    client.put_object(Bucket=s3_bucket, Key="r/dir/", Body=b"")
    client.put_object(Bucket=s3_bucket, Key="r/dir/f.txt", Body=b"f")
    repo = get_artifact_repository(f"s3://{s3_bucket}/r")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("dir", True)]
    assert [f.path for f in repo.list_artifacts("dir")] == ["dir/f.txt"]


def test_small_seekable_streams_go_as_one_put(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the server's artifact proxy uploads (a spooled body) skips boto3's transfer manager and its
    threads; a stream that cannot seek still goes through it."""
    repo = get_artifact_repository(f"s3://{s3_bucket}/r")
    client = get_s3_client()
    managed: list[str] = []
    upload_fileobj = client.upload_fileobj
    monkeypatch.setattr(
        client, "upload_fileobj", lambda f, b, key, **kw: (managed.append(key), upload_fileobj(f, b, key, **kw))
    )
    stream = io.BytesIO(b"head" + b"w" * 4096)
    stream.read(4)  # from where the stream stands, as the transfer manager does
    repo.write_stream(stream, "weights.bin")
    assert managed == []
    assert repo.read_bytes("weights.bin") == b"w" * 4096
    read_end, write_end = os.pipe()
    os.write(write_end, b"x" * 10)
    os.close(write_end)
    with open(read_end, "rb") as piped:
        repo.write_stream(piped, "piped.bin")
    assert managed == ["r/piped.bin"]
    assert repo.read_bytes("piped.bin") == b"x" * 10
