"""The Traces page on live trace data: spans recorded with hf_mltrack and served by the server in MLflow's
trace-data shape (base64 ids, JSON-text attributes) show as a span tree with their inputs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_span_tree_of_a_recorded_trace(seeded, open_page) -> None:
    import hf_mltrack
    from hf_mltrack.tracing import export

    hf_mltrack.set_tracking_uri(seeded.url)
    hf_mltrack.set_experiment(experiment_id=seeded.experiment_id)
    with hf_mltrack.start_span("pipeline", span_type="CHAIN") as root:
        root.set_inputs({"text": "hello <b>world</b>"})
        with hf_mltrack.start_span("generate", span_type="LLM") as child:
            child.set_inputs({"max_new_tokens": 8})
    export.flush()
    request_id = hf_mltrack.tracing.get_last_active_trace().info.request_id

    probe = open_page(f"{seeded.url}/#/traces?experiment={seeded.experiment_id}")
    page = probe.page
    page.wait_for_selector(f"[data-trace='{request_id}']")
    page.click(f"[data-trace='{request_id}']")
    page.wait_for_selector("[data-testid=span-tree] .span-row >> nth=1")
    rows = page.eval_on_selector_all("[data-testid=span-tree] .span-row", "rows => rows.map(r => r.textContent)")
    assert len(rows) == 2 and "pipeline" in rows[0] and "generate" in rows[1]
    page.click("[data-testid=span-tree] .span-row >> nth=1")
    details = page.text_content("[data-testid=span-details]")
    assert "max_new_tokens" in details and "LLM" in details
    probe.assert_clean()
