"""Ternary spiking neurons: IF and LIF that emit spikes in ``{-1, 0, +1}``.

After the IF charge ``H = V + X`` or the LIF charge of :func:`fnsnn.lif_step`:

``S+ = Θ(H - v_th)``, ``S- = Θ(-H - v_th)``, ``S = S+ - S-``;
soft reset (``v_reset=None``):  ``V = H - S v_th``;
hard reset:                     ``V = E v_reset + (1 - E) H`` with ``E = S+ + S-``,
so a negative spike resets too and both branches keep their surrogate gradients.
``v_threshold`` must be positive and a hard ``v_reset`` lie strictly in ``(-v_th, v_th)``.
"""

from __future__ import annotations

from numbers import Real
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_bool, check_param
from ._base import NeuronFamily, check_firing, fire, full_like, reset, run_multi_step, run_step
from .lif import _lif_charge

Number = Union[float, torch.Tensor]


class TernaryIFState(NamedTuple):
    v: torch.Tensor


class TernaryLIFState(NamedTuple):
    v: torch.Tensor


def ternary_fire_and_reset(h, v_threshold, v_reset, detach_reset: bool, surrogate_function: Callable):
    """Fire ``S = Θ(H - v_th) - Θ(-H - v_th)`` and reset as described above; returns ``(S, V)``."""
    positive = fire(h, v_threshold, surrogate_function)
    negative = fire(-h, v_threshold, surrogate_function)
    spike = positive - negative
    event = spike if v_reset is None else positive + negative
    return spike, reset(h, event, v_threshold, v_reset, detach_reset)


def _fire(h, cfg):
    return ternary_fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"],
                                  cfg["surrogate_function"])


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    return full_like(like, 0.0 if v_reset is None else v_reset)


def _if_update(x, state, cfg):
    spike, v = _fire(state.v + x, cfg)
    return spike, TernaryIFState(v)


def _lif_update(x, state, cfg):
    spike, v = _fire(_lif_charge(x, state.v, cfg["tau"], cfg["decay_input"], cfg["v_reset"]), cfg)
    return spike, TernaryLIFState(v)


TERNARY_IF = NeuronFamily("ternary_if", TernaryIFState, lambda like, cfg: TernaryIFState(_rest(like, cfg)),
                          _if_update)
TERNARY_LIF = NeuronFamily("ternary_lif", TernaryLIFState, lambda like, cfg: TernaryLIFState(_rest(like, cfg)),
                           _lif_update)


def _ternary_config(fn, v_threshold, v_reset, detach_reset, surrogate_function):
    cfg = check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function)
    check_param(fn, "v_threshold", v_threshold, gt=0.0)
    if v_reset is not None:
        if isinstance(v_reset, Real) and isinstance(v_threshold, Real) and not -v_threshold < v_reset < v_threshold:
            raise ValueError(f"{fn}: `v_reset` must lie strictly between -v_threshold and v_threshold "
                             f"({-v_threshold!r}, {v_threshold!r}), got {v_reset!r}.")
    return cfg


def _ternary_lif_config(fn, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "tau", tau, gt=1.0)
    check_bool(fn, "decay_input", decay_input)
    return dict(tau=tau, decay_input=decay_input,
                **_ternary_config(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def ternary_if_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> TernaryIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return TernaryIFState(_rest(x, dict(v_reset=v_reset)))


def ternary_lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> TernaryLIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return TernaryLIFState(_rest(x, dict(v_reset=v_reset)))


def ternary_if_step(x: torch.Tensor, state: Optional[TernaryIFState] = None, *, v_threshold: Number = 1.0,
                    v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None):
    """One step of the ternary IF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``TernaryIFState(v)`` shaped like ``x``; ``None`` is the rest state.
        v_threshold: positive threshold of both polarities; float or tensor.
        v_reset: hard-reset potential in ``(-v_threshold, v_threshold)``, or ``None`` for soft reset.
        detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, TernaryIFState)``, spikes in ``{-1, 0, 1}``.
    """
    cfg = _ternary_config("ternary_if_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("ternary_if_step", TERNARY_IF, x, state, cfg)


def ternary_if_multi_step(x_seq: torch.Tensor, state: Optional[TernaryIFState] = None, *,
                          v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                          surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                          backend: str = "auto"):
    """:func:`ternary_if_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``;
    ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _ternary_config("ternary_if_multi_step", v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step("ternary_if_multi_step", TERNARY_IF, x_seq, state, cfg, return_v_seq, backend)


def ternary_lif_step(x: torch.Tensor, state: Optional[TernaryLIFState] = None, *, tau: Number = 2.0,
                     decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                     detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the ternary LIF neuron: the LIF charge, then ternary fire and reset.

    ``tau`` (``> 1``) and ``decay_input`` as for :func:`fnsnn.lif_step`; the rest as
    :func:`ternary_if_step`. Returns ``(spike, TernaryLIFState)``.
    """
    cfg = _ternary_lif_config("ternary_lif_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                              surrogate_function)
    return run_step("ternary_lif_step", TERNARY_LIF, x, state, cfg)


def ternary_lif_multi_step(x_seq: torch.Tensor, state: Optional[TernaryLIFState] = None, *, tau: Number = 2.0,
                           decay_input: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                           detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                           return_v_seq: bool = False, backend: str = "auto"):
    """:func:`ternary_lif_step` scanned over ``x_seq`` ``[T, N, *]``; returns as :func:`ternary_if_multi_step`."""
    cfg = _ternary_lif_config("ternary_lif_multi_step", tau, decay_input, v_threshold, v_reset, detach_reset,
                              surrogate_function)
    return run_multi_step("ternary_lif_multi_step", TERNARY_LIF, x_seq, state, cfg, return_v_seq, backend)
