"""LIF neurons for online training through time: OTTT and SLTT.

Both run the LIF charge, fire and reset of :func:`fnsnn.lif_step`. With
``training=True`` the incoming potential is cut from the graph at every step
(``V <- stop_grad(V)``), so backpropagation never crosses time steps and memory
stays O(1) in ``T``; with ``training=False`` the spike is the plain Heaviside
step (no surrogate) and nothing is cut.

OTTT also keeps a presynaptic trace, updated only in training and never
differentiated: ``trace' = stop_grad(trace (1 - 1/tau) + S)``; in evaluation it
is carried unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_bool
from ..surrogate import heaviside
from ._base import NeuronFamily, fire_and_reset, full_like, run_multi_step, run_step
from .lif import _lif_charge, _lif_config

Number = Union[float, torch.Tensor]


class OTTTLIFState(NamedTuple):
    v: torch.Tensor
    trace: torch.Tensor


class SLTTLIFState(NamedTuple):
    v: torch.Tensor


def _online_lif(x, v, cfg):
    """Charge, fire and reset of one step, cutting ``v`` from the graph in training."""
    training = cfg["training"]
    if training:
        v = v.detach()
    h = _lif_charge(x, v, cfg["tau"], cfg["decay_input"], cfg["v_reset"])
    surrogate = cfg["surrogate_function"] if training else heaviside
    return fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], surrogate)


def _ottt_update(x, state, cfg):
    spike, v = _online_lif(x, state.v, cfg)
    trace = state.trace
    if cfg["training"]:
        trace = (trace * (1.0 - 1.0 / cfg["tau"]) + spike).detach()
    return spike, OTTTLIFState(v, trace)


def _sltt_update(x, state, cfg):
    spike, v = _online_lif(x, state.v, cfg)
    return spike, SLTTLIFState(v)


def _rest_v(like, cfg):
    v_reset = cfg["v_reset"]
    return full_like(like, 0.0 if v_reset is None else v_reset)


OTTT_LIF = NeuronFamily("ottt_lif", OTTTLIFState,
                        lambda like, cfg: OTTTLIFState(_rest_v(like, cfg), torch.zeros_like(like)), _ottt_update)
# The same dynamics with the eligibility trace as the per-step output, for sequences of traces (OTTT training).
OTTT_LIF_TRACES = dataclasses.replace(OTTT_LIF, trace="trace")
SLTT_LIF = NeuronFamily("sltt_lif", SLTTLIFState, lambda like, cfg: SLTTLIFState(_rest_v(like, cfg)), _sltt_update)


def _online_config(fn, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function, training):
    check_bool(fn, "training", training)
    cfg = _lif_config(fn, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
    return dict(cfg, training=training)


def ottt_lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = None) -> OTTTLIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset), ``trace = 0``."""
    return OTTTLIFState(_rest_v(x, dict(v_reset=v_reset)), torch.zeros_like(x))


def sltt_lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> SLTTLIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return SLTTLIFState(_rest_v(x, dict(v_reset=v_reset)))


def ottt_lif_step(x: torch.Tensor, state: Optional[OTTTLIFState] = None, *, tau: Number = 2.0,
                  decay_input: bool = False, v_threshold: Number = 1.0, v_reset: Optional[Number] = None,
                  detach_reset: bool = True, surrogate_function: Optional[Callable] = None, training: bool = True):
    """One step of the OTTT LIF neuron (online training through time).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``OTTTLIFState(v, trace)`` shaped like ``x``; ``None`` is the rest state.
        tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function: as for
            :func:`fnsnn.lif_step` (note the defaults: no input decay, soft reset, detached reset).
        training: cut ``v`` per step, use the surrogate and update the trace (True), or
            run the plain Heaviside neuron and carry the trace (False).

    Returns:
        ``(spike, OTTTLIFState)``; the updated presynaptic trace is ``new_state.trace``.
    """
    cfg = _online_config("ottt_lif_step", tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function,
                         training)
    return run_step("ottt_lif_step", OTTT_LIF, x, state, cfg)


def ottt_lif_multi_step(x_seq: torch.Tensor, state: Optional[OTTTLIFState] = None, *, tau: Number = 2.0,
                        decay_input: bool = False, v_threshold: Number = 1.0, v_reset: Optional[Number] = None,
                        detach_reset: bool = True, surrogate_function: Optional[Callable] = None,
                        training: bool = True, return_v_seq: bool = False, backend: str = "auto"):
    """:func:`ottt_lif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    The per-step traces come from ``fnsnn.scan(ottt_lif_step, ..., return_states=True)``.
    ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _online_config("ottt_lif_multi_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                         surrogate_function, training)
    return run_multi_step("ottt_lif_multi_step", OTTT_LIF, x_seq, state, cfg, return_v_seq, backend)


def sltt_lif_step(x: torch.Tensor, state: Optional[SLTTLIFState] = None, *, tau: Number = 2.0,
                  decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                  detach_reset: bool = True, surrogate_function: Optional[Callable] = None, training: bool = True):
    """One step of the SLTT LIF neuron (spatial learning through time).

    Arguments as :func:`ottt_lif_step` (defaults as :func:`fnsnn.lif_step`, except
    ``detach_reset=True``), without a trace. Returns ``(spike, SLTTLIFState)``.
    """
    cfg = _online_config("sltt_lif_step", tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function,
                         training)
    return run_step("sltt_lif_step", SLTT_LIF, x, state, cfg)


def sltt_lif_multi_step(x_seq: torch.Tensor, state: Optional[SLTTLIFState] = None, *, tau: Number = 2.0,
                        decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                        detach_reset: bool = True, surrogate_function: Optional[Callable] = None,
                        training: bool = True, return_v_seq: bool = False, backend: str = "auto"):
    """:func:`sltt_lif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`ottt_lif_multi_step`."""
    cfg = _online_config("sltt_lif_multi_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                         surrogate_function, training)
    return run_multi_step("sltt_lif_multi_step", SLTT_LIF, x_seq, state, cfg, return_v_seq, backend)
