"""Two `MlTrackClient`s for two servers in one process: every method uses its own client's URIs, never
the process-wide tracking URI (which points at a third, local store here)."""

from __future__ import annotations

from pathlib import Path

import hf_mltrack
from hf_mltrack.server import create_app


def test_two_clients_two_servers(tmp_path: Path, server_thread) -> None:
    servers = {}
    for name in ("a", "b"):
        app = create_app(
            f"sqlite:///{tmp_path / name / 'mltrack.db'}", artifacts_destination=str(tmp_path / name / "artifacts")
        )
        servers[name] = server_thread(app)
    local = tmp_path / "process-wide"
    hf_mltrack.set_tracking_uri(str(local))  # must be ignored by both clients

    clients = {name: hf_mltrack.MlTrackClient(server.url) for name, server in servers.items()}
    runs = {}
    for name, client in clients.items():
        exp = client.create_experiment(f"exp-{name}")
        run = client.create_run(exp, run_name=f"run-{name}")
        rid = run.info.run_id
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied through that server
        client.log_metric(rid, "loss", 1.0 if name == "a" else 2.0)
        client.log_param(rid, "server", name)
        client.log_text(rid, f"hello from {name}", "notes.txt")
        client.log_dict(rid, {"server": name}, "meta/info.json")
        client.log_table(rid, {"x": [1, 2], "server": [name, name]}, "table.json")
        client.create_registered_model(f"model-{name}")
        client.create_model_version(f"model-{name}", f"runs:/{rid}/notes.txt", rid)
        client.set_terminated(rid)
        runs[name] = rid

    for name, client in clients.items():
        rid, other = runs[name], runs["b" if name == "a" else "a"]
        run = client.get_run(rid)
        assert run.data.params == {"server": name}
        assert run.data.metrics == {"loss": 1.0 if name == "a" else 2.0}
        assert [f.path for f in client.list_artifacts(rid)] == ["meta", "notes.txt", "table.json"]
        local_path = client.download_artifacts(rid, "notes.txt", tmp_path / f"dl-{name}")
        assert Path(local_path).read_text() == f"hello from {name}"
        assert list(client.load_table(run.info.experiment_id, "table.json")["server"]) == [name, name]
        assert [m.name for m in client.search_registered_models()] == [f"model-{name}"]
        assert client.get_latest_versions(f"model-{name}")[0].run_id == rid
        assert client.search_runs([run.info.experiment_id])[0].info.run_id == rid
        # the other server's run does not exist here
        assert all(r.info.run_id != other for r in client.search_runs([run.info.experiment_id]))

    # each server stored its own artifacts; the process-wide store was never created
    assert (tmp_path / "a" / "artifacts").is_dir() and (tmp_path / "b" / "artifacts").is_dir()
    assert not local.exists()
