"""Artifact settings read from the environment at call time.

These variables belong in `hf_mltrack._env`; until they are there, they are defined here with the same
`EnvVar` type so that `_env.ALL` can adopt them unchanged (this module then re-exports `_env`'s).
"""

from __future__ import annotations

from hf_mltrack import _env
from hf_mltrack._env import EnvVar

ARTIFACT_LINK_MODE: EnvVar[str] = getattr(
    _env,
    "ARTIFACT_LINK_MODE",
    EnvVar[str](
        "HF_MLTRACK_ARTIFACT_LINK_MODE",
        str,
        "auto",
        "How the local artifact store materializes logged files: 'auto' (copy-on-write clone where the "
        "filesystem supports it, hardlink for read-only sources, else copy), 'copy' (never hardlink) or "
        "'hardlink' (hardlink whenever on the same filesystem: later in-place edits of the source change the "
        "artifact).",
    ),
)
ARTIFACT_PROGRESS_BAR: EnvVar[bool] = getattr(
    _env,
    "ARTIFACT_PROGRESS_BAR",
    EnvVar[bool](
        "HF_MLTRACK_ENABLE_ARTIFACTS_PROGRESS_BAR", bool, True, "Show tqdm bars for large artifact transfers."
    ),
)
ARTIFACT_PROGRESS_THRESHOLD_MB: EnvVar[float] = getattr(
    _env,
    "ARTIFACT_PROGRESS_THRESHOLD_MB",
    EnvVar[float](
        "HF_MLTRACK_ARTIFACTS_PROGRESS_THRESHOLD_MB",
        float,
        100.0,
        "Transfers smaller than this many MiB never show a progress bar.",
    ),
)
ARTIFACT_MAX_WORKERS: EnvVar[int] = getattr(
    _env,
    "ARTIFACT_MAX_WORKERS",
    EnvVar[int](
        "HF_MLTRACK_ARTIFACTS_MAX_WORKERS",
        int,
        10,
        "Threads used to upload or download a folder of artifacts.",
    ),
)
S3_MULTIPART_THRESHOLD_MB: EnvVar[int] = getattr(
    _env,
    "S3_MULTIPART_THRESHOLD_MB",
    EnvVar[int](
        "HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB",
        int,
        64,
        "Files at least this large go up as S3 multipart uploads.",
    ),
)
S3_MULTIPART_CHUNKSIZE_MB: EnvVar[int] = getattr(
    _env,
    "S3_MULTIPART_CHUNKSIZE_MB",
    EnvVar[int]("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", int, 8, "Part size of S3 multipart uploads."),
)
S3_IGNORE_TLS: EnvVar[bool] = getattr(
    _env,
    "S3_IGNORE_TLS",
    EnvVar[bool]("HF_MLTRACK_S3_IGNORE_TLS", bool, False, "Skip TLS verification of the S3 endpoint."),
)

ALL: tuple[EnvVar, ...] = (
    ARTIFACT_LINK_MODE,
    ARTIFACT_PROGRESS_BAR,
    ARTIFACT_PROGRESS_THRESHOLD_MB,
    ARTIFACT_MAX_WORKERS,
    S3_MULTIPART_THRESHOLD_MB,
    S3_MULTIPART_CHUNKSIZE_MB,
    S3_IGNORE_TLS,
)
