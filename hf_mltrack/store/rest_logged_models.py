"""Logged models, datasets and run inputs/outputs over MLflow 3.17's REST API (a mixin of `RestStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..entities import (
    DatasetInput,
    DatasetSummary,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    PagedList,
)
from ..entities.registry import MODEL_VERSIONS_TAG, with_version_listed

_M = "/logged-models"


def _kv_list(items: Any) -> list[dict[str, str]]:
    if not items:
        return []
    if isinstance(items, dict):
        return [{"key": str(k), "value": str(v)} for k, v in items.items()]
    return [{"key": str(i.key), "value": str(i.value)} for i in items]


class RestLoggedModelMixin:
    """Methods for `RestStore`; it provides ``_call(method, endpoint, body, params)``."""

    _call: Any

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Any = None,
        params: Any = None,
        model_type: str | None = None,
        artifact_location: str | None = None,
        output_step: int | None = None,
    ) -> LoggedModel:
        body: dict[str, Any] = {"experiment_id": str(experiment_id)}
        for key, value in (
            ("name", name),
            ("source_run_id", source_run_id),
            ("model_type", model_type),
            ("artifact_location", artifact_location),
            ("output_step", output_step),
        ):
            if value is not None:
                body[key] = value
        if params:
            body["params"] = _kv_list(params)
        if tags:
            body["tags"] = _kv_list(tags)
        return LoggedModel.from_dict(self._call("POST", _M, body)["model"])

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        params = {"allow_deleted": "true"} if allow_deleted else None
        return LoggedModel.from_dict(self._call("GET", f"{_M}/{model_id}", params=params)["model"])

    def finalize_logged_model(
        self, model_id: str, status: Any, status_message: str | None = None, read_back: bool = True
    ) -> LoggedModel | None:
        wire = LoggedModelStatus.to_wire(LoggedModelStatus.parse(status))
        out = self._call("PATCH", f"{_M}/{model_id}", {"model_id": model_id, "status": wire})
        return LoggedModel.from_dict(out["model"]) if read_back else None

    def delete_logged_model(self, model_id: str) -> None:
        self._call("DELETE", f"{_M}/{model_id}")

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        self._call("PATCH", f"{_M}/{model_id}/tags", {"tags": _kv_list(tags)})

    def list_model_version(self, model_id: str, name: str, version: int) -> None:
        """Add a registered version to the model's ``mlflow.modelVersions`` tag (a registry outside this
        server; a registry on the server lists its versions itself). A read then a write: two clients
        registering from one model at the same instant through different registries can lose one entry."""
        value = with_version_listed(self.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG), name, version)
        if value is not None:
            self.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: value})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        from urllib.parse import quote

        self._call("DELETE", f"{_M}/{model_id}/tags/{quote(key, safe='')}")

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        self._call("POST", f"{_M}/{model_id}/params", {"model_id": model_id, "params": _kv_list(params)})

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        from ..tracking.logged_model_order import parse_model_order_by

        body: dict[str, Any] = {"experiment_ids": [str(e) for e in experiment_ids]}
        if filter_string:
            body["filter"] = filter_string
        if datasets:
            body["datasets"] = [dict(d) for d in datasets]
        if max_results is not None:
            body["max_results"] = max_results
        if order_by:
            # text clauses become MLflow's structured form; parsing here reports a bad clause early
            body["order_by"] = [
                {
                    "field_name": f"{'attributes' if o.entity_type == 'attribute' else o.entity_type + 's'}.{o.key}",
                    "ascending": o.ascending,
                    **({"dataset_name": o.dataset_name} if o.dataset_name else {}),
                    **({"dataset_digest": o.dataset_digest} if o.dataset_digest else {}),
                }
                for o in parse_model_order_by(order_by)
            ]
        if page_token:
            body["page_token"] = page_token
        out = self._call("POST", f"{_M}/search", body)
        return PagedList(
            [LoggedModel.from_dict(m) for m in out.get("models") or ()], out.get("next_page_token") or None
        )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        body: dict[str, Any] = {"run_id": run_id}
        if datasets:
            body["datasets"] = [d.to_dict() for d in datasets]
        if models:
            body["models"] = [m.to_dict() for m in models]
        self._call("POST", "/runs/log-inputs", body)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        self._call("POST", "/runs/outputs", {"run_id": run_id, "models": [m.to_dict() for m in models]})

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        out = self._call("POST", "/experiments/search-datasets", {"experiment_ids": [str(e) for e in experiment_ids]})
        return [
            DatasetSummary(str(s.get("experiment_id", "")), s.get("name", ""), s.get("digest", ""), s.get("context"))
            for s in out.get("dataset_summaries") or ()
        ]
