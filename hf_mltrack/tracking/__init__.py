"""Tracking: `MlTrackClient` and the fluent run API."""

from __future__ import annotations

from .client import MlTrackClient
from .fluent import get_tracking_uri, is_tracking_uri_set, set_tracking_uri

__all__ = ["MlTrackClient", "get_tracking_uri", "is_tracking_uri_set", "set_tracking_uri"]
