"""Tiny real models for Trainer tests: a 2-layer GPT-2 (n_embd 32) and a word-level tokenizer trained here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

SENTENCES = [
    "the cat sat on the mat",
    "a dog ran in the park",
    "hello world from tiny models",
    "tracking runs with small language models",
    "the quick brown fox jumps over the lazy dog",
    "models learn from data one step at a time",
    "loss goes down when training works",
    "a tiny model trains fast on a cpu",
]
SEQ_LEN = 8


@pytest.fixture(autouse=True)
def _quiet_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    monkeypatch.setenv("WANDB_DISABLED", "true")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)  # 2 shared cores: more threads only add contention for tiny models


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]"]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


@pytest.fixture
def make_gpt2(tokenizer: Any) -> Callable[[], Any]:
    def make() -> Any:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel

        torch.manual_seed(0)
        config = GPT2Config(
            vocab_size=tokenizer.vocab_size, n_layer=2, n_embd=32, n_head=2, n_positions=16, pad_token_id=1
        )
        return GPT2LMHeadModel(config)

    return make


@pytest.fixture
def lm_dataset(tokenizer: Any) -> list[dict[str, list[int]]]:
    rows = []
    for sentence in SENTENCES:
        ids = tokenizer(sentence, padding="max_length", max_length=SEQ_LEN, truncation=True)["input_ids"]
        rows.append({"input_ids": ids, "labels": ids})
    return rows


@pytest.fixture
def cls_dataset(tokenizer: Any) -> list[dict[str, Any]]:
    rows = []
    for i, sentence in enumerate(SENTENCES):
        ids = tokenizer(sentence, padding="max_length", max_length=SEQ_LEN, truncation=True)["input_ids"]
        rows.append({"input_ids": ids, "labels": i % 2})
    return rows


@pytest.fixture
def make_args(tmp_path: Path) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        from transformers import TrainingArguments

        options: dict[str, Any] = {
            "output_dir": str(tmp_path / "out"),
            "report_to": "hf_mltrack",
            "max_steps": 4,
            "logging_steps": 1,
            "per_device_train_batch_size": 4,
            "per_device_eval_batch_size": 4,
            "save_strategy": "no",
            "use_cpu": True,
            "disable_tqdm": True,
            "dataloader_num_workers": 0,
            "seed": 0,
            "learning_rate": 1e-3,
        }
        options.update(overrides)
        return TrainingArguments(**options)

    return make


@pytest.fixture
def tracked(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh store; system metrics off and model logging off unless a test turns them on (speed)."""
    import hf_mltrack.integrations  # noqa: F401  (registers report_to="hf_mltrack")

    monkeypatch.setenv("HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    monkeypatch.setenv("HF_MLTRACK_LOG_MODEL", "false")
    return tracking_uri
