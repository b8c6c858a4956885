"""Adaptive neurons: a membrane potential ``v`` coupled to an adaptation current ``w``.

The family is generic in its charge ``H = charge(X, V, W)`` (a static callable,
e.g. Izhikevich's ``V + (X + a0 (V - V_rest)(V - V_c) - W) / tau``). Each step:

``H = charge(X, V, W)``,  ``S = Θ(H - v_threshold)``,
``W' = W + (a (H - V_rest) - W) / tau_w + b S``,
and ``V`` is reset from ``H`` as in :func:`fnsnn.if_step`. The rest state is
``V = v_reset`` (0 for soft reset) and ``W = w_rest``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_callable, check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class AdaptState(NamedTuple):
    v: torch.Tensor
    w: torch.Tensor


def neuronal_adaptation(w: torch.Tensor, h: torch.Tensor, *, tau_w: Number, a: Number, v_rest: Number):
    """The sub-threshold adaptation ``W + (a (H - V_rest) - W) / tau_w`` (no spike term)."""
    return w + (a * (h - v_rest) - w) / tau_w


def _update(x, state, cfg):
    h = cfg["charge"](x, state.v, state.w)
    spike, v = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])
    w = neuronal_adaptation(state.w, h, tau_w=cfg["tau_w"], a=cfg["a"], v_rest=cfg["v_rest"]) + cfg["b"] * spike
    return spike, AdaptState(v, w)


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return AdaptState(full_like(like, 0.0 if v_reset is None else v_reset), full_like(like, cfg["w_rest"]))


ADAPT = NeuronFamily("adapt", AdaptState, _rest, _update)


def check_adaptation(fn, v_rest, w_rest, tau_w, a, b) -> dict:
    """Validate the adaptation keywords (finite numbers or tensors; ``tau_w > 0``) and return them as a dict."""
    for name, value in (("v_rest", v_rest), ("w_rest", w_rest), ("a", a), ("b", b)):
        check_param(fn, name, value)
    check_param(fn, "tau_w", tau_w, gt=0.0)
    return dict(v_rest=v_rest, w_rest=w_rest, tau_w=tau_w, a=a, b=b)


def _adapt_config(fn, charge, v_threshold, v_reset, v_rest, w_rest, tau_w, a, b, detach_reset, surrogate_function):
    check_callable(fn, "charge", charge)
    return dict(charge=charge, **check_adaptation(fn, v_rest, w_rest, tau_w, a, b),
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def adapt_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0, w_rest: Number = 0.0) -> AdaptState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset), ``w = w_rest``."""
    return _rest(x, dict(v_reset=v_reset, w_rest=w_rest))


def adapt_step(x: torch.Tensor, state: Optional[AdaptState] = None, *, charge: Callable,
               v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, v_rest: Number = 0.0,
               w_rest: Number = 0.0, tau_w: Number = 2.0, a: Number = 0.0, b: Number = 0.0,
               detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of an adaptive neuron with the given charge (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``AdaptState(v, w)`` shaped like ``x``; ``None`` is the rest state.
        charge: ``charge(x, v, w) -> h``, the pure sub-threshold dynamics (required).
        v_rest: rest potential the adaptation pulls towards; w_rest: rest value of ``w``.
        tau_w: adaptation time constant, ``> 0``; a: sub-threshold coupling; b: spike-triggered jump.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, AdaptState)``.
    """
    cfg = _adapt_config("adapt_step", charge, v_threshold, v_reset, v_rest, w_rest, tau_w, a, b, detach_reset,
                        surrogate_function)
    return run_step("adapt_step", ADAPT, x, state, cfg)


def adapt_multi_step(x_seq: torch.Tensor, state: Optional[AdaptState] = None, *, charge: Callable,
                     v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, v_rest: Number = 0.0,
                     w_rest: Number = 0.0, tau_w: Number = 2.0, a: Number = 0.0, b: Number = 0.0,
                     detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                     return_v_seq: bool = False, backend: str = "auto"):
    """:func:`adapt_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` (post-reset ``v``) with
    ``return_v_seq=True``; ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _adapt_config("adapt_multi_step", charge, v_threshold, v_reset, v_rest, w_rest, tau_w, a, b,
                        detach_reset, surrogate_function)
    return run_multi_step("adapt_multi_step", ADAPT, x_seq, state, cfg, return_v_seq, backend)
