"""Parallel spiking neurons (PSN, masked PSN, sliding PSN) as pure functions.

A parallel spiking neuron has no membrane recurrence: the charge of every time
step is a learnable linear mix of the inputs, computed for the whole sequence
at once, and the spike is its Heaviside step::

    PSN:         H = W X + B,               W in R^{T x T}, B in R^{T}
    masked PSN:  H = (W * M_k(lambda)) X + B,
                 M_k[i, j] = 1 if j <= i <= j + k - 1 else 0,
                 M_k(lambda) = lambda M_k + (1 - lambda) J   (J all ones; lambda >= 1 means M_k)
    sliding PSN: H[t] = sum_{i=0}^{k-1} w_i X[t - k + 1 + i] + b,   w in R^{k}, X[t < 0] = 0
    all:         S = Θ(H)

``X`` is the input flattened to ``[T, N * ...]``; ``B`` and ``b`` are added to
the charge, so a negative bias plays the part of a threshold.

States. The PSN is stateless: every call is a whole ``T``-step sequence, and
:func:`psn_multi_step` returns the empty :class:`PSNState` only to keep the
``(y_seq, state)`` signature. The masked PSN keeps all inputs seen so far
(:class:`MaskedPSNState`); their number is the time index, a static shape
that the single step reads to pick its weight row and to refuse a step past
``T``. The sliding PSN keeps the last ``k - 1`` inputs (:class:`SlidingPSNState`,
zeros at rest), so streaming a sequence step by step or chunk by chunk gives
the same spikes as one call on the whole sequence.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Callable, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from .._checks import _describe, check_choice, check_param, check_seq, check_state, check_surrogate, check_tensor

Number = Union[float, torch.Tensor]

SLIDING_PSN_BACKENDS = ("gemm", "conv")


class PSNState(NamedTuple):
    """The PSN carries nothing between calls; this empty tuple stands for its state."""


class MaskedPSNState(NamedTuple):
    """``history``: the inputs of the steps taken so far, ``[t, *x.shape]`` (``t`` is the time index)."""

    history: torch.Tensor


class SlidingPSNState(NamedTuple):
    """``history``: the last ``k - 1`` inputs, ``[k - 1, *x.shape]``, oldest first (zeros at rest)."""

    history: torch.Tensor


class MaskedPSNOverflowError(ValueError, OverflowError):
    """A masked-PSN single step was asked for beyond the ``T`` steps its weight covers."""


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #


def _surrogate(fn: str, surrogate_function: Optional[Callable]) -> Callable:
    if surrogate_function is None:
        from ..surrogate import ATan

        return ATan()
    return check_surrogate(fn, "surrogate_function", surrogate_function)


def _check_order(fn: str, k) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"{fn}: `k` (the order) must be an int, got {_describe(k)}.")
    if k < 1:
        raise ValueError(f"{fn}: `k` (the order) must be >= 1, got {k!r}.")
    return int(k)


def _check_like(fn: str, name: str, value: torch.Tensor, like: torch.Tensor) -> None:
    if value.dtype != like.dtype:
        raise ValueError(f"{fn}: `{name}` has dtype {value.dtype} but the input is {like.dtype}; "
                         f"cast one of them so they agree.")
    if value.device != like.device:
        raise ValueError(f"{fn}: `{name}` is on {value.device} but the input is on {like.device}; "
                         f"move one of them so they agree.")


def _check_square_weight(fn: str, weight, like: torch.Tensor) -> int:
    """A ``[T, T]`` weight; returns ``T``."""
    check_tensor(fn, "weight", weight)
    if weight.dim() != 2 or weight.shape[0] != weight.shape[1] or weight.shape[0] == 0:
        raise ValueError(f"{fn}: `weight` must be a square [T, T] matrix with T > 0, "
                         f"got shape {tuple(weight.shape)}.")
    _check_like(fn, "weight", weight, like)
    return weight.shape[0]


def _check_masked_order(fn: str, weight, k, like: torch.Tensor) -> Tuple[int, int]:
    """A masked-PSN ``[T, T]`` weight and order ``1 <= k <= T``; returns ``(T, k)``."""
    T = _check_square_weight(fn, weight, like)
    k = _check_order(fn, k)
    if k > T:
        raise ValueError(f"{fn}: the order `k`={k} exceeds the number of time steps T={T}; need 1 <= k <= T.")
    return T, k


def _check_sliding_weight(fn: str, weight, like: torch.Tensor) -> int:
    """A ``[k]`` weight with ``k >= 1``; returns ``k``."""
    check_tensor(fn, "weight", weight)
    if weight.dim() != 1 or weight.shape[0] < 1:
        raise ValueError(f"{fn}: `weight` must have shape [k] with the order k >= 1, got shape {tuple(weight.shape)}.")
    _check_like(fn, "weight", weight, like)
    return weight.shape[0]


def _bias(fn: str, bias, T: Optional[int], like: torch.Tensor) -> torch.Tensor:
    """``bias`` as a tensor that broadcasts against ``[T, M]`` charges (``[T, 1]`` or 0-dim).

    Per-step biases (``T`` given) may be a number or a tensor of shape ``()``,
    ``[T]`` or ``[T, 1]``; a sliding-PSN bias (``T=None``) is a number or a 0-dim tensor.
    """
    check_param(fn, "bias", bias)
    if not isinstance(bias, torch.Tensor):
        return like.new_tensor(float(bias))
    allowed = [()] if T is None else [(), (T,), (T, 1)]
    if tuple(bias.shape) not in allowed:
        want = " or ".join(str(list(s)) for s in allowed)
        raise ValueError(f"{fn}: `bias` must have shape {want}, got shape {tuple(bias.shape)}.")
    _check_like(fn, "bias", bias, like)
    return bias.reshape(T, 1) if bias.dim() == 1 else bias


def _bias_at(bias: torch.Tensor, t: int) -> torch.Tensor:
    return bias.select(0, t) if bias.dim() else bias


def _bias_from(bias: torch.Tensor, t: int) -> torch.Tensor:
    return bias.narrow(0, t, bias.shape[0] - t) if bias.dim() and t else bias


def _check_history_state(fn: str, state, state_type: type, like: torch.Tensor, length: Optional[int]):
    """``state.history`` must be ``[length, *like.shape]`` (any length when ``length`` is None)."""
    if length is None and isinstance(state, state_type) and isinstance(state.history, torch.Tensor) \
            and state.history.dim() >= 1:
        length = state.history.shape[0]
    return check_state(fn, state, state_type, like, shapes={"history": (length or 0, *like.shape)})


def _flat(x_seq: torch.Tensor) -> torch.Tensor:
    return x_seq.reshape(x_seq.shape[0], math.prod(x_seq.shape[1:]))


# --------------------------------------------------------------------------- #
# weights
# --------------------------------------------------------------------------- #


def _band_mask(T: int, k: int, like: torch.Tensor) -> torch.Tensor:
    ones = like.new_ones((T, T))
    return torch.tril(ones) * torch.triu(ones, -(k - 1))


def masked_psn_weight(weight: torch.Tensor, *, k: int, lambda_: Number = 1.0) -> torch.Tensor:
    """The masked-PSN weight ``W * M_k(lambda)`` (equations in the module docstring).

    Args:
        weight: ``[T, T]`` weight.
        k: the order, ``1 <= k <= T``.
        lambda_: the masking progress, a float or a 0-dim tensor; ``lambda_ >= 1``
            gives the hard band mask ``M_k``, ``0`` no mask at all.

    Returns:
        The ``[T, T]`` masked weight.
    """
    fn = "masked_psn_weight"
    T, k = _check_masked_order(fn, weight, k, weight)
    return _masked_weight(fn, weight, k, lambda_)


def _masked_weight(fn: str, weight: torch.Tensor, k: int, lambda_) -> torch.Tensor:
    check_param(fn, "lambda_", lambda_)
    mask = _band_mask(weight.shape[0], k, weight)
    if not isinstance(lambda_, torch.Tensor):
        if lambda_ >= 1.0:
            return weight * mask
        return (lambda_ * mask + (1.0 - lambda_) * torch.ones_like(mask)) * weight
    if lambda_.dim() != 0:
        raise ValueError(f"{fn}: `lambda_` must be a number or a 0-dim tensor, got shape {tuple(lambda_.shape)}.")
    soft = (lambda_ * mask + (1.0 - lambda_) * torch.ones_like(mask)) * weight
    return torch.where(lambda_ >= 1.0, weight * mask, soft)


def _sliding_matrix(weight: torch.Tensor, T: int, width: int) -> torch.Tensor:
    """``[T, width]`` banded matrix: row ``i`` mixes columns ``width - T + i - k + 1 .. width - T + i``."""
    k = weight.shape[0]
    rows = torch.arange(T, device=weight.device).unsqueeze(1)
    cols = torch.arange(width, device=weight.device).unsqueeze(0)
    index = cols - rows - (width - T) + (k - 1)
    index = torch.where((index >= 0) & (index < k), index, torch.full_like(index, k))
    return F.pad(weight, (0, 1))[index]


def sliding_psn_gemm_weight(weight: torch.Tensor, T: int) -> torch.Tensor:
    """The ``[T, T]`` matrix ``G`` with ``H = G X + b`` for a sliding PSN started from rest.

    Args:
        weight: ``[k]`` sliding weight.
        T: number of time steps (> 0).
    """
    fn = "sliding_psn_gemm_weight"
    _check_sliding_weight(fn, weight, weight)
    if isinstance(T, bool) or not isinstance(T, Integral) or T < 1:
        raise ValueError(f"{fn}: `T` must be an int >= 1, got {_describe(T)}.")
    return _sliding_matrix(weight, int(T), int(T))


# --------------------------------------------------------------------------- #
# PSN
# --------------------------------------------------------------------------- #


def psn_multi_step(x_seq: torch.Tensor, state: Optional[PSNState] = None, *, weight: torch.Tensor, bias: Number,
                   surrogate_function: Optional[Callable] = None):
    """The parallel spiking neuron over a whole sequence: ``S = Θ(W X + B)``.

    The PSN has no single-step form and no state: its weight couples all ``T``
    steps, so ``x_seq`` must hold exactly ``T`` steps.

    Args:
        x_seq: input ``[T, N, *]`` (any trailing shape, ``[T]`` included).
        state: ``None`` or ``PSNState()``; nothing is carried between calls.
        weight: ``[T, T]`` weight.
        bias: per-step bias, a number or a tensor of shape ``()``, ``[T]`` or ``[T, 1]``.
        surrogate_function: spike function with a surrogate gradient (default ``ATan()``).

    Returns:
        ``(spike_seq, PSNState())``; ``spike_seq`` is shaped like ``x_seq``.
    """
    fn = "psn_multi_step"
    check_seq(fn, "x_seq", x_seq)
    if state is not None and not isinstance(state, PSNState):
        raise TypeError(f"{fn}: `state` must be None or PSNState() (the PSN is stateless), got {_describe(state)}.")
    T = _check_square_weight(fn, weight, x_seq)
    if x_seq.shape[0] != T:
        raise ValueError(f"{fn}: `x_seq` has {x_seq.shape[0]} time steps but `weight` is {T}x{T}; "
                         f"the PSN runs on sequences of exactly T={T} steps.")
    bias = _bias(fn, bias, T, x_seq)
    surrogate_function = _surrogate(fn, surrogate_function)
    h_seq = torch.addmm(bias, weight, _flat(x_seq))
    return surrogate_function(h_seq).reshape(x_seq.shape), PSNState()


# --------------------------------------------------------------------------- #
# masked PSN
# --------------------------------------------------------------------------- #


def masked_psn_init_state(x: torch.Tensor) -> MaskedPSNState:
    """Rest state of the masked PSN for one step's input ``x``: no input seen, time index 0."""
    check_tensor("masked_psn_init_state", "x", x)
    return MaskedPSNState(x.new_zeros((0, *x.shape)))


def _masked_history(fn: str, state, like: torch.Tensor) -> torch.Tensor:
    """The inputs a masked-PSN ``state`` has seen (none for ``state=None``), checked against ``like``."""
    if state is None:
        return masked_psn_init_state(like).history
    return _check_history_state(fn, state, MaskedPSNState, like, None).history


def masked_psn_step(x: torch.Tensor, state: Optional[MaskedPSNState] = None, *, weight: torch.Tensor, bias: Number,
                    k: int, surrogate_function: Optional[Callable] = None):
    """One step ``t`` of the fully masked PSN (``lambda >= 1``): ``S[t] = Θ(sum_j W[t, j] X[j] + B[t])``.

    The sum runs over ``max(0, t - k + 1) <= j <= t``. With ``lambda < 1`` the
    masked weight reaches future inputs, so only :func:`masked_psn_multi_step`
    can run it.

    Args:
        x: input of step ``t``, ``[N, *]``.
        state: ``MaskedPSNState`` holding the ``t`` earlier inputs; ``None`` is ``t = 0``.
        weight: ``[T, T]`` weight (the mask is applied here).
        bias: per-step bias, as for :func:`psn_multi_step`.
        k: the order, ``1 <= k <= T``.
        surrogate_function: as for :func:`psn_multi_step`.

    Returns:
        ``(spike, MaskedPSNState)`` with ``t + 1`` inputs.

    Raises:
        MaskedPSNOverflowError: (a ``ValueError`` and ``OverflowError``) when ``T`` steps were already taken.
    """
    fn = "masked_psn_step"
    check_tensor(fn, "x", x)
    T, k = _check_masked_order(fn, weight, k, x)
    history = _masked_history(fn, state, x)
    t = history.shape[0]
    if t >= T:
        raise MaskedPSNOverflowError(
            f"{fn}: the state has already run {t} steps and the masked PSN covers T={T}; "
            f"start a new sequence from state=None (reset the module).")
    bias = _bias(fn, bias, T, x)
    surrogate_function = _surrogate(fn, surrogate_function)
    lo = max(0, t - k + 1)
    row = weight.select(0, t).narrow(0, lo, t + 1 - lo)
    window = torch.cat((history.narrow(0, lo, t - lo), x.unsqueeze(0)))
    h = (row.reshape(row.shape + (1,) * x.dim()) * window).sum(0)
    spike = surrogate_function(h + _bias_at(bias, t))
    return spike, MaskedPSNState(torch.cat((history, x.unsqueeze(0))))


def masked_psn_multi_step(x_seq: torch.Tensor, state: Optional[MaskedPSNState] = None, *, weight: torch.Tensor,
                          bias: Number, k: int, lambda_: Number = 1.0,
                          surrogate_function: Optional[Callable] = None):
    """The masked PSN over the rest of its sequence: ``S = Θ((W * M_k(lambda)) X + B)``.

    The state's ``t`` earlier inputs plus ``x_seq`` must make exactly ``T``
    steps; from rest that is the whole sequence.

    Args:
        x_seq: input ``[T - t, N, *]``.
        state: ``MaskedPSNState`` with ``t`` earlier inputs, or ``None`` (``t = 0``).
        weight: ``[T, T]`` weight.
        bias: per-step bias, as for :func:`psn_multi_step`.
        k: the order, ``1 <= k <= T``.
        lambda_: masking progress, a float or 0-dim tensor (see :func:`masked_psn_weight`).
        surrogate_function: as for :func:`psn_multi_step`.

    Returns:
        ``(spike_seq, MaskedPSNState)``; the final state holds all ``T`` inputs.
    """
    fn = "masked_psn_multi_step"
    check_seq(fn, "x_seq", x_seq)
    like = x_seq.select(0, 0)
    T, k = _check_masked_order(fn, weight, k, x_seq)
    history = _masked_history(fn, state, like)
    t = history.shape[0]
    if t + x_seq.shape[0] != T:
        raise ValueError(f"{fn}: `x_seq` has {x_seq.shape[0]} time steps and the state {t}, but `weight` is "
                         f"{T}x{T}; together they must make exactly T={T} steps.")
    bias = _bias(fn, bias, T, x_seq)
    surrogate_function = _surrogate(fn, surrogate_function)
    masked = _masked_weight(fn, weight, k, lambda_)
    full = x_seq if t == 0 else torch.cat((history, x_seq))
    h_seq = torch.addmm(_bias_from(bias, t), masked.narrow(0, t, T - t), _flat(full))
    return surrogate_function(h_seq).reshape(x_seq.shape), MaskedPSNState(full)


# --------------------------------------------------------------------------- #
# sliding PSN
# --------------------------------------------------------------------------- #


def sliding_psn_init_state(x: torch.Tensor, *, k: int) -> SlidingPSNState:
    """Rest state of the sliding PSN of order ``k`` for one step's input ``x``: ``k - 1`` zero inputs."""
    fn = "sliding_psn_init_state"
    check_tensor(fn, "x", x)
    k = _check_order(fn, k)
    return SlidingPSNState(x.new_zeros((k - 1, *x.shape)))


def _sliding_history(fn: str, state, like: torch.Tensor, k: int) -> torch.Tensor:
    if state is None:
        return like.new_zeros((k - 1, *like.shape))
    return _check_history_state(fn, state, SlidingPSNState, like, k - 1).history


def sliding_psn_step(x: torch.Tensor, state: Optional[SlidingPSNState] = None, *, weight: torch.Tensor, bias: Number,
                     surrogate_function: Optional[Callable] = None):
    """One step of the sliding PSN: ``S[t] = Θ(sum_i w_i X[t - k + 1 + i] + b)``.

    Args:
        x: input ``[N, *]``.
        state: ``SlidingPSNState`` with the last ``k - 1`` inputs; ``None`` is the rest state (zeros).
        weight: ``[k]`` weight, oldest input first.
        bias: a number or a 0-dim tensor.
        surrogate_function: as for :func:`psn_multi_step`.

    Returns:
        ``(spike, SlidingPSNState)``.
    """
    fn = "sliding_psn_step"
    check_tensor(fn, "x", x)
    k = _check_sliding_weight(fn, weight, x)
    history = _sliding_history(fn, state, x, k)
    bias = _bias(fn, bias, None, x)
    surrogate_function = _surrogate(fn, surrogate_function)
    window = torch.cat((history, x.unsqueeze(0)))
    h = (weight.reshape((k,) + (1,) * x.dim()) * window).sum(0)
    return surrogate_function(h + bias), SlidingPSNState(window.narrow(0, 1, k - 1))


def sliding_psn_multi_step(x_seq: torch.Tensor, state: Optional[SlidingPSNState] = None, *, weight: torch.Tensor,
                           bias: Number, surrogate_function: Optional[Callable] = None, backend: str = "gemm"):
    """:func:`sliding_psn_step` over ``x_seq`` ``[T, N, *]``, all steps at once.

    Args:
        x_seq: input ``[T, N, *]``, any ``T > 0``.
        state, weight, bias, surrogate_function: as for :func:`sliding_psn_step`.
        backend: ``'gemm'`` (one banded ``[T, k - 1 + T]`` matrix product) or
            ``'conv'`` (a 1-d convolution over time); both give the same result.

    Returns:
        ``(spike_seq, SlidingPSNState)`` with the last ``k - 1`` inputs.
    """
    fn = "sliding_psn_multi_step"
    check_seq(fn, "x_seq", x_seq)
    if not isinstance(backend, str):
        raise TypeError(f"{fn}: `backend` must be a str, one of {SLIDING_PSN_BACKENDS}, got {_describe(backend)}.")
    check_choice(fn, "backend", backend, SLIDING_PSN_BACKENDS)
    like = x_seq.select(0, 0)
    k = _check_sliding_weight(fn, weight, x_seq)
    T = x_seq.shape[0]
    bias = _bias(fn, bias, None, x_seq)
    surrogate_function = _surrogate(fn, surrogate_function)
    x_flat = _flat(x_seq)
    if state is None:
        history = None
        ext_flat = x_flat
    else:
        history = _sliding_history(fn, state, like, k)
        ext_flat = torch.cat((_flat(history), x_flat))
    if backend == "gemm":
        h_seq = torch.addmm(bias, _sliding_matrix(weight, T, ext_flat.shape[0]), ext_flat)
    else:
        signal = ext_flat.t().unsqueeze(1)
        if history is None:
            signal = F.pad(signal, (k - 1, 0))
        h_seq = F.conv1d(signal, weight.reshape(1, 1, k)).squeeze(1).t() + bias
    spike_seq = surrogate_function(h_seq).reshape(x_seq.shape)
    if history is None:
        history = like.new_zeros((k - 1, *like.shape))
    if T >= k - 1:
        tail = x_seq.narrow(0, T - (k - 1), k - 1)
    else:
        tail = torch.cat((history.narrow(0, T, k - 1 - T), x_seq))
    return spike_seq, SlidingPSNState(tail)
