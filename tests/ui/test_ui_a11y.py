"""axe-core (from npm, injected into the page) on every page of the UI: no serious or critical
violations. Needs `npm ci` in ui/ (axe-core is a devDependency); skips with that reason otherwise."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from test_ui_browser import goto

pytestmark = pytest.mark.browser

# a workspace with one panel of each kind (the layout as the URL carries it: base64url of its JSON)
WSPEC = (
    base64.urlsafe_b64encode(
        json.dumps(
            {
                "panels": [
                    {"kind": "line", "title": "loss", "metrics": ["train_loss"]},
                    {
                        "kind": "scatter",
                        "x": "param:learning_rate",
                        "y": "metric:eval_accuracy",
                        "color": "param:lora_r",
                    },
                    {"kind": "parcoords", "metrics": ["param:lora_r", "metric:eval_accuracy"]},
                    {"kind": "bar", "metrics": ["eval_accuracy"]},
                    {"kind": "markdown", "text": "## Notes"},
                ]
            }
        ).encode()
    )
    .decode()
    .rstrip("=")
)
AXE = Path(__file__).resolve().parents[2] / "ui" / "node_modules" / "axe-core" / "axe.min.js"


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    out = []
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            targets = [f"{', '.join(n['target'])}: {n.get('failureSummary', '')[:160]}" for n in v["nodes"][:3]]
            out.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return out


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_or_critical_axe_violations_on_any_page(seeded, browser, theme):
    if not AXE.is_file():
        if os.environ.get("HF_MLTRACK_REQUIRE_AXE"):  # .ci/run installed it: a missing file is a failure
            pytest.fail(f"axe-core is missing at {AXE} although `npm ci` ran in ui/")
        pytest.skip(f"axe-core is not installed: run `npm ci` in ui/ ({AXE} missing)")
    from ui_live import VIEWPORT, PageProbe

    # the page's Content-Security-Policy forbids injected scripts: this context lets axe in
    ctx = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    try:
        probe = PageProbe(ctx.new_page())
        page = probe.page
        page.goto(seeded.url + "/")
        page.evaluate(f"() => localStorage.setItem('hf_mltrack.theme', '{theme}')")
        exp, run = seeded.experiment_id, seeded.artifact_run_id
        pages = [
            ("/", "[data-testid=experiments-table]"),
            (f"/experiments/{exp}", "[data-testid=runs-table] .vt-row"),
            (f"/experiments/{exp}?group=param%3Alora_r", "[data-testid=runs-table] .vt-group-row"),
            (f"/experiments/{exp}?tab=charts&group=param%3Alora_r", ".chart-card canvas"),
            (f"/experiments/{exp}?tab=models", "[data-testid=logged-models]"),
            (f"/runs/{run}", "[data-testid=params-table]"),
            (f"/runs/{seeded.run_ids[0]}?tab=charts", ".chart-card canvas"),
            (f"/runs/{run}?tab=artifacts", "[data-testid=artifact-tree] .art-row"),
            (f"/runs/{run}?tab=generations", "[data-testid=generations] .empty"),
            (f"/compare?runs={seeded.run_ids[0]},{seeded.run_ids[1]}", ".chart-card canvas"),
            (f"/experiments/{exp}?tab=workspace&wspec={WSPEC}", "[data-testid=ws-panel] canvas"),
            ("/models", "main h1"),
            (f"/traces?experiment={exp}", "main h1"),
        ]
        found = {}
        for route, ready in pages:
            goto(probe, f"{seeded.url}/#{route}", ready)
            page.wait_for_timeout(200)
            bad = _violations(page)
            if bad:
                found[route] = bad
        assert not found, "\n".join(f"{r}: {v}" for r, bad in found.items() for v in bad)
        probe.assert_clean()
    finally:
        ctx.close()
