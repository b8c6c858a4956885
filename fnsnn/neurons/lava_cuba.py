"""Lava-style current-based LIF neuron: two leaky integrators in fixed-point arithmetic, then fire and reset.

A leaky integrator step with decay ``d`` (a 12-bit fraction: ``d / 4096`` of the state leaks per step, ``d`` rounded
to an integer) and scale ``s`` computes, in 64-bit integers,

``Y = (sign(A) (|A| >> 12) + int(s X)) / s``  with  ``A = int(s S) (4096 - d)``,

(``int`` truncates towards zero), i.e. ``Y ≈ S (1 - d / 4096) + X``. Its gradient is that of the linear form:
``dY/dX = 1``, ``dY/dS = 1 - d / 4096``, ``dY/dd = -S / 4096`` (and the rounding of ``d`` passes gradients
straight through). The neuron runs it twice: ``C' = LI(X, C; current_decay)``, ``H = LI(C', V; voltage_decay)``,
then ``S = Θ(H - (v_threshold + v_threshold_eps))`` and the hard/soft reset of :func:`fnsnn.if_step` with
``v_threshold``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_param, check_tensor
from ._base import NeuronFamily, check_firing, reset, run_multi_step, run_step

Number = Union[float, torch.Tensor]

HW_BITS = 12


class LavaCUBALIFState(NamedTuple):
    v: torch.Tensor
    c: torch.Tensor


def _straight_round(p):
    """``round(p)`` whose gradient is 1."""
    if not isinstance(p, torch.Tensor):
        return float(round(p))
    return p + (torch.round(p) - p).detach()


def leaky_integrator_step(x: torch.Tensor, state: torch.Tensor, decay: Number, scale: Number) -> torch.Tensor:
    """One fixed-point leaky integrator step (equations in the module docstring), ``decay`` already an integer."""
    one = 1 << HW_BITS
    linear = x + state * (1 - decay / one)
    with torch.no_grad():
        d = torch.as_tensor(decay, device=x.device).detach().to(torch.int64)
        acc = (state.detach() * scale).to(torch.int64) * (one - d)
        shifted = torch.sign(acc) * (torch.abs(acc) >> HW_BITS)
        exact = (shifted + (x.detach() * scale).to(torch.int64)).to(x.dtype) / scale
    return linear + (exact - linear).detach()


def _update(x, state, cfg):
    c = leaky_integrator_step(x, state.c, _straight_round(cfg["current_decay"]), cfg["s_scale"])
    h = leaky_integrator_step(c, state.v, _straight_round(cfg["voltage_decay"]), cfg["s_scale"])
    spike = cfg["surrogate_function"](h - (cfg["v_threshold"] + cfg["v_threshold_eps"]))
    return spike, LavaCUBALIFState(reset(h, spike, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"]), c)


def _rest(like, cfg):
    # both integrators start empty (as Lava's and 2.0.0's CubaLIFNode), whatever v_reset is
    return LavaCUBALIFState(torch.zeros_like(like), torch.zeros_like(like))


LAVA_CUBA_LIF = NeuronFamily("lava_cuba_lif", LavaCUBALIFState, _rest, _update)


def _config(fn, current_decay, voltage_decay, s_scale, v_threshold, v_threshold_eps, v_reset, detach_reset,
            surrogate_function):
    check_param(fn, "current_decay", current_decay, ge=0.0, le=float(1 << HW_BITS))
    check_param(fn, "voltage_decay", voltage_decay, ge=0.0, le=float(1 << HW_BITS))
    check_param(fn, "s_scale", s_scale, gt=0.0, allow_tensor=False)
    check_param(fn, "v_threshold_eps", v_threshold_eps)
    if surrogate_function is None:
        from ..surrogate import Sigmoid

        surrogate_function = Sigmoid()
    return dict(current_decay=current_decay, voltage_decay=voltage_decay, s_scale=s_scale,
                v_threshold_eps=v_threshold_eps,
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def lava_cuba_lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> LavaCUBALIFState:
    """Rest state for one time step's input ``x``: ``v = 0`` and ``c = 0`` (whatever ``v_reset`` is)."""
    check_tensor("lava_cuba_lif_init_state", "x", x)
    return _rest(x, dict(v_reset=v_reset))


def lava_cuba_lif_step(x: torch.Tensor, state: Optional[LavaCUBALIFState] = None, *, current_decay: Number,
                       voltage_decay: Number, s_scale: float = 4096.0, v_threshold: Number = 1.0,
                       v_threshold_eps: Number = 0.01 / 4096, v_reset: Optional[Number] = 0.0,
                       detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the Lava-style CUBA LIF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``LavaCUBALIFState(v, c)``, both shaped like ``x``; ``None`` is the rest state (both 0).
        current_decay, voltage_decay: decays in ``[0, 4096]`` (12-bit fractions, rounded to integers); floats or
            tensors broadcastable to ``x``.
        s_scale: the fixed-point scale (a positive number).
        v_threshold, v_threshold_eps: the neuron fires where ``H > v_threshold + v_threshold_eps``.
        v_reset, detach_reset: as :func:`fnsnn.if_step` (the soft reset subtracts ``v_threshold``).
        surrogate_function: spike function, default ``fnsnn.surrogate.Sigmoid()``.

    Returns:
        ``(spike, LavaCUBALIFState)``.
    """
    fn = "lava_cuba_lif_step"
    cfg = _config(fn, current_decay, voltage_decay, s_scale, v_threshold, v_threshold_eps, v_reset, detach_reset,
                  surrogate_function)
    return run_step(fn, LAVA_CUBA_LIF, x, state, cfg)


def lava_cuba_lif_multi_step(x_seq: torch.Tensor, state: Optional[LavaCUBALIFState] = None, *,
                             current_decay: Number, voltage_decay: Number, s_scale: float = 4096.0,
                             v_threshold: Number = 1.0, v_threshold_eps: Number = 0.01 / 4096,
                             v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                             surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                             backend: str = "auto"):
    """:func:`lava_cuba_lif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`fnsnn.if_multi_step`."""
    fn = "lava_cuba_lif_multi_step"
    cfg = _config(fn, current_decay, voltage_decay, s_scale, v_threshold, v_threshold_eps, v_reset, detach_reset,
                  surrogate_function)
    return run_multi_step(fn, LAVA_CUBA_LIF, x_seq, state, cfg, return_v_seq, backend)
