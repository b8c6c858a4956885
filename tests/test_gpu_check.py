"""The prepared GPU check runs end to end on a tiny size (kernels under TRITON_INTERPRET=1 on a CPU)."""

import importlib.util
import json
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.triton
def test_gpu_check_tiny_passes_every_case(tmp_path):
    assert os.environ.get("TRITON_INTERPRET") == "1"
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rc = module.main([str(tmp_path), "--tiny"])
    results = json.loads((tmp_path / "results.json").read_text())
    failed = [c for c in results["cases"] if not c["ok"]]
    assert rc == 0 and not failed, failed
    # every family with a kernel x 2 resets (CLIF: its own) x 3 surrogates x 2 dtypes, plus modules and vmap
    assert results["passed"] == 8 * 2 * 3 * 2 + 1 * 3 * 2 + 2 + 1
    assert (tmp_path / "log.txt").read_text().count("PASS") == results["passed"]
    assert (tmp_path / "results.md").exists()
