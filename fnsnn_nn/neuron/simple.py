"""SimpleIFNode and SimpleLIFNode: shells of :mod:`fnsnn.neurons.simple`."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn.neurons.simple import SIMPLE_IF, SIMPLE_LIF, _simple_lif_config

from ._base import BaseNode


class SimpleIFNode(BaseNode):
    """Simple IF neuron (``v`` rests at 0 whatever ``v_reset``); see :func:`fnsnn.simple_if_step`.

    Arguments as :class:`BaseNode`; ``store_v_seq`` and ``backend`` are extras
    over SpikingJelly's signature and come last.
    """

    family = SIMPLE_IF
    step_function = staticmethod(fnsnn.simple_if_step)
    multi_step_function = staticmethod(fnsnn.simple_if_multi_step)

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)

    def memory_reset_values(self):
        return {"v": 0.0}


class SimpleLIFNode(BaseNode):
    """Simple LIF neuron (``v`` rests at 0); see :func:`fnsnn.simple_lif_step`.

    Args:
        tau: membrane time constant (> 0), required.
        decay_input: whether the input decays with ``tau`` too, required.
        Other arguments as :class:`SimpleIFNode`.
    """

    family = SIMPLE_LIF
    step_function = staticmethod(fnsnn.simple_lif_step)
    multi_step_function = staticmethod(fnsnn.simple_lif_multi_step)

    def __init__(self, tau: float, decay_input: bool, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        _simple_lif_config("SimpleLIFNode", tau, decay_input, v_threshold, v_reset, detach_reset,
                           surrogate_function)
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)
        self.tau = tau
        self.decay_input = decay_input

    def memory_reset_values(self):
        return {"v": 0.0}

    def core_config(self):
        return dict(super().core_config(), tau=self.tau, decay_input=self.decay_input)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"
