"""Saved UI workspaces in the tracking database (table ``workspaces``): list, get, save, delete."""

from __future__ import annotations

import json
import time
from typing import Any

from ...exceptions import ResourceNotFoundError


def _row(r: Any) -> dict[str, Any]:
    return {
        "experiment_id": str(r.experiment_id),
        "name": r.name,
        "spec": json.loads(r.spec),
        "user_id": r.user_id or None,
        "creation_time": r.creation_time,
        "last_update_time": r.last_update_time,
    }


def list_workspaces(store: Any, experiment_id: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from .workspace_schema import workspaces as t

    store.get_experiment(experiment_id)  # 404 for an unknown experiment
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.experiment_id == int(experiment_id)).order_by(t.c.name)).all()
    return [_row(r) for r in rows]


def get_workspace(store: Any, experiment_id: str, name: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from .workspace_schema import workspaces as t

    store.get_experiment(experiment_id)
    with store.engine.connect() as conn:
        r = conn.execute(sa.select(t).where(t.c.experiment_id == int(experiment_id), t.c.name == name)).first()
    if r is None:
        raise ResourceNotFoundError(f"No workspace {name!r} in experiment {experiment_id}: save one first")
    return _row(r)


def save_workspace(store: Any, experiment_id: str, name: str, spec: dict[str, Any], user_id: str | None) -> dict:
    """Create the workspace ``name`` of the experiment, or replace its spec."""
    import sqlalchemy as sa

    from .workspace_schema import workspaces as t

    store.get_experiment(experiment_id)
    now = int(time.time() * 1000)
    text = json.dumps(spec, separators=(",", ":"), sort_keys=True)
    where = (t.c.experiment_id == int(experiment_id), t.c.name == name)
    with store.engine.begin() as conn:
        updated = conn.execute(sa.update(t).where(*where).values(spec=text, last_update_time=now)).rowcount
        if not updated:
            conn.execute(
                sa.insert(t).values(
                    experiment_id=int(experiment_id),
                    name=name,
                    spec=text,
                    user_id=user_id,
                    creation_time=now,
                    last_update_time=now,
                )
            )
    return get_workspace(store, experiment_id, name)


def delete_workspace(store: Any, experiment_id: str, name: str) -> None:
    import sqlalchemy as sa

    from .workspace_schema import workspaces as t

    get_workspace(store, experiment_id, name)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.experiment_id == int(experiment_id), t.c.name == name))
