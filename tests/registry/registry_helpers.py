"""Helpers shared by the registry tests (imported by module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse


def client_class() -> type:
    """`MlTrackClient`, with the registry mixed in if the client does not yet do so itself."""
    from hf_mltrack.registry.client_mixin import RegistryClientMixin
    from hf_mltrack.registry.fluent import _with_registry
    from hf_mltrack.tracking import MlTrackClient

    return MlTrackClient if issubclass(MlTrackClient, RegistryClientMixin) else _with_registry(MlTrackClient)


def local_path(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(unquote(urlparse(uri).path))


def write_model(folder: Path, marker: str = "") -> Path:
    """A minimal model folder: an MLmodel file (and a marker file to tell versions apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text("artifact_path: model\nflavors:\n  python_function: {}\n")
    (folder / "marker.txt").write_text(marker)
    return folder
