"""IFNode: shell of :func:`fnsnn.if_step` / :func:`fnsnn.if_multi_step`."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn.neurons.integrate_fire import IF

from ._base import BaseNode


class IFNode(BaseNode):
    """Integrate-and-fire neuron; see :func:`fnsnn.if_step` for the equations and :class:`BaseNode` for arguments."""

    family = IF
    step_function = staticmethod(fnsnn.if_step)
    multi_step_function = staticmethod(fnsnn.if_multi_step)

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "auto", store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
