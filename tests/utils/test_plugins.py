"""The scheme registry behind the tracking, registry and trace stores."""

from __future__ import annotations

import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.utils.plugins import SchemeRegistry, uri_scheme


class Dummy:
    def __init__(self, uri: str) -> None:
        self.uri = uri


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [("postgresql+psycopg://h/db", "postgresql"), ("sqlite:///x.db", "sqlite"), ("/a/b", ""), ("HTTP://h", "http")],
    ids=["driver", "sqlite", "path", "upper"],
)
def test_uri_scheme(uri: str, scheme: str) -> None:
    assert uri_scheme(uri) == scheme


def test_registry_builds_once_per_uri_and_plugs_in_schemes() -> None:
    reg: SchemeRegistry[Dummy] = SchemeRegistry("dummy store", {}, "register_dummy")
    with pytest.raises(InvalidParameterError, match=r"No dummy store for URI scheme 'mem'.*register_dummy"):
        reg.get("mem://a")
    reg.register("mem", f"{__name__}:Dummy")
    first = reg.get("mem://a")
    assert isinstance(first, Dummy) and first.uri == "mem://a"
    assert reg.get("mem://a") is first and reg.get("mem://b") is not first
    reg.register("mem", f"{__name__}:Dummy")  # re-registering drops cached instances of the scheme
    assert reg.get("mem://a") is not first


def test_tracking_store_plug_in(tmp_path) -> None:
    from hf_mltrack.store import _clear_cache, get_tracking_store, register_tracking_store

    register_tracking_store("dummy", f"{__name__}:Dummy")
    try:
        assert isinstance(get_tracking_store("dummy://x"), Dummy)
    finally:
        from hf_mltrack.store import _STORES

        _STORES.classes.pop("dummy")
        _clear_cache()
