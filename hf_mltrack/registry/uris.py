"""``models:/`` URIs: ``models:/<name>/<version>``, ``/<stage>``, ``/latest``, ``models:/<name>@<alias>``."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from ..entities.registry import ModelVersionStage
from ..exceptions import InvalidParameterError

_USAGE = "use models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>"


@dataclass(frozen=True)
class ModelsUri:
    """The parts of a ``models:/`` URI: at most one of version, stage, alias (none: the latest version)."""

    name: str
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    sub_path: str = ""


def parse_models_uri(uri: str) -> ModelsUri:
    """Split a ``models:/`` URI into the model name and its version selector.

    Raises:
        `InvalidParameterError`: naming the URI and the accepted forms.
    """
    if not isinstance(uri, str) or not uri.startswith("models:"):
        raise InvalidParameterError(f"Not a models:/ URI: {uri!r}; {_USAGE}")
    body = uri[len("models:") :]
    if body.startswith("//"):
        raise InvalidParameterError(f"Invalid models URI {uri!r}: one slash after 'models:'; {_USAGE}")
    body = urllib.parse.unquote(body.lstrip("/"))
    first, _, rest = body.partition("/")
    if "@" in first:
        name, _, alias = first.partition("@")
        if not name or not alias:
            raise InvalidParameterError(f"Invalid models URI {uri!r}: {_USAGE}")
        return ModelsUri(name=name, alias=alias, sub_path=_clean(rest))
    selector, _, sub = rest.partition("/")
    sub_path = _clean(sub)
    if not first or not selector:
        raise InvalidParameterError(f"Invalid models URI {uri!r}: {_USAGE}")
    if re.fullmatch(r"[0-9]+", selector):
        return ModelsUri(name=first, version=selector, sub_path=sub_path)
    if selector.lower() == "latest":
        return ModelsUri(name=first, sub_path=sub_path)
    try:
        return ModelsUri(name=first, stage=ModelVersionStage.canonical(selector), sub_path=sub_path)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"Invalid models URI {uri!r}: {selector!r} is not a version number, 'latest' or a stage "
            f"({', '.join(ModelVersionStage.ALL)})"
        ) from None


def _clean(path: str) -> str:
    return "/".join(p for p in path.split("/") if p)
