"""Artifact store fixtures: a real S3-compatible server (moto) on loopback, and one parametrized `repo`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

STORE_KINDS = ["local", "s3", "memory"]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto) in this process, on a free loopback port."""
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point hf_mltrack at the moto server with dummy credentials; returns the endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    """A fresh, empty bucket on the moto server."""
    from hf_mltrack.artifacts.s3 import get_s3_client

    name = f"bkt-{uuid.uuid4().hex[:12]}"
    get_s3_client().create_bucket(Bucket=name)
    return name


def make_root(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "local":
        return (tmp_path / "store" / "run1" / "artifacts").as_uri()
    if kind == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        return f"s3://{bucket}/exp/run1/artifacts"
    if kind == "memory":
        pytest.importorskip("fsspec")
        return f"memory://{uuid.uuid4().hex}/run1/artifacts"
    raise AssertionError(kind)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def root_uri(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The artifact root URI of a fresh run on each kind of store."""
    return make_root(store_kind, tmp_path, request)


@pytest.fixture
def repo(root_uri: str):
    from hf_mltrack.artifacts import get_artifact_repository

    return get_artifact_repository(root_uri)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small model-like folder: shards, config, a nested tokenizer folder and an empty folder."""
    root = tmp_path / "model_output"
    (root / "tokenizer").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "config.json").write_text('{"n_layer": 2}')
    (root / "model-00001-of-00002.safetensors").write_bytes(bytes(range(256)) * 400)
    (root / "model-00002-of-00002.safetensors").write_bytes(b"\x01" * 70_000)
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    return root
