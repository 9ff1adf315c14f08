#!/usr/bin/env bash
# Issue 24 on a GPU machine, in one go and under 8 minutes: install the prepared wheels (no registry
# there), run tests/gpu, run benchmarks/bench_gpu.py, and write ONE markdown report with the versions,
# the GPU, the test results and every figure.
#
#   benchmarks/gpu_wheels.sh                   # first, on a CPU machine with a registry
#   benchmarks/gpu_check.sh [REPORT.md]        # then on the GPU machine (default: $OUT/gpu-report.md or
#                                              # benchmarks/results/gpu-report.md)
#   GPU_CHECK_QUICK=1 benchmarks/gpu_check.sh  # fewer steps and repeats
#   GPU_CHECK_DRY_RUN=1 GPU_CHECK_PYTHON=.venv/bin/python benchmarks/gpu_check.sh /tmp/dry.md
#                                              # the whole script on a CPU machine, tiny models
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHEELS=${GPU_WHEELS:-benchmarks/.gpu-wheels}
REPORT=${1:-${OUT:+$OUT/gpu-report.md}}
REPORT=${REPORT:-benchmarks/results/gpu-report.md}
mkdir -p "$(dirname "$REPORT")"
START=$(date +%s)
PY=${GPU_PYTHON:-python3}
log() { echo "[gpu_check +$(($(date +%s) - START))s] $*"; }

{
  echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown). Command: \`benchmarks/gpu_check.sh\`"
  echo
  echo '```text'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
  "${GPU_CHECK_PYTHON:-$PY}" -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda, "| transformers", transformers.__version__)' 2>&1
  echo '```'
  echo
} > "$REPORT"

if [ -n "${GPU_CHECK_PYTHON:-}" ]; then
  VPY=$GPU_CHECK_PYTHON  # an environment that has everything already (dry runs)
else
  log "venv with the system packages + our wheels"
  "$PY" -m venv --system-site-packages .venv-gpu
  .venv-gpu/bin/python -m pip install -q --no-index --find-links "$WHEELS/ours" \
    sqlalchemy alembic click pyyaml orjson cloudpickle tqdm packaging pytest pytest-timeout 2>&1 | tail -5
  VPY=$ROOT/.venv-gpu/bin/python
fi
export PYTHONPATH=$ROOT
MLFLOW_PY=""
if [ -n "${GPU_CHECK_MLFLOW_PYTHON:-}" ]; then
  MLFLOW_PY=$GPU_CHECK_MLFLOW_PYTHON
elif [ -d "$WHEELS/mlflow" ]; then
  log "MLflow venv for the comparison"
  "$PY" -m venv --system-site-packages .venv-gpu-mlflow
  if .venv-gpu-mlflow/bin/python -m pip install -q --no-index --find-links "$WHEELS/mlflow" mlflow-skinny sqlalchemy alembic 2>&1 | tail -5 \
    && .venv-gpu-mlflow/bin/python -c 'import mlflow' 2>/dev/null; then
    MLFLOW_PY=$ROOT/.venv-gpu-mlflow/bin/python
  fi
fi

[ "${GPU_CHECK_DRY_RUN:-0}" = 1 ] && export MLTRACK_GPU_TESTS_ON_CPU=1
log "tests/gpu"
"$VPY" -m pytest tests/gpu -v -p no:cacheprovider --timeout 240 -rs \
  --junitxml="${REPORT%.md}-tests.xml" > /tmp/gpu-tests.log 2>&1
TESTS_RC=$?
{
  echo "## tests/gpu (exit $TESTS_RC)"
  echo
  echo '```text'
  grep -E "PASSED|FAILED|SKIPPED|ERROR|passed|failed" /tmp/gpu-tests.log | tail -40
  echo '```'
  echo
  if [ $TESTS_RC -ne 0 ]; then
    echo '<details><summary>failures</summary>'
    echo
    echo '```text'
    grep -A40 -E "^_{5,} test" /tmp/gpu-tests.log | head -200
    echo '```'
    echo '</details>'
    echo
  fi
} >> "$REPORT"
log "tests done (exit $TESTS_RC)"

BENCH_ARGS=(--report "$REPORT")
[ -n "$MLFLOW_PY" ] && BENCH_ARGS+=(--mlflow-python "$MLFLOW_PY")
if [ "${GPU_CHECK_DRY_RUN:-0}" = 1 ]; then
  export MLTRACK_GPU_TESTS_ON_CPU=1
  BENCH_ARGS+=(--device cpu --tiny --steps 12 --repeats 1 --save-steps 5 --checkpoint-steps 10)
elif [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then
  BENCH_ARGS+=(--steps 100 --repeats 1 --checkpoint-steps 100)
fi
log "benchmarks"
timeout 330 "$VPY" benchmarks/bench_gpu.py "${BENCH_ARGS[@]}" 2>&1 | grep -v "Writing model shards"
log "done: $REPORT"
exit $TESTS_RC
