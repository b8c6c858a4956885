#!/usr/bin/env bash
# Runs the whole test suite (parity and Triton-interpreter tests included).
set -euo pipefail
source "$(dirname "$0")/_env.sh"
set +e
python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests; failing on purpose" >&2
    exit 1
fi
exit "$rc"
