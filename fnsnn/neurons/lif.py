"""Leaky integrate-and-fire neurons: LIF with a fixed ``tau``, PLIF with a learnable one.

Charge with ``decay_input=True``:  ``H = V + (X - (V - V_reset)) / tau``;
with ``decay_input=False``:         ``H = V - (V - V_reset) / tau + X``;
``V_reset`` reads 0 for soft reset. PLIF uses ``1 / tau = sigmoid(w)``.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_bool, check_param
from ._base import NeuronFamily, check_firing, fire_and_reset, full_like, run_multi_step, run_step

Number = Union[float, torch.Tensor]


class LIFState(NamedTuple):
    v: torch.Tensor


class PLIFState(NamedTuple):
    v: torch.Tensor


def leaky_charge(x, v, inv_tau, decay_input: bool, v_reset):
    """The LIF charge with ``inv_tau = 1 / tau`` (a float or a tensor)."""
    base = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (x - (v - base)) * inv_tau
    return v - (v - base) * inv_tau + x


def _lif_charge(x, v, tau, decay_input, v_reset):
    # Division by tau (not multiplication by 1/tau) keeps float32 results identical to SpikingJelly.
    base = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (x - (v - base)) / tau
    return v - (v - base) / tau + x


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return full_like(like, 0.0 if v_reset is None else v_reset)


def _fire(h, cfg):
    return fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])


def _lif_update(x, state, cfg):
    spike, v = _fire(_lif_charge(x, state.v, cfg["tau"], cfg["decay_input"], cfg["v_reset"]), cfg)
    return spike, LIFState(v)


def _plif_update(x, state, cfg):
    inv_tau = torch.sigmoid(cfg["w"])
    spike, v = _fire(leaky_charge(x, state.v, inv_tau, cfg["decay_input"], cfg["v_reset"]), cfg)
    return spike, PLIFState(v)


LIF = NeuronFamily("lif", LIFState, lambda like, cfg: LIFState(_rest(like, cfg)), _lif_update)
PLIF = NeuronFamily("plif", PLIFState, lambda like, cfg: PLIFState(_rest(like, cfg)), _plif_update)


def _lif_config(fn, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "tau", tau, gt=1.0)
    check_bool(fn, "decay_input", decay_input)
    return dict(tau=tau, decay_input=decay_input,
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def _plif_config(fn, w, decay_input, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "w", w)
    check_bool(fn, "decay_input", decay_input)
    if not isinstance(w, torch.Tensor):
        w = torch.tensor(float(w))
    return dict(w=w, decay_input=decay_input,
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def plif_w_from_tau(init_tau: float) -> float:
    """The PLIF weight ``w`` with ``sigmoid(w) = 1 / init_tau`` (``init_tau > 1``)."""
    check_param("plif_w_from_tau", "init_tau", init_tau, gt=1.0, allow_tensor=False)
    return -math.log(init_tau - 1.0)


def lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> LIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return LIFState(_rest(x, dict(v_reset=v_reset)))


def plif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> PLIFState:
    """Rest state of the PLIF neuron, as :func:`lif_init_state`."""
    return PLIFState(_rest(x, dict(v_reset=v_reset)))


def lif_step(x: torch.Tensor, state: Optional[LIFState] = None, *, tau: Number = 2.0, decay_input: bool = True,
             v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
             surrogate_function: Optional[Callable] = None):
    """One step of the LIF neuron (charge above, then fire and reset as in :func:`fnsnn.if_step`).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``LIFState(v)`` shaped like ``x``; ``None`` is the rest state.
        tau: membrane time constant, ``> 1``; a float or a tensor (so ``grad``/``vmap`` reach it).
        decay_input: whether the input is divided by ``tau`` too.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, LIFState)``.
    """
    cfg = _lif_config("lif_step", tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("lif_step", LIF, x, state, cfg)


def lif_multi_step(x_seq: torch.Tensor, state: Optional[LIFState] = None, *, tau: Number = 2.0,
                   decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                   detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                   return_v_seq: bool = False, backend: str = "auto"):
    """:func:`lif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _lif_config("lif_multi_step", tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("lif_multi_step", LIF, x_seq, state, cfg, return_v_seq, backend)


def plif_step(x: torch.Tensor, state: Optional[PLIFState] = None, *, w: Number = 0.0, decay_input: bool = True,
              v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None):
    """One step of the parametric LIF neuron: the LIF charge with ``1 / tau = sigmoid(w)``.

    ``w`` is a float or a (learnable) tensor; ``w = 0`` means ``tau = 2``, and
    :func:`plif_w_from_tau` converts an initial ``tau``. Other arguments as :func:`lif_step`.
    """
    cfg = _plif_config("plif_step", w, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("plif_step", PLIF, x, state, cfg)


def plif_multi_step(x_seq: torch.Tensor, state: Optional[PLIFState] = None, *, w: Number = 0.0,
                    decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                    detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                    return_v_seq: bool = False, backend: str = "auto"):
    """:func:`plif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`lif_multi_step`."""
    cfg = _plif_config("plif_multi_step", w, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("plif_multi_step", PLIF, x_seq, state, cfg, return_v_seq, backend)
