"""The artifact settings of `hf_mltrack._env`, under short names for this package."""

from __future__ import annotations

from hf_mltrack._env import (
    ARTIFACT_LINK_MODE,
    ARTIFACT_MAX_WORKERS,
    ARTIFACT_PROGRESS_BAR,
    ARTIFACT_PROGRESS_THRESHOLD_MB,
    S3_IGNORE_TLS,
    S3_MULTIPART_CHUNKSIZE_MB,
    S3_MULTIPART_THRESHOLD_MB,
)

__all__ = [
    "ARTIFACT_LINK_MODE",
    "ARTIFACT_MAX_WORKERS",
    "ARTIFACT_PROGRESS_BAR",
    "ARTIFACT_PROGRESS_THRESHOLD_MB",
    "S3_IGNORE_TLS",
    "S3_MULTIPART_CHUNKSIZE_MB",
    "S3_MULTIPART_THRESHOLD_MB",
]
