"""GPU tests (issue 24): marked ``gpu`` and skipped without CUDA; ``benchmarks/gpu_check.sh`` runs them.

Models are built on the machine from configs (nothing downloaded): a GPT-2 of ~124M parameters (GPT-2
small's shape) and a small BERT classifier, saved to local folders once per session.

``MLTRACK_GPU_TESTS_ON_CPU=1`` runs the same tests on the CPU with small models, to check their logic
on a machine without a GPU before spending GPU time on them; the assertions that only mean something on a
GPU (host RSS while loading to the device, NVML readings, speed) skip in that mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

ON_CPU = os.environ.get("MLTRACK_GPU_TESTS_ON_CPU") == "1"
CUDA = torch.cuda.is_available()
DEVICE = "cpu" if ON_CPU else "cuda:0"
DEVICE_TYPE = "cpu" if ON_CPU else "cuda"
BF16 = ON_CPU or (CUDA and torch.cuda.is_bf16_supported())
GPU_ONLY = pytest.mark.skipif(ON_CPU, reason="only meaningful on a GPU (MLTRACK_GPU_TESTS_ON_CPU=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="needs a CUDA device (MLTRACK_GPU_TESTS_ON_CPU=1 dry-runs them on CPU)")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gpu)
            if not CUDA and not ON_CPU:
                item.add_marker(skip)


def _tokenizer() -> Any:
    from hf_mltrack.quickstart.tiny import build_tokenizer

    return build_tokenizer()


@pytest.fixture(scope="session")
def gpt2_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A GPT-2 saved with save_pretrained in bf16: 124M parameters on a GPU run, 2 layers in the CPU dry run."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = _tokenizer()
    torch.manual_seed(0)
    shape = dict(n_layer=2, n_embd=64, n_head=2) if ON_CPU else dict(n_layer=12, n_embd=768, n_head=12)
    config = GPT2Config(
        vocab_size=50257,
        n_positions=1024 if not ON_CPU else 128,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **shape,
    )
    model = GPT2LMHeadModel(config).to(torch.bfloat16)
    folder = tmp_path_factory.mktemp("gpt2-124m")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small BERT sequence classifier (4 layers, hidden 256) with a WordPiece tokenizer trained here."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.BertNormalizer(lowercase=True)
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.train_from_iterator(
        ["the movie was great", "the movie was terrible", "a fine film", "a bad film"] * 8,
        trainers.WordPieceTrainer(vocab_size=120, special_tokens=special),
    )
    cls_id, sep_id = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    raw.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        num_labels=2,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    model = BertForSequenceClassification(config)
    folder = tmp_path_factory.mktemp("bert-small")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    import hf_mltrack

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mltrack.db'}"
    hf_mltrack.set_tracking_uri(uri)
    yield uri
    hf_mltrack.end_run()


@pytest.fixture
def free_gpu() -> Iterator[None]:
    """Release cached GPU memory between tests, so each test's memory readings are its own."""
    yield
    import gc

    gc.collect()
    if CUDA:
        torch.cuda.empty_cache()
