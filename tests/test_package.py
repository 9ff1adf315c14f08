"""The package surface: cheap import, an exact __all__, the CLI, typed env vars."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

import hf_mltrack
from hf_mltrack.cli import cli


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, json, hf_mltrack; "
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'sqlalchemy', 'pandas', 'fastapi', 'numpy', "
        "'peft', 'alembic', 'yaml') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_fluent_use_does_not_import_heavy_ml_libraries(tmp_path) -> None:
    code = (
        "import sys, json, hf_mltrack\n"
        f"hf_mltrack.set_tracking_uri({str(tmp_path)!r})\n"
        "with hf_mltrack.start_run(): hf_mltrack.log_metric('m', 1.0)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'fastapi', 'pandas') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_all_is_exact_sorted_and_resolvable() -> None:
    assert hf_mltrack.__all__ == sorted(hf_mltrack.__all__)
    for name in hf_mltrack.__all__:
        assert getattr(hf_mltrack, name) is not None, name
    assert {"start_run", "log_metric", "search_runs", "MlTrackClient", "set_tracking_uri"} <= set(hf_mltrack.__all__)


def test_unknown_attribute_is_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no_such_thing"):
        hf_mltrack.no_such_thing  # noqa: B018


def test_env_vars_are_documented_and_prefixed() -> None:
    from hf_mltrack import _env

    assert _env.ALL
    for var in _env.ALL:
        assert var.name.startswith("HF_MLTRACK_") and var.doc


def test_bool_env_var_error_names_value(monkeypatch) -> None:
    import pytest

    from hf_mltrack import _env

    monkeypatch.setenv("HF_MLTRACK_ENABLE_ASYNC_LOGGING", "maybe")
    with pytest.raises(ValueError, match="'maybe'"):
        _env.ASYNC_LOGGING.get()


def test_cli_experiments_and_runs(tmp_path) -> None:
    uri = str(tmp_path / "cli")
    runner = CliRunner()
    res = runner.invoke(cli, ["experiments", "create", "-n", "cli-exp", "--tracking-uri", uri])
    assert res.exit_code == 0, res.output
    assert "cli-exp" in res.output
    hf_mltrack.set_tracking_uri(uri)
    hf_mltrack.set_experiment("cli-exp")
    with hf_mltrack.start_run(run_name="listed") as run:
        hf_mltrack.log_metric("loss", 0.5)
    exp_id = hf_mltrack.get_experiment_by_name("cli-exp").experiment_id
    res = runner.invoke(cli, ["runs", "list", "-x", exp_id, "--tracking-uri", uri])
    assert res.exit_code == 0 and "listed" in res.output and run.info.run_id in res.output
    res = runner.invoke(cli, ["runs", "describe", "-r", run.info.run_id, "--tracking-uri", uri])
    assert json.loads(res.output)["data"]["metrics"][0]["value"] == 0.5
    res = runner.invoke(cli, ["experiments", "search", "--tracking-uri", uri])
    assert "cli-exp" in res.output and "Default" in res.output


def test_cli_db_upgrade(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'u.db'}"
    res = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert res.exit_code == 0, res.output
    from hf_mltrack.store.sql.engine import HEAD_REVISION

    assert HEAD_REVISION in res.output
    assert hf_mltrack.MlTrackClient(uri).get_experiment("0").name == "Default"


def test_cli_help_lists_commands() -> None:
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for cmd in ("db", "experiments", "runs"):
        assert cmd in res.output
