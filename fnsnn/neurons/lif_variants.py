"""Variants of the leaky integrate-and-fire neuron.

``H_lif`` below is the LIF charge of :mod:`fnsnn.neurons.lif`;
``fire`` is ``S = Θ(H - v_threshold)`` and ``reset`` the hard/soft reset of
:func:`fnsnn.if_step`.

KLIF:      ``H = relu(k H_lif)``; with ``scale_reset`` the reset acts on ``H / k``
           with threshold ``v_threshold / k``.
LIAF:      ``Y = act(H_lif - v_threshold)`` (``threshold_related``) or ``act(H_lif)``;
           the spike only drives the reset.
CUBA-LIF:  ``C' = c_decay C + X``, ``H = v_decay V + C'``.
CLIF:      ``H = V - V / tau + X``, ``M' = M sigmoid(H / tau) + S``,
           ``V' = H - S (v_threshold + sigmoid(M'))``.
Gated LIF (parameters are logits ``p``, used as gates ``g(p) = sigmoid(p)``):
           ``I = X (1 - β (1 - c_t))``,
           ``V' = (1 - α (1 - τ)) V (1 - γ S) - (1 - α) d + I - (1 - γ) v_sub S``,
           ``S' = Θ(V' - v_th)``, where ``S`` is the previous step's spike, ``c_t``
           the gate of step ``t`` and ``d`` the linear decay.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import check_backend, check_bool, check_param, check_seq, check_surrogate
from ._base import (
    NeuronFamily,
    check_firing,
    fire,
    fire_and_reset,
    full_like,
    prepare_state,
    reset,
    run_multi_step,
    run_step,
)
from .lif import _lif_charge

Number = Union[float, torch.Tensor]


class KLIFState(NamedTuple):
    v: torch.Tensor


class LIAFState(NamedTuple):
    v: torch.Tensor


class CUBALIFState(NamedTuple):
    v: torch.Tensor
    c: torch.Tensor


class CLIFState(NamedTuple):
    v: torch.Tensor
    m: torch.Tensor


class GatedLIFState(NamedTuple):
    v: torch.Tensor
    spike: torch.Tensor


def _rest_v(like, cfg):
    v_reset = cfg["v_reset"]
    return full_like(like, 0.0 if v_reset is None else v_reset)


def _klif_update(x, state, cfg):
    k, v_threshold = cfg["k"], cfg["v_threshold"]
    h = torch.relu(k * _lif_charge(x, state.v, cfg["tau"], cfg["decay_input"], cfg["v_reset"]))
    spike = fire(h, v_threshold, cfg["surrogate_function"])
    if cfg["scale_reset"]:
        v = reset(h / k, spike, v_threshold / k, cfg["v_reset"], cfg["detach_reset"])
    else:
        v = reset(h, spike, v_threshold, cfg["v_reset"], cfg["detach_reset"])
    return spike, KLIFState(v)


def _liaf_update(x, state, cfg):
    h = _lif_charge(x, state.v, cfg["tau"], cfg["decay_input"], cfg["v_reset"])
    y = cfg["act"](h - cfg["v_threshold"] if cfg["threshold_related"] else h)
    _, v = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])
    return y, LIAFState(v)


def _cuba_update(x, state, cfg):
    c = state.c * cfg["c_decay"] + x
    h = state.v * cfg["v_decay"] + c
    spike, v = fire_and_reset(h, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"], cfg["surrogate_function"])
    return spike, CUBALIFState(v, c)


def _clif_update(x, state, cfg):
    tau, v_threshold = cfg["tau"], cfg["v_threshold"]
    v = state.v
    h = v - v / tau + x
    decayed_m = state.m * torch.sigmoid(h / tau)
    spike = fire(h, v_threshold, cfg["surrogate_function"])
    m = decayed_m + spike
    return spike, CLIFState(h - spike * (v_threshold + torch.sigmoid(m)), m)


def _gate(p):
    """``sigmoid(p)`` for a logit given as a float or a tensor."""
    if isinstance(p, torch.Tensor):
        return torch.sigmoid(p)
    if p >= 0:
        return 1.0 / (1.0 + math.exp(-p))
    e = math.exp(p)
    return e / (1.0 + e)


def _gated_update(x, state, cfg):
    alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset, conduct = (
        _gate(cfg[k]) for k in _GATED_PARAMS)
    v, spike = state.v, state.spike
    leak = 1 - alpha * (1 - tau)
    h = (leak * v - (1 - alpha) * linear_decay) + x * (1 - beta * (1 - conduct))
    h = h - leak * v * gamma * spike - (1 - gamma) * v_subreset * spike
    spike = cfg["surrogate_function"](h - v_threshold)
    return spike, GatedLIFState(h, spike)


KLIF = NeuronFamily("klif", KLIFState, lambda like, cfg: KLIFState(_rest_v(like, cfg)), _klif_update)
LIAF = NeuronFamily("liaf", LIAFState, lambda like, cfg: LIAFState(_rest_v(like, cfg)), _liaf_update)
CUBALIF = NeuronFamily("cuba_lif", CUBALIFState,
                       lambda like, cfg: CUBALIFState(_rest_v(like, cfg), torch.zeros_like(like)), _cuba_update)
CLIF = NeuronFamily("clif", CLIFState,
                    lambda like, cfg: CLIFState(torch.zeros_like(like), torch.zeros_like(like)), _clif_update)
GATEDLIF = NeuronFamily("gated_lif", GatedLIFState,
                        lambda like, cfg: GatedLIFState(torch.zeros_like(like), torch.zeros_like(like)),
                        _gated_update)


def _lif_keywords(fn, tau, decay_input):
    check_param(fn, "tau", tau, gt=1.0)
    check_bool(fn, "decay_input", decay_input)
    return dict(tau=tau, decay_input=decay_input)


def _klif_config(fn, k, scale_reset, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function):
    check_param(fn, "k", k, gt=0.0)
    check_bool(fn, "scale_reset", scale_reset)
    return dict(k=k, scale_reset=scale_reset, **_lif_keywords(fn, tau, decay_input),
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def _liaf_config(fn, act, threshold_related, tau, decay_input, v_threshold, v_reset, detach_reset,
                 surrogate_function):
    if not callable(act):
        raise TypeError(f"{fn}: `act` must be callable (e.g. torch.relu), got {type(act).__name__} {act!r}.")
    check_bool(fn, "threshold_related", threshold_related)
    return dict(act=act, threshold_related=threshold_related, **_lif_keywords(fn, tau, decay_input),
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def _check_unit(fn, name, value):
    """A decay factor in ``[0, 1]``: a number or a tensor."""
    return check_param(fn, name, value, ge=0.0, le=1.0)


def _rect():
    from ..surrogate import Rect

    return Rect()


def _sigmoid():
    from ..surrogate import Sigmoid

    return Sigmoid()


def _cuba_config(fn, c_decay, v_decay, v_threshold, v_reset, detach_reset, surrogate_function):
    _check_unit(fn, "c_decay", c_decay)
    _check_unit(fn, "v_decay", v_decay)
    surrogate_function = _rect() if surrogate_function is None else surrogate_function
    return dict(c_decay=c_decay, v_decay=v_decay,
                **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))


def _clif_config(fn, tau, v_threshold, surrogate_function):
    check_param(fn, "tau", tau, gt=1.0)
    check_param(fn, "v_threshold", v_threshold)
    surrogate_function = check_surrogate(fn, "surrogate_function", surrogate_function, _rect)
    return dict(tau=tau, v_threshold=v_threshold, surrogate_function=surrogate_function)


_GATED_PARAMS = ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset", "conduct")


def _gated_config(fn, params, surrogate_function):
    for name, value in params.items():
        check_param(fn, name, value)
    surrogate_function = check_surrogate(fn, "surrogate_function", surrogate_function, _sigmoid)
    return dict(params, surrogate_function=surrogate_function)


# -- KLIF -----------------------------------------------------------------------

def klif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> KLIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return KLIFState(_rest_v(x, dict(v_reset=v_reset)))


def klif_step(x: torch.Tensor, state: Optional[KLIFState] = None, *, k: Number = 1.0, scale_reset: bool = False,
              tau: Number = 2.0, decay_input: bool = True, v_threshold: Number = 1.0,
              v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None):
    """One step of the KLIF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``KLIFState(v)`` shaped like ``x``; ``None`` is the rest state.
        k: the (learnable) scale of the charged potential, ``> 0``; a float or a tensor.
        scale_reset: reset ``H / k`` against ``v_threshold / k`` instead of ``H``.
        tau, decay_input: as for :func:`fnsnn.lif_step`.
        v_threshold, v_reset, detach_reset, surrogate_function: as for :func:`fnsnn.if_step`.

    Returns:
        ``(spike, KLIFState)``.
    """
    cfg = _klif_config("klif_step", k, scale_reset, tau, decay_input, v_threshold, v_reset, detach_reset,
                       surrogate_function)
    return run_step("klif_step", KLIF, x, state, cfg)


def klif_multi_step(x_seq: torch.Tensor, state: Optional[KLIFState] = None, *, k: Number = 1.0,
                    scale_reset: bool = False, tau: Number = 2.0, decay_input: bool = True,
                    v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                    backend: str = "auto"):
    """:func:`klif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _klif_config("klif_multi_step", k, scale_reset, tau, decay_input, v_threshold, v_reset, detach_reset,
                       surrogate_function)
    return run_multi_step("klif_multi_step", KLIF, x_seq, state, cfg, return_v_seq, backend)


# -- LIAF -----------------------------------------------------------------------

def liaf_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> LIAFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset)."""
    return LIAFState(_rest_v(x, dict(v_reset=v_reset)))


def liaf_step(x: torch.Tensor, state: Optional[LIAFState] = None, *, act: Callable, threshold_related: bool,
              tau: Number = 2.0, decay_input: bool = True, v_threshold: Number = 1.0,
              v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None):
    """One step of the leaky integrate-and-analog-fire neuron: the output is analog.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``LIAFState(v)`` shaped like ``x``; ``None`` is the rest state.
        act: activation applied to the charged potential, e.g. ``torch.relu``.
        threshold_related: apply ``act`` to ``H - v_threshold`` instead of ``H``.
        tau, decay_input: as for :func:`fnsnn.lif_step`.
        v_threshold, v_reset, detach_reset, surrogate_function: spike and reset as for
            :func:`fnsnn.if_step`; the spike itself is not returned.

    Returns:
        ``(y, LIAFState)`` with ``y = act(...)`` shaped like ``x``.
    """
    cfg = _liaf_config("liaf_step", act, threshold_related, tau, decay_input, v_threshold, v_reset, detach_reset,
                       surrogate_function)
    return run_step("liaf_step", LIAF, x, state, cfg)


def liaf_multi_step(x_seq: torch.Tensor, state: Optional[LIAFState] = None, *, act: Callable,
                    threshold_related: bool, tau: Number = 2.0, decay_input: bool = True,
                    v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                    backend: str = "auto"):
    """:func:`liaf_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(y_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _liaf_config("liaf_multi_step", act, threshold_related, tau, decay_input, v_threshold, v_reset,
                       detach_reset, surrogate_function)
    return run_multi_step("liaf_multi_step", LIAF, x_seq, state, cfg, return_v_seq, backend)


# -- CUBA-LIF -------------------------------------------------------------------

def cuba_lif_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0) -> CUBALIFState:
    """Rest state for input ``x`` of one time step: ``v = v_reset`` (0 for soft reset), ``c = 0``."""
    return CUBALIF.rest(x, dict(v_reset=v_reset))


def cuba_lif_step(x: torch.Tensor, state: Optional[CUBALIFState] = None, *, c_decay: Number = 0.5,
                  v_decay: Number = 0.75, v_threshold: Number = 0.5, v_reset: Optional[Number] = 0.0,
                  detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the current-based LIF neuron: a synaptic current ``c`` feeds the membrane.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``CUBALIFState(v, c)``, both shaped like ``x``; ``None`` is the rest state.
        c_decay, v_decay: decay factors of current and voltage, in ``[0, 1]``.
        v_threshold, v_reset, detach_reset: as for :func:`fnsnn.if_step`.
        surrogate_function: spike function, default ``fnsnn.surrogate.Rect()``.

    Returns:
        ``(spike, CUBALIFState)``.
    """
    cfg = _cuba_config("cuba_lif_step", c_decay, v_decay, v_threshold, v_reset, detach_reset, surrogate_function)
    return run_step("cuba_lif_step", CUBALIF, x, state, cfg)


def cuba_lif_multi_step(x_seq: torch.Tensor, state: Optional[CUBALIFState] = None, *, c_decay: Number = 0.5,
                        v_decay: Number = 0.75, v_threshold: Number = 0.5, v_reset: Optional[Number] = 0.0,
                        detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                        return_v_seq: bool = False, backend: str = "auto"):
    """:func:`cuba_lif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _cuba_config("cuba_lif_multi_step", c_decay, v_decay, v_threshold, v_reset, detach_reset,
                       surrogate_function)
    return run_multi_step("cuba_lif_multi_step", CUBALIF, x_seq, state, cfg, return_v_seq, backend)


# -- CLIF -----------------------------------------------------------------------

def clif_init_state(x: torch.Tensor) -> CLIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``, ``m = 0``."""
    return CLIF.rest(x, {})


def clif_step(x: torch.Tensor, state: Optional[CLIFState] = None, *, tau: Number = 2.0,
              v_threshold: Number = 1.0, surrogate_function: Optional[Callable] = None):
    """One step of the complementary LIF neuron (equations in the module docstring).

    The complementary potential ``m`` counts recent spikes and raises the soft
    reset by ``sigmoid(m)``; there is no ``v_reset`` or ``detach_reset``.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``CLIFState(v, m)``, both shaped like ``x``; ``None`` is the rest state.
        tau: membrane time constant, ``> 1``.
        v_threshold: firing threshold.
        surrogate_function: spike function, default ``fnsnn.surrogate.Rect(alpha=1.0)``.

    Returns:
        ``(spike, CLIFState)``.
    """
    cfg = _clif_config("clif_step", tau, v_threshold, surrogate_function)
    return run_step("clif_step", CLIF, x, state, cfg)


def clif_multi_step(x_seq: torch.Tensor, state: Optional[CLIFState] = None, *, tau: Number = 2.0,
                    v_threshold: Number = 1.0, surrogate_function: Optional[Callable] = None,
                    return_v_seq: bool = False, backend: str = "auto"):
    """:func:`clif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    cfg = _clif_config("clif_multi_step", tau, v_threshold, surrogate_function)
    return run_multi_step("clif_multi_step", CLIF, x_seq, state, cfg, return_v_seq, backend)


# -- Gated LIF ------------------------------------------------------------------

def gated_lif_init_state(x: torch.Tensor) -> GatedLIFState:
    """Rest state for input ``x`` of one time step: ``v = 0`` and no previous spike."""
    return GATEDLIF.rest(x, {})


def gated_lif_step(x: torch.Tensor, state: Optional[GatedLIFState] = None, *, conduct: Number = 0.0,
                   alpha: Number = 0.0, beta: Number = 0.0, gamma: Number = 0.0, tau: Number = 0.0,
                   v_threshold: Number = 0.0, linear_decay: Number = 0.0, v_subreset: Number = 0.0,
                   surrogate_function: Optional[Callable] = None):
    """One step of the gated LIF neuron (GLIF; equations in the module docstring).

    Every numeric argument is a logit: the neuron uses ``sigmoid(p)``, so any
    real value is valid; the defaults (0) mean 0.5. ``fnsnn_nn.neuron.GatedLIFNode``
    holds these logits as learnable parameters.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``GatedLIFState(v, spike)`` (``spike`` is the previous step's output),
            both shaped like ``x``; ``None`` is ``v = 0`` with no previous spike.
        conduct: the conductance gate of this time step.
        alpha, beta, gamma: gates mixing leak, input conductance and reset.
        tau, v_threshold, linear_decay, v_subreset: membrane constants, all as logits.
        surrogate_function: spike function, default ``fnsnn.surrogate.Sigmoid()``.
        Numeric arguments are floats or tensors broadcastable to ``x``.

    Returns:
        ``(spike, GatedLIFState)``.
    """
    params = dict(alpha=alpha, beta=beta, gamma=gamma, tau=tau, v_threshold=v_threshold,
                  linear_decay=linear_decay, v_subreset=v_subreset, conduct=conduct)
    cfg = _gated_config("gated_lif_step", params, surrogate_function)
    return run_step("gated_lif_step", GATEDLIF, x, state, cfg)


def gated_lif_multi_step(x_seq: torch.Tensor, state: Optional[GatedLIFState] = None, *, conduct: Number = 0.0,
                         alpha: Number = 0.0, beta: Number = 0.0, gamma: Number = 0.0,
                         tau: Number = 0.0, v_threshold: Number = 0.0,
                         linear_decay: Number = 0.0, v_subreset: Number = 0.0,
                         surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                         backend: str = "auto"):
    """:func:`gated_lif_step` scanned over ``x_seq`` ``[T, N, *]`` with one ``conduct`` gate per step.

    Args:
        conduct: a float (the same gate at every step), or a tensor ``[T, *]`` whose
            entry ``t`` (broadcastable to one step's input) is the gate of step ``t``;
            its length must equal the number of time steps.
        Other arguments as :func:`gated_lif_step`.

    Returns:
        ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    fn = "gated_lif_multi_step"
    params = dict(alpha=alpha, beta=beta, gamma=gamma, tau=tau, v_threshold=v_threshold,
                  linear_decay=linear_decay, v_subreset=v_subreset, conduct=conduct)
    cfg = _gated_config(fn, params, surrogate_function)
    check_seq(fn, "x_seq", x_seq)
    check_bool(fn, "return_v_seq", return_v_seq)
    per_step = isinstance(conduct, torch.Tensor) and conduct.dim() > 0
    if per_step and conduct.shape[0] != x_seq.shape[0]:
        raise ValueError(
            f"{fn}: `conduct` holds {conduct.shape[0]} per-step gates (shape {tuple(conduct.shape)}) but `x_seq` "
            f"has T={x_seq.shape[0]} time steps (shape {tuple(x_seq.shape)}); pass one gate per time step, "
            f"or a float for the same gate at every step."
        )
    if not per_step:
        return run_multi_step(fn, GATEDLIF, x_seq, state, cfg, return_v_seq, backend)
    state = prepare_state(fn, GATEDLIF, x_seq.select(0, 0), state, dict(cfg, conduct=conduct.select(0, 0)))
    check_backend(fn, backend)
    if backend not in ("auto", "torch"):
        raise ValueError(f"{fn}: backend={backend!r} cannot run per-step `conduct` gates, which this function runs "
                         f"in its own loop of gated_lif_step; use backend='auto' or 'torch' (a float `conduct`, "
                         f"the same gate at every step, runs on every backend).")
    ys, vs = [], []
    for x, c in zip(x_seq.unbind(0), conduct.unbind(0)):
        y, state = _gated_update(x, state, dict(cfg, conduct=c))
        ys.append(y)
        vs.append(state.v)
    if return_v_seq:
        return torch.stack(ys), state, torch.stack(vs)
    return torch.stack(ys), state
