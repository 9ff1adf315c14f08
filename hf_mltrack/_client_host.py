"""What each client mixin (artifacts, registry, tracing) needs from the class that hosts it.

`MlTrackClient` hosts all three; the server's registry hosts `RegistryClientMixin` alone. A mixin
subclasses its host protocol for the type checker only (``object`` at run time), so ``self.get_run``
inside a mixin is checked against a real signature instead of an ``# type: ignore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .entities import Experiment, PagedList, Run


class RunHost(Protocol):
    def get_run(self, run_id: str) -> Run: ...


class ArtifactHost(RunHost, Protocol):
    _tracking_uri: str

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ...,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]: ...


class RegistryHost(RunHost, Protocol):
    _registry_uri: str

    def search_experiments(
        self,
        view_type: int = ...,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...


class TracingHost(RunHost, Protocol):
    _tracking_uri: str


if TYPE_CHECKING:
    ArtifactHostBase = ArtifactHost
    RegistryHostBase = RegistryHost
    TracingHostBase = TracingHost
else:
    ArtifactHostBase = RegistryHostBase = TracingHostBase = object
