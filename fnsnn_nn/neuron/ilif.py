"""ILIFNode: shell of :mod:`fnsnn.neurons.ilif` (its spike function lives in :mod:`fnsnn_nn.surrogate`)."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn._checks import _describe, check_surrogate
from fnsnn.neurons import ilif as _core

from ..surrogate import MultiLevelSpikeCount
from .lif import LIFNode


def _is_spiking_count(fn) -> bool:
    core = fn.core if isinstance(fn, MultiLevelSpikeCount) else fn
    return isinstance(core, _core.MultiLevelSpikeCount) and core.spiking


class ILIFNode(LIFNode):
    """Integer LIF neuron emitting spike counts; see :func:`fnsnn.ilif_step`.

    Soft reset and no input decay are fixed (``v_reset = None``, ``decay_input = False``).

    Args:
        tau: membrane time constant (> 1), default 4/3.
        v_threshold: size of one spike (> 0).
        surrogate_function: a spiking :class:`MultiLevelSpikeCount` (default ``MultiLevelSpikeCount(4)``).
        detach_reset, step_mode, store_v_seq: as :class:`BaseNode`; ``backend`` comes last.
    """

    family = _core.ILIF
    step_function = staticmethod(fnsnn.ilif_step)
    multi_step_function = staticmethod(fnsnn.ilif_multi_step)

    def __init__(self, tau: float = 4.0 / 3.0, v_threshold: float = 1.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        if surrogate_function is None:
            surrogate_function = MultiLevelSpikeCount(4)
        check_surrogate("ILIFNode", "surrogate_function", surrogate_function)
        if not _is_spiking_count(surrogate_function):
            raise ValueError(f"ILIFNode: `surrogate_function` must be a spiking MultiLevelSpikeCount, "
                             f"got {surrogate_function!r}.")
        _core._ilif_config("ILIFNode", tau, v_threshold, detach_reset, surrogate_function)
        super().__init__(tau=tau, decay_input=False, v_threshold=v_threshold, v_reset=None,
                         surrogate_function=surrogate_function, detach_reset=detach_reset, step_mode=step_mode,
                         backend=backend, store_v_seq=store_v_seq)

    def core_config(self):
        return dict(tau=self.tau, v_threshold=self.v_threshold, detach_reset=self.detach_reset,
                    surrogate_function=self.surrogate_function)
