"""Artifacts: files logged with runs, in a local folder, S3-compatible or fsspec-backed object storage.

```python
import hf_mltrack.artifacts as artifacts

repo = artifacts.get_artifact_repository(run.info.artifact_uri)
repo.log_artifacts("./model_output", artifact_path="model")
[f.path for f in repo.list_artifacts("model")]
local = artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model", dst_path="/tmp/x")
artifacts.load_dict(f"runs:/{run.info.run_id}/results.json")
```

Everything here is imported on first use (PEP 562), so `import hf_mltrack.artifacts` costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ArtifactRepository": "base",
    "FileInfo": "base",
    "download_artifacts": "access",
    "get_artifact_repository": "registry",
    "list_artifacts": "access",
    "load_dict": "content",
    "load_image": "media",
    "load_images": "media",
    "load_table": "content",
    "load_text": "content",
    "register_artifact_repository": "registry",
    "register_artifact_uri_resolver": "registry",
    "validate_artifact_path": "paths",
}

__all__ = [
    "ArtifactRepository",
    "FileInfo",
    "download_artifacts",
    "get_artifact_repository",
    "list_artifacts",
    "load_dict",
    "load_image",
    "load_images",
    "load_table",
    "load_text",
    "register_artifact_repository",
    "register_artifact_uri_resolver",
    "validate_artifact_path",
]

if TYPE_CHECKING:  # pragma: no cover
    from .access import download_artifacts, list_artifacts
    from .base import ArtifactRepository, FileInfo
    from .content import load_dict, load_table, load_text
    from .media import load_image, load_images
    from .paths import validate_artifact_path
    from .registry import (
        get_artifact_repository,
        register_artifact_repository,
        register_artifact_uri_resolver,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_mltrack.artifacts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
