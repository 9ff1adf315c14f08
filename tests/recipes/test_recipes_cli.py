"""``hf-mltrack recipes`` commands, and the cheap import of the recipes and sklearn packages."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from hf_mltrack.recipes.cli import recipes


def test_import_does_not_load_ml_libraries() -> None:
    code = (
        "import sys, json, hf_mltrack.recipes, hf_mltrack.sklearn; "
        "print(json.dumps(sorted(m for m in ('sklearn', 'pandas', 'numpy', 'skops', 'xgboost', 'yaml', "
        "'sqlalchemy') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_cli_run_inspect_clean(classification_recipe) -> None:
    folder = classification_recipe()
    runner = CliRunner()
    root = ["--profile", "local", "--recipe-root", str(folder.root)]
    res = runner.invoke(recipes, ["run", "--step", "split", *root])
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["ingest", "ran", "split", "ran"]
    res = runner.invoke(recipes, ["run", "--step", "split", *root])
    assert res.output.split() == ["ingest", "cached", "split", "cached"]
    res = runner.invoke(recipes, ["inspect", "--step", "split", *root])
    assert res.exit_code == 0 and "Step: Split" in res.output and "card.html" in res.output
    res = runner.invoke(recipes, ["inspect", "--step", "train", *root])
    assert res.exit_code != 0 and "has not run yet" in res.output
    res = runner.invoke(recipes, ["clean", *root])
    assert res.exit_code == 0
    res = runner.invoke(recipes, ["run", "--profile", "nope", "--recipe-root", str(folder.root)])
    assert res.exit_code != 0 and "profiles/nope.yaml" in res.output
