"""SpikingJelly 2.0.0's pure neuron and layer functions, with its signatures, over fnsnn's core.

2.0.0 passes each state variable as its own tensor argument and returns them
after the output (``lif_step(x, v, ...) -> (spike, v)``); fnsnn passes one
state NamedTuple. Each function here only repacks arguments and calls the
fnsnn function of the same family, so both spellings run on one engine.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Tuple

import torch

import fnsnn
from fnsnn import synapses
from fnsnn._checks import check_positive_int
from fnsnn.neurons._base import reset as _reset
from fnsnn.neurons.lif import _lif_charge

Tensor = torch.Tensor
_PRECISIONS = ("fp32",)


def _check_precision(fn: str, neuron_storage, neuron_fwd, neuron_bwd) -> None:
    # 2.0.0's reduced-precision kernel options; fnsnn computes in the input's dtype.
    if neuron_storage is not None:
        raise ValueError(f"{fn}: `neuron_storage` must be None (fnsnn stores the state in the input's dtype), "
                         f"got {neuron_storage!r}; cast the input instead.")
    for name, value in (("neuron_fwd", neuron_fwd), ("neuron_bwd", neuron_bwd)):
        if value not in _PRECISIONS:
            raise ValueError(f"{fn}: `{name}` must be 'fp32' (fnsnn computes in the input's dtype), got {value!r}.")


def _seq_out(out, store: bool):
    if store:
        y_seq, state, v_seq = out
        return y_seq, state.v, v_seq
    y_seq, state = out
    return y_seq, state.v, None


# -- single steps -------------------------------------------------------------------------

def voltage_reset(v: Tensor, spike: Tensor, v_threshold: float, v_reset: Optional[float],
                  detach_reset: bool) -> Tensor:
    """Hard (``v_reset`` a number) or soft (``None``) reset of the charged potential; see :func:`fnsnn.reset`."""
    return _reset(v, spike, v_threshold, v_reset, detach_reset)


def if_step(x: Tensor, v: Tensor, v_threshold: float, v_reset: Optional[float], surrogate_function: Callable,
            detach_reset: bool = False) -> Tuple[Tensor, Tensor]:
    """``(spike, v)`` of one IF step from ``v``; see :func:`fnsnn.if_step`."""
    spike, st = fnsnn.if_step(x, fnsnn.IFState(v), v_threshold=v_threshold, v_reset=v_reset,
                              detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def lif_charge(x: Tensor, v: Tensor, tau: float, decay_input: bool, v_reset: Optional[float]) -> Tensor:
    """The LIF charge ``H`` from ``v`` (no fire, no reset); equations in :mod:`fnsnn.neurons.lif`."""
    return _lif_charge(x, v, tau, decay_input, v_reset)


def lif_step(x: Tensor, v: Tensor, tau: float, decay_input: bool, v_threshold: float, v_reset: Optional[float],
             surrogate_function: Callable, detach_reset: bool = False) -> Tuple[Tensor, Tensor]:
    """``(spike, v)`` of one LIF step; see :func:`fnsnn.lif_step`."""
    spike, st = fnsnn.lif_step(x, fnsnn.LIFState(v), tau=tau, decay_input=decay_input, v_threshold=v_threshold,
                               v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def plif_step(x: Tensor, v: Tensor, w: Tensor, decay_input: bool, v_threshold: float, v_reset: Optional[float],
              surrogate_function: Callable, detach_reset: bool = False) -> Tuple[Tensor, Tensor]:
    """``(spike, v)`` of one parametric-LIF step (``1 / tau = sigmoid(w)``); see :func:`fnsnn.plif_step`."""
    spike, st = fnsnn.plif_step(x, fnsnn.PLIFState(v), w=w, decay_input=decay_input, v_threshold=v_threshold,
                                v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def qif_step(x: Tensor, v: Tensor, tau: float, a0: float, v_rest: float, v_c: float, v_threshold: float,
             v_reset: Optional[float], surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v)`` of one QIF step; see :func:`fnsnn.qif_step`."""
    spike, st = fnsnn.qif_step(x, fnsnn.QIFState(v), tau=tau, a0=a0, v_rest=v_rest, v_c=v_c,
                               v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
                               surrogate_function=surrogate_function)
    return spike, st.v


def eif_step(x: Tensor, v: Tensor, tau: float, delta_t: float, theta_rh: float, v_rest: float, v_threshold: float,
             v_reset: Optional[float], surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v)`` of one EIF step; see :func:`fnsnn.eif_step` (``delta_t`` there is ``delta_T``)."""
    spike, st = fnsnn.eif_step(x, fnsnn.EIFState(v), tau=tau, delta_T=delta_t, theta_rh=theta_rh, v_rest=v_rest,
                               v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
                               surrogate_function=surrogate_function)
    return spike, st.v


def izhikevich_step(x: Tensor, v: Tensor, w: Tensor, tau: float, a0: float, v_rest: float, v_c: float,
                    tau_w: float, a: float, b: float, v_threshold: float, v_reset: Optional[float],
                    surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v, w)`` of one Izhikevich step; see :func:`fnsnn.izhikevich_step`."""
    spike, st = fnsnn.izhikevich_step(x, fnsnn.IzhikevichState(v, w), tau=tau, a0=a0, v_rest=v_rest, v_c=v_c,
                                      tau_w=tau_w, a=a, b=b, v_threshold=v_threshold, v_reset=v_reset,
                                      detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v, st.w


def klif_step(x: Tensor, v: Tensor, k: Tensor, tau: float, decay_input: bool, scale_reset: bool,
              v_threshold: float, v_reset: Optional[float], surrogate_function: Callable,
              detach_reset: bool = False):
    """``(spike, v)`` of one KLIF step; see :func:`fnsnn.klif_step`."""
    spike, st = fnsnn.klif_step(x, fnsnn.KLIFState(v), k=k, scale_reset=scale_reset, tau=tau,
                                decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset,
                                detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def cuba_lif_step(x: Tensor, current: Tensor, v: Tensor, current_decay: float, voltage_decay: float,
                  v_threshold: float, v_reset: Optional[float], surrogate_function: Callable,
                  detach_reset: bool = False):
    """``(spike, current, v)`` of one current-based LIF step; see :func:`fnsnn.cuba_lif_step`."""
    spike, st = fnsnn.cuba_lif_step(x, fnsnn.CUBALIFState(v, current), c_decay=current_decay,
                                    v_decay=voltage_decay, v_threshold=v_threshold, v_reset=v_reset,
                                    detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.c, st.v


def lava_cuba_lif_step(x: Tensor, current_state: Tensor, voltage_state: Tensor, current_decay: Tensor,
                       voltage_decay: Tensor, s_scale: float, v_threshold: float, v_threshold_eps: float,
                       v_reset: float, surrogate_function: Callable,
                       detach_reset: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
    """``(spike, current, voltage)`` of one fixed-point Lava CUBA-LIF step; see :func:`fnsnn.lava_cuba_lif_step`."""
    spike, st = fnsnn.lava_cuba_lif_step(x, fnsnn.LavaCUBALIFState(voltage_state, current_state),
                                         current_decay=current_decay, voltage_decay=voltage_decay, s_scale=s_scale,
                                         v_threshold=v_threshold, v_threshold_eps=v_threshold_eps, v_reset=v_reset,
                                         detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.c, st.v


def clif_step(x: Tensor, v: Tensor, m: Tensor, tau: float, v_threshold: float, spike_function: Callable):
    """``(spike, v, m)`` of one complementary-LIF step; see :func:`fnsnn.clif_step`."""
    spike, st = fnsnn.clif_step(x, fnsnn.CLIFState(v, m), tau=tau, v_threshold=v_threshold,
                                surrogate_function=spike_function)
    return spike, st.v, st.m


def gated_lif_step(x: Tensor, v: Tensor, spike: Tensor, alpha: Tensor, beta: Tensor, gamma: Tensor, tau: Tensor,
                   v_threshold: Tensor, linear_decay: Tensor, v_subreset: Tensor, conduct: Tensor,
                   surrogate_function: Callable):
    """``(spike, v)`` of one gated-LIF step from the previous ``spike``; see :func:`fnsnn.gated_lif_step`.

    As in 2.0.0 the eight parameters are the gated values in ``(0, 1)`` (the module passes
    ``sigmoid(param)``); fnsnn's core takes the logits, so they are passed as ``logit(value)``.
    """
    gated = dict(conduct=conduct, alpha=alpha, beta=beta, gamma=gamma, tau=tau, v_threshold=v_threshold,
                 linear_decay=linear_decay, v_subreset=v_subreset)
    logits = {k: (torch.logit(p) if isinstance(p, torch.Tensor) else _logit(k, p)) for k, p in gated.items()}
    out, st = fnsnn.gated_lif_step(x, fnsnn.GatedLIFState(v, spike), surrogate_function=surrogate_function,
                                   **logits)
    return out, st.v


def _logit(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
        raise ValueError(f"gated_lif_step: `{name}` must be a gated value in (0, 1) or a tensor, got {p!r}.")
    return math.log(p / (1.0 - p))


def ilif_step(x: Tensor, v: Tensor, tau: float, v_threshold: float, surrogate_function: Callable,
              detach_reset: bool = False):
    """``(spike, v)`` of one ILIF step; see :func:`fnsnn.ilif_step`."""
    spike, st = fnsnn.ilif_step(x, fnsnn.ILIFState(v), tau=tau, v_threshold=v_threshold,
                                detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def ternary_if_step(x: Tensor, v: Tensor, v_threshold: float, v_reset: Optional[float],
                    surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v)`` of one ternary IF step (spikes in {-1, 0, 1}); see :func:`fnsnn.ternary_if_step`."""
    spike, st = fnsnn.ternary_if_step(x, fnsnn.TernaryIFState(v), v_threshold=v_threshold, v_reset=v_reset,
                                      detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.v


def ternary_lif_step(x: Tensor, v: Tensor, tau: float, decay_input: bool, v_threshold: float,
                     v_reset: Optional[float], surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v)`` of one ternary LIF step; see :func:`fnsnn.ternary_lif_step`."""
    spike, st = fnsnn.ternary_lif_step(x, fnsnn.TernaryLIFState(v), tau=tau, decay_input=decay_input,
                                       v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
                                       surrogate_function=surrogate_function)
    return spike, st.v


def raf_step(x: Tensor, u: Tensor, v: Tensor, b: float, omega: float, dt: float, v_threshold: float,
             v_reset: Optional[float], surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, u, v)`` of one resonate-and-fire step; see :func:`fnsnn.raf_step`."""
    spike, st = fnsnn.raf_step(x, fnsnn.RAFState(v, u), b=b, omega=omega, dt=dt, v_threshold=v_threshold,
                               v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function)
    return spike, st.u, st.v


def activation_aware_if_step(x: Tensor, v: Tensor, v_threshold, v_offset, v_reset: Optional[float],
                             surrogate_function: Callable, detach_reset: bool = False):
    """``(spike, v)`` of one activation-aware IF step (parameters already broadcastable to ``x``); see
    :func:`fnsnn.activation_aware_if_step`."""
    spike, st = fnsnn.activation_aware_if_step(x, fnsnn.ActivationAwareIFState(v), v_threshold=v_threshold,
                                               v_offset=v_offset, v_reset=v_reset, detach_reset=detach_reset,
                                               surrogate_function=surrogate_function)
    return spike, st.v


def stbif_step(x: Tensor, q: Tensor, acc_q: Tensor, q_threshold: Tensor, pos_max: Tensor, neg_min: Tensor):
    """``(out, q, acc_q, cur_output)`` of one ST-BIF step; see :func:`fnsnn.stbif_step`."""
    y, st = fnsnn.stbif_step(x, fnsnn.STBIFState(q, acc_q, torch.zeros_like(q)), q_threshold=q_threshold,
                             pos_max=pos_max, neg_min=neg_min)
    return y, st.q, st.acc_q, st.cur_output


def stbif_multi_step(x_seq: Tensor, q: Tensor, acc_q: Tensor, q_threshold: Tensor, pos_max: Tensor,
                     neg_min: Tensor):
    """``(out_seq, q, acc_q, cur_output)`` of ST-BIF over ``x_seq``; see :func:`fnsnn.stbif_multi_step`."""
    y, st = fnsnn.stbif_multi_step(x_seq, fnsnn.STBIFState(q, acc_q, torch.zeros_like(q)), q_threshold=q_threshold,
                                   pos_max=pos_max, neg_min=neg_min)
    return y, st.q, st.acc_q, st.cur_output


def liaf_step(x: Tensor, v: Tensor, tau: float, decay_input: bool, v_threshold: float, v_reset: Optional[float],
              act: Callable, threshold_related: bool, surrogate_function: Callable, detach_reset: bool = False):
    """``(y, v)`` of one LIAF step (analog output ``act``); see :func:`fnsnn.liaf_step`."""
    y, st = fnsnn.liaf_step(x, fnsnn.LIAFState(v), act=act, threshold_related=threshold_related, tau=tau,
                            decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset,
                            detach_reset=detach_reset, surrogate_function=surrogate_function)
    return y, st.v


# -- sequences: (spike_seq, v_final, v_seq or None) --------------------------------------------

def _per_channel(fn: str, name: str, p, v: Tensor, channel_size: int, inner_size: int):
    """A scalar or ``channel_size``-element parameter as a tensor shaped like ``v``: element ``i`` of the
    flattened state belongs to channel ``i // inner_size % channel_size``."""
    if not isinstance(p, Tensor):
        return p
    if p.numel() == 1:
        return p.reshape(())
    if p.numel() != channel_size:
        raise ValueError(f"{fn}: `{name}` must hold 1 or channel_size={channel_size} values, got shape "
                         f"{tuple(p.shape)}.")
    index = torch.arange(v.numel(), device=v.device) // inner_size % channel_size
    return p.reshape(-1)[index].reshape(v.shape)


def activation_aware_if_multi_step(x_seq: Tensor, v: Tensor, v_threshold, v_offset, channel_size: int,
                                   inner_size: int, v_reset: Optional[float] = 0.0, store_v_seq: bool = False):
    """Activation-aware IF over ``x_seq`` ``[T, *]`` with 2.0.0's flat channel layout:
    ``(spike_seq, v, v_seq or None)``.

    ``v_threshold`` and ``v_offset`` hold one value or ``channel_size`` values; element ``i`` of the
    flattened state uses channel ``i // inner_size % channel_size``. Unlike 2.0.0's (an inference
    path), the result is differentiable through the surrogate; see :func:`fnsnn.activation_aware_if_multi_step`.
    """
    fn = "activation_aware_if_multi_step"
    check_positive_int(fn, "channel_size", channel_size)
    check_positive_int(fn, "inner_size", inner_size)
    if not isinstance(v, Tensor):
        raise TypeError(f"{fn}: `v` must be a tensor, got {type(v).__name__}.")
    if v.numel() % (channel_size * inner_size):
        raise ValueError(f"{fn}: channel_size * inner_size = {channel_size * inner_size} must divide the "
                         f"state's {v.numel()} elements.")
    thr = _per_channel(fn, "v_threshold", v_threshold, v, channel_size, inner_size)
    off = _per_channel(fn, "v_offset", v_offset, v, channel_size, inner_size)
    out = fnsnn.activation_aware_if_multi_step(x_seq, fnsnn.ActivationAwareIFState(v), v_threshold=thr,
                                               v_offset=off, v_reset=v_reset, return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


_IMPLEMENTED = ("if", "lif", "plif", "qif", "eif", "izhikevich", "ilif", "activation_aware_if", "stbif", "clif")


def neuron_implementation(neuron_type: str, device, *, execution: str = "eager") -> dict:
    """Which fnsnn backend ``backend="auto"`` runs a neuron on, on ``device``, for 2.0.0's neuron names.

    Returns ``{"implementation": name, "unavailable": {other: reason}}`` with fnsnn's backend names
    (``"cpu"``: the generated C scan, ``"triton"``: the generated Triton scan, ``"torch"``: the
    reference loop, which ``torch.compile`` compiles itself; ``execution="compile"`` asks about that
    path). Nothing is computed; what a call really ran is ``fnsnn.last_backend()``.
    """
    fn = "neuron_implementation"
    if neuron_type not in _IMPLEMENTED:
        raise ValueError(f"{fn}: `neuron_type` must be one of {_IMPLEMENTED}, got {neuron_type!r}.")
    if execution not in ("eager", "compile"):
        raise ValueError(f"{fn}: `execution` must be 'eager' or 'compile', got {execution!r}.")
    try:
        device = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"{fn}: `device` must be a torch.device or a device string, got {device!r}.") from exc
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{fn}: `device` must be a CPU or CUDA device, got {device}.")
    from fnsnn.kernels import cpu as _cpu

    unavailable = {}
    if execution == "compile":
        chosen = "torch"
        unavailable["cpu"] = unavailable["triton"] = "torch.compile compiles the reference loop's operations"
    elif device.type == "cuda":
        from fnsnn.neurons._engine import triton_reason

        reason = triton_reason()
        chosen = "eager" if reason else "triton"
        unavailable["cpu"] = "the C scan runs on CPU tensors"
        if reason:
            unavailable["triton"] = reason
    else:
        chosen = "cpu" if _cpu.compiler() is not None else "eager"
        unavailable["triton"] = "the Triton scan runs on CUDA tensors"
        if chosen == "eager":
            unavailable["cpu"] = "no C compiler found (set FNSNN_CC or CC)"
    return {"implementation": chosen, "unavailable": unavailable}


def if_multi_step(x_seq: Tensor, v: Tensor, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                  surrogate_function: Optional[Callable] = None, detach_reset: bool = False,
                  store_v_seq: bool = False, *, neuron_storage=None, neuron_fwd: str = "fp32",
                  neuron_bwd: str = "fp32"):
    """IF over ``x_seq`` ``[T, N, *]``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.if_multi_step`."""
    _check_precision("if_multi_step", neuron_storage, neuron_fwd, neuron_bwd)
    out = fnsnn.if_multi_step(x_seq, fnsnn.IFState(v), v_threshold=v_threshold, v_reset=v_reset,
                              detach_reset=detach_reset, surrogate_function=surrogate_function,
                              return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def lif_multi_step(x_seq: Tensor, v: Tensor, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                   v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                   detach_reset: bool = False, store_v_seq: bool = False, *, neuron_storage=None,
                   neuron_fwd: str = "fp32", neuron_bwd: str = "fp32"):
    """LIF over ``x_seq``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.lif_multi_step`."""
    _check_precision("lif_multi_step", neuron_storage, neuron_fwd, neuron_bwd)
    out = fnsnn.lif_multi_step(x_seq, fnsnn.LIFState(v), tau=tau, decay_input=decay_input, v_threshold=v_threshold,
                               v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function,
                               return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def plif_multi_step(x_seq: Tensor, v: Tensor, w: Tensor, decay_input: bool = True, v_threshold: float = 1.0,
                    v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                    detach_reset: bool = False, store_v_seq: bool = False, *, neuron_storage=None,
                    neuron_fwd: str = "fp32", neuron_bwd: str = "fp32"):
    """Parametric LIF over ``x_seq``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.plif_multi_step`."""
    _check_precision("plif_multi_step", neuron_storage, neuron_fwd, neuron_bwd)
    out = fnsnn.plif_multi_step(x_seq, fnsnn.PLIFState(v), w=w, decay_input=decay_input, v_threshold=v_threshold,
                                v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function,
                                return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def qif_multi_step(x_seq: Tensor, v: Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                   v_reset: Optional[float] = 0.0, v_rest: float = 0.0, v_c: float = 0.8, a0: float = 1.0,
                   detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                   store_v_seq: bool = False):
    """QIF over ``x_seq``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.qif_multi_step`."""
    out = fnsnn.qif_multi_step(x_seq, fnsnn.QIFState(v), tau=tau, v_c=v_c, a0=a0, v_threshold=v_threshold,
                               v_rest=v_rest, v_reset=v_reset, detach_reset=detach_reset,
                               surrogate_function=surrogate_function, return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def eif_multi_step(x_seq: Tensor, v: Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                   v_reset: Optional[float] = 0.0, v_rest: float = 0.0, theta_rh: float = 1.0, delta_t: float = 1.0,
                   detach_reset: bool = False, surrogate_function: Optional[Callable] = None,
                   store_v_seq: bool = False):
    """EIF over ``x_seq``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.eif_multi_step`."""
    out = fnsnn.eif_multi_step(x_seq, fnsnn.EIFState(v), tau=tau, delta_T=delta_t, theta_rh=theta_rh,
                               v_threshold=v_threshold, v_rest=v_rest, v_reset=v_reset, detach_reset=detach_reset,
                               surrogate_function=surrogate_function, return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def ilif_multi_step(x_seq: Tensor, v: Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                    surrogate_function: Optional[Callable] = None, detach_reset: bool = False,
                    store_v_seq: bool = False):
    """ILIF over ``x_seq``: ``(spike_seq, v, v_seq or None)``; see :func:`fnsnn.ilif_multi_step`."""
    out = fnsnn.ilif_multi_step(x_seq, fnsnn.ILIFState(v), tau=tau, v_threshold=v_threshold,
                                detach_reset=detach_reset, surrogate_function=surrogate_function,
                                return_v_seq=store_v_seq)
    return _seq_out(out, store_v_seq)


def izhikevich_multi_step(x_seq: Tensor, v: Tensor, w: Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                          v_reset: Optional[float] = 0.0, v_rest: float = 0.0, a: float = 0.1, b: float = 0.2,
                          tau_w: float = 2.0, v_c: float = 0.8, a0: float = 1.0, detach_reset: bool = False,
                          surrogate_function: Optional[Callable] = None, store_state_seq: bool = False):
    """Izhikevich over ``x_seq``: ``(spike_seq, v, w, v_seq, w_seq)`` (the last two None unless
    ``store_state_seq``); see :func:`fnsnn.izhikevich_multi_step`."""
    cfg = dict(tau=tau, v_c=v_c, a0=a0, v_threshold=v_threshold, v_reset=v_reset, v_rest=v_rest, tau_w=tau_w,
               a=a, b=b, detach_reset=detach_reset, surrogate_function=surrogate_function)
    state = fnsnn.IzhikevichState(v, w)
    if not store_state_seq:
        y_seq, st = fnsnn.izhikevich_multi_step(x_seq, state, **cfg)
        return y_seq, st.v, st.w, None, None
    y_seq, final, states = fnsnn.scan(fnsnn.izhikevich_step, x_seq, state, return_states=True, **cfg)
    return y_seq, final.v, final.w, states.v, states.w


# -- parallel spiking neurons: 2.0.0 keeps the latest inputs as a tuple of flattened tensors -------------

def _psn_history(fn: str, x: Tensor, queue, length: int) -> Tensor:
    """The last ``length`` inputs before ``x`` as ``[length, *x.shape]`` (zeros where ``queue`` is short)."""
    if not isinstance(queue, (tuple, list)):
        raise TypeError(f"{fn}: `queue` must be a tuple of flattened earlier inputs, got {type(queue).__name__}.")
    kept = list(queue)[-length:] if length > 0 else []
    for i, q in enumerate(kept):
        if not isinstance(q, torch.Tensor) or q.numel() != x.numel():
            got = tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__
            raise ValueError(f"{fn}: every queue entry must hold x.numel()={x.numel()} values, got {got}.")
    rows = [x.new_zeros(x.shape)] * (length - len(kept)) + [q.reshape(x.shape) for q in kept]
    return torch.stack(rows) if rows else x.new_zeros((0, *x.shape))


def sliding_psn_step(x: Tensor, queue: Tuple[Tensor, ...], weight: Tensor, bias, surrogate_function: Callable):
    """``(spike, new_queue)`` of one sliding-PSN step of order ``k = weight.numel()``; ``queue`` holds up to ``k``
    latest inputs, flattened, oldest first (missing ones are zeros). See :func:`fnsnn.sliding_psn_step`."""
    k = weight.numel()
    history = _psn_history("sliding_psn_step", x, queue, k - 1)
    spike, _ = fnsnn.sliding_psn_step(x, fnsnn.SlidingPSNState(history), weight=weight, bias=bias,
                                      surrogate_function=surrogate_function)
    return spike, (tuple(queue) + (x.flatten(),))[-k:]


def masked_psn_step(x: Tensor, time_step: int, queue: Tuple[Tensor, ...], masked_weight: Tensor, bias: Tensor,
                    k: int, surrogate_function: Callable):
    """``(spike, time_step + 1, new_queue)`` of step ``time_step`` of the masked PSN (``masked_weight`` ``[T, T]``
    with its mask applied); ``queue`` holds up to ``k`` latest inputs, flattened, oldest first.
    See :func:`fnsnn.masked_psn_step`."""
    if isinstance(time_step, bool) or not isinstance(time_step, int) or time_step < 0:
        raise ValueError(f"masked_psn_step: `time_step` must be an int >= 0, got {time_step!r}.")
    history = _psn_history("masked_psn_step", x, queue, time_step)
    spike, _ = fnsnn.masked_psn_step(x, fnsnn.MaskedPSNState(history), weight=masked_weight, bias=bias, k=k,
                                     surrogate_function=surrogate_function)
    return spike, time_step + 1, (tuple(queue) + (x.flatten(),))[-k:]


# -- layers -------------------------------------------------------------------------------------

def delay_step(x: Tensor, queue: Tuple[Tensor, ...], delay_steps: int) -> Tuple[Tensor, Tuple[Tensor, ...]]:
    """``(x of delay_steps steps ago, new queue)``; ``queue`` holds the latest inputs, oldest first, and may
    be shorter than ``delay_steps`` (missing entries are zeros). See :func:`fnsnn.synapses.delay_step`."""
    fn = "delay_step"
    d = synapses.delay.check_delay_steps(fn, delay_steps)
    if not isinstance(queue, (tuple, list)) or len(queue) > d:
        got = len(queue) if isinstance(queue, (tuple, list)) else type(queue).__name__
        raise ValueError(f"{fn}: `queue` must be a tuple of at most delay_steps={d} tensors, got {got}.")
    if d == 0:
        return x, ()
    line = torch.stack([*[torch.zeros_like(x)] * (d - len(queue)), *queue]) if queue else None
    y, st = synapses.delay_step(x, None if line is None else synapses.DelayState(line), delay_steps=d)
    kept = min(len(queue) + 1, d)
    return y, tuple(st.queue.unbind(0))[d - kept:]


def synapse_filter_step(x: Tensor, out_i: Tensor, reciprocal_tau) -> Tensor:
    """The filtered current after one step with ``1 / tau = reciprocal_tau``; see
    :func:`fnsnn.synapses.synapse_filter_step`."""
    if isinstance(reciprocal_tau, bool) or not isinstance(reciprocal_tau, (int, float, torch.Tensor)):
        raise TypeError(f"synapse_filter_step: `reciprocal_tau` must be a number or a tensor, "
                        f"got {type(reciprocal_tau).__name__}.")
    if not isinstance(reciprocal_tau, torch.Tensor) and not 0.0 < reciprocal_tau < 1.0:
        raise ValueError(f"synapse_filter_step: `reciprocal_tau` must be in (0, 1) (tau > 1), got {reciprocal_tau!r}.")
    _, st = synapses.synapse_filter_step(x, synapses.SynapseFilterState(out_i), tau=1.0 / reciprocal_tau)
    return st.out_i


def neunorm_step(in_spikes: Tensor, state: Tensor, weight: Tensor, momentum: float,
                 input_scale: float) -> Tuple[Tensor, Tensor]:
    """``(in_spikes - weight * A, A)`` with ``A = momentum * state + input_scale * sum_c in_spikes``; see
    :func:`fnsnn.synapses.neunorm_step`."""
    y, st = synapses.neunorm_step(in_spikes, synapses.NeuNormState(state), weight=weight, k=momentum,
                                  input_scale=input_scale)
    return y, st.x


# -- neuron followed by Linear, spikes recomputed in the backward --------------------------------

_THREADS = (128, 256, 512)


def _time_major(fn: str, x, v, threads) -> bool:
    if threads not in _THREADS:
        raise ValueError(f"{fn}: `threads` must be one of {_THREADS}, got {threads!r}.")
    if not isinstance(x, torch.Tensor) or not isinstance(v, torch.Tensor) or x.dim() not in (v.dim(), v.dim() + 1):
        got = (tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__,
               tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__)
        raise ValueError(f"{fn}: `x` must be [M, K] or [T, M, K] with `v` [M, K], got x {got[0]} and v {got[1]}.")
    return x.dim() == v.dim() + 1


def lif_linear(x: Tensor, v: Tensor, weight_t: Tensor, bias: Optional[Tensor] = None, *, tau: float = 2.0,
               decay_input: bool = True, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
               detach_reset: bool = False, surrogate_function: Optional[Callable] = None, threads: int = 256):
    """LIF then ``spike @ weight_t + bias`` without keeping the spikes: ``(y, v_final)``; see
    :func:`fnsnn.lif_linear`. ``threads`` (2.0.0's CUDA block size) is checked and has no effect."""
    tm = _time_major("lif_linear", x, v, threads)
    return fnsnn.lif_linear(x, v, weight_t, bias, tau=tau, decay_input=decay_input, v_threshold=v_threshold,
                            v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate_function,
                            time_major=tm)


def if_linear(x: Tensor, v: Tensor, weight_t: Tensor, bias: Optional[Tensor] = None, *, v_threshold: float = 1.0,
              v_reset: Optional[float] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None, threads: int = 256):
    """IF then ``spike @ weight_t + bias`` without keeping the spikes; as :func:`lif_linear`."""
    tm = _time_major("if_linear", x, v, threads)
    return fnsnn.if_linear(x, v, weight_t, bias, v_threshold=v_threshold, v_reset=v_reset,
                           detach_reset=detach_reset, surrogate_function=surrogate_function, time_major=tm)
