"""Dropout whose mask is drawn once per simulation and reused at every time step.

``y[t] = x[t] * m`` with ``m = Bernoulli(1 - p) / (1 - p)`` drawn at the first
step (element-wise, or per channel of ``[N, C, *]`` for the 2d form) and kept
in the state until a new state is started. Out of training ``y = x``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from .._checks import check_bool, check_seq, check_state, check_tensor
from ._random import check_probability, resolve_generator


class DropoutState(NamedTuple):
    mask: torch.Tensor


def _check_channels(fn: str, like: torch.Tensor, channelwise: bool) -> None:
    if channelwise and like.dim() < 3:
        raise ValueError(f"{fn}: channel-wise dropout needs inputs [N, C, *spatial] (at least 3 dims) per time "
                         f"step, got shape {tuple(like.shape)}.")


def _draw(fn, like, p, training, channelwise, generator, seed) -> DropoutState:
    if not training:
        # A simulation started out of training drops nothing until a new state is drawn.
        return DropoutState(torch.ones_like(like))
    gen = resolve_generator(fn, generator, seed, like.device)
    shape = like.shape[:2] + (1,) * (like.dim() - 2) if channelwise else like.shape
    keep = torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - p, generator=gen)
    return DropoutState((keep / (1.0 - p)).expand(like.shape).clone())


def _prepare(fn, like, state, p, training, channelwise, generator, seed):
    p = check_probability(fn, p)
    check_bool(fn, "training", training)
    _check_channels(fn, like, channelwise)
    if state is None:
        return _draw(fn, like, p, training, channelwise, generator, seed)
    return check_state(fn, state, DropoutState, like)


def _init_state(fn, x, p, training, channelwise, generator, seed) -> DropoutState:
    check_tensor(fn, "x", x)
    return _prepare(fn, x, None, p, training, channelwise, generator, seed)


def _step(fn, x, state, p, training, channelwise, generator, seed):
    check_tensor(fn, "x", x)
    state = _prepare(fn, x, state, p, training, channelwise, generator, seed)
    return (x * state.mask if training else x), state


def _multi_step(fn, x_seq, state, p, training, channelwise, generator, seed):
    check_seq(fn, "x_seq", x_seq)
    state = _prepare(fn, x_seq.select(0, 0), state, p, training, channelwise, generator, seed)
    return (x_seq * state.mask if training else x_seq), state


def dropout_init_state(x: torch.Tensor, *, p: float = 0.5, training: bool = True,
                       generator: Optional[torch.Generator] = None, seed: Optional[int] = None) -> DropoutState:
    """Draw the mask for inputs shaped like ``x`` (one time step); all ones when not ``training``."""
    return _init_state("dropout_init_state", x, p, training, False, generator, seed)


def dropout_step(x: torch.Tensor, state: Optional[DropoutState] = None, *, p: float = 0.5, training: bool = True,
                 generator: Optional[torch.Generator] = None, seed: Optional[int] = None):
    """One step of the per-simulation dropout.

    Args:
        x: input of one time step, ``[N, *]``.
        state: ``DropoutState(mask)`` shaped like ``x``; ``None`` draws a new mask.
        p: drop probability in ``[0, 1)`` (a Python number).
        training: apply the mask; if False ``y = x`` (a new state then holds ones).
        generator, seed: the randomness for a new mask (one of them is needed when ``state`` is None
            and ``training``).

    Returns:
        ``(y, DropoutState)``.
    """
    return _step("dropout_step", x, state, p, training, False, generator, seed)


def dropout_multi_step(x_seq: torch.Tensor, state: Optional[DropoutState] = None, *, p: float = 0.5,
                       training: bool = True, generator: Optional[torch.Generator] = None,
                       seed: Optional[int] = None):
    """:func:`dropout_step` over ``x_seq`` ``[T, N, *]``: one mask for every step, applied at once."""
    return _multi_step("dropout_multi_step", x_seq, state, p, training, False, generator, seed)


def dropout2d_init_state(x: torch.Tensor, *, p: float = 0.2, training: bool = True,
                         generator: Optional[torch.Generator] = None, seed: Optional[int] = None) -> DropoutState:
    """Draw a channel-wise mask for inputs ``[N, C, *spatial]`` shaped like ``x``."""
    return _init_state("dropout2d_init_state", x, p, training, True, generator, seed)


def dropout2d_step(x: torch.Tensor, state: Optional[DropoutState] = None, *, p: float = 0.2,
                   training: bool = True, generator: Optional[torch.Generator] = None,
                   seed: Optional[int] = None):
    """:func:`dropout_step` dropping whole channels of ``x`` ``[N, C, *spatial]``."""
    return _step("dropout2d_step", x, state, p, training, True, generator, seed)


def dropout2d_multi_step(x_seq: torch.Tensor, state: Optional[DropoutState] = None, *, p: float = 0.2,
                         training: bool = True, generator: Optional[torch.Generator] = None,
                         seed: Optional[int] = None):
    """:func:`dropout2d_step` over ``x_seq`` ``[T, N, C, *spatial]`` with one mask for every step."""
    return _multi_step("dropout2d_multi_step", x_seq, state, p, training, True, generator, seed)
