"""Tracking URI resolution and the zero-configuration default store."""

from __future__ import annotations

from pathlib import Path

import pytest

import hf_mltrack
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.tracking._uri import resolve_tracking_uri


def test_default_store_in_home(tmp_path: Path) -> None:
    home = tmp_path / "mltrack_home"
    assert hf_mltrack.get_tracking_uri() == f"sqlite:///{home / 'mltrack.db'}"
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("m", 1.0)
    assert (home / "mltrack.db").exists()
    assert run.info.artifact_uri.startswith((home / "artifacts" / "0").as_uri())


def test_default_is_mlruns_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_MLTRACK_HOME")
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri(None) == f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mltrack.db'}"


def test_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_TRACKING_URI", str(tmp_path / "envstore"))
    assert hf_mltrack.get_tracking_uri() == f"sqlite:///{tmp_path / 'envstore' / 'mltrack.db'}"
    hf_mltrack.set_tracking_uri(str(tmp_path / "explicit.db"))
    assert hf_mltrack.get_tracking_uri() == f"sqlite:///{tmp_path / 'explicit.db'}"


@pytest.mark.parametrize(
    ("given", "expected_suffix"),
    [("store", "store/mltrack.db"), ("file.db", "file.db"), ("sqlite:///rel.db", "rel.db")],
    ids=["folder", "db-file", "relative-sqlite"],
)
def test_relative_paths_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, expected_suffix: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri(given) == f"sqlite:///{tmp_path.resolve()}/{expected_suffix}"


def test_file_uri(tmp_path: Path) -> None:
    assert resolve_tracking_uri((tmp_path / "x").as_uri()) == f"sqlite:///{tmp_path / 'x' / 'mltrack.db'}"


def test_unknown_scheme_names_choices() -> None:
    with pytest.raises(InvalidParameterError, match="ftp://x.*postgresql"):
        resolve_tracking_uri("ftp://x")


def test_postgres_and_http_untouched() -> None:
    assert resolve_tracking_uri("postgresql://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"
    assert resolve_tracking_uri("http://localhost:5000") == "http://localhost:5000"


def test_artifact_root_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "arts"))
    hf_mltrack.set_tracking_uri(str(tmp_path / "s2"))
    exp_id = hf_mltrack.create_experiment("e")
    assert hf_mltrack.get_experiment(exp_id).artifact_location == (tmp_path / "arts" / exp_id).as_uri()


def test_git_commit_tag(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "train.py").write_text(
        "import hf_mltrack, sys\n"
        f"hf_mltrack.set_tracking_uri({str(tmp_path / 'gitstore')!r})\n"
        "with hf_mltrack.start_run() as r: pass\n"
        "print(hf_mltrack.get_run(r.info.run_id).data.tags.get('hf_mltrack.source.git.commit'))\n"
    )
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run([sys.executable, str(repo / "train.py")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == head
