"""MLflow 3's logged models, datasets and run inputs/outputs through the fluent API and the client,
on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest

import hf_mltrack
from hf_mltrack.entities import LoggedModelStatus
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, ResourceNotFoundError


def _client() -> hf_mltrack.MlTrackClient:
    return hf_mltrack.MlTrackClient()


def test_lifecycle_params_tags_and_linked_metrics(store_uri: str) -> None:
    hf_mltrack.set_experiment("lm")
    with hf_mltrack.start_run() as run:
        model = hf_mltrack.initialize_logged_model(
            name="ckpt", params={"lr": 1e-4}, tags={"stage": "dev"}, model_type="checkpoint"
        )
        assert model.model_id.startswith("m-") and len(model.model_id) == 34
        assert (model.status, model.source_run_id) == (LoggedModelStatus.PENDING, run.info.run_id)
        assert model.artifact_location.endswith(f"/models/{model.model_id}/artifacts")
        hf_mltrack.log_metric("eval_loss", 0.25, step=30, model_id=model.model_id)
        hf_mltrack.log_metric("eval_loss", float("nan"), step=40, model_id=model.model_id)
        hf_mltrack.log_metric("train_loss", 0.5, step=30)  # not linked
    hf_mltrack.set_logged_model_tags(model.model_id, {"stage": "prod", "owner": "me"})
    hf_mltrack.delete_logged_model_tag(model.model_id, "owner")
    hf_mltrack.log_model_params({"epochs": 3}, model_id=model.model_id)
    hf_mltrack.log_model_params({"epochs": "3"}, model_id=model.model_id)  # the same value again is fine
    with pytest.raises(InvalidParameterError, match="already '3'"):
        hf_mltrack.log_model_params({"epochs": 4}, model_id=model.model_id)
    done = hf_mltrack.finalize_logged_model(model.model_id, "READY")
    assert done.status == LoggedModelStatus.READY
    got = hf_mltrack.get_logged_model(model.model_id)
    assert got.params == {"lr": "0.0001", "epochs": "3"} and got.tags == {"stage": "prod"}
    assert [(m.key, m.step, m.run_id) for m in got.metrics] == [("eval_loss", 30, run.info.run_id)] * 1 + [
        ("eval_loss", 40, run.info.run_id)
    ]
    assert got.metrics[0].value == 0.25 and math.isnan(got.metrics[1].value)
    # the run's own history keeps the points, with the model they are about
    assert [m.value for m in _client().get_metric_history(run.info.run_id, "eval_loss")][0] == 0.25
    assert [(o.model_id, o.step) for o in hf_mltrack.get_run(run.info.run_id).outputs.model_outputs] == []
    hf_mltrack.delete_logged_model(model.model_id)
    with pytest.raises(ResourceNotFoundError):
        hf_mltrack.get_logged_model(model.model_id)
    assert _client().get_logged_model(model.model_id, allow_deleted=True).model_id == model.model_id


def test_errors_name_the_field(store_uri: str) -> None:
    with pytest.raises(ResourceNotFoundError, match="m-0"):
        hf_mltrack.get_logged_model("m-0")
    model = hf_mltrack.initialize_logged_model(name="x")
    with pytest.raises(InvalidParameterError, match="status"):
        hf_mltrack.finalize_logged_model(model.model_id, "DONE")
    # as MLflow, a source_run_id is recorded as given...
    assert _client().create_logged_model("0", source_run_id="elsewhere").source_run_id == "elsewhere"
    # ...unless the model's files or the run's outputs depend on it
    with pytest.raises(ResourceNotFoundError, match="source_run_id"):
        _client().create_logged_model("0", source_run_id="nope", output_step=1)
    with hf_mltrack.start_run() as run:
        pass
    # a model's files may only be placed inside its source run's artifacts
    with pytest.raises(InvalidParameterError, match="artifact_location"):
        _client().create_logged_model("0", source_run_id=run.info.run_id, artifact_location="file:///etc")
    with pytest.raises(InvalidParameterError, match="artifact_location"):
        _client().create_logged_model(
            "0", source_run_id=run.info.run_id, artifact_location=run.info.artifact_uri + "/../../x"
        )
    with pytest.raises(MlTrackException, match="model_id"):
        _client().log_metric(run.info.run_id, "m", 1.0, model_id="m-" + "0" * 32, synchronous=True)


def test_search_orders_by_a_metric_per_dataset_and_filters(store_uri: str) -> None:
    hf_mltrack.set_experiment("sweep")
    train = hf_mltrack.data.from_dict({"x": [1, 2, 3]}, name="train")
    evals = hf_mltrack.data.from_dict({"x": [4, 5]}, name="eval")
    ids = {}
    for lr, losses in (("1e-3", (0.9, 0.4)), ("1e-4", (0.7, 0.6))):
        with hf_mltrack.start_run():
            for step, loss in zip((10, 20), losses, strict=True):
                m = hf_mltrack.initialize_logged_model(name=f"ckpt-{step}", params={"lr": lr})
                ids[(lr, step)] = m.model_id
                hf_mltrack.log_metric("eval_loss", loss, step=step, model_id=m.model_id, dataset=evals)
                # the train split is ordered the other way round
                hf_mltrack.log_metric("eval_loss", 1 - loss, step=step, model_id=m.model_id, dataset=train)
    unlinked = hf_mltrack.initialize_logged_model(name="no-metrics")

    def names(models: list) -> list:
        return [
            next(k for k, v in ids.items() if v == m.model_id) if m.model_id in ids.values() else m.name for m in models
        ]

    on_eval = hf_mltrack.search_logged_models(
        order_by=[{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "eval"}], output_format="list"
    )
    assert names(on_eval) == [("1e-3", 20), ("1e-4", 20), ("1e-4", 10), ("1e-3", 10), "no-metrics"]
    on_train = hf_mltrack.search_logged_models(
        datasets=[{"dataset_name": "train"}], order_by=["metrics.eval_loss ASC"], output_format="list"
    )
    assert names(on_train)[0] == ("1e-3", 10)
    best = hf_mltrack.search_logged_models(
        filter_string="params.lr = '1e-4' and metrics.eval_loss < 0.65",
        datasets=[{"dataset_name": "eval", "dataset_digest": evals.digest}],
        output_format="list",
    )
    assert names(best) == [("1e-4", 20)]
    assert (
        hf_mltrack.search_logged_models(filter_string="metrics.eval_loss IS NULL", output_format="list")[0].model_id
        == unlinked.model_id
    )
    assert len(hf_mltrack.search_logged_models(filter_string="name LIKE 'ckpt-%'", output_format="list")) == 4
    page = _client().search_logged_models([hf_mltrack.get_experiment_by_name("sweep").experiment_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = _client().search_logged_models(
        [hf_mltrack.get_experiment_by_name("sweep").experiment_id], max_results=10, page_token=page.token
    )
    assert len(rest) == 3 and not {m.model_id for m in rest} & {m.model_id for m in page}
    frame = hf_mltrack.search_logged_models(
        max_results=1, order_by=[{"field_name": "metrics.eval_loss", "ascending": False, "dataset_name": "eval"}]
    )
    assert list(frame["name"]) == ["ckpt-10"]
    with pytest.raises(MlTrackException, match="unknown attribute"):
        hf_mltrack.search_logged_models(filter_string="colour = 'red'")


def test_active_model_links_metrics(store_uri: str) -> None:
    with hf_mltrack.start_run():
        model = hf_mltrack.set_active_model(name="agent")
        assert hf_mltrack.get_active_model_id() == model.model_id
        assert hf_mltrack.set_active_model(name="agent").model_id == model.model_id  # found, not created
        hf_mltrack.log_metric("accuracy", 0.9, step=1)
        hf_mltrack.log_model_params({"temperature": 0.1})
        hf_mltrack.clear_active_model()
        hf_mltrack.log_metric("accuracy", 0.8, step=2)
    got = hf_mltrack.get_logged_model(model.model_id)
    assert [(m.key, m.value) for m in got.metrics] == [("accuracy", 0.9)] and got.params == {"temperature": "0.1"}
    assert hf_mltrack.get_active_model_id() is None
    assert hf_mltrack.last_logged_model().model_id == model.model_id
    external = hf_mltrack.create_external_model(name="hosted")
    assert external.status == LoggedModelStatus.READY and external.tags["mlflow.model.external"] == "true"


def test_log_input_run_inputs_and_search(store_uri: str) -> None:
    pd = pytest.importorskip("pandas")
    hf_mltrack.set_experiment("data")
    df = pd.DataFrame({"text": ["a", "b"], "label": [0, 1]})
    ds = hf_mltrack.data.from_pandas(df, source="/data/train.csv", name="imdb-train")
    assert ds.digest == hf_mltrack.data.from_pandas(df.copy(), name="again").digest  # content, not identity
    assert ds.digest != hf_mltrack.data.from_pandas(df.iloc[:1]).digest
    with hf_mltrack.start_run() as run_a:
        hf_mltrack.log_input(ds, context="training", tags={"split": "train"})
        hf_mltrack.log_input(ds, context="training")  # idempotent
    with hf_mltrack.start_run() as run_b:
        hf_mltrack.log_input(hf_mltrack.data.from_numpy([[1.0, 2.0]], name="probe"), context="eval")
    inputs = hf_mltrack.get_run(run_a.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset.name == "imdb-train" and inputs[0].context == "training"
    assert {t.key: t.value for t in inputs[0].tags} == {"split": "train", "mlflow.data.context": "training"}
    assert '"uri": "/data/train.csv"' in inputs[0].dataset.source

    def found(f: str) -> set:
        return {r.info.run_id for r in hf_mltrack.search_runs(filter_string=f, output_format="list")}

    assert found("datasets.name = 'imdb-train'") == {run_a.info.run_id}
    assert found(f"datasets.digest = '{ds.digest}'") == {run_a.info.run_id}
    assert found("datasets.context IN ('eval', 'test')") == {run_b.info.run_id}
    assert found("datasets.name LIKE '%'") == {run_a.info.run_id, run_b.info.run_id}
    with pytest.raises(MlTrackException, match="dataset field"):
        found("datasets.size = '1'")
    exp_id = run_a.info.experiment_id
    summaries = _client().search_datasets([exp_id])
    assert [(s.name, s.context) for s in summaries] == [("imdb-train", "training"), ("probe", "eval")]


class Echo(hf_mltrack.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        return list(model_input)


def test_log_model_creates_a_logged_model_and_registers_it(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        info = hf_mltrack.pyfunc.log_model(artifact_path="echo", python_model=Echo())
    assert info.model_uri == f"models:/{info.model_id}"
    model = hf_mltrack.get_logged_model(info.model_id)
    assert (model.status, model.name, model.source_run_id) == ("READY", "echo", run.info.run_id)
    assert model.artifact_location == run.info.artifact_uri + "/echo"  # the same files, not a copy
    assert hf_mltrack.last_logged_model().model_id == info.model_id
    outputs = hf_mltrack.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/echo"):
        assert hf_mltrack.pyfunc.load_model(uri).predict(["a"]) == ["a"]
    assert hf_mltrack.models.Model.load(info.model_uri).model_id == info.model_id  # written to MLmodel
    mv = hf_mltrack.register_model(info.model_uri, "echo-model")
    assert (mv.model_id, mv.run_id) == (info.model_id, run.info.run_id)
    assert _client().get_model_version("echo-model", 1).model_id == info.model_id
    assert hf_mltrack.pyfunc.load_model("models:/echo-model/1").predict(["b"]) == ["b"]


def test_failed_save_marks_the_model_failed(store_uri: str) -> None:
    class Broken:
        @staticmethod
        def save_model(path: str, hf_mltrack_model: object, **kwargs: object) -> None:
            raise RuntimeError("disk full")

    with hf_mltrack.start_run(), pytest.raises(RuntimeError, match="disk full"):
        hf_mltrack.models.Model.log("broken", Broken)
    (model,) = hf_mltrack.search_logged_models(output_format="list")
    assert model.status == LoggedModelStatus.FAILED
