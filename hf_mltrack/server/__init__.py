"""The hf_mltrack tracking server: MLflow's REST API 2.0 on FastAPI.

```python
from hf_mltrack.server import create_app

app = create_app("sqlite:///mltrack.db", allowed_hosts=["tracking.internal"])
# uvicorn.run(app, host="127.0.0.1", port=5000)
```

Importing this package is cheap; FastAPI loads when `create_app` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app, create_app_from_config
    from .config import ServerConfig

__all__ = ["ServerConfig", "create_app", "create_app_from_config"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "create_app_from_config"):
        from . import app

        return getattr(app, name)
    if name == "ServerConfig":
        from .config import ServerConfig

        return ServerConfig
    raise AttributeError(f"module 'hf_mltrack.server' has no attribute {name!r}")
