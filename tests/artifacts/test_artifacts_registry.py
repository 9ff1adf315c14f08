"""Scheme registry, URI helpers, progress bars and import cost."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from hf_mltrack.artifacts import (
    get_artifact_repository,
    register_artifact_repository,
    register_artifact_uri_resolver,
)
from hf_mltrack.artifacts import registry as registry_mod
from hf_mltrack.artifacts.fsspec_store import FsspecArtifactRepository
from hf_mltrack.artifacts.local import LocalArtifactRepository
from hf_mltrack.artifacts.uri import (
    join_artifact_uri,
    local_path_from_uri,
    run_artifact_uri,
    split_artifact_uri,
)
from hf_mltrack.exceptions import InvalidParameterError, MissingDependencyError


def test_local_and_memory_schemes(tmp_path: Path) -> None:
    assert isinstance(get_artifact_repository(str(tmp_path)), LocalArtifactRepository)
    assert isinstance(get_artifact_repository(tmp_path.as_uri()), LocalArtifactRepository)
    assert isinstance(get_artifact_repository("memory://x/y"), FsspecArtifactRepository)


@pytest.mark.parametrize(
    ("uri", "package"),
    [
        ("gs://bucket/p", "gcsfs"),
        ("abfs://container/p", "adlfs"),
        ("az://container/p", "adlfs"),
        ("oss://b/p", "ossfs"),
    ],
    ids=["gs", "abfs", "az", "oss"],
)
def test_missing_fsspec_plugin_names_the_package(uri: str, package: str) -> None:
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed")
    with pytest.raises(MissingDependencyError, match=f"pip install {package}"):
        get_artifact_repository(uri)


@pytest.mark.parametrize("uri", ["foo://x/y", "http://server/x"], ids=["unknown", "http"])
def test_unsupported_schemes_list_the_choices(uri: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"Unsupported artifact URI.*s3://"):
        get_artifact_repository(uri)


def test_invalid_uri_values() -> None:
    with pytest.raises(InvalidParameterError, match="non-empty"):
        get_artifact_repository("")


def test_register_repository_and_resolver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_mod, "_REPOSITORIES", dict(registry_mod._REPOSITORIES))
    monkeypatch.setattr(registry_mod, "_RESOLVERS", dict(registry_mod._RESOLVERS))

    class Custom(LocalArtifactRepository):
        def __init__(self, artifact_uri: str) -> None:
            super().__init__(str(tmp_path / artifact_uri.split("://", 1)[1]))

    register_artifact_repository("custom", Custom)
    repo = get_artifact_repository("custom://zone")
    assert isinstance(repo, Custom) and repo.root == str(tmp_path / "zone")
    register_artifact_uri_resolver(
        "alias", lambda uri, tracking_uri=None: "custom://" + uri.split(":/", 1)[1].strip("/")
    )
    assert get_artifact_repository("alias:/other").root == str(tmp_path / "other")
    register_artifact_repository("lazy", "hf_mltrack.artifacts.fsspec_store:FsspecArtifactRepository")
    assert registry_mod._REPOSITORIES["lazy"] == "hf_mltrack.artifacts.fsspec_store:FsspecArtifactRepository"
    assert registry_mod._load(registry_mod._REPOSITORIES["lazy"]) is FsspecArtifactRepository


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://b/run/artifacts/model", ("s3://b/run/artifacts", "model")),
        ("s3://b/model", ("s3://b", "model")),
        ("s3://b", ("s3://b", "")),
        ("file:///x/a%20b.txt", ("file:///x", "a b.txt")),
        ("runs:/abc/plots/a.png", ("runs:/abc/plots", "a.png")),
        ("runs:/abc", ("runs:/abc", "")),
        ("/abs/dir/f.txt", ("/abs/dir", "f.txt")),
    ],
    ids=["s3-nested", "s3-top", "s3-bucket", "file-encoded", "runs-file", "runs-root", "path"],
)
def test_split_artifact_uri(uri: str, expected: tuple[str, str]) -> None:
    assert split_artifact_uri(uri) == expected


def test_join_and_local_paths(tmp_path: Path) -> None:
    assert join_artifact_uri("s3://b/p/", "a/b.txt") == "s3://b/p/a/b.txt"
    assert join_artifact_uri("runs:/abc", "m") == "runs:/abc/m"
    uri = join_artifact_uri(tmp_path.as_uri(), "with space/95%.txt")
    assert local_path_from_uri(uri) == str(tmp_path / "with space" / "95%.txt")
    with pytest.raises(InvalidParameterError):
        join_artifact_uri("s3://b", "../x")
    assert run_artifact_uri("s3://b/exp", "r1") == "s3://b/exp/r1/artifacts"
    assert local_path_from_uri(run_artifact_uri(str(tmp_path), "r1")) == str(tmp_path / "r1" / "artifacts")


def test_progress_bar_only_above_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    pytest.importorskip("tqdm")
    repo = get_artifact_repository(str(tmp_path / "store"))
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * (2 * 1024 * 1024))
    repo.log_artifact(big)
    assert capsys.readouterr().err == ""  # far below the 100 MiB default
    monkeypatch.setenv("HF_MLTRACK_ARTIFACTS_PROGRESS_THRESHOLD_MB", "1")
    repo.log_artifact(big, "again")
    assert "Uploading big.bin" in capsys.readouterr().err
    monkeypatch.setenv("HF_MLTRACK_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    repo.log_artifact(big, "quiet")
    assert capsys.readouterr().err == ""


def test_import_is_cheap() -> None:
    code = (
        "import sys, hf_mltrack.artifacts as a, hf_mltrack.artifacts.fluent, "
        "hf_mltrack.artifacts.client_mixin; a.get_artifact_repository; a.FileInfo;"
        "heavy = {'boto3', 'botocore', 'pandas', 'numpy', 'PIL', 'matplotlib', 'fsspec', 'tqdm', 'yaml',"
        " 'sqlalchemy'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "[]"
