"""The recursion behind :func:`fnsnn_nn.functional.convert_sync_batchnorm`."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from fnsnn._logging import get_logger

from .base import MultiStepModule, StepModule

_log = get_logger("nn")


def _sync_from(bn: _BatchNorm, process_group, layer) -> nn.Module:
    if isinstance(bn, StepModule):
        out = layer.SyncBatchNorm(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                                  process_group, step_mode=bn.step_mode)
    else:
        out = nn.SyncBatchNorm(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                               process_group)
    if bn.affine:
        with torch.no_grad():
            out.weight = bn.weight
            out.bias = bn.bias
    out.running_mean = bn.running_mean
    out.running_var = bn.running_var
    out.num_batches_tracked = bn.num_batches_tracked
    out.train(bn.training)
    if hasattr(bn, "qconfig"):
        out.qconfig = bn.qconfig
    return out


def convert(module: nn.Module, process_group, layer) -> nn.Module:
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, nn.SyncBatchNorm):
        if isinstance(module, MultiStepModule):
            _log.info("convert_sync_batchnorm: leaving %s as it is (not synchronised)", type(module).__name__)
        else:
            out = _sync_from(module, process_group, layer)
    for name, child in module.named_children():
        out.add_module(name, convert(child, process_group, layer))
    return out
