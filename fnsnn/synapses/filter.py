"""Synapse filter: an exponentially decaying current that jumps by each input spike.

``I[t] = I[t-1] - (1 - S[t]) I[t-1] / tau + S[t]``, with ``I[-1] = 0``; the
learnable form uses ``1 / tau = sigmoid(w)``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch

from .._checks import check_param, check_param_shapes, check_seq, check_state, check_tensor
from ..scan import _scan

Number = Union[float, torch.Tensor]


class SynapseFilterState(NamedTuple):
    out_i: torch.Tensor


def _config(fn: str, tau, w):
    if w is not None:
        check_param(fn, "w", w)
        return torch.sigmoid(w) if isinstance(w, torch.Tensor) else torch.sigmoid(torch.tensor(float(w)))
    check_param(fn, "tau", tau, gt=1.0)
    return 1.0 / tau


def _prepare(fn: str, x: torch.Tensor, state, tau, w) -> SynapseFilterState:
    check_param_shapes(fn, {"tau": tau} if w is None else {"w": w}, x)
    if state is None:
        return SynapseFilterState(torch.zeros_like(x))
    return check_state(fn, state, SynapseFilterState, x)


def _update(x, state, inv_tau):
    i = state.out_i - (1.0 - x) * state.out_i * inv_tau + x
    return i, SynapseFilterState(i)


def synapse_filter_init_state(x: torch.Tensor) -> SynapseFilterState:
    """Rest state ``I = 0`` shaped like ``x`` (one time step)."""
    check_tensor("synapse_filter_init_state", "x", x)
    return SynapseFilterState(torch.zeros_like(x))


def synapse_filter_step(x: torch.Tensor, state: Optional[SynapseFilterState] = None, *, tau: Number = 100.0,
                        w: Optional[Number] = None):
    """One step of the synapse filter.

    Args:
        x: input spikes (or currents) of one time step, ``[N, *]``.
        state: ``SynapseFilterState(out_i)`` shaped like ``x``; ``None`` is ``I = 0``.
        tau: time constant, ``> 1``; a float or a tensor.
        w: if given, the learnable form ``1 / tau = sigmoid(w)`` is used and ``tau`` is ignored.

    Returns:
        ``(out_i, SynapseFilterState(out_i))``.
    """
    fn = "synapse_filter_step"
    inv_tau = _config(fn, tau, w)
    check_tensor(fn, "x", x)
    return _update(x, _prepare(fn, x, state, tau, w), inv_tau)


def synapse_filter_multi_step(x_seq: torch.Tensor, state: Optional[SynapseFilterState] = None, *,
                              tau: Number = 100.0, w: Optional[Number] = None):
    """:func:`synapse_filter_step` scanned over ``x_seq`` ``[T, N, *]``; returns ``(out_i_seq, final_state)``."""
    fn = "synapse_filter_multi_step"
    inv_tau = _config(fn, tau, w)
    check_seq(fn, "x_seq", x_seq)
    state = _prepare(fn, x_seq.select(0, 0), state, tau, w)
    return _scan(_update, x_seq, state, inv_tau=inv_tau)
