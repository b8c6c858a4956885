"""Pieces shared by the spiking-transformer attention functions: 1x1 Conv1d + BatchNorm1d and LIF stages.

BatchNorm follows :class:`torch.nn.BatchNorm1d`: in training it normalises with
the batch statistics over ``(T * N, L)`` and returns running statistics moved by
``momentum`` (unbiased variance); in evaluation it uses the running statistics.
The running statistics travel in the state, as in Equinox's ``BatchNorm``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F

from .._checks import check_bool, check_greater, check_number, check_seq, check_state, check_tensor
from ..neurons.lif import LIFState, lif_multi_step


class ConvBNParams(NamedTuple):
    """A bias-free 1x1 Conv1d (``weight [C_out, C_in, 1]`` or ``[C_out, C_in]``) and BatchNorm1d affine."""

    weight: torch.Tensor
    bn_weight: torch.Tensor
    bn_bias: torch.Tensor


class BatchNormStats(NamedTuple):
    """Running statistics of one BatchNorm1d, ``[C]`` each."""

    running_mean: torch.Tensor
    running_var: torch.Tensor


def batch_norm_rest(channels: int, like: torch.Tensor) -> BatchNormStats:
    """Statistics of a fresh BatchNorm1d: mean 0, variance 1."""
    return BatchNormStats(like.new_zeros(channels), like.new_ones(channels))


def check_conv_bn(fn: str, name: str, params, in_channels: int) -> int:
    """Validate ``params`` for ``in_channels`` inputs; return the output channels."""
    if not isinstance(params, ConvBNParams):
        raise TypeError(f"{fn}: `{name}` must be a ConvBNParams(weight, bn_weight, bn_bias), "
                        f"got {type(params).__name__}.")
    w = check_tensor(fn, f"{name}.weight", params.weight)
    if w.dim() not in (2, 3) or (w.dim() == 3 and w.shape[-1] != 1):
        raise ValueError(f"{fn}: `{name}.weight` must be a 1x1 Conv1d weight [C_out, C_in, 1] or [C_out, C_in], "
                         f"got {tuple(w.shape)}.")
    if w.shape[1] != in_channels:
        raise ValueError(f"{fn}: `{name}.weight` takes {w.shape[1]} input channels but the input has "
                         f"{in_channels}.")
    for field in ("bn_weight", "bn_bias"):
        p = check_tensor(fn, f"{name}.{field}", getattr(params, field))
        if tuple(p.shape) != (w.shape[0],):
            raise ValueError(f"{fn}: `{name}.{field}` must have shape ({w.shape[0]},), got {tuple(p.shape)}.")
    return w.shape[0]


def check_bn_config(fn: str, training, momentum, eps) -> None:
    check_bool(fn, "training", training)
    check_number(fn, "momentum", momentum, allow_tensor=False)
    check_greater(fn, "momentum", momentum, 0.0, strict=False)
    check_number(fn, "eps", eps, allow_tensor=False)
    check_greater(fn, "eps", eps, 0.0)


def conv_bn(x_seq: torch.Tensor, params: ConvBNParams, stats: BatchNormStats, training: bool, momentum: float,
            eps: float) -> Tuple[torch.Tensor, BatchNormStats]:
    """Unchecked 1x1 Conv1d + BatchNorm1d on ``[T, N, C, L]`` with time folded into the batch."""
    T, N = x_seq.shape[:2]
    w = params.weight.reshape(params.weight.shape[0], params.weight.shape[1], 1)
    y = F.conv1d(x_seq.flatten(0, 1), w)
    if training:
        out = F.batch_norm(y, None, None, params.bn_weight, params.bn_bias, True, 0.0, eps)
        with torch.no_grad():
            n = y.numel() // y.shape[1]
            mean = y.mean(dim=(0, 2))
            var = y.var(dim=(0, 2), unbiased=False) * (n / max(n - 1, 1))
        stats = BatchNormStats((1 - momentum) * stats.running_mean + momentum * mean,
                               (1 - momentum) * stats.running_var + momentum * var)
    else:
        out = F.batch_norm(y, stats.running_mean, stats.running_var, params.bn_weight, params.bn_bias, False, 0.0,
                           eps)
    return out.unflatten(0, (T, N)), stats


def lif_stage(x_seq: torch.Tensor, state: LIFState, v_threshold: float, surrogate_function, backend: str):
    """The attention blocks' LIF neurons: ``tau=2``, hard reset to 0, ``detach_reset=True``."""
    return lif_multi_step(x_seq, state, tau=2.0, decay_input=True, v_threshold=v_threshold, v_reset=0.0,
                          detach_reset=True, surrogate_function=surrogate_function, backend=backend)


def check_tokens(fn: str, x_seq) -> torch.Tensor:
    """A ``[T, N, C, L]`` spike sequence."""
    check_seq(fn, "x_seq", x_seq)
    if x_seq.dim() != 4:
        raise ValueError(f"{fn}: `x_seq` must have shape [T, N, C, L], got {tuple(x_seq.shape)}.")
    return x_seq


def check_heads(fn: str, dim, num_heads) -> None:
    for name, value in (("dim", dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{fn}: `{name}` must be a positive int, got {value!r}.")
    if dim % num_heads != 0:
        raise ValueError(f"{fn}: dim={dim} must be divisible by num_heads={num_heads}.")


def lif_state_or_rest(fn: str, name: str, state: Optional[LIFState], like: torch.Tensor) -> LIFState:
    if state is None:
        return LIFState(torch.zeros_like(like))
    if not isinstance(state, LIFState):
        raise TypeError(f"{fn}: `state.{name}` must be an LIFState, got {type(state).__name__}.")
    return check_state(f"{fn} (state.{name})", state, LIFState, like)


def bn_state_or_rest(fn: str, name: str, stats: Optional[BatchNormStats], channels: int,
                     like: torch.Tensor) -> BatchNormStats:
    if stats is None:
        return batch_norm_rest(channels, like)
    if not isinstance(stats, BatchNormStats):
        raise TypeError(f"{fn}: `state.{name}` must be a BatchNormStats, got {type(stats).__name__}.")
    for field, value in zip(stats._fields, stats):
        check_tensor(fn, f"state.{name}.{field}", value)
        if tuple(value.shape) != (channels,):
            raise ValueError(f"{fn}: `state.{name}.{field}` must have shape ({channels},), got {tuple(value.shape)}.")
    return stats
