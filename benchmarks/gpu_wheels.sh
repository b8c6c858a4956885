#!/usr/bin/env bash
# Downloads the wheels that benchmarks/gpu_check.py needs on a GPU machine that has PyTorch and Triton but
# lacks the rest (Python 3.12, x86-64 Linux) into .whl/ at the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
echo "[gpu_wheels] downloading optree, loguru and the SpikingJelly 2.0.0 reference into .whl/ (the GPU image has the rest)"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${plat[@]}" -d .whl optree
python3 -m pip download -q --no-deps --python-version 3.12 --only-binary=:all: -d .whl \
    "spikingjelly==2.0.0" loguru
ls -1 .whl
