"""Delay line: ``y[t] = x[t - delay_steps]``, zeros before the first input arrives.

The state is the queue of the last ``delay_steps`` inputs, oldest first,
as one tensor ``[delay_steps, *x.shape]``; a sequence call is a single
concatenation, so streaming and whole-sequence calls agree exactly.
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple, Optional

import torch

from .._checks import check_seq, check_state, check_tensor


class DelayState(NamedTuple):
    queue: torch.Tensor


def check_delay_steps(fn: str, delay_steps) -> int:
    if isinstance(delay_steps, bool) or not isinstance(delay_steps, Integral):
        raise TypeError(f"{fn}: `delay_steps` must be an int, got {type(delay_steps).__name__} {delay_steps!r}.")
    if delay_steps < 0:
        raise ValueError(f"{fn}: `delay_steps` must be >= 0, got {delay_steps}.")
    return int(delay_steps)


def delay_init_state(x: torch.Tensor, *, delay_steps: int) -> DelayState:
    """An empty delay line for inputs shaped like ``x``: zeros ``[delay_steps, *x.shape]``."""
    fn = "delay_init_state"
    d = check_delay_steps(fn, delay_steps)
    check_tensor(fn, "x", x, floating=False)
    return DelayState(x.new_zeros((d, *x.shape)))


def _prepare(fn, like, state, d):
    if state is None:
        return DelayState(like.new_zeros((d, *like.shape)))
    return check_state(fn, state, DelayState, like, shapes={"queue": (d, *like.shape)})


def delay_step(x: torch.Tensor, state: Optional[DelayState] = None, *, delay_steps: int):
    """Push ``x`` into the delay line and pop the input of ``delay_steps`` steps ago.

    Args:
        x: input of one time step, ``[N, *]``.
        state: ``DelayState(queue)`` with ``queue`` ``[delay_steps, *x.shape]``; ``None`` is an empty line.
        delay_steps: the delay, an int ``>= 0`` (0 returns ``x``).

    Returns:
        ``(y, DelayState)``.
    """
    fn = "delay_step"
    d = check_delay_steps(fn, delay_steps)
    check_tensor(fn, "x", x, floating=False)
    state = _prepare(fn, x, state, d)
    line = torch.cat((state.queue, x.unsqueeze(0)))
    return line[0], DelayState(line[1:])


def delay_multi_step(x_seq: torch.Tensor, state: Optional[DelayState] = None, *, delay_steps: int):
    """:func:`delay_step` over ``x_seq`` ``[T, N, *]`` in one concatenation; returns ``(y_seq, final_state)``."""
    fn = "delay_multi_step"
    d = check_delay_steps(fn, delay_steps)
    check_seq(fn, "x_seq", x_seq, floating=False)
    state = _prepare(fn, x_seq.select(0, 0), state, d)
    T = x_seq.shape[0]
    line = torch.cat((state.queue, x_seq))
    return line[:T], DelayState(line[T:])
