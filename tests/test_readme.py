"""Every ```python block of README.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index):
    namespace = {"__name__": f"readme_block_{index}"}
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)


def test_readme_bridge_section_lists_the_calibration_batch_forms():
    text = README.read_text()
    bridge = text[text.index("### ANN-to-SNN conversion (`bridge`)"):text.index("## Speed")]
    bridge = " ".join(bridge.split())
    for form in ("input tensor", "`(input, label)`", "`(input,)`", "a list", "a dict", '`"input"`',
                 "first tensor value", "numpy arrays", "empty batch or dataloader raises a `ValueError`"):
        assert form in bridge, form
