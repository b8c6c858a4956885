#!/usr/bin/env bash
# The GPU check as one command: installs the carried wheels (benchmarks/gpu_wheels.sh) if present, then runs
# benchmarks/gpu_check.py with the output folder given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: benchmarks/gpu_check.sh OUT_DIR [gpu_check.py options]}"
shift
if compgen -G ".whl/*.whl" >/dev/null; then
    echo "[gpu_check] installing the carried wheels into /tmp/site"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py "$out" "$@"
