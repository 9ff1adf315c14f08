"""Tiny models built locally (no hub access): a 2-layer GPT-2, BERT-style heads and a 1-layer T5.

Each is built once per session and saved to a folder; tests load fresh copies from there (milliseconds).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

SENTENCES = [
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "machine learning is fun",
    "deep learning with transformers",
    "what is machine learning",
    "paris is the capital of france",
    "translate english to german: the house is small",
    "summarize: the quick brown fox jumps over the lazy dog again and again",
] * 4


def _bpe_tokenizer(special: list[str], **named: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(SENTENCES, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **named)


def _wordpiece_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=200, special_tokens=special))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def _bert_config(tokenizer, **kwargs):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        **kwargs,
    )


def _save(model, tokenizer, folder: Path) -> str:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Folders of tiny models by name: gpt2, bert-cls, bert-mlm, bert-ner, bert-qa, bert-base, t5."""
    import torch
    from transformers import (
        BertForMaskedLM,
        BertForQuestionAnswering,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertModel,
        GPT2Config,
        GPT2LMHeadModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    root = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    out: dict[str, str] = {}

    gtok = _bpe_tokenizer(
        ["<unk>", "<pad>", "<s>", "</s>"],
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    gcfg = GPT2Config(
        vocab_size=len(gtok),
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=64,
        bos_token_id=gtok.bos_token_id,
        eos_token_id=gtok.eos_token_id,
        pad_token_id=gtok.pad_token_id,
    )
    out["gpt2"] = _save(GPT2LMHeadModel(gcfg), gtok, root / "gpt2")

    btok = _wordpiece_tokenizer()
    labels = {"id2label": {0: "NEG", 1: "POS"}, "label2id": {"NEG": 0, "POS": 1}}
    out["bert-cls"] = _save(BertForSequenceClassification(_bert_config(btok, **labels)), btok, root / "bert-cls")
    out["bert-mlm"] = _save(BertForMaskedLM(_bert_config(btok)), btok, root / "bert-mlm")
    ner = {"id2label": {0: "O", 1: "B-LOC", 2: "I-LOC"}, "label2id": {"O": 0, "B-LOC": 1, "I-LOC": 2}}
    out["bert-ner"] = _save(BertForTokenClassification(_bert_config(btok, **ner)), btok, root / "bert-ner")
    out["bert-qa"] = _save(BertForQuestionAnswering(_bert_config(btok)), btok, root / "bert-qa")
    out["bert-base"] = _save(BertModel(_bert_config(btok)), btok, root / "bert-base")

    ttok = _bpe_tokenizer(["<pad>", "</s>", "<unk>"], pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    tcfg = T5Config(
        vocab_size=len(ttok),
        d_model=32,
        d_ff=37,
        d_kv=16,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        pad_token_id=ttok.pad_token_id,
        eos_token_id=ttok.eos_token_id,
        decoder_start_token_id=ttok.pad_token_id,
        task_specific_params={
            "summarization": {"prefix": "summarize: "},
            "translation_en_to_de": {"prefix": "translate English to German: "},
        },
    )
    out["t5"] = _save(T5ForConditionalGeneration(tcfg), ttok, root / "t5")
    return out


def load(folder: str, auto: str = "AutoModel"):
    """``(model, tokenizer)`` freshly loaded from a tiny model folder."""
    import transformers

    model = getattr(transformers, auto).from_pretrained(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    return model, tokenizer


@pytest.fixture
def load_tiny():
    """``load_tiny(folder, auto_class_name) -> (model, tokenizer)``."""
    return load


@pytest.fixture
def gpt2(tiny_models: dict[str, str]):
    """A fresh ``(GPT2LMHeadModel, tokenizer)``."""
    return load(tiny_models["gpt2"], "AutoModelForCausalLM")


@pytest.fixture
def store(tracking_uri: str, tmp_path: Path) -> str:
    """A fresh tracking store (sqlite) whose default artifact root is in tmp_path."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return tracking_uri
