"""TD Softmax: ``Y_cum[t] = softmax(X_cum[t], dim)`` (see :mod:`fnsnn.td._base`)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from ._base import TDState, check_step_input, check_td_seq, resolve_dim, unary_multi_step, unary_step


def _seq_dim(fn: str, dim, ndim: int) -> int:
    resolved = resolve_dim(fn, dim, ndim)
    if resolved == 0:
        raise ValueError(f"{fn}: softmax `dim`={dim} resolves to dimension 0, which is reserved as the time "
                         f"dimension of the [T, ...] input; pick a feature dimension such as -1.")
    return resolved


def td_softmax_multi_step(x_seq: torch.Tensor, state: Optional[TDState] = None, *,
                          dim: int = -1) -> Tuple[torch.Tensor, TDState]:
    """TD Softmax over ``x_seq`` ``[T, ...]``, continuing from running sums ``state``.

    Args:
        x_seq: input sequence ``[T, ...]`` with ``T > 0`` and at least 2 dims.
        state: ``TDState(x_cum, y_cum)`` shaped like one step; ``None`` means zero sums.
        dim: softmax dimension of ``x_seq``; must not resolve to 0 (time).

    Returns:
        ``(y_seq, final_state)``; ``y_seq`` has the shape and dtype of ``x_seq``.
    """
    fn = "td_softmax_multi_step"
    check_td_seq(fn, "x_seq", x_seq)
    d = _seq_dim(fn, dim, x_seq.dim())
    return unary_multi_step(fn, lambda c: torch.softmax(c, dim=d), x_seq, state, x_seq.shape[1:])


def td_softmax(x_seq: torch.Tensor, *, dim: int = -1) -> torch.Tensor:
    """Whole-sequence TD Softmax: ``y.cumsum(0)[t] == softmax(x_seq.cumsum(0)[t], dim)``.

    Args:
        x_seq: input sequence ``[T, ...]``, ``T > 0``, at least 2 dims.
        dim: softmax dimension of ``x_seq``; must not resolve to 0 (time).

    Returns:
        ``y_seq`` of the shape and dtype of ``x_seq``.
    """
    fn = "td_softmax"
    check_td_seq(fn, "x_seq", x_seq)
    d = _seq_dim(fn, dim, x_seq.dim())
    return unary_multi_step(fn, lambda c: torch.softmax(c, dim=d), x_seq, None, x_seq.shape[1:])[0]


def td_softmax_step(x: torch.Tensor, state: Optional[TDState] = None, *, dim: int = -1) -> Tuple[torch.Tensor, TDState]:
    """One online step of TD Softmax.

    Args:
        x: input of one time step ``[N, ...]``.
        state: ``TDState(x_cum, y_cum)`` shaped like ``x``; ``None`` means zero sums.
        dim: softmax dimension of ``x`` (one step, no time dimension).

    Returns:
        ``(y, new_state)``.
    """
    fn = "td_softmax_step"
    check_step_input(fn, "x", x)
    d = resolve_dim(fn, dim, x.dim())
    return unary_step(fn, lambda c: torch.softmax(c, dim=d), x, state, x.shape)
