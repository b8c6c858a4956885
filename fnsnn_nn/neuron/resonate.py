"""RAFNode: shell of :func:`fnsnn.raf_step` / :func:`fnsnn.raf_multi_step`."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn.neurons.resonate import RAF, _raf_config

from ._base import BaseNode


class RAFNode(BaseNode):
    """Resonate-and-fire neuron with memories ``v`` and ``u``; see :func:`fnsnn.raf_step`.

    Args:
        b: damping (< 0).
        omega: angular frequency (> 0).
        dt: integration step (> 0).
        Other arguments as :class:`BaseNode`; ``backend`` comes last.
    """

    family = RAF
    step_function = staticmethod(fnsnn.raf_step)
    multi_step_function = staticmethod(fnsnn.raf_multi_step)

    def __init__(self, b: float = -0.2, omega: float = 1.0, dt: float = 1.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        _raf_config("RAFNode", b, omega, dt, v_threshold, v_reset, detach_reset, surrogate_function)
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)
        self.b = b
        self.omega = omega
        self.dt = dt

    def core_config(self):
        return dict(super().core_config(), b=self.b, omega=self.omega, dt=self.dt)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", b={self.b}, omega={self.omega}, dt={self.dt}"
