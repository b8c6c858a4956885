"""Spike-timing-dependent plasticity (STDP) and reward-modulated STDP as pure update functions.

Traces: STDP uses the Euler decay ``tr = tr - tr / tau + s``; the reward-modulated forms (mSTDP,
mSTDP-ET) use ``tr = tr exp(-1 / tau) + s``. With the updated traces, the weight change of a linear
layer ``W`` ``[out, in]`` is ``f_post(W) * (S_post^T tr_pre) - f_pre(W) * (tr_post^T S_pre)``
(summed over the batch; for convolutions also over positions, the input already padded). mSTDP keeps
the batch dim of this eligibility; mSTDP-ET works on unbatched spikes and its eligibility trace
``tr_e = tr_e exp(-1 / tau_trace) + e / tau_trace`` gives ``dW = r tr_e``.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Tuple

import torch

from ._checks import check_tensor


class STDPTrace(NamedTuple):
    pre: torch.Tensor
    post: torch.Tensor


def _identity(w):
    return w


def _check(fn, in_spike, out_spike, trace, weight, tau_pre, tau_post, minimum: float, strict: bool):
    for name, t in (("in_spike", in_spike), ("out_spike", out_spike), ("weight", weight)):
        check_tensor(fn, name, t)
    if not isinstance(trace, tuple) or len(trace) != 2:
        raise TypeError(f"{fn}: `trace` must be a pair (trace_pre, trace_post), got {type(trace).__name__}.")
    for name, t, like in (("trace_pre", trace[0], in_spike), ("trace_post", trace[1], out_spike)):
        check_tensor(fn, name, t)
        if t.shape != like.shape:
            raise ValueError(f"{fn}: `{name}` has shape {tuple(t.shape)} but its spikes are {tuple(like.shape)}.")
    for name, tau in (("tau_pre", tau_pre), ("tau_post", tau_post)):
        ok = isinstance(tau, (int, float)) and not isinstance(tau, bool) and math.isfinite(tau) and \
            (tau > minimum if strict else tau >= minimum)
        if not ok:
            rel = ">" if strict else ">="
            raise ValueError(f"{fn}: `{name}` must be a finite number {rel} {minimum:g}, got {tau!r}.")


def _euler(trace, s, tau):
    return trace - trace / tau + s


def _exp(trace, s, tau):
    return trace * math.exp(-1.0 / tau) + s


def stdp_linear_step(in_spike: torch.Tensor, out_spike: torch.Tensor, trace: Tuple[torch.Tensor, torch.Tensor],
                     weight: torch.Tensor, *, tau_pre: float, tau_post: float, f_pre: Callable = _identity,
                     f_post: Callable = _identity):
    """One STDP step of a linear weight: ``(delta_w, STDPTrace)`` (Euler traces, batch summed)."""
    _check("stdp_linear_step", in_spike, out_spike, trace, weight, tau_pre, tau_post, 1.0, False)
    pre, post = _euler(trace[0], in_spike, tau_pre), _euler(trace[1], out_spike, tau_post)
    dw = f_post(weight) * (out_spike.transpose(0, 1) @ pre) - f_pre(weight) * (post.transpose(0, 1) @ in_spike)
    return dw, STDPTrace(pre, post)


def _conv_step(fn, conv_weight_grad, in_spike, out_spike, trace, weight, stride, tau_pre, tau_post, f_pre, f_post):
    _check(fn, in_spike, out_spike, trace, weight, tau_pre, tau_post, 1.0, False)
    pre, post = _euler(trace[0], in_spike, tau_pre), _euler(trace[1], out_spike, tau_post)
    potentiation = conv_weight_grad(pre, weight.shape, out_spike, stride=stride)
    depression = conv_weight_grad(in_spike, weight.shape, post, stride=stride)
    return f_post(weight) * potentiation - f_pre(weight) * depression, STDPTrace(pre, post)


def stdp_conv1d_step(in_spike, out_spike, trace, weight, *, stride, tau_pre: float, tau_post: float,
                     f_pre: Callable = _identity, f_post: Callable = _identity):
    """One STDP step of a Conv1d weight ``[C_out, C_in, K]`` (padded input ``[N, C_in, L]``, dilation 1, one group)."""
    return _conv_step("stdp_conv1d_step", torch.nn.grad.conv1d_weight, in_spike, out_spike, trace, weight, stride,
                      tau_pre, tau_post, f_pre, f_post)


def stdp_conv2d_step(in_spike, out_spike, trace, weight, *, stride, tau_pre: float, tau_post: float,
                     f_pre: Callable = _identity, f_post: Callable = _identity):
    """One STDP step of a Conv2d weight ``[C_out, C_in, K_h, K_w]`` (padded input, dilation 1, one group)."""
    return _conv_step("stdp_conv2d_step", torch.nn.grad.conv2d_weight, in_spike, out_spike, trace, weight, stride,
                      tau_pre, tau_post, f_pre, f_post)


def mstdp_linear_step(in_spike, out_spike, trace, weight, *, tau_pre: float, tau_post: float,
                      f_pre: Callable = _identity, f_post: Callable = _identity):
    """One mSTDP eligibility step: ``(eligibility [N, out, in], STDPTrace)`` (exponential traces)."""
    _check("mstdp_linear_step", in_spike, out_spike, trace, weight, tau_pre, tau_post, 0.0, True)
    pre, post = _exp(trace[0], in_spike, tau_pre), _exp(trace[1], out_spike, tau_post)
    e = f_post(weight) * torch.einsum("no,ni->noi", out_spike, pre) \
        - f_pre(weight) * torch.einsum("no,ni->noi", post, in_spike)
    return e, STDPTrace(pre, post)


def mstdpet_linear_step(in_spike, out_spike, trace, weight, *, tau_pre: float, tau_post: float,
                        f_pre: Callable = _identity, f_post: Callable = _identity):
    """One mSTDP-ET eligibility step on unbatched spikes: ``(eligibility [out, in], STDPTrace)``."""
    _check("mstdpet_linear_step", in_spike, out_spike, trace, weight, tau_pre, tau_post, 0.0, True)
    pre, post = _exp(trace[0], in_spike, tau_pre), _exp(trace[1], out_spike, tau_post)
    e = f_post(weight) * torch.outer(out_spike, pre) - f_pre(weight) * torch.outer(post, in_spike)
    return e, STDPTrace(pre, post)


def mstdpet_reward_step(reward, eligibility: torch.Tensor, trace_e: torch.Tensor, *, tau_trace: float):
    """``(delta_w, trace_e_next)`` with ``trace_e_next = trace_e exp(-1/tau) + e / tau``, ``delta_w = r trace_e_next``."""
    fn = "mstdpet_reward_step"
    check_tensor(fn, "eligibility", eligibility)
    check_tensor(fn, "trace_e", trace_e)
    if isinstance(tau_trace, bool) or not isinstance(tau_trace, (int, float)) or not math.isfinite(tau_trace) \
            or not tau_trace > 0:
        raise ValueError(f"{fn}: `tau_trace` must be a finite number > 0, got {tau_trace!r}.")
    nxt = trace_e * math.exp(-1.0 / tau_trace) + eligibility / tau_trace
    return reward * nxt, nxt
