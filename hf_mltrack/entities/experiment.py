"""The Experiment entity."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The id a job holds for an experiment set by name while its tracking server was unreachable: the
#: experiment is found (or created) by that name once the server answers (`hf_mltrack.store.rest`).
OFFLINE_EXPERIMENT_PREFIX = "offline:"


@dataclass
class Experiment:
    """A named group of runs.

    Args:
        experiment_id (`str`): the id (a string, as in MLflow; the default experiment is `"0"`).
        name (`str`): unique name.
        artifact_location (`str`): root URI under which each run gets its artifact folder.
        lifecycle_stage (`str`): `"active"` or `"deleted"`.
        tags (`dict[str, str]`): experiment tags.
        creation_time, last_update_time (`int`): milliseconds since the epoch.
    """

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }
