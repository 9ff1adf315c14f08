"""Device, device_map and dtype plumbing of load_model (CPU here; the GPU cases run where CUDA exists)."""

from __future__ import annotations

import pytest
import torch

import hf_mltrack.transformers as hft
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.transformers._load import resolve_placement

CUDA = torch.cuda.is_available()


@pytest.fixture
def saved(gpt2, tmp_path) -> str:
    model, tok = gpt2
    path = tmp_path / "m"
    hft.save_model({"model": model, "tokenizer": tok}, path)
    return str(path)


def test_default_device_is_gpu_when_present_else_cpu(saved):
    pipe = hft.load_model(saved)
    assert pipe.device.type == ("cuda" if CUDA else "cpu")
    assert pipe.model.device.type == pipe.device.type


@pytest.mark.parametrize("device", ["cpu", -1, torch.device("cpu")], ids=["str", "minus-one", "torch-device"])
def test_explicit_cpu(saved, device):
    pipe = hft.load_model(saved, device=device)
    assert pipe.device.type == "cpu" and pipe.model.device.type == "cpu"


@pytest.mark.skipif(CUDA, reason="checks the error raised without a GPU")
@pytest.mark.parametrize("device", ["cuda", 0, "cuda:1"])
def test_gpu_device_without_cuda_is_a_clear_error(saved, device):
    with pytest.raises(InvalidParameterError, match="device='cpu'"):
        hft.load_model(saved, device=device)


def test_device_map_auto_on_cpu(saved):
    pipe = hft.load_model(saved, device_map="auto")
    assert pipe.model.device.type == ("cuda" if CUDA else "cpu")
    out = pipe("hello", max_new_tokens=2, do_sample=False)
    assert isinstance(out[0]["generated_text"], str)


def test_single_device_map_keeps_the_pipeline_there(saved):
    pipe = hft.load_model(saved, device_map={"": "cpu"})
    assert pipe.device.type == "cpu" and pipe.model.device.type == "cpu"


def test_device_and_device_map_together_is_an_error_naming_both(saved):
    with pytest.raises(InvalidParameterError, match=r"device='cpu'.*device_map='auto'.*Drop device_map=.*drop device="):
        hft.load_model(saved, device="cpu", device_map="auto")


def test_resolve_placement():
    assert resolve_placement("cpu", None) == ({}, "cpu")
    assert resolve_placement(None, "auto") == ({"device_map": "auto"}, None)
    assert resolve_placement(None, {"": "cpu"}) == ({"device_map": {"": "cpu"}}, None)
    with pytest.raises(InvalidParameterError):
        resolve_placement("cpu", "auto")
    if CUDA:
        assert resolve_placement(0, None) == ({"device_map": {"": "cuda:0"}}, None)


@pytest.mark.parametrize(("dtype", "expected"), [("bfloat16", torch.bfloat16), (torch.float16, torch.float16)])
def test_torch_dtype_override_at_load(saved, dtype, expected):
    parts = hft.load_model(saved, return_type="components", device="cpu", torch_dtype=dtype)
    assert parts["model"].dtype == expected
    assert all(p.dtype == expected for p in parts["model"].parameters())


def test_saved_dtype_used_by_default(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model({"model": model.to(torch.bfloat16), "tokenizer": tok}, tmp_path / "bf16")
    pipe = hft.load_model(str(tmp_path / "bf16"), device="cpu")
    assert pipe.model.dtype == torch.bfloat16
    assert isinstance(pipe("hello", max_new_tokens=2, do_sample=False)[0]["generated_text"], str)


def test_invalid_dtype_and_return_type(saved):
    with pytest.raises(InvalidParameterError, match="Invalid torch_dtype 'float13'"):
        hft.load_model(saved, torch_dtype="float13")
    with pytest.raises(InvalidParameterError, match="return_type"):
        hft.load_model(saved, return_type="model")


def test_pipeline_kwargs_pass_through(saved):
    pipe = hft.load_model(saved, device="cpu", max_new_tokens=3, do_sample=False)
    out = pipe("hello")
    assert out == pipe("hello", max_new_tokens=3, do_sample=False)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_gpu_placement_and_half_precision(saved, dtype):
    pipe = hft.load_model(saved, device="cuda", torch_dtype=dtype)
    assert pipe.model.device.type == "cuda" and pipe.model.dtype == dtype
    assert isinstance(pipe("hello", max_new_tokens=3, do_sample=False)[0]["generated_text"], str)
    auto = hft.load_model(saved, device_map="auto", torch_dtype=dtype)
    assert auto.model.device.type == "cuda"
