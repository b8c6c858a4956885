"""Activation-aware IF neuron (ANN-to-SNN activation-aware redistribution): IF with a membrane offset.

``H = V + X``;  ``S = Θ(H + O - V_th)``;  hard reset ``V = S V_reset + (1 - S) H`` or soft reset
(``v_reset=None``, the default) ``V = H - S V_th``. ``V_th`` and the offset ``O`` are floats or tensors
broadcastable to the input (per channel, for instance).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_param
from ._base import NeuronFamily, check_firing, full_like, reset, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class ActivationAwareIFState(NamedTuple):
    v: torch.Tensor


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return ActivationAwareIFState(full_like(like, 0.0 if v_reset is None else v_reset))


def _update(x, state, cfg):
    h = state.v + x
    spike = cfg["surrogate_function"](h + cfg["v_offset"] - cfg["v_threshold"])
    return spike, ActivationAwareIFState(reset(h, spike, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"]))


ACTIVATION_AWARE_IF = NeuronFamily("activation_aware_if", ActivationAwareIFState, _rest, _update)


def lay_per_channel(fn: str, name: str, p, channel_dim: int, like: torch.Tensor):
    """A 1D per-channel tensor viewed along ``channel_dim`` of ``like`` (one time step); others unchanged."""
    if not isinstance(p, torch.Tensor) or p.dim() != 1:
        return p
    d = channel_dim if channel_dim >= 0 else like.dim() + channel_dim
    if not 0 <= d < like.dim():
        raise ValueError(f"{fn}: `channel_dim`={channel_dim} is out of range for one time step of shape "
                         f"{tuple(like.shape)}.")
    if p.shape[0] != like.shape[d]:
        raise ValueError(f"{fn}: the tensor `{name}` has shape {tuple(p.shape)}: one value per channel, but the "
                         f"input has {like.shape[d]} channels at channel_dim={channel_dim} (one time step of "
                         f"shape {tuple(like.shape)}).")
    return p.view(p.shape[0], *([1] * (like.dim() - 1 - d)))


def _config(fn, like, v_threshold, v_offset, channel_dim, v_reset, detach_reset, surrogate_function):
    check_param(fn, "v_offset", v_offset)
    if isinstance(channel_dim, bool) or not isinstance(channel_dim, int):
        raise TypeError(f"{fn}: `channel_dim` must be an int, got {channel_dim!r}.")
    cfg = dict(v_offset=v_offset, **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))
    if isinstance(like, torch.Tensor):
        cfg["v_threshold"] = lay_per_channel(fn, "v_threshold", v_threshold, channel_dim, like)
        cfg["v_offset"] = lay_per_channel(fn, "v_offset", v_offset, channel_dim, like)
    return cfg


def activation_aware_if_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = None) -> ActivationAwareIFState:
    """Rest state for one time step's input ``x``: ``v = v_reset`` (0 for soft reset)."""
    return _rest(x, dict(v_reset=v_reset))


def activation_aware_if_step(x: torch.Tensor, state: Optional[ActivationAwareIFState] = None, *,
                             v_threshold: Number = 1.0, v_offset: Number = 0.0, channel_dim: int = -1,
                             v_reset: Optional[Number] = None, detach_reset: bool = False,
                             surrogate_function: Optional[Callable] = None):
    """One step of the activation-aware IF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``.
        state: ``ActivationAwareIFState(v)`` shaped like ``x``; ``None`` is the rest state.
        v_threshold, v_offset: floats, tensors broadcastable to ``x``, or 1D per-channel tensors.
        channel_dim: the dim of ``x`` that 1D ``v_threshold``/``v_offset`` run along.
        v_reset: hard-reset potential, ``None`` (default) for soft reset.
        detach_reset, surrogate_function: as :func:`fnsnn.if_step`.

    Returns:
        ``(spike, ActivationAwareIFState)``.
    """
    cfg = _config("activation_aware_if_step", x, v_threshold, v_offset, channel_dim, v_reset, detach_reset,
                  surrogate_function)
    return run_step("activation_aware_if_step", ACTIVATION_AWARE_IF, x, state, cfg)


def activation_aware_if_multi_step(x_seq: torch.Tensor, state: Optional[ActivationAwareIFState] = None, *,
                                   v_threshold: Number = 1.0, v_offset: Number = 0.0, channel_dim: int = -1,
                                   v_reset: Optional[Number] = None, detach_reset: bool = False,
                                   surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                                   backend: str = "auto"):
    """:func:`activation_aware_if_step` scanned over ``x_seq`` ``[T, N, *]`` (``channel_dim`` counts in one
    step ``[N, *]``); returns as :func:`fnsnn.if_multi_step`."""
    like = x_seq[0] if isinstance(x_seq, torch.Tensor) and x_seq.dim() > 0 and x_seq.shape[0] > 0 else None
    cfg = _config("activation_aware_if_multi_step", like, v_threshold, v_offset, channel_dim, v_reset, detach_reset,
                  surrogate_function)
    return run_multi_step("activation_aware_if_multi_step", ACTIVATION_AWARE_IF, x_seq, state, cfg, return_v_seq,
                          backend)
