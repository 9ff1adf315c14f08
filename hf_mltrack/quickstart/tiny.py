"""Tiny language models built locally in a second: a byte-level BPE tokenizer and a 2-layer GPT-2.

Used by ``hf-mltrack quickstart`` and the notebooks, so that both run on a fresh machine with no
network and no hub: the tokenizer is trained with ``tokenizers`` on `CORPUS`, the model is randomly
initialized from a seed.

```python
from hf_mltrack.quickstart.tiny import build_tokenizer, build_gpt2, build_dataset

tokenizer = build_tokenizer()
model = build_gpt2(tokenizer, n_layer=2, n_embd=64, seed=0)
train, test = build_dataset(tokenizer)
```
"""

from __future__ import annotations

import os
import warnings
from typing import Any

# A small built-in corpus: instruction-style lines about the ML lifecycle (enough for a 400-token BPE).
CORPUS: tuple[str, ...] = (
    "### Instruction: what is experiment tracking? ### Response: recording params, metrics and artifacts of runs.",
    "### Instruction: what is a model registry? ### Response: a catalog of model versions with stages.",
    "### Instruction: what does LoRA train? ### Response: two small low-rank matrices per target module.",
    "### Instruction: why log the learning rate? ### Response: to compare runs and reproduce the best one.",
    "### Instruction: what is perplexity? ### Response: the exponential of the cross-entropy loss.",
    "### Instruction: what is a checkpoint? ### Response: the saved weights and optimizer state of a step.",
    "### Instruction: how do I roll back a model? ### Response: move the previous version back to Production.",
    "### Instruction: what is a run? ### Response: one execution of training code with its params and metrics.",
    "### Instruction: what is an artifact? ### Response: a file a run produced, such as a model or a plot.",
    "### Instruction: what is a pipeline? ### Response: a tokenizer and a model that turn text into text.",
    "### Instruction: name a metric. ### Response: train loss, eval loss, eval perplexity or accuracy.",
    "### Instruction: what is the embedded store? ### Response: a SQLite file and an artifact folder.",
    "### Instruction: what is a stage? ### Response: None, Staging, Production or Archived.",
    "### Instruction: what does autolog do? ### Response: it logs every Trainer run without code changes.",
    "### Instruction: what is a signature? ### Response: the schema of the inputs and outputs of a model.",
    "### Instruction: what is fine-tuning? ### Response: training a pretrained model further on new data.",
)

SPECIAL_TOKENS: tuple[str, ...] = ("<unk>", "<pad>", "<s>", "</s>")


def offline() -> None:
    """Make HuggingFace libraries work without network: no hub calls, no telemetry, quiet tokenizers."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def quiet() -> None:
    """`offline`, and no library progress bars, info logs or deprecation notices (clean demo output)."""
    import warnings

    offline()
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|peft|torch)\.")
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without ipywidgets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        pass


def build_tokenizer(corpus: tuple[str, ...] | list[str] = CORPUS, vocab_size: int = 400) -> Any:
    """Train a byte-level BPE tokenizer on ``corpus`` and wrap it as a transformers fast tokenizer.

    Args:
        corpus (`list[str]`, *optional*, defaults to `CORPUS`): the training sentences.
        vocab_size (`int`, *optional*, defaults to 400): the target vocabulary size (byte alphabet and
            special tokens included).

    Returns:
        `transformers.PreTrainedTokenizerFast`: with ``<pad>``, ``<s>``, ``</s>`` and ``<unk>`` set.
    """
    offline()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )


def build_gpt2(
    tokenizer: Any, n_layer: int = 2, n_embd: int = 64, n_head: int = 2, n_positions: int = 64, seed: int = 0
) -> Any:
    """A randomly initialized GPT-2 language model sized for CPU demos (about 100k parameters).

    Args:
        tokenizer (`PreTrainedTokenizerFast`): gives the vocabulary size and the special token ids.
        n_layer (`int`, *optional*, defaults to 2): transformer blocks.
        n_embd (`int`, *optional*, defaults to 64): hidden size.
        n_head (`int`, *optional*, defaults to 2): attention heads.
        n_positions (`int`, *optional*, defaults to 64): longest sequence.
        seed (`int`, *optional*, defaults to 0): the torch seed of the initialization.

    Returns:
        `transformers.GPT2LMHeadModel`
    """
    offline()
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_positions=n_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


def add_lora(model: Any, r: int = 8, alpha: int = 16, dropout: float = 0.05) -> Any:
    """Wrap a GPT-2 with a LoRA adapter on its attention and MLP projections (peft).

    Args:
        model (`GPT2LMHeadModel`): the base model.
        r (`int`, *optional*, defaults to 8): the LoRA rank.
        alpha (`int`, *optional*, defaults to 16): the LoRA scaling numerator.
        dropout (`float`, *optional*, defaults to 0.05): dropout on the LoRA input.

    Returns:
        `peft.PeftModel`: only the adapter weights are trainable.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=["c_attn", "c_proj", "c_fc"],
        fan_in_fan_out=True,  # GPT-2 uses Conv1D layers
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing`: their FutureWarning, not the user's
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        return get_peft_model(model, config)


class TextDataset:
    """A list of tokenized rows (``input_ids``, ``attention_mask``) the Trainer can index."""

    def __init__(self, rows: list[dict[str, list[int]]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.rows[index]


def build_dataset(
    tokenizer: Any, corpus: tuple[str, ...] | list[str] = CORPUS, max_length: int = 48, test_size: int = 4
) -> tuple[TextDataset, TextDataset]:
    """Tokenize ``corpus`` into a train and a test split (the last ``test_size`` lines are the test split).

    Args:
        tokenizer (`PreTrainedTokenizerFast`): the tokenizer.
        corpus (`list[str]`, *optional*, defaults to `CORPUS`): one example per line.
        max_length (`int`, *optional*, defaults to 48): longer lines are truncated.
        test_size (`int`, *optional*, defaults to 4): lines held out for evaluation.

    Returns:
        `tuple[TextDataset, TextDataset]`: ``(train, test)``.
    """
    rows = [dict(tokenizer(line + tokenizer.eos_token, truncation=True, max_length=max_length)) for line in corpus]
    return TextDataset(rows[:-test_size]), TextDataset(rows[-test_size:])


def count_parameters(model: Any) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts of a model."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
