"""The model registry's tables, on the tracking schema's ``metadata`` (one database, one migration chain).

- ``registered_models.last_version`` is the model's version counter: versions are numbered from it
  under a row lock, so numbers are distinct and contiguous across processes and never reused, even
  after the newest version is deleted.
- Children reference models by name with ``ON UPDATE CASCADE``: renaming a model is one UPDATE.
- ``registry_events`` is the audit trail (stage transitions, alias moves). It has no foreign key so
  that the history of a deleted version survives; deleting the whole model removes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from .schema import metadata

REGISTRY_TABLES = (
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "registry_events",
)

_NAME_FK: dict[str, Any] = {"onupdate": "CASCADE", "ondelete": "CASCADE"}

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger),
    Column("description", Text),
    Column("last_version", Integer, nullable=False, default=0),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name", **_NAME_FK), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("name", "key"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name", **_NAME_FK), nullable=False),
    Column("version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger),
    Column("description", Text),
    Column("user_id", String(256)),
    Column("current_stage", String(20), nullable=False, default="None"),
    Column("source", Text, nullable=False),
    Column("run_id", String(32)),
    Column("run_link", Text),
    Column("status", String(32), nullable=False, default="READY"),
    Column("status_message", Text),
    Column("model_id", String(36)),  # the logged model (m-...) the version was registered from
    PrimaryKeyConstraint("name", "version"),
    Index("ix_model_versions_run_id", "run_id"),
    Index("ix_model_versions_stage", "name", "current_stage", "version"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("name", "version", "key"),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_NAME_FK),
    Index("ix_model_version_tags_key", "key", "value"),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", String(256), nullable=False),
    Column("alias", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("name", "alias"),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_NAME_FK),
)

registry_events = Table(
    "registry_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False),
    Column("version", Integer),
    Column("event", String(32), nullable=False),
    Column("alias", String(256)),
    Column("from_value", String(256)),
    Column("to_value", String(256)),
    Column("user_id", String(256)),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_registry_events_name_version", "name", "version", "id"),
)
