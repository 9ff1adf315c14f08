"""`ModelSignature` (the inputs, outputs and parameters a model accepts) and `infer_signature`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.types.schema import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

_MISSING = object()


def _as_schema(value: Any, what: str) -> Schema | None:
    if value is None or isinstance(value, Schema):
        return value
    if isinstance(value, Sequence) and all(isinstance(v, (ColSpec, TensorSpec)) for v in value):
        return Schema(list(value))
    raise InvalidParameterError(
        f"ModelSignature {what} must be a Schema (or a list of ColSpec/TensorSpec), got {value!r}"
    )


class ModelSignature:
    """What a model takes and returns, stored in the ``signature`` block of ``MLmodel``.

    Args:
        inputs (`Schema`, *optional*): the input columns or tensors; `PyFuncModel.predict` enforces them.
        outputs (`Schema`, *optional*): the output columns or tensors.
        params (`ParamSchema`, *optional*): inference parameters with their defaults.
    """

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        self.inputs = _as_schema(inputs, "inputs")
        self.outputs = _as_schema(outputs, "outputs")
        if params is not None and not isinstance(params, ParamSchema):
            if isinstance(params, Sequence) and all(isinstance(p, ParamSpec) for p in params):
                params = ParamSchema(list(params))
            else:
                raise InvalidParameterError(f"ModelSignature params must be a ParamSchema, got {params!r}")
        self.params = params
        if self.inputs is None and self.outputs is None:
            raise InvalidParameterError("A ModelSignature needs inputs or outputs (or both)")

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature`` block of ``MLmodel``: each part is a JSON string, as MLflow writes it."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: Mapping[str, Any]) -> ModelSignature:
        if not isinstance(signature_dict, Mapping):
            raise InvalidParameterError(f"A signature is a mapping, got {type(signature_dict).__name__}")
        inputs = signature_dict.get("inputs")
        outputs = signature_dict.get("outputs")
        params = signature_dict.get("params")
        return cls(
            Schema.from_json(inputs) if inputs else None,
            Schema.from_json(outputs) if outputs else None,
            ParamSchema.from_json(params) if params else None,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and (self.inputs, self.outputs, self.params) == (
            other.inputs,
            other.outputs,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.inputs, self.outputs, self.params))

    def __repr__(self) -> str:
        return (
            "inputs: \n  "
            + repr(self.inputs)
            + "\noutputs: \n  "
            + repr(self.outputs)
            + "\nparams: \n  "
            + repr(self.params)
            + "\n"
        )


def infer_signature(
    model_input: Any = None,
    model_output: Any = None,
    params: Mapping[str, Any] | None = None,
    *,
    output_example: Any = _MISSING,
) -> ModelSignature:
    """Infer a `ModelSignature` from example inputs, outputs and parameters.

    Args:
        model_input (`Any`, *optional*): an example input: a pandas DataFrame or Series, a numpy array, a
            torch tensor, a dict, a list of dicts or of scalars, or a str.
        model_output (`Any`, *optional*): an example output, in the same forms.
        params (`dict`, *optional*): example inference parameters; their values become the defaults.
        output_example (`Any`, *optional*): the seed's name for ``model_output``; pass one of the two.

    Returns:
        `ModelSignature`

    Example:

    ```python
    signature = infer_signature(
        pd.DataFrame({"prompt": ["What is ML?"], "max_tokens": [100]}),
        output_example=pd.DataFrame({"generated_text": ["ML is ..."]}),
    )
    ```
    """
    from hf_mltrack.types.utils import _infer_param_schema, _infer_schema

    if output_example is not _MISSING:
        if model_output is not None:
            raise InvalidParameterError("Pass the example output once: model_output= or output_example=, not both")
        model_output = output_example
    inputs = _infer_schema(model_input) if model_input is not None else None
    outputs = _infer_schema(model_output) if model_output is not None else None
    param_schema = _infer_param_schema(params) if params else None
    if inputs is None and outputs is None:
        raise InvalidParameterError("infer_signature needs model_input, model_output (output_example) or both")
    return ModelSignature(inputs, outputs, param_schema)
