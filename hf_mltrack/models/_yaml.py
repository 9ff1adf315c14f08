"""Safe YAML for model files: no Python tags, no aliases (no "billion laughs"), a size cap."""

from __future__ import annotations

import os
from typing import Any

import yaml

from hf_mltrack.exceptions import MlTrackException

MAX_YAML_BYTES = 16 * 1024 * 1024


class _StrictSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that also refuses anchors/aliases: model files never need them."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in model files", event.start_mark
            )
        return super().compose_node(parent, index)


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def safe_load_file(path: str, what: str = "model file") -> Any:
    """Parse a YAML file with the safe loader; any unsafe or invalid content is an `MlTrackException`.

    A ``!!python/object`` (or any other non-standard) tag fails here, before anything is constructed.
    """
    size = os.path.getsize(path)
    if size > MAX_YAML_BYTES:
        raise MlTrackException(f"{what} {path!r} is {size} bytes; refusing to parse more than {MAX_YAML_BYTES}")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MlTrackException(
            f"Refusing to load {what} {path!r}: it is not plain YAML ({exc}). Model files hold only plain "
            "mappings, lists, strings and numbers; tags such as !!python/object are never executed"
        ) from None


def safe_dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_NoAliasDumper, default_flow_style=False, allow_unicode=True, sort_keys=True)
