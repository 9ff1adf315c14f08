"""Generations across checkpoints in real Chromium: prompts x steps on the run page, one prompt across
runs on the compare page, and the word diff between two outputs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from test_ui_browser import goto

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gens(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[tuple[str, str, str]]:
    from ui_live import LiveServer, make_app

    import hf_mltrack
    from hf_mltrack.tracking import fluent

    root = tmp_path_factory.mktemp("ui-gens")
    server = LiveServer(make_app(root)).start()
    hf_mltrack.set_tracking_uri(server.url)
    try:
        hf_mltrack.set_experiment("gens")
        ids = []
        for name, late in (("base", "the cat sat on the mat"), ("tuned", "the cat slept on the warm mat")):
            with hf_mltrack.start_run(run_name=name) as run:
                prompts = ["Describe the cat:", "Say hi:"]
                hf_mltrack.log_generations(prompts, ["cat cat cat", "hi"], step=100, metrics={"eval_loss": 2.5})
                hf_mltrack.log_generations(prompts, [late, "hello there"], step=200, metrics={"eval_loss": 1.25})
                if name == "base":  # an image series logged with a step: a slider over its steps
                    import numpy as np

                    for step, shade in ((100, 40), (200, 200)):
                        hf_mltrack.log_image(np.full((8, 12, 3), shade, dtype=np.uint8), key="samples", step=step)
                ids.append(run.info.run_id)
        yield server.url, ids[0], ids[1]
    finally:
        fluent._reset_state()
        hf_mltrack.set_tracking_uri(None)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_run_page_shows_prompts_by_checkpoint_with_a_word_diff(gens, open_page):
    url, base, _tuned = gens
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/runs/{base}?tab=generations", "[data-testid=generations-table]")
    heads = page.eval_on_selector_all("[data-testid=generations-table] thead th", "t => t.map(e => e.textContent)")
    assert heads == ["Prompt", "step 100eval_loss 2.5", "step 200eval_loss 1.25"]
    rows = page.eval_on_selector_all(
        "[data-testid=generations-table] tbody tr", "r => r.map(e => [...e.children].map(c => c.textContent))"
    )
    assert rows == [["Describe the cat:", "cat cat cat", "the cat sat on the mat"], ["Say hi:", "hi", "hello there"]]
    page.check("[data-testid=diff-previous]")
    cell = "[data-testid=generations-table] tbody tr:first-child td[data-step='200']"
    ins = page.eval_on_selector_all(f"{cell} ins", "e => e.map(x => x.textContent)")
    dels = page.eval_on_selector_all(f"{cell} del", "e => e.map(x => x.textContent)")
    assert " ".join(ins).split() == ["the", "sat", "on", "the", "mat"] and " ".join(dels).split() == ["cat", "cat"]
    probe.assert_clean()


def test_compare_page_shows_one_prompt_across_runs(gens, open_page):
    url, base, tuned = gens
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/compare?runs={base},{tuned}&tab=generations", "[data-testid=compare-generations] .gen-card")
    # each card reads as its run's output once the deleted words are set aside
    texts = page.eval_on_selector_all(
        ".gen-card .gen-text",
        """e => e.map(x => {
            const c = x.cloneNode(true);
            c.querySelectorAll('del').forEach(d => d.remove());
            return c.textContent; })""",
    )
    assert texts == ["the cat sat on the mat", "the cat slept on the warm mat"]
    ins = page.eval_on_selector_all(f".gen-card[data-run='{tuned}'] ins", "e => e.map(x => x.textContent)")
    assert " ".join(ins).split() == ["slept", "warm"]
    assert page.eval_on_selector_all(f".gen-card[data-run='{tuned}'] del", "e => e.map(x => x.textContent)") == ["sat"]
    page.select_option("[data-testid=gen-step]", "100")
    page.select_option("[data-testid=gen-prompt]", "Say hi:")
    page.wait_for_selector(f".gen-card[data-run='{tuned}'] .gen-text:text-is('hi')")
    probe.assert_clean()


def test_image_series_has_a_step_slider(gens, open_page):
    url, base, _tuned = gens
    probe = open_page()
    page = probe.page
    goto(probe, f"{url}/#/runs/{base}?tab=generations", "[data-testid=step-slider]")
    img = "[data-testid=image-series] [data-key=samples] img"
    assert page.get_attribute(img, "alt") == "samples at step 200"  # the latest step first
    page.focus("[data-testid=step-slider]")
    page.keyboard.press("ArrowLeft")  # keyboard-operable
    assert page.get_attribute(img, "alt") == "samples at step 100"
    assert "step_100.png" in page.get_attribute(img, "src")
    for _ in range(100):
        if page.eval_on_selector(img, "i => i.complete && i.naturalWidth") == 12:
            break
        page.wait_for_timeout(50)
    assert page.eval_on_selector(img, "i => i.naturalWidth") == 12
    probe.assert_clean()
