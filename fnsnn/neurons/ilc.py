"""Neurons with intra-layer connections (ILC) of population-coded spiking RL decoders.

``act_dim`` populations of ``dec_pop_dim`` neurons; the spikes of step ``t`` reach the same
population at step ``t + 1`` through a per-population dense map ``L`` (a grouped 1-D convolution with
kernel ``dec_pop_dim``: ``L(S)[a, j] = sum_k W[a, j, k] S[a, k] + b[a, j]``). With ``I[t] = X[t] + L(S[t-1])``
(no lateral input at ``t = 0``) the charge is IF ``V = V + I``, LIF ``V = v_decay V + I`` or CUBA
``C = c_decay C + I``, ``V = v_decay V + C``; then ``S = Θ(V - v_threshold)`` and a hard (``v_reset``)
or soft (``None``) reset. Every sequence starts from ``V = v_reset`` (0 for soft reset), ``C = 0``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch

from .._checks import check_number, check_seq, check_tensor
from ._base import check_firing, fire_and_reset
from ..scan import _scan

ILC_CHARGES = ("if", "lif", "cuba")


class ILCState(NamedTuple):
    v: torch.Tensor
    c: torch.Tensor
    lateral: torch.Tensor


def ilc_lateral(spike: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], act_dim: int,
                dec_pop_dim: int) -> torch.Tensor:
    """``L(S)`` for spikes ``[N, act_dim * dec_pop_dim]`` with ``weight`` ``[act_dim * dec_pop_dim, 1, dec_pop_dim]``."""
    s = spike.unflatten(-1, (act_dim, dec_pop_dim))
    w = weight.reshape(act_dim, dec_pop_dim, dec_pop_dim)
    out = torch.einsum("ajk,...ak->...aj", w, s).flatten(-2)
    return out if bias is None else out + bias


def _update(x, state, cfg):
    i = x + state.lateral
    if cfg["charge"] == "if":
        c, h = state.c, state.v + i
    elif cfg["charge"] == "lif":
        c, h = state.c, cfg["v_decay"] * state.v + i
    else:
        c = cfg["c_decay"] * state.c + i
        h = cfg["v_decay"] * state.v + c
    spike, v = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])
    lateral = ilc_lateral(spike, cfg["weight"], cfg["bias"], cfg["act_dim"], cfg["dec_pop_dim"])
    return spike, ILCState(v, c, lateral)


def ilc_multi_step(x_seq: torch.Tensor, *, weight: torch.Tensor, bias: Optional[torch.Tensor], act_dim: int,
                   dec_pop_dim: int, charge: str = "if", c_decay: float = 0.5, v_decay: float = 0.75,
                   v_threshold: float = 1.0, v_reset: Optional[float] = 0.0, detach_reset: bool = False,
                   surrogate_function: Optional[Callable] = None):
    """An ILC neuron layer over ``x_seq`` ``[T, N, act_dim * dec_pop_dim]`` (equations in the module docstring).

    Returns:
        ``(spike_seq, ILCState)`` with the state after the last step.
    """
    fn = "ilc_multi_step"
    check_seq(fn, "x_seq", x_seq)
    check_tensor(fn, "weight", weight)
    for name, value in (("act_dim", act_dim), ("dec_pop_dim", dec_pop_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{fn}: `{name}` must be a positive int, got {value!r}.")
    D = act_dim * dec_pop_dim
    if x_seq.shape[-1] != D:
        raise ValueError(f"{fn}: `x_seq` must end in act_dim * dec_pop_dim = {D} neurons, got shape "
                         f"{tuple(x_seq.shape)}.")
    if weight.numel() != D * dec_pop_dim or (bias is not None and tuple(bias.shape) != (D,)):
        raise ValueError(f"{fn}: `weight` must hold [{D}, 1, {dec_pop_dim}] values and `bias` [{D}], got "
                         f"{tuple(weight.shape)} and {None if bias is None else tuple(bias.shape)}.")
    if charge not in ILC_CHARGES:
        raise ValueError(f"{fn}: `charge` must be one of {ILC_CHARGES}, got {charge!r}.")
    check_number(fn, "c_decay", c_decay)
    check_number(fn, "v_decay", v_decay)
    cfg = dict(charge=charge, c_decay=c_decay, v_decay=v_decay, weight=weight, bias=bias, act_dim=act_dim,
               dec_pop_dim=dec_pop_dim,
               **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))
    like = x_seq[0]
    rest = ILCState(torch.full_like(like, 0.0 if v_reset is None else float(v_reset)), torch.zeros_like(like),
                    torch.zeros_like(like))
    return _scan(_update, x_seq, rest, cfg=cfg)
