"""The fluent and client artifact API on a real tracking store (seed section 3.1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hf_mltrack
from hf_mltrack.artifacts import download_artifacts, list_artifacts, load_dict, load_text
from hf_mltrack.artifacts import fluent as af
from hf_mltrack.artifacts.uri import local_path_from_uri
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's working folder: model_config.json, training_log.txt and ./model_output/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model_config.json").write_text('{"base": "tiny-gpt2"}')
    (tmp_path / "training_log.txt").write_text("step 1 loss 2.0\n")
    out = tmp_path / "model_output"
    out.mkdir()
    (out / "adapter_model.safetensors").write_bytes(b"\x00" * 4096)
    (out / "adapter_config.json").write_text('{"r": 8}')
    return tmp_path


def test_seed_section_3_1(tracking_uri: str, client, workdir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with hf_mltrack.start_run() as run:
        af.log_artifact("model_config.json")
        af.log_artifact("training_log.txt", artifact_path="logs")
        af.log_artifacts("./model_output", artifact_path="model")
        af.log_text("Training completed successfully", "status.txt")
        af.log_text(json.dumps({"lr": 2e-5}, indent=2), "config.json")
        af.log_dict({"metric": 0.95, "params": {"lr": 2e-5}}, "results.json")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [4, 5, 6])
        af.log_figure(fig, "training_curve.png")
        plt.close()
        image = np.random.randint(0, 255, (100, 100, 3), dtype=np.uint8)
        af.log_image(image, "sample_image.png")
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("file:///")
    root = Path(local_path_from_uri(run.info.artifact_uri))
    assert (root / "logs" / "training_log.txt").read_text() == "step 1 loss 2.0\n"
    assert [f.path for f in client.list_artifacts(run_id)] == [
        "config.json",
        "logs",
        "model",
        "model_config.json",
        "results.json",
        "sample_image.png",
        "status.txt",
        "training_curve.png",
    ]
    assert [f.path for f in client.list_artifacts(run_id, "model")] == [
        "model/adapter_config.json",
        "model/adapter_model.safetensors",
    ]
    assert load_dict(f"runs:/{run_id}/results.json") == {"metric": 0.95, "params": {"lr": 2e-5}}
    assert load_text(f"runs:/{run_id}/status.txt") == "Training completed successfully"


def test_fluent_starts_a_run_when_none_is_active(tracking_uri: str, client) -> None:
    assert hf_mltrack.active_run() is None
    af.log_text("hello", "a.txt")
    run = hf_mltrack.active_run()
    assert run is not None
    assert af.get_artifact_uri() == run.info.artifact_uri
    assert af.get_artifact_uri("a.txt") == run.info.artifact_uri + "/a.txt"
    hf_mltrack.end_run()
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["a.txt"]


def test_run_id_targets_another_run(tracking_uri: str, client, workdir: Path) -> None:
    with hf_mltrack.start_run() as finished:
        pass
    with hf_mltrack.start_run() as active:
        af.log_artifact("model_config.json", run_id=finished.info.run_id)
        af.log_dict({"a": 1}, "d.yaml", run_id=finished.info.run_id)
        af.log_text("mine", "own.txt")
    assert [f.path for f in client.list_artifacts(finished.info.run_id)] == ["d.yaml", "model_config.json"]
    assert [f.path for f in client.list_artifacts(active.info.run_id)] == ["own.txt"]
    with pytest.raises(ResourceNotFoundError):
        af.log_text("x", "x.txt", run_id="no-such-run")


def test_log_artifact_of_a_folder_keeps_its_name(tracking_uri: str, client, workdir: Path) -> None:
    run = client.create_run("0")
    client.log_artifact(run.info.run_id, "model_output")
    client.log_artifact(run.info.run_id, workdir / "model_output", artifact_path="ckpt")
    paths = [f.path for f in client.list_artifacts(run.info.run_id)]
    assert paths == ["ckpt", "model_output"]
    assert [f.path for f in client.list_artifacts(run.info.run_id, "ckpt")] == ["ckpt/model_output"]


def test_client_methods_and_downloads(tracking_uri: str, client, workdir: Path) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, "model_output", "model")
    client.log_text(run_id, "t", "notes/t.txt")
    client.log_dict(run_id, {"k": [1, 2]}, "d.json")
    client.log_table(run_id, {"q": ["a"], "score": [1.0]}, "eval.json")
    assert client.log_image(run_id, np.zeros((4, 4)), key="grads", step=3) == "images/grads/step_3.png"
    local = client.download_artifacts(run_id, "model", dst_path=workdir / "dl")
    assert sorted(p.name for p in Path(local).iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    by_run = download_artifacts(
        run_id=run_id, artifact_path="notes", dst_path=workdir / "dl2", tracking_uri=tracking_uri
    )
    assert (Path(by_run) / "t.txt").read_text() == "t"
    by_uri = download_artifacts(f"runs:/{run_id}/d.json", dst_path=workdir / "dl3")
    assert json.loads(Path(by_uri).read_text()) == {"k": [1, 2]}
    everything = download_artifacts(f"runs:/{run_id}", dst_path=workdir / "dl4")
    assert sorted(p.name for p in Path(everything).iterdir()) == [
        "d.json",
        "eval.json",
        "images",
        "model",
        "notes",
    ]
    assert [f.path for f in list_artifacts(run_id=run_id, artifact_path="notes")] == ["notes/t.txt"]
    assert [f.path for f in list_artifacts(f"runs:/{run_id}/notes")] == ["notes/t.txt"]
    with pytest.raises(InvalidParameterError, match="artifact_uri"):
        download_artifacts()


def test_load_table_across_runs(tracking_uri: str, client) -> None:
    ids = []
    for i in range(2):
        with hf_mltrack.start_run() as run:
            af.log_table({"step": [i], "acc": [0.5 + i / 10]}, "eval.json")
            ids.append(run.info.run_id)
    with hf_mltrack.start_run():
        pass  # a run without the table is skipped
    df = af.load_table("eval.json", extra_columns=["run_id"])
    assert sorted(zip(df["step"], df["run_id"], strict=True)) == [(0, ids[0]), (1, ids[1])]
    only = client.load_table("0", "eval.json", run_ids=[ids[1]])
    assert only.to_dict("list") == {"step": [1], "acc": [0.6]}
    with pytest.raises(ResourceNotFoundError, match="No run has a table"):
        af.load_table("missing.json")
    with pytest.raises(InvalidParameterError, match="extra column"):
        af.load_table("eval.json", extra_columns=["nope"])


def test_experiment_artifact_location_on_s3(tracking_uri: str, client, s3_bucket: str, workdir: Path) -> None:
    exp_id = client.create_experiment("s3-exp", artifact_location=f"s3://{s3_bucket}/mlruns")
    with hf_mltrack.start_run(experiment_id=exp_id) as run:
        af.log_artifacts("model_output", "model")
        af.log_image(np.zeros((2, 2), dtype=np.uint8), key="samples", step=1)
    assert run.info.artifact_uri == f"s3://{s3_bucket}/mlruns/{run.info.run_id}/artifacts"
    from hf_mltrack.artifacts.s3 import get_s3_client

    keys = sorted(o["Key"] for o in get_s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"])
    prefix = f"mlruns/{run.info.run_id}/artifacts/"
    assert keys == [
        prefix + "images/samples/step_1.json",
        prefix + "images/samples/step_1.png",
        prefix + "model/adapter_config.json",
        prefix + "model/adapter_model.safetensors",
    ]
    local = client.download_artifacts(run.info.run_id, "model", dst_path=workdir / "from_s3")
    assert (Path(local) / "adapter_config.json").read_text() == '{"r": 8}'


def test_relative_artifact_location_and_default_root(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_MLTRACK_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "team-artifacts"))
    hf_mltrack.set_tracking_uri(f"sqlite:///{tmp_path / 'other.db'}")
    with hf_mltrack.start_run() as run:
        af.log_text("x", "x.txt")
    assert run.info.artifact_uri.startswith((tmp_path / "team-artifacts").as_uri())
    assert (Path(local_path_from_uri(run.info.artifact_uri)) / "x.txt").read_text() == "x"
    exp_id = hf_mltrack.create_experiment("seed-3.2", artifact_location="./artifacts")
    with hf_mltrack.start_run(experiment_id=exp_id) as run:
        af.log_text("y", "y.txt")
    assert (workdir / "artifacts" / run.info.run_id / "artifacts" / "y.txt").read_text() == "y"
