"""Webhook tables (revision 0004), on the tracking schema's ``metadata``.

- ``webhooks``: one row per webhook: its URL, the events it listens to (JSON list of
  ``{"entity", "action"}``), its HMAC secret (never returned by the API), status and timestamps.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from .schema import metadata

WEBHOOK_TABLES = ("webhooks",)

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(50), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("description", Text),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of {"entity", "action"}
    Column("secret", Text),
    Column("status", String(20), nullable=False),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
)
