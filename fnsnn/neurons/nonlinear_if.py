"""Nonlinear integrate-and-fire neurons: quadratic (QIF), exponential (EIF) and Izhikevich.

QIF charge:  ``H = V + (X + a0 (V - V_rest)(V - V_c)) / tau``
EIF charge:  ``H = V + (X + V_rest - V + delta_T exp((V - theta_rh) / delta_T)) / tau``
Izhikevich:  ``H = V + (X + a0 (V - V_rest)(V - V_c) - W) / tau``,
             ``W' = W + (a (H - V_rest) - W) / tau_w + b S``.
Each then fires ``S = Θ(H - v_threshold)`` and resets ``V`` from ``H`` as
:func:`fnsnn.if_step` does (hard reset to ``v_reset``, soft with ``v_reset=None``).
"""

from __future__ import annotations

from numbers import Real
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class QIFState(NamedTuple):
    v: torch.Tensor


class EIFState(NamedTuple):
    v: torch.Tensor


class IzhikevichState(NamedTuple):
    v: torch.Tensor
    w: torch.Tensor


def _rest_v(like, cfg):
    v_reset = cfg["v_reset"]
    return full_like(like, 0.0 if v_reset is None else v_reset)


def _fire(h, cfg):
    return fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])


def _qif_update(x, state, cfg):
    v = state.v
    h = v + (x + cfg["a0"] * (v - cfg["v_rest"]) * (v - cfg["v_c"])) / cfg["tau"]
    spike, v = _fire(h, cfg)
    return spike, QIFState(v)


def _eif_update(x, state, cfg):
    v, delta_t = state.v, cfg["delta_T"]
    h = v + (x + cfg["v_rest"] - v + delta_t * torch.exp((v - cfg["theta_rh"]) / delta_t)) / cfg["tau"]
    spike, v = _fire(h, cfg)
    return spike, EIFState(v)


def _izhikevich_update(x, state, cfg):
    v, w, v_rest = state.v, state.w, cfg["v_rest"]
    h = v + (x + cfg["a0"] * (v - v_rest) * (v - cfg["v_c"]) - w) / cfg["tau"]
    spike, v = _fire(h, cfg)
    w = w + (cfg["a"] * (h - v_rest) - w) / cfg["tau_w"] + cfg["b"] * spike
    return spike, IzhikevichState(v, w)


QIF = NeuronFamily("qif", QIFState, lambda like, cfg: QIFState(_rest_v(like, cfg)), _qif_update)
EIF = NeuronFamily("eif", EIFState, lambda like, cfg: EIFState(_rest_v(like, cfg)), _eif_update)
IZHIKEVICH = NeuronFamily(
    "izhikevich", IzhikevichState,
    lambda like, cfg: IzhikevichState(_rest_v(like, cfg), full_like(like, cfg["w_rest"])),
    _izhikevich_update,
)


def _check_below(fn, low_name, low, high_name, high, *, strict):
    """``low < high`` (or ``<=``) when both are Python numbers; tensors pass unchecked."""
    if isinstance(low, Real) and isinstance(high, Real):
        bad = low >= high if strict else low > high
        if bad:
            op = "<" if strict else "<="
            raise ValueError(f"{fn}: `{low_name}` must be {op} `{high_name}`, got {low_name}={low!r}, "
                             f"{high_name}={high!r}.")


_BOUNDS = dict(tau=dict(gt=1.0), a0=dict(gt=0.0), delta_T=dict(gt=0.0), tau_w=dict(gt=0.0))


def _numbers(fn, **values):
    """Each value by :func:`fnsnn._checks.check_param`: finite, and within its bound in ``_BOUNDS``."""
    for name, value in values.items():
        check_param(fn, name, value, **_BOUNDS.get(name, {}))
    return values


def _reset_below(fn, firing, v_rest):
    v_reset = firing["v_reset"]
    if v_reset is not None:
        _check_below(fn, "v_reset", v_reset, "v_threshold", firing["v_threshold"], strict=True)
        _check_below(fn, "v_reset", v_reset, "v_rest", v_rest, strict=False)


def _qif_config(fn, tau, v_c, a0, v_rest, v_threshold, v_reset, detach_reset, surrogate_function):
    cfg = _numbers(fn, tau=tau, v_c=v_c, a0=a0, v_rest=v_rest)
    firing = check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function)
    _reset_below(fn, firing, v_rest)
    return dict(cfg, **firing)


def _eif_config(fn, tau, delta_T, theta_rh, v_rest, v_threshold, v_reset, detach_reset, surrogate_function):
    cfg = _numbers(fn, tau=tau, delta_T=delta_T, theta_rh=theta_rh, v_rest=v_rest)
    firing = check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function)
    _reset_below(fn, firing, v_rest)
    return dict(cfg, **firing)


def _izhikevich_config(fn, tau, v_c, a0, v_rest, w_rest, tau_w, a, b, v_threshold, v_reset, detach_reset,
                       surrogate_function):
    cfg = _numbers(fn, tau=tau, v_c=v_c, a0=a0, v_rest=v_rest, w_rest=w_rest, tau_w=tau_w, a=a, b=b)
    return dict(cfg, **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


# -- QIF ------------------------------------------------------------------------

def qif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = -0.1) -> QIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return QIFState(_rest_v(x, dict(v_reset=v_reset)))


def qif_step(x: torch.Tensor, state: Optional[QIFState] = None, *, tau: Number = 2.0, v_c: Number = 0.8,
             a0: Number = 1.0, v_threshold: Number = 1.0, v_rest: Number = 0.0,
             v_reset: Optional[Number] = -0.1, detach_reset: bool = False,
             surrogate_function: Optional[Callable] = None):
    """One step of the quadratic integrate-and-fire neuron (charge in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``QIFState(v)`` shaped like ``x``; ``None`` is the rest state ``v = v_reset``.
        tau: membrane time constant, ``> 1``.
        v_c: critical voltage; a0: quadratic coefficient, ``> 0``; v_rest: resting potential.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`;
            a hard reset needs ``v_reset < v_threshold`` and ``v_reset <= v_rest``.
        Numeric arguments are floats or tensors broadcastable to ``x``.

    Returns:
        ``(spike, QIFState)``.
    """
    cfg = _qif_config("qif_step", tau, v_c, a0, v_rest, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("qif_step", QIF, x, state, cfg)


def qif_multi_step(x_seq: torch.Tensor, state: Optional[QIFState] = None, *, tau: Number = 2.0,
                   v_c: Number = 0.8, a0: Number = 1.0, v_threshold: Number = 1.0, v_rest: Number = 0.0,
                   v_reset: Optional[Number] = -0.1, detach_reset: bool = False,
                   surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                   backend: str = "auto"):
    """:func:`qif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _qif_config("qif_multi_step", tau, v_c, a0, v_rest, v_threshold, v_reset, detach_reset,
                      surrogate_function)
    return run_multi_step("qif_multi_step", QIF, x_seq, state, cfg, return_v_seq, backend)


# -- EIF ------------------------------------------------------------------------

def eif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = -0.1) -> EIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return EIFState(_rest_v(x, dict(v_reset=v_reset)))


def eif_step(x: torch.Tensor, state: Optional[EIFState] = None, *, tau: Number = 2.0, delta_T: Number = 1.0,
             theta_rh: Number = 0.8, v_threshold: Number = 1.0, v_rest: Number = 0.0,
             v_reset: Optional[Number] = -0.1, detach_reset: bool = False,
             surrogate_function: Optional[Callable] = None):
    """One step of the exponential integrate-and-fire neuron (charge in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``EIFState(v)`` shaped like ``x``; ``None`` is the rest state ``v = v_reset``.
        tau: membrane time constant, ``> 1``.
        delta_T: sharpness, ``> 0``; theta_rh: rheobase voltage; v_rest: resting potential.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`qif_step`.

    Returns:
        ``(spike, EIFState)``.
    """
    cfg = _eif_config("eif_step", tau, delta_T, theta_rh, v_rest, v_threshold, v_reset, detach_reset,
                      surrogate_function)
    return run_step("eif_step", EIF, x, state, cfg)


def eif_multi_step(x_seq: torch.Tensor, state: Optional[EIFState] = None, *, tau: Number = 2.0,
                   delta_T: Number = 1.0, theta_rh: Number = 0.8, v_threshold: Number = 1.0,
                   v_rest: Number = 0.0, v_reset: Optional[Number] = -0.1, detach_reset: bool = False,
                   surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                   backend: str = "auto"):
    """:func:`eif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`qif_multi_step`."""
    cfg = _eif_config("eif_multi_step", tau, delta_T, theta_rh, v_rest, v_threshold, v_reset, detach_reset,
                      surrogate_function)
    return run_multi_step("eif_multi_step", EIF, x_seq, state, cfg, return_v_seq, backend)


# -- Izhikevich -----------------------------------------------------------------

def izhikevich_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0,
                          w_rest: Number = 0.0) -> IzhikevichState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset), ``w = w_rest``."""
    return IZHIKEVICH.rest(x, dict(v_reset=v_reset, w_rest=w_rest))


def izhikevich_step(x: torch.Tensor, state: Optional[IzhikevichState] = None, *, tau: Number = 2.0,
                    v_c: Number = 0.8, a0: Number = 1.0, v_threshold: Number = 1.0,
                    v_reset: Optional[Number] = 0.0, v_rest: Number = -0.1, w_rest: Number = 0.0,
                    tau_w: Number = 2.0, a: Number = 0.0, b: Number = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None):
    """One step of the Izhikevich neuron: a QIF membrane with an adaptation current ``w``.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``IzhikevichState(v, w)``, both shaped like ``x``; ``None`` is the rest
            state ``v = v_reset``, ``w = w_rest``.
        tau: membrane time constant, ``> 1``; v_c, a0 (``> 0``), v_rest: as for :func:`qif_step`.
        w_rest: rest value of ``w``; tau_w: adaptation time constant, ``> 0``;
            a: subthreshold coupling; b: spike-triggered jump of ``w``.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`
            (``detach_reset`` affects the voltage reset only).

    Returns:
        ``(spike, IzhikevichState)``.
    """
    cfg = _izhikevich_config("izhikevich_step", tau, v_c, a0, v_rest, w_rest, tau_w, a, b, v_threshold,
                             v_reset, detach_reset, surrogate_function)
    return run_step("izhikevich_step", IZHIKEVICH, x, state, cfg)


def izhikevich_multi_step(x_seq: torch.Tensor, state: Optional[IzhikevichState] = None, *, tau: Number = 2.0,
                          v_c: Number = 0.8, a0: Number = 1.0, v_threshold: Number = 1.0,
                          v_reset: Optional[Number] = 0.0, v_rest: Number = -0.1, w_rest: Number = 0.0,
                          tau_w: Number = 2.0, a: Number = 0.0, b: Number = 0.0, detach_reset: bool = False,
                          surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                          backend: str = "auto"):
    """:func:`izhikevich_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus the voltage trace ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _izhikevich_config("izhikevich_multi_step", tau, v_c, a0, v_rest, w_rest, tau_w, a, b, v_threshold,
                             v_reset, detach_reset, surrogate_function)
    return run_multi_step("izhikevich_multi_step", IZHIKEVICH, x_seq, state, cfg, return_v_seq, backend)
