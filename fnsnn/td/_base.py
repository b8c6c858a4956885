"""Temporal-difference (TD) machinery shared by every TD operator.

A TD operator turns an ANN function ``f`` into a sequence operator whose
outputs are differences of ``f`` applied to running input sums:

    X_cum[t] = X[0] + ... + X[t]
    Y_cum[t] = f(X_cum[t])
    Y[t]     = Y_cum[t] - Y_cum[t-1],   Y_cum[-1] = 0

so ``Y.cumsum(0)[t] == f(X.cumsum(0)[t])``. The online form carries the two
running sums as explicit state (:class:`TDState`); streaming a sequence step
by step gives the whole-sequence result.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence, Tuple

import torch

from .._checks import check_state, check_tensor


class TDState(NamedTuple):
    """Running sums of a one-input TD operator: input ``x_cum`` and output ``y_cum``."""

    x_cum: torch.Tensor
    y_cum: torch.Tensor


def temporal_difference(y_cum_seq: torch.Tensor, y_cum_prev: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``Y[0] = Y_cum[0] - prev`` (``prev = 0`` when ``None``), ``Y[t] = Y_cum[t] - Y_cum[t-1]``."""
    first = y_cum_seq[:1] if y_cum_prev is None else y_cum_seq[:1] - y_cum_prev.unsqueeze(0)
    return torch.cat((first, y_cum_seq[1:] - y_cum_seq[:-1]), dim=0)


def check_td_seq(fn: str, name: str, x_seq, min_dim: int = 2) -> torch.Tensor:
    """A time-major ``[T, ...]`` floating tensor with ``T > 0`` and at least ``min_dim`` dims."""
    check_tensor(fn, name, x_seq)
    layout = "[T, ...]" if min_dim < 3 else "[T, ..., L, E]"
    if x_seq.dim() < min_dim:
        raise ValueError(f"{fn}: `{name}` expects an input sequence with shape {layout} and at least {min_dim} "
                         f"dimensions, but got shape {tuple(x_seq.shape)}.")
    if x_seq.shape[0] == 0:
        raise ValueError(f"{fn}: `{name}` expects a non-empty time dimension (T > 0), but got shape "
                         f"{tuple(x_seq.shape)}.")
    return x_seq


def check_same_time(fn: str, names: Sequence[str], seqs: Sequence[torch.Tensor]) -> None:
    lengths = [s.shape[0] for s in seqs]
    if len(set(lengths)) != 1:
        got = ", ".join(f"`{n}` T={t}" for n, t in zip(names, lengths))
        raise ValueError(f"{fn}: {', '.join(f'`{n}`' for n in names)} must have the same time length, got {got}.")


def resolve_dim(fn: str, dim, ndim: int) -> int:
    """Turn a possibly negative ``dim`` into an index of an ``ndim``-dimensional tensor."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{fn}: `dim` must be an int, got {type(dim).__name__} {dim!r}.")
    resolved = dim + ndim if dim < 0 else dim
    if not 0 <= resolved < ndim:
        raise ValueError(f"{fn}: `dim` is out of range: dim must be in the range [{-ndim}, {ndim - 1}] for an "
                         f"input with {ndim} dimensions, but got {dim}.")
    return resolved


def td_multi_step_generic(fn: str, ann: Callable, x_seqs: Tuple[torch.Tensor, ...],
                          x_cum: Optional[Tuple[torch.Tensor, ...]], y_cum: Optional[torch.Tensor]):
    """Unchecked TD over whole sequences; returns ``(y_seq, final_x_cums, final_y_cum)``."""
    cums = tuple(s.cumsum(dim=0) for s in x_seqs)
    if x_cum is not None:
        cums = tuple(c + p.unsqueeze(0) for c, p in zip(cums, x_cum))
    y_cum_seq = ann(*cums)
    y_seq = temporal_difference(y_cum_seq, y_cum)
    return y_seq, tuple(c[-1] for c in cums), y_cum_seq[-1]


def td_step_generic(ann: Callable, xs: Tuple[torch.Tensor, ...], x_cum: Optional[Tuple[torch.Tensor, ...]],
                    y_cum: Optional[torch.Tensor]):
    """Unchecked TD single step; returns ``(y, new_x_cums, new_y_cum)``."""
    cums = xs if x_cum is None else tuple(p + x for p, x in zip(x_cum, xs))
    new_y_cum = ann(*cums)
    y = new_y_cum if y_cum is None else new_y_cum - y_cum
    return y, cums, new_y_cum


def unary_init_state(x: torch.Tensor, y_shape) -> TDState:
    """Zero running sums for input ``x`` of one step and an output of shape ``y_shape``."""
    return TDState(torch.zeros_like(x), x.new_zeros(tuple(y_shape)))


def unary_step(fn: str, ann: Callable, x: torch.Tensor, state: Optional[TDState], y_shape) -> Tuple[torch.Tensor, TDState]:
    """Validated single step of a one-input TD operator whose output has shape ``y_shape``."""
    if state is not None:
        check_state(fn, state, TDState, x, shapes={"y_cum": tuple(y_shape)})
        y, (x_cum,), y_cum = td_step_generic(ann, (x,), (state.x_cum,), state.y_cum)
    else:
        y, (x_cum,), y_cum = td_step_generic(ann, (x,), None, None)
    return y, TDState(x_cum, y_cum)


def unary_multi_step(fn: str, ann: Callable, x_seq: torch.Tensor, state: Optional[TDState], y_shape):
    """Validated multi step of a one-input TD operator; ``y_shape`` is the shape of one output step."""
    if state is not None:
        check_state(fn, state, TDState, x_seq.select(0, 0), shapes={"y_cum": tuple(y_shape)})
        y_seq, (x_cum,), y_cum = td_multi_step_generic(fn, ann, (x_seq,), (state.x_cum,), state.y_cum)
    else:
        y_seq, (x_cum,), y_cum = td_multi_step_generic(fn, ann, (x_seq,), None, None)
    return y_seq, TDState(x_cum, y_cum)


def check_step_input(fn: str, name: str, x, min_dim: int = 1) -> torch.Tensor:
    check_tensor(fn, name, x)
    if x.dim() < min_dim:
        raise ValueError(f"{fn}: `{name}` (one time step) needs at least {min_dim} dims, got shape {tuple(x.shape)}.")
    return x
