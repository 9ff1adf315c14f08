"""Fixtures of the tracing tests: a flushed exporter after each test, a trace client, tiny pipelines.

The tiny models are built locally (no hub access): a 2-layer BERT text classifier with a WordPiece
tokenizer and a 2-layer GPT-2 with a byte-level BPE tokenizer, both trained with `tokenizers` on a few
sentences. They are built once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SENTENCES = [
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "machine learning is fun",
    "deep learning with transformers",
    "explain quantum computing",
    "once upon a time there was a model",
] * 4


@pytest.fixture(autouse=True)
def _tracing_state() -> Iterator[None]:
    """Each test starts with tracing enabled, nothing queued and no previous trace in memory."""
    from hf_mltrack.tracing import export, fluent, span

    export.flush()
    fluent._enabled_override = None
    span._last_record = None
    span._experiment_cache.clear()
    fluent._enabled_from_env = None
    yield
    export.flush()
    fluent._enabled_override = None


@pytest.fixture
def trace_client(tracking_uri: str) -> Any:
    """An MlTrackClient with the trace methods (mixed in here until the core mixes them in)."""
    from hf_mltrack.tracing.client_mixin import TracingClientMixin
    from hf_mltrack.tracking import MlTrackClient

    if issubclass(MlTrackClient, TracingClientMixin):
        return MlTrackClient(tracking_uri)
    cls = type("TracingClient", (TracingClientMixin, MlTrackClient), {})
    return cls(tracking_uri)


def _wordpiece_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=150, special_tokens=special))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def _bpe_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<unk>", "<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(SENTENCES, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )


def build_text_classifier() -> Any:
    """A tiny BERT text-classification pipeline (labels NEG/POS)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, pipeline

    tokenizer = _wordpiece_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
        name_or_path="tiny-bert-cls",
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    return pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")


def build_text_generator() -> Any:
    """A tiny GPT-2 text-generation pipeline."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, pipeline

    tokenizer = _bpe_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        name_or_path="tiny-gpt2",
    )
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    return pipeline("text-generation", model=model, tokenizer=tokenizer, device="cpu")


@pytest.fixture(scope="session")
def text_classifier() -> Any:
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    return build_text_classifier()


@pytest.fixture(scope="session")
def text_generator() -> Any:
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    return build_text_generator()
