"""An accelerate tracker: ``Accelerator(log_with="hf_mltrack")`` or ``log_with=HfMlTrackTracker(...)``.

```python
from accelerate import Accelerator
import hf_mltrack.integrations  # registers the "hf_mltrack" tracker name with accelerate

accelerator = Accelerator(log_with="hf_mltrack")
accelerator.init_trackers("my-project", config={"lr": 1e-4})   # experiment "my-project", params
accelerator.log({"loss": 0.5}, step=1)                         # metrics of the run
accelerator.end_training()                                     # run FINISHED
```

accelerate calls trackers on the main process only, so other ranks never touch the store.
"""

from __future__ import annotations

import time
from typing import Any

from accelerate.tracking import GeneralTracker

from ..entities import Metric, Param, RunStatus
from . import _params


class HfMlTrackTracker(GeneralTracker):
    """Logs ``Accelerator.init_trackers`` config as params and ``Accelerator.log`` values as metrics.

    Args:
        run_name (`str`, *optional*): the experiment name when given by accelerate (``init_trackers``'s
            ``project_name``); a run of the active experiment otherwise.
        tracking_uri (`str`, *optional*): where to log; defaults to the current tracking URI.
        experiment_name (`str`, *optional*): experiment; defaults to ``run_name`` (the project name).
        nested_run_name (`str`, *optional*): the name of the run itself.
        tags (`dict`, *optional*): run tags.
        log_system_metrics (`bool`, *optional*): sample CPU/GPU/memory while the run is active.
    """

    name = "hf_mltrack"
    requires_logging_directory = False
    main_process_only = True

    def __init__(
        self,
        run_name: str | None = None,
        *,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        nested_run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        log_system_metrics: bool | None = None,
    ) -> None:
        super().__init__()
        self.project_name = run_name
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name or run_name
        self.run_name = nested_run_name
        self.tags = dict(tags or {})
        self.log_system_metrics = log_system_metrics
        self._run: Any = None
        self._owns_run = False
        self._client: Any = None

    def start(self) -> None:
        from ..tracking import MlTrackClient, fluent

        if self.tracking_uri:
            fluent.set_tracking_uri(self.tracking_uri)
        active = fluent.active_run()
        if active is not None:
            self._run, self._owns_run = active, False
        else:
            if self.experiment_name:
                fluent.set_experiment(self.experiment_name)
            self._run = fluent.start_run(
                run_name=self.run_name, tags=self.tags, log_system_metrics=self.log_system_metrics
            )
            self._owns_run = True
        self._client = MlTrackClient()

    @property
    def tracker(self) -> Any:
        return self._run

    @property
    def run_id(self) -> str | None:
        return self._run.info.run_id if self._run is not None else None

    def _ensure_started(self) -> None:
        if self._run is None:
            self.start()

    def store_init_configuration(self, values: dict[str, Any]) -> None:
        self._ensure_started()
        params = _params.sanitize_params(values)
        existing = self._client.get_run(self.run_id).data.params
        params = _params.drop_keys(params, existing)
        self._client.log_batch(self.run_id, params=[Param(k, v) for k, v in params.items()], synchronous=False)

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self._ensure_started()
        ts = int(time.time() * 1000)
        metrics = []
        for key, value in values.items():
            if isinstance(value, bool) or value is None or isinstance(value, str):
                continue
            try:
                metrics.append(Metric(key, float(value), ts, int(step or 0)))
            except (TypeError, ValueError):
                continue
        if metrics:
            self._client.log_batch(self.run_id, metrics=metrics, synchronous=False)

    def finish(self) -> None:
        if self._run is None:
            return
        from ..tracking import fluent

        if self._owns_run:
            active = fluent.active_run()
            if active is not None and active.info.run_id == self.run_id:
                fluent.end_run(RunStatus.FINISHED)
            else:
                self._client.set_terminated(self.run_id, RunStatus.FINISHED)
        self._run = None


def register_accelerate_tracker(module: Any = None) -> bool:
    """Make ``Accelerator(log_with="hf_mltrack")`` resolve to `HfMlTrackTracker` (idempotent)."""
    if module is None:
        import importlib

        # not `import accelerate.tracking`: this runs while that import is still executing
        module = importlib.import_module("accelerate.tracking")
    table = getattr(module, "LOGGER_TYPE_TO_CLASS", None)
    if not isinstance(table, dict):
        return False
    if table.get(HfMlTrackTracker.name) is not HfMlTrackTracker:
        table[HfMlTrackTracker.name] = HfMlTrackTracker
    return True


register_accelerate_tracker()

__all__ = ["HfMlTrackTracker", "register_accelerate_tracker"]
