"""The final model of a Trainer run, logged with the transformers flavor (``hf_mltrack.transformers``).

Kept behind small functions: the flavor is imported only when a model is logged, and the keyword
arguments passed are filtered by its signature, so the callback keeps working while the flavor evolves.
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

from ._params import base_model, unwrap_model

# model class name endings -> pipeline task
_TASK_BY_SUFFIX = (
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForSeq2SeqLM", "text2text-generation"),
    ("ForConditionalGeneration", "text2text-generation"),
    ("ForImageClassification", "image-classification"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
)
_TASK_BY_PEFT_TYPE = {
    "CAUSAL_LM": "text-generation",
    "SEQ_CLS": "text-classification",
    "TOKEN_CLS": "token-classification",
    "QUESTION_ANS": "question-answering",
    "SEQ_2_SEQ_LM": "text2text-generation",
}
_LM_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForMaskedLM", "ForSeq2SeqLM", "ForConditionalGeneration")


class FlavorUnavailable(ImportError):
    """``hf_mltrack.transformers`` (the transformers flavor) is not importable."""


def infer_task(model: Any) -> str | None:
    """The pipeline task of a model, from its PEFT task type or its class name."""
    configs = getattr(unwrap_model(model), "peft_config", None)
    if isinstance(configs, dict):
        for config in configs.values():
            task_type = getattr(config, "task_type", None)
            task = _TASK_BY_PEFT_TYPE.get(str(getattr(task_type, "value", task_type)))
            if task:
                return task
    for cls in type(base_model(model)).__mro__:
        for suffix, task in _TASK_BY_SUFFIX:
            if cls.__name__.endswith(suffix):
                return task
    return None


def is_language_model(model: Any) -> bool:
    """Whether ``eval_loss`` is a token-level cross entropy (so ``exp(eval_loss)`` is a perplexity)."""
    if infer_task(model) in ("text-generation", "fill-mask", "text2text-generation"):
        return True
    return any(cls.__name__.endswith(_LM_SUFFIXES) for cls in type(base_model(model)).__mro__)


def component_key(processing_class: Any) -> str:
    """The flavor's component name for a tokenizer / processor object."""
    names = [c.__name__ for c in type(processing_class).__mro__]
    if any(n.endswith("TokenizerBase") or n.endswith("Tokenizer") or n.endswith("TokenizerFast") for n in names):
        return "tokenizer"
    if any(n.endswith("ImageProcessor") or n.endswith("ImageProcessingMixin") for n in names):
        return "image_processor"
    if any(n.endswith("FeatureExtractor") or n.endswith("FeatureExtractionMixin") for n in names):
        return "feature_extractor"
    return "processor"


def input_example(dataset: Any, processing_class: Any, max_chars: int = 500) -> str | None:
    """A text example for the model signature: the first training row, decoded by the tokenizer."""
    if dataset is None or processing_class is None or not hasattr(processing_class, "decode"):
        return None
    try:
        row = dataset[0]
    except Exception:
        return None
    if not isinstance(row, dict):
        return None
    for key in ("text", "prompt", "sentence", "input"):
        if isinstance(row.get(key), str):
            return row[key][:max_chars]
    ids = row.get("input_ids")
    if ids is None:
        return None
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    text = processing_class.decode(ids, skip_special_tokens=True)
    return text[:max_chars] if isinstance(text, str) and text.strip() else None


def log_final_model(
    model: Any,
    processing_class: Any = None,
    *,
    name: str = "model",
    task: str | None = None,
    registered_model_name: str | None = None,
    example: Any = None,
    log_signature: bool = True,
    run_id: str | None = None,
    step: int | None = None,
) -> Any:
    """Log ``model`` (with its tokenizer or processor) to the active run with the transformers flavor.

    Raises:
        `FlavorUnavailable`: ``hf_mltrack.transformers`` cannot be imported.
    """
    try:
        flavor = importlib.import_module("hf_mltrack.transformers")
    except ImportError as exc:
        raise FlavorUnavailable(f"hf_mltrack.transformers is not importable: {exc}") from exc
    log_model = getattr(flavor, "log_model", None)
    if log_model is None:
        raise FlavorUnavailable("hf_mltrack.transformers has no log_model()")
    model = unwrap_model(model)
    transformers_model: Any = model
    if processing_class is not None:
        transformers_model = {"model": model, component_key(processing_class): processing_class}
    kwargs: dict[str, Any] = {
        "transformers_model": transformers_model,
        "name": name,
        "task": task or infer_task(model),
        "registered_model_name": registered_model_name,
        "input_example": example,
        "run_id": run_id,
        "step": step,
    }
    if not log_signature:
        kwargs["signature"] = False
    accepted = inspect.signature(log_model).parameters
    if "name" not in accepted and "artifact_path" in accepted:
        kwargs["artifact_path"] = kwargs.pop("name")
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k == "transformers_model"}
    return log_model(**kwargs)


def trainer_state_json(state: Any) -> str:
    """``trainer_state.json`` content (what ``TrainerState.save_to_json`` writes)."""
    to_json = getattr(state, "to_json_string", None)
    if callable(to_json):
        return to_json()
    import dataclasses

    return json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True, default=str) + "\n"
