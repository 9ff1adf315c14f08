"""PEFT / LoRA: adapter-only saving with a base reference, re-applied at load; overrides and exports."""

from __future__ import annotations

import os
import shutil

import pytest
import torch

import hf_mltrack
import hf_mltrack.transformers as hft
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models import Model

peft = pytest.importorskip("peft")


def _dir_size(path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def _lora(model, seed: int = 1):
    """A LoRA model whose adapter actually changes the outputs (B is zero-initialized by default)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], task_type="CAUSAL_LM", fan_in_fan_out=True)
    pm = get_peft_model(model, config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in pm.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    pm.eval()
    return pm


def _logits(model, tok, text: str = "machine learning is fun") -> torch.Tensor:
    with torch.no_grad():
        return model(**tok(text, return_tensors="pt")).logits


@pytest.fixture
def base_folder(tiny_models, tmp_path):
    """A private copy of the tiny GPT-2 (tests may delete it)."""
    folder = tmp_path / "base-gpt2"
    shutil.copytree(tiny_models["gpt2"], folder)
    return str(folder)


def test_adapter_only_and_base_reference(base_folder, load_tiny, tmp_path):
    base, tok = load_tiny(base_folder, "AutoModelForCausalLM")
    base_logits = _logits(base, tok)
    pm = _lora(base)
    expected = _logits(pm, tok)
    assert not torch.allclose(expected, base_logits)  # the adapter matters
    before = {f: os.path.getmtime(os.path.join(base_folder, f)) for f in os.listdir(base_folder)}

    path = tmp_path / "lora"
    hft.save_model({"model": pm, "tokenizer": tok}, path)

    assert not os.path.exists(path / "model")  # the base is referenced, never re-saved
    assert sorted(os.listdir(path / "peft")) == ["adapter_config.json", "adapter_model.safetensors"]
    adapter_bytes = _dir_size(path / "peft")
    assert adapter_bytes < _dir_size(base_folder) / 5
    assert {f: os.path.getmtime(os.path.join(base_folder, f)) for f in os.listdir(base_folder)} == before

    conf = Model.load(path).flavors["transformers"]
    assert conf["task"] == "text-generation"
    assert conf["pipeline_model_type"] == "GPT2LMHeadModel"
    info = conf["peft"]
    assert info["base_model_name"] == os.path.abspath(base_folder)
    assert info["peft_type"] == "LORA"
    assert info["task_type"] == "CAUSAL_LM"
    assert info["adapter_names"] == ["default"]
    assert info["base_weights_included"] is False
    assert "peft==" in (path / "requirements.txt").read_text()

    parts = hft.load_model(str(path), return_type="components", device="cpu")
    assert isinstance(parts["model"], peft.PeftModel)
    assert torch.allclose(_logits(parts["model"], tok), expected, atol=1e-5)

    merged = hft.load_model(str(path), return_type="components", device="cpu", merge_adapter=True)["model"]
    assert type(merged).__name__ == "GPT2LMHeadModel"
    assert torch.allclose(_logits(merged, tok), expected, atol=1e-4)

    pipe = hft.load_model(str(path), device="cpu")
    out = pipe("hello", max_new_tokens=3, do_sample=False)
    assert isinstance(out[0]["generated_text"], str)


def test_base_model_path_override_when_base_moved(base_folder, load_tiny, tmp_path):
    base, tok = load_tiny(base_folder, "AutoModelForCausalLM")
    pm = _lora(base)
    expected = _logits(pm, tok)
    hft.save_model({"model": pm, "tokenizer": tok}, tmp_path / "lora")
    moved = tmp_path / "moved-base"
    shutil.move(base_folder, moved)
    with pytest.raises(MlTrackException, match="base_model_path"):
        hft.load_model(str(tmp_path / "lora"), device="cpu")
    parts = hft.load_model(str(tmp_path / "lora"), return_type="components", device="cpu", base_model_path=str(moved))
    assert torch.allclose(_logits(parts["model"], tok), expected, atol=1e-5)


def test_base_model_uri_of_a_logged_base(store, tiny_models, load_tiny):
    base, tok = load_tiny(tiny_models["gpt2"], "AutoModelForCausalLM")
    with hf_mltrack.start_run():
        base_info = hft.log_model({"model": base, "tokenizer": tok}, name="base")
    # a base built in memory (no name): the logged base model is the reference
    from transformers import GPT2LMHeadModel

    fresh = GPT2LMHeadModel(base.config)
    fresh.load_state_dict(base.state_dict())
    fresh.config._name_or_path = ""
    fresh.name_or_path = ""
    pm = _lora(fresh)
    expected = _logits(pm, tok)
    with hf_mltrack.start_run():
        info = hft.log_model({"model": pm, "tokenizer": tok}, name="adapter", base_model_uri=base_info.model_uri)
    assert info.flavors["transformers"]["peft"]["base_model_uri"] == base_info.model_uri
    parts = hft.load_model(info.model_uri, return_type="components", device="cpu")
    assert torch.allclose(_logits(parts["model"], tok), expected, atol=1e-5)


def test_in_memory_base_needs_a_reference_or_explicit_export(gpt2, tmp_path):
    from transformers import GPT2LMHeadModel

    base, tok = gpt2
    fresh = GPT2LMHeadModel(base.config)
    fresh.load_state_dict(base.state_dict())
    fresh.config._name_or_path = ""
    fresh.name_or_path = ""
    pm = _lora(fresh)
    with pytest.raises(InvalidParameterError, match="save_base_model=True"):
        hft.save_model({"model": pm, "tokenizer": tok}, tmp_path / "no-ref")

    expected = _logits(pm, tok)
    path = tmp_path / "full"
    hft.save_model({"model": pm, "tokenizer": tok}, path, save_base_model=True)
    conf = Model.load(path).flavors["transformers"]
    assert conf["peft"]["base_weights_included"] is True and conf["model_binary"] == "model"
    from safetensors import safe_open

    with safe_open(str(path / "model" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert not any("lora" in k or "base_layer" in k for k in keys)
    assert set(keys) <= set(base.state_dict())
    parts = hft.load_model(str(path), return_type="components", device="cpu")
    assert torch.allclose(_logits(parts["model"], tok), expected, atol=1e-5)


def test_adapter_checkpoint_folder(base_folder, load_tiny, tmp_path):
    base, tok = load_tiny(base_folder, "AutoModelForCausalLM")
    pm = _lora(base)
    expected = _logits(pm, tok)
    ckpt = tmp_path / "checkpoint-5"
    pm.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)
    (ckpt / "optimizer.pt").write_bytes(b"x")
    hft.save_model(str(ckpt), tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["transformers"]
    assert conf["task"] == "text-generation"
    assert conf["peft"]["base_model_name"] == os.path.abspath(base_folder)
    assert conf["components"] == ["tokenizer"]
    assert sorted(os.listdir(tmp_path / "m" / "peft")) == ["adapter_config.json", "adapter_model.safetensors"]
    parts = hft.load_model(str(tmp_path / "m"), return_type="components", device="cpu")
    assert torch.allclose(_logits(parts["model"], tok), expected, atol=1e-5)


def test_peft_only_options_rejected_for_plain_models(gpt2, tmp_path):
    model, tok = gpt2
    with pytest.raises(InvalidParameterError, match="PEFT models only"):
        hft.save_model({"model": model}, tmp_path / "a", save_base_model=True)
    with pytest.raises(InvalidParameterError, match="PEFT models only"):
        hft.save_model({"model": model}, tmp_path / "b", base_model_uri="gpt2")
