"""TD scaled dot-product attention and TD multi-head attention.

SDPA:  ``Y_cum[t] = SDPA(Q_cum[t], K_cum[t], V_cum[t])``, ``Y[t] = Y_cum[t] - Y_cum[t-1]``.
MHA:   TD Linear q/k/v projections, TD SDPA over the heads, TD Linear output
projection, so ``Y.cumsum(0)[t]`` is ANN multi-head attention (no dropout,
batch first) on the cumulative query, key and value.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import NamedTuple, Optional, Tuple

import torch

from .._checks import check_bool, check_number, check_tensor
from ._base import TDState, check_same_time, check_step_input, check_td_seq, td_multi_step_generic, td_step_generic
from .linear import td_linear_multi_step, td_linear_step


class TDAttentionState(NamedTuple):
    """Running sums of TD SDPA: the three inputs and the output."""

    query_cum: torch.Tensor
    key_cum: torch.Tensor
    value_cum: torch.Tensor
    y_cum: torch.Tensor


class TDMultiheadAttentionState(NamedTuple):
    """Running sums of TD MHA: one :class:`TDState` per projection, the attention sums in between."""

    q_proj: TDState
    k_proj: TDState
    v_proj: TDState
    attn: TDAttentionState
    out_proj: TDState


# -- scaled dot-product attention ----------------------------------------------------------------

def check_sdpa_scale(fn: str, scale) -> None:
    """The score ``scale`` of SDPA: ``None`` or a finite positive number."""
    check_number(fn, "scale", scale, allow_none=True, allow_tensor=False)
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{fn}: `scale` must be None or a finite positive number, got {scale!r}.")


def _check_sdpa(fn: str, q, k, v, attn_mask, is_causal, scale, lead: int):
    """Validate SDPA inputs; ``lead`` is 1 for sequences (time first), 0 for one step."""
    check_bool(fn, "is_causal", is_causal)
    check_sdpa_scale(fn, scale)
    if attn_mask is not None:
        check_tensor(fn, "attn_mask", attn_mask, floating=False)
        if attn_mask.dtype != torch.bool and not attn_mask.is_floating_point():
            raise TypeError(f"{fn}: `attn_mask` must be a bool or floating tensor, got dtype {attn_mask.dtype}.")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: `attn_mask` must be None when is_causal=True; use one masking mode at a time.")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{fn}: query and key need the same embedding size E (last dim), got query "
                         f"{tuple(q.shape)} and key {tuple(k.shape)}.")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: key and value need the same source length S (dim -2), got key "
                         f"{tuple(k.shape)} and value {tuple(v.shape)}.")
    try:
        batch = torch.broadcast_shapes(q.shape[lead:-2], k.shape[lead:-2], v.shape[lead:-2])
    except RuntimeError:
        raise ValueError(f"{fn}: the batch dims of query {tuple(q.shape)}, key {tuple(k.shape)} and value "
                         f"{tuple(v.shape)} do not broadcast.") from None
    return (*batch, q.shape[-2], v.shape[-1])


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False,
                                 scale: Optional[float] = None) -> torch.Tensor:
    """``softmax(q k^T * scale + mask) v`` with the masking rules of
    :func:`torch.nn.functional.scaled_dot_product_attention` (bool ``True`` = attend, float = added,
    ``is_causal`` = lower-triangular from the top-left), written with plain ops so ``vmap`` has batching
    rules; the softmax runs in at least float32 and the result is cast back to the input dtype.
    """
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * factor
    work = torch.promote_types(scores.dtype, torch.float32)
    scores = scores.to(work)
    if is_causal:
        keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask.to(work)
    return torch.softmax(scores, dim=-1).to(v.dtype) @ v


def _sdpa(attn_mask, is_causal, scale):
    return lambda q, k, v: scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale)


def _check_attention_state(fn, state, q, k, v, y_shape):
    if not isinstance(state, TDAttentionState):
        raise TypeError(f"{fn}: `state` must be a TDAttentionState (or None), got {type(state).__name__}.")
    for field, like, want in (("query_cum", q, q.shape), ("key_cum", k, k.shape), ("value_cum", v, v.shape),
                              ("y_cum", q, y_shape)):
        value = getattr(state, field)
        check_tensor(fn, f"state.{field}", value)
        if tuple(value.shape) != tuple(want):
            raise ValueError(f"{fn}: `state.{field}` has shape {tuple(value.shape)} but this input needs "
                             f"{tuple(want)}; start from state=None or reset when shapes change.")
        if value.dtype != like.dtype or value.device != like.device:
            raise ValueError(f"{fn}: `state.{field}` is {value.dtype} on {value.device} but the input is "
                             f"{like.dtype} on {like.device}.")


def td_scaled_dot_product_attention_multi_step(
        query_seq: torch.Tensor, key_seq: torch.Tensor, value_seq: torch.Tensor,
        state: Optional[TDAttentionState] = None, *, attn_mask: Optional[torch.Tensor] = None,
        is_causal: bool = False, scale: Optional[float] = None) -> Tuple[torch.Tensor, TDAttentionState]:
    """TD SDPA over whole sequences, continuing from ``state``.

    Args:
        query_seq: ``[T, ..., L, E]``, ``T > 0``.
        key_seq: ``[T, ..., S, E]``, same ``T``.
        value_seq: ``[T, ..., S, Ev]``, same ``T``.
        state: :class:`TDAttentionState` of one step, or ``None`` for zero sums.
        attn_mask: mask broadcast as in :func:`torch.nn.functional.scaled_dot_product_attention`
            (bool ``True`` = attend), the same for every step.
        is_causal: causal masking; excludes ``attn_mask``.
        scale: score scale; ``None`` is ``1/sqrt(E)``.

    Returns:
        ``(y_seq [T, ..., L, Ev], final_state)``.
    """
    fn = "td_scaled_dot_product_attention_multi_step"
    for name, s in (("query_seq", query_seq), ("key_seq", key_seq), ("value_seq", value_seq)):
        check_td_seq(fn, name, s, min_dim=3)
    check_same_time(fn, ("query_seq", "key_seq", "value_seq"), (query_seq, key_seq, value_seq))
    y_shape = _check_sdpa(fn, query_seq, key_seq, value_seq, attn_mask, is_causal, scale, lead=1)
    ann = _sdpa(attn_mask, is_causal, scale)
    seqs = (query_seq, key_seq, value_seq)
    if state is None:
        y_seq, cums, y_cum = td_multi_step_generic(fn, ann, seqs, None, None)
    else:
        _check_attention_state(fn, state, query_seq.select(0, 0), key_seq.select(0, 0), value_seq.select(0, 0),
                               y_shape)
        y_seq, cums, y_cum = td_multi_step_generic(fn, ann, seqs, tuple(state[:3]), state.y_cum)
    return y_seq, TDAttentionState(*cums, y_cum)


def td_scaled_dot_product_attention(query_seq: torch.Tensor, key_seq: torch.Tensor, value_seq: torch.Tensor, *,
                                    attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False,
                                    scale: Optional[float] = None) -> torch.Tensor:
    """Whole-sequence TD SDPA: ``y.cumsum(0)[t] == SDPA(q.cumsum(0)[t], k.cumsum(0)[t], v.cumsum(0)[t])``.

    Arguments as :func:`td_scaled_dot_product_attention_multi_step`; returns ``y_seq [T, ..., L, Ev]``.
    """
    fn = "td_scaled_dot_product_attention"
    for name, s in (("query_seq", query_seq), ("key_seq", key_seq), ("value_seq", value_seq)):
        check_td_seq(fn, name, s, min_dim=3)
    check_same_time(fn, ("query_seq", "key_seq", "value_seq"), (query_seq, key_seq, value_seq))
    _check_sdpa(fn, query_seq, key_seq, value_seq, attn_mask, is_causal, scale, lead=1)
    return td_multi_step_generic(fn, _sdpa(attn_mask, is_causal, scale), (query_seq, key_seq, value_seq),
                                 None, None)[0]


def td_scaled_dot_product_attention_step(
        query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, state: Optional[TDAttentionState] = None, *,
        attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False,
        scale: Optional[float] = None) -> Tuple[torch.Tensor, TDAttentionState]:
    """One online step of TD SDPA on ``query [..., L, E]``, ``key [..., S, E]``, ``value [..., S, Ev]``.

    Returns ``(y [..., L, Ev], new_state)``; other arguments as the multi-step form.
    """
    fn = "td_scaled_dot_product_attention_step"
    for name, s in (("query", query), ("key", key), ("value", value)):
        check_step_input(fn, name, s, min_dim=2)
    y_shape = _check_sdpa(fn, query, key, value, attn_mask, is_causal, scale, lead=0)
    ann = _sdpa(attn_mask, is_causal, scale)
    if state is None:
        y, cums, y_cum = td_step_generic(ann, (query, key, value), None, None)
    else:
        _check_attention_state(fn, state, query, key, value, y_shape)
        y, cums, y_cum = td_step_generic(ann, (query, key, value), tuple(state[:3]), state.y_cum)
    return y, TDAttentionState(*cums, y_cum)


def td_scaled_dot_product_attention_init_state(query: torch.Tensor, key: torch.Tensor,
                                               value: torch.Tensor) -> TDAttentionState:
    """Zero running sums for one step of ``query``, ``key`` and ``value``."""
    fn = "td_scaled_dot_product_attention_init_state"
    for name, s in (("query", query), ("key", key), ("value", value)):
        check_step_input(fn, name, s, min_dim=2)
    y_shape = _check_sdpa(fn, query, key, value, None, False, None, lead=0)
    return TDAttentionState(torch.zeros_like(query), torch.zeros_like(key), torch.zeros_like(value),
                            query.new_zeros(y_shape))


# -- multi-head attention ---------------------------------------------------------------------------

def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``[..., L, E] -> [..., num_heads, L, E / num_heads]``."""
    return x.unflatten(-1, (num_heads, x.shape[-1] // num_heads)).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``[..., H, L, Eh] -> [..., L, H * Eh]`` (inverse of :func:`split_heads`)."""
    return x.transpose(-3, -2).flatten(-2)


def mha_attn_mask(attn_mask: Optional[torch.Tensor], batch_size: int, num_heads: int) -> Optional[torch.Tensor]:
    """Turn an :class:`torch.nn.MultiheadAttention` mask into an SDPA mask.

    A bool mask flips meaning (``True`` = masked in MHA, = attend in SDPA); a
    3-D ``[N * H, L, S]`` mask becomes ``[N, H, L, S]``; float masks are added as is.
    """
    if attn_mask is None:
        return None
    if attn_mask.dtype == torch.bool:
        attn_mask = attn_mask.logical_not()
    if attn_mask.dim() == 3 and attn_mask.shape[0] == batch_size * num_heads:
        attn_mask = attn_mask.unflatten(0, (batch_size, num_heads))
    return attn_mask


def check_mha_options(fn: str, key_padding_mask, need_weights, average_attn_weights) -> None:
    """The :class:`torch.nn.MultiheadAttention` call options TD MHA supports."""
    if need_weights:
        raise ValueError(f"{fn}: only need_weights=False is supported (attention weights are not computed), "
                         f"got need_weights={need_weights!r}.")
    if key_padding_mask is not None:
        raise ValueError(f"{fn}: key_padding_mask is not supported, got {type(key_padding_mask).__name__}; "
                         f"fold it into attn_mask instead.")
    if not average_attn_weights:
        raise ValueError(f"{fn}: average_attn_weights=False is not supported (no attention weights are returned).")


def check_mha_config(fn: str, embed_dim, num_heads, dropout=0.0, batch_first=True) -> None:
    """The :class:`torch.nn.MultiheadAttention` constructor options TD MHA supports."""
    for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{fn}: `{name}` must be an int, got {type(value).__name__} {value!r}.")
        if value <= 0:
            raise ValueError(f"{fn}: `{name}` must be positive, got {value}.")
    if embed_dim % num_heads != 0:
        raise ValueError(f"{fn}: embed_dim={embed_dim} must be divisible by num_heads={num_heads}.")
    check_number(fn, "dropout", dropout, allow_tensor=False)
    if dropout != 0.0:
        raise ValueError(f"{fn}: only dropout=0.0 is supported, got dropout={dropout!r}.")
    if batch_first is not True:
        raise ValueError(f"{fn}: only batch_first=True is supported (inputs [T, batch, seq, embed_dim]), "
                         f"got batch_first={batch_first!r}.")


def check_mha_inputs(fn: str, q, k, v, embed_dim: int, ndim: int,
                     names=("query", "key", "value")) -> None:
    """Query/key/value of TD MHA: ``ndim`` dims (4 for sequences, 3 for one step), last dim ``embed_dim``."""
    for name, x in zip(names, (q, k, v)):
        check_tensor(fn, name, x)
    layout = "[T, batch, seq, embed_dim]" if ndim == 4 else "[batch, seq, embed_dim]"
    for name, x in zip(names, (q, k, v)):
        if x.dim() != ndim or x.shape[-1] != embed_dim:
            raise ValueError(f"{fn}: `{name}` must have shape {layout} with embed_dim={embed_dim}, "
                             f"got {tuple(x.shape)}.")
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(f"{fn}: query, key and value need the same leading dims, got {tuple(q.shape)}, "
                         f"{tuple(k.shape)} and {tuple(v.shape)}.")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: key and value need the same source length, got {tuple(k.shape)} and "
                         f"{tuple(v.shape)}.")


def _check_mha(fn, q, k, v, num_heads, weights, biases, ndim, names, attn_mask, is_causal, state):
    q_w = weights[0]
    check_tensor(fn, "q_weight", q_w)
    embed_dim = q_w.shape[-1]
    check_mha_config(fn, embed_dim, num_heads)
    for wname, w in zip(("q_weight", "k_weight", "v_weight", "out_weight"), weights):
        check_tensor(fn, wname, w)
        if tuple(w.shape) != (embed_dim, embed_dim):
            raise ValueError(f"{fn}: `{wname}` must have shape ({embed_dim}, {embed_dim}), got {tuple(w.shape)}.")
    for bname, b in zip(("q_bias", "k_bias", "v_bias", "out_bias"), biases):
        if b is not None:
            check_tensor(fn, bname, b)
            if tuple(b.shape) != (embed_dim,):
                raise ValueError(f"{fn}: `{bname}` must have shape ({embed_dim},), got {tuple(b.shape)}.")
    check_mha_inputs(fn, q, k, v, embed_dim, ndim, names)
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: `attn_mask` must be None when is_causal=True; use one masking mode at a time.")
    if state is not None and not isinstance(state, TDMultiheadAttentionState):
        raise TypeError(f"{fn}: `state` must be a TDMultiheadAttentionState (or None), got {type(state).__name__}.")


def _mha(linear, sdpa, query, key, value, state, batch_size, num_heads, weights, biases, attn_mask, is_causal):
    """Shared TD MHA body; ``linear``/``sdpa`` are the step or multi-step TD functions."""
    st = state if state is not None else (None,) * 5
    q, q_st = linear(query, st[0], weight=weights[0], bias=biases[0])
    k, k_st = linear(key, st[1], weight=weights[1], bias=biases[1])
    v, v_st = linear(value, st[2], weight=weights[2], bias=biases[2])
    mask = mha_attn_mask(attn_mask, batch_size, num_heads)
    a, a_st = sdpa(split_heads(q, num_heads), split_heads(k, num_heads), split_heads(v, num_heads), st[3],
                   attn_mask=mask, is_causal=is_causal)
    y, o_st = linear(merge_heads(a), st[4], weight=weights[3], bias=biases[3])
    return y, TDMultiheadAttentionState(q_st, k_st, v_st, a_st, o_st)


def td_multihead_attention_multi_step(
        query_seq: torch.Tensor, key_seq: torch.Tensor, value_seq: torch.Tensor,
        state: Optional[TDMultiheadAttentionState] = None, *, num_heads: int, q_weight: torch.Tensor,
        k_weight: torch.Tensor, v_weight: torch.Tensor, out_weight: torch.Tensor,
        q_bias: Optional[torch.Tensor] = None, k_bias: Optional[torch.Tensor] = None,
        v_bias: Optional[torch.Tensor] = None, out_bias: Optional[torch.Tensor] = None,
        attn_mask: Optional[torch.Tensor] = None,
        is_causal: bool = False) -> Tuple[torch.Tensor, TDMultiheadAttentionState]:
    """TD multi-head attention over ``[T, batch, seq, embed_dim]`` sequences, continuing from ``state``.

    Args:
        query_seq: ``[T, N, L, E]``; key_seq, value_seq: ``[T, N, S, E]``, same ``T``.
        state: :class:`TDMultiheadAttentionState` of one step, or ``None`` for zero sums.
        num_heads: number of heads; divides ``E``.
        q_weight, k_weight, v_weight, out_weight: ``[E, E]`` projection weights.
        q_bias, k_bias, v_bias, out_bias: ``[E]`` or ``None``.
        attn_mask: :class:`torch.nn.MultiheadAttention` mask (bool ``True`` = masked,
            ``[L, S]`` or ``[N * num_heads, L, S]``), the same for every step.
        is_causal: causal masking; excludes ``attn_mask``.

    Returns:
        ``(y_seq [T, N, L, E], final_state)``.
    """
    fn = "td_multihead_attention_multi_step"
    names = ("query_seq", "key_seq", "value_seq")
    for name, s in zip(names, (query_seq, key_seq, value_seq)):
        check_td_seq(fn, name, s, min_dim=2)
    check_same_time(fn, names, (query_seq, key_seq, value_seq))
    weights = (q_weight, k_weight, v_weight, out_weight)
    biases = (q_bias, k_bias, v_bias, out_bias)
    _check_mha(fn, query_seq, key_seq, value_seq, num_heads, weights, biases, 4, names, attn_mask, is_causal, state)
    return _mha(td_linear_multi_step, td_scaled_dot_product_attention_multi_step, query_seq, key_seq, value_seq,
                state, query_seq.shape[1], num_heads, weights, biases, attn_mask, is_causal)


def td_multihead_attention(query_seq: torch.Tensor, key_seq: torch.Tensor, value_seq: torch.Tensor, *,
                           num_heads: int, q_weight: torch.Tensor, k_weight: torch.Tensor, v_weight: torch.Tensor,
                           out_weight: torch.Tensor, q_bias: Optional[torch.Tensor] = None,
                           k_bias: Optional[torch.Tensor] = None, v_bias: Optional[torch.Tensor] = None,
                           out_bias: Optional[torch.Tensor] = None, attn_mask: Optional[torch.Tensor] = None,
                           is_causal: bool = False) -> torch.Tensor:
    """Whole-sequence TD MHA: ``y.cumsum(0)[t]`` is ANN MHA on the cumulative inputs at ``t``.

    Arguments as :func:`td_multihead_attention_multi_step`; returns ``y_seq [T, N, L, E]``.
    """
    return td_multihead_attention_multi_step(
        query_seq, key_seq, value_seq, None, num_heads=num_heads, q_weight=q_weight, k_weight=k_weight,
        v_weight=v_weight, out_weight=out_weight, q_bias=q_bias, k_bias=k_bias, v_bias=v_bias,
        out_bias=out_bias, attn_mask=attn_mask, is_causal=is_causal)[0]


def td_multihead_attention_step(
        query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
        state: Optional[TDMultiheadAttentionState] = None, *, num_heads: int, q_weight: torch.Tensor,
        k_weight: torch.Tensor, v_weight: torch.Tensor, out_weight: torch.Tensor,
        q_bias: Optional[torch.Tensor] = None, k_bias: Optional[torch.Tensor] = None,
        v_bias: Optional[torch.Tensor] = None, out_bias: Optional[torch.Tensor] = None,
        attn_mask: Optional[torch.Tensor] = None,
        is_causal: bool = False) -> Tuple[torch.Tensor, TDMultiheadAttentionState]:
    """One online step of TD MHA on ``[batch, seq, embed_dim]`` inputs; returns ``(y, new_state)``.

    Arguments as :func:`td_multihead_attention_multi_step`.
    """
    fn = "td_multihead_attention_step"
    names = ("query", "key", "value")
    for name, s in zip(names, (query, key, value)):
        check_step_input(fn, name, s)
    weights = (q_weight, k_weight, v_weight, out_weight)
    biases = (q_bias, k_bias, v_bias, out_bias)
    _check_mha(fn, query, key, value, num_heads, weights, biases, 3, names, attn_mask, is_causal, state)
    return _mha(td_linear_step, td_scaled_dot_product_attention_step, query, key, value,
                state, query.shape[0], num_heads, weights, biases, attn_mask, is_causal)
