"""A bitsandbytes-quantized model records its quantization in MLmodel and loads back quantized.

Without bitsandbytes the CPU suite checks the other half (a clear error naming the package:
tests/transformers_flavor/test_transformers_quantization.py).
"""

from __future__ import annotations

import pytest
import torch

import hf_mltrack
import hf_mltrack.transformers as hft
from hf_mltrack.models import Model

from .conftest import GPU_ONLY

bnb = pytest.importorskip("bitsandbytes", reason="bitsandbytes is not installed on this GPU machine")


@GPU_ONLY
@pytest.mark.parametrize("bits", [8, 4], ids=["8bit", "4bit"])
def test_quantized_model_round_trip(store, gpt2_folder, bits, free_gpu):
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quant = (
        BitsAndBytesConfig(load_in_8bit=True)
        if bits == 8
        else BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
    )
    model = AutoModelForCausalLM.from_pretrained(gpt2_folder, quantization_config=quant, device_map={"": 0})
    tok = AutoTokenizer.from_pretrained(gpt2_folder)
    with hf_mltrack.start_run():
        info = hft.log_model({"model": model, "tokenizer": tok}, "quantized", task="text-generation")
    local = hf_mltrack.artifacts.download_artifacts(info.model_uri)
    conf = Model.load(local).flavors["transformers"]
    assert conf["quantization"]["quant_method"] == "bitsandbytes"
    assert conf["quantization"][f"load_in_{bits}bit"] is True
    assert any(line.startswith("bitsandbytes") for line in open(f"{local}/requirements.txt"))

    loaded = hft.load_model(info.model_uri, return_type="components")["model"]
    layer_types = {type(m).__name__ for m in loaded.modules()}
    assert ("Linear8bitLt" if bits == 8 else "Linear4bit") in layer_types
    assert loaded.device.type == "cuda"
