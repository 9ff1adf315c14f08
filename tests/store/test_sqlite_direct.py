"""`hf_mltrack.store.sql.sqlite_direct`: a local SQLite store's plain SQL on the sqlite3 module leaves
the same rows as through SQLAlchemy, and a training run's store work never imports SQLAlchemy."""

from __future__ import annotations

import itertools
import json
import math
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hf_mltrack.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, Metric, Param, RunTag
from hf_mltrack.store.sql import logged_model_store, sqlite_direct, tracking_store
from hf_mltrack.store.sql.tracking_store import SqlTrackingStore

RUN_ID = "0123456789abcdef0123456789abcdef"


def _lifecycle(store: SqlTrackingStore) -> None:
    """What a Trainer run does to the store: experiment get-or-create, run, params, tags, metrics,
    dataset inputs, a rename, the end; plus an overwritten step, NaN, inf and a model-linked point."""
    assert store.get_experiment_by_name("sweep") is None
    exp_id = store.create_experiment("sweep", tags={"team": "nlp"})
    assert store.get_experiment_by_name("sweep").experiment_id == exp_id  # type: ignore[union-attr]
    store.create_run(exp_id, "me", 1000, [RunTag("source", "train.py")], "lr-1e-3", run_id=RUN_ID)
    params = [Param(f"args.p{i}", f"value {i}") for i in range(150)]
    steps = [Metric(k, 1.0 / (s + 1), 2000 + s, s) for s in range(1, 101) for k in ("loss", "grad_norm", "lr")]
    store.log_batch(RUN_ID, metrics=steps[:60], params=params, tags=[RunTag("hf_mltrack.trainer.class", "Trainer")])
    odd = [Metric("loss", math.nan, 9000, 7), Metric("acc", math.inf, 9001, 0), Metric("eval", 0.5, 9002, 3, "ds")]
    store.log_batch(RUN_ID, metrics=steps[60:] + odd)
    dataset = Dataset("train", "d1g3st", "code", "{}", schema='{"x": "int"}', profile='{"rows": 64}')
    store.log_inputs(RUN_ID, [DatasetInput(dataset, [InputTag("hf_mltrack.data.context", "training")])])
    model = store.create_logged_model(exp_id, name="ckpt", source_run_id=RUN_ID, output_step=50)  # (SQLAlchemy)
    store.log_inputs(RUN_ID, models=[LoggedModelInput(model.model_id)])
    store.update_run_info(RUN_ID, None, None, run_name="renamed")
    store.log_batches_and_terminate({RUN_ID: ([Metric("loss", 0.01, 3000, 101)], [], [])}, (RUN_ID, "FINISHED", 4000))


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    conn.close()
    return out


def test_a_training_runs_rows_are_the_same_without_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def deterministic() -> None:
        counter = itertools.count()
        monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
        monkeypatch.setattr(tracking_store, "_now_ms", lambda: 42)
        monkeypatch.setattr(logged_model_store, "_now_ms", lambda: 42)

    stores = {}
    for label, direct in (("direct", True), ("engine", False)):
        deterministic()
        path = tmp_path / label / "mltrack.db"
        if not direct:  # no local file path: the SQLAlchemy engine for everything
            monkeypatch.setattr(tracking_store, "local_path", lambda uri: None)
        store = SqlTrackingStore(f"sqlite:///{path}", default_artifact_root=str(tmp_path / "artifacts"))
        assert (store._direct is not None) is direct
        _lifecycle(store)
        stores[label] = store
    direct_rows, engine_rows = _rows(tmp_path / "direct" / "mltrack.db"), _rows(tmp_path / "engine" / "mltrack.db")
    assert direct_rows == engine_rows
    assert len(direct_rows["params"]) == 150 and len(direct_rows["metric_points"]) == 303  # step 7 of loss overwritten
    assert direct_rows["runs"][0][1:5] == ("renamed", 1, "me", "FINISHED")
    run = stores["direct"].get_run(RUN_ID)  # read on sqlite3, and through SQLAlchemy: the same run
    assert run == stores["engine"].get_run(RUN_ID)
    assert run.data.metrics["loss"] == 0.01 and run.inputs.dataset_inputs[0].dataset.digest == "d1g3st"
    assert len(run.inputs.model_inputs) == 1 and run.outputs.model_outputs[0].step == 50


def test_an_error_rolls_the_transaction_back(tmp_path: Path) -> None:
    database = sqlite_direct.Database(str(tmp_path / "x.db"))
    database.ensure_schema("sqlite:///x.db")
    with pytest.raises(sqlite3.IntegrityError), database.begin(write=True) as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES ('a', 'x', 'active')"
        )
        conn.exec_driver_sql(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES ('a', 'y', 'active')"
        )
    with database.begin(write=False) as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM experiments").scalar() == 0
    with database.begin(write=True) as conn:  # a list of rows: executemany, as SQLAlchemy's exec_driver_sql
        conn.exec_driver_sql(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES (?, ?, 'active')",
            [("b", "x"), ("c", "y")],
        )
    with database.begin(write=False) as conn:
        assert conn.exec_driver_sql("SELECT name FROM experiments ORDER BY name").fetchall() == [("b",), ("c",)]


def test_a_forked_child_opens_connections_of_its_own(tmp_path: Path) -> None:
    """A DataLoader worker (a fork) never uses the parent's pooled connections, nor closes them."""
    database = sqlite_direct.Database(str(tmp_path / "x.db"))
    database.ensure_schema("sqlite:///x.db")
    parent_connection = database._idle[0]
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 if it wrote on a connection of its own
        code = 2
        try:
            with database.begin(write=True) as conn:
                code = 0 if conn.dbapi_connection is not parent_connection else 1
                conn.exec_driver_sql(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES ('child', '', 'active')"
                )
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert database._idle == [parent_connection]
    with database.begin(write=False) as conn:
        assert conn.exec_driver_sql("SELECT name FROM experiments").fetchall() == [("child",)]


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////tmp/a/mltrack.db", "/tmp/a/mltrack.db"),
        ("sqlite:///rel/mltrack.db", "rel/mltrack.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file.db?mode=ro", None),
        ("sqlite:///my%20runs.db", None),
        ("sqlite+pysqlite:////tmp/a.db", None),
        ("postgresql://u@h/db", None),
    ],
    ids=["absolute", "relative", "memory", "memory-named", "query", "escaped", "driver", "postgresql"],
)
def test_only_plain_local_files_go_direct(uri: str, path: str | None) -> None:
    assert sqlite_direct.local_path(uri) == path


_TRAINING = """
import json, sys
import hf_mltrack
from hf_mltrack.entities import Dataset
hf_mltrack.set_tracking_uri(sys.argv[1])
hf_mltrack.set_experiment("cold")
with hf_mltrack.start_run(run_name="job") as run:
    hf_mltrack.log_params({f"p{i}": i for i in range(20)})
    hf_mltrack.set_tag("stage", "sft")
    for step in range(20):
        hf_mltrack.log_metrics({"loss": 1.0 / (step + 1), "lr": 1e-4}, step=step)
    hf_mltrack.log_input(Dataset("train", "abc", "code", "{}"), context="training")
hf_mltrack.flush_async_logging()
print(json.dumps({"run_id": run.info.run_id, "sqlalchemy": "sqlalchemy" in sys.modules}))
"""


def test_a_training_process_never_imports_sqlalchemy(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'mltrack.db'}"
    out = subprocess.run([sys.executable, "-c", _TRAINING, uri], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["sqlalchemy"] is False
    from hf_mltrack.tracking import MlTrackClient

    run = MlTrackClient(uri).get_run(result["run_id"])  # through SQLAlchemy: a store at head, the run whole
    assert run.info.status == "FINISHED" and run.info.run_name == "job"
    assert len(run.data.params) == 20 and run.data.tags["stage"] == "sft" and run.data.metrics["loss"] == 0.05
    assert run.inputs.dataset_inputs[0].dataset.name == "train"
