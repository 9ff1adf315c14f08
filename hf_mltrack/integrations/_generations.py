"""Generation at evaluation time for `MlTrackCallback(log_generations=[...])`, leaving training as it was.

The model generates under ``torch.no_grad()`` in eval mode; afterwards its train/eval mode and every
random number generator (Python, NumPy, torch CPU and CUDA) are restored, so the training that
follows draws the same dropout masks and batches as without generation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

DEFAULT_GENERATION_KWARGS: dict[str, Any] = {"max_new_tokens": 32, "do_sample": False}


@contextmanager
def preserved_training_state(model: Any) -> Iterator[None]:
    """Eval mode and no autograd inside; the model's mode and all RNG states restored after."""
    import torch

    was_training = bool(getattr(model, "training", False))
    py_state = random.getstate()
    try:
        import numpy as np

        np_random: ModuleType | None = np.random
        np_state: Any = np.random.get_state()
    except ImportError:  # pragma: no cover - numpy ships with torch
        np_random, np_state = None, None
    cpu_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        model.eval()
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
        random.setstate(py_state)
        if np_random is not None:
            np_random.set_state(np_state)
        torch.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def generate(
    model: Any, tokenizer: Any, prompts: Sequence[str], generation_kwargs: Mapping[str, Any] | None
) -> list[str]:
    """The text ``model`` generates after each prompt (the prompt itself not repeated)."""
    kwargs = {**DEFAULT_GENERATION_KWARGS, **(generation_kwargs or {})}
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(tokenizer, "eos_token_id", None)
    if pad is not None:
        kwargs.setdefault("pad_token_id", pad)
    device = getattr(model, "device", None)
    outputs: list[str] = []
    with preserved_training_state(model):
        for prompt in prompts:
            enc = tokenizer(prompt, return_tensors="pt")
            if device is not None:
                enc = enc.to(device)
            out = model.generate(**enc, **kwargs)
            new_tokens = out[0, enc["input_ids"].shape[1] :]
            outputs.append(tokenizer.decode(new_tokens, skip_special_tokens=True))
    return outputs
