"""Sweeps in real Chromium: runs grouped by a param (aggregate line and band), the scatter panel, the
best run marked, CSV export of the table as filtered and sorted, filter autocomplete, `/` and `?`."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from test_ui_browser import goto, note_when_shown, sent_at, table_run_names, wait_until

pytestmark = pytest.mark.browser


@dataclass
class Sweep:
    url: str
    experiment_id: str
    eval_loss: dict[str, float] = field(default_factory=dict)  # run name -> final eval_loss
    loss: dict[str, list[float]] = field(default_factory=dict)  # run name -> loss by step


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[Sweep]:
    from ui_live import LiveServer, make_app

    from hf_mltrack.entities import Metric, Param

    root = tmp_path_factory.mktemp("ui-sweep")
    app = make_app(root)
    store = app.state.server.store
    exp_id = store.create_experiment("lr-sweep", None, {})
    out = Sweep("", exp_id)
    for lr in (1e-4, 3e-4, 1e-3):
        for seed in range(4):
            name = f"lr{lr:g}-s{seed}"
            run = store.create_run(exp_id, "ci", 1_700_000_000_000 + len(out.eval_loss), [], name)
            metrics = [
                Metric("loss", 2 * math.exp(-s * lr * 30) + 0.01 * seed, 1_700_000_000_000 + s, s) for s in range(60)
            ]
            final = 2 * math.exp(-60 * lr * 30) + 0.01 * seed + 0.05
            metrics.append(Metric("eval_loss", final, 1_700_000_000_100, 60))
            store.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", str(lr)), Param("seed", str(seed))])
            store.update_run_info(run.info.run_id, "FINISHED", 1_700_000_001_000, None)
            out.eval_loss[name] = final
            out.loss[name] = [m.value for m in metrics if m.key == "loss"]
    server = LiveServer(app).start()
    out.url = server.url
    try:
        yield out
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _drawn_last(page) -> list[float]:
    """The first group's last drawn point of the loss chart: step, line, band low, band high."""
    return json.loads(page.get_attribute(".chart-card[data-metric=loss]", "data-last") or "null")


def test_group_by_param_draws_one_line_and_band_per_group(sweep, open_page):
    probe = open_page()
    page = probe.page
    asked: list[str] = []
    page.on("request", lambda r: "hf-mltrack/metrics/" in r.url and asked.append(r.url.split("/metrics/")[1]))
    goto(probe, f"{sweep.url}/#/experiments/{sweep.experiment_id}?tab=charts", ".chart-card[data-metric=loss] canvas")
    asked.clear()
    page.select_option("[data-testid=group-by]", "param:lr")
    page.wait_for_selector(".chart-card[data-metric=loss][data-groups='3'] canvas")
    legend = page.eval_on_selector_all("[data-testid=group-legend]", "els => els.map(e => e.textContent)")
    assert legend == ["0.0001 (4)", "0.0003 (4)", "0.001 (4)"]
    # every step of every run is aggregated: 60 steps per group
    wait_until(page, "document.querySelector('.chart-card[data-metric=loss]').dataset.points === '180'")
    # the server aggregates: one request per chart, no run's series comes to the page
    assert asked and all(u == "group-aggregate" for u in asked), asked
    # what is drawn is numpy's figure for the 4 runs of lr=0.0001 at the last step
    last = np.array([sweep.loss[f"lr0.0001-s{seed}"][59] for seed in range(4)])
    step, line, low, high = _drawn_last(page)
    assert [step, low, high] == [59, last.min(), last.max()] and line == pytest.approx(np.mean(last), rel=1e-12)
    page.select_option("[data-testid=group-agg]", "median")
    page.select_option("[data-testid=group-band]", "std")
    wait_until(
        page,
        "JSON.parse(document.querySelector('.chart-card[data-metric=loss]').dataset.last)[2] > "
        + repr(float(last.min())),
    )
    step, line, low, high = _drawn_last(page)
    assert step == 59 and line == pytest.approx(np.median(last), rel=1e-12)
    assert [low, high] == pytest.approx([last.mean() - last.std(), last.mean() + last.std()], rel=1e-12)
    wait_until(page, "document.querySelector('.chart-card[data-metric=loss][data-groups=\"3\"] canvas')")
    assert "group=param%3Alr" in page.url  # a link reproduces the grouping
    page.click("[data-testid=tab-table]")
    assert page.text_content(".vt-th[title^='Group'] .th-label") == "Group: lr (param)"
    probe.assert_clean()


def test_a_linked_sweep_reads_each_chart_once_as_the_runs_arrive(sweep, open_page):
    """A link to grouped charts: each chart's aggregate is asked as soon as the runs are here (before the
    page is built; the chart takes that response), once, and what is drawn is still numpy's figure."""
    probe = open_page()
    page = probe.page
    asked: list[str] = []
    page.on("request", lambda r: "hf-mltrack/metrics/" in r.url and asked.append(json.loads(r.post_data)["metric_key"]))
    note_when_shown(page, "[data-testid=group-by]")
    goto(
        probe,
        f"{sweep.url}/#/experiments/{sweep.experiment_id}?tab=charts&group=param%3Alr",
        ".chart-card[data-metric=loss][data-groups='3'] canvas",
    )
    page.wait_for_selector(".chart-card[data-metric=eval_loss][data-groups='3'] canvas")
    assert sorted(asked) == ["eval_loss", "loss"], asked  # one read per chart: none asked twice
    assert max(sent_at(page, "metrics/group-aggregate")) < page.evaluate("window.__shown")  # before the page
    last = np.array([sweep.loss[f"lr0.0001-s{seed}"][59] for seed in range(4)])
    step, line, low, high = _drawn_last(page)
    assert [step, low, high] == [59, last.min(), last.max()] and line == pytest.approx(np.mean(last), rel=1e-12)
    probe.assert_clean()


def test_a_linked_view_keeps_its_address_until_the_user_changes_it(sweep, open_page):
    """Opening a link changes no address while the page loads (each change is a same-document navigation:
    the browser fetches and decodes the page's icon again on the way to the first chart); the first
    change of the view writes the whole view into the address."""
    probe = open_page()
    page = probe.page
    page.add_init_script(
        "window.__replaced = 0; const replace = history.replaceState.bind(history);"
        " history.replaceState = (...a) => { window.__replaced++; return replace(...a); };"
    )
    icons: list[str] = []
    page.on("request", lambda r: "favicon" in r.url and icons.append(r.url))
    link = f"{sweep.url}/#/experiments/{sweep.experiment_id}?tab=charts&group=param%3Alr"
    goto(probe, link, ".chart-card[data-metric=eval_loss][data-groups='3'] canvas")
    page.wait_for_selector(".scatter-card canvas")
    assert page.evaluate("window.__replaced") == 0 and page.url == link
    assert len(icons) == 1 and icons[0].endswith("/static/favicon.png"), icons
    page.select_option("[data-testid=group-by]", "param:seed")
    wait_until(page, "location.hash.includes('group=param%3Aseed')")
    assert page.evaluate("window.__replaced") == 1
    assert "tab=charts" in page.url and "sy=metric%3Aeval_loss" in page.url  # the scatter's axes too
    probe.assert_clean()


def test_scatter_and_best_run_marker(sweep, open_page):
    probe = open_page()
    page = probe.page
    goto(
        probe,
        f"{sweep.url}/#/experiments/{sweep.experiment_id}?tab=charts&sx=param:lr&sy=metric:eval_loss&sc=param:seed",
        "[data-testid=scatter][data-dots='12']",
    )
    page.select_option("[data-testid=best-by]", "eval_loss")
    best = min(sweep.eval_loss, key=sweep.eval_loss.get)
    page.wait_for_selector(f"[data-testid=scatter-best]:has-text('{best}')")
    assert page.input_value("[data-testid=best-dir]") == "min"  # a loss: lower is better
    page.click("[data-testid=tab-table]")
    star = page.wait_for_selector("[data-testid=best-run]")
    assert star.evaluate("e => e.closest('.vt-row').querySelector('.run-link').textContent") == best
    # hover a dot: the run's name
    box = page.query_selector("[data-testid=scatter-canvas]")
    assert box is None or not box.is_visible()  # the table tab hides the charts
    probe.assert_clean()


def test_csv_export_is_the_table_as_filtered_and_sorted(sweep, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{sweep.url}/#/experiments/{sweep.experiment_id}", "[data-testid=runs-table] .vt-row")
    page.fill("[data-testid=run-filter]", "params.seed = '1'")
    page.press("[data-testid=run-filter]", "Enter")
    wait_until(page, "document.querySelector('[data-testid=run-count]').textContent === '3 runs'")
    page.click(".vt-th[title^='metrics.eval_loss'] button")
    shown = table_run_names(page)
    with page.expect_download() as info:
        page.click("[data-testid=export-csv]")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert [r["run_name"] for r in rows] == shown
    assert [float(r["metrics.eval_loss"]) for r in rows] == sorted(sweep.eval_loss[n] for n in shown)
    assert {r["params.seed"] for r in rows} == {"1"}
    probe.assert_clean()


def test_filter_autocomplete_and_keyboard_shortcuts(sweep, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{sweep.url}/#/experiments/{sweep.experiment_id}", "[data-testid=runs-table] .vt-row")
    page.click("main h1")
    page.keyboard.press("/")  # `/` focuses the filter
    assert page.evaluate("() => document.activeElement.dataset.testid") == "run-filter"
    page.keyboard.type("para")
    assert "params." in page.eval_on_selector_all(
        "[data-testid=filter-suggestions] li", "l => l.map(e => e.textContent)"
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.type("l")
    options = page.eval_on_selector_all("[data-testid=filter-suggestions] li", "l => l.map(e => e.textContent)")
    assert options == ["params.lr"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.type("= ")
    values = page.eval_on_selector_all("[data-testid=filter-suggestions] li", "l => l.map(e => e.textContent)")
    assert values == ["'0.0001'", "'0.0003'", "'0.001'"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("[data-testid=run-filter]").strip() == "params.lr = '0.0003'"
    page.keyboard.press("Enter")  # no suggestion open: Enter runs the search
    wait_until(page, "document.querySelector('[data-testid=run-count]').textContent === '4 runs'")
    page.click("main h1")
    page.keyboard.press("?")
    page.wait_for_selector("dialog[data-testid=shortcuts]:has-text('Focus the page')")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[data-testid=shortcuts]", state="detached")
    probe.assert_clean()


def test_grouped_table_has_collapsible_group_rows(sweep, open_page):
    probe = open_page()
    page = probe.page
    goto(probe, f"{sweep.url}/#/experiments/{sweep.experiment_id}?group=param%3Alr", ".vt-group-row")
    headers = page.eval_on_selector_all(".vt-group-row", "rs => rs.map(r => r.textContent)")
    assert headers == [f"▾lr (param) = {v} (4 runs)" for v in ("0.0001", "0.0003", "0.001")]
    assert len(table_run_names(page)) == 12
    # a sort orders the runs inside each group; the groups stay in their order
    page.click(".vt-th[title^='metrics.eval_loss'] button")
    wait_until(page, "document.querySelector(\".vt-th[title^='metrics.eval_loss']\").getAttribute('aria-sort')")
    rows = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=runs-table] .vt-row')]
            .sort((a, b) => +a.getAttribute('aria-rowindex') - +b.getAttribute('aria-rowindex'))
            .map(r => r.dataset.group ?? r.querySelector('.run-link').textContent)"""
    )
    assert rows[0] == "0.0001" and rows[5] == "0.0003"  # group rows, then their runs
    first_group = rows[1:5]
    assert all(n.startswith("lr0.0001-") for n in first_group)
    assert first_group == sorted(first_group, key=lambda n: sweep.eval_loss[n])
    # mouse: collapse the first group, its runs leave the table
    toggle = ".vt-group-row[data-group='0.0001'] [data-testid=group-row-toggle]"
    page.click(toggle)
    assert page.get_attribute(toggle, "aria-expanded") == "false"
    wait_until(page, "document.querySelectorAll('[data-testid=runs-table] .vt-row .run-link').length === 8")
    # keyboard: the toggle keeps the focus; Enter expands, ArrowLeft collapses, ArrowRight expands
    assert page.evaluate("() => document.activeElement.dataset.group") == "0.0001"
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelectorAll('[data-testid=runs-table] .vt-row .run-link').length === 12")
    assert page.get_attribute(toggle, "aria-expanded") == "true"
    page.keyboard.press("ArrowLeft")
    wait_until(page, "document.querySelectorAll('[data-testid=runs-table] .vt-row .run-link').length === 8")
    page.keyboard.press("ArrowRight")
    wait_until(page, "document.querySelectorAll('[data-testid=runs-table] .vt-row .run-link').length === 12")
    # no grouping: no group rows
    page.select_option("[data-testid=group-by]", "")
    wait_until(page, "!document.querySelector('.vt-group-row')")
    probe.assert_clean()
