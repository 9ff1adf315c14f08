"""The official `mlflow` client's tracing and webhooks against our server (CI's bounded wire check).

``@mlflow.trace`` exports its spans over OTLP (``/v1/traces``, enabled because ``/version`` reports the
MLflow API version we implement) and the trace info with ``StartTraceV3``; ``get_trace``,
``search_traces``, ``log_feedback``/``log_expectation`` and the tag routes read and write the same
traces our own tracing API sees. Runs the client in a subprocess, as test_server_mlflow_compat.py does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

import hf_mltrack

_PYTHON = os.environ.get("MLTRACK_TEST_MLFLOW_PYTHON") or (
    sys.executable if importlib.util.find_spec("mlflow") is not None else None
)
pytestmark = pytest.mark.skipif(_PYTHON is None, reason="needs mlflow (set MLTRACK_TEST_MLFLOW_PYTHON)")


def _run_mlflow(script: str, url: str, timeout: int = 240) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    proc = subprocess.run([_PYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Failed to send trace" not in proc.stderr and "Failed to log span" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


TRACE_SCRIPT = textwrap.dedent(
    """
    import json
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import AssessmentSource

    exp_id = mlflow.set_experiment("mlflow-traces").experiment_id

    @mlflow.trace(span_type="LLM")
    def answer(question):
        with mlflow.start_span("lookup", span_type="RETRIEVER") as span:
            span.set_inputs({"q": question})
            span.set_outputs(["doc-1"])
        return "answer to " + question

    with mlflow.start_run() as run:
        answer("hi")
    mlflow.flush_trace_async_logging()
    trace_id = mlflow.get_last_active_trace_id()
    client = MlflowClient()
    client.set_trace_tag(trace_id, "reviewed", "yes")
    mlflow.log_feedback(
        trace_id=trace_id, name="relevance", value=0.9, rationale="on topic",
        source=AssessmentSource(source_type="HUMAN", source_id="reviewer"),
    )
    mlflow.log_expectation(trace_id=trace_id, name="expected", value={"answer": "answer to hi"})
    trace = mlflow.get_trace(trace_id)
    found = mlflow.search_traces(
        locations=[exp_id], filter_string="tags.reviewed = 'yes'", return_type="list"
    )
    by_run = mlflow.search_traces(locations=[exp_id], run_id=run.info.run_id, return_type="list")
    print(json.dumps({
        "trace_id": trace_id,
        "experiment_id": exp_id,
        "run_id": run.info.run_id,
        "state": str(trace.info.state),
        "spans": sorted((s.name, s.span_type, s.parent_id is None) for s in trace.data.spans),
        "lookup_inputs": [s.inputs for s in trace.data.spans if s.name == "lookup"][0],
        "outputs": trace.data.spans[0].outputs if trace.data.spans[0].parent_id is None else None,
        "assessments": sorted((a.name, type(a).__name__) for a in trace.info.assessments),
        "found": [t.info.trace_id for t in found],
        "by_run": [t.info.trace_id for t in by_run],
        "tags": trace.info.tags,
    }))
    """
)


def test_mlflow_trace_decorator_round_trip(live_server) -> None:
    out = _run_mlflow(TRACE_SCRIPT, live_server.url)
    tid = out["trace_id"]
    assert out["state"].endswith("OK")
    assert out["spans"] == [["answer", "LLM", True], ["lookup", "RETRIEVER", False]]
    assert out["lookup_inputs"] == {"q": "hi"}
    assert out["assessments"] == [["expected", "Expectation"], ["relevance", "Feedback"]]
    assert out["found"] == [tid] and out["by_run"] == [tid]
    assert out["tags"]["reviewed"] == "yes" and out["tags"]["mlflow.traceName"] == "answer"

    # our own tracing API reads the trace the MLflow client wrote
    hf_mltrack.set_tracking_uri(live_server.url)
    ours = hf_mltrack.get_trace(tid)
    spans = {s.name: s for s in ours.data.spans}
    assert spans["answer"].span_type == "LLM" and spans["lookup"].inputs == {"q": "hi"}
    assert spans["lookup"].parent_id == spans["answer"].span_id
    assert ours.info.run_id == out["run_id"] and ours.info.experiment_id == out["experiment_id"]


READ_OURS = textwrap.dedent(
    """
    import json, sys
    import mlflow
    trace = mlflow.get_trace(sys.argv[1])
    print(json.dumps({
        "name": trace.info.tags.get("mlflow.traceName"),
        "spans": sorted((s.name, s.span_type) for s in trace.data.spans),
        "inputs": [s.inputs for s in trace.data.spans if s.parent_id is None][0],
    }))
    """
)


def test_mlflow_client_reads_traces_recorded_by_hf_mltrack(live_server) -> None:
    from hf_mltrack.tracing import export

    hf_mltrack.set_tracking_uri(live_server.url)
    hf_mltrack.set_experiment("ours")
    with hf_mltrack.start_span("pipeline", span_type="CHAIN") as root:
        root.set_inputs({"text": "hello"})
        with hf_mltrack.start_span("model", span_type="LLM"):
            pass
    export.flush()
    tid = hf_mltrack.tracing.get_last_active_trace().info.request_id
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = live_server.url
    proc = subprocess.run([_PYTHON, "-c", READ_OURS, tid], env=env, capture_output=True, text=True, timeout=240)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"name": "pipeline", "spans": [["model", "LLM"], ["pipeline", "CHAIN"]], "inputs": {"text": "hello"}}


WEBHOOK_SCRIPT = textwrap.dedent(
    """
    import json
    from mlflow import MlflowClient
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    hook = client.create_webhook(
        name="ci", url="https://hooks.example.com/ci",
        events=[WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED)], secret="s",
    )
    got = client.get_webhook(hook.webhook_id)
    client.update_webhook(hook.webhook_id, name="renamed")
    listed = [w.name for w in client.list_webhooks()]
    client.delete_webhook(hook.webhook_id)
    try:
        client.get_webhook(hook.webhook_id)
        missing = None
    except MlflowException as exc:
        missing = exc.message
    print(json.dumps({"events": [str(e) for e in got.events], "secret": got.secret, "listed": listed,
                      "missing": missing}))
    """
)


def test_mlflow_client_manages_webhooks(live_server) -> None:
    out = _run_mlflow(WEBHOOK_SCRIPT, live_server.url)
    assert out["events"] == ["model_version.created"] and out["secret"] is None
    assert out["listed"] == ["renamed"]
    assert "not found" in out["missing"]
