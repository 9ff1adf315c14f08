"""What runs read and produce (MLflow 3): ``runs/log-inputs``, ``runs/outputs`` and
``experiments/search-datasets``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ...entities import Dataset, DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput
from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import State
from ._common import OkResponse, ok

router = APIRouter(tags=["datasets"])

MAX_INPUTS = 1000
MAX_SEARCH_EXPERIMENTS = 20  # as MLflow's server


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InputTagModel(_Body):
    key: str = Field(min_length=1, max_length=255)
    value: str = Field(max_length=500)


class DatasetModel(_Body):
    name: str = Field(min_length=1, max_length=500)
    digest: str = Field(min_length=1, max_length=36)
    source_type: str = Field(min_length=1, max_length=36)
    source: str = Field(min_length=1, max_length=65535)
    schema_: str | None = Field(default=None, alias="schema", max_length=1_048_576)
    profile: str | None = Field(default=None, max_length=16384)


class DatasetInputModel(_Body):
    tags: list[InputTagModel] = Field(default_factory=list, max_length=100)
    dataset: DatasetModel


class ModelInputModel(_Body):
    model_id: str = Field(min_length=1, max_length=36)


class LogInputs(_Body):
    run_id: str | None = None  # required; checked in the handler for MLflow's message
    datasets: list[DatasetInputModel] = Field(default_factory=list, max_length=MAX_INPUTS)
    models: list[ModelInputModel] = Field(default_factory=list, max_length=MAX_INPUTS)


class ModelOutputModel(_Body):
    model_id: str = Field(min_length=1, max_length=36)
    step: int = Field(default=0, ge=-(2**63), le=2**63 - 1)


class LogOutputs(_Body):
    run_id: str = Field(min_length=1)
    models: list[ModelOutputModel] = Field(min_length=1, max_length=MAX_INPUTS)


class SearchDatasets(_Body):
    experiment_ids: list[str] = Field(default_factory=list)  # 1 to 20; checked for MLflow's messages


class DatasetSummaryModel(BaseModel):
    experiment_id: str
    name: str
    digest: str
    context: str | None = None


class SearchDatasetsResponse(BaseModel):
    dataset_summaries: list[DatasetSummaryModel] = Field(default_factory=list)


@router.post("/runs/log-inputs", response_model=OkResponse)
def log_inputs(body: LogInputs, state: State) -> JSONResponse:
    if not body.run_id:
        raise InvalidParameterError("Missing value for required parameter 'run_id': give the run's id")
    datasets = [
        DatasetInput(
            Dataset(
                d.dataset.name,
                d.dataset.digest,
                d.dataset.source_type,
                d.dataset.source,
                d.dataset.schema_,
                d.dataset.profile,
            ),
            [InputTag(t.key, t.value) for t in d.tags],
        )
        for d in body.datasets
    ]
    state.store.log_inputs(body.run_id, datasets, [LoggedModelInput(m.model_id) for m in body.models])
    return ok()


@router.post("/runs/outputs", response_model=OkResponse)
def log_outputs(body: LogOutputs, state: State) -> JSONResponse:
    state.store.log_outputs(body.run_id, [LoggedModelOutput(m.model_id, m.step) for m in body.models])
    return ok()


@router.post("/experiments/search-datasets", response_model=SearchDatasetsResponse)
def search_datasets(body: SearchDatasets, request: Request, state: State) -> JSONResponse:
    ids = body.experiment_ids
    if not ids:
        raise InvalidParameterError("SearchDatasets request must specify at least one experiment_id.")
    if len(ids) > MAX_SEARCH_EXPERIMENTS:
        raise InvalidParameterError(
            f"SearchDatasets request cannot specify more than {MAX_SEARCH_EXPERIMENTS} experiment_ids. "
            f"Received {len(ids)} experiment_ids."
        )
    if state.auth is not None:
        ids = state.auth.readable_experiment_ids(request, ids)
    summaries = state.store.search_datasets(ids) if ids else []
    return JSONResponse({"dataset_summaries": [s.to_dict() for s in summaries]})
