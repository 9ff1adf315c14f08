"""Live runs in real Chromium: a job logs while the test watches the run page, the experiment's table
and charts, and the compare page; polling fetches only new points and stops when the run ends or
the tab is hidden."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from test_ui_browser import goto, wait_until

pytestmark = pytest.mark.browser


class Job:
    """A "training job" on a background thread: one `loss` point per `period` seconds."""

    def __init__(self, client: object, run_id: str, period: float = 0.2) -> None:
        self.client, self.run_id, self.period = client, run_id, period
        self.step = 0
        self.logged_at: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from hf_mltrack.entities import Metric

        while not self.stop.is_set():
            self.step += 1
            ts = int(time.time() * 1000)
            self.client.log_batch(  # type: ignore[attr-defined]
                self.run_id,
                metrics=[Metric("loss", 1 / self.step, ts, self.step), Metric("epoch", self.step / 50, ts, self.step)],
            )
            self.logged_at[self.step] = time.monotonic()
            self.stop.wait(self.period)

    def __enter__(self) -> Job:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.fixture
def live(tmp_path, browser) -> Iterator[tuple[str, object, str, str]]:
    from ui_live import LiveServer, make_app

    from hf_mltrack.tracking import MlTrackClient

    app = make_app(tmp_path / "live")
    server = LiveServer(app).start()
    client = MlTrackClient(server.url)
    exp_id = client.create_experiment("live")
    run = client.create_run(
        exp_id,
        run_name="training",
        tags={"hf_mltrack.trainer.max_steps": "100", "hf_mltrack.trainer.num_train_epochs": "2"},
    )
    done = client.create_run(exp_id, run_name="finished-before")
    client.log_metric(done.info.run_id, "loss", 0.5, step=1)
    client.log_metric(done.info.run_id, "loss", 0.4, step=2)
    client.log_metric(run.info.run_id, "loss", 1.0, step=0)
    client.set_terminated(done.info.run_id, "FINISHED")
    try:
        yield server.url, client, exp_id, run.info.run_id
    finally:
        server.stop()
        shutil.rmtree(tmp_path / "live", ignore_errors=True)


def _points(page, metric: str = "loss") -> int:
    return page.evaluate(
        f"() => Number(document.querySelector('.chart-card[data-metric={metric}]')?.dataset.points ?? 0)"
    )


def _wait_points(page, more_than: int, timeout: float = 5) -> None:
    wait_until(
        page, f"Number(document.querySelector('.chart-card[data-metric=loss]').dataset.points) > {more_than}", timeout
    )


def test_run_page_follows_a_running_job_and_says_when_it_ends(live, open_page):
    url, client, _exp_id, run_id = live
    probe = open_page()
    page = probe.page
    history: list[str] = []
    page.on("request", lambda r: "metrics/history-columns" in r.url and history.append(r.url))
    goto(probe, f"{url}/#/runs/{run_id}?tab=charts", ".chart-card[data-metric=loss][data-points='1']")
    assert page.get_attribute("[data-testid=run-progress]", "aria-valuemax") == "100"
    with Job(client, run_id) as job:
        time.sleep(1.0)
        target = job.step
        _wait_points(page, target)
        # a point logged at `target` shows within 2 s of its logging
        assert time.monotonic() - job.logged_at[target] < 2.0
        wait_until(page, "document.querySelector('[data-testid=run-progress]').getAttribute('aria-valuenow') > '0'", 5)
        text = page.get_attribute("[data-testid=run-progress]", "aria-valuetext")
        assert re.search(r"step \d+ / 100 · epoch [\d.]+ / 2 · ETA", text), text
        assert page.get_attribute(".chart-card[data-metric=epoch]", "data-metric") == "epoch"  # a new key: a new chart
    # incremental: after the first full read, every request asks only for steps after the last one held
    tails = [u for u in history if "start_step=" in u]
    assert tails and all(int(re.search(r"start_step=(\d+)", u).group(1)) > 0 for u in tails)
    logged = job.step
    client.set_terminated(run_id, "FAILED")
    page.wait_for_selector("[data-testid=run-status] .badge:has-text('failed')", timeout=5000)
    _wait_points(page, logged)
    assert _points(page) == logged + 1  # steps 0..logged, every one drawn exactly
    # the run ended: polling stops
    n = len(history)
    page.wait_for_timeout(2500)
    assert len(history) == n
    probe.assert_clean()


def test_a_running_runs_summarized_series_stays_a_summary(tmp_path, open_page):
    """A running run's long series is drawn as a min/max summary (a pair per pixel column); polling adds the
    new steps' min and max, never raw points at another resolution and never a step it holds already."""
    import json

    from ui_live import LiveServer, make_app

    from hf_mltrack.entities import Metric

    app = make_app(tmp_path / "long")
    store = app.state.server.store
    run = store.create_run(store.create_experiment("long", None, {}), "ci", 1_700_000_000_000, [], "long")
    n = 20_000
    store.log_batch(run.info.run_id, metrics=[Metric("loss", 1 / (1 + s), 1_700_000_000_000 + s, s) for s in range(n)])
    server = LiveServer(app).start()
    try:
        probe = open_page()
        page = probe.page
        tails: list = []
        page.on(
            "response",
            lambda r: "metrics/history-columns" in r.url and "start_step=" in r.url and tails.append((r.url, r.json())),
        )
        goto(probe, f"{server.url}/#/runs/{run.info.run_id}?tab=charts", ".chart-card[data-metric=loss] canvas")
        drawn = _points(page)
        viewport = page.evaluate("() => window.innerWidth")
        plot_width = page.eval_on_selector(".chart-card[data-metric=loss] .u-over", "e => e.clientWidth")
        assert 2 * plot_width <= drawn <= 2 * viewport + 2 < n  # a min/max pair per pixel column
        # polls with nothing new change nothing (a poll racing the first read once added 5,000 raw points)
        page.wait_for_timeout(2500)
        assert _points(page) == drawn
        # new steps, a spike among them: the summary gets their first, min, max and last point
        new = [Metric("loss", 5.0 if s == n + 50 else 0.001, 1_700_000_100_000 + s, s) for s in range(n, n + 100)]
        store.log_batch(run.info.run_id, metrics=new)
        wait_until(
            page, f"JSON.parse(document.querySelector('.chart-card[data-metric=loss]').dataset.last)[0] === {n + 99}"
        )
        assert drawn < _points(page) <= drawn + 4
        assert json.loads(page.get_attribute(".chart-card[data-metric=loss]", "data-last")) == [n + 99, 0.001, 0.001]
        got = [body["series"][0] for url, body in tails if body["series"]]
        assert got and all(int(re.search(r"start_step=(\d+)", u).group(1)) >= n for u, _ in tails)
        assert 5.0 in got[-1]["values"] and got[-1]["steps"][0] == n and len(got[-1]["steps"]) <= 4
        probe.assert_clean()
    finally:
        server.stop()


def test_a_slow_grouped_chart_of_a_running_run_is_not_asked_again_before_it_draws(live, open_page):
    """Polling waits for a chart's first read: a poll that asked a grouped chart's lines again aborted the
    read under way, so a chart slower than the poll interval was drawn only after a second full read."""
    url, client, exp_id, run_id = live
    for run in client.search_runs([exp_id]):
        client.log_param(run.info.run_id, "lr", "0.1")
    probe = open_page()
    page = probe.page
    events: list[str] = []  # "asked" / "answered" / "aborted", in the order the page saw them
    page.on("request", lambda r: "group-aggregate" in r.url and events.append("asked"))
    page.on("requestfinished", lambda r: "group-aggregate" in r.url and events.append("answered"))
    page.on("requestfailed", lambda r: "group-aggregate" in r.url and events.append("aborted"))

    def slow(route) -> None:
        time.sleep(2.5)  # longer than two poll intervals
        route.continue_()

    page.route("**/hf-mltrack/metrics/group-aggregate", slow, times=1)
    goto(
        probe,
        f"{url}/#/experiments/{exp_id}?tab=charts&group=param%3Alr",
        ".chart-card[data-metric=loss][data-groups='1'] canvas",
    )
    # The slow first read was never aborted nor doubled: nothing was asked again before it was answered (a
    # later poll of the running run, after the chart drew, may follow on a busy machine).
    assert "aborted" not in events and events[:2] == ["asked", "answered"], events
    probe.assert_clean()


def test_hidden_tab_does_not_poll(live, open_page):
    url, client, _exp_id, run_id = live
    probe = open_page()
    page = probe.page
    calls: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and calls.append(r.url))
    goto(probe, f"{url}/#/runs/{run_id}?tab=charts", ".chart-card[data-metric=loss][data-points='1']")
    page.wait_for_timeout(1500)
    assert calls  # running: it polls
    page.evaluate(
        """() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    page.wait_for_timeout(300)
    n = len(calls)
    page.wait_for_timeout(2500)
    assert len(calls) == n  # hidden: no requests
    page.evaluate(
        """() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    page.wait_for_timeout(1500)
    assert len(calls) > n  # visible again: it polls again
    probe.assert_clean()


def test_experiment_table_and_charts_follow_running_runs(live, open_page):
    url, client, exp_id, run_id = live
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/experiments/{exp_id}?tab=charts", ".chart-card[data-metric=loss] canvas")
    with Job(client, run_id):
        time.sleep(0.5)
        before = _points(page)
        _wait_points(page, before + 3)
    page.click("[data-testid=tab-table]")
    progress = page.wait_for_selector(f".vt-row[data-id='{run_id}'] [data-testid=run-progress]")
    assert int(progress.get_attribute("aria-valuenow")) > 0
    client.set_terminated(run_id, "KILLED")
    page.wait_for_selector(f".vt-row[data-id='{run_id}'] .status-dot.status-killed", timeout=5000)
    probe.assert_clean()


def test_compare_page_follows_a_running_run(live, open_page):
    url, client, exp_id, run_id = live
    done = client.search_runs([exp_id], "attributes.run_name = 'finished-before'")[0].info.run_id
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/compare?runs={run_id},{done}", ".chart-card[data-metric=loss] canvas")
    with Job(client, run_id):
        time.sleep(0.5)
        before = _points(page)
        _wait_points(page, before + 3)
    client.set_terminated(run_id, "FINISHED")
    probe.assert_clean()


def test_a_run_started_after_the_page_loaded_shows_up_and_its_chart_grows(live, open_page):
    url, client, exp_id, run_id = live
    client.set_terminated(run_id, "FINISHED")  # nothing runs when the page loads
    probe = open_page()
    page = probe.page
    searches: list[str] = []
    page.on("request", lambda r: r.url.endswith("/runs/search") and searches.append(r.post_data or ""))
    goto(probe, f"{url}/#/experiments/{exp_id}?tab=charts", ".chart-card[data-metric=loss] canvas")
    assert page.eval_on_selector_all(".legend-item", "l => l.length") == 2
    later = client.create_run(exp_id, run_name="started-later").info.run_id
    with Job(client, later):
        # the new run joins the charts without a reload (a search every 2 s), then its points arrive
        page.wait_for_selector(".legend-item:has-text('started-later')", timeout=6000)
        first = _points(page)
        _wait_points(page, first + 3)
    # the discovery search asks only for runs started since the newest one held
    assert any("attributes.start_time >=" in body for body in searches)
    page.click("[data-testid=tab-table]")
    page.wait_for_selector(f".vt-row[data-id='{later}'] .run-link:has-text('started-later')")
    assert "3 runs" in page.text_content("[data-testid=run-count]")
    client.set_terminated(later, "FINISHED")
    probe.assert_clean()
