"""The web UI in real Chromium (issue 22, item 5): this branch's UI and the UI of a base commit side by
side, on the same server data (each UI served by its own server process), each measurement in a fresh
browser context, medians of --repeat.

    python benchmarks/bench_ui.py [--quick] [--repeat 3] [--base main] [--port 5800] [--profile] [--only chart,groups]

Workloads (the figures of the issue):
  * a 1,000,000-point series: navigation of a fresh page to its run chart -> chart drawn;
  * a 10,000-run experiment: navigation -> first table rows painted; a click on a metric column -> re-sorted
    rows painted;
  * scrolling a 100,000-run table (served by a route fixture: creating 100,000 real runs would take the
    benchmark's whole budget): main-thread time per frame (rAF callback to the message posted after that
    frame), p50 / p95;
  * 50 runs of 1,000 steps grouped by a param into 5 groups: navigation -> the line + min-max band of each
    group drawn (a base without grouped charts times out: run it with a base that has them).

Times come from the page's own clock (performance.now() since navigation start), sampled every animation
frame by an init script and awaited in the page, so Python's polling adds nothing. --profile prints, for
this branch, each workload's requests (start, first byte, end, bytes), marks and long tasks instead.
Needs Debian's /usr/bin/chromium and Python playwright (no `playwright install`). --quick: 200,000 points,
2,000 runs, 20,000-run scroll, 1 repeat. Chromium runs with the tests' flags (tests/ui/ui_live.py), which
stop it loading its own address-bar popup page into every fresh context; --browser-preload leaves that on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))
sys.path.insert(0, str(ROOT))

from ui_live import CHROMIUM, CHROMIUM_ARGS, NO_BROWSER_PRELOAD, VIEWPORT  # noqa: E402  (tests/ui: the tests' browser, flags explained there)

#: --browser-preload: without the flag that stops Chromium loading its own address-bar popup into each new
#: window (each measurement's fresh context), for a figure comparable with earlier runs of this script.
PRELOAD_ARGS = [a for a in CHROMIUM_ARGS if a != NO_BROWSER_PRELOAD]

# Runs in every page before the app: records when a selector first matches (checked every frame).
PROBE = """
window.__marks = {};
window.__watch = (name, test) => {
  const tick = () => {
    if (window.__marks[name] === undefined) {
      try { if (test()) { window.__marks[name] = performance.now(); return; } } catch (e) {}
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
};
"""


def base_static(ref: str, out: Path) -> Path:
    """The committed UI build of git ref `ref`, extracted into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{ref}:hf_mltrack/server/ui/static"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        data = subprocess.run(
            ["git", "show", f"{ref}:hf_mltrack/server/ui/static/{name}"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        (out / name).write_bytes(data)
    return out


def seed(store, points: int, runs: int, group_runs: int) -> dict:
    from hf_mltrack.entities import Metric, Param

    t0 = time.perf_counter()
    out: dict = {}
    exp = store.create_experiment("bench-million", None, {})
    run = store.create_run(exp, "bench", 1_700_000_000_000, [], "million")
    for start in range(0, points, 100_000):
        store.log_batch(
            run.info.run_id,
            metrics=[
                Metric("loss", 1.0 / (1 + s / 1000), 1_700_000_000_000 + s, s)
                for s in range(start, min(points, start + 100_000))
            ],
        )
    out["million_run"] = run.info.run_id
    exp = store.create_experiment("bench-table", None, {})
    for i in range(runs):
        r = store.create_run(exp, "bench", 1_700_000_000_000 + i, [], f"run-{i:05d}")
        store.log_batch(
            r.info.run_id,
            metrics=[Metric("loss", (i * 7919 % 10007) / 10007, 0, 0)],
            params=[Param("lr", str(i % 7))],
        )
    out["table_exp"] = exp
    exp = store.create_experiment("bench-groups", None, {})
    for i in range(group_runs):
        r = store.create_run(exp, "bench", 1_700_000_000_000 + i, [], f"g-{i:02d}")
        store.log_batch(
            r.info.run_id,
            metrics=[Metric("loss", 2.0 / (1 + s / 100) + 0.01 * (i % 7), 0, s) for s in range(1000)],
            params=[Param("lr", str(i % 5))],
        )
    out["group_exp"] = exp
    out["seed_s"] = time.perf_counter() - t0
    return out


def fake_runs(start: int, n: int, total: int) -> list[dict]:
    return [
        {
            "info": {
                "run_id": f"{i:032x}",
                "run_name": f"run-{i:06d}",
                "experiment_id": "1",
                "status": "FINISHED",
                "start_time": 1_764_000_000_000 + i,
                "end_time": 1_764_000_060_000 + i,
                "lifecycle_stage": "active",
                "user_id": "bench",
            },
            "data": {
                "metrics": [{"key": "loss", "value": (i * 7919 % 10007) / 10007, "timestamp": 0, "step": 0}],
                "params": [{"key": "lr", "value": str(i % 7)}],
                "tags": [],
            },
        }
        for i in range(start, min(start + n, total))
    ]


# --profile: the rows of PROFILE_JS of the page last closed by `done` (None: not profiling).
PROFILED: list | None = None


def fresh(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(PROBE)
    if PROFILED is not None:
        ctx.add_init_script(LONGTASKS)
    return ctx, ctx.new_page()


def done(ctx, page) -> None:
    """Close a measured page's context (first reading where its time went, under --profile)."""
    if PROFILED is not None:
        PROFILED[:] = page.evaluate(PROFILE_JS)
    ctx.close()


def mark(page, name: str, timeout: float = 60) -> float:
    """The page-clock time of mark `name`: one evaluate awaiting it in the page (no polling from here,
    which would take the renderer's main thread every few ms)."""
    return float(
        page.evaluate(
            """([name, ms]) => new Promise((done, fail) => {
                const t = setTimeout(() => fail(new Error('timeout: ' + name)), ms);
                const check = () => {
                    const v = window.__marks[name];
                    if (v !== undefined) { clearTimeout(t); done(v); } else requestAnimationFrame(check);
                };
                check();
            })""",
            [name, timeout * 1000],
        )
    )


def until(page, expression: str, timeout: float = 120) -> None:
    """Poll a JS expression (wait_for_function evals strings, which the UI's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => !!({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)


LOADED = "!/loading/i.test(document.querySelector('[data-testid=run-count]')?.textContent ?? 'loading')"


def chart_ms(browser, url: str, run_id: str) -> float:
    ctx, page = fresh(browser)
    try:
        page.add_init_script(
            "window.__watch('chart', () => { const c = document.querySelector('.chart-card[data-metric=loss]');"
            " return c && Number(c.dataset.points) > 0 && c.querySelector('canvas'); });"
        )
        page.goto(f"{url}/#/runs/{run_id}?tab=charts")
        return mark(page, "chart")
    finally:
        done(ctx, page)


def table_ms(browser, url: str, exp: str) -> tuple[float, float]:
    ctx, page = fresh(browser)
    try:
        page.add_init_script(
            "window.__watch('rows', () => document.querySelector('[data-testid=runs-table] .vt-row'));"
        )
        page.goto(f"{url}/#/experiments/{exp}")
        first = mark(page, "rows")
        # the whole experiment loaded, then one click on the loss column, until the new order is painted
        until(page, LOADED)
        sort = page.evaluate(
            """() => new Promise((done) => {
                const th = document.querySelector(".vt-th[title^='metrics.loss']");
                const target = th.querySelector('button') || th;
                const t0 = performance.now();
                target.click();
                requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
            })"""
        )
        return first, float(sort)
    finally:
        done(ctx, page)


def scroll_frames(browser, url: str, exp: str, total: int) -> tuple[float, float]:
    ctx, page = fresh(browser)
    try:

        def search(route):
            body = json.loads(route.request.post_data or "{}")
            start = int(body.get("page_token") or 0)
            size = int(body.get("max_results") or 1000)
            out = {"runs": fake_runs(start, size, total)}
            if start + size < total:
                out["next_page_token"] = str(start + size)
            route.fulfill(body=json.dumps(out), content_type="application/json")

        page.route("**/api/2.0/mlflow/runs/search", search)
        page.goto(f"{url}/#/experiments/{exp}")
        page.wait_for_selector("[data-testid=runs-table] .vt-row")
        until(page, LOADED)
        frames = page.evaluate(
            """() => new Promise((done) => {
                const el = document.querySelector('[data-testid=runs-table]');
                const out = [];
                const ch = new MessageChannel();
                let t0 = 0;
                ch.port1.onmessage = () => { out.push(performance.now() - t0); };
                let n = 0;
                const step = () => {
                    if (n++ >= 240) return done(out);
                    t0 = performance.now();
                    el.scrollTop += 900;   // ~26 rows a frame: a fast fling
                    ch.port2.postMessage(0); // runs after this frame's rendering
                    requestAnimationFrame(step);
                };
                requestAnimationFrame(step);
            })"""
        )
        frames = sorted(frames)
        return statistics.median(frames), frames[int(len(frames) * 0.95) - 1]
    finally:
        done(ctx, page)


def group_ms(browser, url: str, exp: str) -> float:
    ctx, page = fresh(browser)
    try:
        page.add_init_script(
            "window.__watch('groups', () => {"
            " const c = document.querySelector(\".chart-card[data-metric=loss][data-groups='5']\");"
            " return c && Number(c.dataset.points) > 0 && c.querySelector('canvas'); });"
        )
        page.goto(f"{url}/#/experiments/{exp}?tab=charts&group=param%3Alr")
        return mark(page, "groups")
    finally:
        done(ctx, page)


PROFILE_JS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const rows = [['navigation: html', 0, nav.responseStart, nav.responseEnd, nav.encodedBodySize]];
    for (const e of performance.getEntriesByType('resource')) {
        let name = e.name.replace(location.origin + '/', '').replace(/run_ids=[^&]*/g, 'run_ids=..').slice(0, 80);
        const app = (e.serverTiming || []).find((t) => t.name === 'app');
        if (app) name += ` [server ${app.duration.toFixed(1)} ms]`;
        rows.push([name, e.startTime, e.responseStart, e.responseEnd, e.encodedBodySize]);
    }
    for (const e of performance.getEntriesByType('mark')) rows.push(['mark: ' + e.name, e.startTime, null, null, null]);
    for (const e of performance.getEntriesByType('measure')) {
        rows.push(['measure: ' + e.name, e.startTime, e.duration, null, null]);
    }
    for (const e of (window.__long || [])) rows.push(['longtask', e[0], e[1], null, null]);
    rows.push(['done', window.__marks[Object.keys(window.__marks)[0]], null, null, null]);
    return rows.sort((a, b) => a[1] - b[1]);
}"""

LONGTASKS = """
window.__long = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask', buffered: true });
"""


def profile(browser, url: str, data: dict) -> None:
    """Where the time of each workload goes: requests (start, first byte, end, bytes), the app's
    performance marks and main-thread long tasks (>50 ms), in ms since navigation start."""
    global PROFILED
    for title, fn, args in (
        ("chart", chart_ms, (data["million_run"],)),
        ("table", table_ms, (data["table_exp"],)),
        ("groups", group_ms, (data["group_exp"],)),
    ):
        PROFILED = []
        try:
            fn(browser, url, *args)
            rows = PROFILED
        finally:
            PROFILED = None
        print(f"\n== {title}", file=sys.stderr)
        for name, start, b, c, size in rows:
            if name.startswith("longtask") or name.startswith("measure"):
                print(f"  {start:8.1f}  {name}  {b:.1f} ms", file=sys.stderr)
            elif b is None:
                print(f"  {start:8.1f}  {name}", file=sys.stderr)
            else:
                print(f"  {start:8.1f}  {name}  ttfb {b:.1f}  end {c:.1f}  {size or 0:,} B", file=sys.stderr)


class ServerProcess:
    """The tracking server with a given UI build in a process of its own (as in production: the
    browser's driver in this process never shares an interpreter lock with the server)."""

    def __init__(self, db: str, art: str, static_dir: str, port: int, timing: bool = False) -> None:
        import urllib.request

        from ui_live import free_port

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        args = [sys.executable, __file__, "--serve", db, art, static_dir, str(self.port)]
        self.proc = subprocess.Popen(args + (["--timing"] if timing else []), env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the benchmark server on port {self.port} did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class ServerTiming:
    """ASGI middleware (--profile only): each response's ``Server-Timing: app;dur=<ms>`` from the request's
    arrival to its response headers, so the page's resource timing tells server time from the rest."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed(message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1000
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.1f}".encode())],
                }
            await send(message)

        await self.app(scope, receive, timed)


def serve(db: str, art: str, static_dir: str, port: int, timing: bool = False) -> None:
    import uvicorn

    from hf_mltrack.server import create_app
    from hf_mltrack.server.app import settle_heap
    from hf_mltrack.server.ui import mount_ui

    app = create_app(db, artifacts_destination=art)
    # create_app mounted this checkout's UI: replace its routes by the given build's
    app.router.routes = [r for r in app.router.routes if getattr(r, "name", "") not in ("ui", "ui-static")]
    mount_ui(app, static_dir=static_dir)
    # as `hf-mltrack server` starts: without it a full collection walked the whole startup heap (~50 ms
    # each, about one per 1,000-run page the table workload reads), and the next workload met one
    settle_heap(app)
    uvicorn.run(ServerTiming(app) if timing else app, host="127.0.0.1", port=port, log_level="error")


def main() -> None:
    if len(sys.argv) in (6, 7) and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), timing=sys.argv[6:] == ["--timing"])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--base", default="main", help="git ref whose committed UI build is the baseline (or a folder of a build)"
    )
    ap.add_argument("--port", type=int, default=0, help="this branch's server port (the base's: the next); 0: free")
    ap.add_argument("--profile", action="store_true", help="print where each workload's time goes (this branch)")
    ap.add_argument(
        "--browser-preload",
        action="store_true",
        help="let Chromium load its address-bar popup into each fresh context, as before (see tests/ui/ui_live.py)",
    )
    ap.add_argument(
        "--only",
        default="chart,table,scroll,groups",
        help="comma-separated workloads to time (chart, table, scroll, groups); all by default",
    )
    a = ap.parse_args()
    only = set(a.only.split(","))
    if not only <= {"chart", "table", "scroll", "groups"}:
        ap.error(f"--only {a.only!r}: name workloads among chart, table, scroll, groups")
    points, runs, scroll_total = (200_000, 2_000, 20_000) if a.quick else (1_000_000, 10_000, 100_000)
    repeat = 1 if a.quick else a.repeat

    from playwright.sync_api import sync_playwright

    from hf_mltrack.server.ui import STATIC_DIR
    from hf_mltrack.store import get_tracking_store

    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    ours = base = None
    try:
        db = f"sqlite:///{tmp / 'db.sqlite'}"
        store = get_tracking_store(db)
        data = seed(store, points, runs, 50)
        print(f"seeded {points:,} points, {runs:,} runs, 50 group runs in {data['seed_s']:.1f}s", file=sys.stderr)
        assert Path(STATIC_DIR).is_dir()
        art = str(tmp / "art")
        ours = ServerProcess(db, art, STATIC_DIR, a.port, timing=a.profile)
        base_dir = a.base if os.path.isdir(a.base) else str(base_static(a.base, tmp / "base-static"))
        base = ServerProcess(db, art, base_dir, a.port + 1 if a.port else 0)
        rows = []
        with sync_playwright() as pw:
            args = PRELOAD_ARGS if a.browser_preload else CHROMIUM_ARGS
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
            if a.profile:
                for _ in range(2):  # the second pass is the warm one
                    profile(browser, ours.url, data)
                browser.close()
                return
            results: dict[str, dict[str, list[float]]] = {"ours": {}, "base": {}}
            for srv in (ours, base):  # warm-up, not measured: the database's pages in the OS cache
                chart_ms(browser, srv.url, data["million_run"])
                table_ms(browser, srv.url, data["table_exp"])
                group_ms(browser, srv.url, data["group_exp"])
            for i in range(repeat):
                order = (("ours", ours), ("base", base)) if i % 2 == 0 else (("base", base), ("ours", ours))
                for name, srv in order:
                    r = results[name]
                    if "chart" in only:
                        r.setdefault("chart", []).append(chart_ms(browser, srv.url, data["million_run"]))
                    if "table" in only:
                        first, sort = table_ms(browser, srv.url, data["table_exp"])
                        r.setdefault("first", []).append(first)
                        r.setdefault("sort", []).append(sort)
                    if "scroll" in only:
                        p50, p95 = scroll_frames(browser, srv.url, data["table_exp"], scroll_total)
                        r.setdefault("scroll50", []).append(p50)
                        r.setdefault("scroll95", []).append(p95)
                    if "groups" in only:
                        r.setdefault("groups", []).append(group_ms(browser, srv.url, data["group_exp"]))
            browser.close()
        med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in results.items()}
        o, b = med["ours"], med["base"]
        rows = [
            (name, budget, o[key], b[key])
            for name, budget, key in (
                (f"{points:,}-point series: navigation -> chart drawn", "300", "chart"),
                (f"{runs:,}-run experiment: navigation -> first rows", "500", "first"),
                (f"{runs:,}-run experiment: sort by a metric -> painted", "200", "sort"),
                (f"{scroll_total:,}-run table scroll: frame time p50", "—", "scroll50"),
                (f"{scroll_total:,}-run table scroll: frame time p95", "16", "scroll95"),
                ("50 runs in 5 groups, line + band: navigation -> drawn", "300", "groups"),
            )
            if key in o
        ]
        print(f"\n| workload (median of {repeat}, ms) | budget | this branch | base ({a.base}) | ratio |")
        print("|---|---|---|---|---|")
        for name, budget, ours_ms, base_ms in rows:
            print(f"| {name} | {budget} | {ours_ms:.0f} | {base_ms:.0f} | {ours_ms / base_ms:.2f}x |")
    finally:
        for srv in (ours, base):
            if srv is not None:
                srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
