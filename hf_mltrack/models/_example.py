"""Input examples: saved as JSON (MLflow's layout), checked against the signature, loaded back.

| example | ``input_example.json`` | ``saved_input_example_info.type`` |
|---|---|---|
| DataFrame / Series | ``{"columns": [...], "data": [[...], ...]}`` (split orient) | ``dataframe`` |
| numpy array / torch tensor | ``{"inputs": [...]}`` | ``ndarray`` |
| dict of arrays | ``{"inputs": {"name": [...]}}`` | ``ndarray`` |
| dict, list, str | the value itself | ``json_object`` |

A ``serving_input_example.json`` (the request body a scoring server accepts) is written beside it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hf_mltrack.exceptions import InvalidParameterError

if TYPE_CHECKING:
    from hf_mltrack.models.model import Model
    from hf_mltrack.models.signature import ModelSignature

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"


def _jsonable(obj: Any, where: str = "input_example") -> Any:
    import numpy as np

    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), where)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, where) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, (_dt.datetime, _dt.date)):
        try:
            import pandas as pd

            if obj is pd.NaT:
                return None
        except ImportError:  # pragma: no cover
            pass
        return obj.isoformat()
    raise InvalidParameterError(
        f"Cannot save {where}: a value of type {type(obj).__name__} is not JSON serializable "
        "(use str, numbers, bool, bytes, datetime, lists, dicts, DataFrames or numpy arrays)"
    )


def _to_payload(example: Any) -> tuple[str, Any, Any]:
    """``(type, input_example.json content, serving body)`` of an example."""
    import numpy as np
    import pandas as pd

    if type(example).__module__.startswith("torch") and hasattr(example, "detach"):
        example = example.detach().cpu().numpy()
    if isinstance(example, pd.Series):
        example = example.to_frame()
    if isinstance(example, pd.DataFrame):
        split = example.to_dict(orient="split", index=False)
        content = {"columns": [str(c) for c in split["columns"]], "data": _jsonable(split["data"])}
        return "dataframe", content, {"dataframe_split": content}
    if isinstance(example, np.ndarray):
        content = {"inputs": _jsonable(example)}
        return "ndarray", content, content
    if isinstance(example, Mapping) and example and all(isinstance(v, np.ndarray) for v in example.values()):
        content = {"inputs": _jsonable(example)}
        return "ndarray", content, content
    if isinstance(example, (Mapping, list, tuple, str)):
        content = _jsonable(example)
        return "json_object", content, {"inputs": content}
    raise InvalidParameterError(
        f"Unsupported input_example type {type(example).__name__}: use a DataFrame, a numpy array, a dict, "
        "a list or a str"
    )


def check_example(example: Any, signature: ModelSignature | None) -> None:
    """Raise an error naming the mismatch when ``example`` does not fit ``signature.inputs``."""
    if signature is None or signature.inputs is None:
        return
    from hf_mltrack.models._enforce import _enforce_schema

    try:
        _enforce_schema(example, signature.inputs)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"input_example does not match the signature: {exc.message}") from None


def save_input_example(model: Model, input_example: Any, path: str, check: bool = True) -> None:
    """Write ``input_example.json`` (+ the serving body) into ``path`` and record it in ``model``."""
    if check:
        check_example(input_example, model.signature)
    kind, content, serving = _to_payload(input_example)
    with open(os.path.join(path, INPUT_EXAMPLE_FILE), "w", encoding="utf-8") as f:
        json.dump(content, f, ensure_ascii=False)
    with open(os.path.join(path, SERVING_INPUT_FILE), "w", encoding="utf-8") as f:
        json.dump(serving, f, ensure_ascii=False)
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE_FILE, "type": kind}
    if kind == "dataframe":
        info["pandas_orient"] = "split"
    info["serving_input_path"] = SERVING_INPUT_FILE
    model.saved_input_example_info = info


def process_signature_and_example(
    model: Model, path: str, signature: ModelSignature | None, input_example: Any
) -> None:
    """Set the signature (inferred from the example's inputs when not given) and save the example."""
    from hf_mltrack.models.signature import ModelSignature

    if signature is not None:
        if not isinstance(signature, ModelSignature):
            raise InvalidParameterError(f"signature must be a ModelSignature, got {type(signature).__name__}")
        model.signature = signature
    elif input_example is not None:
        from hf_mltrack.types.utils import _infer_schema

        try:
            model.signature = ModelSignature(inputs=_infer_schema(input_example))
        except InvalidParameterError:
            model.signature = None  # the example is still saved; it just does not describe a schema
    if input_example is not None:
        save_input_example(model, input_example, path)


def _restore_columns(df: Any, signature: ModelSignature | None) -> Any:
    import pandas as pd

    from hf_mltrack.types.schema import ColSpec, DataType

    if signature is None or signature.inputs is None or signature.inputs.is_tensor_spec():
        return df
    for i, spec in enumerate(signature.inputs.inputs):
        assert isinstance(spec, ColSpec)
        col = spec.name if spec.name is not None else df.columns[i] if i < len(df.columns) else None
        if col is None or col not in df.columns:
            continue
        if spec.type is DataType.datetime:
            df[col] = pd.to_datetime(df[col])
        elif spec.type is DataType.binary:
            df[col] = [base64.b64decode(v) if isinstance(v, str) else v for v in df[col]]
    return df


def load_input_example(path: str, info: Mapping[str, Any] | None, signature: ModelSignature | None = None) -> Any:
    """Read back the example saved in the model folder ``path`` (``None`` when there is none)."""
    if not info:
        return None
    import numpy as np

    from hf_mltrack.models._paths import safe_join

    file = safe_join(path, str(info.get("artifact_path", INPUT_EXAMPLE_FILE)))
    with open(file, encoding="utf-8") as f:
        content = json.load(f)
    kind = info.get("type")
    if kind == "dataframe":
        import pandas as pd

        return _restore_columns(pd.DataFrame(content["data"], columns=content["columns"]), signature)
    if kind == "ndarray":
        inputs = content["inputs"]
        specs = signature.inputs.input_dict() if signature and signature.inputs else {}
        if isinstance(inputs, dict):
            return {k: np.asarray(v, dtype=getattr(specs.get(k), "type", None)) for k, v in inputs.items()}
        dtype: Any = None
        if signature and signature.inputs and signature.inputs.is_tensor_spec():
            dtype = signature.inputs.inputs[0].type
        return np.asarray(inputs, dtype=dtype)
    return content
