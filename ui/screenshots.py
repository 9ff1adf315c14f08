"""Screenshots of the UI's views for the README (docs/screenshots/*.png), from a seeded server in Debian's
headless Chromium:

    python ui/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))
sys.path.insert(0, str(ROOT))


def seed(url: str, store) -> dict:
    import hf_mltrack
    from hf_mltrack.entities import Metric, Param
    from hf_mltrack.entities.dataset import Dataset, DatasetInput, InputTag
    from hf_mltrack.tracking import MlTrackClient, fluent

    client = MlTrackClient(url)
    exp = store.create_experiment("llama-lora-sweep", None, {"hf_mltrack.note.content": "LoRA sweep: **lr x seed**."})
    ids: dict[str, str] = {}
    for lr in (1e-4, 3e-4, 1e-3):
        for seed_ in range(4):
            name = f"lr{lr:g}-s{seed_}"
            run = store.create_run(exp, "ci", 1_700_000_000_000 + len(ids), [], name)
            metrics = [
                Metric("loss", 2 * math.exp(-s * lr * 12) + 0.05 * math.sin(s / 7 + seed_) + 0.02 * seed_, 0, s)
                for s in range(300)
            ]
            metrics.append(Metric("eval_loss", 2 * math.exp(-300 * lr * 12) + 0.03 * seed_ + 0.1, 0, 300))
            store.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", str(lr)), Param("seed", str(seed_))])
            store.update_run_info(run.info.run_id, "FINISHED", 1_700_000_100_000, None)
            ids[name] = run.info.run_id
    live = client.create_run(
        exp,
        run_name="live-run",
        tags={"hf_mltrack.trainer.max_steps": "500", "hf_mltrack.trainer.num_train_epochs": "2"},
    )
    for s in range(0, 180, 5):
        client.log_metric(
            live.info.run_id,
            "loss",
            2 * math.exp(-s / 80),
            step=s,
            timestamp=int(time.time() * 1000) - 90_000 + s * 400,
        )
        client.log_metric(live.info.run_id, "epoch", s / 250, step=s)
    ids["live"] = live.info.run_id
    train = Dataset("alpaca-tiny", "9f8e7d6c5b", "hf", '{"path": "tatsu-lab/alpaca"}')
    best = ids["lr0.001-s0"]
    client.log_inputs(best, datasets=[DatasetInput(train, [InputTag("mlflow.data.context", "training")])])
    for step, loss in ((100, 1.4), (200, 1.1), (300, 1.15)):
        m = client.create_logged_model(
            exp, name=f"checkpoint-{step}", source_run_id=best, model_type="checkpoint", output_step=step
        )
        client.log_metric(
            best, "eval_loss", loss, step=step, model_id=m.model_id, dataset_name="eval", synchronous=True
        )
    hf_mltrack.set_tracking_uri(url)
    try:
        prompts = ["Explain LoRA in one line:", "Translate 'cat' to French:"]
        outs = {
            100: ["LoRA is a a a model", "chat chat"],
            200: ["LoRA adds small low-rank matrices", "chat"],
            300: ["LoRA adds small trainable low-rank matrices to frozen weights", "le chat"],
        }
        for step, o in outs.items():
            hf_mltrack.log_generations(prompts, o, step=step, metrics={"eval_loss": 1.5 - step / 1000}, run_id=best)
    finally:
        fluent._reset_state()
        hf_mltrack.set_tracking_uri(None)
    return {"exp": exp, "best": best, "live": ids["live"]}


# The workspace of the screenshot: the layout a link carries (`wspec`: base64url of its JSON).
WORKSPACE = {
    "panels": [
        {"kind": "line", "title": "loss by lr", "metrics": ["loss"], "group_by": "param:lr", "smoothing": 0.6},
        {
            "kind": "scatter",
            "title": "eval_loss by lr",
            "x": "param:lr",
            "y": "metric:eval_loss",
            "color": "param:seed",
        },
        {
            "kind": "parcoords",
            "title": "lr, seed -> eval_loss",
            "metrics": ["param:lr", "param:seed", "metric:eval_loss"],
        },
        {"kind": "markdown", "title": "Notes", "text": "**lr 1e-3** converges fastest; seeds agree within 0.1."},
    ]
}


def encode_spec(spec: dict) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(spec).encode()).decode().rstrip("=")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from ui_live import LiveServer, make_app

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    app = make_app(tmp)
    server = LiveServer(app).start()
    try:
        d = seed(server.url, app.state.server.store)
        url, exp = server.url, d["exp"]
        shots = [
            (
                "sweep-groups",
                f"/experiments/{exp}?tab=charts&group=param%3Alr&best=eval_loss%3Amin&sx=param%3Alr&sy=metric%3Aeval_loss&sc=param%3Aseed",
                ".chart-card[data-groups='3'] canvas",
            ),
            ("runs-table-live", f"/experiments/{exp}?best=eval_loss%3Amin", "[data-testid=run-progress]"),
            ("run-generations", f"/runs/{d['best']}?tab=generations", "[data-testid=generations-table]"),
            ("models-tab", f"/experiments/{exp}?tab=models", "[data-testid=logged-models-table] .vt-row"),
            (
                "workspace",
                f"/experiments/{exp}?tab=workspace&wspec={encode_spec(WORKSPACE)}",
                "[data-testid=ws-panel] canvas",
            ),
            ("runs-table-grouped", f"/experiments/{exp}?group=param%3Alr&best=eval_loss%3Amin", ".vt-group-row"),
        ]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, route, ready in shots:
                page.goto(f"{url}/#{route}")
                page.wait_for_selector(ready)
                page.wait_for_timeout(800)
                if name == "run-generations":
                    page.check("[data-testid=diff-previous]")
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
