"""What the model says, step by step: generations logged as one table per step.

Each call writes ``generations/step-<step>.json`` in the run's artifacts (the `log_table` format:
``{"columns": [...], "data": [[...]]}``) with a row per prompt: ``prompt``, ``output``, ``step`` and
any metrics of that step (``eval_loss`` ...). The web UI lays these out as prompts x checkpoints for
a run, and one prompt across runs on the compare page, with a word diff between two outputs.

```python
import hf_mltrack

with hf_mltrack.start_run():
    hf_mltrack.log_generations(["Translate: cat"], ["chat"], step=100, metrics={"eval_loss": 1.9})
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import InvalidParameterError

GENERATIONS_DIR = "generations"


def generations_file(step: int) -> str:
    """The artifact path of the generations of ``step`` (zero-padded, so names sort by step)."""
    return f"{GENERATIONS_DIR}/step-{int(step):09d}.json"


def log_generations(
    prompts: Sequence[str],
    outputs: Sequence[str],
    step: int,
    metrics: Mapping[str, float] | None = None,
    run_id: str | None = None,
) -> str:
    """Log what the model generated for ``prompts`` at ``step`` (a checkpoint, an evaluation).

    Args:
        prompts (`list[str]`): the prompts.
        outputs (`list[str]`): the generated text, one per prompt.
        step (`int`): the training step (``state.global_step``).
        metrics (`dict[str, float]`, *optional*): metrics of that step to show beside the outputs.
        run_id (`str`, *optional*): log to this run instead of the active one.

    Returns:
        `str`: the artifact path written, ``generations/step-<step>.json``.
    """
    from . import fluent

    prompts, outputs = list(prompts), list(outputs)
    if len(prompts) != len(outputs):
        raise InvalidParameterError(
            f"log_generations got {len(prompts)} prompts and {len(outputs)} outputs: give one output per prompt"
        )
    for name, values in (("prompts", prompts), ("outputs", outputs)):
        bad = next((v for v in values if not isinstance(v, str)), None)
        if bad is not None:
            raise InvalidParameterError(f"log_generations {name} must be strings, got {type(bad).__name__}: {bad!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise InvalidParameterError(f"log_generations step must be an int >= 0, got {step!r}")
    data: dict[str, list[Any]] = {"prompt": prompts, "output": outputs, "step": [step] * len(prompts)}
    for key, value in (metrics or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # a string entry of the eval dict (e.g. a model name): not a metric
        data[str(key)] = [number] * len(prompts)
    if run_id is None:
        active = fluent.active_run()
        if active is None:
            raise InvalidParameterError("log_generations needs an active run (start_run) or run_id=...")
        run_id = active.info.run_id
    path = generations_file(step)
    fluent._client().log_table(run_id, data, path)
    return path


__all__ = ["GENERATIONS_DIR", "generations_file", "log_generations"]
