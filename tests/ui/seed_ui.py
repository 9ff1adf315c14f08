"""Seed data of the browser tests: experiments, runs with metrics, params, tags, artifacts and XSS probes.

Seeded through a live server with the fluent API (``set_tracking_uri(server.url)``), the way users log,
so experiments get ``mlflow-artifacts:/`` roots and artifacts go through the server's proxy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Strings that would run script if any page rendered them as HTML or followed them as links.
XSS_NAME = "<img src=x onerror=\"window.__xss=1;alert('name')\">"
XSS_DESCRIPTION = (
    "# Notes\n\n<script>window.__xss=1;alert('script')</script>\n\n"
    "[click me](javascript:window.__xss=1) and [data](data:text/html,<script>alert(1)</script>)\n\n"
    '<img src=x onerror="window.__xss=1">'
)
XSS_TAG = "<svg onload=\"window.__xss=1;alert('tag')\"></svg>"
XSS_PARAM = '"><script>window.__xss=1</script>'

MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: hf_mltrack.transformers
    python_version: 3.11.9
  transformers:
    task: text-generation
    transformers_version: 4.46.0
model_size_bytes: 1048576
model_uuid: 5f0c2a7e4b9d4c7f9a1e2d3c4b5a6978
run_id: RUN_ID
signature:
  inputs: '[{"type": "string", "name": "prompt", "required": true}]'
  outputs: '[{"type": "string", "name": "generated_text", "required": true}]'
  params: null
utc_time_created: '2026-11-26 04:00:00.000000'
"""


@dataclass
class Seeded:
    url: str
    experiment_id: str = ""
    xss_experiment_id: str = ""
    run_ids: list[str] = field(default_factory=list)
    run_names: list[str] = field(default_factory=list)
    parent_id: str = ""
    child_ids: list[str] = field(default_factory=list)
    artifact_run_id: str = ""
    xss_run_id: str = ""
    long_run_id: str = ""
    many_metrics_run_id: str = ""


def seed(url: str, long_points: int = 20_000) -> Seeded:
    """Log the test data to the server at ``url``; returns the ids the tests look for."""
    import numpy as np

    import hf_mltrack
    from hf_mltrack.artifacts import fluent as art
    from hf_mltrack.tracking import fluent

    out = Seeded(url=url)
    hf_mltrack.set_tracking_uri(url)
    try:
        exp = hf_mltrack.set_experiment("llama2-lora-sft")
        out.experiment_id = exp.experiment_id
        grid = [(lr, r) for lr in (1e-4, 3e-4, 1e-3) for r in (4, 8, 16)]
        for i, (lr, rank) in enumerate(grid):
            name = f"sft-lr{lr:g}-r{rank}"
            status = "FAILED" if i == 7 else "FINISHED"
            with hf_mltrack.start_run(run_name=name, tags={"team": "nlp", "sweep": "lora-grid"}) as run:
                hf_mltrack.log_params(
                    {
                        "learning_rate": lr,
                        "lora_r": rank,
                        "optimizer": "adamw" if i % 2 else "adafactor",
                        "epochs": 3,
                    }
                )
                final = 0.0
                # a second per step, as a training loop logs them (a tight loop logs 300 points within a
                # millisecond or two, which a time axis rightly draws as one or two points)
                t0 = run.info.start_time
                for step in range(300):
                    final = 2.5 * math.exp(-step * lr * 20) + 0.3 / rank + 0.02 * math.sin(step / 5 + i)
                    hf_mltrack.log_metric("train_loss", final, step=step, timestamp=t0 + step * 1000)
                for e in range(1, 4):
                    hf_mltrack.log_metric("eval_loss", final + 0.1 / e, step=e * 100)
                hf_mltrack.log_metrics(
                    {"eval_accuracy": 0.6 + 0.03 * rank / 4 - lr * 50, "system/cpu_percent": 40.0 + i}
                )
                out.run_ids.append(run.info.run_id)
                out.run_names.append(name)
            if status == "FAILED":
                hf_mltrack.MlTrackClient(url).set_terminated(run.info.run_id, "FAILED")

        # parent with children, a Markdown description and artifacts
        with hf_mltrack.start_run(
            run_name="hpo-parent",
            description="## LoRA sweep\n\nThe **parent** run of a `grid` search.\n\n- rank 4, 8\n- see [docs](https://example.com/docs)",
        ) as parent:
            out.parent_id = parent.info.run_id
            hf_mltrack.log_param("search", "grid")
            for k in range(2):
                with hf_mltrack.start_run(run_name=f"trial-{k}", nested=True) as child:
                    hf_mltrack.log_param("trial", k)
                    hf_mltrack.log_metric("score", 0.5 + k / 10)
                    out.child_ids.append(child.info.run_id)
            art.log_text("epoch,loss\n1,0.9\n2,0.5\n3,0.31\n", "eval/results.csv")
            art.log_dict({"model": "tiny-gpt2", "lora": {"r": 8, "alpha": 16}}, "config/train.json")
            art.log_dict({"model": "tiny-gpt2", "lora": {"r": 8}}, "config/train.yaml")
            art.log_text("# Model card\n\nA **tiny** model.", "README.md")
            art.log_text(MLMODEL.replace("RUN_ID", parent.info.run_id), "model/MLmodel")
            img = np.zeros((48, 64, 3), dtype=np.uint8)
            img[:, :32] = (79, 70, 229)
            img[:, 32:] = (8, 145, 178)
            art.log_image(img, "samples/sample.png")
            out.artifact_run_id = parent.info.run_id

        # a long series: the chart must show it from a downsampled read
        with hf_mltrack.start_run(run_name="long-run") as long_run:
            client = hf_mltrack.MlTrackClient(url)
            from hf_mltrack.entities import Metric

            now = 1_700_000_000_000
            for start in range(0, long_points, 1000):
                client.log_batch(
                    long_run.info.run_id,
                    metrics=[
                        Metric("loss", 1.0 / (1 + s / 1000) + (0.5 if s == long_points // 2 else 0.0), now + s, s)
                        for s in range(start, min(start + 1000, long_points))
                    ],
                )
            out.long_run_id = long_run.info.run_id

        # 100 metrics: the charts page builds only what scrolls into view
        with hf_mltrack.start_run(run_name="many-metrics") as many:
            hf_mltrack.MlTrackClient(url).log_batch(
                many.info.run_id,
                metrics=[Metric(f"m{k:03d}", k + s / 10, now + s, s) for k in range(100) for s in range(5)],
            )
            out.many_metrics_run_id = many.info.run_id

        # XSS probes in every user-controlled string a page shows
        xexp = hf_mltrack.set_experiment("xss <b>probe</b> \"'><img src=x onerror=alert(1)>")
        out.xss_experiment_id = xexp.experiment_id
        with hf_mltrack.start_run(run_name=XSS_NAME, description=XSS_DESCRIPTION, tags={"payload": XSS_TAG}) as xrun:
            hf_mltrack.log_param("payload", XSS_PARAM)
            hf_mltrack.log_metric("loss", 1.0)
            out.xss_run_id = xrun.info.run_id
        hf_mltrack.flush_async_logging()
    finally:
        fluent._reset_state()
        hf_mltrack.set_tracking_uri(None)
    return out
