"""Authorization of a request naming many runs (the UI's group-aggregate; history-columns and
get-history-bulk-interval go the same way): every run resolved to its experiment, in a number of queries that
does not grow with the number of runs."""

from __future__ import annotations

import pytest
from metric_helpers import PASSWORD, basic_auth, shared_and_private_runs

API = "/api/2.0/mlflow"
RUNS = 150


def _body(run_ids: list[str]) -> dict:
    return {"metric_key": "m", "run_ids": run_ids, "groups": ["g"] * len(run_ids)}


@pytest.fixture
def served(make_app, monkeypatch):  # type: ignore[no-untyped-def]
    """A NO_PERMISSIONS server whose "shared" experiment (READ for user ``r``) holds `RUNS` + 1 runs and whose
    "private" one holds one run; yields (client, shared run ids, private run id, statement counter)."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_USERNAME", "admin")
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")
    with TestClient(app) as client:
        admin = basic_auth("admin", "admin-password-123")
        (shared_exp, first), (_, private) = shared_and_private_runs(client, admin, ("r",))
        shared = [first]
        for _ in range(RUNS):
            made = client.post(f"{API}/runs/create", json={"experiment_id": shared_exp}, headers=admin)
            shared.append(made.json()["run"]["info"]["run_id"])
        statements: list[str] = []
        engine = app.state.server.store.engine  # type: ignore[attr-defined]
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        yield client, shared, private, statements


@pytest.mark.parametrize("prefix", ["/api/2.0", "/ajax-api/2.0"])
def test_a_reader_of_many_runs_is_authorized_in_a_few_queries(served, prefix) -> None:  # type: ignore[no-untyped-def]
    client, shared, private, statements = served
    reader = basic_auth("r", PASSWORD)
    url = f"{prefix}/hf-mltrack/metrics/group-aggregate"
    ok = client.post(url, json=_body(shared), headers=reader)
    assert ok.status_code == 200, ok.text
    # before: one runs query and one permission query per run (300+ for these 151 runs)
    lookups = [s for s in statements if "FROM runs" in s or "permission" in s.lower()]
    assert len(lookups) <= 4, lookups

    # one run of an experiment the reader cannot read, anywhere in the list, refuses the whole request
    statements.clear()
    for mixed in (shared + [private], [private] + shared, shared[:75] + [private] + shared[75:]):
        refused = client.post(url, json=_body(mixed), headers=reader)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error_code"] == "PERMISSION_DENIED"
    # the answers are cached (a run never moves): only the private run, new to the server, was looked up
    assert len([s for s in statements if "FROM runs" in s]) == 1


def test_runs_not_stored_reveal_nothing_and_do_not_hide_a_refusal(served) -> None:  # type: ignore[no-untyped-def]
    client, shared, private, _ = served
    reader, url, ghost = basic_auth("r", PASSWORD), "/api/2.0/hf-mltrack/metrics/group-aggregate", "0" * 32
    assert client.post(url, json=_body([ghost, private]), headers=reader).status_code == 403
    alone = client.post(url, json=_body([ghost, shared[0]]), headers=reader)
    assert alone.status_code in (200, 404), alone.text
    assert client.post(url, json=_body(shared[:3])).status_code == 401
