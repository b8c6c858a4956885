"""NeuNorm: subtract a running, channel-summed activity from spiking feature maps.

``A[t] = k A[t-1] + (1 - k) / C^2 * sum_c S[t, c]`` and ``y[t] = S[t] - w * A[t]``,
with ``A[-1] = 0``, ``A`` of shape ``[N, 1, H, W]`` and ``w`` of shape
``[C, H, W]`` (or ``[1, H, W]`` when shared across channels).
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch

from .._checks import check_param, check_seq, check_state, check_tensor
from ..scan import _scan

Number = Union[float, torch.Tensor]


class NeuNormState(NamedTuple):
    x: torch.Tensor


def _check(fn: str, like: torch.Tensor, weight, k):
    check_tensor(fn, "weight", weight)
    check_param(fn, "k", k, ge=0.0, le=1.0)
    if like.dim() != 4:
        raise ValueError(f"{fn}: the input must be [N, C, H, W] per time step, got shape {tuple(like.shape)}.")
    C, H, W = like.shape[1:]
    if weight.dim() != 3 or tuple(weight.shape[1:]) != (H, W) or weight.shape[0] not in (1, C):
        raise ValueError(
            f"{fn}: `weight` must have shape [C, H, W] = {(C, H, W)} or [1, H, W] = {(1, H, W)} "
            f"for input channels/size {(C, H, W)}, got {tuple(weight.shape)}; the layer's "
            f"in_channels/height/width must match the input."
        )
    return (1.0 - k) / C ** 2


def _prepare(fn, like, state):
    shape = (like.shape[0], 1, *like.shape[2:])
    if state is None:
        return NeuNormState(like.new_zeros(shape))
    return check_state(fn, state, NeuNormState, like, shapes={"x": shape})


def _update(x, state, weight, k, k1):
    a = k * state.x + k1 * x.sum(dim=1, keepdim=True)
    return x - weight * a, NeuNormState(a)


def neunorm_init_state(x: torch.Tensor) -> NeuNormState:
    """Rest state ``A = 0`` of shape ``[N, 1, H, W]`` for one time step's input ``x``."""
    check_tensor("neunorm_init_state", "x", x)
    if x.dim() != 4:
        raise ValueError(f"neunorm_init_state: `x` must be [N, C, H, W], got shape {tuple(x.shape)}.")
    return NeuNormState(x.new_zeros((x.shape[0], 1, *x.shape[2:])))


def _input_scale(fn: str, k1, input_scale):
    if input_scale is None:
        return k1
    check_param(fn, "input_scale", input_scale)
    return input_scale


def neunorm_step(x: torch.Tensor, state: Optional[NeuNormState] = None, *, weight: torch.Tensor,
                 k: Number = 0.9, input_scale: Optional[Number] = None):
    """One NeuNorm step.

    Args:
        x: spikes of one time step, ``[N, C, H, W]``.
        state: ``NeuNormState(x)`` with ``x`` of shape ``[N, 1, H, W]``; ``None`` is zero.
        weight: ``w``, ``[C, H, W]`` or ``[1, H, W]``.
        k: momentum ``k_tau2`` in ``[0, 1]``; ``v / F = (1 - k) / C^2`` follows from it.
        input_scale: the factor of the channel sum in place of ``(1 - k) / C^2`` (None keeps that).

    Returns:
        ``(y, NeuNormState)``.
    """
    fn = "neunorm_step"
    check_tensor(fn, "x", x)
    k1 = _input_scale(fn, _check(fn, x, weight, k), input_scale)
    return _update(x, _prepare(fn, x, state), weight, k, k1)


def neunorm_multi_step(x_seq: torch.Tensor, state: Optional[NeuNormState] = None, *, weight: torch.Tensor,
                       k: Number = 0.9, input_scale: Optional[Number] = None):
    """:func:`neunorm_step` scanned over ``x_seq`` ``[T, N, C, H, W]``; returns ``(y_seq, final_state)``."""
    fn = "neunorm_multi_step"
    check_seq(fn, "x_seq", x_seq)
    like = x_seq.select(0, 0)
    k1 = _input_scale(fn, _check(fn, like, weight, k), input_scale)
    return _scan(_update, x_seq, _prepare(fn, like, state), weight=weight, k=k, k1=k1)
