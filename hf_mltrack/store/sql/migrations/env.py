"""Alembic environment: runs on the connection handed over by ``hf_mltrack.store.sql.engine.upgrade``."""

from __future__ import annotations

from alembic import context

import hf_mltrack.store.sql.logged_model_schema  # noqa: F401  (registers the logged model tables)
import hf_mltrack.store.sql.registry_schema  # noqa: F401  (registers the registry tables)
import hf_mltrack.store.sql.tracing_schema  # noqa: F401  (registers the trace tables)
import hf_mltrack.store.sql.webhook_schema  # noqa: F401  (registers the webhook tables)
from hf_mltrack.store.sql.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    from sqlalchemy import create_engine

    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no connection and no sqlalchemy.url option")
    engine = create_engine(url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
