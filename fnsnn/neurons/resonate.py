"""Resonate-and-fire (RAF) neuron: a damped oscillator in the ``(u, v)`` plane.

With ``α = exp(b dt)`` and ``θ = ω dt`` each step rotates and damps the state:

``U = α (u cos θ - v sin θ) + X``,
``H = α (u sin θ + v cos θ)``,
then ``S = Θ(H - v_threshold)`` and ``V`` is reset from ``H`` as in
:func:`fnsnn.if_step`; ``U`` is not reset. ``b < 0`` sets the damping,
``ω > 0`` the angular frequency and ``dt > 0`` the step.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class RAFState(NamedTuple):
    v: torch.Tensor
    u: torch.Tensor


def _apply(fn_math, fn_torch, value):
    return fn_torch(value) if isinstance(value, torch.Tensor) else fn_math(value)


def raf_coefficients(b: Number, omega: Number, dt: Number):
    """``(α, cos θ, sin θ)`` of the RAF rotation; Python floats stay floats, tensors stay tensors."""
    alpha = _apply(math.exp, torch.exp, b * dt)
    theta = omega * dt
    return alpha, _apply(math.cos, torch.cos, theta), _apply(math.sin, torch.sin, theta)


def _update(x, state, cfg):
    alpha, cos_t, sin_t = raf_coefficients(cfg["b"], cfg["omega"], cfg["dt"])
    u, v = state.u, state.v
    u_next = alpha * (u * cos_t - v * sin_t) + x
    h = alpha * (u * sin_t + v * cos_t)
    spike, v_next = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"],
                                   cfg["surrogate_function"])
    return spike, RAFState(v_next, u_next)


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return RAFState(full_like(like, 0.0 if v_reset is None else v_reset), torch.zeros_like(like))


RAF = NeuronFamily("raf", RAFState, _rest, _update)


def _raf_config(fn, b, omega, dt, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "b", b, lt=0.0)  # a damped oscillator
    check_param(fn, "omega", omega, gt=0.0)
    check_param(fn, "dt", dt, gt=0.0)
    return dict(b=b, omega=omega, dt=dt, **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def raf_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> RAFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset), ``u = 0``."""
    return _rest(x, dict(v_reset=v_reset))


def raf_step(x: torch.Tensor, state: Optional[RAFState] = None, *, b: Number = -0.2, omega: Number = 1.0,
             dt: Number = 1.0, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
             detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the resonate-and-fire neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point; it drives ``u``.
        state: ``RAFState(v, u)`` shaped like ``x``; ``None`` is the rest state.
        b: damping, ``< 0``; omega: angular frequency, ``> 0``; dt: step, ``> 0``
            (floats or tensors, so ``grad``/``vmap`` reach them).
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, RAFState)``.
    """
    cfg = _raf_config("raf_step", b, omega, dt, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("raf_step", RAF, x, state, cfg)


def raf_multi_step(x_seq: torch.Tensor, state: Optional[RAFState] = None, *, b: Number = -0.2,
                   omega: Number = 1.0, dt: Number = 1.0, v_threshold: Number = 1.0,
                   v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                   surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                   backend: str = "auto"):
    """:func:`raf_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` (post-reset ``v``) with
    ``return_v_seq=True``; ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _raf_config("raf_multi_step", b, omega, dt, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("raf_multi_step", RAF, x_seq, state, cfg, return_v_seq, backend)
