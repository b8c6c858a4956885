#!/usr/bin/env bash
# Runs the end-to-end demo (examples/digits_demo.py); extra arguments are passed on, e.g. --epochs 3.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
python examples/digits_demo.py "$@"
