"""Benchmark: what logging a Trainer checkpoint as a LoggedModel adds to the checkpoint save.

The Trainer's ``on_save`` hook runs right after ``save_pretrained`` wrote ``checkpoint-N``; training
waits for it. Side by side, interleaved, on the same disk:

- ``save``: ``model.save_pretrained(checkpoint folder)`` alone (the Trainer's own cost);
- ``+ artifacts``: the same, then what ``on_save`` did before LoggedModels (snapshot the folder by
  hardlinks and queue the background upload);
- ``+ LoggedModel``: the same, then what ``on_save`` does now: snapshot and queue; the checkpoint
  thread creates the PENDING LoggedModel and links the step's eval metrics before uploading.

The background part (upload by hardlinks, the ``MLmodel`` file, READY) is timed separately: it runs
beside training, not in it. Target: ``+ LoggedModel`` within 5% of ``save``. Last, the LoggedModel
lifecycle every ``log_model`` now wraps around writing its files (create PENDING, finalize READY).

Run: ``python benchmarks/bench_checkpoint_models.py [--quick] [--repeat 7] [--mb 100]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time


def _model(mb: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    # ~4 bytes/parameter; the embedding dominates: size the vocabulary to reach `mb` megabytes
    n_embd, n_layer = 256, 2
    per_layer = 12 * n_embd * n_embd
    vocab = max(1000, (mb * 1_000_000 // 4 - n_layer * per_layer) // n_embd)
    config = GPT2Config(vocab_size=vocab, n_embd=n_embd, n_layer=n_layer, n_head=4, n_positions=128)
    return GPT2LMHeadModel(config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="25 MB model, 3 repeats (under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.mb = 3, 25

    import hf_mltrack
    from hf_mltrack.integrations import _logged_checkpoints
    from hf_mltrack.integrations._checkpoints import CheckpointLogger
    from hf_mltrack.quickstart.tiny import build_tokenizer

    work = tempfile.mkdtemp(prefix="bench_ckpt_models_")
    hf_mltrack.set_tracking_uri(f"sqlite:///{work}/db/mltrack.db")
    client = hf_mltrack.MlTrackClient()
    model = _model(args.mb)
    tokenizer = build_tokenizer()
    run = hf_mltrack.start_run()
    logger = CheckpointLogger(run.info.artifact_uri)
    saves: list[float] = []
    times: dict[str, list[float]] = {"+ artifacts": [], "+ LoggedModel": []}  # the on_save part
    background: list[float] = []
    step = 0
    for i in range(args.repeat + 1):
        for variant in times:
            step += 1
            folder = os.path.join(work, "out", f"checkpoint-{step}")
            os.sync()
            start = time.perf_counter()
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            saved = time.perf_counter()
            if variant == "+ artifacts":
                logger.submit(folder)
            elif variant == "+ LoggedModel":  # as MlTrackCallback.on_save: the model is made in the background
                box: dict[str, str] = {}

                def before(step=step, box=box):  # noqa: ANN001, ANN202
                    lm = _logged_checkpoints.create_checkpoint_model(client, run, step, False)
                    box["id"] = lm.model_id
                    _logged_checkpoints.link_metrics(
                        client, run.info.run_id, lm.model_id, step, {"eval_loss": 1.0}, None
                    )

                def after(staged, repo, path, error, box=box):  # noqa: ANN001, ANN202
                    if error is None:
                        _logged_checkpoints.write_mlmodel(staged, repo, path, box["id"], run.info.run_id, None)
                    _logged_checkpoints.finalize(client, box["id"], error is None)

                logger.submit(folder, after=after, before=before)
            elapsed = time.perf_counter() - saved
            bg_start = time.perf_counter()
            logger.wait()
            if variant == "+ LoggedModel" and i:
                background.append(time.perf_counter() - bg_start)
            if i:  # the first round is a warm-up
                times[variant].append(elapsed)
                saves.append(saved - start)
            shutil.rmtree(folder)
    # What every log_model now adds around writing its files: create the LoggedModel, finalize it READY.
    from hf_mltrack.models import Model
    from hf_mltrack.models.logged import logged_model_for

    lifecycle = []
    for i in range(50):
        start = time.perf_counter()
        with logged_model_for(run, f"lifecycle-{i}", Model(artifact_path=f"lifecycle-{i}")):
            pass
        lifecycle.append(time.perf_counter() - start)
    hf_mltrack.end_run()
    save = statistics.median(saves)
    print(f"checkpoint of a {args.mb} MB GPT-2 (+ tokenizer), medians of {args.repeat} interleaved rounds")
    print(f"save (save_pretrained)            {save * 1000:8.1f} ms")
    for k, v in times.items():
        part = statistics.median(v)
        print(f"{k:<14} on_save part       {part * 1000:8.1f} ms   save + part = {(save + part) / save:5.3f}x save")
    bg = statistics.median(background) * 1000
    print(f"background (LoggedModel + upload + MLmodel + READY): {bg:.1f} ms per checkpoint")
    print(f"log_model's LoggedModel (create + READY, SQLite): {statistics.median(lifecycle[5:]) * 1000:.2f} ms median")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
