"""Entities: plain data objects returned by the client and stores."""

from __future__ import annotations

from .dataset import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    RunInputs,
    RunOutputs,
)
from .enums import LifecycleStage, RunStatus, ViewType
from .experiment import Experiment
from .logged_model import LoggedModel, LoggedModelStatus
from .metric import ExperimentTag, Metric, Param, RunTag
from .paged_list import PagedList
from .registry import (
    ModelVersion,
    ModelVersionStage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventType,
)
from .run import Run, RunData, RunInfo
from .trace import Span, SpanEvent, SpanStatusCode, SpanType, Trace, TraceData, TraceInfo, TraceStatus

__all__ = [
    "Dataset",
    "DatasetInput",
    "DatasetSummary",
    "Experiment",
    "ExperimentTag",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelStatus",
    "Metric",
    "ModelVersion",
    "ModelVersionStage",
    "ModelVersionStatus",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegistryEvent",
    "RegistryEventType",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "Span",
    "SpanEvent",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceStatus",
    "ViewType",
]
