"""Half-threshold IF: a soft-reset IF neuron whose rest potential is ``v_threshold / 2``.

``H = V + X``, ``S = Θ(H - v_threshold)``, ``V = H - S v_threshold``; the rest
state (restored by a shell's ``reset()``) is ``V = v_threshold / 2``, which
centres the rounding error of rate coding, as used in ANN-to-SNN conversion.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class HalfThresholdIFState(NamedTuple):
    v: torch.Tensor


def _rest(like, cfg):
    return HalfThresholdIFState(full_like(like, cfg["v_threshold"] / 2.0))


def _update(x, state, cfg):
    spike, v = fire_and_reset(state.v + x, cfg["v_threshold"], None, cfg["detach_reset"], cfg["surrogate_function"])
    return spike, HalfThresholdIFState(v)


HALF_THRESHOLD_IF = NeuronFamily("half_threshold_if", HalfThresholdIFState, _rest, _update)


def check_half_threshold(fn: str, v_threshold) -> None:
    """``v_threshold`` must be a finite, positive number or tensor (:func:`fnsnn._checks.check_param`)."""
    check_param(fn, "v_threshold", v_threshold, gt=0.0)


def _config(fn, v_threshold, detach_reset, surrogate_function):
    check_half_threshold(fn, v_threshold)
    cfg = check_firing(fn, v_threshold, None, detach_reset, surrogate_function)
    del cfg["v_reset"]
    return cfg


def half_threshold_if_init_state(x: torch.Tensor, *, v_threshold: Number = 1.0) -> HalfThresholdIFState:
    """Rest state for input ``x`` of one time step: ``v = v_threshold / 2``."""
    check_half_threshold("half_threshold_if_init_state", v_threshold)
    return _rest(x, dict(v_threshold=v_threshold))


def half_threshold_if_step(x: torch.Tensor, state: Optional[HalfThresholdIFState] = None, *,
                           v_threshold: Number = 1.0, detach_reset: bool = False,
                           surrogate_function: Optional[Callable] = None):
    """One step of the half-threshold IF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``HalfThresholdIFState(v)`` shaped like ``x``; ``None`` is the rest state
            ``v = v_threshold / 2``.
        v_threshold: positive threshold, float or tensor.
        detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, HalfThresholdIFState)``.
    """
    cfg = _config("half_threshold_if_step", v_threshold, detach_reset, surrogate_function)
    return run_step("half_threshold_if_step", HALF_THRESHOLD_IF, x, state, cfg)


def half_threshold_if_multi_step(x_seq: torch.Tensor, state: Optional[HalfThresholdIFState] = None, *,
                                 v_threshold: Number = 1.0, detach_reset: bool = False,
                                 surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                                 backend: str = "auto"):
    """:func:`half_threshold_if_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``;
    ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _config("half_threshold_if_multi_step", v_threshold, detach_reset, surrogate_function)
    return run_multi_step("half_threshold_if_multi_step", HALF_THRESHOLD_IF, x_seq, state, cfg, return_v_seq,
                          backend)
