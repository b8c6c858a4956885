"""TD Linear: ``Y_cum[t] = X_cum[t] W^T + b``; the bias enters once, not ``T`` times."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .._checks import check_tensor
from ._base import TDState, check_step_input, check_td_seq, unary_multi_step, unary_step


def check_linear(fn: str, x: torch.Tensor, weight, bias, name: str = "x") -> int:
    """Validate ``weight [out, in]``, ``bias [out]`` and the input's last dim; return ``out``."""
    check_tensor(fn, "weight", weight)
    if weight.dim() != 2:
        raise ValueError(f"{fn}: `weight` must have shape [out_features, in_features], got {tuple(weight.shape)}.")
    out_features, in_features = weight.shape
    if bias is not None:
        check_tensor(fn, "bias", bias)
        if tuple(bias.shape) != (out_features,):
            raise ValueError(f"{fn}: `bias` must have shape ({out_features},), got {tuple(bias.shape)}.")
    if x.shape[-1] != in_features:
        raise ValueError(f"{fn}: the last dim of `{name}` must be in_features={in_features}, "
                         f"got shape {tuple(x.shape)}.")
    return out_features


def _ann(weight, bias):
    return lambda c: F.linear(c, weight, bias)


def td_linear_multi_step(x_seq: torch.Tensor, state: Optional[TDState] = None, *, weight: torch.Tensor,
                         bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, TDState]:
    """TD Linear over ``x_seq`` ``[T, ..., in]`` continuing from ``state``.

    Args:
        x_seq: input sequence ``[T, ..., in_features]``, ``T > 0``.
        state: ``TDState(x_cum [..., in], y_cum [..., out])``, or ``None`` for zero sums.
        weight: ``[out_features, in_features]``.
        bias: ``[out_features]`` or ``None``.

    Returns:
        ``(y_seq [T, ..., out], final_state)``.
    """
    fn = "td_linear_multi_step"
    check_td_seq(fn, "x_seq", x_seq)
    out = check_linear(fn, x_seq, weight, bias, "x_seq")
    return unary_multi_step(fn, _ann(weight, bias), x_seq, state, (*x_seq.shape[1:-1], out))


def td_linear(x_seq: torch.Tensor, *, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Whole-sequence TD Linear: ``y.cumsum(0)[t] == linear(x_seq.cumsum(0)[t], weight, bias)``."""
    fn = "td_linear"
    check_td_seq(fn, "x_seq", x_seq)
    out = check_linear(fn, x_seq, weight, bias, "x_seq")
    return unary_multi_step(fn, _ann(weight, bias), x_seq, None, (*x_seq.shape[1:-1], out))[0]


def td_linear_step(x: torch.Tensor, state: Optional[TDState] = None, *, weight: torch.Tensor,
                   bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, TDState]:
    """One online step of TD Linear on ``x`` ``[N, ..., in]``; returns ``(y [N, ..., out], new_state)``."""
    fn = "td_linear_step"
    check_step_input(fn, "x", x)
    out = check_linear(fn, x, weight, bias)
    return unary_step(fn, _ann(weight, bias), x, state, (*x.shape[:-1], out))
