"""Tracing stays cheap to import and to use: no heavy dependency is loaded by decorating or calling."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "torch", "transformers", "pandas", "fastapi", "numpy", "httpx")


def test_tracing_imports_nothing_heavy(tmp_path) -> None:
    code = (
        "import sys, hf_mltrack.tracing as t\n"
        "@t.trace\n"
        "def f(x):\n"
        "    return x\n"
        "with t.start_span('s'):\n"
        "    f(1)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        # skip the exit-time export: only the traced path is measured
        "sys.stdout.flush(); import os; os._exit(0)\n"
    )
    env = {"HF_MLTRACK_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_public_names() -> None:
    import hf_mltrack.tracing as tracing

    for name in tracing.__all__:
        assert getattr(tracing, name) is not None
    assert tracing.SpanType.ALL == (
        "LLM", "CHAT_MODEL", "CHAIN", "AGENT", "TOOL", "RETRIEVER", "EMBEDDING", "PARSER", "RERANKER",
        "UNKNOWN",
    )  # fmt: skip


def test_exit_drains_the_queue(tmp_path) -> None:
    """A short script's traces are written at interpreter exit, without an explicit flush."""
    db = tmp_path / "exit.db"
    code = (
        "import hf_mltrack, hf_mltrack.tracing as t\n"
        f"hf_mltrack.set_tracking_uri('sqlite:///{db}')\n"
        "@t.trace\n"
        "def f(x):\n"
        "    return x * 2\n"
        "for i in range(5):\n"
        "    f(i)\n"
    )
    env = {
        "HF_MLTRACK_HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "HF_MLTRACK_TRACE_EXPORT_INTERVAL": "60",
    }
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    from hf_mltrack.tracing.stores import get_trace_store

    traces = get_trace_store(f"sqlite:///{db}").search_traces(None, None, 10, ["timestamp_ms"], None)
    assert sorted(t.data.root_span.outputs for t in traces) == [0, 2, 4, 6, 8]
