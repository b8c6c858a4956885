"""TD GELU: ``Y_cum[t] = gelu(X_cum[t], approximate)`` (see :mod:`fnsnn.td._base`)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from ._base import TDState, check_step_input, check_td_seq, unary_multi_step, unary_step

APPROXIMATIONS = ("none", "tanh")


def check_approximate(fn: str, approximate) -> str:
    """``approximate`` of :func:`torch.nn.functional.gelu`: ``'none'`` or ``'tanh'``."""
    if not isinstance(approximate, str) or approximate not in APPROXIMATIONS:
        raise ValueError(f"{fn}: `approximate` is invalid: approximate must be 'none' or 'tanh', but got "
                         f"{approximate!r}.")
    return approximate


def _ann(approximate):
    return lambda c: F.gelu(c, approximate=approximate)


def td_gelu_multi_step(x_seq: torch.Tensor, state: Optional[TDState] = None, *,
                       approximate: str = "none") -> Tuple[torch.Tensor, TDState]:
    """TD GELU over ``x_seq`` ``[T, ...]`` continuing from ``state``; returns ``(y_seq, final_state)``.

    Args:
        x_seq: input sequence ``[T, ...]``, ``T > 0``, at least 2 dims.
        state: ``TDState`` shaped like one step, or ``None`` for zero sums.
        approximate: ``'none'`` or ``'tanh'``, as :func:`torch.nn.functional.gelu`.
    """
    fn = "td_gelu_multi_step"
    check_td_seq(fn, "x_seq", x_seq)
    check_approximate(fn, approximate)
    return unary_multi_step(fn, _ann(approximate), x_seq, state, x_seq.shape[1:])


def td_gelu(x_seq: torch.Tensor, *, approximate: str = "none") -> torch.Tensor:
    """Whole-sequence TD GELU: ``y.cumsum(0)[t] == gelu(x_seq.cumsum(0)[t])``; same shape and dtype."""
    fn = "td_gelu"
    check_td_seq(fn, "x_seq", x_seq)
    check_approximate(fn, approximate)
    return unary_multi_step(fn, _ann(approximate), x_seq, None, x_seq.shape[1:])[0]


def td_gelu_step(x: torch.Tensor, state: Optional[TDState] = None, *,
                 approximate: str = "none") -> Tuple[torch.Tensor, TDState]:
    """One online step of TD GELU on ``x`` ``[N, ...]``; returns ``(y, new_state)``."""
    fn = "td_gelu_step"
    check_step_input(fn, "x", x)
    check_approximate(fn, approximate)
    return unary_step(fn, _ann(approximate), x, state, x.shape)
