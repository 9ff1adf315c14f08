"""A LoRA adapter logged adapter-only loads onto its base on the GPU, merged and unmerged."""

from __future__ import annotations

import pytest
import torch

import hf_mltrack
import hf_mltrack.transformers as hft
from hf_mltrack.models import Model

from .conftest import BF16, DEVICE, DEVICE_TYPE

peft = pytest.importorskip("peft")
pytestmark = pytest.mark.skipif(not BF16, reason="this GPU has no bfloat16")


def _logits(model, tok, text: str = "machine learning is fun") -> torch.Tensor:
    batch = tok(text, return_tensors="pt").to(model.device)
    with torch.no_grad():
        return model(**batch).logits.float().cpu()


def test_lora_adapter_on_the_gpu_merged_and_unmerged(store, gpt2_folder, free_gpu):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gpt2_folder)
    base = AutoModelForCausalLM.from_pretrained(gpt2_folder, dtype=torch.bfloat16).to(DEVICE)
    base_logits = _logits(base, tok)
    lora = get_peft_model(
        base, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM", fan_in_fan_out=True)
    )
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # B starts at zero: make the adapter change the outputs
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.copy_((torch.randn(param.shape, generator=gen) * 0.5).to(param.dtype))
    lora.eval()
    expected = _logits(lora, tok)
    scale = expected.abs().max().item()
    assert (expected - base_logits).abs().max().item() > 0.1 * scale  # the adapter matters

    with hf_mltrack.start_run():
        info = hft.log_model({"model": lora, "tokenizer": tok}, "adapter", task="text-generation")
    local = hf_mltrack.artifacts.download_artifacts(info.model_uri)
    conf = Model.load(local).flavors["transformers"]
    assert conf["peft"]["peft_type"] == "LORA" and "model_binary" not in conf  # adapter only

    tol = 0.03 * scale + 0.05  # bf16 keeps ~3 significant digits; merging rounds once more
    unmerged = hft.load_model(info.model_uri, return_type="components")
    assert unmerged["model"].device.type == DEVICE_TYPE
    assert (_logits(unmerged["model"], tok) - expected).abs().max().item() <= tol
    merged = hft.load_model(info.model_uri, return_type="components", merge_adapter=True)
    assert merged["model"].device.type == DEVICE_TYPE
    assert not isinstance(merged["model"], peft.PeftModel)
    assert (_logits(merged["model"], tok) - expected).abs().max().item() <= tol
