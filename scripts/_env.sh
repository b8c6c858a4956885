# Sourced by scripts/test.sh and scripts/demo.sh: creates (or reuses) .venv and
# installs the project with what the tests, the demo and the parity checks need.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=".venv/.fnsnn-installed"
want="$(cat pyproject.toml scripts/_env.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    python -m pip install --quiet --upgrade pip
    # Pin torch first so the resolver keeps the CPU wheel instead of pulling a CUDA build.
    python -m pip install --quiet "torch==2.13.0"
    python -m pip install --quiet -e ".[dev,demo,parity]"
    # Reference implementations, without their heavy optional dependencies.
    python -m pip install --quiet --no-deps "spikingjelly==2.0.0" "snntorch==1.0.0"
    echo "$want" > "$stamp"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
