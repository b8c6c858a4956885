"""Graph-free time scans of the QIF, EIF, KLIF, CUBA-LIF, Izhikevich and CLIF neurons in plain PyTorch.

Each neuron charges ``H`` from its potential ``V``, its second state ``U``
(CUBA's current ``c``, Izhikevich's ``w``, CLIF's ``m``) and the input ``X``:

    QIF         H = V + (X + a0 (V - v_rest)(V - v_c)) / tau
    EIF         H = V + (X + v_rest - V + delta_T exp((V - theta_rh) / delta_T)) / tau
    KLIF        L = V + (X - (V - v_b)) / tau  (decay_input=False: V - (V - v_b) / tau + X),  H = relu(k L)
    CUBA-LIF    U' = U c_decay + X,  H = V v_decay + U'
    Izhikevich  H = V + (X + a0 (V - v_rest)(V - v_c) - U) / tau,  U' = U + (a (H - v_rest) - U) / tau_w + b S
    CLIF        H = V - V / tau + X,  U' = U sigmoid(H / tau) + S,  V' = H - S (v_th + sigmoid(U'))

then fires ``S = Θ(H - v_th)`` and resets ``V'`` from ``H`` (hard or soft; KLIF
with ``scale_reset`` resets ``H / k`` against ``v_th / k``; ``v_b`` is
``v_reset``, or 0 for a soft reset). One ``autograd.Function`` runs the forward
loop without a graph, in the reference's operation order (so spikes and states
are identical to it), and saves ``H`` (``L`` for KLIF) and ``U'``. Its backward
walks time in reverse,

    gH[t]   = gS[t] σ'(H[t] - v_th) + gV'[t] ∂V'/∂H + gU'[t] ∂U'/∂H
    gX[t]   = gH[t] ∂H/∂X,   gV[t-1] = gH[t] ∂H/∂V (+ the gradient of v_seq[t-1]),
    gU[t-1] = gU'[t] ∂U'/∂U + gH[t] ∂H/∂U,

computing every term that does not depend on the carried gradients for a
chunk of steps at once, and accumulates ``Σ_t gH ∂H/∂p + gU' ∂U'/∂p`` per
element for each tensor parameter ``p`` before reducing it to ``p``'s shape.

On the CPU, for float32/float64 steps large enough (see
:func:`fnsnn.neurons._fastpath._use_compiled` and its ``COMPILE_MODE``), the
loops run fused blocks of several steps built with ``torch.compile``; the
forward then saves only the states at each block's start and the backward
recomputes the block's charges from them. Under ``vmap`` the scan runs once
over the whole batch (:func:`fnsnn.neurons._fastpath.batched_scan_inputs`),
taking the same path as a single call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from ._base import ScanKernel
from ._fastpath import (
    _blocks,
    _run_compiled,
    _use_compiled,
    batched_out_dims,
    batched_scan_inputs,
    block_compiler,
    fast_unsupported,
)

QIF, EIF, KLIF, CUBA, IZHIKEVICH, CLIF = range(6)  # also the Triton kernels' NEURON codes (fnsnn/kernels/charge.py)
PARAMS = {
    QIF: ("tau", "v_c", "a0", "v_rest"),
    EIF: ("tau", "delta_T", "theta_rh", "v_rest"),
    KLIF: ("tau", "k"),
    CUBA: ("c_decay", "v_decay"),
    IZHIKEVICH: ("tau", "v_c", "a0", "v_rest", "tau_w", "a", "b"),
    CLIF: ("tau",),
}
_TWO_STATES = (CUBA, IZHIKEVICH, CLIF)
_CHUNK = 16  # time steps whose gradient-free backward terms are computed together


@dataclass(frozen=True)
class _Spec:
    neuron: int
    v_threshold: float
    v_reset: Optional[float]
    detach_reset: bool
    surrogate: Any
    decay_input: bool
    scale_reset: bool
    store_v: bool


# --------------------------------------------------------------------------- #
# forward: the reference update, operation for operation
# --------------------------------------------------------------------------- #


def _heaviside(z: Tensor) -> Tensor:
    return (z >= 0).to(z.dtype)


def _reset(h, spike, threshold, v_reset):
    if v_reset is None:
        return h - spike * threshold
    return spike * v_reset + (1.0 - spike) * h


def _fire_reset(spec: _Spec, hs: Tensor, p):
    """``(H, S, V')`` from the saved charge (not CLIF, whose reset needs ``U'``)."""
    v_th = spec.v_threshold
    if spec.neuron == KLIF:
        k = p[1]
        h = torch.relu(k * hs)
        spike = _heaviside(h - v_th)
        if spec.scale_reset:
            return h, spike, _reset(h / k, spike, v_th / k, spec.v_reset)
        return h, spike, _reset(h, spike, v_th, spec.v_reset)
    spike = _heaviside(hs - v_th)
    return hs, spike, _reset(hs, spike, v_th, spec.v_reset)


def _clif_after(spec: _Spec, hs: Tensor, m: Tensor) -> Tensor:
    """CLIF's reset potential from ``H`` and the new ``m``."""
    spike = _heaviside(hs - spec.v_threshold)
    return hs - spike * (spec.v_threshold + torch.sigmoid(m))


def _step(spec: _Spec, x: Tensor, v: Tensor, c, p):
    """One step: ``(saved charge, S, V', U')`` (``U'`` is ``c`` for one-state neurons)."""
    n = spec.neuron
    if n == QIF:
        tau, v_c, a0, v_rest = p
        hs = v + (x + a0 * (v - v_rest) * (v - v_c)) / tau
    elif n == EIF:
        tau, delta_t, theta_rh, v_rest = p
        hs = v + (x + v_rest - v + delta_t * torch.exp((v - theta_rh) / delta_t)) / tau
    elif n == KLIF:
        tau = p[0]
        base = 0.0 if spec.v_reset is None else spec.v_reset
        hs = v + (x - (v - base)) / tau if spec.decay_input else v - (v - base) / tau + x
    elif n == CUBA:
        c = c * p[0] + x
        hs = v * p[1] + c
    elif n == IZHIKEVICH:
        tau, v_c, a0, v_rest, tau_w, a, b = p
        hs = v + (x + a0 * (v - v_rest) * (v - v_c) - c) / tau
    else:
        tau, v_th = p[0], spec.v_threshold
        hs = v - v / tau + x
        decayed = c * torch.sigmoid(hs / tau)
        spike = _heaviside(hs - v_th)
        c = decayed + spike
        return hs, spike, hs - spike * (v_th + torch.sigmoid(c)), c
    h, spike, v = _fire_reset(spec, hs, p)
    if n == IZHIKEVICH:
        c = c + (a * (h - v_rest) - c) / tau_w + b * spike
    return hs, spike, v, c


def _after(spec: _Spec, hs: Tensor, c, p) -> Tensor:
    """The potential after the step whose saved charge is ``hs`` (and new second state ``c``)."""
    return _clif_after(spec, hs, c) if spec.neuron == CLIF else _fire_reset(spec, hs, p)[2]


# --------------------------------------------------------------------------- #
# backward: local terms, the reverse recurrence, input and parameter gradients
# --------------------------------------------------------------------------- #


def _dv_dh(spec: _Spec, h, spike, d, k_r):
    """``∂V'/∂H`` through the reset (``k_r`` divides for KLIF's scaled reset); ``None`` means 1."""
    if spec.v_reset is not None:
        dv = 1.0 - spike if k_r is None else (1.0 - spike) / k_r
        if not spec.detach_reset:
            dv = dv + (spec.v_reset - (h if k_r is None else h / k_r)) * d
        return dv
    if spec.detach_reset:
        return None if k_r is None else 1.0 / k_r + 0.0 * h
    return 1.0 - spec.v_threshold * d if k_r is None else (1.0 - spec.v_threshold * d) / k_r


def _local(spec: _Spec, x, v, c, hs, cn, p) -> dict:
    """The terms of a step (or of a chunk of steps) that do not depend on the carried gradients.

    ``v``/``c`` are the states before the step, ``hs`` the saved charge, ``cn`` the new second state.
    """
    n, v_th = spec.neuron, spec.v_threshold
    if n == CLIF:
        tau = p[0]
        z = hs - v_th
        spike, d = _heaviside(z), spec.surrogate.derivative(z)
        sm, sh = torch.sigmoid(cn), torch.sigmoid(hs / tau)
        dsh = sh * (1.0 - sh)
        return dict(d=d, E=-(spike * sm * (1.0 - sm)), B=1.0 - d * (v_th + sm), C=c * dsh / tau + d, sh=sh,
                    dsh=dsh)
    if n == KLIF:
        k = p[1]
        h = torch.relu(k * hs)
        relu = (h > 0).to(h.dtype)
        z = h - v_th
        spike, d = _heaviside(z), spec.surrogate.derivative(z)
        out = dict(d=d, B=_dv_dh(spec, h, spike, d, k if spec.scale_reset else None), relu=relu,
                   A=k * relu * (1.0 - 1.0 / p[0]))
        if spec.scale_reset:
            out.update(h=h, spike=spike)
        return out
    z = hs - v_th
    spike, d = _heaviside(z), spec.surrogate.derivative(z)
    out = dict(d=d, B=_dv_dh(spec, hs, spike, d, None))
    if n in (QIF, IZHIKEVICH):
        tau, v_c, a0, v_rest = p[:4]
        out["A"] = 1.0 + a0 * ((v - v_c) + (v - v_rest)) / tau
    elif n == EIF:
        e = torch.exp((v - p[2]) / p[1])
        out.update(A=1.0 + (e - 1.0) / p[0], e=e)
    if n == IZHIKEVICH:
        out.update(q=p[5] / p[4] + p[6] * d, spike=spike)
    return out


def _fma(acc, a, b):
    """``acc + a b`` (``acc`` may be ``None``: ``a b``; ``b`` may be ``None``: ``acc + a``)."""
    if b is None:
        return a if acc is None else acc + a
    return a * b if acc is None else torch.addcmul(acc, a, b)


def _recur(spec: _Spec, t: dict, direct, gv, gc, p):
    """One reversed step: ``(gH, second gradient kept for later, gV before, gU before)``.

    ``direct`` is ``gS σ'`` (or ``None``); ``gv``/``gc`` are the gradients of the states after the
    step. The second gradient is ``gU'`` (CUBA: including the path through ``H``; CLIF: including
    the path through ``V'``), or ``gV'`` for KLIF's scaled reset.
    """
    n = spec.neuron
    if n == CLIF:
        gm = torch.addcmul(gc, gv, t["E"])
        gh = _fma(_fma(direct, gv, t["B"]), gm, t["C"])
        return gh, gm, gh * (1.0 - 1.0 / p[0]), gm * t["sh"]
    gh = _fma(direct, gv, t["B"])
    if n == IZHIKEVICH:
        gh = torch.addcmul(gh, gc, t["q"])
        return gh, gc, gh * t["A"], gc * (1.0 - 1.0 / p[4]) - gh / p[0]
    if n == CUBA:
        gu = gc + gh
        return gh, gu, gh * p[1], gu * p[0]
    return gh, (gv if n == KLIF and spec.scale_reset else None), gh * t["A"], None


def _post(spec: _Spec, t: dict, x, v, c, hs, gh, g2, p, need):
    """``(gX, [gH ∂H/∂p_i + gU' ∂U'/∂p_i or None])`` for a step or a chunk."""
    n = spec.neuron
    terms = [None] * len(p)
    if n in (QIF, IZHIKEVICH):
        tau, v_c, a0, v_rest = p[:4]
        gx = gh / tau
        if need[0]:
            w = c if n == IZHIKEVICH else 0.0
            terms[0] = -gh * (x + a0 * (v - v_rest) * (v - v_c) - w) / (tau * tau)
        if need[1]:
            terms[1] = -gh * a0 * (v - v_rest) / tau
        if need[2]:
            terms[2] = gh * (v - v_rest) * (v - v_c) / tau
        if need[3]:
            terms[3] = -gh * a0 * (v - v_c) / tau
            if n == IZHIKEVICH:
                terms[3] = terms[3] - g2 * p[5] / p[4]
        if n == IZHIKEVICH:
            tau_w, a, b = p[4:]
            if need[4]:
                terms[4] = -g2 * (a * (hs - v_rest) - c) / (tau_w * tau_w)
            if need[5]:
                terms[5] = g2 * (hs - v_rest) / tau_w
            if need[6]:
                terms[6] = g2 * t["spike"]
    elif n == EIF:
        tau, delta_t, theta_rh, v_rest = p
        e = t["e"]
        gx = gh / tau
        if need[0]:
            terms[0] = -gh * (x + v_rest - v + delta_t * e) / (tau * tau)
        if need[1]:
            terms[1] = gh * e * (1.0 - (v - theta_rh) / delta_t) / tau
        if need[2]:
            terms[2] = -gh * e / tau
        if need[3]:
            terms[3] = gh / tau
    elif n == KLIF:
        tau, k = p
        gl = gh * k * t["relu"]
        gx = gl / tau if spec.decay_input else gl
        if need[0]:
            base = 0.0 if spec.v_reset is None else spec.v_reset
            if spec.decay_input:
                terms[0] = -gl * (x - (v - base)) / (tau * tau)
            else:
                terms[0] = gl * (v - base) / (tau * tau)
        if need[1]:
            terms[1] = gh * hs * t["relu"]
            if spec.scale_reset:  # the reset's own dependence on k
                h, spike = t["h"], t["spike"]
                kept = (1.0 - spike) * h if spec.v_reset is not None else h - spike * spec.v_threshold
                terms[1] = terms[1] - g2 * kept / (k * k)
    elif n == CUBA:
        gx = g2
        if need[0]:
            terms[0] = g2 * c
        if need[1]:
            terms[1] = gh * v
    else:
        tau = p[0]
        gx = gh
        if need[0]:
            terms[0] = (gh * v - g2 * c * t["dsh"] * hs) / (tau * tau)
    return gx, terms


def _accumulate(acc: list, terms: list, reduce_time: bool) -> list:
    return [a if term is None else (term.sum(0) if reduce_time else term) + (0.0 if a is None else a)
            for a, term in zip(acc, terms)]


def _param_grads(acc: list, p, need) -> tuple:
    return tuple(acc_i.sum_to_size(p_i.shape).to(p_i.dtype) if needed else None
                 for acc_i, p_i, needed in zip(acc, p, need))


def _prev_states(spec: _Spec, h_seq, aux, v0, c0, start: int, stop: int, p):
    """The states before steps ``start..stop-1``: ``v [n, ...]`` and ``c [n, ...]`` (or ``None``)."""
    two = spec.neuron in _TWO_STATES
    lo = max(start - 1, 0)
    v = _after(spec, h_seq[lo:stop - 1], aux[lo:stop - 1] if two else None, p)
    c = aux[lo:stop - 1] if two else None
    if start == 0:
        v = torch.cat([v0.expand_as(h_seq[0]).unsqueeze(0), v])
        if two:
            c = torch.cat([c0.expand_as(h_seq[0]).unsqueeze(0), c])
    return v, c


def _backward_eager(spec: _Spec, x_seq, v0, c0, h_seq, aux, p, grad_spike, grad_v_seq, gv, gc, need):
    """The reverse recurrence over saved ``H``/``U'``, a chunk of steps at a time."""
    two = spec.neuron in _TWO_STATES
    has_gvs = grad_v_seq is not None and grad_v_seq.numel() > 0
    acc = [None] * len(p)
    gx_chunks = []
    T = x_seq.shape[0]
    for stop in range(T, 0, -_CHUNK):
        start = max(stop - _CHUNK, 0)
        x, hs = x_seq[start:stop], h_seq[start:stop]
        cn = aux[start:stop] if two else None
        v, c = _prev_states(spec, h_seq, aux, v0, c0, start, stop, p)
        terms = _local(spec, x, v, c, hs, cn, p)
        per_step = {key: (None if val is None else val.unbind(0)) for key, val in terms.items()}
        direct_t = (grad_spike[start:stop] * terms["d"]).unbind(0) if grad_spike is not None else None
        gvs_t = grad_v_seq[start:stop].unbind(0) if has_gvs else None
        ghs, g2s = [None] * (stop - start), [None] * (stop - start)
        for i in range(stop - start - 1, -1, -1):
            if has_gvs:
                gv = gv + gvs_t[i]
            step_terms = {key: (None if val is None else val[i]) for key, val in per_step.items()}
            direct = None if direct_t is None else direct_t[i]
            ghs[i], g2s[i], gv, gc = _recur(spec, step_terms, direct, gv, gc, p)
        gh = torch.stack(ghs)
        g2 = torch.stack(g2s) if g2s[0] is not None else None
        del ghs, g2s, per_step
        gx, pterms = _post(spec, terms, x, v, c, hs, gh, g2, p, need)
        gx_chunks.append(gx)
        acc = _accumulate(acc, pterms, reduce_time=True)
    grad_x = torch.cat(gx_chunks[::-1]) if len(gx_chunks) > 1 else gx_chunks[0]
    return grad_x, gv, gc, acc


# --------------------------------------------------------------------------- #
# fused blocks (torch.compile)
# --------------------------------------------------------------------------- #


def _forward_block(spec: _Spec, store_v: bool) -> Callable:
    """``block(x_blk, v, c, p, s_out, v_out) -> (v, c)``: a few steps in one pass, writing ``S`` (and ``V``)."""

    def block(x_blk, v, c, p, s_out, v_out):
        spikes, vs = [], []
        for x in x_blk.unbind(0):
            _, spike, v, c = _step(spec, x, v, c, p)
            spikes.append(spike)
            vs.append(v)
        s_out.copy_(torch.stack(spikes))  # one copy per block (see the LIF block)
        if store_v:
            v_out.copy_(torch.stack(vs))
        return v, c

    return block


def _backward_block(spec: _Spec, has_gs: bool, has_gvs: bool, need: tuple) -> Callable:
    """``block(x_blk, v, c, p, gs_blk, gvs_blk, gv, gc, acc, gx_out) -> (gv, gc, acc, gX or None)``.

    Recomputes the block's charges from its first states ``v``, ``c``, then runs the reverse
    recurrence, writing the block's ``gX`` into ``gx_out`` (compiled), or, with ``gx_out=None``,
    returning it (eager, which must not write in place: under ``vmap`` the gradients may be batched
    where the output is not); ``acc`` accumulates the parameter terms elementwise.
    """

    def block(x_blk, v, c, p, gs_blk, gvs_blk, gv, gc, acc, gx_out):
        xs = x_blk.unbind(0)
        saved = []
        for x in xs:
            hs, _, v_next, c_next = _step(spec, x, v, c, p)
            saved.append((v, c, hs, c_next))
            v, c = v_next, c_next
        gss = gs_blk.unbind(0) if has_gs else None
        gvss = gvs_blk.unbind(0) if has_gvs else None
        acc = list(acc)
        gxs = [None] * len(xs)
        for i in range(len(xs) - 1, -1, -1):
            if has_gvs:
                gv = gv + gvss[i]
            v_i, c_i, hs, cn = saved[i]
            terms = _local(spec, xs[i], v_i, c_i, hs, cn, p)
            gh, g2, gv, gc = _recur(spec, terms, gss[i] * terms["d"] if has_gs else None, gv, gc, p)
            gxs[i], pterms = _post(spec, terms, xs[i], v_i, c_i, hs, gh, g2, p, need)
            acc = _accumulate(acc, pterms, reduce_time=False)
        if gx_out is None:
            return gv, gc, tuple(acc), torch.stack(gxs)
        gx_out.copy_(torch.stack(gxs))
        return gv, gc, tuple(acc), None

    return block


_compiled, _compiled_block = block_compiler(_forward_block, _backward_block, "fnsnn_charge")


def _compiled_params(p, like: Tensor) -> tuple:
    """Numbers as 0-d tensors (a new value does not recompile), tensors detached (the compiler would
    otherwise inspect the autograd fields of one that requires grad)."""
    return tuple(q.detach() if isinstance(q, Tensor) else torch.tensor(q, dtype=like.dtype) for q in p)


def _compilable(spec: _Spec, p) -> bool:
    """Whether the fused blocks reproduce the eager forward exactly for this configuration.

    EIF stays eager: inductor's vectorised ``exp`` rounds differently from ATen's in the last bit.
    KLIF's scaled reset divides ``v_th`` by a Python-number ``k`` in double precision; as a tensor the
    quotient would round in the input's dtype, so that configuration stays eager too.
    """
    if spec.neuron == EIF:
        return False
    return not (spec.neuron == KLIF and spec.scale_reset and not isinstance(p[1], Tensor))


def _forward_compiled(spec: _Spec, x_seq: Tensor, v0: Tensor, c0, p):
    """The forward over compiled blocks; saves the states before steps ``K, 2K, ...`` (``K = _BLOCK``)."""
    two = spec.neuron in _TWO_STATES
    pt = _compiled_params(p, x_seq)
    x_seq, v0, c0 = x_seq.detach(), v0.detach(), (c0.detach() if two else None)
    block = _compiled("forward", x_seq.dtype, spec, spec.store_v)

    def loop():
        like = x_seq[0]
        spikes = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq) if spec.store_v else x_seq.new_empty(0)
        v = v0.expand_as(like).contiguous()
        c = c0.expand_as(like).contiguous() if two else None
        checkpoints = []
        for start, stop in _blocks(x_seq.shape[0]):
            if start:
                checkpoints += [v, c] if two else [v]
            v, c = block(x_seq[start:stop], v, c, pt, spikes[start:stop],
                         v_seq[start:stop] if spec.store_v else None)
        return (spikes, v_seq, v, c if two else x_seq.new_empty(0), *checkpoints)

    return _run_compiled(loop)


def _backward_blocks(spec: _Spec, x_seq, v0, c0, checkpoints, p, grad_spike, grad_v_seq, gv, gc, need,
                     compiled: bool):
    """The reversed loop over blocks (compiled or eager), recomputing each block's charges from its checkpoint."""
    two = spec.neuron in _TWO_STATES
    pt = _compiled_params(p, x_seq) if compiled else p
    x_seq, v0, c0 = x_seq.detach(), v0.detach(), (c0.detach() if two else None)
    has_gs = grad_spike is not None
    has_gvs = grad_v_seq is not None and grad_v_seq.numel() > 0
    flags = (has_gs, has_gvs, tuple(need))
    block = _compiled("backward", x_seq.dtype, spec, *flags) if compiled else _backward_block(spec, *flags)
    per = 2 if two else 1

    def loop():
        like = x_seq[0]
        g_v = gv.expand_as(like).contiguous()
        g_c = gc.expand_as(like).contiguous() if two else None
        acc = tuple(torch.zeros_like(like) if n else None for n in need)
        grad_x = torch.empty_like(x_seq) if compiled else None
        pieces = []
        for i, (start, stop) in reversed(list(enumerate(_blocks(x_seq.shape[0])))):
            if i:
                v, c = checkpoints[per * (i - 1)], (checkpoints[per * (i - 1) + 1] if two else None)
            else:
                v, c = v0.expand_as(like), (c0.expand_as(like) if two else None)
            g_v, g_c, acc, piece = block(x_seq[start:stop], v, c, pt, grad_spike[start:stop] if has_gs else None,
                                         grad_v_seq[start:stop] if has_gvs else None, g_v, g_c, acc,
                                         grad_x[start:stop] if compiled else None)
            pieces.append(piece)
        return (grad_x if compiled else torch.cat(pieces[::-1])), g_v, g_c, list(acc)

    return _run_compiled(loop) if compiled else loop()


# --------------------------------------------------------------------------- #
# the autograd Function
# --------------------------------------------------------------------------- #


class _ChargeScan(torch.autograd.Function):
    """``(spec, x_seq, v0, c0 or None, *params) -> (spike_seq, v_seq or [0], v_final, c_final or [0], *saved)``.

    ``*saved`` is what the backward needs: ``H[T, ...]`` and ``U'[T, ...]`` (or ``[0]``) from the eager
    loop, or, from the compiled blocks, the states before steps ``K, 2K, ...``, from which the
    backward recomputes a block's charges. Parameters are Python numbers or tensors; only tensors
    get gradients.
    """

    @staticmethod
    def vmap(info, in_dims, spec: _Spec, x_seq: Tensor, v0: Tensor, c0, *p):
        _, x_dim, v_dim, c_dim, *p_dims = in_dims
        x, (v, c), p = batched_scan_inputs(info.batch_size, x_seq, x_dim, (v0, c0), (v_dim, c_dim), p, p_dims)
        out = _ChargeScan.apply(spec, x, v, c, *p)
        return out, batched_out_dims(out, x)

    @staticmethod
    def forward(spec: _Spec, x_seq: Tensor, v0: Tensor, c0, *p):
        two = spec.neuron in _TWO_STATES
        if _use_compiled(x_seq[0]) and _compilable(spec, p):
            out = _forward_compiled(spec, x_seq, v0, c0, p)
            if out is not None:
                return out
        v, c = v0, c0
        hs_list, cs_list, spikes, vs = [], [], [], []
        for x in x_seq.unbind(0):
            hs, spike, v, c = _step(spec, x, v, c, p)
            hs_list.append(hs)
            spikes.append(spike)
            if two:
                cs_list.append(c)
            if spec.store_v:
                vs.append(v)
        empty = x_seq.new_empty(0)
        return (torch.stack(spikes), torch.stack(vs) if spec.store_v else empty, v, c if two else empty,
                torch.stack(hs_list), torch.stack(cs_list) if two else empty)

    @staticmethod
    def setup_context(ctx, inputs, output):
        spec, x_seq, v0, c0, *p = inputs
        ctx.spec = spec
        ctx.is_tensor = tuple(isinstance(q, Tensor) for q in p)
        ctx.numbers = tuple(None if isinstance(q, Tensor) else q for q in p)
        ctx.save_for_backward(x_seq, v0, c0, *(q for q in p if isinstance(q, Tensor)), *output[4:])
        ctx.n_tensors = sum(ctx.is_tensor)
        ctx.mark_non_differentiable(*output[4:])
        ctx.set_materialize_grads(False)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spike, grad_v_seq, grad_v_final, grad_c_final, *grad_saved):
        spec = ctx.spec
        two = spec.neuron in _TWO_STATES
        x_seq, v0, c0, *rest = ctx.saved_tensors
        tensors, saved = rest[:ctx.n_tensors], rest[ctx.n_tensors:]
        it = iter(tensors)
        p = tuple(next(it) if is_t else num for is_t, num in zip(ctx.is_tensor, ctx.numbers))
        need = tuple(is_t and needed for is_t, needed in zip(ctx.is_tensor, ctx.needs_input_grad[4:]))
        like = x_seq[0]
        gv = grad_v_final if grad_v_final is not None else torch.zeros_like(like)
        gc = None
        if two:
            gc = grad_c_final if grad_c_final is not None and grad_c_final.numel() else torch.zeros_like(like)
        if len(saved) == 2 and saved[0].dim() == x_seq.dim():  # the eager forward saved H and U'
            grad_x, gv, gc, acc = _backward_eager(spec, x_seq, v0, c0, saved[0], saved[1], p, grad_spike,
                                                  grad_v_seq, gv, gc, need)
        else:  # the compiled forward saved checkpoints
            args = (spec, x_seq, v0, c0, saved, p, grad_spike, grad_v_seq, gv, gc, need)
            out = _backward_blocks(*args, compiled=True) if _use_compiled(like) else None
            grad_x, gv, gc, acc = out if out is not None else _backward_blocks(*args, compiled=False)
        return (None, grad_x, gv, gc if two else None) + _param_grads(acc, p, need)


# --------------------------------------------------------------------------- #
# entry points used by the neuron families' dispatch
# --------------------------------------------------------------------------- #


def _firing(neuron: int, cfg: dict) -> dict:
    """CLIF has its own reset and takes no ``v_reset``/``detach_reset``: read them as a plain soft reset."""
    return dict(cfg, v_reset=None, detach_reset=False) if neuron == CLIF else cfg


def _unsupported(neuron: int) -> Callable:
    def unsupported(x_seq: Tensor, cfg: dict) -> Optional[str]:
        reason = fast_unsupported(x_seq, _firing(neuron, cfg))
        if reason is not None:
            return reason
        step = tuple(x_seq.shape[1:])
        for name in PARAMS[neuron]:
            value = cfg[name]
            if not isinstance(value, Tensor):
                continue
            if value.dtype != x_seq.dtype or value.device != x_seq.device:
                return (f"`{name}` is a {value.dtype} tensor on {value.device}, the input a {x_seq.dtype} "
                        f"tensor on {x_seq.device}")
            try:
                fits = tuple(torch.broadcast_shapes(value.shape, step)) == step
            except RuntimeError:
                fits = False
            if not fits:
                return (f"`{name}` has shape {tuple(value.shape)}, which does not broadcast to one time step's "
                        f"shape {step}")
        return None

    return unsupported


def _runner(neuron: int) -> Callable:
    def run(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
        firing = _firing(neuron, cfg)
        v_reset = firing["v_reset"]
        spec = _Spec(neuron, float(firing["v_threshold"]), None if v_reset is None else float(v_reset),
                     bool(firing["detach_reset"]), firing["surrogate_function"],
                     bool(cfg.get("decay_input", True)), bool(cfg.get("scale_reset", False)), return_v_seq)
        two = neuron in _TWO_STATES
        spikes, v_seq, v, c, *_ = _ChargeScan.apply(spec, x_seq, state.v, state[1] if two else None,
                                                    *(cfg[name] for name in PARAMS[neuron]))
        new_state = type(state)(v, c) if two else type(state)(v)
        return (spikes, new_state, v_seq) if return_v_seq else (spikes, new_state)

    return run


def _kernel(neuron: int) -> ScanKernel:
    return ScanKernel(_runner(neuron), _unsupported(neuron))


QIF_FAST = _kernel(QIF)
EIF_FAST = _kernel(EIF)
KLIF_FAST = _kernel(KLIF)
CUBA_LIF_FAST = _kernel(CUBA)
IZHIKEVICH_FAST = _kernel(IZHIKEVICH)
CLIF_FAST = _kernel(CLIF)
