"""report_to="hf_mltrack": registration with transformers, "all", lists, and the start-up hook."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import hf_mltrack.integrations  # noqa: F401  (registers on import)
from hf_mltrack.integrations import MlTrackCallback, install_startup_hook, uninstall_startup_hook
from hf_mltrack.integrations._startup import PTH_LINE, PTH_NAME, startup_hook_path


def test_registered_on_import():
    from transformers.integrations import integration_utils

    assert integration_utils.INTEGRATION_TO_CALLBACK["hf_mltrack"] is MlTrackCallback
    assert integration_utils.get_reporting_integration_callbacks("hf_mltrack") == [MlTrackCallback]


@pytest.mark.parametrize("report_to", ["hf_mltrack", ["hf_mltrack"], "all"], ids=["name", "list", "all"])
def test_trainer_picks_up_the_callback(tracked, make_gpt2, make_args, lm_dataset, report_to):
    from transformers import Trainer

    args = make_args(report_to=report_to)
    assert "hf_mltrack" in args.report_to
    trainer = Trainer(model=make_gpt2(), args=args, train_dataset=lm_dataset)
    ours = [cb for cb in trainer.callback_handler.callbacks if isinstance(cb, MlTrackCallback)]
    assert len(ours) == 1
    assert "train" in vars(trainer)  # the crash guard wraps this instance only
    assert "train" not in vars(type(trainer)) or vars(type(trainer))["train"].__module__.startswith("transformers")


def test_register_is_idempotent_and_reversible():
    from transformers.integrations import integration_utils

    from hf_mltrack.integrations import register_report_to, unregister_report_to

    original_table = dict(integration_utils.INTEGRATION_TO_CALLBACK)
    assert register_report_to() and register_report_to()
    assert integration_utils.INTEGRATION_TO_CALLBACK == original_table
    unregister_report_to()
    try:
        assert "hf_mltrack" not in integration_utils.INTEGRATION_TO_CALLBACK
        assert "hf_mltrack" not in integration_utils.get_available_reporting_integrations()
    finally:
        register_report_to()
    assert "hf_mltrack" in integration_utils.get_available_reporting_integrations()


def test_startup_hook_imports_nothing_and_installs_one_finder(tmp_path):
    """What keeps the hook cheap at every interpreter start: it imports no module (its cost is timed
    in benchmarks, not here)."""
    path = install_startup_hook(tmp_path)
    assert startup_hook_path(tmp_path) == path and os.path.basename(path) == PTH_NAME
    code = textwrap.dedent(
        f"""
        import sys
        lines = [l for l in open({path!r}) if l.startswith("import ")]
        before = set(sys.modules)
        exec(lines[0])
        finders = sum(getattr(f, "_hf_mltrack_startup", False) for f in sys.meta_path)
        print(sorted(set(sys.modules) - before), finders)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 1"  # no module imported, one finder installed
    assert uninstall_startup_hook(tmp_path) and not os.path.exists(path)
    assert not uninstall_startup_hook(tmp_path)


def test_pth_line_is_a_single_import_line():
    assert PTH_LINE.startswith("import ") and PTH_LINE.count("\n") == 1


_SCRIPT = """
import sys
assert "hf_mltrack" not in sys.modules, "the start-up hook must not import hf_mltrack"
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
args = TrainingArguments(output_dir={out!r}, report_to={report_to!r}, use_cpu=True, max_steps=1)
model = GPT2LMHeadModel(GPT2Config(vocab_size=16, n_layer=1, n_embd=8, n_head=1, n_positions=8))
try:
    trainer = Trainer(model=model, args=args)
    print(sorted(type(cb).__name__ for cb in trainer.callback_handler.callbacks))
except ValueError as exc:
    print("ValueError", exc)
"""


@pytest.mark.slow
@pytest.mark.parametrize("disabled", [False, True], ids=["hook", "disabled-by-env"])
def test_unmodified_script_with_report_to(tmp_path, disabled):
    """Like transformers' example scripts run with --report_to hf_mltrack: no hf_mltrack import."""
    site_dir = tmp_path / "site"
    install_startup_hook(site_dir)
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT.format(out=str(tmp_path / "out"), report_to="hf_mltrack"))
    env = {**os.environ, "HF_MLTRACK_HOME": str(tmp_path / "home"), "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
    if disabled:
        env["HF_MLTRACK_DISABLE_STARTUP_HOOK"] = "1"
    # site.addsitedir processes the .pth exactly as interpreter start-up does for site-packages
    runner = f"import site; site.addsitedir({str(site_dir)!r}); exec(open({str(script)!r}).read())"
    proc = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    if disabled:
        assert last.startswith("ValueError") and "hf_mltrack is not supported" in last
    else:
        assert "MlTrackCallback" in last


def test_cli_installs_and_removes_the_hook(tmp_path):
    from click.testing import CliRunner

    from hf_mltrack.integrations.cli import integrations

    runner = CliRunner()
    site = str(tmp_path / "site")
    assert "not installed" in runner.invoke(integrations, ["status", "--site-dir", site]).output
    result = runner.invoke(integrations, ["install-hook", "--site-dir", site])
    assert result.exit_code == 0 and PTH_NAME in result.output
    assert PTH_NAME in runner.invoke(integrations, ["status", "--site-dir", site]).output
    assert "Removed" in runner.invoke(integrations, ["uninstall-hook", "--site-dir", site]).output
    assert not os.listdir(site)


def test_public_names_are_exact():
    import hf_mltrack.integrations as integrations

    assert integrations.__all__ == sorted(integrations._EXPORTS)
    for name in integrations.__all__:
        assert getattr(integrations, name) is not None


def test_importing_integrations_is_cheap():
    code = (
        "import sys, hf_mltrack.integrations; "
        "heavy = ('torch', 'transformers', 'accelerate', 'sqlalchemy', 'pandas'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_shipped_pth_file_matches_the_hook_source(tmp_path):
    """The .pth shipped for wheels (copied to site-packages by the build) is the one install-hook writes."""
    shipped = os.path.join(os.path.dirname(hf_mltrack.integrations.__file__), PTH_NAME)
    with open(shipped, encoding="utf-8") as fh, open(install_startup_hook(tmp_path), encoding="utf-8") as gh:
        assert fh.read() == gh.read()
