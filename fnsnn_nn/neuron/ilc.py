"""ILCIFNode, ILCLIFNode, ILCCUBALIFNode: shells of :mod:`fnsnn.neurons.ilc`."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn

from fnsnn.neurons.ilc import ilc_multi_step

from ..base import MultiStepModule
from ..surrogate import Rect


class ILCBaseNode(nn.Module, MultiStepModule):
    """Population of spiking neurons with intra-layer connections (``conn``, a grouped Conv1d) on
    ``[T, N, act_dim * dec_pop_dim]``; see :func:`fnsnn.neurons.ilc.ilc_multi_step`. Every call starts
    from rest; ``v`` holds the potential after the last call.

    Args:
        act_dim: number of populations; dec_pop_dim: neurons per population.
        v_threshold, v_reset: firing threshold and hard-reset potential (``None``: soft reset).
        surrogate_function: spike function (default ``Rect()``).
    """

    charge = "if"

    def __init__(self, act_dim: int, dec_pop_dim: int, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None):
        super().__init__()
        for name, value in (("act_dim", act_dim), ("dec_pop_dim", dec_pop_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}: `{name}` must be a positive int, got {value!r}.")
        self.act_dim, self.dec_pop_dim, self.out_pop_dim = act_dim, dec_pop_dim, act_dim * dec_pop_dim
        self.v_threshold, self.v_reset = v_threshold, v_reset
        self.surrogate_function = Rect() if surrogate_function is None else surrogate_function
        self.conn = nn.Conv1d(act_dim, act_dim * dec_pop_dim, dec_pop_dim, groups=act_dim)
        self.step_mode = "m"
        self.v = None

    def decays(self):
        return {}

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        spikes, state = ilc_multi_step(x_seq, weight=self.conn.weight, bias=self.conn.bias, act_dim=self.act_dim,
                                       dec_pop_dim=self.dec_pop_dim, charge=self.charge, v_threshold=self.v_threshold,
                                       v_reset=self.v_reset, surrogate_function=self.surrogate_function,
                                       **self.decays())
        self.v = state.v
        return spikes


class ILCIFNode(ILCBaseNode):
    """ILC population of IF neurons."""


class ILCLIFNode(ILCBaseNode):
    """ILC population of LIF neurons, ``V = v_decay V + I``."""

    charge = "lif"

    def __init__(self, act_dim: int, dec_pop_dim: int, v_decay: float = 0.75, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None):
        super().__init__(act_dim, dec_pop_dim, v_threshold, v_reset, surrogate_function)
        self.v_decay = v_decay

    def decays(self):
        return dict(v_decay=self.v_decay)


class ILCCUBALIFNode(ILCBaseNode):
    """ILC population of current-based LIF neurons, ``C = c_decay C + I``, ``V = v_decay V + C``."""

    charge = "cuba"

    def __init__(self, act_dim: int, dec_pop_dim: int, c_decay: float = 0.5, v_decay: float = 0.75,
                 v_threshold: float = 0.5, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None):
        super().__init__(act_dim, dec_pop_dim, v_threshold, v_reset, surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay

    def decays(self):
        return dict(c_decay=self.c_decay, v_decay=self.v_decay)
