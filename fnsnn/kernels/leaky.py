"""Triton scans of the IF, LIF and PLIF neurons: forward and backward through time in one launch each.

All three share the charge ``H = V + X`` (IF), ``H = V + (X - (V - V_b)) / tau``
or ``H = V - (V - V_b) / tau + X`` (LIF, with or without ``decay_input``), and the
same with ``* k`` for ``/ tau`` (PLIF, ``k = sigmoid(w)``); ``V_b`` is ``v_reset``
(0 for soft reset). Then ``S = Θ(H - v_th)`` and the reset. The operations run
in the reference's order, so spikes match it exactly.

The forward keeps ``V`` in registers (float32, or float64 for float64 inputs)
and writes the spikes, the charged potential ``H`` (saved for backward, float32
for half-precision inputs), optionally ``V`` per step, and the final ``V``.
The backward walks time in reverse reading only ``H``, ``X`` and ``V[0]``:

    gH[t] = gS[t] σ'(H[t] - v_th) + gV[t] ∂V[t]/∂H[t]
    gX[t] = gH[t] ∂H/∂X,   gV[t-1] = gH[t] ∂H/∂V (+ the gradient of v_seq[t-1])

and accumulates ``Σ_t gH[t] ∂H[t]/∂p`` per element for the time parameter
``p`` (``tau`` or ``k``), which the caller reduces to ``p``'s shape.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from ._surrogate import surrogate_code, surrogate_derivative, surrogate_unsupported

PARAM_NONE, PARAM_DIV, PARAM_MUL = 0, 1, 2


@triton.jit
def _charge(x, v, p, base, PARAM: tl.constexpr, DECAY: tl.constexpr, IS64: tl.constexpr):
    if PARAM == 0:
        h = v + x
    elif PARAM == 1:
        if DECAY:
            if IS64:
                h = v + (x - (v - base)) / p
            else:
                h = v + tl.math.div_rn(x - (v - base), p)
        else:
            if IS64:
                h = v - (v - base) / p + x
            else:
                h = v - tl.math.div_rn(v - base, p) + x
    else:
        if DECAY:
            h = v + (x - (v - base)) * p
        else:
            h = v - (v - base) * p + x
    return h


@triton.jit
def _after_reset(h, v_th, v_reset, HARD: tl.constexpr):
    spike = (h - v_th) >= 0
    if HARD:
        v = tl.where(spike, v_reset, h)
    else:
        v = h - spike.to(h.dtype) * v_th
    return v


@triton.jit
def _leaky_fwd_kernel(x_ptr, v0_ptr, p_ptr, p_stride, c_ptr, s_ptr, vs_ptr, h_ptr, vT_ptr, M, T,
                      PARAM: tl.constexpr, DECAY: tl.constexpr, HARD: tl.constexpr, STORE_V: tl.constexpr,
                      IS64: tl.constexpr, BLOCK: tl.constexpr):
    ACC = tl.float64 if IS64 else tl.float32
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    v_th = tl.load(c_ptr)
    v_reset = tl.load(c_ptr + 1)
    base = v_reset if HARD else v_reset * 0.0
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(ACC)
    p = tl.load(p_ptr + offs * p_stride, mask=mask, other=1.0).to(ACC)
    xp = x_ptr + offs
    sp = s_ptr + offs
    hp = h_ptr + offs
    vp = vs_ptr + offs
    for _ in range(T):
        x = tl.load(xp, mask=mask, other=0.0).to(ACC)
        h = _charge(x, v, p, base, PARAM, DECAY, IS64)
        spike = (h - v_th) >= 0
        tl.store(sp, spike.to(ACC).to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(hp, h.to(h_ptr.dtype.element_ty), mask=mask)
        v = _after_reset(h, v_th, v_reset, HARD)
        if STORE_V:
            tl.store(vp, v.to(vs_ptr.dtype.element_ty), mask=mask)
            vp += M
        xp += M
        sp += M
        hp += M
    tl.store(vT_ptr + offs, v.to(vT_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _leaky_bwd_kernel(gs_ptr, gvs_ptr, gvT_ptr, x_ptr, h_ptr, v0_ptr, p_ptr, p_stride, c_ptr,
                      gx_ptr, gv0_ptr, gp_ptr, M, T, last,
                      PARAM: tl.constexpr, DECAY: tl.constexpr, HARD: tl.constexpr, DETACH: tl.constexpr,
                      HAS_GVS: tl.constexpr, NEED_GP: tl.constexpr, SG: tl.constexpr, SG_N: tl.constexpr,
                      IS64: tl.constexpr, BLOCK: tl.constexpr):
    ACC = tl.float64 if IS64 else tl.float32
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    v_th = tl.load(c_ptr)
    v_reset = tl.load(c_ptr + 1)
    sg_a = tl.load(c_ptr + 2)
    sg_b = tl.load(c_ptr + 3)
    base = v_reset if HARD else v_reset * 0.0
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(ACC)
    p = tl.load(p_ptr + offs * p_stride, mask=mask, other=1.0).to(ACC)
    if PARAM == 0:
        dh_dv = 1.0
        dh_dx = 1.0
    elif PARAM == 1:
        dh_dv = 1.0 - 1.0 / p
        dh_dx = 1.0 / p if DECAY else 1.0
    else:
        dh_dv = 1.0 - p
        dh_dx = p if DECAY else 1.0
    gv = tl.load(gvT_ptr + offs, mask=mask, other=0.0).to(ACC)
    gp = tl.zeros([BLOCK], dtype=ACC)
    gsp = gs_ptr + last + offs
    gvp = gvs_ptr + last + offs
    xp = x_ptr + last + offs
    hp = h_ptr + last + offs
    gxp = gx_ptr + last + offs
    h = tl.load(hp, mask=mask, other=0.0).to(ACC)
    for i in range(T):
        t = T - 1 - i
        if HAS_GVS:
            gv += tl.load(gvp, mask=mask, other=0.0).to(ACC)
            gvp -= M
        hp -= M
        has_prev = (offs * 0 + t) > 0
        h_prev = tl.load(hp, mask=mask & has_prev, other=0.0).to(ACC)
        z = h - v_th
        spike = (z >= 0).to(ACC)
        d = surrogate_derivative(z, sg_a, sg_b, SG, SG_N).to(ACC)
        if HARD:
            if DETACH:
                dv_dh = 1.0 - spike
            else:
                dv_dh = (1.0 - spike) + (v_reset - h) * d
        else:
            if DETACH:
                dv_dh = 1.0
            else:
                dv_dh = 1.0 - v_th * d
        gh = tl.load(gsp, mask=mask, other=0.0).to(ACC) * d + gv * dv_dh
        tl.store(gxp, (gh * dh_dx).to(gx_ptr.dtype.element_ty), mask=mask)
        if NEED_GP:
            v_prev = tl.where(has_prev, _after_reset(h_prev, v_th, v_reset, HARD), v0)
            x = tl.load(xp, mask=mask, other=0.0).to(ACC)
            if PARAM == 1:
                if DECAY:
                    gp += -gh * (x - (v_prev - base)) / (p * p)
                else:
                    gp += gh * (v_prev - base) / (p * p)
            else:
                if DECAY:
                    gp += gh * (x - (v_prev - base))
                else:
                    gp -= gh * (v_prev - base)
        gv = gh * dh_dv
        h = h_prev
        gsp -= M
        xp -= M
        gxp -= M
    tl.store(gv0_ptr + offs, gv.to(gv0_ptr.dtype.element_ty), mask=mask)
    if NEED_GP:
        tl.store(gp_ptr + offs, gp, mask=mask)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def _launch_opts(x: Tensor):
    block = 128 if _interpreting() else 1024
    opts = {} if _interpreting() else dict(num_warps=4, enable_fp_fusion=False)
    return block, opts


def _consts(x: Tensor, *values: float) -> Tensor:
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    return torch.tensor(values, dtype=dtype, device=x.device)


def saved_dtype(dtype: torch.dtype) -> torch.dtype:
    """dtype of the saved charged potential: half-precision inputs save float32."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def _param_stride(param: Tensor, M: int) -> int:
    return 0 if param.numel() == 1 else 1


_STATIC = ("v_threshold", "v_reset", "hard_reset", "param_mode", "decay_input", "detach_reset",
           "sg_code", "sg_a", "sg_b", "sg_n")


@torch.library.custom_op("fnsnn::leaky_scan_fwd", mutates_args=())
def leaky_scan_fwd(x_seq: Tensor, v0: Tensor, param: Tensor, store_v: bool, v_threshold: float, v_reset: float,
                   hard_reset: bool, param_mode: int, decay_input: bool, detach_reset: bool, sg_code: int,
                   sg_a: float, sg_b: float, sg_n: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Forward scan over ``x_seq [T, M]``; returns ``(spike_seq, v_seq or [0], h_seq, v_final)``.

    ``param`` is ``tau`` (``param_mode=1``), ``k`` (``param_mode=2``) or unused (0),
    a 0-dim tensor or one value per element ``[M]``. The surrogate arguments and
    ``detach_reset`` only matter to the backward.
    """
    T, M = x_seq.shape
    x_seq, v0, param = x_seq.contiguous(), v0.contiguous(), param.contiguous()
    spikes = torch.empty_like(x_seq)
    h_seq = torch.empty(x_seq.shape, dtype=saved_dtype(x_seq.dtype), device=x_seq.device)
    v_seq = torch.empty_like(x_seq) if store_v else x_seq.new_empty(0)
    v_final = torch.empty_like(v0)
    block, opts = _launch_opts(x_seq)
    if M > 0:
        _leaky_fwd_kernel[(triton.cdiv(M, block),)](
            x_seq, v0, param, _param_stride(param, M), _consts(x_seq, v_threshold, v_reset),
            spikes, v_seq if store_v else spikes, h_seq, v_final, M, T,
            PARAM=param_mode, DECAY=decay_input, HARD=hard_reset, STORE_V=store_v,
            IS64=x_seq.dtype == torch.float64, BLOCK=block, **opts)
    return spikes, v_seq, h_seq, v_final


@leaky_scan_fwd.register_fake
def _(x_seq, v0, param, store_v, *static):
    v_seq = torch.empty_like(x_seq) if store_v else x_seq.new_empty(0)
    h_seq = x_seq.new_empty(x_seq.shape, dtype=saved_dtype(x_seq.dtype))
    return torch.empty_like(x_seq), v_seq, h_seq, torch.empty_like(v0)


@torch.library.custom_op("fnsnn::leaky_scan_bwd", mutates_args=())
def leaky_scan_bwd(grad_spike: Tensor, grad_v_seq: Tensor, grad_v_final: Tensor, x_seq: Tensor, h_seq: Tensor,
                   v0: Tensor, param: Tensor, need_param_grad: bool, v_threshold: float, v_reset: float,
                   hard_reset: bool, param_mode: int, decay_input: bool, detach_reset: bool, sg_code: int,
                   sg_a: float, sg_b: float, sg_n: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Backward scan; returns ``(grad_x_seq, grad_v0, per-element grad of param [M] or [0])``."""
    T, M = x_seq.shape
    has_gvs = grad_v_seq.numel() > 0
    grad_spike, grad_v_final = grad_spike.contiguous(), grad_v_final.contiguous()
    grad_v_seq = grad_v_seq.contiguous() if has_gvs else grad_spike
    x_seq, h_seq, v0, param = x_seq.contiguous(), h_seq.contiguous(), v0.contiguous(), param.contiguous()
    grad_x = torch.empty_like(x_seq)
    grad_v0 = torch.empty_like(v0)
    grad_p = x_seq.new_empty(M if need_param_grad else 0, dtype=_acc(x_seq.dtype))
    block, opts = _launch_opts(x_seq)
    if M > 0:
        _leaky_bwd_kernel[(triton.cdiv(M, block),)](
            grad_spike, grad_v_seq, grad_v_final, x_seq, h_seq, v0, param, _param_stride(param, M),
            _consts(x_seq, v_threshold, v_reset, sg_a, sg_b), grad_x, grad_v0,
            grad_p if need_param_grad else grad_v0, M, T, (T - 1) * M,
            PARAM=param_mode, DECAY=decay_input, HARD=hard_reset, DETACH=detach_reset, HAS_GVS=has_gvs,
            NEED_GP=need_param_grad, SG=sg_code, SG_N=sg_n, IS64=x_seq.dtype == torch.float64,
            BLOCK=block, **opts)
    return grad_x, grad_v0, grad_p


@leaky_scan_bwd.register_fake
def _(grad_spike, grad_v_seq, grad_v_final, x_seq, h_seq, v0, param, need_param_grad, *static):
    M = x_seq.shape[1]
    grad_p = x_seq.new_empty(M if need_param_grad else 0, dtype=_acc(x_seq.dtype))
    return torch.empty_like(x_seq), torch.empty_like(v0), grad_p


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


# --------------------------------------------------------------------------- #
# autograd
# --------------------------------------------------------------------------- #


def _setup_context(ctx, inputs, output):
    x_seq, v0, param, store_v, *static = inputs
    _, _, h_seq, _ = output
    ctx.save_for_backward(x_seq, h_seq, v0, param)
    ctx.static = tuple(static)
    ctx.mark_non_differentiable(h_seq)


def _backward(ctx, grad_spike, grad_v_seq, grad_h, grad_v_final):
    x_seq, h_seq, v0, param = ctx.saved_tensors
    need_param_grad = ctx.needs_input_grad[2]
    if grad_v_seq is None:
        grad_v_seq = x_seq.new_empty(0)
    if grad_spike is None:
        grad_spike = torch.zeros_like(x_seq)
    if grad_v_final is None:
        grad_v_final = torch.zeros_like(v0)
    grad_x, grad_v0, grad_p = leaky_scan_bwd(grad_spike, grad_v_seq, grad_v_final, x_seq, h_seq, v0, param,
                                             need_param_grad, *ctx.static)
    grad_param = None
    if need_param_grad:
        grad_param = grad_p.sum() if param.dim() == 0 else grad_p
        grad_param = grad_param.to(param.dtype).reshape(param.shape)
    return grad_x, grad_v0, grad_param, None, *([None] * len(_STATIC))


leaky_scan_fwd.register_autograd(_backward, setup_context=_setup_context)


class _LeakyScan(torch.autograd.Function):
    """The two ops as one Function, so ``torch.func.grad`` (which needs ``setup_context``) reaches them.

    Its forward and backward are the custom ops, which have batching rules, so the
    generated vmap rule folds a vmapped dim into one launch.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x_seq, v0, param, store_v, *static):
        return leaky_scan_fwd(x_seq, v0, param, store_v, *static)

    setup_context = staticmethod(_setup_context)
    backward = staticmethod(torch.autograd.function.once_differentiable(_backward))


# --------------------------------------------------------------------------- #
# vmap: fold the vmapped dim into the element dim, so one launch serves the batch
# --------------------------------------------------------------------------- #

SEQ, VEC, PARAM_ARG = "seq", "vec", "param"


def _fold(arg: Tensor, kind: str, dim, B: int, M: int) -> Tensor:
    """Logical ``[T, M]`` / ``[M]`` / param argument -> physical ``[T, B*M]`` / ``[B*M]``."""
    if kind == SEQ:
        if arg.numel() == 0:  # an absent optional sequence
            return arg.new_empty(0) if dim is None else arg.select(dim, 0)
        a = arg.unsqueeze(1).expand(arg.shape[0], B, M) if dim is None else arg.movedim(dim, 1)
        return a.reshape(a.shape[0], B * M)
    if kind == VEC:
        a = arg.unsqueeze(0).expand(B, M) if dim is None else arg.movedim(dim, 0)
        return a.reshape(B * M)
    if dim is None and arg.dim() == 0:  # a shared scalar stays shared
        return arg
    a = arg.reshape(1, -1) if dim is None else arg.movedim(dim, 0).reshape(B, -1)
    return a.expand(B, M).reshape(B * M)


def _unfold(out: Tensor, kind: str, B: int):
    if out.numel() == 0:
        return out, None
    if kind == SEQ:
        return out.reshape(out.shape[0], B, -1), 1
    return out.reshape(B, -1), 0


def _make_vmap(op, in_kinds, out_kinds):
    def rule(info, in_dims, *args):
        B = info.batch_size
        x_dim = in_dims[in_kinds.index("x")]
        x = args[in_kinds.index("x")]
        M = x.shape[-1] if x_dim is None else x.movedim(x_dim, 0).shape[-1]
        kinds = [SEQ if k == "x" else k for k in in_kinds]
        folded = [_fold(a, k, d, B, M) if k is not None else a for a, k, d in zip(args, kinds, in_dims)]
        res = [_unfold(o, k, B) for o, k in zip(op(*folded), out_kinds)]
        return tuple(r[0] for r in res), tuple(r[1] for r in res)

    return rule


_NONE = [None] * len(_STATIC)
torch.library.register_vmap(
    leaky_scan_fwd, _make_vmap(leaky_scan_fwd, ["x", VEC, PARAM_ARG, None] + _NONE, [SEQ, SEQ, SEQ, VEC]))
torch.library.register_vmap(
    leaky_scan_bwd,
    _make_vmap(leaky_scan_bwd, [SEQ, SEQ, VEC, "x", SEQ, VEC, PARAM_ARG, None] + _NONE, [SEQ, VEC, VEC]))


# --------------------------------------------------------------------------- #
# entry points used by the neuron families' dispatch
# --------------------------------------------------------------------------- #

_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def unsupported(x_seq: Tensor, cfg: dict) -> Optional[str]:
    """``None`` if the scan kernels can run this configuration, else the reason."""
    for name in ("v_threshold", "v_reset"):
        if isinstance(cfg[name], Tensor):
            return (f"`{name}` is a tensor; the scan kernels take it as a Python number "
                    f"(tensor thresholds run on backend='torch')")
    if x_seq.dtype not in _DTYPES:
        return f"dtype {x_seq.dtype} is not one of {_DTYPES}"
    return surrogate_unsupported(cfg["surrogate_function"])


def _static(cfg: dict, param_mode: int) -> tuple:
    v_reset = cfg["v_reset"]
    code, a, b, n = surrogate_code(cfg["surrogate_function"])
    return (float(cfg["v_threshold"]), 0.0 if v_reset is None else float(v_reset), v_reset is not None,
            param_mode, bool(cfg.get("decay_input", True)), cfg["detach_reset"], code, a, b, n)


def _flat_param(param, x_seq: Tensor) -> Tensor:
    """``tau`` or ``k`` as a 0-dim tensor or one value per element of a time step."""
    if not isinstance(param, Tensor):
        return torch.tensor(float(param), dtype=_acc(x_seq.dtype), device=x_seq.device)
    if param.numel() == 1:
        return param.reshape(())
    return torch.broadcast_to(param, x_seq.shape[1:]).reshape(-1)


def _run(x_seq: Tensor, state, cfg: dict, return_v_seq: bool, param: Tensor, param_mode: int):
    T = x_seq.shape[0]
    shape = x_seq.shape[1:]
    spikes, v_seq, _, v_final = _LeakyScan.apply(x_seq.reshape(T, -1), state.v.reshape(-1), param, return_v_seq,
                                                 *_static(cfg, param_mode))
    new_state = type(state)(v_final.reshape(shape))
    if return_v_seq:
        return spikes.reshape(x_seq.shape), new_state, v_seq.reshape(x_seq.shape)
    return spikes.reshape(x_seq.shape), new_state


def if_scan(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
    """IF neuron over ``x_seq [T, N, *]`` in one kernel launch; returns as ``if_multi_step``."""
    return _run(x_seq, state, cfg, return_v_seq, x_seq.new_zeros((), dtype=_acc(x_seq.dtype)), PARAM_NONE)


def lif_scan(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
    """LIF neuron over ``x_seq [T, N, *]`` in one kernel launch; returns as ``lif_multi_step``."""
    return _run(x_seq, state, cfg, return_v_seq, _flat_param(cfg["tau"], x_seq), PARAM_DIV)


def plif_scan(x_seq: Tensor, state, cfg: dict, return_v_seq: bool):
    """PLIF neuron over ``x_seq [T, N, *]`` in one kernel launch; returns as ``plif_multi_step``."""
    return _run(x_seq, state, cfg, return_v_seq, _flat_param(torch.sigmoid(cfg["w"]), x_seq), PARAM_MUL)
