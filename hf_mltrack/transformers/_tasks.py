"""Tasks: their names, inference from a model, the model class that serves them, default signatures.

The task decides three things: which ``AutoModelFor...`` class reloads the weights, which pipeline runs
them, and what the pyfunc wrapper takes and returns.
"""

from __future__ import annotations

from typing import Any

from hf_mltrack.exceptions import InvalidParameterError

TEXT_GENERATION = "text-generation"
TEXT2TEXT_GENERATION = "text2text-generation"
SUMMARIZATION = "summarization"
TRANSLATION = "translation"
TEXT_CLASSIFICATION = "text-classification"
TOKEN_CLASSIFICATION = "token-classification"
FILL_MASK = "fill-mask"
FEATURE_EXTRACTION = "feature-extraction"
QUESTION_ANSWERING = "question-answering"

#: The tasks this flavor serves with a pyfunc wrapper (other tasks still save and load as pipelines).
PYFUNC_TASKS = (
    TEXT_GENERATION,
    TEXT2TEXT_GENERATION,
    SUMMARIZATION,
    TRANSLATION,
    TEXT_CLASSIFICATION,
    TOKEN_CLASSIFICATION,
    FILL_MASK,
    FEATURE_EXTRACTION,
    QUESTION_ANSWERING,
)
#: Tasks whose model generates text with ``model.generate``.
GENERATION_TASKS = (TEXT_GENERATION, TEXT2TEXT_GENERATION, SUMMARIZATION, TRANSLATION)
SEQ2SEQ_TASKS = (TEXT2TEXT_GENERATION, SUMMARIZATION, TRANSLATION)

_ALIASES = {
    "sentiment-analysis": TEXT_CLASSIFICATION,
    "ner": TOKEN_CLASSIFICATION,
    "text-to-text-generation": TEXT2TEXT_GENERATION,
}

# task -> the Auto class that loads its weights (name in `transformers`), in inference priority order.
_AUTO_CLASS = {
    TEXT_GENERATION: "AutoModelForCausalLM",
    TEXT2TEXT_GENERATION: "AutoModelForSeq2SeqLM",
    SUMMARIZATION: "AutoModelForSeq2SeqLM",
    TRANSLATION: "AutoModelForSeq2SeqLM",
    TEXT_CLASSIFICATION: "AutoModelForSequenceClassification",
    TOKEN_CLASSIFICATION: "AutoModelForTokenClassification",
    FILL_MASK: "AutoModelForMaskedLM",
    QUESTION_ANSWERING: "AutoModelForQuestionAnswering",
    FEATURE_EXTRACTION: "AutoModel",
}

# (auto mapping names in transformers.models.auto.modeling_auto, task), checked in this order.
_MAPPINGS = (
    ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", TEXT_GENERATION),
    ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", TEXT2TEXT_GENERATION),
    ("MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", TEXT_CLASSIFICATION),
    ("MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", TOKEN_CLASSIFICATION),
    ("MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", QUESTION_ANSWERING),
    ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", FILL_MASK),
    ("MODEL_MAPPING_NAMES", FEATURE_EXTRACTION),
)

_PEFT_TASK_TYPES = {
    "CAUSAL_LM": TEXT_GENERATION,
    "SEQ_2_SEQ_LM": TEXT2TEXT_GENERATION,
    "SEQ_CLS": TEXT_CLASSIFICATION,
    "TOKEN_CLS": TOKEN_CLASSIFICATION,
    "QUESTION_ANS": QUESTION_ANSWERING,
    "FEATURE_EXTRACTION": FEATURE_EXTRACTION,
}

# Generation parameters a text-generating pyfunc model accepts at predict time (name -> signature type).
GENERATION_PARAMS = {
    "max_new_tokens": "long",
    "max_length": "long",
    "min_new_tokens": "long",
    "do_sample": "boolean",
    "temperature": "double",
    "top_p": "double",
    "top_k": "long",
    "num_beams": "long",
    "repetition_penalty": "double",
    "no_repeat_ngram_size": "long",
    "length_penalty": "double",
}
# Inference parameters of the other tasks.
TASK_PARAMS = {
    TEXT_CLASSIFICATION: {"function_to_apply": "string"},
    TOKEN_CLASSIFICATION: {"aggregation_strategy": "string"},
    FILL_MASK: {},
    QUESTION_ANSWERING: {"max_answer_len": "long", "max_seq_len": "long"},
    FEATURE_EXTRACTION: {},
}


def base_task(task: str) -> str:
    """``translation_en_to_fr`` -> ``translation``; other tasks unchanged."""
    return TRANSLATION if task.startswith("translation") else task


def normalize_task(task: str | None) -> str | None:
    """Validate a task name given by the user; aliases (``sentiment-analysis``, ``ner``) become canonical."""
    if task is None:
        return None
    if not isinstance(task, str) or not task.strip():
        raise InvalidParameterError(f"task must be a non-empty string such as 'text-generation', got {task!r}")
    task = task.strip().lower()
    task = _ALIASES.get(task, task)
    if task.startswith("translation_") or task in PYFUNC_TASKS:
        return task
    try:  # any other task of transformers' pipeline() is accepted (saved and loaded as a pipeline)
        from transformers.pipelines import PIPELINE_REGISTRY

        if task in PIPELINE_REGISTRY.get_supported_tasks():
            return task
    except ImportError:  # pragma: no cover - transformers missing is reported elsewhere
        pass
    raise InvalidParameterError(
        f"Unknown task {task!r}. Supported: {', '.join(PYFUNC_TASKS)}, 'translation_xx_to_yy', or any task "
        "of "
        "transformers.pipeline()"
    )


def task_from_peft_type(task_type: Any) -> str | None:
    if task_type is None:
        return None
    return _PEFT_TASK_TYPES.get(str(getattr(task_type, "value", task_type)))


def infer_task_from_class(class_name: str, config: Any = None) -> str | None:
    """The task served by a model class (e.g. ``GPT2LMHeadModel`` -> ``text-generation``), or ``None``."""
    from transformers.models.auto import modeling_auto

    for mapping_name, task in _MAPPINGS:
        mapping = getattr(modeling_auto, mapping_name, None) or {}
        for value in mapping.values():
            names = value if isinstance(value, (list, tuple)) else (value,)
            if class_name in names:
                return task
    # Fall back on naming conventions for classes absent from the auto mappings (e.g. custom code models).
    for suffix, task in (
        ("ForCausalLM", TEXT_GENERATION),
        ("LMHeadModel", TEXT_GENERATION),
        ("ForSequenceClassification", TEXT_CLASSIFICATION),
        ("ForTokenClassification", TOKEN_CLASSIFICATION),
        ("ForQuestionAnswering", QUESTION_ANSWERING),
        ("ForMaskedLM", FILL_MASK),
    ):
        if class_name.endswith(suffix):
            return task
    if class_name.endswith("ForConditionalGeneration") and getattr(config, "is_encoder_decoder", False):
        return TEXT2TEXT_GENERATION
    return None


def infer_task(model: Any) -> str:
    """Infer the task of an in-memory model (a `PreTrainedModel` or a PEFT model)."""
    peft_config = _active_peft_config(model)
    if peft_config is not None:
        task = task_from_peft_type(getattr(peft_config, "task_type", None))
        if task is not None:
            return task
        model = model.get_base_model()
    name = type(model).__name__
    task = infer_task_from_class(name, getattr(model, "config", None))
    if task is None:
        raise InvalidParameterError(
            f"Cannot infer the task of a {name}: pass task=..., e.g. task='text-generation' "
            f"(supported: {', '.join(PYFUNC_TASKS)})"
        )
    return task


def infer_task_from_config(config: Any) -> str:
    """Infer the task of a checkpoint from its ``config.json`` (its ``architectures``)."""
    for arch in getattr(config, "architectures", None) or []:
        task = infer_task_from_class(arch, config)
        if task is not None:
            return task
    raise InvalidParameterError(
        "Cannot infer the task of this checkpoint "
        f"(architectures={getattr(config, 'architectures', None)!r}): "
        f"pass task=..., e.g. task='text-generation' (supported: {', '.join(PYFUNC_TASKS)})"
    )


def _active_peft_config(model: Any) -> Any:
    configs = getattr(model, "peft_config", None)
    if not isinstance(configs, dict) or not hasattr(model, "get_base_model"):
        return None
    active = getattr(model, "active_adapter", None)
    if isinstance(active, (list, tuple)):
        active = active[0] if active else None
    return configs.get(active) or next(iter(configs.values()), None)


def auto_class_for(task: str, class_name: str | None = None) -> Any:
    """The class that loads the weights: the exact saved class if transformers has it, else an Auto class."""
    import transformers

    if class_name:
        cls = getattr(transformers, class_name, None)
        if cls is not None and hasattr(cls, "from_pretrained"):
            return cls
    auto_name = _AUTO_CLASS.get(base_task(task))
    if auto_name is None:
        try:  # a task of transformers.pipeline(): use the pipeline's own model class
            from transformers.pipelines import PIPELINE_REGISTRY

            _, spec, _ = PIPELINE_REGISTRY.check_task(task)
            classes = spec.get("pt") or ()
            if classes:
                return classes[0]
        except (ImportError, KeyError):
            pass
        return transformers.AutoModel
    return getattr(transformers, auto_name)


def default_signature(task: str, model_config: dict[str, Any] | None = None) -> Any:
    """The signature of the pyfunc wrapper for ``task`` (``None`` for tasks without a wrapper).

    The ``params`` part lists the task's inference parameters and the keys of ``model_config``, all with
    default ``None``: an unset param falls back on ``model_config`` (as saved, or as overridden at load),
    and ``predict(..., params={...})`` overrides it for one call.
    """
    import numpy as np

    from hf_mltrack.models.signature import ModelSignature
    from hf_mltrack.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

    task = base_task(task)
    if task not in PYFUNC_TASKS:
        return None
    if task == QUESTION_ANSWERING:
        inputs = Schema([ColSpec("string", "question"), ColSpec("string", "context")])
    else:
        inputs = Schema([ColSpec("string")])
    if task == TEXT_CLASSIFICATION:
        outputs = Schema([ColSpec("string", "label"), ColSpec("double", "score")])
    elif task == FEATURE_EXTRACTION:
        outputs = Schema([TensorSpec(np.dtype("float32"), (-1, -1, -1))])
    else:
        outputs = Schema([ColSpec("string")])
    known = GENERATION_PARAMS if task in GENERATION_TASKS else TASK_PARAMS.get(task, {})
    if task == TEXT_GENERATION:
        known = {**known, "return_full_text": "boolean"}
    specs = [ParamSpec(name, dtype, None) for name, dtype in known.items()]
    for name, value in (model_config or {}).items():  # keys outside the known set keep their value's type
        if name not in known:
            spec = _param_spec_of(name, value)
            if spec is not None:
                specs.append(spec)
    return ModelSignature(inputs=inputs, outputs=outputs, params=ParamSchema(specs) if specs else None)


def _param_spec_of(name: str, value: Any) -> Any:
    from hf_mltrack.types import ParamSpec

    # bool before int: bool is a subclass of int
    for kind, dtype in ((bool, "boolean"), (int, "long"), (float, "double"), (str, "string")):
        if isinstance(value, kind):
            return ParamSpec(name, dtype, None)
    return None  # e.g. a nested dict: applied from model_config, just not overridable per call
