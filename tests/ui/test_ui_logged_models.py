"""Issue 19's UI in real Chromium against the real server: the Models tab (logged models with linked
metrics, sortable, a run's checkpoints in step order), a run's datasets and models, and a registered
version's lineage (dataset -> run -> logged model -> version). Everything is logged through the REST
API with MlTrackClient, as MLflow 3's client would."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from test_ui_browser import goto

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[dict]:
    from ui_live import LiveServer, make_app

    from hf_mltrack.entities.dataset import Dataset, DatasetInput, InputTag
    from hf_mltrack.tracking import MlTrackClient

    root = tmp_path_factory.mktemp("ui-lm")
    server = LiveServer(make_app(root)).start()
    client = MlTrackClient(server.url)
    exp_id = client.create_experiment("sft")
    runs: dict[str, str] = {}
    models: dict[tuple[str, int], str] = {}
    losses = {("lr-1e-4", 100): 1.9, ("lr-1e-4", 200): 1.5, ("lr-1e-4", 300): 1.6}
    losses |= {("lr-3e-4", 100): 1.7, ("lr-3e-4", 200): 1.2, ("lr-3e-4", 300): 1.3}
    train = Dataset("alpaca-tiny", "9f8e7d6c5b", "hf", '{"path": "tatsu-lab/alpaca"}')
    evals = Dataset("eval", "abc123", "hf", '{"path": "tatsu-lab/alpaca", "split": "test"}')
    for name in ("lr-1e-4", "lr-3e-4"):
        run = client.create_run(exp_id, run_name=name)
        runs[name] = run.info.run_id
        client.log_inputs(
            run.info.run_id,
            datasets=[
                DatasetInput(train, [InputTag("mlflow.data.context", "training")]),
                DatasetInput(evals, [InputTag("mlflow.data.context", "eval")]),
            ],
        )
    for (name, step), loss in sorted(losses.items(), key=lambda kv: -kv[0][1]):  # newest first on purpose
        model = client.create_logged_model(
            exp_id, name=f"checkpoint-{step}", source_run_id=runs[name], model_type="checkpoint", output_step=step
        )
        client.log_metric(
            runs[name],
            "eval_loss",
            loss,
            step=step,
            model_id=model.model_id,
            dataset_name="eval",
            dataset_digest="abc123",
            synchronous=True,
        )
        models[(name, step)] = model.model_id
    for rid in runs.values():
        client.set_terminated(rid, "FINISHED")
    best = models[("lr-3e-4", 200)]
    client.create_registered_model("tiny-sft")
    version = client.create_model_version(
        "tiny-sft", f"runs:/{runs['lr-3e-4']}/checkpoints/checkpoint-200", runs["lr-3e-4"], model_id=best
    )
    try:
        yield {"url": server.url, "exp": exp_id, "runs": runs, "version": version.version}
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _names(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "[data-testid=logged-models-table] .vt-row",
        "rows => rows.map(r => [...r.querySelectorAll('.vt-cell')].slice(0, 3).map(c => c.textContent))",
    )


def test_models_tab_lists_sorts_and_orders_checkpoints(lm, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{lm['url']}/#/experiments/{lm['exp']}?tab=models", "[data-testid=logged-models-table] .vt-row")
    assert len(_names(page)) == 6
    page.click(".vt-th[title^='metrics.eval_loss (eval)'] button")  # sortable by a linked metric
    rows = _names(page)
    assert rows[0] == ["checkpoint-200", "200", "lr-3e-4"]  # the best checkpoint of the sweep first
    page.select_option("[data-testid=models-run]", lm["runs"]["lr-1e-4"])
    assert _names(page) == [
        ["checkpoint-100", "100", "lr-1e-4"],
        ["checkpoint-200", "200", "lr-1e-4"],
        ["checkpoint-300", "300", "lr-1e-4"],
    ]  # a run's checkpoints in step order
    probe.assert_clean()


def test_run_page_shows_datasets_and_models_produced(lm, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{lm['url']}/#/runs/{lm['runs']['lr-3e-4']}", "[data-testid=run-io] [data-testid=dataset]")
    datasets = page.eval_on_selector_all("[data-testid=run-io] [data-testid=dataset]", "e => e.map(x => x.textContent)")
    assert datasets == ["alpaca-tiny 9f8e7d6c · training", "eval abc123 · eval"]
    outs = page.eval_on_selector_all("[data-testid=model-output]", "e => e.map(x => x.textContent)")
    assert outs == ["checkpoint-100 step 100", "checkpoint-200 step 200", "checkpoint-300 step 300"]
    probe.assert_clean()


def test_registered_version_shows_its_lineage(lm, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{lm['url']}/#/models/tiny-sft", "[data-testid=versions-table]")
    page.click(f"tr[data-version='{lm['version']}'] button:has-text('Version')")
    page.wait_for_selector("[data-testid=lineage] [data-testid=lineage-version]")
    chain = page.text_content("[data-testid=lineage]")
    assert re.search(r"alpaca-tiny.*→\s*lr-3e-4\s*→\s*checkpoint-200 step 200\s*→\s*tiny-sft v1", chain), chain
    probe.assert_clean()
