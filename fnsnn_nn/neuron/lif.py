"""LIFNode and ParametricLIFNode: shells of :mod:`fnsnn.neurons.lif`."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn

import fnsnn
from fnsnn._checks import check_bool, check_param
from fnsnn.neurons.lif import LIF, PLIF, plif_w_from_tau

from ._base import BaseNode


class LIFNode(BaseNode):
    """Leaky integrate-and-fire neuron; equations in :func:`fnsnn.lif_step`.

    Args:
        tau: membrane time constant (> 1).
        decay_input: whether the input decays with ``tau`` too.
        Other arguments as :class:`BaseNode`.
    """

    family = LIF
    step_function = staticmethod(fnsnn.lif_step)
    multi_step_function = staticmethod(fnsnn.lif_multi_step)

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", backend: str = "auto",
                 store_v_seq: bool = False):
        check_param(type(self).__name__, "tau", tau, gt=1.0, allow_tensor=False)
        check_bool("LIFNode", "decay_input", decay_input)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = tau
        self.decay_input = decay_input

    def core_config(self):
        return dict(super().core_config(), tau=self.tau, decay_input=self.decay_input)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}"


class ParametricLIFNode(BaseNode):
    """LIF neuron with a learnable time constant, ``1 / tau = sigmoid(w)``; see :func:`fnsnn.plif_step`.

    Args:
        init_tau: initial ``tau`` (> 1); the parameter ``w`` starts at ``-log(init_tau - 1)``.
        decay_input: whether the input decays with ``tau`` too.
        Other arguments as :class:`BaseNode`.
    """

    family = PLIF
    step_function = staticmethod(fnsnn.plif_step)
    multi_step_function = staticmethod(fnsnn.plif_multi_step)

    def __init__(self, init_tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", backend: str = "auto",
                 store_v_seq: bool = False):
        check_param("ParametricLIFNode", "init_tau", init_tau, gt=1.0, allow_tensor=False)
        check_bool("ParametricLIFNode", "decay_input", decay_input)
        w = plif_w_from_tau(init_tau)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.decay_input = decay_input
        self.w = nn.Parameter(torch.as_tensor(w))

    def core_config(self):
        return dict(super().core_config(), w=self.w, decay_input=self.decay_input)

    def extra_repr(self) -> str:
        with torch.no_grad():
            tau = 1.0 / self.w.sigmoid()
        return super().extra_repr() + f", tau={tau}"
