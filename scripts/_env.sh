# Sourced by scripts/test.sh and scripts/demo.sh: creates (or reuses) .venv and
# installs the project with what the tests, the demo and the parity checks need.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
say() { echo "[fnsnn env] $*" >&2; }
# -qq keeps pip to errors only; the steps below say what is happening.
pipq() { python -m pip install -qq --disable-pip-version-check "$@"; }
if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment .venv with $("$py" --version 2>&1)"
    "$py" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=".venv/.fnsnn-installed"
want="$(cat pyproject.toml scripts/_env.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing into .venv (first run or changed requirements; a few minutes)"
    say "upgrading pip"
    pipq --upgrade pip
    # Pin torch first so the resolver keeps the CPU wheel instead of pulling a CUDA build.
    say "installing torch==2.13.0"
    pipq "torch==2.13.0"
    say "installing the project (editable) with the dev, demo, parity, cuda, nir and test extras"
    pipq -e ".[dev,demo,parity,cuda,nir,test]"
    # Reference implementations, without their heavy optional dependencies (norse would pull
    # torchvision; its NIR import needs only nir and nirtorch, installed above).
    say "installing the reference implementations spikingjelly==2.0.0, snntorch==1.0.0 and norse==1.1.0 (no dependencies)"
    pipq --no-deps "spikingjelly==2.0.0" "snntorch==1.0.0" "norse==1.1.0"
    echo "$want" > "$stamp"
    say "environment ready"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
