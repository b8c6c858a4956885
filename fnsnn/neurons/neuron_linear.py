"""A spiking neuron followed by a Linear layer, without keeping the spikes for the backward.

``y[t] = S[t] @ W + b`` where ``S[t]`` are the spikes of an IF/LIF neuron driven
by ``x[t]``. Autograd of ``lif_multi_step`` followed by ``F.linear`` keeps every
spike and every intermediate of the neuron for the backward, several
``[T, *, K]`` tensors. Here the forward keeps only its inputs; the backward
recomputes the membrane potentials segment by segment (checkpoints every
``ceil(sqrt(T))`` steps) and runs the exact reverse-time recursion one step at
a time through the neuron's own step function, so gradients equal those of the
unfused pair and the extra memory is ``O(sqrt(T))`` time steps.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from .._checks import check_tensor
from ._base import check_firing
from .integrate_fire import IFState, if_step
from .lif import LIFState, _lif_config, lif_step


class _NeuronLinear(torch.autograd.Function):
    """(x_seq, v0, weight_t, bias) -> (y_seq, v_final); the neuron is ``step(x, v) -> (spike, v)``."""

    @staticmethod
    def forward(x_seq, v0, weight_t, bias, step):
        ys = []
        v = v0
        for x in x_seq.unbind(0):
            spike, v = step(x, v)
            y = spike @ weight_t
            ys.append(y if bias is None else y + bias)
        return torch.stack(ys), v

    @staticmethod
    def setup_context(ctx, inputs, output):
        x_seq, v0, weight_t, bias, step = inputs
        ctx.save_for_backward(x_seq, v0, weight_t)
        ctx.step = step
        ctx.has_bias = bias is not None

    @staticmethod
    def backward(ctx, g_y, g_v):
        x_seq, v0, weight_t = ctx.saved_tensors
        step = ctx.step
        T = x_seq.shape[0]
        seg = max(1, math.ceil(math.sqrt(T)))
        # checkpoints: the potential before steps 0, seg, 2 seg, ...
        marks = []
        with torch.no_grad():
            v = v0
            for t in range(T):
                if t % seg == 0:
                    marks.append(v)
                v = step(x_seq[t], v)[1]
        g_v = torch.zeros_like(v0) if g_v is None else g_v
        g_x = [None] * T
        g_w = torch.zeros_like(weight_t)
        w_t = weight_t.detach()
        for s in reversed(range(len(marks))):
            start, stop = s * seg, min((s + 1) * seg, T)
            before = [marks[s]]
            with torch.no_grad():
                for t in range(start, stop - 1):
                    before.append(step(x_seq[t], before[-1])[1])
            for t in reversed(range(start, stop)):
                with torch.enable_grad():
                    x = x_seq[t].detach().requires_grad_(True)
                    v_in = before[t - start].detach().requires_grad_(True)
                    spike, v_out = step(x, v_in)
                    g_spike = g_y[t] @ w_t.transpose(0, 1)
                    g_x[t], g_v = torch.autograd.grad((spike, v_out), (x, v_in), (g_spike, g_v))
                s_flat = spike.detach().reshape(-1, spike.shape[-1])
                g_w = g_w + s_flat.transpose(0, 1) @ g_y[t].reshape(-1, g_y.shape[-1])
            del before
        g_b = g_y.reshape(-1, g_y.shape[-1]).sum(0) if ctx.has_bias else None
        return torch.stack(g_x), g_v, g_w, g_b, None


def _check(fn: str, x: torch.Tensor, v: torch.Tensor, weight_t: torch.Tensor, bias: Optional[torch.Tensor],
           time_major: bool):
    check_tensor(fn, "x", x)
    check_tensor(fn, "v", v)
    check_tensor(fn, "weight_t", weight_t)
    if not isinstance(time_major, bool):
        raise TypeError(f"{fn}: `time_major` must be a bool, got {time_major!r}.")
    if x.dim() < (2 if time_major else 1) or (time_major and x.shape[0] == 0):
        want = "[T, *, K] with T > 0" if time_major else "[*, K]"
        raise ValueError(f"{fn}: `x` must be {want}, got shape {tuple(x.shape)}.")
    step_shape = tuple(x.shape[1:] if time_major else x.shape)
    if tuple(v.shape) != step_shape:
        raise ValueError(f"{fn}: `v` has shape {tuple(v.shape)} but one time step of `x` is {step_shape}.")
    if weight_t.dim() != 2 or weight_t.shape[0] != x.shape[-1]:
        raise ValueError(f"{fn}: `weight_t` must be the transposed weight [K, N] with K = x.shape[-1] = "
                         f"{x.shape[-1]}, got shape {tuple(weight_t.shape)}.")
    if bias is not None:
        check_tensor(fn, "bias", bias)
        if tuple(bias.shape) != (weight_t.shape[1],):
            raise ValueError(f"{fn}: `bias` must have shape [N] = ({weight_t.shape[1]},), got {tuple(bias.shape)}.")
    for name, t in (("v", v), ("weight_t", weight_t), ("bias", bias)):
        if t is not None and (t.dtype != x.dtype or t.device != x.device):
            raise ValueError(f"{fn}: `{name}` is {t.dtype} on {t.device} but `x` is {x.dtype} on {x.device}; "
                             f"cast them to agree.")


def _run(fn: str, x, v, weight_t, bias, step: Callable, single: bool):
    x_seq = x.unsqueeze(0) if single else x
    y, v_final = _NeuronLinear.apply(x_seq, v, weight_t, bias, step)
    return (y[0] if single else y), v_final


def lif_linear(x: torch.Tensor, v: torch.Tensor, weight_t: torch.Tensor, bias: Optional[torch.Tensor] = None, *,
               tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
               v_reset: Optional[float] = 0.0, detach_reset: bool = False,
               surrogate_function: Optional[Callable] = None, time_major: bool = True):
    """LIF neuron (:func:`fnsnn.lif_step`) followed by ``spike @ weight_t + bias``, spikes not kept.

    Args:
        x: ``[T, *, K]`` input sequence (``time_major=True``) or one step ``[*, K]`` (``time_major=False``).
        v: initial potential ``[*, K]``; not modified.
        weight_t: the transposed weight ``[K, N]``.
        bias: ``[N]`` or None.
        tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function: as :func:`fnsnn.lif_step`.

    Returns:
        ``(y, v_final)`` with ``y`` ``[T, *, N]`` (or ``[*, N]``). First-order gradients only; the
        backward recomputes the spikes (see the module docstring).
    """
    fn = "lif_linear"
    _check(fn, x, v, weight_t, bias, time_major)
    cfg = dict(tau=tau, decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset,
               detach_reset=detach_reset, surrogate_function=surrogate_function)
    _lif_config(fn, **cfg)

    def step(x_t, v_t):
        spike, st = lif_step(x_t, LIFState(v_t), **cfg)
        return spike, st.v

    return _run(fn, x, v, weight_t, bias, step, single=not time_major)


def if_linear(x: torch.Tensor, v: torch.Tensor, weight_t: torch.Tensor, bias: Optional[torch.Tensor] = None, *,
              v_threshold: float = 1.0, v_reset: Optional[float] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None, time_major: bool = True):
    """IF neuron (:func:`fnsnn.if_step`) followed by ``spike @ weight_t + bias``; as :func:`lif_linear`."""
    fn = "if_linear"
    _check(fn, x, v, weight_t, bias, time_major)
    cfg = dict(v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
               surrogate_function=surrogate_function)
    check_firing(fn, **cfg)

    def step(x_t, v_t):
        spike, st = if_step(x_t, IFState(v_t), **cfg)
        return spike, st.v

    return _run(fn, x, v, weight_t, bias, step, single=not time_major)
