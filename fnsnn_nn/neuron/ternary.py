"""TernaryIFNode and TernaryLIFNode: shells of :mod:`fnsnn.neurons.ternary`."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn.neurons.ternary import TERNARY_IF, TERNARY_LIF, _ternary_config, _ternary_lif_config

from ._base import BaseNode


class TernaryIFNode(BaseNode):
    """IF neuron with spikes in ``{-1, 0, 1}``; see :func:`fnsnn.ternary_if_step`.

    ``v_threshold`` must be positive and ``v_reset`` (``None`` for soft reset) lie in
    ``(-v_threshold, v_threshold)``. Other arguments as :class:`BaseNode`; ``backend`` comes last.
    """

    family = TERNARY_IF
    step_function = staticmethod(fnsnn.ternary_if_step)
    multi_step_function = staticmethod(fnsnn.ternary_if_multi_step)

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        _ternary_config("TernaryIFNode", v_threshold, v_reset, detach_reset, surrogate_function)
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)


class TernaryLIFNode(BaseNode):
    """LIF neuron with spikes in ``{-1, 0, 1}``; see :func:`fnsnn.ternary_lif_step`.

    Args:
        tau: membrane time constant (> 1).
        decay_input: whether the input decays with ``tau`` too.
        Other arguments as :class:`TernaryIFNode`.
    """

    family = TERNARY_LIF
    step_function = staticmethod(fnsnn.ternary_lif_step)
    multi_step_function = staticmethod(fnsnn.ternary_lif_multi_step)

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        _ternary_lif_config("TernaryLIFNode", tau, decay_input, v_threshold, v_reset, detach_reset,
                            surrogate_function)
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)
        self.tau = tau
        self.decay_input = decay_input

    def core_config(self):
        return dict(super().core_config(), tau=self.tau, decay_input=self.decay_input)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"
