"""Pipelines for the tasks recent transformers releases no longer ship, and one place that builds pipelines.

transformers 5 dropped the ``text2text-generation``, ``summarization``, ``translation`` and
``question-answering`` pipelines. Models of those tasks are still common (T5, BART, BERT-QA), so
`build_pipeline` uses transformers' own pipeline when it exists and these small equivalents otherwise;
they accept the same inputs and return the same output shapes as the old transformers pipelines.
"""

from __future__ import annotations

from typing import Any

from hf_mltrack.transformers import _tasks

# The keys the old transformers pipelines used for their outputs.
_OUTPUT_KEYS = {
    _tasks.TEXT2TEXT_GENERATION: "generated_text",
    _tasks.SUMMARIZATION: "summary_text",
    _tasks.TRANSLATION: "translation_text",
}


def native_task_supported(task: str) -> bool:
    """Whether ``transformers.pipeline(task)`` exists in the installed transformers."""
    try:
        from transformers.pipelines import PIPELINE_REGISTRY

        PIPELINE_REGISTRY.check_task(task)
    except (ImportError, KeyError):
        return False
    return True


def _pipeline_base() -> type:
    from transformers import Pipeline

    return Pipeline


def _seq2seq_class() -> type:
    import torch

    Pipeline = _pipeline_base()

    class Seq2SeqGenerationPipeline(Pipeline):  # type: ignore[misc, valid-type]
        """``text2text-generation``, ``summarization`` and ``translation[_xx_to_yy]`` for seq2seq models."""

        _load_tokenizer = True

        def _sanitize_parameters(  # type: ignore[override]
            self,
            truncation: Any = None,
            max_input_length: int | None = None,
            clean_up_tokenization_spaces: bool | None = None,
            return_tensors: bool | None = None,
            src_lang: str | None = None,
            tgt_lang: str | None = None,
            **generate_kwargs: Any,
        ) -> tuple[dict, dict, dict]:
            pre: dict[str, Any] = {}
            post: dict[str, Any] = {}
            if truncation is not None:
                pre["truncation"] = truncation
            if max_input_length is not None:
                pre["max_input_length"] = max_input_length
            if src_lang is not None:
                pre["src_lang"] = src_lang
            if tgt_lang is not None:
                pre["tgt_lang"] = tgt_lang
            if clean_up_tokenization_spaces is not None:
                post["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
            if return_tensors is not None:
                post["return_tensors"] = return_tensors
            return pre, dict(generate_kwargs), post

        def _prefix(self, src_lang: str | None, tgt_lang: str | None) -> str:
            task = self.task or _tasks.TEXT2TEXT_GENERATION
            params = getattr(self.model.config, "task_specific_params", None) or {}
            if task.startswith("translation_") and task in params:
                return params[task].get("prefix", "") or ""
            if task.startswith("translation") and src_lang and tgt_lang:
                key = f"translation_{src_lang}_to_{tgt_lang}"
                if key in params:
                    return params[key].get("prefix", "") or ""
            if task == _tasks.SUMMARIZATION and "summarization" in params:
                return params["summarization"].get("prefix", "") or ""
            return getattr(self.model.config, "prefix", None) or ""

        def preprocess(  # type: ignore[override]
            self,
            inputs: Any,
            truncation: Any = True,
            max_input_length: int | None = None,
            src_lang: str | None = None,
            tgt_lang: str | None = None,
        ) -> dict[str, Any]:
            if not isinstance(inputs, str):
                raise ValueError(f"{self.task} takes a str or a list of str, got {type(inputs).__name__}")
            text = self._prefix(src_lang, tgt_lang) + inputs
            kwargs: dict[str, Any] = {"return_tensors": "pt", "truncation": truncation}
            if max_input_length is not None:
                kwargs["max_length"] = max_input_length
            return dict(self.tokenizer(text, **kwargs))

        def _forward(self, model_inputs: dict[str, Any], **generate_kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
            kwargs = dict(getattr(self, "_generate_kwargs", None) or {})
            kwargs.update(generate_kwargs)
            if kwargs.get("max_new_tokens") is None and kwargs.get("max_length") is None:
                kwargs.setdefault("max_new_tokens", 64)
            if "pad_token_id" not in kwargs and self.tokenizer.pad_token_id is not None:
                kwargs["pad_token_id"] = self.tokenizer.pad_token_id
            output_ids = self.model.generate(**model_inputs, **kwargs)
            return {"output_ids": output_ids}

        def postprocess(  # type: ignore[override]
            self,
            model_outputs: dict[str, Any],
            clean_up_tokenization_spaces: bool = True,
            return_tensors: bool = False,
        ) -> list[dict[str, Any]]:
            key = _OUTPUT_KEYS[_tasks.base_task(self.task or _tasks.TEXT2TEXT_GENERATION)]
            records = []
            for ids in model_outputs["output_ids"]:
                if return_tensors:
                    records.append({key.replace("_text", "_token_ids"): ids})
                    continue
                text = self.tokenizer.decode(
                    ids, skip_special_tokens=True, clean_up_tokenization_spaces=clean_up_tokenization_spaces
                )
                records.append({key: text})
            return records

        def get_inference_context(self):  # type: ignore[override]
            return torch.no_grad

    return Seq2SeqGenerationPipeline


def _question_answering_class() -> type:
    import torch

    Pipeline = _pipeline_base()

    class QuestionAnsweringPipeline(Pipeline):  # type: ignore[misc, valid-type]
        """Extractive question answering: the best span of ``context`` answering ``question``.

        Call it with ``{"question": ..., "context": ...}``, a list of those, or ``question=..., context=...``.
        Returns ``{"score", "start", "end", "answer"}`` (character offsets into the context), or the
        ``top_k`` best as a list.
        """

        _load_tokenizer = True

        def __call__(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if not args and "question" in kwargs and "context" in kwargs:
                question, context = kwargs.pop("question"), kwargs.pop("context")
                if isinstance(question, list):
                    if not isinstance(context, list):
                        context = [context] * len(question)
                    args = ([{"question": q, "context": c} for q, c in zip(question, context, strict=True)],)
                else:
                    args = ({"question": question, "context": context},)
            return super().__call__(*args, **kwargs)

        def _sanitize_parameters(  # type: ignore[override]
            self,
            top_k: int | None = None,
            max_answer_len: int | None = None,
            max_seq_len: int | None = None,
            handle_impossible_answer: bool | None = None,
            **unknown: Any,
        ) -> tuple[dict, dict, dict]:
            if unknown:
                raise TypeError(f"question-answering got unknown parameters {sorted(unknown)}")
            pre: dict[str, Any] = {}
            post: dict[str, Any] = {}
            if max_seq_len is not None:
                pre["max_seq_len"] = max_seq_len
            if top_k is not None:
                post["top_k"] = top_k
            if max_answer_len is not None:
                post["max_answer_len"] = max_answer_len
            if handle_impossible_answer is not None:
                post["handle_impossible_answer"] = handle_impossible_answer
            return pre, {}, post

        def preprocess(self, inputs: Any, max_seq_len: int = 384) -> dict[str, Any]:  # type: ignore[override]
            if not isinstance(inputs, dict) or "question" not in inputs or "context" not in inputs:
                raise ValueError(
                    "question-answering takes {'question': str, 'context': str} (or a list of them), "
                    f"got {type(inputs).__name__}"
                )
            encoded = self.tokenizer(
                inputs["question"],
                inputs["context"],
                truncation="only_second",
                max_length=max_seq_len,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            sequence_ids = encoded.sequence_ids(0)
            offsets = encoded.pop("offset_mapping")[0].tolist()
            model_inputs = dict(encoded)
            model_inputs["context_mask"] = torch.tensor([[s == 1 for s in sequence_ids]])
            model_inputs["offsets"] = torch.tensor([offsets])
            return {**model_inputs, "context": inputs["context"]}

        def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
            extra = {k: model_inputs.pop(k) for k in ("context_mask", "offsets", "context")}
            names = _forward_arg_names(self.model)
            out = self.model(**{k: v for k, v in model_inputs.items() if names is None or k in names})
            return {"start_logits": out.start_logits, "end_logits": out.end_logits, **extra}

        def postprocess(  # type: ignore[override]
            self,
            model_outputs: dict[str, Any],
            top_k: int = 1,
            max_answer_len: int = 15,
            handle_impossible_answer: bool = False,
        ) -> Any:
            start = model_outputs["start_logits"][0].float()
            end = model_outputs["end_logits"][0].float()
            mask = model_outputs["context_mask"][0]
            offsets = model_outputs["offsets"][0].tolist()
            context = model_outputs["context"]
            start_p = torch.softmax(start.masked_fill(~mask, float("-inf")), -1)
            end_p = torch.softmax(end.masked_fill(~mask, float("-inf")), -1)
            scores = start_p[:, None] * end_p[None, :]
            n = scores.shape[0]
            valid = torch.triu(torch.ones(n, n, dtype=torch.bool)) & ~torch.triu(
                torch.ones(n, n, dtype=torch.bool), diagonal=max_answer_len
            )
            scores = scores.masked_fill(~valid, 0.0)
            flat = scores.flatten()
            k = max(1, min(int(top_k), int((flat > 0).sum().item()) or 1))
            best = torch.topk(flat, k)
            answers = []
            for score, index in zip(best.values.tolist(), best.indices.tolist(), strict=True):
                s, e = divmod(index, n)
                char_start, char_end = int(offsets[s][0]), int(offsets[e][1])
                answers.append(
                    {
                        "score": float(score),
                        "start": char_start,
                        "end": char_end,
                        "answer": context[char_start:char_end],
                    }
                )
            if handle_impossible_answer and not answers:
                answers.append({"score": 0.0, "start": 0, "end": 0, "answer": ""})
            return answers[0] if top_k == 1 else answers

    return QuestionAnsweringPipeline


def _forward_arg_names(model: Any) -> set[str] | None:
    import inspect

    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters)


_CLASSES: dict[str, type] = {}


def fallback_pipeline_class(task: str) -> type | None:
    """Our pipeline class for a task transformers does not ship, else ``None``."""
    base = _tasks.base_task(task)
    if base in _tasks.SEQ2SEQ_TASKS:
        key = "seq2seq"
        factory = _seq2seq_class
    elif base == _tasks.QUESTION_ANSWERING:
        key = "qa"
        factory = _question_answering_class
    else:
        return None
    if key not in _CLASSES:
        _CLASSES[key] = factory()
    return _CLASSES[key]


def build_pipeline(
    task: str,
    model: Any,
    tokenizer: Any = None,
    feature_extractor: Any = None,
    image_processor: Any = None,
    processor: Any = None,
    device: Any = None,
    **kwargs: Any,
) -> Any:
    """A pipeline for ``task`` around already-loaded components.

    ``device`` is ``None`` when the model was placed by ``device_map`` (the pipeline then follows the model).
    """
    components = {
        "tokenizer": tokenizer,
        "feature_extractor": feature_extractor,
        "image_processor": image_processor,
        "processor": processor,
    }
    components = {k: v for k, v in components.items() if v is not None}
    if device is None and getattr(model, "hf_device_map", None) is None:
        # Placed by a single-device map (which records no hf_device_map): keep the pipeline there, or it
        # would default to cuda:0 and move the model.
        device = model.device
    if device is not None:
        kwargs["device"] = device
    if native_task_supported(task):
        from transformers import pipeline

        return pipeline(task=task, model=model, **components, **kwargs)  # type: ignore[call-overload]
    cls = fallback_pipeline_class(task)
    if cls is None:
        raise ValueError(f"The installed transformers has no pipeline for task {task!r}")
    return cls(model=model, task=task, **components, **kwargs)
