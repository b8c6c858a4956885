"""QIFNode, EIFNode and IzhikevichNode: shells of :mod:`fnsnn.neurons.nonlinear_if`."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import fnsnn
from fnsnn.neurons.nonlinear_if import EIF, IZHIKEVICH, QIF, _eif_config, _izhikevich_config, _qif_config

from ._base import BaseNode, default_surrogate


class QIFNode(BaseNode):
    """Quadratic integrate-and-fire neuron; equations in :func:`fnsnn.qif_step`.

    Args:
        tau: membrane time constant (> 1).
        v_c: critical voltage.
        a0: quadratic coefficient (> 0).
        v_rest: resting potential; a hard reset needs ``v_reset <= v_rest`` and ``v_reset < v_threshold``.
        Other arguments as :class:`BaseNode` (``backend`` comes last, after SpikingJelly's arguments).
    """

    family = QIF
    step_function = staticmethod(fnsnn.qif_step)
    multi_step_function = staticmethod(fnsnn.qif_multi_step)

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: Optional[float] = -0.1,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        _qif_config("QIFNode", tau, v_c, a0, v_rest, v_threshold, v_reset, detach_reset, surrogate_function)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = tau
        self.v_c = v_c
        self.a0 = a0
        self.v_rest = v_rest

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), tau=self.tau, v_c=self.v_c, a0=self.a0, v_rest=self.v_rest)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, v_c={self.v_c}, a0={self.a0}, v_rest={self.v_rest}"


class EIFNode(BaseNode):
    """Exponential integrate-and-fire neuron; equations in :func:`fnsnn.eif_step`.

    Args:
        tau: membrane time constant (> 1).
        delta_T: sharpness (> 0).
        theta_rh: rheobase voltage.
        v_rest: resting potential; a hard reset needs ``v_reset <= v_rest`` and ``v_reset < v_threshold``.
        Other arguments as :class:`BaseNode` (``backend`` comes last, after SpikingJelly's arguments).
    """

    family = EIF
    step_function = staticmethod(fnsnn.eif_step)
    multi_step_function = staticmethod(fnsnn.eif_multi_step)

    def __init__(self, tau: float = 2.0, delta_T: float = 1.0, theta_rh: float = 0.8, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: Optional[float] = -0.1,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        _eif_config("EIFNode", tau, delta_T, theta_rh, v_rest, v_threshold, v_reset, detach_reset,
                    surrogate_function)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = tau
        self.delta_T = delta_T
        self.theta_rh = theta_rh
        self.v_rest = v_rest

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), tau=self.tau, delta_T=self.delta_T, theta_rh=self.theta_rh,
                    v_rest=self.v_rest)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, delta_T={self.delta_T}, theta_rh={self.theta_rh}"


class IzhikevichNode(BaseNode):
    """Izhikevich neuron with memories ``v`` and ``w``; equations in :func:`fnsnn.izhikevich_step`.

    Args:
        tau: membrane time constant (> 1).
        v_c: critical voltage; a0: quadratic coefficient (> 0).
        v_rest: resting potential.
        w_rest: rest (and reset) value of the adaptation current ``w``.
        tau_w: adaptation time constant (> 0); a: subthreshold coupling; b: spike-triggered jump.
        Other arguments as :class:`BaseNode` (``backend`` comes last, after SpikingJelly's arguments).
    """

    family = IZHIKEVICH
    step_function = staticmethod(fnsnn.izhikevich_step)
    multi_step_function = staticmethod(fnsnn.izhikevich_multi_step)

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, v_rest: float = -0.1, w_rest: float = 0.0, tau_w: float = 2.0,
                 a: float = 0.0, b: float = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        _izhikevich_config("IzhikevichNode", tau, v_c, a0, v_rest, w_rest, tau_w, a, b, v_threshold, v_reset,
                           detach_reset, surrogate_function)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = tau
        self.v_c = v_c
        self.a0 = a0
        self.v_rest = v_rest
        self.w_rest = w_rest
        self.tau_w = tau_w
        self.a = a
        self.b = b
        self.set_reset_value("w", w_rest)
        self.reset()

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), tau=self.tau, v_c=self.v_c, a0=self.a0, v_rest=self.v_rest,
                    w_rest=self.w_rest, tau_w=self.tau_w, a=self.a, b=self.b)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", v_rest={self.v_rest}, w_rest={self.w_rest}, tau_w={self.tau_w}, "
                f"a={self.a}, b={self.b}, tau={self.tau}, v_c={self.v_c}, a0={self.a0}")
