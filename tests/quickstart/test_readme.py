"""README.md: the set-up commands, every HF_MLTRACK_* variable, every command, the tour that runs as is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import readme_sync

README_TEXT = readme_sync.README.read_text(encoding="utf-8")
PACKAGE = readme_sync.ROOT / "hf_mltrack"
FIX = "run `python tests/quickstart/readme_sync.py` and commit README.md"


def test_the_two_setup_commands_exactly() -> None:
    assert '```bash\npip install torch==2.13.0 -e ".[hf]" && hf-mltrack quickstart\n```' in README_TEXT
    assert '```bash\npip install torch==2.13.0 -e ".[dev]" && python -m pytest\n```' in README_TEXT


def test_every_env_var_of_env_all_is_documented() -> None:
    from hf_mltrack import _env

    table = readme_sync.block(README_TEXT, "env-table")
    assert table is not None, "README.md lost its <!-- env-table:start/end --> markers"
    missing = [v.name for v in _env.ALL if f"`{v.name}`" not in table]
    assert not missing, f"README.md does not list {missing}: {FIX}"
    assert table == readme_sync.env_table(), f"the configuration table is out of date: {FIX}"


def test_every_env_var_named_in_the_package_is_documented() -> None:
    named: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"[\"'](HF_MLTRACK_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    named.discard("HF_MLTRACK_SERVER")  # click's auto_envvar_prefix of the server command, not a variable
    missing = sorted(n for n in named if n not in README_TEXT)
    assert not missing, f"README.md does not mention {missing}: define them in hf_mltrack/_env.py and {FIX}"


def test_every_command_is_in_the_cli_reference() -> None:
    reference = readme_sync.block(README_TEXT, "cli-reference")
    assert reference is not None, "README.md lost its <!-- cli-reference:start/end --> markers"
    missing = [name for name in readme_sync.command_names() if f"hf-mltrack {name}" not in reference]
    assert not missing, f"the CLI reference lacks {missing}: {FIX}"
    assert "$ hf-mltrack --help" in reference


def test_benchmark_table_is_the_one_of_benchmarks_readme() -> None:
    block = readme_sync.block(README_TEXT, "benchmarks")
    assert block is not None, "README.md lost its <!-- benchmarks:start/end --> markers"
    table = readme_sync.benchmark_table()
    if table is None:
        assert "benchmarks/README.md" in block
    else:
        assert block == table, f"the comparison table differs from benchmarks/README.md's: {FIX}"


def test_relative_links_point_at_files() -> None:
    links = re.findall(r"\]\(((?!https?:|#)[^)]+)\)", README_TEXT)
    assert any(link.startswith("notebooks/") for link in links)
    for link in links:
        path, _, anchor = link.partition("#")
        if path == "benchmarks/README.md" and readme_sync.benchmark_table() is None:
            continue  # written with the benchmark results
        assert (readme_sync.ROOT / path).exists(), f"README.md links to {link}, which does not exist"
        if anchor:  # GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens
            headings = re.findall(r"^#+ (.+)$", (readme_sync.ROOT / path).read_text(encoding="utf-8"), re.M)
            anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
            assert anchor in anchors, f"README.md links to {link}: no such heading in {path}"


def test_generated_blocks_keep_their_markers() -> None:
    synced = readme_sync.sync(README_TEXT)
    for name in readme_sync.generated_blocks():
        assert readme_sync.block(synced, name) is not None


def test_five_minute_tour_runs_as_is(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    tour = README_TEXT.split("## Five-minute tour", 1)[1].split("### Where data goes", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", tour, re.DOTALL)
    assert len(blocks) == 5
    script = tmp_path / "tour.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    env.pop("HF_MLTRACK_HOME", None)  # the tour writes ./mlruns, as a reader's would
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "hf_mltrack:" not in proc.stderr, proc.stderr[-4000:]  # no warning from our own code
    # nor library noise from what we do on the user's behalf: peft's FutureWarning (from add_lora and our
    # adapter loading), transformers' weight-loading bars of load_model (the tour's own from_pretrained
    # keeps its bar)
    assert "FutureWarning" not in proc.stderr, proc.stderr[-4000:]
    assert proc.stderr.count("Loading weights:") <= 2, proc.stderr[-4000:]  # one bar, drawn at 0% and 100%
    import hf_mltrack

    client = hf_mltrack.MlTrackClient(str(work / "mlruns"))
    experiment = client.get_experiment_by_name("LLM-FineTuning")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"lora-sft-01", "lora-tiny"}
    assert len(client.get_metric_history(runs["lora-sft-01"].info.run_id, "train_loss")) == 100
    trained = runs["lora-tiny"]
    assert trained.info.status == "FINISHED" and trained.data.params["peft.r"] == "8"
    version = client.get_model_version_by_alias("tiny-gpt2-lora", "champion")
    assert version.run_id == trained.info.run_id and version.current_stage == "Production"
    assert "lora-sft-01" in proc.stdout  # the search_runs table
    (traced,) = client.search_traces([experiment.experiment_id], filter_string="name = 'answer'")
    tree = [(depth, span.name) for depth, span in traced.walk()]
    assert tree[:3] == [(0, "answer"), (1, "retrieve"), (1, "TextGenerationPipeline")]
    assert [name for depth, name in tree[3:]] == ["preprocess", "generate", "postprocess"]
    assert traced.info.request_id in proc.stdout
