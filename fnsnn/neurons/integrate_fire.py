"""Integrate-and-fire neuron: ``H[t] = V[t-1] + X[t]``, then fire and reset."""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class IFState(NamedTuple):
    v: torch.Tensor


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return IFState(full_like(like, 0.0 if v_reset is None else v_reset))


def _update(x, state, cfg):
    h = state.v + x
    spike, v = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])
    return spike, IFState(v)


IF = NeuronFamily("if", IFState, _rest, _update)


def if_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> IFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return _rest(x, dict(v_reset=v_reset))


def if_step(x: torch.Tensor, state: Optional[IFState] = None, *, v_threshold: Number = 1.0,
            v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
            surrogate_function: Optional[Callable] = None):
    """One step of the integrate-and-fire neuron.

    ``H = V + X``; ``S = Θ(H - v_threshold)`` with a surrogate gradient; hard
    reset ``V = S v_reset + (1 - S) H`` or, with ``v_reset=None``, soft reset
    ``V = H - S v_threshold``.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``IFState(v)`` shaped like ``x``; ``None`` is the rest state.
        v_threshold, v_reset: floats or tensors broadcastable to ``x``.
        detach_reset: stop the gradient through the reset.
        surrogate_function: spike function, default ``fnsnn.surrogate.Sigmoid()``.

    Returns:
        ``(spike, IFState)``.
    """
    cfg = check_firing("if_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("if_step", IF, x, state, cfg)


def if_multi_step(x_seq: torch.Tensor, state: Optional[IFState] = None, *, v_threshold: Number = 1.0,
                  v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                  surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                  backend: str = "auto"):
    """:func:`if_step` scanned over ``x_seq`` of shape ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` (post-reset ``v`` at
    every step, ``[T, N, *]``) when ``return_v_seq=True``. ``backend`` is
    ``"auto"``, ``"torch"`` or ``"triton"``.
    """
    cfg = check_firing("if_multi_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("if_multi_step", IF, x_seq, state, cfg, return_v_seq, backend)
