"""Simple integrate-and-fire and leaky integrate-and-fire neurons.

The charge-fire-reset neurons of SpikingJelly's ``SimpleBaseNode`` family:

SimpleIF charge:   ``H = V + X``;
SimpleLIF charge:  ``H = V + (V_reset - V + X) / tau`` with ``decay_input=True``,
                   ``H = V + (V_reset - V) / tau + X`` with ``decay_input=False``
(``V_reset`` reads 0 for soft reset). Then ``S = Θ(H - v_threshold)`` and the
hard or soft reset of :func:`fnsnn.if_step`. Unlike IF and LIF, the rest state
is ``V = 0`` whatever ``v_reset`` is.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_bool, check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class SimpleIFState(NamedTuple):
    v: torch.Tensor


class SimpleLIFState(NamedTuple):
    v: torch.Tensor


def _fire(h, cfg):
    return fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])


def simple_lif_charge(x, v, tau, decay_input: bool, v_reset):
    """The SimpleLIF charge above (its operation order differs from :func:`fnsnn.lif_step`'s)."""
    base = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (base - v + x) / tau
    return v + (base - v) / tau + x


def _simple_if_update(x, state, cfg):
    spike, v = _fire(state.v + x, cfg)
    return spike, SimpleIFState(v)


def _simple_lif_update(x, state, cfg):
    h = simple_lif_charge(x, state.v, cfg["tau"], cfg["decay_input"], cfg["v_reset"])
    spike, v = _fire(h, cfg)
    return spike, SimpleLIFState(v)


SIMPLE_IF = NeuronFamily("simple_if", SimpleIFState, lambda like, cfg: SimpleIFState(torch.zeros_like(like)),
                         _simple_if_update)
SIMPLE_LIF = NeuronFamily("simple_lif", SimpleLIFState,
                          lambda like, cfg: SimpleLIFState(torch.zeros_like(like)), _simple_lif_update)


def _simple_lif_config(fn, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "tau", tau, gt=0.0)
    check_bool(fn, "decay_input", decay_input)
    return dict(tau=tau, decay_input=decay_input,
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def simple_if_init_state(x: torch.Tensor) -> SimpleIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``."""
    return SimpleIFState(torch.zeros_like(x))


def simple_lif_init_state(x: torch.Tensor) -> SimpleLIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``."""
    return SimpleLIFState(torch.zeros_like(x))


def simple_if_step(x: torch.Tensor, state: Optional[SimpleIFState] = None, *, v_threshold: Number = 1.0,
                   v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                   surrogate_function: Optional[Callable] = None):
    """One step of the simple IF neuron (``H = V + X``, then fire and reset).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``SimpleIFState(v)`` shaped like ``x``; ``None`` is the rest state ``v = 0``.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, SimpleIFState)``.
    """
    cfg = check_firing("simple_if_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("simple_if_step", SIMPLE_IF, x, state, cfg)


def simple_if_multi_step(x_seq: torch.Tensor, state: Optional[SimpleIFState] = None, *, v_threshold: Number = 1.0,
                         v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                         surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                         backend: str = "auto"):
    """:func:`simple_if_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``;
    ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = check_firing("simple_if_multi_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("simple_if_multi_step", SIMPLE_IF, x_seq, state, cfg, return_v_seq, backend)


def simple_lif_step(x: torch.Tensor, state: Optional[SimpleLIFState] = None, *, tau: Number, decay_input: bool,
                    v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None):
    """One step of the simple LIF neuron (charge above, then fire and reset).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``SimpleLIFState(v)`` shaped like ``x``; ``None`` is the rest state ``v = 0``.
        tau: membrane time constant, ``> 0`` (required, as in SpikingJelly); float or tensor.
        decay_input: whether the input is divided by ``tau`` too (required).
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, SimpleLIFState)``.
    """
    cfg = _simple_lif_config("simple_lif_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                             surrogate_function)
    return run_step("simple_lif_step", SIMPLE_LIF, x, state, cfg)


def simple_lif_multi_step(x_seq: torch.Tensor, state: Optional[SimpleLIFState] = None, *, tau: Number,
                          decay_input: bool, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                          detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                          return_v_seq: bool = False, backend: str = "auto"):
    """:func:`simple_lif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`simple_if_multi_step`."""
    cfg = _simple_lif_config("simple_lif_multi_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                             surrogate_function)
    return run_multi_step("simple_lif_multi_step", SIMPLE_LIF, x_seq, state, cfg, return_v_seq, backend)
