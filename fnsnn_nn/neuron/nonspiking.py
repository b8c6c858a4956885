"""NonSpikingIFNode and NonSpikingLIFNode: shells of :mod:`fnsnn.neurons.nonspiking`."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import torch
import torch.nn as nn

import fnsnn
from fnsnn.neurons.nonspiking import _decode_config, _tau_config

from ..base import MultiStepModule


class NonSpikingBaseNode(nn.Module, MultiStepModule):
    """Base of the non-spiking integrators: multi-step only, no memory across calls.

    Every call starts from ``v = 0``; after it ``self.v`` holds the last potential.

    Args:
        decode: ``None`` (return the list of the ``T`` potentials), ``"max-mem"``,
            ``"max-abs-mem"``, ``"mean-mem"`` or ``"last_mem"`` (return one ``[N, *]``
            tensor); see :func:`fnsnn.nonspiking_if_multi_step`.
    """

    multi_step_function = None

    def __init__(self, decode: Optional[str] = None):
        if type(self).multi_step_function is None:
            raise TypeError(f"{type(self).__name__} is a base class without dynamics; "
                            f"use NonSpikingIFNode or NonSpikingLIFNode.")
        super().__init__()
        self._step_mode = "m"
        self.decode = _decode_config(type(self).__name__, decode)
        self.v = None

    def core_config(self) -> Dict[str, Any]:
        return {}

    def forward(self, x_seq: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        y, state = self.multi_step_function(x_seq, None, decode=self.decode, **self.core_config())
        self.v = state.v
        return list(y.unbind(0)) if self.decode is None else y

    def extra_repr(self) -> str:
        return f"decode={self.decode!r}"


class NonSpikingIFNode(NonSpikingBaseNode):
    """Non-spiking integrator ``V = V + X``; see :func:`fnsnn.nonspiking_if_multi_step`."""

    multi_step_function = staticmethod(fnsnn.nonspiking_if_multi_step)

    def __init__(self, decode: Optional[str] = None):
        super().__init__(decode)


class NonSpikingLIFNode(NonSpikingBaseNode):
    """Non-spiking leaky integrator ``V = V + (X - V) / tau``; see :func:`fnsnn.nonspiking_lif_multi_step`.

    Args:
        tau: membrane time constant (> 1).
        decode: as :class:`NonSpikingBaseNode`.
    """

    multi_step_function = staticmethod(fnsnn.nonspiking_lif_multi_step)

    def __init__(self, tau: float = 2.0, decode: Optional[str] = None):
        _tau_config("NonSpikingLIFNode", tau)
        super().__init__(decode)
        self.tau = tau

    def core_config(self) -> Dict[str, Any]:
        return dict(tau=self.tau)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, " + super().extra_repr()
