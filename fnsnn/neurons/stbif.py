"""Signed ternary bounded IF neuron (ST-BIF, SpikeZIP) for running quantised ANNs as SNNs.

With scale ``s`` (the quantiser's step) and bounds ``[neg_min, pos_max]`` on the released count:
``Q = Q + X / s`` (no gradient through this charge); ``A = round(A)``;
``C = +1`` where ``Q >= 1`` and ``A < pos_max``, ``C = -1`` where ``Q < 0`` and ``A > neg_min``, else 0;
``Q = Q - C``;  ``A = A + C``;  output ``Y = C s``.
``Q`` starts at 0.5 (round to nearest), ``A`` and ``C`` at 0. After ``T`` steps ``sum_t Y`` equals
``s`` times the clamped, rounded ``sum_t X / s``: the quantised ANN's activation.
"""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple, Optional, Tuple, Union

import torch

from .._checks import check_number
from ._base import NeuronFamily, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class STBIFState(NamedTuple):
    q: torch.Tensor
    acc_q: torch.Tensor
    cur_output: torch.Tensor


def _rest(like, cfg):
    return STBIFState(full_like(like, 0.5), torch.zeros_like(like), torch.zeros_like(like))


def _update(x, state, cfg):
    s = cfg["q_threshold"]
    q = state.q + (x / s).detach()
    acc = torch.round(state.acc_q)
    up = ((q >= 1.0) & (acc < cfg["pos_max"])).to(x.dtype)
    down = ((q < 0.0) & (acc > cfg["neg_min"])).to(x.dtype)
    cur = up - down
    return cur * s, STBIFState(q - cur, acc + cur, cur)


STBIF = NeuronFamily("stbif", STBIFState, _rest, _update, trace="q")


def stbif_bounds(level: int, sym: bool = False) -> Tuple[float, float]:
    """``(pos_max, neg_min)`` of a ``level``-level quantiser: ``(level - 1, 0)``, or with ``sym``
    ``(level // 2 - 1, -ceil(level / 2))``."""
    fn = "stbif_bounds"
    if isinstance(level, bool) or not isinstance(level, int) or level < 2:
        raise ValueError(f"{fn}: `level` must be an int >= 2, got {level!r}.")
    if not isinstance(sym, bool):
        raise TypeError(f"{fn}: `sym` must be a bool, got {sym!r}.")
    if sym:
        return float(level // 2 - 1), float(-((level + 1) // 2))
    return float(level - 1), 0.0


def _config(fn, q_threshold, pos_max, neg_min):
    for name, value in (("q_threshold", q_threshold), ("pos_max", pos_max), ("neg_min", neg_min)):
        check_number(fn, name, value)
    if isinstance(q_threshold, Real) and not q_threshold > 0:
        raise ValueError(f"{fn}: `q_threshold` (the quantiser's scale) must be > 0, got {q_threshold!r}.")
    return dict(q_threshold=q_threshold, pos_max=pos_max, neg_min=neg_min)


def stbif_init_state(x: torch.Tensor) -> STBIFState:
    """Rest state for one time step's input ``x``: ``q = 0.5``, ``acc_q = cur_output = 0``."""
    return _rest(x, {})


def stbif_step(x: torch.Tensor, state: Optional[STBIFState] = None, *, q_threshold: Number,
               pos_max: Number, neg_min: Number):
    """One ST-BIF step (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``.
        state: ``STBIFState(q, acc_q, cur_output)`` shaped like ``x``; ``None`` is the rest state.
        q_threshold: the quantiser's scale ``s > 0``, a float or a tensor broadcastable to ``x``.
        pos_max, neg_min: bounds of the released count (see :func:`stbif_bounds`).

    Returns:
        ``(y, STBIFState)`` with ``y`` in ``{-s, 0, s}``.
    """
    cfg = _config("stbif_step", q_threshold, pos_max, neg_min)
    return run_step("stbif_step", STBIF, x, state, cfg)


def stbif_multi_step(x_seq: torch.Tensor, state: Optional[STBIFState] = None, *, q_threshold: Number,
                     pos_max: Number, neg_min: Number, return_v_seq: bool = False, backend: str = "auto"):
    """:func:`stbif_step` scanned over ``x_seq`` ``[T, N, *]``: ``(y_seq, final_state)``, plus the ``q`` trace
    with ``return_v_seq=True``."""
    cfg = _config("stbif_multi_step", q_threshold, pos_max, neg_min)
    return run_multi_step("stbif_multi_step", STBIF, x_seq, state, cfg, return_v_seq, backend)
