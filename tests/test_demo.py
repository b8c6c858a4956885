"""A shortened run of the end-to-end demo: it finishes, writes a readable figure and is reproducible."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_demo():
    spec = importlib.util.spec_from_file_location("digits_demo", ROOT / "examples" / "digits_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_short_demo_runs_writes_figure_and_is_reproducible(tmp_path):
    import matplotlib.image

    demo = load_demo()
    argv = ["--epochs", "1", "--T", "2", "--convert-T", "2", "4", "--quiet", "--seed", "3"]
    first = demo.main(argv + ["--out", str(tmp_path / "a")])
    second = demo.main(argv + ["--out", str(tmp_path / "b")])

    image = matplotlib.image.imread(tmp_path / "a" / "figure.png")
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 600
    text = (tmp_path / "a" / "summary.txt").read_text()
    assert "converted SNN, T=4" in text and "online run" in text
    saved = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert set(saved["converted_snn_accuracy"]) == {"2", "4"}
    assert len(saved["online_accuracy_by_step"]) == 4
    # One epoch already learns something on ten classes (chance is 0.1).
    assert first["snn_accuracy"] > 0.2 and first["ann_accuracy"] > 0.5
    for key in ("snn_accuracy_by_epoch", "ann_accuracy", "converted_snn_accuracy", "online_accuracy_by_step"):
        assert first[key] == second[key], key


def test_demo_help_names_every_flag(capsys):
    demo = load_demo()
    with pytest.raises(SystemExit) as exc:
        demo.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--epochs", "--T", "--seed", "--out"):
        assert flag in out
