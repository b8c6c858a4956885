"""Spikformer's Spiking Self-Attention (SSA) and QKFormer's Q-K attention on ``[T, N, C, L]`` spikes.

SSA:  ``Q, K, V = LIF(BN(Conv(X)))`` split into ``H`` heads ``[T, N, H, C/H, L]``;
      ``A = LIF_0.5((V K^T) Q * scale)``;  ``Y = LIF(BN(Conv(A)))``.
QKA:  ``Q, K = LIF(BN(Conv(X)))`` split into heads; ``A = LIF_0.5(sum Q)`` over channels
      (``'token'``, a mask per token) or over tokens (``'channel'``, a mask per channel);
      ``Y = LIF(BN(Conv(A * K)))``.
Every LIF has ``tau=2``, hard reset to 0 and a detached reset; thresholds 1 except ``LIF_0.5``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Tuple

import torch

from .._checks import check_backend, check_choice, check_number
from ..neurons.lif import LIFState
from ._common import (
    BatchNormStats,
    ConvBNParams,
    bn_state_or_rest,
    check_bn_config,
    check_conv_bn,
    check_heads,
    check_tokens,
    conv_bn,
    lif_stage,
    lif_state_or_rest,
)

QKA_TYPES = ("token", "channel")


class SSAState(NamedTuple):
    """State of :func:`spiking_self_attention_multi_step`: three LIF stages and two BatchNorm statistics."""

    qkv_lif: LIFState
    attn_lif: LIFState
    proj_lif: LIFState
    qkv_bn: BatchNormStats
    proj_bn: BatchNormStats


class QKAttentionState(NamedTuple):
    """State of :func:`qk_attention_multi_step`: three LIF stages and two BatchNorm statistics."""

    qk_lif: LIFState
    attn_lif: LIFState
    proj_lif: LIFState
    qk_bn: BatchNormStats
    proj_bn: BatchNormStats


def ssa_attend(qkv: torch.Tensor, num_heads: int, scale) -> torch.Tensor:
    """``[T, N, 3C, L]`` q/k/v spikes -> ``(V K^T) Q * scale`` of shape ``[T, N, H, C/H, L]`` (linear attention)."""
    C = qkv.shape[2] // 3
    q, k, v = qkv.unflatten(2, (3, num_heads, C // num_heads)).unbind(2)
    return ((v @ k.transpose(-2, -1)) @ q) * scale


def qk_split(qk: torch.Tensor, num_heads: int, qka_type: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """``[T, N, 2C, L]`` q/k spikes -> (``Q`` summed over channels or tokens, ``K`` ``[T, N, H, C/H, L]``)."""
    C = qk.shape[2] // 2
    q, k = qk.unflatten(2, (2, num_heads, C // num_heads)).unbind(2)
    return q.sum(dim=3 if qka_type == "token" else 4, keepdim=True), k


def qk_combine(attn: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Mask ``K`` with the attention spikes and merge the heads: ``[T, N, C, L]``."""
    return (attn * k).flatten(2, 3)


def _prepare(fn, x_seq, state, state_type, params, widths, num_heads, training, momentum, eps, backend):
    check_tokens(fn, x_seq)
    C = x_seq.shape[2]
    check_heads(fn, C, num_heads)
    for (name, p), width in zip(params, widths):
        out = check_conv_bn(fn, name, p, C)
        if out != width * C:
            raise ValueError(f"{fn}: `{name}.weight` must have {width * C} output channels for C={C}, got {out}.")
    check_bn_config(fn, training, momentum, eps)
    check_backend(fn, backend)
    if state is None:
        return (None,) * 5
    if not isinstance(state, state_type):
        raise TypeError(f"{fn}: `state` must be a {state_type.__name__} (or None), got {type(state).__name__}.")
    return state


def spiking_self_attention_multi_step(
        x_seq: torch.Tensor, state: Optional[SSAState] = None, *, qkv: ConvBNParams, proj: ConvBNParams,
        num_heads: int = 8, scale: float = 0.125, training: bool = False, momentum: float = 0.1,
        eps: float = 1e-5, surrogate_function: Optional[Callable] = None,
        backend: str = "torch") -> Tuple[torch.Tensor, SSAState]:
    """Spikformer's Spiking Self-Attention over ``x_seq`` ``[T, N, C, L]`` (equations in the module doc).

    Args:
        x_seq: input spikes ``[T, N, C, L]``; ``C`` divisible by ``num_heads``.
        state: :class:`SSAState`; ``None`` means LIF potentials at 0 and fresh BatchNorm statistics.
        qkv: ``C -> 3C`` projection; proj: ``C -> C`` projection (:class:`ConvBNParams`).
        num_heads: number of heads.
        scale: attention scale (Spikformer uses 0.125).
        training: BatchNorm uses batch statistics and moves the running ones.
        momentum, eps: BatchNorm settings.
        surrogate_function: spike function of every LIF (default ``Sigmoid()``).
        backend: LIF backend, ``'torch'``, ``'triton'`` or ``'auto'``.

    Returns:
        ``(y_seq [T, N, C, L], new_state)``.
    """
    fn = "spiking_self_attention_multi_step"
    st = _prepare(fn, x_seq, state, SSAState, (("qkv", qkv), ("proj", proj)), (3, 1), num_heads, training,
                  momentum, eps, backend)
    check_number(fn, "scale", scale)
    C = x_seq.shape[2]
    h, qkv_bn = conv_bn(x_seq, qkv, bn_state_or_rest(fn, "qkv_bn", st[3], 3 * C, x_seq), training, momentum, eps)
    s, qkv_lif = lif_stage(h, lif_state_or_rest(fn, "qkv_lif", st[0], h[0]), 1.0, surrogate_function, backend)
    a = ssa_attend(s, num_heads, scale)
    a, attn_lif = lif_stage(a, lif_state_or_rest(fn, "attn_lif", st[1], a[0]), 0.5, surrogate_function, backend)
    p, proj_bn = conv_bn(a.flatten(2, 3), proj, bn_state_or_rest(fn, "proj_bn", st[4], C, x_seq), training,
                         momentum, eps)
    y, proj_lif = lif_stage(p, lif_state_or_rest(fn, "proj_lif", st[2], p[0]), 1.0, surrogate_function, backend)
    return y, SSAState(qkv_lif, attn_lif, proj_lif, qkv_bn, proj_bn)


def qk_attention_multi_step(
        x_seq: torch.Tensor, state: Optional[QKAttentionState] = None, *, qk: ConvBNParams, proj: ConvBNParams,
        num_heads: int = 8, qka_type: str = "token", training: bool = False, momentum: float = 0.1,
        eps: float = 1e-5, surrogate_function: Optional[Callable] = None,
        backend: str = "torch") -> Tuple[torch.Tensor, QKAttentionState]:
    """QKFormer's Q-K attention over ``x_seq`` ``[T, N, C, L]`` (equations in the module doc).

    Args:
        x_seq: input spikes ``[T, N, C, L]``; ``C`` divisible by ``num_heads``.
        state: :class:`QKAttentionState`; ``None`` means LIF potentials at 0 and fresh BatchNorm statistics.
        qk: ``C -> 2C`` projection; proj: ``C -> C`` projection (:class:`ConvBNParams`).
        num_heads: number of heads.
        qka_type: ``'token'`` (sum Q over channels, one mask per token) or ``'channel'``
            (sum over tokens, one mask per channel).
        training, momentum, eps: BatchNorm settings.
        surrogate_function, backend: of every LIF stage.

    Returns:
        ``(y_seq [T, N, C, L], new_state)``.
    """
    fn = "qk_attention_multi_step"
    check_choice(fn, "qka_type", qka_type, QKA_TYPES)
    st = _prepare(fn, x_seq, state, QKAttentionState, (("qk", qk), ("proj", proj)), (2, 1), num_heads, training,
                  momentum, eps, backend)
    C = x_seq.shape[2]
    h, qk_bn = conv_bn(x_seq, qk, bn_state_or_rest(fn, "qk_bn", st[3], 2 * C, x_seq), training, momentum, eps)
    s, qk_lif = lif_stage(h, lif_state_or_rest(fn, "qk_lif", st[0], h[0]), 1.0, surrogate_function, backend)
    q, k = qk_split(s, num_heads, qka_type)
    attn, attn_lif = lif_stage(q, lif_state_or_rest(fn, "attn_lif", st[1], q[0]), 0.5, surrogate_function,
                               backend)
    p, proj_bn = conv_bn(qk_combine(attn, k), proj, bn_state_or_rest(fn, "proj_bn", st[4], C, x_seq), training,
                         momentum, eps)
    y, proj_lif = lif_stage(p, lif_state_or_rest(fn, "proj_lif", st[2], p[0]), 1.0, surrogate_function, backend)
    return y, QKAttentionState(qk_lif, attn_lif, proj_lif, qk_bn, proj_bn)
