"""Validation of registry names: models, versions, aliases, tags. Errors name the value and the fix."""

from __future__ import annotations

import re

from ..exceptions import InvalidParameterError
from ..utils import validation as v

MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 256
_ALIAS_RE = re.compile(r"[A-Za-z0-9_\-]+")
_RESERVED_ALIAS_RE = re.compile(r"(latest|v?[0-9]+)", re.IGNORECASE)


def validate_model_name(name: object, what: str = "registered model name") -> str:
    """A model name is used in ``models:/<name>/...`` URIs: no ``/``, no ``@``, no control characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"Invalid {what} {name!r}: give a non-empty string, e.g. 'llama2-lora-sft'")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterError(
            f"The {what} {name[:40]!r}... is {len(name)} characters long: use at most {MAX_NAME_LENGTH}"
        )
    shown = [repr(ch) for ch in ("/", "@") if ch in name]
    if any(ord(c) < 32 for c in name):
        shown.append("a control character")
    if shown:
        raise InvalidParameterError(
            f"Invalid {what} {name!r}: it contains {' and '.join(shown)}, which "
            "models:/<name>/<version> and models:/<name>@<alias> URIs cannot carry; "
            "use letters, digits, '-', '_', '.' or spaces"
        )
    return name


def parse_version(version: object, name: str | None = None) -> int:
    """A version given as ``1``, ``"1"`` or ``" 1 "`` as an int (not checked to exist)."""
    if isinstance(version, bool):
        version = None  # True is not version 1
    if isinstance(version, int):
        return version
    if isinstance(version, str) and re.fullmatch(r"\s*-?[0-9]+\s*", version):
        return int(version)
    of = f" of registered model {name!r}" if name else ""
    raise InvalidParameterError(
        f"Invalid model version {version!r}{of}: give a version number such as 1 or '1' (versions count from 1)"
    )


def validate_alias(alias: object) -> str:
    """Aliases are letters, digits, ``_`` and ``-``; ``latest``, ``3`` and ``v3`` are reserved."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameterError(f"Invalid alias {alias!r}: give a non-empty string such as 'champion'")
    if len(alias) > MAX_ALIAS_LENGTH or not _ALIAS_RE.fullmatch(alias):
        raise InvalidParameterError(
            f"Invalid alias {alias!r}: use at most {MAX_ALIAS_LENGTH} letters, digits, '_' or '-', e.g. 'champion'"
        )
    if _RESERVED_ALIAS_RE.fullmatch(alias):
        raise InvalidParameterError(
            f"Invalid alias {alias!r}: 'latest', version numbers and 'v<number>' are reserved, since "
            "models:/<name>/latest and models:/<name>/<version> already mean them; choose e.g. 'champion'"
        )
    return alias


def validate_tag(key: object, value: object) -> tuple[str, str]:
    key = v.validate_key("tag", key)
    return key, v.tag_value_to_str(key, value)


def validate_tags(tags: dict | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidParameterError(f"Invalid tags {tags!r}: give a dict of tag name -> value")
    return dict(validate_tag(k, val) for k, val in tags.items())


def validate_description(description: object) -> str | None:
    if description is None or isinstance(description, str):
        return description
    raise InvalidParameterError(f"Invalid description {description!r}: give a string or None")
