"""Types of model signatures: `Schema` of `ColSpec`/`TensorSpec`, `ParamSchema` of `ParamSpec`, `DataType`."""

from __future__ import annotations

from hf_mltrack.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

__all__ = ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec"]
