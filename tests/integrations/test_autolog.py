"""Autolog: one call for Trainer runs and PyTorch loops; the safety contract of the patches."""

from __future__ import annotations

import warnings

import pytest
from integrations_helpers import metric_steps, only_run

import hf_mltrack
import hf_mltrack.autologging as autolog_pkg
from hf_mltrack.autologging import _patching
from hf_mltrack.autologging import transformers as tf_autolog
from hf_mltrack.integrations import MlTrackCallback


@pytest.fixture(autouse=True)
def _autolog_off():
    yield
    autolog_pkg.autolog(disable=True)


def _ours(trainer):
    return [cb for cb in trainer.callback_handler.callbacks if isinstance(cb, MlTrackCallback)]


def test_trainer_autolog_tracks_an_unmodified_trainer(tracked, client, make_gpt2, make_args, lm_dataset):
    from transformers import Trainer

    tf_autolog.autolog(log_models=False, extra_tags={"source": "autolog-test"})
    trainer = Trainer(model=make_gpt2(), args=make_args(report_to="none"), train_dataset=lm_dataset)
    assert len(_ours(trainer)) == 1
    trainer.train()
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags["hf_mltrack.autologging"] == "transformers"
    assert run.data.tags["source"] == "autolog-test"
    assert run.data.params["model.n_layer"] == "2"
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4]


def test_generic_autolog_lets_the_trainer_own_its_run(tracked, client, make_gpt2, make_args, lm_dataset):
    """hf_mltrack.autolog() patches Accelerator too; inside Trainer.train() the callback owns the run."""
    from transformers import Trainer

    autolog_pkg.autolog(log_models=False)
    trainer = Trainer(
        model=make_gpt2(), args=make_args(report_to="none", run_name="named-run"), train_dataset=lm_dataset
    )
    trainer.train()
    assert hf_mltrack.active_run() is None
    run = only_run(client)  # exactly one run: no extra run started by the Accelerator hooks
    assert run.info.run_name == "named-run"
    assert run.info.status == "FINISHED"
    assert "dataloader_0.dataset_size" not in run.data.params  # the Accelerator hook stayed out


def test_autolog_with_report_to_and_manual_logging_has_no_duplicates(tracked, client, make_gpt2, make_args, lm_dataset):
    from transformers import Trainer

    tf_autolog.autolog(log_models=False)
    tf_autolog.autolog(log_models=False)  # twice: harmless
    assert len(_patching.patches("transformers")) == 1
    with hf_mltrack.start_run() as run:
        trainer = Trainer(model=make_gpt2(), args=make_args(report_to="hf_mltrack"), train_dataset=lm_dataset)
        assert len(_ours(trainer)) == 1
        trainer.train()
        hf_mltrack.log_metric("loss", 0.123, step=4)  # the user's value at the same step replaces ours
    history = metric_steps(client, run.info.run_id, "loss")
    assert [s for s, _ in history] == [1, 2, 3, 4]
    assert history[-1][1] == pytest.approx(0.123)


def test_disable_restores_the_originals_exactly():
    from transformers import Trainer

    before = vars(Trainer)["__init__"]
    tf_autolog.autolog()
    assert vars(Trainer)["__init__"] is not before
    assert vars(Trainer)["__init__"].__wrapped__ is before
    tf_autolog.autolog(disable=True)
    assert vars(Trainer)["__init__"] is before
    assert _patching.get_config("transformers") is None


def test_users_errors_propagate_unchanged_through_patches(make_args):
    from transformers import Trainer

    args = make_args(report_to="none")
    with pytest.raises(Exception) as plain:
        Trainer(model=None, args=args)
    tf_autolog.autolog()
    with pytest.raises(type(plain.value)) as patched:
        Trainer(model=None, args=args)
    assert str(patched.value) == str(plain.value)


def test_generic_autolog_is_callable_and_enables_installed_frameworks():
    from accelerate import Accelerator

    original_log = vars(Accelerator)["log"]
    assert hf_mltrack.autolog is autolog_pkg.autolog  # a plain function (typed), not a module
    enabled = hf_mltrack.autolog(log_models=False)
    assert enabled == ["transformers", "pytorch"]
    assert _patching.is_enabled("transformers") and _patching.is_enabled("pytorch")
    assert vars(Accelerator)["log"] is not original_log
    autolog_pkg.autolog(disable=True)
    assert vars(Accelerator)["log"] is original_log
    assert not _patching.is_enabled("pytorch")


# ---- the patching contract on a small class of our own --------------------------------------------
class _Base:
    def inherited(self):
        return "base"


class _Target(_Base):
    def step(self, x):
        if x < 0:
            raise ValueError(f"negative {x}")
        return x * 2


def test_safe_patch_contract():
    seen = []

    def patch(original, self, x):
        result = original(self, x)  # the user's code, outside our error handling
        _patching.call_safely("toy", "after step", lambda: seen.append(1 / (x - 1)))
        return result

    original_step = vars(_Target)["step"]
    _patching.set_config("toy", {})
    try:
        assert _patching.safe_patch("toy", _Target, "step", patch)
        assert not _patching.safe_patch("toy", _Target, "step", patch)  # idempotent
        assert _patching.safe_patch("toy", _Target, "inherited", lambda original, self: original(self) + "!")
        t = _Target()
        assert t.step(3) == 6 and t.inherited() == "base!"
        with pytest.raises(ValueError, match="negative -1"):
            t.step(-1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert t.step(1) == 2 and t.step(1) == 2  # our code fails twice (1 / 0): one warning
        assert len([w for w in caught if "hf_mltrack autolog (toy)" in str(w.message)]) == 1
    finally:
        _patching.revert("toy")
        _patching.clear_config("toy")
    assert vars(_Target)["step"] is original_step
    assert "inherited" not in vars(_Target)  # inherited attribute shows through again


# ---- PyTorch loops ------------------------------------------------------------------------------
def test_pytorch_autolog_routes_accelerator_logging(tracked, client):
    from accelerate import Accelerator

    from hf_mltrack.autologging import pytorch as pt_autolog

    pt_autolog.autolog()
    accelerator = Accelerator(cpu=True)
    with hf_mltrack.start_run() as run:
        accelerator.init_trackers("proj", config={"lr": 0.01, "api_key": "sk-" + "x" * 30})
        for step in range(3):
            accelerator.log({"loss": 1.0 / (step + 1), "note": "text is skipped"}, step=step)
    stored = client.get_run(run.info.run_id)
    assert stored.data.params["lr"] == "0.01" and stored.data.params["api_key"] == "<redacted>"
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [0, 1, 2]
    assert "note" not in stored.data.metrics


def test_pytorch_autolog_tensorboard(tracked, client, tmp_path):
    pytest.importorskip("tensorboard")
    from hf_mltrack.autologging import pytorch as pt_autolog

    pt_autolog.autolog()
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    with hf_mltrack.start_run() as run:
        for step in range(3):
            writer.add_scalar("train/loss", 1.0 / (step + 1), global_step=step)
        writer.add_scalars("eval", {"acc": 0.5, "f1": 0.4}, global_step=2)
    writer.close()
    assert [s for s, _ in metric_steps(client, run.info.run_id, "train/loss")] == [0, 1, 2]
    assert client.get_run(run.info.run_id).data.metrics["eval/f1"] == pytest.approx(0.4)


def test_pytorch_autolog_logs_saved_models_and_dataset_sizes(tracked, client, tmp_path):
    import torch
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    from hf_mltrack.artifacts import get_artifact_repository
    from hf_mltrack.autologging import pytorch as pt_autolog

    pt_autolog.autolog()
    accelerator = Accelerator(cpu=True)
    model = torch.nn.Linear(4, 2)
    loader = DataLoader(list(range(10)), batch_size=5)
    with hf_mltrack.start_run() as run:
        model, loader = accelerator.prepare(model, loader)
        accelerator.save_model(model, str(tmp_path / "saved"))
    stored = client.get_run(run.info.run_id)
    assert stored.data.params["dataloader_0.dataset_size"] == "10"
    assert stored.data.params["dataloader_0.batch_size"] == "5"
    names = [f.path for f in get_artifact_repository(stored.info.artifact_uri).list_artifacts("model")]
    assert "model/model.safetensors" in names


def test_importing_autolog_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, hf_mltrack; hf_mltrack.autolog(); "
        "print([m for m in ('torch', 'transformers', 'accelerate', 'sqlalchemy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
