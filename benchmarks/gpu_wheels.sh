#!/usr/bin/env bash
# Prepare, on a CPU machine with a package registry, the wheels that benchmarks/gpu_check.sh installs on a
# GPU machine that has none (issue 24). The GPU machine comes with Python 3.12, torch, transformers, peft,
# accelerate, safetensors, pandas, psutil and nvidia-ml-py; this adds the rest of what hf_mltrack and its
# GPU tests import (SQLAlchemy, Alembic, orjson, click, PyYAML, cloudpickle, pytest...) and, for the
# side-by-side Trainer benchmark, mlflow-skinny 3.17.2 (installed into a venv of its own there).
#
#   benchmarks/gpu_wheels.sh                # -> benchmarks/.gpu-wheels/{ours,mlflow} (git-ignored, ~30 MB)
#   run the device tool with carry=["benchmarks/.gpu-wheels"] and the command benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${GPU_WHEELS:-benchmarks/.gpu-wheels}
PY=${GPU_PYTHON_VERSION:-3.12}
ABI=cp${PY/./}
fetch() {
  local dir=$1
  shift
  python -m pip download -q --only-binary=:all: --python-version "$PY" --implementation cp --abi "$ABI" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -d "$DEST/$dir" "$@"
}
rm -rf "$DEST"
# hf_mltrack's base dependencies that the GPU image lacks, and the test runner.
fetch ours "sqlalchemy>=2.0" "alembic>=1.12" "click>=8.1" "pyyaml>=6.0" "orjson>=3.9" "cloudpickle>=2.2" \
  "tqdm>=4.60" "packaging>=23" "pytest>=8" "pytest-timeout>=2.2"
# MLflow for the comparison: only if it keeps the total within the device tool's 64 MiB carry limit.
fetch mlflow "mlflow-skinny==3.17.2" "sqlalchemy>=2.0" "alembic>=1.12" || echo "warning: no MLflow wheels"
total_kb=$(du -sk "$DEST" | cut -f1)
if [ "$total_kb" -gt 60000 ]; then
  echo "MLflow's wheels would take the carry over 60 MB ($total_kb KB): left out"
  rm -rf "$DEST/mlflow"
fi
du -sh "$DEST"/*
