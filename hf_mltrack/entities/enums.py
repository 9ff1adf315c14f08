"""Small enumerations shared by runs, experiments and searches."""

from __future__ import annotations

from ..exceptions import InvalidParameterError


class RunStatus:
    """Run statuses as MLflow names them (strings, so they serialize unchanged)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)

    @classmethod
    def validate(cls, status: str) -> str:
        if status not in cls.ALL:
            raise InvalidParameterError(f"Invalid run status {status!r}: use one of {', '.join(cls.ALL)}")
        return status

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in RunStatus.TERMINATED


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which runs or experiments a search sees."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _BY_NAME = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def parse(cls, value: int | str | None) -> int:
        if value is None:
            return cls.ACTIVE_ONLY
        if isinstance(value, str):
            key = value.strip().upper()
            if key in cls._BY_NAME:
                return cls._BY_NAME[key]
            raise InvalidParameterError(f"Invalid view type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
        if value in (1, 2, 3):
            return int(value)
        raise InvalidParameterError(
            f"Invalid view type {value!r}: use ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY or ViewType.ALL"
        )

    @classmethod
    def stages(cls, view_type: int) -> tuple[str, ...]:
        if view_type == cls.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE,)
        if view_type == cls.DELETED_ONLY:
            return (LifecycleStage.DELETED,)
        return (LifecycleStage.ACTIVE, LifecycleStage.DELETED)
