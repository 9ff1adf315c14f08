"""Datasets and what a run read and produced (MLflow 3's run inputs and outputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONTEXT_TAG = "mlflow.data.context"  # the wire name MLflow clients and the UI read


@dataclass(frozen=True)
class Dataset:
    """A dataset as the store records it: (name, digest) plus where it came from and its shape.

    Attributes:
        name (`str`): e.g. ``"imdb"`` or ``"train"``.
        digest (`str`): a short fingerprint of the content (at most 36 characters).
        source_type (`str`): ``"hf"``, ``"local"``, ``"code"``, ...
        source (`str`): a JSON document naming where the data came from.
        schema (`str`, *optional*): a JSON document describing the columns.
        profile (`str`, *optional*): a JSON document with sizes (``{"num_rows": ...}``).
    """

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "digest": self.digest, "source_type": self.source_type, "source": self.source}
        if self.schema is not None:
            d["schema"] = self.schema
        if self.profile is not None:
            d["profile"] = self.profile
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Dataset:
        return cls(
            name=d.get("name", ""),
            digest=d.get("digest", ""),
            source_type=d.get("source_type", ""),
            source=d.get("source", ""),
            schema=d.get("schema") or None,
            profile=d.get("profile") or None,
        )


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value}


@dataclass
class DatasetInput:
    """A dataset a run read, with its input tags (``mlflow.data.context``: training, eval, ...)."""

    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    @property
    def context(self) -> str | None:
        return next((t.value for t in self.tags if t.key == CONTEXT_TAG), None)

    def to_dict(self) -> dict:
        return {"tags": [t.to_dict() for t in self.tags], "dataset": self.dataset.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> DatasetInput:
        return cls(
            Dataset.from_dict(d.get("dataset") or {}),
            [InputTag(t["key"], t.get("value", "")) for t in d.get("tags") or ()],
        )


@dataclass(frozen=True)
class LoggedModelInput:
    model_id: str

    def to_dict(self) -> dict:
        return {"model_id": self.model_id}


@dataclass(frozen=True)
class LoggedModelOutput:
    model_id: str
    step: int = 0

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "step": self.step}


@dataclass
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset_inputs": [d.to_dict() for d in self.dataset_inputs],
            "model_inputs": [m.to_dict() for m in self.model_inputs],
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> RunInputs:
        d = d or {}
        return cls(
            [DatasetInput.from_dict(x) for x in d.get("dataset_inputs") or ()],
            [LoggedModelInput(x["model_id"]) for x in d.get("model_inputs") or ()],
        )


@dataclass
class RunOutputs:
    model_outputs: list[LoggedModelOutput] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"model_outputs": [m.to_dict() for m in self.model_outputs]}

    @classmethod
    def from_dict(cls, d: dict | None) -> RunOutputs:
        return cls(
            [LoggedModelOutput(x["model_id"], int(x.get("step") or 0)) for x in (d or {}).get("model_outputs") or ()]
        )


@dataclass(frozen=True)
class DatasetSummary:
    """One row of ``search_datasets``: a dataset an experiment's runs read, in one context."""

    experiment_id: str
    name: str
    digest: str
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"experiment_id": self.experiment_id, "name": self.name, "digest": self.digest}
        if self.context:
            d["context"] = self.context
        return d
