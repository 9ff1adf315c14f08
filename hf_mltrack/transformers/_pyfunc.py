"""The pyfunc wrapper: ``hf_mltrack.pyfunc.load_model(uri).predict(...)`` for every text task.

Inputs: a DataFrame (the text in a ``prompt``/``text``/``inputs`` column, or the first column; for
question answering ``question`` and ``context`` columns), a list of str, a str, or dicts. Columns named
like generation parameters (``max_new_tokens``, ``temperature``, ..., and the seed's ``max_tokens``) apply
to their own row.

Parameters: ``model_config`` (saved with the model, overridable at load) applies to every call;
``predict(..., params={...})`` overrides it for one call.

Outputs follow the signature. Generation tasks, fill-mask, token-classification (entities as JSON) and
question-answering give one str per input (a DataFrame when the signature names its output column);
text-generation returns the continuation only (``return_full_text=True`` in ``model_config`` or
``params`` adds the prompt). text-classification gives a DataFrame with ``label`` and ``score``;
feature-extraction one ``(tokens, hidden)`` float32 array per input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.transformers import _flavor, _tasks

_TEXT_COLUMNS = ("prompt", "prompts", "text", "inputs", "input", "sentence", "query")
_COLUMN_ALIASES = {"max_tokens": "max_new_tokens"}
_OUTPUT_KEYS = ("generated_text", "summary_text", "translation_text")


def _to_builtin(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "item") and type(value).__module__.startswith("torch") and value.ndim == 0:
        return value.item()
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    return value


class TransformersPyfuncModel:
    """What `_load_pyfunc` returns; `hf_mltrack.pyfunc.PyFuncModel` wraps it (and enforces the signature).

    Args:
        pipeline: the loaded transformers pipeline.
        flavor_conf (`dict`): the model's ``transformers`` flavor block.
        model_config (`dict`, *optional*): inference parameters applied to every call.
        signature (`ModelSignature`, *optional*): used to shape the outputs.
    """

    def __init__(
        self,
        pipeline: Any,
        flavor_conf: Mapping[str, Any],
        model_config: Mapping[str, Any] | None = None,
        signature: Any = None,
    ) -> None:
        self.pipeline = pipeline
        self.flavor_conf = dict(flavor_conf)
        self.task = _tasks.base_task(str(flavor_conf.get(_flavor.TASK)))
        self.model_config = dict(model_config or {})
        self.signature = signature
        self.prompt_template = flavor_conf.get(_flavor.PROMPT_TEMPLATE)

    def get_raw_model(self) -> Any:
        return self.pipeline

    # ------------------------------------------------------------------------------------------ inputs
    def _rows(self, data: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        """``(inputs, per-row params)`` from any accepted input form."""
        import numpy as np
        import pandas as pd

        if isinstance(data, pd.Series):
            data = data.to_frame()
        if isinstance(data, pd.DataFrame):
            return self._frame_rows(data)
        if isinstance(data, np.ndarray):
            data = data.tolist()
        if isinstance(data, str):
            return [data], [{}]
        if isinstance(data, Mapping):
            if self.task == _tasks.QUESTION_ANSWERING or not all(isinstance(v, (list, tuple)) for v in data.values()):
                return self._frame_rows(pd.DataFrame([dict(data)]))
            return self._frame_rows(pd.DataFrame(dict(data)))
        if isinstance(data, (list, tuple)):
            if all(isinstance(v, str) for v in data):
                return list(data), [{} for _ in data]
            if all(isinstance(v, Mapping) for v in data):
                return self._frame_rows(pd.DataFrame(list(data)))
        raise InvalidParameterError(
            f"Unsupported input for a {self.task} model: {type(data).__name__}. Pass a DataFrame, a list of "
            "str or "
            "a str" + (" (or dicts with 'question' and 'context')" if self.task == _tasks.QUESTION_ANSWERING else "")
        )

    def _frame_rows(self, df: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        columns = [str(c) for c in df.columns]
        df = df.copy(deep=False)
        df.columns = columns
        if self.task == _tasks.QUESTION_ANSWERING:
            if "question" in columns and "context" in columns:
                q, c = "question", "context"
            elif len(columns) >= 2:
                q, c = columns[0], columns[1]
            else:
                raise InvalidParameterError(f"question-answering needs 'question' and 'context' columns, got {columns}")
            inputs = [{"question": str(a), "context": str(b)} for a, b in zip(df[q], df[c], strict=True)]
            return inputs, [{} for _ in inputs]
        text_col = next((c for c in _TEXT_COLUMNS if c in columns), None)
        if text_col is None:
            text_col = next((c for c in columns if df[c].map(lambda v: isinstance(v, str)).all()), columns[0])
        param_cols = {}
        known = _tasks.GENERATION_PARAMS if self.task in _tasks.GENERATION_TASKS else {}
        for col in columns:
            name = _COLUMN_ALIASES.get(col, col)
            if col != text_col and name in known:
                param_cols[col] = name
        texts = [v if isinstance(v, str) else str(v) for v in df[text_col].tolist()]
        row_params = []
        for i in range(len(df)):
            row = {}
            for col, name in param_cols.items():
                value = _to_builtin(df[col].iloc[i])
                if value is not None and value == value:  # skip None and NaN
                    row[name] = value
            row_params.append(row)
        return texts, row_params

    # ------------------------------------------------------------------------------------------ params
    def _call_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = dict(self.model_config)
        for key, value in (params or {}).items():
            if value is not None:
                merged[key] = value
        return {k: _to_builtin(v) for k, v in merged.items() if v is not None}

    # ------------------------------------------------------------------------------------------ predict
    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        inputs, row_params = self._rows(data)
        if not inputs:
            return self._shape([])
        call = self._call_params(params)
        if self.prompt_template:
            inputs = [self.prompt_template.format(prompt=t) for t in inputs]
        if any(row_params):
            results = []
            for item, row in zip(inputs, row_params, strict=True):
                results.extend(self._run([item], {**call, **row}))
        else:
            results = self._run(inputs, call)
        return self._shape(results)

    def _run(self, inputs: list[Any], call: dict[str, Any]) -> list[Any]:
        task = self.task
        if task == _tasks.TEXT_GENERATION:
            call.setdefault("return_full_text", False)
            if call.get("max_new_tokens") is None and call.get("max_length") is None:
                call["max_new_tokens"] = self._default_new_tokens(inputs)
        raw = self.pipeline(inputs if len(inputs) > 1 or task == _tasks.QUESTION_ANSWERING else inputs[0], **call)
        if len(inputs) == 1 and task != _tasks.QUESTION_ANSWERING:
            raw = [raw]
        if task == _tasks.QUESTION_ANSWERING and isinstance(raw, dict):
            raw = [raw]
        return [self._one(r) for r in raw]

    def _default_new_tokens(self, inputs: list[Any], cap: int = 256) -> int:
        """Tokens to generate when nothing says: at most ``cap``, and never past the model's positions."""
        config = getattr(getattr(self.pipeline, "model", None), "config", None)
        limit = next(
            (
                getattr(config, name)
                for name in ("n_positions", "max_position_embeddings", "n_ctx")
                if isinstance(getattr(config, name, None), int)
            ),
            None,
        )
        tokenizer = getattr(self.pipeline, "tokenizer", None)
        if limit is None or tokenizer is None:
            return cap
        longest = max((len(tokenizer(str(t))["input_ids"]) for t in inputs), default=0)
        return max(1, min(cap, limit - longest))

    def _one(self, out: Any) -> Any:
        """One input's pipeline output -> the wrapper's value for it."""
        import numpy as np

        task = self.task
        if task in _tasks.GENERATION_TASKS:
            first = out[0] if isinstance(out, list) else out
            if isinstance(first, list):
                first = first[0]
            for key in _OUTPUT_KEYS:
                if key in first:
                    return first[key]
            return str(first)
        if task == _tasks.TEXT_CLASSIFICATION:
            first = out[0] if isinstance(out, list) else out
            return {"label": str(first["label"]), "score": float(first["score"])}
        if task == _tasks.TOKEN_CLASSIFICATION:
            return json.dumps(_to_builtin(out), ensure_ascii=False)
        if task == _tasks.FILL_MASK:
            first = out[0] if isinstance(out, list) else out
            if isinstance(first, list):  # several masks: the best token of each, space-separated
                return " ".join(str(c[0]["token_str"]).strip() for c in out)
            return str(first["token_str"]).strip()
        if task == _tasks.FEATURE_EXTRACTION:
            array = np.asarray(out, dtype=np.float32)
            return array[0] if array.ndim == 3 and array.shape[0] == 1 else array
        if task == _tasks.QUESTION_ANSWERING:
            first = out[0] if isinstance(out, list) else out
            return str(first["answer"])
        return out

    def _shape(self, results: list[Any]) -> Any:
        import pandas as pd

        if self.task == _tasks.TEXT_CLASSIFICATION:
            return pd.DataFrame(results, columns=["label", "score"])
        outputs = getattr(self.signature, "outputs", None)
        if (
            outputs is not None
            and not outputs.is_tensor_spec()
            and outputs.has_input_names()
            and len(outputs.inputs) == 1
            and all(isinstance(r, str) for r in results)
        ):
            return pd.DataFrame({outputs.input_names()[0]: results})
        return results


def load_pyfunc(path: str, model_config: Mapping[str, Any] | None = None) -> TransformersPyfuncModel:
    """``_load_pyfunc`` of the flavor: the pipeline on the default device, wrapped."""
    from hf_mltrack.models import Model
    from hf_mltrack.transformers._load import load_model_impl

    meta = Model.load(path)
    conf = meta.flavors[_flavor.FLAVOR_NAME]
    pipeline = load_model_impl(path, return_type="pipeline")
    return TransformersPyfuncModel(pipeline, conf, model_config=model_config, signature=meta.signature)
