"""AdaptBaseNode: shell of :func:`fnsnn.adapt_step` / :func:`fnsnn.adapt_multi_step`."""

from __future__ import annotations

from typing import Callable, Optional

import fnsnn
from fnsnn.neurons.adapt import ADAPT, check_adaptation

from ._base import BaseNode


class AdaptBaseNode(BaseNode):
    """Base class of adaptive neurons with memories ``v`` and ``w``; see :func:`fnsnn.adapt_step`.

    A subclass defines ``neuronal_charge(self, x, v, w) -> h``, a pure function of
    tensors giving the charged potential; the adaptation, firing and reset come
    from the core. Running the base class itself raises ``TypeError``.

    Args:
        v_rest: potential the adaptation is measured from.
        w_rest: rest (and reset) value of ``w``.
        tau_w: adaptation time constant (> 0).
        a: sub-threshold coupling of ``w`` to ``v``.
        b: jump of ``w`` per spike.
        Other arguments as :class:`BaseNode`; ``backend`` comes last.
    """

    family = ADAPT
    step_function = staticmethod(fnsnn.adapt_step)
    multi_step_function = staticmethod(fnsnn.adapt_multi_step)
    neuronal_charge: Optional[Callable] = None

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0, v_rest: float = 0.0,
                 w_rest: float = 0.0, tau_w: float = 2.0, a: float = 0.0, b: float = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        check_adaptation(type(self).__name__, v_rest, w_rest, tau_w, a, b)
        self._w_rest_init = w_rest
        super().__init__(v_threshold=v_threshold, v_reset=v_reset, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)
        self.v_rest = v_rest
        self.w_rest = w_rest
        self.tau_w = tau_w
        self.a = a
        self.b = b

    def memory_reset_values(self):
        return dict(super().memory_reset_values(), w=self._w_rest_init)

    def core_config(self):
        charge = self.neuronal_charge
        if charge is None:
            raise TypeError(f"{type(self).__name__}: AdaptBaseNode is a base class; subclass it and define "
                            f"neuronal_charge(self, x, v, w) returning the charged potential h.")
        return dict(super().core_config(), charge=charge, v_rest=self.v_rest, w_rest=self.w_rest,
                    tau_w=self.tau_w, a=self.a, b=self.b)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", v_rest={self.v_rest}, w_rest={self.w_rest}, tau_w={self.tau_w}, "
                f"a={self.a}, b={self.b}")

