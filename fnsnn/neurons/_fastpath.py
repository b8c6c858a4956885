"""Graph-free time scans of the IF, LIF and PLIF neurons in plain PyTorch.

The reference loop records an autograd graph per time step (each saving its
own tensors). Here one ``autograd.Function`` runs the forward loop without a
graph, saves only the charged potential ``H[t]`` (spikes and post-reset
potentials follow from it), and its backward is the reverse recurrence

    gH[t] = gS[t] σ'(H[t] - v_th) + gV[t] ∂V[t]/∂H[t],
    gX[t] = gH[t] ∂H/∂X,   gV[t-1] = gH[t] ∂H/∂V (+ the gradient of v_seq[t-1]),

with everything that does not depend on the carried gradient computed for a
block of steps at once. Forward operations follow the reference's order, so
spikes and states are identical to it; gradients agree to rounding.

``backend="auto"`` picks this path off CUDA when :func:`fast_unsupported` finds
nothing against it; ``backend="torch"`` always runs the reference loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from .. import surrogate as _sg
from ._base import ScanKernel

PARAM_NONE, PARAM_DIV, PARAM_MUL = 0, 1, 2
_CHUNK = 16  # time steps whose surrogate terms are computed together in the backward
_SUPPORTED = tuple(c for c in _sg.SURROGATES if c is not _sg.PoissonPass)


@dataclass(frozen=True)
class _Spec:
    param_mode: int
    decay_input: bool
    v_threshold: float
    v_reset: Optional[float]
    detach_reset: bool
    surrogate: Any
    store_v: bool


def _charge(x, v, p, base: float, spec: _Spec):
    """The reference charge, operation for operation."""
    if spec.param_mode == PARAM_NONE:
        return v + x
    leak = v if base == 0.0 else v - base
    if spec.param_mode == PARAM_DIV:
        return v + (x - leak) / p if spec.decay_input else v - leak / p + x
    return v + (x - leak) * p if spec.decay_input else v - leak * p + x


def _after_reset(h: Tensor, spec: _Spec) -> Tensor:
    """Post-reset potential; ``where`` equals ``S v_r + (1 - S) H`` / ``H - S v_th`` for binary ``S``."""
    z = h - spec.v_threshold
    if spec.v_reset is None:
        return torch.where(z >= 0, z, h)
    return torch.where(z >= 0, spec.v_reset, h)


def _dh(spec: _Spec, p):
    """``(∂H/∂V, ∂H/∂X)`` as numbers or tensors."""
    if spec.param_mode == PARAM_NONE:
        return 1.0, 1.0
    if spec.param_mode == PARAM_DIV:
        return 1.0 - 1.0 / p, (1.0 / p if spec.decay_input else 1.0)
    return 1.0 - p, (p if spec.decay_input else 1.0)


class _LeakyScan(torch.autograd.Function):
    """``(x_seq, v0, param) -> (spike_seq, v_seq or [0], h_seq, v_final)``; ``param`` is tau, k or unused."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x_seq: Tensor, v0: Tensor, param, spec: _Spec):
        base = 0.0 if spec.v_reset is None else spec.v_reset
        v = v0
        hs = []
        for x in x_seq.unbind(0):
            h = _charge(x, v, param, base, spec)
            hs.append(h)
            v = _after_reset(h, spec)
        h_seq = torch.stack(hs)
        del hs
        spikes = (h_seq >= spec.v_threshold).to(x_seq.dtype)
        v_seq = _after_reset(h_seq, spec) if spec.store_v else x_seq.new_empty(0)
        return spikes, v_seq, h_seq, v

    @staticmethod
    def setup_context(ctx, inputs, output):
        x_seq, v0, param, spec = inputs
        ctx.spec = spec
        ctx.param = None if isinstance(param, Tensor) else param
        tensors = (x_seq, output[2], v0) + ((param,) if isinstance(param, Tensor) else ())
        ctx.save_for_backward(*tensors)
        ctx.mark_non_differentiable(output[2])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spike, grad_v_seq, grad_h, grad_v_final):
        spec = ctx.spec
        x_seq, h_seq, v0, *rest = ctx.saved_tensors
        param = rest[0] if rest else ctx.param
        dh_dv, dh_dx = _dh(spec, param)
        T = h_seq.shape[0]
        gv = grad_v_final if grad_v_final is not None else torch.zeros_like(v0)
        if grad_spike is None:
            grad_spike = torch.zeros_like(h_seq)
        has_gvs = grad_v_seq is not None and grad_v_seq.numel() > 0
        ghs = [None] * T
        for stop in range(T, 0, -_CHUNK):
            start = max(stop - _CHUNK, 0)
            h = h_seq[start:stop]
            z = h - spec.v_threshold
            d = spec.surrogate.derivative(z)
            direct = grad_spike[start:stop] * d
            if spec.v_reset is not None:
                dv_dh = (z < 0).to(h.dtype)
                if not spec.detach_reset:
                    dv_dh = dv_dh + (spec.v_reset - h) * d
            else:
                dv_dh = None if spec.detach_reset else 1.0 - spec.v_threshold * d
            del z, d
            direct_t = direct.unbind(0)
            dv_dh_t = dv_dh.unbind(0) if dv_dh is not None else None
            gvs_t = grad_v_seq[start:stop].unbind(0) if has_gvs else None
            for i in range(stop - start - 1, -1, -1):
                if has_gvs:
                    gv = gv + gvs_t[i]
                gh = direct_t[i] + gv if dv_dh_t is None else torch.addcmul(direct_t[i], gv, dv_dh_t[i])
                ghs[start + i] = gh
                gv = gh * dh_dv
        gh_seq = torch.stack(ghs)
        del ghs
        grad_x = gh_seq * dh_dx if not isinstance(dh_dx, float) or dh_dx != 1.0 else gh_seq
        grad_param = None
        if rest and ctx.needs_input_grad[2]:
            grad_param = _param_grad(spec, gh_seq, x_seq, h_seq, v0, param)
        return grad_x, gv, grad_param, None


def _param_grad(spec: _Spec, gh_seq, x_seq, h_seq, v0, p):
    """``Σ_t gH[t] ∂H[t]/∂p`` reduced to ``p``'s shape."""
    base = 0.0 if spec.v_reset is None else spec.v_reset
    v_prev = torch.cat([v0.unsqueeze(0), _after_reset(h_seq[:-1], spec)]) - base
    if spec.param_mode == PARAM_DIV:
        dh_dp = -(x_seq - v_prev) / (p * p) if spec.decay_input else v_prev / (p * p)
    else:
        dh_dp = x_seq - v_prev if spec.decay_input else -v_prev
    return (gh_seq * dh_dp).sum(0).sum_to_size(p.shape)


def fast_unsupported(x_seq: Tensor, cfg: dict) -> Optional[str]:
    """``None`` if the graph-free scan can run this configuration, else the reason."""
    for name in ("v_threshold", "v_reset"):
        value = cfg[name]
        if value is not None and not isinstance(value, Real):
            return f"`{name}` is not a Python number"
    if type(cfg["surrogate_function"]) not in _SUPPORTED or not cfg["surrogate_function"].spiking:
        return "the surrogate is not a spiking fnsnn.surrogate function with a closed-form derivative"
    return None


def _spec(cfg: dict, param_mode: int, store_v: bool) -> _Spec:
    v_reset = cfg["v_reset"]
    return _Spec(param_mode, bool(cfg.get("decay_input", True)), float(cfg["v_threshold"]),
                 None if v_reset is None else float(v_reset), cfg["detach_reset"], cfg["surrogate_function"],
                 store_v)


def _runner(param_mode: int, param_of: Callable) -> Callable:
    def run(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
        spikes, v_seq, _, v = _LeakyScan.apply(x_seq, state.v, param_of(cfg), _spec(cfg, param_mode, return_v_seq))
        if return_v_seq:
            return spikes, type(state)(v), v_seq
        return spikes, type(state)(v)

    return run


if_fast_scan = _runner(PARAM_NONE, lambda cfg: 0.0)
lif_fast_scan = _runner(PARAM_DIV, lambda cfg: cfg["tau"])
plif_fast_scan = _runner(PARAM_MUL, lambda cfg: torch.sigmoid(cfg["w"]))


def triton_scan(name: str) -> ScanKernel:
    """The Triton scan ``fnsnn.kernels.<name>``, imported on first use (Triton is optional)."""

    def run(x_seq, state, cfg, return_v_seq):
        from .. import kernels

        return getattr(kernels, name)(x_seq, state, cfg, return_v_seq)

    def unsupported(x_seq, cfg):
        from .. import kernels

        return kernels.unsupported(x_seq, cfg)

    return ScanKernel(run, unsupported)


IF_KERNELS = {"triton": triton_scan("if_scan"), "fast": ScanKernel(if_fast_scan, fast_unsupported)}
LIF_KERNELS = {"triton": triton_scan("lif_scan"), "fast": ScanKernel(lif_fast_scan, fast_unsupported)}
PLIF_KERNELS = {"triton": triton_scan("plif_scan"), "fast": ScanKernel(plif_fast_scan, fast_unsupported)}
