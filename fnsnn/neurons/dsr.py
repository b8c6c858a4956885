"""DSR-IF (Meng et al. 2022, differentiation on spike representation): IF spikes forward, rate gradient backward.

Forward over ``x_seq`` ``[T, N, *]``: ``V = V + X``; ``S = [V >= alpha * V_th]``; ``V = V - S V_th``;
output ``S V_th``. Backward through the spike representation ``r = clamp(mean_t X, 0, V_th)``
(the firing rate times ``V_th``): ``dL/dX[t] = mean_t(dL/dY) * [0 <= mean_t X <= V_th]`` and
``dL/dV_th = g * sum over elements of sum_t(dL/dY) * [mean_t X > V_th]`` with the scaling ``g``.
``V_th`` is ``clamp(v_threshold, min=lower_bound)``.
"""

from __future__ import annotations

from typing import Union

import torch

from .._checks import check_number, check_seq

Number = Union[float, torch.Tensor]


class _DSRIF(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x_seq, v_threshold, alpha, grad_scale):
        v = torch.zeros_like(x_seq[0])
        out = []
        for x in x_seq.unbind(0):
            v = v + x
            s = (v >= alpha * v_threshold).to(x_seq.dtype)
            v = v - s * v_threshold
            out.append(s * v_threshold)
        return torch.stack(out)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x_seq, v_threshold, alpha, grad_scale = inputs
        ctx.save_for_backward(x_seq.mean(0), v_threshold)
        ctx.grad_scale = grad_scale

    @staticmethod
    def backward(ctx, g):
        mean_x, v_threshold = ctx.saved_tensors
        inside = ((mean_x >= 0) & (mean_x <= v_threshold)).to(g.dtype)
        g_x = (g.mean(0) * inside).unsqueeze(0).expand_as(g)
        above = (mean_x > v_threshold).to(g.dtype)
        g_th = (ctx.grad_scale * g.sum(0) * above).sum_to_size(v_threshold.shape)
        return g_x, g_th, None, None


def dsr_if_multi_step(x_seq: torch.Tensor, v_threshold: Number, *, alpha: float = 0.5,
                      v_threshold_grad_scaling: float = 1.0, v_threshold_lower_bound: float = 0.01) -> torch.Tensor:
    """The DSR-IF neuron over ``x_seq`` ``[T, N, *]`` from rest (equations in the module docstring).

    Args:
        x_seq: input sequence, floating point.
        v_threshold: ``V_th`` before the lower bound, a float or a (learnable) tensor broadcastable to one step.
        alpha: firing happens at ``alpha * V_th``.
        v_threshold_grad_scaling: factor ``g`` of the threshold's gradient.
        v_threshold_lower_bound: ``V_th`` is clamped to at least this.

    Returns:
        ``[T, N, *]`` outputs in ``{0, V_th}``.
    """
    fn = "dsr_if_multi_step"
    check_seq(fn, "x_seq", x_seq)
    for name, value in (("v_threshold", v_threshold), ("alpha", alpha),
                        ("v_threshold_grad_scaling", v_threshold_grad_scaling),
                        ("v_threshold_lower_bound", v_threshold_lower_bound)):
        check_number(fn, name, value, allow_tensor=name == "v_threshold")
    th = v_threshold if isinstance(v_threshold, torch.Tensor) else torch.tensor(float(v_threshold))
    th = torch.clamp(th.to(dtype=x_seq.dtype, device=x_seq.device), min=float(v_threshold_lower_bound))
    return _DSRIF.apply(x_seq, th, float(alpha), float(v_threshold_grad_scaling))


def _rate_weights(T: int, tau: float, delta_t: float, like: torch.Tensor) -> torch.Tensor:
    """``w_t = lam^(T-1-t) / sum_k lam^k`` with ``lam = exp(-delta_t / tau)``, shaped ``[T, 1, ..., 1]``."""
    lam = torch.exp(torch.tensor(-delta_t / tau, dtype=like.dtype, device=like.device))
    w = lam ** torch.arange(T - 1, -1, -1, dtype=like.dtype, device=like.device)
    return (w / w.sum()).view(T, *([1] * (like.dim() - 1)))


class _DSRLIF(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x_seq, v_threshold, tau, delta_t, alpha, grad_scale):
        decay = torch.exp(torch.tensor(-delta_t / tau, dtype=x_seq.dtype, device=x_seq.device))
        v = torch.zeros_like(x_seq[0])
        out = []
        for x in x_seq.unbind(0):
            v = v * decay + x * (1 - decay)
            s = (v >= alpha * v_threshold).to(x_seq.dtype)
            v = v - s * v_threshold
            out.append(s * v_threshold / delta_t)
        return torch.stack(out)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x_seq, v_threshold, tau, delta_t, alpha, grad_scale = inputs
        w = _rate_weights(x_seq.shape[0], tau, delta_t, x_seq)
        ctx.save_for_backward((w * x_seq).sum(0), v_threshold)
        ctx.tau, ctx.delta_t, ctx.grad_scale, ctx.T = tau, delta_t, grad_scale, x_seq.shape[0]

    @staticmethod
    def backward(ctx, g):
        weighted_x, v_threshold = ctx.saved_tensors
        w = _rate_weights(ctx.T, ctx.tau, ctx.delta_t, g)
        g_rate = (w * g).sum(0)
        top = ctx.tau * v_threshold / ctx.delta_t
        inside = ((weighted_x > 0) & (weighted_x < top)).to(g.dtype)
        g_x = (g_rate * inside / ctx.tau).unsqueeze(0).expand_as(g)
        above = (weighted_x >= top).to(g.dtype)
        g_th = (ctx.grad_scale * ctx.T * ctx.delta_t * g_rate * above).sum_to_size(v_threshold.shape)
        return g_x, g_th, None, None, None, None


def dsr_lif_multi_step(x_seq: torch.Tensor, v_threshold: Number, *, tau: float = 2.0, delta_t: float = 0.05,
                       alpha: float = 0.3, v_threshold_grad_scaling: float = 1.0,
                       v_threshold_lower_bound: float = 0.1) -> torch.Tensor:
    """The DSR-LIF neuron over ``x_seq`` ``[T, N, *]`` from rest.

    Forward, with ``lam = exp(-delta_t / tau)``: ``V = lam V + (1 - lam) X``; ``S = [V >= alpha V_th]``;
    ``V = V - S V_th``; output ``S V_th / delta_t``. Backward through the weighted rate: with
    ``w_t = lam^(T-1-t) / sum_k lam^k``, ``u = sum_t w_t X[t]`` and ``G = sum_t w_t dL/dY[t]``:
    ``dL/dX[t] = G / tau * [0 < u < tau V_th / delta_t]`` and
    ``dL/dV_th = g T delta_t * sum of G * [u >= tau V_th / delta_t]``; ``V_th = clamp(v_threshold, lower_bound)``.
    """
    fn = "dsr_lif_multi_step"
    check_seq(fn, "x_seq", x_seq)
    for name, value in (("v_threshold", v_threshold), ("tau", tau), ("delta_t", delta_t), ("alpha", alpha),
                        ("v_threshold_grad_scaling", v_threshold_grad_scaling),
                        ("v_threshold_lower_bound", v_threshold_lower_bound)):
        check_number(fn, name, value, allow_tensor=name == "v_threshold")
    if not tau > 0 or not delta_t > 0:
        raise ValueError(f"{fn}: `tau` and `delta_t` must be > 0, got tau={tau!r}, delta_t={delta_t!r}.")
    th = v_threshold if isinstance(v_threshold, torch.Tensor) else torch.tensor(float(v_threshold))
    th = torch.clamp(th.to(dtype=x_seq.dtype, device=x_seq.device), min=float(v_threshold_lower_bound))
    return _DSRLIF.apply(x_seq, th, float(tau), float(delta_t), float(alpha), float(v_threshold_grad_scaling))
