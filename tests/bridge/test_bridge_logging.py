"""Converter calibration reports through the "fnsnn" logger; nothing is printed by default."""

import logging

import torch
import torch.nn as nn

import fnsnn  # noqa: F401  (installs the NullHandler)
from bridge import Converter


def _convert():
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)).eval()
    data = [torch.rand(8, 4) for _ in range(3)]
    return Converter(data).convert_to_spiking_neurons(ann)


def test_calibration_logs_at_info(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="fnsnn"):
        _convert()
    messages = [r.getMessage() for r in caplog.records if r.name == "fnsnn.bridge"]
    assert any("calibrating 1 activation(s)" in m for m in messages)
    assert any("calibrated over 3 batch(es)" in m for m in messages)


def test_silent_by_default(capsys):
    _convert()
    out = capsys.readouterr()
    assert out.out == "" and "calibration" not in out.err
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("fnsnn").handlers)
