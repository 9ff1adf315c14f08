"""Quantized models: the ``quantization_config`` recorded in MLmodel, a missing package a clear error.

The GPU round trip with bitsandbytes itself is in tests/gpu/test_gpu_quantization.py.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

import hf_mltrack.transformers as hft
from hf_mltrack.exceptions import MissingDependencyError
from hf_mltrack.models import Model
from hf_mltrack.transformers._quant import quantization_block

BNB_CONFIG = {
    "quant_method": "bitsandbytes",
    "load_in_8bit": True,
    "load_in_4bit": False,
    "llm_int8_threshold": 6.0,
}


@pytest.fixture
def quantized_checkpoint(tiny_models, tmp_path) -> str:
    """A checkpoint folder whose config.json says bitsandbytes 8-bit (as save_pretrained writes it)."""
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_models["gpt2"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = BNB_CONFIG
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def test_checkpoint_quantization_recorded_in_mlmodel_and_requirements(quantized_checkpoint, tmp_path):
    hft.save_model(quantized_checkpoint, tmp_path / "m", task="text-generation")
    conf = Model.load(str(tmp_path / "m")).flavors["transformers"]
    assert conf["quantization"] == {"quant_method": "bitsandbytes", "load_in_4bit": False, "load_in_8bit": True}
    requirements = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert any(line.split("==")[0] == "bitsandbytes" for line in requirements)


def test_quantization_block_of_an_in_memory_config(gpt2):
    model, _ = gpt2
    model.config.quantization_config = dict(
        BNB_CONFIG, load_in_8bit=False, load_in_4bit=True, bnb_4bit_quant_type="nf4"
    )
    block = quantization_block(model.config)
    assert block == {
        "quant_method": "bitsandbytes",
        "load_in_4bit": True,
        "load_in_8bit": False,
        "bnb_4bit_quant_type": "nf4",
    }


def test_plain_model_has_no_quantization_block(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    assert "quantization" not in Model.load(str(tmp_path / "m")).flavors["transformers"]


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is not None, reason="bitsandbytes is installed")
def test_loading_without_the_package_names_it(quantized_checkpoint, tmp_path):
    hft.save_model(quantized_checkpoint, tmp_path / "m", task="text-generation")
    with pytest.raises(MissingDependencyError, match=r"8-bit.*'bitsandbytes'.*pip install bitsandbytes"):
        hft.load_model(str(tmp_path / "m"), device="cpu")
