"""Triton scans of the QIF, EIF, KLIF, CUBA-LIF, Izhikevich and CLIF neurons: forward and backward, one launch each.

Each neuron charges ``H`` from its state ``V`` (and ``U``, a second state) and
input with up to seven numeric parameters ``p0..p6`` (a 0-dim tensor or one
value per element):

    QIF   (tau, v_c, a0, v_rest):          H = V + (X + a0 (V - v_rest)(V - v_c)) / tau
    EIF   (tau, delta_T, theta_rh, v_rest): H = V + (X + v_rest - V + delta_T exp((V - theta_rh) / delta_T)) / tau
    KLIF  (tau, k):                         L = the LIF charge of V and X,  H = relu(k L)
    CUBA  (c_decay, v_decay):               U' = U c_decay + X,  H = V v_decay + U'
    Izhikevich (tau, v_c, a0, v_rest, tau_w, a, b):
                                            H = V + (X + a0 (V - v_rest)(V - v_c) - U) / tau,
                                            U' = U + (a (H - v_rest) - U) / tau_w + b S
    CLIF  (tau):                            H = V - V / tau + X,  U' = U sigmoid(H / tau) + S,
                                            V' = H - S (v_th + sigmoid(U'))

then ``S = Θ(H - v_th)`` and the hard or soft reset (KLIF with ``scale_reset``
resets ``H / k`` against ``v_th / k``; CLIF's reset is its own). The forward
saves ``H`` (``L`` for KLIF) and, with a second state, ``U'``; the backward
walks time in reverse:

    gH[t] = gS[t] σ'(H[t] - v_th) + gV[t] ∂V[t]/∂H[t]
    gX[t] = gH[t] ∂H/∂X,   gV[t-1] = gH[t] ∂H/∂V (+ the gradient of v_seq[t-1])

and accumulates ``Σ_t gH[t] ∂H[t]/∂p_i`` per element for every parameter.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from ..neurons._fastpath_charge import CLIF, CUBA, EIF, IZHIKEVICH, KLIF, PARAMS, QIF
from ._surrogate import surrogate_derivative
from .leaky import (
    PARAM_ARG,
    SEQ,
    VEC,
    _acc,
    _consts,
    _flat_param,
    _launch_opts,
    _make_vmap,
    _param_stride,
    _static,
    saved_dtype,
)
from .leaky import unsupported as _firing_unsupported

# The kernels' ``NEURON`` codes QIF..CLIF = 0..5 (CUBA and later ones carry a second state ``U``) and
# each neuron's parameters come from the CPU fast scan; the kernels below spell the codes as numbers.
N_PARAMS = 7


@triton.jit
def _div(a, b, IS64: tl.constexpr):
    if IS64:
        q = a / b
    else:
        q = tl.math.div_rn(a, b)
    return q


@triton.jit
def _charge(x, v, c, p0, p1, p2, p3, base, NEURON: tl.constexpr, DECAY: tl.constexpr, IS64: tl.constexpr):
    """The saved charge (``H``, or ``L`` for KLIF) and CUBA's new current (other neurons: ``c`` unchanged)."""
    if NEURON == 4:
        h = v + _div(x + p2 * (v - p3) * (v - p1) - c, p0, IS64)
    elif NEURON == 5:
        h = v - _div(v, p0, IS64) + x
    elif NEURON == 0:
        h = v + _div(x + p2 * (v - p3) * (v - p1), p0, IS64)
    elif NEURON == 1:
        h = v + _div(x + p3 - v + p1 * tl.exp(_div(v - p2, p1, IS64)), p0, IS64)
    elif NEURON == 2:
        if DECAY:
            h = v + _div(x - (v - base), p0, IS64)
        else:
            h = v - _div(v - base, p0, IS64) + x
    else:
        c = c * p0 + x
        h = v * p1 + c
    return h, c


@triton.jit
def _fire_reset(hs, k, v_th, v_reset, NEURON: tl.constexpr, HARD: tl.constexpr, SCALE: tl.constexpr,
                IS64: tl.constexpr):
    """From the saved charge: the fired potential ``H``, the spike and the reset ``V``."""
    if NEURON == 2:
        h = tl.maximum(k * hs, 0.0)
    else:
        h = hs
    spike = (h - v_th) >= 0
    hr = h
    th = v_th + 0.0 * h
    if NEURON == 2:
        if SCALE:
            hr = _div(h, k, IS64)
            th = _div(th, k, IS64)
    if HARD:
        v = tl.where(spike, v_reset, hr)
    else:
        v = hr - spike.to(hr.dtype) * th
    return h, spike, v


@triton.jit
def _charge_fwd_kernel(x_ptr, v0_ptr, c0_ptr, p0_ptr, p1_ptr, p2_ptr, p3_ptr, p4_ptr, p5_ptr, p6_ptr,
                       st0, st1, st2, st3, st4, st5, st6, c_ptr,
                       s_ptr, vs_ptr, h_ptr, aux_ptr, vT_ptr, cT_ptr, M, T,
                       NEURON: tl.constexpr, DECAY: tl.constexpr, HARD: tl.constexpr, SCALE: tl.constexpr,
                       STORE_V: tl.constexpr, IS64: tl.constexpr, BLOCK: tl.constexpr):
    ACC = tl.float64 if IS64 else tl.float32
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    v_th = tl.load(c_ptr)
    v_reset = tl.load(c_ptr + 1)
    base = v_reset if HARD else v_reset * 0.0
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(ACC)
    c = tl.load(c0_ptr + offs, mask=mask, other=0.0).to(ACC)
    p0 = tl.load(p0_ptr + offs * st0, mask=mask, other=1.0).to(ACC)
    p1 = tl.load(p1_ptr + offs * st1, mask=mask, other=1.0).to(ACC)
    p2 = tl.load(p2_ptr + offs * st2, mask=mask, other=1.0).to(ACC)
    p3 = tl.load(p3_ptr + offs * st3, mask=mask, other=1.0).to(ACC)
    p4 = tl.load(p4_ptr + offs * st4, mask=mask, other=1.0).to(ACC)
    p5 = tl.load(p5_ptr + offs * st5, mask=mask, other=1.0).to(ACC)
    p6 = tl.load(p6_ptr + offs * st6, mask=mask, other=1.0).to(ACC)
    xp, sp, hp, ap, vp = x_ptr + offs, s_ptr + offs, h_ptr + offs, aux_ptr + offs, vs_ptr + offs
    for _ in range(T):
        x = tl.load(xp, mask=mask, other=0.0).to(ACC)
        hs, c = _charge(x, v, c, p0, p1, p2, p3, base, NEURON, DECAY, IS64)
        if NEURON == 5:
            spike = (hs - v_th) >= 0
            c = c * tl.sigmoid(_div(hs, p0, IS64)) + spike.to(ACC)
            v = hs - spike.to(ACC) * (v_th + tl.sigmoid(c))
        else:
            h, spike, v = _fire_reset(hs, p1, v_th, v_reset, NEURON, HARD, SCALE, IS64)
        if NEURON == 4:
            c = c + _div(p5 * (h - p3) - c, p4, IS64) + p6 * spike.to(ACC)
        tl.store(sp, spike.to(ACC).to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(hp, hs.to(h_ptr.dtype.element_ty), mask=mask)
        if NEURON >= 3:
            tl.store(ap, c.to(aux_ptr.dtype.element_ty), mask=mask)
        if STORE_V:
            tl.store(vp, v.to(vs_ptr.dtype.element_ty), mask=mask)
        xp += M
        sp += M
        hp += M
        ap += M
        vp += M
    tl.store(vT_ptr + offs, v.to(vT_ptr.dtype.element_ty), mask=mask)
    if NEURON >= 3:
        tl.store(cT_ptr + offs, c.to(cT_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _charge_bwd_kernel(gs_ptr, gvs_ptr, gvT_ptr, gcT_ptr, x_ptr, h_ptr, aux_ptr, v0_ptr, c0_ptr,
                       p0_ptr, p1_ptr, p2_ptr, p3_ptr, p4_ptr, p5_ptr, p6_ptr,
                       st0, st1, st2, st3, st4, st5, st6, c_ptr,
                       gx_ptr, gv0_ptr, gc0_ptr, gp_ptr, M, T, last,
                       NEURON: tl.constexpr, DECAY: tl.constexpr, HARD: tl.constexpr, SCALE: tl.constexpr,
                       DETACH: tl.constexpr, HAS_GVS: tl.constexpr, NEED_GP: tl.constexpr, SG: tl.constexpr,
                       SG_N: tl.constexpr, IS64: tl.constexpr, BLOCK: tl.constexpr):
    ACC = tl.float64 if IS64 else tl.float32
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    v_th = tl.load(c_ptr)
    v_reset = tl.load(c_ptr + 1)
    sg_a = tl.load(c_ptr + 2)
    sg_b = tl.load(c_ptr + 3)
    base = v_reset if HARD else v_reset * 0.0
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(ACC)
    p0 = tl.load(p0_ptr + offs * st0, mask=mask, other=1.0).to(ACC)
    p1 = tl.load(p1_ptr + offs * st1, mask=mask, other=1.0).to(ACC)
    p2 = tl.load(p2_ptr + offs * st2, mask=mask, other=1.0).to(ACC)
    p3 = tl.load(p3_ptr + offs * st3, mask=mask, other=1.0).to(ACC)
    p4 = tl.load(p4_ptr + offs * st4, mask=mask, other=1.0).to(ACC)
    p5 = tl.load(p5_ptr + offs * st5, mask=mask, other=1.0).to(ACC)
    p6 = tl.load(p6_ptr + offs * st6, mask=mask, other=1.0).to(ACC)
    gv = tl.load(gvT_ptr + offs, mask=mask, other=0.0).to(ACC)
    gc = tl.zeros([BLOCK], dtype=ACC)
    c0 = gc
    c_cur = gc
    if NEURON >= 3:
        gc = tl.load(gcT_ptr + offs, mask=mask, other=0.0).to(ACC)
        c0 = tl.load(c0_ptr + offs, mask=mask, other=0.0).to(ACC)
        c_cur = tl.load(aux_ptr + last + offs, mask=mask, other=0.0).to(ACC)
    g0 = tl.zeros([BLOCK], dtype=ACC)
    g1 = tl.zeros([BLOCK], dtype=ACC)
    g2 = tl.zeros([BLOCK], dtype=ACC)
    g3 = tl.zeros([BLOCK], dtype=ACC)
    g4 = tl.zeros([BLOCK], dtype=ACC)
    g5 = tl.zeros([BLOCK], dtype=ACC)
    g6 = tl.zeros([BLOCK], dtype=ACC)
    # pointers to step t, walking back from the last step
    gsp, gvp, xp, gxp = gs_ptr + last + offs, gvs_ptr + last + offs, x_ptr + last + offs, gx_ptr + last + offs
    hp, ap = h_ptr + last + offs, aux_ptr + last + offs
    hs = tl.load(hp, mask=mask, other=0.0).to(ACC)
    for i in range(T):
        t = T - 1 - i
        if HAS_GVS:
            gv += tl.load(gvp, mask=mask, other=0.0).to(ACC)
        has_prev = (offs * 0 + t) > 0
        prev = mask & has_prev
        hp -= M
        ap -= M
        hs_prev = tl.load(hp, mask=prev, other=0.0).to(ACC)
        c_prev = c0
        if NEURON >= 3:
            c_prev = tl.where(has_prev, tl.load(ap, mask=prev, other=0.0).to(ACC), c0)
        if NEURON == 5:
            v_after = hs_prev - ((hs_prev - v_th) >= 0).to(ACC) * (v_th + tl.sigmoid(c_prev))
        else:
            _, _, v_after = _fire_reset(hs_prev, p1, v_th, v_reset, NEURON, HARD, SCALE, IS64)
        v = tl.where(has_prev, v_after, v0)
        h, spike_b, _ = _fire_reset(hs, p1, v_th, v_reset, NEURON, HARD, SCALE, IS64)
        spike = spike_b.to(ACC)
        d = surrogate_derivative(h - v_th, sg_a, sg_b, SG, SG_N).to(ACC)
        g_s = tl.load(gsp, mask=mask, other=0.0).to(ACC)
        # ∂V/∂H through the reset (KLIF with scale_reset resets H / k against v_th / k)
        k_r = 1.0
        if NEURON == 2:
            if SCALE:
                k_r = p1
        if HARD:
            dv_dh = (1.0 - spike) / k_r
            if not DETACH:
                dv_dh += (v_reset - h / k_r) * d
        else:
            dv_dh = 1.0 / k_r + 0.0 * h
            if not DETACH:
                dv_dh -= (v_th / k_r) * d
        gh = g_s * d + gv * dv_dh
        x = tl.load(xp, mask=mask, other=0.0).to(ACC)
        if NEURON == 5:
            sm = tl.sigmoid(c_cur)
            sh = tl.sigmoid(h / p0)
            dsh = sh * (1.0 - sh)
            gm = gc - gv * spike * sm * (1.0 - sm)
            gh = g_s * d + gv * (1.0 - d * (v_th + sm)) + gm * (c_prev * dsh / p0 + d)
            gx = gh
            if NEED_GP:
                g0 += (gh * v - gm * c_prev * dsh * h) / (p0 * p0)
            gc = gm * sh
            gv = gh * (1.0 - 1.0 / p0)
        elif NEURON == 4:
            gh += gc * (p5 / p4 + p6 * d)
            gx = gh / p0
            if NEED_GP:
                g0 -= gh * (x + p2 * (v - p3) * (v - p1) - c_prev) / (p0 * p0)
                g1 -= gh * p2 * (v - p3) / p0
                g2 += gh * (v - p3) * (v - p1) / p0
                g3 -= gh * p2 * (v - p1) / p0 + gc * p5 / p4
                g4 -= gc * (p5 * (h - p3) - c_prev) / (p4 * p4)
                g5 += gc * (h - p3) / p4
                g6 += gc * spike
            gv = gh * (1.0 + p2 * ((v - p1) + (v - p3)) / p0)
            gc = gc * (1.0 - 1.0 / p4) - gh / p0
        elif NEURON == 0:
            gx = gh / p0
            gv = gh * (1.0 + p2 * ((v - p1) + (v - p3)) / p0)
            if NEED_GP:
                g0 -= gh * (x + p2 * (v - p3) * (v - p1)) / (p0 * p0)
                g1 -= gh * p2 * (v - p3) / p0
                g2 += gh * (v - p3) * (v - p1) / p0
                g3 -= gh * p2 * (v - p1) / p0
        elif NEURON == 1:
            e = tl.exp((v - p2) / p1)
            gx = gh / p0
            gv = gh * (1.0 + (e - 1.0) / p0)
            if NEED_GP:
                g0 -= gh * (x + p3 - v + p1 * e) / (p0 * p0)
                g1 += gh * e * (1.0 - (v - p2) / p1) / p0
                g2 -= gh * e / p0
                g3 += gh / p0
        elif NEURON == 2:
            relu = (h > 0).to(ACC)
            gl = gh * p1 * relu
            if DECAY:
                gx = gl / p0
            else:
                gx = gl
            if NEED_GP:
                if DECAY:
                    g0 -= gl * (x - (v - base)) / (p0 * p0)
                else:
                    g0 += gl * (v - base) / (p0 * p0)
                g1 += gh * hs * relu
                if SCALE:  # the reset's own dependence on k
                    if HARD:
                        g1 -= gv * (1.0 - spike) * h / (p1 * p1)
                    else:
                        g1 -= gv * (h - spike * v_th) / (p1 * p1)
            gv = gl * (1.0 - 1.0 / p0)
        else:
            gc = gc + gh
            gx = gc
            if NEED_GP:
                g0 += gc * c_prev
                g1 += gh * v
            gc = gc * p0
            gv = gh * p1
        tl.store(gxp, gx.to(gx_ptr.dtype.element_ty), mask=mask)
        gsp -= M
        gvp -= M
        xp -= M
        gxp -= M
        hs = hs_prev
        c_cur = c_prev
    tl.store(gv0_ptr + offs, gv.to(gv0_ptr.dtype.element_ty), mask=mask)
    if NEURON >= 3:
        tl.store(gc0_ptr + offs, gc.to(gc0_ptr.dtype.element_ty), mask=mask)
    if NEED_GP:
        tl.store(gp_ptr + offs, g0, mask=mask)
        tl.store(gp_ptr + M + offs, g1, mask=mask)
        tl.store(gp_ptr + 2 * M + offs, g2, mask=mask)
        tl.store(gp_ptr + 3 * M + offs, g3, mask=mask)
        tl.store(gp_ptr + 4 * M + offs, g4, mask=mask)
        tl.store(gp_ptr + 5 * M + offs, g5, mask=mask)
        tl.store(gp_ptr + 6 * M + offs, g6, mask=mask)


# --------------------------------------------------------------------------- #
# custom ops
# --------------------------------------------------------------------------- #


def _strides(M: int, *params: Tensor):
    return [_param_stride(p, M) for p in params]


@torch.library.custom_op("fnsnn::charge_scan_fwd", mutates_args=())
def charge_scan_fwd(x_seq: Tensor, v0: Tensor, c0: Tensor, p0: Tensor, p1: Tensor, p2: Tensor, p3: Tensor,
                    p4: Tensor, p5: Tensor, p6: Tensor, store_v: bool, v_threshold: float, v_reset: float, hard_reset: bool, neuron: int,
                    decay_input: bool, detach_reset: bool, sg_code: int, sg_a: float, sg_b: float, sg_n: int,
                    scale_reset: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Forward scan over ``x_seq [T, M]`` of neuron ``neuron`` (one of the codes above).

    Returns ``(spike_seq, v_seq or [0], saved charge, saved second state or [0], v_final, u_final or [0])``;
    ``c0`` (the second state ``U``) and its outputs matter to CUBA, Izhikevich and CLIF only.
    """
    T, M = x_seq.shape
    two = neuron >= CUBA
    x_seq, v0, c0 = x_seq.contiguous(), v0.contiguous(), c0.contiguous()
    params = [p.contiguous() for p in (p0, p1, p2, p3, p4, p5, p6)]
    spikes = torch.empty_like(x_seq)
    h_seq = torch.empty(x_seq.shape, dtype=saved_dtype(x_seq.dtype), device=x_seq.device)
    aux = torch.empty_like(h_seq) if two else h_seq.new_empty(0)
    v_seq = torch.empty_like(x_seq) if store_v else x_seq.new_empty(0)
    v_final = torch.empty_like(v0)
    c_final = torch.empty_like(c0) if two else c0.new_empty(0)
    block, opts = _launch_opts(x_seq)
    if M > 0:
        _charge_fwd_kernel[(triton.cdiv(M, block),)](
            x_seq, v0, c0, *params, *_strides(M, *params), _consts(x_seq, v_threshold, v_reset),
            spikes, v_seq if store_v else spikes, h_seq, aux if two else h_seq, v_final,
            c_final if two else v_final, M, T, NEURON=neuron, DECAY=decay_input, HARD=hard_reset,
            SCALE=scale_reset, STORE_V=store_v, IS64=x_seq.dtype == torch.float64, BLOCK=block, **opts)
    return spikes, v_seq, h_seq, aux, v_final, c_final


@charge_scan_fwd.register_fake
def _(x_seq, v0, c0, p0, p1, p2, p3, p4, p5, p6, store_v, v_threshold, v_reset, hard_reset, neuron, *static):
    two = neuron >= CUBA
    h_seq = x_seq.new_empty(x_seq.shape, dtype=saved_dtype(x_seq.dtype))
    aux = torch.empty_like(h_seq) if two else h_seq.new_empty(0)
    v_seq = torch.empty_like(x_seq) if store_v else x_seq.new_empty(0)
    c_final = torch.empty_like(c0) if two else c0.new_empty(0)
    return torch.empty_like(x_seq), v_seq, h_seq, aux, torch.empty_like(v0), c_final


@torch.library.custom_op("fnsnn::charge_scan_bwd", mutates_args=())
def charge_scan_bwd(grad_spike: Tensor, grad_v_seq: Tensor, grad_v_final: Tensor, grad_c_final: Tensor,
                    x_seq: Tensor, h_seq: Tensor, aux_seq: Tensor, v0: Tensor, c0: Tensor, p0: Tensor,
                    p1: Tensor, p2: Tensor, p3: Tensor, p4: Tensor, p5: Tensor, p6: Tensor,
                    need_param_grad: bool, v_threshold: float, v_reset: float, hard_reset: bool, neuron: int,
                    decay_input: bool, detach_reset: bool, sg_code: int, sg_a: float, sg_b: float, sg_n: int,
                    scale_reset: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                Tensor, Tensor]:
    """Backward scan; returns ``(grad_x_seq, grad_v0, grad_c0 or [0], per-element grads of p0..p6 ([M] or [0]))``."""
    T, M = x_seq.shape
    two = neuron >= CUBA
    has_gvs = grad_v_seq.numel() > 0
    grad_spike, grad_v_final, grad_c_final = (g.contiguous() for g in (grad_spike, grad_v_final, grad_c_final))
    grad_v_seq = grad_v_seq.contiguous() if has_gvs else grad_spike
    x_seq, h_seq, v0, c0 = x_seq.contiguous(), h_seq.contiguous(), v0.contiguous(), c0.contiguous()
    aux_seq = aux_seq.contiguous() if two else h_seq
    params = [p.contiguous() for p in (p0, p1, p2, p3, p4, p5, p6)]
    grad_x = torch.empty_like(x_seq)
    grad_v0 = torch.empty_like(v0)
    grad_c0 = torch.empty_like(c0) if two else c0.new_empty(0)
    grad_p = x_seq.new_empty((N_PARAMS, M if need_param_grad else 0), dtype=_acc(x_seq.dtype))
    block, opts = _launch_opts(x_seq)
    if M > 0:
        _charge_bwd_kernel[(triton.cdiv(M, block),)](
            grad_spike, grad_v_seq, grad_v_final, grad_c_final, x_seq, h_seq, aux_seq, v0, c0,
            *params, *_strides(M, *params), _consts(x_seq, v_threshold, v_reset, sg_a, sg_b),
            grad_x, grad_v0, grad_c0 if two else grad_v0, grad_p if need_param_grad else grad_v0, M, T,
            (T - 1) * M,
            NEURON=neuron, DECAY=decay_input, HARD=hard_reset, SCALE=scale_reset, DETACH=detach_reset,
            HAS_GVS=has_gvs, NEED_GP=need_param_grad, SG=sg_code, SG_N=sg_n,
            IS64=x_seq.dtype == torch.float64, BLOCK=block, **opts)
    return (grad_x, grad_v0, grad_c0) + tuple(g.clone() for g in grad_p.unbind(0))


@charge_scan_bwd.register_fake
def _(grad_spike, grad_v_seq, grad_v_final, grad_c_final, x_seq, h_seq, aux_seq, v0, c0, p0, p1, p2, p3, p4, p5,
      p6, need_param_grad, v_threshold, v_reset, hard_reset, neuron, *static):
    M = x_seq.shape[1]
    grad_c0 = torch.empty_like(c0) if neuron >= CUBA else c0.new_empty(0)
    grads = tuple(x_seq.new_empty(M if need_param_grad else 0, dtype=_acc(x_seq.dtype)) for _ in range(N_PARAMS))
    return (torch.empty_like(x_seq), torch.empty_like(v0), grad_c0) + grads


_N_STATIC = 11  # v_threshold ... scale_reset


def _setup_context(ctx, inputs, output):
    x_seq, v0, c0, *rest = inputs
    params, static = rest[:N_PARAMS], rest[N_PARAMS + 1:]
    _, _, h_seq, aux, _, _ = output
    ctx.save_for_backward(x_seq, h_seq, aux, v0, c0, *params)
    ctx.static = tuple(static)
    ctx.mark_non_differentiable(h_seq, aux)


def _backward(ctx, grad_spike, grad_v_seq, grad_h, grad_aux, grad_v_final, grad_c_final):
    x_seq, h_seq, aux, v0, c0, *params = ctx.saved_tensors
    two = ctx.static[3] >= CUBA
    need = ctx.needs_input_grad[3:3 + N_PARAMS]
    if grad_v_seq is None:
        grad_v_seq = x_seq.new_empty(0)
    if grad_spike is None:
        grad_spike = torch.zeros_like(x_seq)
    if grad_v_final is None:
        grad_v_final = torch.zeros_like(v0)
    if grad_c_final is None or not two:
        grad_c_final = torch.zeros_like(c0) if two else grad_v_final
    grad_x, grad_v0, grad_c0, *grad_p = charge_scan_bwd(
        grad_spike, grad_v_seq, grad_v_final, grad_c_final, x_seq, h_seq, aux, v0, c0, *params, any(need),
        *ctx.static)
    grads = []
    for needed, g, p in zip(need, grad_p, params):
        if not needed:
            grads.append(None)
            continue
        g = g.sum() if p.dim() == 0 else g
        grads.append(g.to(p.dtype).reshape(p.shape))
    return (grad_x, grad_v0, grad_c0 if two else None, *grads, None, *([None] * _N_STATIC))


charge_scan_fwd.register_autograd(_backward, setup_context=_setup_context)


class _ChargeScan(torch.autograd.Function):
    """The two ops as one Function, so ``torch.func.grad`` reaches them (vmap goes to the ops' rules)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(*args):
        return charge_scan_fwd(*args)

    setup_context = staticmethod(_setup_context)
    backward = staticmethod(torch.autograd.function.once_differentiable(_backward))


_NONE = [None] * _N_STATIC
_P = [PARAM_ARG] * N_PARAMS
torch.library.register_vmap(
    charge_scan_fwd,
    _make_vmap(charge_scan_fwd, ["x", VEC, VEC] + _P + [None] + _NONE, [SEQ, SEQ, SEQ, SEQ, VEC, VEC]))
torch.library.register_vmap(
    charge_scan_bwd,
    _make_vmap(charge_scan_bwd, [SEQ, SEQ, VEC, VEC, "x", SEQ, SEQ, VEC, VEC] + _P + [None] + _NONE,
               [SEQ, VEC, VEC] + [VEC] * N_PARAMS))


# --------------------------------------------------------------------------- #
# entry points used by the neuron families' dispatch
# --------------------------------------------------------------------------- #

def _firing(neuron: int, cfg: dict) -> dict:
    """CLIF has its own reset and takes no ``v_reset``/``detach_reset``: read them as a plain soft reset."""
    return dict(cfg, v_reset=None, detach_reset=False) if neuron == CLIF else cfg


def _unsupported(neuron: int):
    def check(x_seq: Tensor, cfg: dict) -> Optional[str]:
        reason = _firing_unsupported(x_seq, _firing(neuron, cfg))
        if reason is not None:
            return reason
        step = x_seq.shape[1:]
        for name in PARAMS[neuron]:
            value = cfg[name]
            if isinstance(value, Tensor):
                try:
                    fits = torch.broadcast_shapes(value.shape, step) == step
                except RuntimeError:
                    fits = False
                if not fits:
                    return (f"`{name}` has shape {tuple(value.shape)}, which does not broadcast to one time "
                            f"step's shape {tuple(step)}")
        return None

    return check


def _scan(neuron: int):
    def run(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
        T, shape = x_seq.shape[0], x_seq.shape[1:]
        v0 = state.v.reshape(-1)
        c0 = state[1].reshape(-1) if neuron >= CUBA else v0
        params = [_flat_param(cfg[name], x_seq) for name in PARAMS[neuron]]
        params += [x_seq.new_ones((), dtype=_acc(x_seq.dtype))] * (N_PARAMS - len(params))
        static = _static(_firing(neuron, cfg), neuron) + (bool(cfg.get("scale_reset", False)),)
        spikes, v_seq, _, _, v_final, c_final = _ChargeScan.apply(x_seq.reshape(T, -1), v0, c0, *params,
                                                                  return_v_seq, *static)
        fields = (v_final.reshape(shape),) + ((c_final.reshape(shape),) if neuron >= CUBA else ())
        out = (spikes.reshape(x_seq.shape), type(state)(*fields))
        return out + (v_seq.reshape(x_seq.shape),) if return_v_seq else out

    return run


qif_scan = _scan(QIF)
eif_scan = _scan(EIF)
klif_scan = _scan(KLIF)
cuba_lif_scan = _scan(CUBA)
izhikevich_scan = _scan(IZHIKEVICH)
clif_scan = _scan(CLIF)
qif_unsupported = _unsupported(QIF)
eif_unsupported = _unsupported(EIF)
klif_unsupported = _unsupported(KLIF)
cuba_lif_unsupported = _unsupported(CUBA)
izhikevich_unsupported = _unsupported(IZHIKEVICH)
clif_unsupported = _unsupported(CLIF)
