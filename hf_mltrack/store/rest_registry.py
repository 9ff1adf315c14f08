"""`RestRegistryStore`: the model registry of an ``hf-mltrack server`` (MLflow's registry REST paths).

With an ``http(s)://`` registry (or tracking) URI, `MlTrackClient`'s registry methods and
``hf_mltrack.register_model`` go through this store; the server checks sources and permissions again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..entities.paged_list import PagedList
from ..entities.registry import ModelVersion, RegisteredModel, RegistryEvent
from ..registry.base import AbstractRegistryStore
from .rest import http_client

R = "/registered-models"
V = "/model-versions"


def model_version_from_json(d: dict) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=str(d["version"]),
        creation_timestamp=int(d.get("creation_timestamp") or 0),
        last_updated_timestamp=_int(d.get("last_updated_timestamp")),
        description=d.get("description") or None,
        user_id=d.get("user_id") or None,
        current_stage=d.get("current_stage") or "None",
        source=d.get("source"),
        run_id=d.get("run_id") or None,
        status=d.get("status") or "READY",
        status_message=d.get("status_message") or None,
        run_link=d.get("run_link") or None,
        tags={t["key"]: t.get("value", "") for t in d.get("tags") or ()},
        aliases=list(d.get("aliases") or ()),
        model_id=d.get("model_id") or None,
    )


def registered_model_from_json(d: dict) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=int(d.get("creation_timestamp") or 0),
        last_updated_timestamp=_int(d.get("last_updated_timestamp")),
        description=d.get("description") or None,
        latest_versions=[model_version_from_json(v) for v in d.get("latest_versions") or ()],
        tags={t["key"]: t.get("value", "") for t in d.get("tags") or ()},
        aliases={a["alias"]: str(a["version"]) for a in d.get("aliases") or ()},
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class RestRegistryStore(AbstractRegistryStore):
    """Registry store talking to a tracking server.

    Args:
        store_uri (`str`): ``http(s)://host:port`` of the server (credentials as for `RestStore`).
    """

    served = True

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri.rstrip("/")
        self.http = http_client(self.store_uri)

    def __repr__(self) -> str:
        return f"RestRegistryStore({self.store_uri!r})"

    def _call(self, method: str, endpoint: str, body: Any = None, params: Any = None) -> dict:
        return self.http.call(method, endpoint, body, params)

    # ---- registered models -----------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        body: dict[str, Any] = {
            "name": name,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        if description is not None:
            body["description"] = description
        return registered_model_from_json(self._call("POST", f"{R}/create", body)["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        out = self._call("POST", f"{R}/rename", {"name": name, "new_name": new_name})
        return registered_model_from_json(out["registered_model"])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        out = self._call("PATCH", f"{R}/update", {"name": name, "description": description})
        return registered_model_from_json(out["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", f"{R}/delete", {"name": name})

    def get_registered_model(self, name: str) -> RegisteredModel:
        return registered_model_from_json(self._call("GET", f"{R}/get", params={"name": name})["registered_model"])

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        params: list[tuple[str, Any]] = [("max_results", max_results)]
        if filter_string:
            params.append(("filter", filter_string))
        params += [("order_by", o) for o in order_by or ()]
        if page_token:
            params.append(("page_token", page_token))
        out = self._call("GET", f"{R}/search", params=params)
        models = [registered_model_from_json(m) for m in out.get("registered_models", [])]
        return PagedList(models, out.get("next_page_token") or None)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self._call("POST", f"{R}/set-tag", {"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", f"{R}/delete-tag", {"name": name, "key": key})

    # ---- versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        body: dict[str, Any] = {
            "name": name,
            "source": source,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        for key, value in (
            ("run_id", run_id),
            ("run_link", run_link),
            ("description", description),
            ("model_id", model_id),
        ):
            if value is not None:
                body[key] = value
        return model_version_from_json(self._call("POST", f"{V}/create", body)["model_version"])

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        out = self._call("GET", f"{V}/get", params={"name": name, "version": str(version)})
        return model_version_from_json(out["model_version"])

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        out = self._call("PATCH", f"{V}/update", {"name": name, "version": str(version), "description": description})
        return model_version_from_json(out["model_version"])

    def delete_model_version(self, name: str, version: int, user_id: str | None = None) -> None:
        self._call("DELETE", f"{V}/delete", {"name": name, "version": str(version)})

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        params: list[tuple[str, Any]] = [("max_results", max_results)]
        if filter_string:
            params.append(("filter", filter_string))
        params += [("order_by", o) for o in order_by or ()]
        if page_token:
            params.append(("page_token", page_token))
        out = self._call("GET", f"{V}/search", params=params)
        versions = [model_version_from_json(v) for v in out.get("model_versions", [])]
        return PagedList(versions, out.get("next_page_token") or None)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        out = self._call("POST", f"{R}/get-latest-versions", {"name": name, "stages": list(stages or [])})
        return [model_version_from_json(v) for v in out.get("model_versions", [])]

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        body = {
            "name": name,
            "version": str(version),
            "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions),
        }
        return model_version_from_json(self._call("POST", f"{V}/transition-stage", body)["model_version"])

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._call("POST", f"{V}/set-tag", {"name": name, "version": str(version), "key": key, "value": value})

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        self._call("DELETE", f"{V}/delete-tag", {"name": name, "version": str(version), "key": key})

    # ---- aliases -------------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None = None) -> None:
        self._call("POST", f"{R}/alias", {"name": name, "alias": alias, "version": str(version)})

    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None = None) -> None:
        self._call("DELETE", f"{R}/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        out = self._call("GET", f"{R}/alias", params={"name": name, "alias": alias})
        return model_version_from_json(out["model_version"])

    # ---- history -------------------------------------------------------------------------------
    def get_registry_events(
        self, name: str, version: int | None = None, event: str | None = None, alias: str | None = None
    ) -> list[RegistryEvent]:
        params: dict[str, Any] = {"name": name}
        for key, value in (("version", version), ("event", event), ("alias", alias)):
            if value is not None:
                params[key] = str(value)
        out = self._call("GET", f"{V}/history", params=params)
        return [
            RegistryEvent(
                id=int(e["id"]),
                name=e["name"],
                version=e.get("version"),
                event=e["event"],
                from_value=e.get("from"),
                to_value=e.get("to"),
                user_id=e.get("user_id"),
                timestamp=int(e.get("timestamp") or 0),
                alias=e.get("alias"),
            )
            for e in out.get("events", [])
        ]


__all__ = ["RestRegistryStore", "model_version_from_json", "registered_model_from_json"]
