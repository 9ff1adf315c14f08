"""Workspaces in real Chromium: panels added and edited through the UI, saved for the experiment on the
server, reproduced by a link (saved name or unsaved layout in the URL), deleted."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator

import pytest
from test_ui_browser import goto, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[tuple[str, str]]:
    from ui_live import LiveServer, make_app

    from hf_mltrack.entities import Metric, Param

    root = tmp_path_factory.mktemp("ui-ws")
    app = make_app(root)
    store = app.state.server.store
    exp = store.create_experiment("ws", None, {})
    for i, lr in enumerate((1e-4, 3e-4, 1e-3)):
        run = store.create_run(exp, "ci", 1_700_000_000_000 + i, [], f"lr{lr:g}")
        metrics = [Metric("loss", 2 * math.exp(-s * lr * 30), 1_700_000_000_000 + s, s) for s in range(40)]
        metrics.append(Metric("eval_loss", 1 + i / 10, 0, 40))
        store.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", str(lr))])
    server = LiveServer(app).start()
    try:
        yield server.url, exp
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _kinds(page) -> list[str]:
    return page.eval_on_selector_all("[data-testid=ws-panel]", "e => e.map(x => x.dataset.kind)")


def test_build_save_share_and_delete_a_workspace(ws, open_page):
    url, exp = ws
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/experiments/{exp}?tab=workspace", "[data-testid=workspace] .empty")
    for kind in ("line", "scatter", "markdown", "bar", "parcoords"):
        page.select_option("[data-testid=ws-kind]", kind)
        page.click("[data-testid=ws-add]")
    assert _kinds(page) == ["line", "scatter", "markdown", "bar", "parcoords"]
    wait_until(
        page,
        "Number(document.querySelector('[data-testid=ws-panel][data-kind=line] .chart-card')?.dataset.points) === 3",
    )
    page.wait_for_selector("[data-testid=ws-panel][data-kind=scatter] [data-testid=scatter][data-dots='3']")
    assert len(page.query_selector_all("[data-testid=ws-bars] .bar-row")) == 3
    # edit the note through its dialog
    page.click("[data-testid=ws-panel][data-kind=markdown] button[title^='Edit']")
    page.fill("dialog textarea[name=text]", "## Verdict\n\n**3e-4** wins.")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("[data-testid=ws-panel][data-kind=markdown] h2:has-text('Verdict')")
    unsaved_link = page.url
    assert "wspec=" in unsaved_link
    # remove the bar panel
    page.click("[data-testid=ws-panel][data-kind=bar] button[title^='Remove']")
    assert _kinds(page) == ["line", "scatter", "markdown", "parcoords"]

    page.click("[data-testid=ws-save]")
    page.fill("dialog input[name=name]", "sweep view")
    page.click("dialog button[type=submit]")
    wait_until(page, "document.querySelector('[data-testid=ws-status]').textContent === 'saved'")
    assert "ws=sweep+view" in page.url or "ws=sweep%20view" in page.url

    # a link to the saved workspace, in a fresh browser context: the server's copy
    other = open_page()
    goto(other, f"{url}/#/experiments/{exp}?tab=workspace&ws=sweep%20view", "[data-testid=ws-panel]")
    wait_until(other.page, "document.querySelectorAll('[data-testid=ws-panel]').length === 4")
    assert _kinds(other.page) == ["line", "scatter", "markdown", "parcoords"]
    assert other.page.input_value("[data-testid=ws-picker]") == "sweep view"
    # the unsaved layout travels in its link too
    third = open_page()
    goto(third, unsaved_link, "[data-testid=ws-panel]")
    assert _kinds(third.page) == ["line", "scatter", "markdown", "bar", "parcoords"]

    page.click("[data-testid=ws-delete]")
    page.click("dialog button[type=submit]")
    wait_until(
        page, "![...document.querySelectorAll('[data-testid=ws-picker] option')].some(o => o.value === 'sweep view')"
    )
    for p in (probe, other, third):
        p.assert_clean()


def test_panels_reorder_by_keyboard_and_drag_and_canvases_work_from_the_keyboard(ws, open_page):
    url, exp = ws
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/experiments/{exp}?tab=workspace", "[data-testid=workspace] .empty")
    for kind in ("scatter", "parcoords", "markdown"):
        page.select_option("[data-testid=ws-kind]", kind)
        page.click("[data-testid=ws-add]")
    wait_until(page, "document.querySelectorAll('[data-testid=ws-panel]').length === 3")
    assert _kinds(page) == ["scatter", "parcoords", "markdown"]

    # keyboard: Move down on the first panel; the focus stays on the moved panel's button
    page.focus("[data-testid=ws-panel][data-index='0'] button[data-move=down]")
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelector('[data-testid=ws-panel]').dataset.kind === 'parcoords'")
    assert _kinds(page) == ["parcoords", "scatter", "markdown"]
    assert page.evaluate("() => document.activeElement.closest('[data-testid=ws-panel]').dataset.kind") == "scatter"
    page.keyboard.press("Enter")  # again: scatter goes last
    wait_until(page, "document.querySelectorAll('[data-testid=ws-panel]')[2].dataset.kind === 'scatter'")
    assert page.is_disabled("[data-testid=ws-panel][data-index='2'] button[data-move=down]")
    assert page.is_disabled("[data-testid=ws-panel][data-index='0'] button[data-move=up]")
    # mouse: drag the last panel's title row onto the first panel
    page.set_viewport_size({"width": 1400, "height": 1500})  # both panels in view: no scroll mid-drag
    page.drag_and_drop("[data-testid=ws-panel][data-index='2'] .ws-drag", "[data-testid=ws-panel][data-index='0']")
    wait_until(page, "document.querySelector('[data-testid=ws-panel]').dataset.kind === 'scatter'")
    assert _kinds(page) == ["scatter", "parcoords", "markdown"]
    assert "wspec=" in page.url  # the new order is in the link

    # the scatter from the keyboard: focus, arrows move a highlighted run (announced), Enter opens it
    canvas = "[data-testid=ws-panel][data-kind=scatter] [data-testid=scatter-canvas]"
    page.focus(canvas)
    page.keyboard.press("ArrowRight")
    announce = "[data-testid=ws-panel][data-kind=scatter] [data-testid=scatter-announce]"
    first = page.text_content(announce)
    assert first.endswith("(1 of 3)") and first.split(":")[0] in ("lr0.0001", "lr0.0003", "lr0.001"), first
    page.keyboard.press("ArrowRight")
    second = page.text_content(announce)
    assert second.endswith("(2 of 3)") and second != first
    focused = page.get_attribute("[data-testid=ws-panel][data-kind=scatter] [data-testid=scatter]", "data-focused")
    assert focused == second.split(":")[0]
    page.keyboard.press("Enter")
    wait_until(page, f"document.querySelector('[data-testid=run-name]')?.textContent === '{focused}'")
    page.go_back()

    # parallel coordinates: the same keys, the run's values read out axis by axis
    pc = "[data-testid=ws-panel][data-kind=parcoords] [data-testid=parcoords]"
    page.wait_for_selector(pc)
    page.focus(pc)
    page.keyboard.press("ArrowDown")
    pc_said = "[data-testid=ws-panel][data-kind=parcoords] [data-testid=parcoords-announce]"
    text = page.text_content(pc_said)
    assert text.startswith("lr") and "(1 of 3)" in text, text
    run = page.get_attribute(pc, "data-focused")
    assert text.startswith(run)
    page.keyboard.press("End")
    assert "(3 of 3)" in page.text_content(pc_said)
    last = page.get_attribute(pc, "data-focused")
    page.keyboard.press("Enter")
    wait_until(page, f"document.querySelector('[data-testid=run-name]')?.textContent === '{last}'")
    probe.assert_clean()
