"""Model registry entities: RegisteredModel, ModelVersion, stages and the registry's history.

Shapes follow MLflow's (``mlflow.entities.model_registry``): versions are strings (``"1"``),
timestamps are milliseconds since the epoch, tags are plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..exceptions import InvalidParameterError

#: The logged-model tag listing the versions registered from it (MLflow's name): a JSON list of
#: ``{"name", "version"}``, oldest first.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def with_version_listed(tag_value: str | None, name: str, version: int) -> str | None:
    """``tag_value`` (a :data:`MODEL_VERSIONS_TAG` value) with ``{name, version}`` added, or None when it is
    already listed. Each registered model's versions stay in ascending order where they sit (a version
    appended after a later one of the same model, by a concurrent registration, takes its place); a value
    that is not a JSON list (set by hand) is replaced by the registry's list."""
    import json

    try:
        listed = json.loads(tag_value) if tag_value else []
    except ValueError:
        listed = []
    if not isinstance(listed, list):
        listed = []
    entry = {"name": name, "version": version}
    if entry in listed:
        return None
    listed.append(entry)
    slots = [i for i, e in enumerate(listed) if isinstance(e, dict) and e.get("name") == name]
    ordered = sorted((listed[i] for i in slots), key=lambda e: e["version"] if isinstance(e.get("version"), int) else 0)
    for i, e in zip(slots, ordered, strict=True):
        listed[i] = e
    return json.dumps(listed)


class ModelVersionStage:
    """The four stages of a model version: None -> Staging -> Production -> Archived (and back).

    Stage names are case-insensitive on input and canonicalised (``"production"`` -> ``"Production"``).
    """

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    ALL = (NONE, STAGING, PRODUCTION, ARCHIVED)
    # Versions in these stages are in use: they cannot be deleted and are archived by
    # ``archive_existing_versions``.
    ACTIVE = (STAGING, PRODUCTION)

    _CANONICAL = {s.lower(): s for s in ALL}

    @classmethod
    def canonical(cls, stage: str | None) -> str:
        """The canonical name of a stage given in any case.

        Raises:
            `InvalidParameterError`: naming the bad stage and the valid ones.
        """
        if not isinstance(stage, str) or stage.strip().lower() not in cls._CANONICAL:
            raise InvalidParameterError(f"Invalid model version stage {stage!r}: use one of {', '.join(cls.ALL)}")
        return cls._CANONICAL[stage.strip().lower()]


class ModelVersionStatus:
    """Registration status; versions are READY as soon as they are created (no async copy)."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


@dataclass
class ModelVersion:
    """One version of a registered model.

    Args:
        name (`str`): the registered model's name.
        version (`str`): the version number as a string, counting from ``"1"``.
        creation_timestamp, last_updated_timestamp (`int`): milliseconds since the epoch.
        current_stage (`str`): one of `ModelVersionStage.ALL`.
        source (`str`): where the model files are (an artifact URI inside the tracking store).
        run_id (`str`, *optional*): the run that produced the model.
        aliases (`list[str]`): the aliases pointing at this version.
    """

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = ModelVersionStage.NONE
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    run_link: str | None = None
    model_id: str | None = None  # the logged model (m-...) it was registered from
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The MLflow REST shape (``model_version`` of ``/api/2.0/mlflow/model-versions/get``)."""
        out = {
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description or "",
            "user_id": self.user_id or "",
            "current_stage": self.current_stage,
            "source": self.source,
            "run_id": self.run_id or "",
            "status": self.status,
            "status_message": self.status_message or "",
            "run_link": self.run_link or "",
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
            "aliases": list(self.aliases),
        }
        if self.model_id:
            out["model_id"] = self.model_id
        return out


@dataclass
class RegisteredModel:
    """A named model with numbered versions.

    Args:
        name (`str`): unique name.
        creation_timestamp, last_updated_timestamp (`int`): milliseconds since the epoch.
        description (`str`, *optional*): free text.
        latest_versions (`list[ModelVersion]`): the newest version in each stage that has one.
        tags (`dict[str, str]`): model tags.
        aliases (`dict[str, str]`): alias -> version.
    """

    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The MLflow REST shape (``registered_model`` of ``/api/2.0/mlflow/registered-models/get``)."""
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description or "",
            "latest_versions": [v.to_dict() for v in self.latest_versions],
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
            "aliases": [{"alias": a, "version": v} for a, v in self.aliases.items()],
        }


class RegistryEventType:
    """What a `RegistryEvent` records."""

    STAGE_TRANSITION = "stage_transition"
    ALIAS_SET = "alias_set"
    ALIAS_DELETED = "alias_deleted"

    ALL = (STAGE_TRANSITION, ALIAS_SET, ALIAS_DELETED)


@dataclass
class RegistryEvent:
    """One entry of the registry's audit trail: a stage transition or an alias move.

    Args:
        name (`str`): the registered model.
        version (`str`): for a stage transition, the version that moved; for an alias set, the
            version the alias points to now; for an alias deletion, the version it pointed to.
        event (`str`): one of `RegistryEventType.ALL`.
        from_value, to_value (`str`, *optional*): the stage before and after (``"None"`` is the
            stage None), or the version the alias pointed to before and after (None: no version).
        alias (`str`, *optional*): the alias, for alias events.
        user_id (`str`, *optional*): who made the change.
        timestamp (`int`): milliseconds since the epoch.
        id (`int`): increasing with time; the order of events.
    """

    id: int
    name: str
    version: str | None
    event: str
    from_value: str | None
    to_value: str | None
    user_id: str | None
    timestamp: int
    alias: str | None = None

    @property
    def from_stage(self) -> str | None:
        return self.from_value if self.event == RegistryEventType.STAGE_TRANSITION else None

    @property
    def to_stage(self) -> str | None:
        return self.to_value if self.event == RegistryEventType.STAGE_TRANSITION else None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "event": self.event,
            "alias": self.alias,
            "from": self.from_value,
            "to": self.to_value,
            "user_id": self.user_id,
            "timestamp": self.timestamp,
        }


__all__ = [
    "ModelVersion",
    "ModelVersionStage",
    "ModelVersionStatus",
    "RegisteredModel",
    "RegistryEvent",
    "RegistryEventType",
]
