"""`MlTrackClient` log calls fail at the call for unknown or deleted runs, and warnings name the user's line."""

from __future__ import annotations

import warnings

import pytest

import hf_mltrack
from hf_mltrack.entities import Metric
from hf_mltrack.exceptions import InvalidStateError, ResourceNotFoundError


@pytest.mark.parametrize(
    "call",
    [
        lambda c, r: c.log_metric(r, "m", 1.0),
        lambda c, r: c.log_param(r, "p", 1),
        lambda c, r: c.set_tag(r, "t", "x"),
        lambda c, r: c.log_batch(r, metrics=[Metric("m", 1.0, 0, 0)]),
        lambda c, r: c.log_metric(r, "m", 1.0, synchronous=True),
    ],
    ids=["log_metric", "log_param", "set_tag", "log_batch", "log_metric-sync"],
)
def test_unknown_and_deleted_runs_raise_at_the_call(client, call) -> None:
    with pytest.raises(ResourceNotFoundError, match="no-such-run"):
        call(client, "no-such-run")
    run = client.create_run("0")
    call(client, run.info.run_id)  # a live run: fine
    client.delete_run(run.info.run_id)
    with pytest.raises(InvalidStateError, match="restore_run"):
        call(client, run.info.run_id)
    client.restore_run(run.info.run_id)
    call(client, run.info.run_id)
    client.flush()


def test_deleted_elsewhere_is_caught_by_a_fresh_client(client, tracking_uri) -> None:
    run = client.create_run("0")
    other = hf_mltrack.MlTrackClient(tracking_uri)
    other.delete_run(run.info.run_id)
    with pytest.raises(InvalidStateError):
        hf_mltrack.MlTrackClient(tracking_uri).log_metric(run.info.run_id, "m", 1.0)


def test_checked_once_per_run(client, tracking_uri) -> None:
    run = client.create_run("0")
    rid = run.info.run_id
    client.log_metric(rid, "m", 1.0)
    calls = []
    store = client.store
    original = store.get_run

    def counting(run_id: str):  # counts store reads; the real store answers
        calls.append(run_id)
        return original(run_id)

    store.get_run = counting  # type: ignore[method-assign]
    try:
        for step in range(50):
            client.log_metric(rid, "m", float(step), step=step)
    finally:
        del store.get_run
    assert calls == []
    client.flush()
    assert len(client.get_metric_history(rid, "m")) == 50


def test_warnings_point_at_the_users_line(client, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_PARAM_VALUE_MAX_LENGTH", "10")
    run = client.create_run("0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.log_param(run.info.run_id, "long", "x" * 50)
        with hf_mltrack.start_run():
            hf_mltrack.log_param("long", "y" * 50)
    truncation = [w for w in caught if "truncated" in str(w.message)]
    assert len(truncation) == 2
    assert {w.filename for w in truncation} == {__file__}
