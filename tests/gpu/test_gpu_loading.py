"""GPU-aware loading of the transformers flavor: dtype recorded, placement on cuda:0, no host copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import hf_mltrack
import hf_mltrack.transformers as hft
from hf_mltrack.models import Model

from .conftest import BF16, DEVICE, DEVICE_TYPE, GPU_ONLY

pytestmark = pytest.mark.skipif(not BF16, reason="this GPU has no bfloat16")


def _load(folder: str, cls: str = "AutoModelForCausalLM"):
    import transformers
    from transformers import AutoTokenizer

    model = getattr(transformers, cls).from_pretrained(folder, dtype=torch.bfloat16).to(DEVICE)
    return model, AutoTokenizer.from_pretrained(folder)


@pytest.fixture
def logged_gpt2(store, gpt2_folder, free_gpu) -> str:
    model, tok = _load(gpt2_folder)
    with hf_mltrack.start_run():
        info = hft.log_model({"model": model, "tokenizer": tok}, "model", task="text-generation")
    del model
    return info.model_uri


def test_log_model_of_a_bf16_gpu_model_records_its_dtype(logged_gpt2):
    local = hf_mltrack.artifacts.download_artifacts(logged_gpt2)
    conf = Model.load(local).flavors["transformers"]
    assert conf["torch_dtype"] == "torch.bfloat16"


def test_load_model_defaults_to_cuda0_in_the_recorded_dtype(logged_gpt2):
    pipe = hft.load_model(logged_gpt2)
    assert pipe.model.device.type == DEVICE_TYPE
    if DEVICE_TYPE == "cuda":
        assert pipe.model.device.index == 0
    assert pipe.model.dtype == torch.bfloat16
    assert all(p.device.type == DEVICE_TYPE for p in pipe.model.parameters())
    out = pipe("machine learning", max_new_tokens=4, do_sample=False)
    assert isinstance(out[0]["generated_text"], str)


def test_device_cpu_and_dtype_and_device_map_do_what_they_say(logged_gpt2):
    on_cpu = hft.load_model(logged_gpt2, device="cpu")
    assert on_cpu.model.device.type == "cpu" and on_cpu.model.dtype == torch.bfloat16
    fp32 = hft.load_model(logged_gpt2, torch_dtype="float32")
    assert fp32.model.device.type == DEVICE_TYPE and fp32.model.dtype == torch.float32
    auto = hft.load_model(logged_gpt2, device_map="auto")
    assert {p.device.type for p in auto.model.parameters()} == {DEVICE_TYPE}
    assert auto("hello", max_new_tokens=2, do_sample=False)[0]["generated_text"]


def test_pyfunc_predict_runs_on_the_gpu(logged_gpt2):
    loaded = hf_mltrack.pyfunc.load_model(logged_gpt2)
    pipeline = loaded.get_raw_model()
    assert pipeline.model.device.type == DEVICE_TYPE
    out = loaded.predict(["machine learning is"], params={"max_new_tokens": 3, "do_sample": False})
    assert len(out) == 1 and isinstance(out[0], str)


def test_bert_classifier_on_the_gpu(store, bert_folder, free_gpu):
    model, tok = _load(bert_folder, "AutoModelForSequenceClassification")
    with hf_mltrack.start_run():
        info = hft.log_model({"model": model, "tokenizer": tok}, "classifier", task="text-classification")
    pipe = hft.load_model(info.model_uri)
    assert pipe.model.device.type == DEVICE_TYPE and pipe.model.dtype == torch.bfloat16
    labels = {r["label"] for r in pipe(["a fine film", "a bad film"])}
    assert labels <= {"NEGATIVE", "POSITIVE"}
    predicted = hf_mltrack.pyfunc.load_model(info.model_uri).predict(["the movie was great"])
    assert len(predicted) == 1


_RSS_PROBE = textwrap.dedent(
    """
    import json, sys, threading, time
    import torch
    import hf_mltrack.transformers as hft

    def anon_kb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    torch.zeros(1, device="cuda:0")  # CUDA context first: its host memory is not the model's
    import transformers  # noqa: F401  (imports are not the model either)
    base = anon_kb()
    peak = [base]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], anon_kb())
            time.sleep(0.001)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    pipe = hft.load_model(sys.argv[1])
    torch.cuda.synchronize()
    stop.set(); t.join()
    peak[0] = max(peak[0], anon_kb())
    print(json.dumps({"base_kb": base, "peak_kb": peak[0], "device": str(pipe.model.device),
                      "bytes": sum(p.numel() * p.element_size() for p in pipe.model.parameters())}))
    """
)


@GPU_ONLY
def test_loading_to_the_gpu_keeps_no_host_copy_of_the_weights(logged_gpt2, tmp_path):
    local = hf_mltrack.artifacts.download_artifacts(logged_gpt2, dst_path=str(tmp_path / "dl"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, local], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    added = (probe["peak_kb"] - probe["base_kb"]) * 1024
    assert probe["device"] == "cuda:0"
    # Anonymous memory (real copies; the memory-mapped safetensors file is file-backed and not counted).
    assert added <= 0.3 * probe["bytes"], (
        f"host memory grew by {added / 2**20:.0f} MB for a {probe['bytes'] / 2**20:.0f} MB model"
    )
