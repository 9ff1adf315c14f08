"""`Recipe`: run, inspect and use a ``classification/v1`` or ``regression/v1`` recipe."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, InvalidStateError, MlTrackException
from hf_mltrack.recipes.cards import CardBuilder, StepCard
from hf_mltrack.recipes.config import STEPS, load_config
from hf_mltrack.recipes.steps import TITLES, step_module
from hf_mltrack.recipes.steps.base import RecipeContext, StepRun
from hf_mltrack.recipes.templates import get_template
from hf_mltrack.recipes.workspace import OUTPUTS, WORKSPACE_DIR, Workspace, fingerprint

_logger = logging.getLogger(__name__)

# artifact name -> (step, output file, kind)
ARTIFACTS: dict[str, tuple[str, str, str]] = {
    "ingested_data": ("ingest", "dataset.parquet", "frame"),
    "training_data": ("split", "train.parquet", "frame"),
    "validation_data": ("split", "validation.parquet", "frame"),
    "test_data": ("split", "test.parquet", "frame"),
    "transformed_training_data": ("transform", "transformed_train.parquet", "frame"),
    "transformed_validation_data": ("transform", "transformed_validation.parquet", "frame"),
    "transformed_test_data": ("transform", "transformed_test.parquet", "frame"),
    "transformer": ("transform", "transformer.skops", "skops"),
    "model": ("train", "model", "pyfunc"),
    "run": ("train", "run.json", "run"),
    "metrics": ("evaluate", "metrics.json", "json"),
    "model_validation": ("evaluate", "validation.json", "json"),
    "registered_model_version": ("register", "registration.json", "model_version"),
}


def _step_index(step: Any) -> int:
    if step not in STEPS:
        raise InvalidParameterError(f"Unknown recipe step {step!r}: the steps are {', '.join(STEPS)}")
    return STEPS.index(step)


class Recipe:
    """A recipe: ``recipe.yaml`` (+ ``profiles/<profile>.yaml``) in the working folder, run as cached steps.

    ```python
    from hf_mltrack.recipes import Recipe

    recipe = Recipe(profile="local")
    recipe.run()                      # ingest -> split -> transform -> train -> evaluate -> register
    recipe.inspect()                  # the overview; recipe.inspect("evaluate") for one step's card
    prediction = recipe.predict({"feature1": 1.0, "feature2": 2.0})
    ```

    The configuration is read again at every call, so editing ``recipe.yaml`` (or the data) and calling
    ``run()`` reruns exactly the steps the change affects.

    Args:
        profile (`str`, *optional*): the profile to apply, ``profiles/<profile>.yaml``.
        recipe_root (`str`, *optional*): the recipe folder; defaults to the current working directory.
        workspace (`str`, *optional*): where step outputs are cached; defaults to
            ``<recipe_root>/.hf_mltrack_recipe/<profile>``.

    Raises:
        `InvalidParameterError`: when a file is missing or invalid, naming the file and the key.
    """

    def __init__(
        self,
        profile: str | None = None,
        recipe_root: str | os.PathLike[str] | None = None,
        workspace: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = os.path.abspath(os.fspath(recipe_root) if recipe_root is not None else os.getcwd())
        self.profile = profile
        config, self._files = load_config(self.root, profile)
        self._template = get_template(config["recipe"])
        path = (
            os.fspath(workspace)
            if workspace is not None
            else os.path.join(self.root, WORKSPACE_DIR, profile or "default")
        )
        self._workspace = Workspace(path)
        self._model_cache: tuple[str, Any] | None = None

    # --------------------------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        return os.path.basename(self.root)

    @property
    def template(self) -> str:
        """The template name, e.g. ``"classification/v1"``."""
        return self._template.name

    @property
    def workspace(self) -> str:
        """The folder holding the cached step outputs."""
        return self._workspace.path

    @property
    def config(self) -> dict[str, Any]:
        """The merged, checked configuration (read again from the files)."""
        return self._context().config

    def __repr__(self) -> str:
        return f"Recipe(name={self.name!r}, template={self.template!r}, profile={self.profile!r})"

    # ------------------------------------------------------------------------------------ running
    def _context(self) -> RecipeContext:
        config, self._files = load_config(self.root, self.profile)
        self._template = get_template(config["recipe"])
        return RecipeContext(self.root, self.profile, config, self._template, self._workspace)

    def _plan(self, ctx: RecipeContext, upto: int) -> list[tuple[str, str, dict[str, Any]]]:
        """``[(step, fingerprint, inputs)]`` up to step index ``upto``; checks every step's configuration
        before anything runs."""
        plan = []
        upstream = ""
        for step in STEPS[: upto + 1]:
            module = step_module(step)
            inputs = module.fingerprint_config(ctx)
            fp = fingerprint(step, module.VERSION, inputs, upstream)
            plan.append((step, fp, inputs))
            upstream = fp
        return plan

    def _why_stale(self, plan: list[tuple[str, str, dict[str, Any]]], step: str) -> str:
        """Which input of ``step`` (or of the first out-of-date step before it) changed since it ran."""
        import json

        for name, fp, inputs in plan:
            if self._workspace.is_current(name, fp):
                continue
            state = self._workspace.state(name)
            if state is None:
                return f"step {name!r} has not run"
            before = state.get("inputs") or {}
            now = json.loads(json.dumps(inputs, default=str))
            changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            if changed:
                return f"step {name!r} has new inputs ({', '.join(changed)})"
            return f"step {name!r} or a step before it changed"
        return f"step {step!r} is out of date"

    def run(self, step: str | None = None) -> dict[str, str]:
        """Run the recipe up to ``step`` (all steps by default), skipping steps whose cache is current.

        Args:
            step (`str`, *optional*): ``"ingest"``, ``"split"``, ``"transform"``, ``"train"``,
                ``"evaluate"`` or ``"register"``; the steps before it run (or come from the cache) first.

        Returns:
            `dict[str, str]`: each step -> ``"ran"`` or ``"cached"``.
        """
        upto = _step_index(step) if step is not None else len(STEPS) - 1
        ctx = self._context()
        plan = self._plan(ctx, upto)
        results: dict[str, str] = {}
        try:
            for name, fp, inputs in plan:
                if self._workspace.is_current(name, fp):
                    results[name] = "cached"
                    _logger.info("Recipe step %r: unchanged, using the cached outputs", name)
                    continue
                _logger.info("Recipe step %r: running", name)
                self._execute(ctx, name, fp, inputs)
                results[name] = "ran"
        except BaseException as exc:
            failed = next(n for n, _, _ in plan if n not in results)
            record: dict[str, Any] = dict(results)
            record[failed] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            self._workspace.record_run(record)
            if isinstance(exc, MlTrackException) or not isinstance(exc, Exception):
                raise
            raise MlTrackException(f"Recipe step {failed!r} failed: {type(exc).__name__}: {exc}") from exc
        self._workspace.record_run(results)
        return results

    def _execute(self, ctx: RecipeContext, step: str, fp: str, inputs: dict[str, Any]) -> None:
        module = step_module(step)
        with self._workspace.execute(step, fp) as (staging, state):
            card = CardBuilder(step, f"Step: {TITLES[step]}")
            started = time.perf_counter()
            sr = StepRun(ctx, step, os.path.join(staging, OUTPUTS), state, card)
            module.run(sr)
            state["summary"] = sr.summary
            state["inputs"] = inputs
            card.kv(
                "Execution",
                [
                    ("executed at", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state["started"]))),
                    ("duration (s)", round(time.perf_counter() - started, 3)),
                    ("fingerprint", fp[:16]),
                    ("profile", self.profile or "(none)"),
                ],
            )
            Workspace.write_card(staging, card.data, StepCard(card.data).to_html())
        if step == "train":
            self._model_cache = None

    # --------------------------------------------------------------------------------- inspecting
    def inspect(self, step: str | None = None) -> StepCard:
        """Show a step's card (or the recipe overview): printed as text, written as HTML.

        Args:
            step (`str`, *optional*): the step; the overview of all steps by default.

        Returns:
            `StepCard`: ``str(card)`` is the text, ``card.html_path`` the HTML page (it renders in notebooks).
        """
        if step is not None:
            _step_index(step)
            data = self._workspace.card(step)
            if data is None:
                raise InvalidStateError(f"Step {step!r} has not run yet: call recipe.run({step!r}) first")
            card = StepCard(data, self._workspace.card_html_path(step))
        else:
            card = self._overview()
        print(card.to_text())
        return card

    def _overview(self) -> StepCard:
        builder = CardBuilder("recipe", f"Recipe: {self.name} ({self.template}, profile {self.profile or '-'})")
        current: dict[str, bool] = {}
        error = None
        try:
            ctx = self._context()
            for name, fp, _ in self._plan(ctx, len(STEPS) - 1):
                current[name] = self._workspace.is_current(name, fp)
        except (MlTrackException, OSError) as exc:
            error = str(exc)
        last = self._workspace.last_run().get("steps", {})
        rows = []
        for name in STEPS:
            state = self._workspace.state(name)
            if state is None:
                status = "not run"
            elif name in current:
                status = "up to date" if current[name] else "out of date"
            else:
                status = "cached"
            outcome = last.get(name)
            if isinstance(outcome, dict):
                status = f"FAILED in last run: {outcome.get('error', '')}"
            summary = ", ".join(f"{k}={v}" for k, v in ((state or {}).get("summary") or {}).items())
            rows.append([name, status, (state or {}).get("duration_s"), summary])
        builder.table("Steps", ["step", "status", "duration (s)", "summary"], rows)
        builder.kv(
            "Recipe",
            [("folder", self.root), ("files", ", ".join(self._files)), ("workspace", self._workspace.path)],
        )
        if error:
            builder.text("Configuration error", error)
        path = os.path.join(self._workspace.path, "recipe.html")
        card = StepCard(builder.data, path)
        os.makedirs(self._workspace.path, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(card.to_html())
        return card

    # --------------------------------------------------------------------------------- using
    def _current_model(self) -> Any:
        import hf_mltrack.pyfunc

        ctx = self._context()
        plan = self._plan(ctx, STEPS.index("train"))
        fp = plan[-1][1]
        if self._workspace.state("train") is None:
            raise InvalidStateError("The recipe has no trained model yet: call recipe.run() first")
        if not self._workspace.is_current("train", fp):
            raise InvalidStateError(
                f"The recipe changed since its model was trained ({self._why_stale(plan, 'train')}): call "
                "recipe.run() to train it again"
            )
        if self._model_cache is None or self._model_cache[0] != fp:
            path = os.path.join(self._workspace.outputs("train"), "model")
            self._model_cache = (fp, hf_mltrack.pyfunc.load_model(path))
        return self._model_cache[1]

    def predict(self, data: Any) -> Any:
        """Predict with the recipe's trained model.

        Args:
            data: a dict of feature values (one row, e.g. ``{"feature1": 1.0, "feature2": 2.0}``), a dict of
                lists, a list of dicts or a pandas DataFrame; the target column is not needed.

        Returns:
            `numpy.ndarray`: one prediction per row.
        """
        import pandas as pd

        model = self._current_model()
        if isinstance(data, dict) and data:
            scalar = all(not isinstance(v, (list, tuple)) and getattr(v, "ndim", 0) == 0 for v in data.values())
            data = pd.DataFrame([data]) if scalar else pd.DataFrame(data)
        elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
            data = pd.DataFrame(data)
        elif isinstance(data, pd.Series):
            data = data.to_frame().T
        if not isinstance(data, pd.DataFrame):
            raise InvalidParameterError(
                f"recipe.predict takes a dict, a list of dicts or a pandas DataFrame, got {type(data).__name__}"
            )
        return model.predict(data)

    def get_artifact(self, name: str) -> Any:
        """An output of a step, from the cache.

        Args:
            name (`str`): ``ingested_data``, ``training_data``, ``validation_data``, ``test_data``, the
                ``transformed_*`` datasets (DataFrames), ``transformer`` (the fitted ColumnTransformer),
                ``model`` (a `PyFuncModel`), ``run`` (the training `Run`), ``metrics`` and
                ``model_validation`` (dicts) or ``registered_model_version`` (a `ModelVersion`, or ``None``
                when the model was not registered).
        """
        if name not in ARTIFACTS:
            raise InvalidParameterError(f"Unknown recipe artifact {name!r}: valid names are {', '.join(ARTIFACTS)}")
        step, file, kind = ARTIFACTS[name]
        path = os.path.join(self._workspace.outputs(step), file)
        if not os.path.exists(path):
            raise InvalidStateError(
                f"Artifact {name!r} does not exist yet: step {step!r} has not run; call recipe.run({step!r})"
            )
        if kind == "frame":
            from hf_mltrack.recipes.steps.base import load_frame

            return load_frame(path)
        if kind == "skops":
            from hf_mltrack.sklearn._serialize import load_skops

            return load_skops(path)
        if kind == "pyfunc":
            import hf_mltrack.pyfunc

            return hf_mltrack.pyfunc.load_model(path)
        from hf_mltrack.recipes import _tracking
        from hf_mltrack.recipes.steps.base import load_json

        data = load_json(path)
        if kind == "json":
            return data
        config = self._context().config
        with _tracking.using(config):
            if kind == "run":
                from hf_mltrack.tracking.fluent import _client

                return _client().get_run(data["run_id"])
            if not data.get("registered"):
                return None
            from hf_mltrack.registry.fluent import _client as registry_client

            return registry_client().get_model_version(data["name"], data["version"])

    def clean(self, step: str | None = None) -> None:
        """Remove cached outputs: all of them, or those of ``step`` and of every step after it."""
        if step is None:
            self._workspace.clean()
        else:
            self._workspace.clean(list(STEPS[_step_index(step) :]))
        self._model_cache = None
