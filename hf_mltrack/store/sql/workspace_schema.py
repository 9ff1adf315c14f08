"""Saved chart workspaces of the web UI, on the tracking schema's ``metadata`` (revision 0005).

``workspaces``: per experiment, named layouts of panels (line, scatter, parallel coordinates, bar of
the latest value, Markdown note) with their settings, as a JSON document the server validates
(`hf_mltrack.server.routers.workspaces`). Deleting the experiment deletes its workspaces.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from .schema import metadata

workspaces = Table(
    "workspaces",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("spec", Text, nullable=False),
    Column("user_id", String(255), nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    UniqueConstraint("experiment_id", "name", name="uq_workspaces_experiment_name"),
)
