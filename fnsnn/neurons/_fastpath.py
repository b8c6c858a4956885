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

On the CPU, for float32/float64 steps of at least :data:`COMPILE_MIN_NUMEL`
elements, the loops instead call fused blocks of :data:`_BLOCK` steps built with
``torch.compile`` (inductor's C++ code: one memory pass per block instead of one
per operation and step), compiled once per static configuration (reset mode,
detach_reset, decay_input, surrogate and its parameters, dtype) and cached. The
compiled forward saves only the potential at each block's start; the backward
block recomputes its ``H`` from it in registers before running the recurrence. The
``autograd.Function`` itself stays eager. Its ``vmap`` rule runs one scan over
the whole batch (the vmapped dimension placed next to time, batched parameters
broadcast against it), on plain tensors, so a vmapped call runs the compiled
blocks as a single call would; other ``torch.func`` transforms run the eager
loops. :data:`COMPILE_MODE` (initialised from the ``FNSNN_FAST_COMPILE``
environment variable) chooses: ``"auto"`` (by size; if
the compiler cannot build the step, one warning names the reason and the eager
loop runs), ``"always"`` (any size; a failed build raises ``RuntimeError``) or
``"never"``.

``backend="auto"`` picks this path off CUDA when :func:`fast_unsupported` finds
nothing against it; ``backend="torch"`` always runs the reference loop.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import warnings
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from .. import surrogate as _sg
from ._base import ScanKernel

PARAM_NONE, PARAM_DIV, PARAM_MUL = 0, 1, 2
_CHUNK = 16  # time steps whose surrogate terms are computed together in the backward
_BLOCK = 8  # compiled path: steps fused into one kernel; the backward recomputes H block by block
COMPILE_MIN_NUMEL = 65536  # elements per time step from which COMPILE_MODE="auto" uses the compiled blocks
COMPILE_MODE = os.environ.get("FNSNN_FAST_COMPILE", "auto")  # "auto", "always" or "never"
_COMPILE_DTYPES = (torch.float32, torch.float64)  # half types: inductor's float32 arithmetic rounds differently
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

# --------------------------------------------------------------------------- #
# fused per-step kernels (torch.compile)
# --------------------------------------------------------------------------- #


def _forward_block(spec: _Spec, store_v: bool) -> Callable:
    """``block(x_blk, v, p, s_out, v_out) -> v``: a few steps in one pass, writing ``S`` (and ``V``) for them."""
    base = 0.0 if spec.v_reset is None else spec.v_reset

    def block(x_blk, v, p, s_out, v_out):
        spikes, vs = [], []
        for x in x_blk.unbind(0):
            h = _charge(x, v, p, base, spec)
            spikes.append((h - spec.v_threshold >= 0).to(s_out.dtype))
            v = _after_reset(h, spec)
            vs.append(v)
        # one copy per block: writing each step into a slice of these views compiled to code that
        # ran about 10x slower here
        s_out.copy_(torch.stack(spikes))
        if store_v:
            v_out.copy_(torch.stack(vs))
        return v

    return block


def _backward_block(spec: _Spec, has_gs: bool, has_gvs: bool, param_grad: bool) -> Callable:
    """``block(x_blk, v, p, gs_blk, gvs_blk, gv, acc, gx_out) -> (gv, acc, gX or None)``: reversed steps.

    Recomputes the block's ``H`` from its first potential ``v``, then runs the reverse recurrence,
    writing the block's ``gX`` into ``gx_out`` (compiled), or, with ``gx_out=None``, returning it
    (eager, which must not write in place: under ``vmap`` the gradients may be batched where the
    output is not); ``acc`` accumulates ``gH ∂H/∂p`` elementwise.
    """
    base = 0.0 if spec.v_reset is None else spec.v_reset

    def block(x_blk, v, p, gs_blk, gvs_blk, gv, acc, gx_out):
        xs = x_blk.unbind(0)
        hs, v_prev = [], []
        for x in xs:
            v_prev.append(v)
            h = _charge(x, v, p, base, spec)
            hs.append(h)
            v = _after_reset(h, spec)
        gss = gs_blk.unbind(0) if has_gs else None
        gvss = gvs_blk.unbind(0) if has_gvs else None
        dh_dv, dh_dx = _dh(spec, p)
        gxs = [None] * len(xs)
        for i in range(len(xs) - 1, -1, -1):
            if has_gvs:
                gv = gv + gvss[i]
            z = hs[i] - spec.v_threshold
            d = spec.surrogate.derivative(z)
            if spec.v_reset is not None:
                dv_dh = (z < 0).to(z.dtype)
                if not spec.detach_reset:
                    dv_dh = dv_dh + (spec.v_reset - hs[i]) * d
                gh = gv * dv_dh
            else:
                gh = gv if spec.detach_reset else gv * (1.0 - spec.v_threshold * d)
            if has_gs:
                gh = gss[i] * d + gh
            gxs[i] = gh * dh_dx
            if param_grad:
                leak = v_prev[i] - base
                if spec.param_mode == PARAM_DIV:
                    dh_dp = -(xs[i] - leak) / (p * p) if spec.decay_input else leak / (p * p)
                else:
                    dh_dp = xs[i] - leak if spec.decay_input else -leak
                acc = acc + gh * dh_dp
            gv = gh * dh_dv
        if gx_out is None:
            return gv, acc, torch.stack(gxs)
        gx_out.copy_(torch.stack(gxs))
        return gv, acc, None

    return block


def block_compiler(forward_block: Callable, backward_block: Callable, prefix: str):
    """``(compiled, cache)`` for a pair of block builders ``builder(spec, *flags) -> block``.

    ``compiled(kind, dtype, spec, *flags)`` returns the fused block ``kind`` ("forward" or
    "backward") for one static configuration, built with ``torch.compile`` on first use and kept in
    ``cache`` (an ``lru_cache``). The key holds only what the block reads: blocks never store
    ``v_seq`` themselves, and the forward ignores the surrogate and ``detach_reset``. Each
    configuration gets a code object of its own, so torch.compile keeps one cache entry each instead
    of recompiling one shared function past its recompile limit. The first shape compiles static
    code; a second shape (or a shorter last block) recompiles it once with dynamic sizes
    (torch.compile's automatic dynamic shapes), which then serves every shape. Measured on a 2-core
    CPU: about 10 s for the first build in a process (inductor start-up), then 2-8 s per
    configuration and direction.
    """

    @functools.lru_cache(maxsize=None)
    def cache(kind: str, dtype: torch.dtype, spec, *flags) -> Callable:
        del dtype  # part of the key only
        fn = (forward_block if kind == "forward" else backward_block)(spec, *flags)
        code = fn.__code__.replace(co_name=f"{prefix}_{kind}_block")
        fn = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        return torch.compile(fn, dynamic=None, fullgraph=True)

    def compiled(kind: str, dtype: torch.dtype, spec, *flags) -> Callable:
        spec = dataclasses.replace(spec, store_v=False)
        if kind == "forward":
            spec = dataclasses.replace(spec, surrogate=None, detach_reset=False)
        return cache(kind, dtype, spec, *flags)

    return compiled, cache


_compiled, _compiled_block = block_compiler(_forward_block, _backward_block, "fnsnn")


def _build_errors() -> tuple:
    """The exceptions that mean "inductor could not build the step here" (not bugs in the step)."""
    import torch._dynamo.exc as dynamo_exc
    import torch._inductor.exc as inductor_exc

    return (dynamo_exc.BackendCompilerFailed, inductor_exc.InvalidCxxCompiler, inductor_exc.CppCompileError)


def _use_compiled(like: Tensor) -> bool:
    """Whether the loops run the compiled blocks for steps like ``like`` (see :data:`COMPILE_MODE`)."""
    if COMPILE_MODE not in ("auto", "always", "never"):
        raise ValueError(f"fnsnn fast scan: COMPILE_MODE (FNSNN_FAST_COMPILE) must be 'auto', 'always' or "
                         f"'never', got {COMPILE_MODE!r}")
    if COMPILE_MODE == "never" or like.device.type != "cpu" or like.dtype not in _COMPILE_DTYPES:
        return False
    if torch._C._are_functorch_transforms_active() or torch.compiler.is_compiling():
        return False
    return COMPILE_MODE == "always" or like.numel() >= COMPILE_MIN_NUMEL


@functools.lru_cache(maxsize=None)
def _warn_build_failed(reason: str) -> None:
    warnings.warn(f"fnsnn fast scan: torch.compile could not build the fused step ({reason}); using the eager "
                  f"loop. Set FNSNN_FAST_COMPILE=never to skip the attempt.", RuntimeWarning, stacklevel=5)


def _run_compiled(loop: Callable):
    """``loop()``'s result, or ``None`` if the compiler failed in ``"auto"`` mode (after one warning)."""
    try:
        return loop()
    except _build_errors() as exc:
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        if COMPILE_MODE == "always":
            raise RuntimeError(f"fnsnn fast scan: FNSNN_FAST_COMPILE='always' but torch.compile could not "
                               f"build the fused step: {reason}") from exc
        _warn_build_failed(reason)
        return None


def _as_tensor(param, like: Tensor) -> Tensor:
    # a 0-d tensor, not a Python number, so that a new tau does not recompile the step; detached, since
    # the compiler would otherwise inspect the autograd fields of a tensor that requires grad
    return param.detach() if isinstance(param, Tensor) else torch.tensor(param, dtype=like.dtype)


def _blocks(T: int):
    return [(start, min(start + _BLOCK, T)) for start in range(0, T, _BLOCK)]


def _forward_compiled(x_seq: Tensor, v0: Tensor, param, spec: _Spec):
    """The forward over compiled blocks; saves the potentials before steps ``K, 2K, ...`` (``K = _BLOCK``)."""
    p = _as_tensor(param, x_seq)
    x_seq, v0 = x_seq.detach(), v0.detach()
    block = _compiled("forward", x_seq.dtype, spec, spec.store_v)

    def loop():
        spikes = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq) if spec.store_v else x_seq.new_empty(0)
        v = v0.expand_as(x_seq[0]).contiguous() if v0.shape != x_seq.shape[1:] else v0
        checkpoints = []
        for start, stop in _blocks(x_seq.shape[0]):
            if start:
                checkpoints.append(v)
            v = block(x_seq[start:stop], v, p, spikes[start:stop], v_seq[start:stop] if spec.store_v else None)
        return (spikes, v_seq, v, *checkpoints)

    return _run_compiled(loop)


def _backward_blocks(spec: _Spec, x_seq, v0, checkpoints, param, grad_spike, grad_v_seq, grad_v_final,
                     param_grad: bool, compiled: bool):
    """The reversed loop over blocks (compiled or eager), recomputing each block's ``H`` from its checkpoint."""
    p = _as_tensor(param, x_seq)
    x_seq, v0 = x_seq.detach(), v0.detach()
    has_gs = grad_spike is not None
    has_gvs = grad_v_seq is not None and grad_v_seq.numel() > 0
    flags = (has_gs, has_gvs, param_grad)
    block = _compiled("backward", x_seq.dtype, spec, *flags) if compiled else _backward_block(spec, *flags)

    def loop():
        like = x_seq[0]
        gv = (grad_v_final if grad_v_final is not None else torch.zeros_like(like)).expand_as(like).contiguous()
        acc = torch.zeros_like(like) if param_grad else like.new_zeros(())
        grad_x = torch.empty_like(x_seq) if compiled else None
        pieces = []
        for i, (start, stop) in reversed(list(enumerate(_blocks(x_seq.shape[0])))):
            v = checkpoints[i - 1] if i else v0.expand_as(like)
            gv, acc, piece = block(x_seq[start:stop], v, p, grad_spike[start:stop] if has_gs else None,
                                   grad_v_seq[start:stop] if has_gvs else None, gv, acc,
                                   grad_x[start:stop] if compiled else None)
            pieces.append(piece)
        grad_param = acc.sum_to_size(p.shape) if param_grad else None
        return (grad_x if compiled else torch.cat(pieces[::-1])), gv, grad_param

    return _run_compiled(loop) if compiled else loop()


def batched_scan_inputs(size: int, x_seq: Tensor, x_dim, states, state_dims, params, param_dims):
    """The arguments of one scan over a whole vmapped batch (a scan Function's ``vmap`` rule).

    The vmapped dimension becomes dimension 1 of the input (``[T, B, *step]``) and dimension 0 of each
    state (``[B, *step]``); unbatched ones are expanded to it. A batched parameter ``[B, *p]`` becomes
    ``[B, 1, ..., *p]`` so that it broadcasts against a batched step as ``p`` did against a step. The
    scan then runs once on plain tensors, so a vmapped call takes the same code path as a single call
    (on the CPU, the compiled blocks). ``None`` states and Python-number parameters pass through.
    """
    x = x_seq.movedim(x_dim, 1) if x_dim is not None else x_seq.unsqueeze(1).expand(
        x_seq.shape[0], size, *x_seq.shape[1:])
    step_ndim = x.dim() - 2
    states = [s if s is None else s.movedim(d, 0) if d is not None else s.unsqueeze(0).expand(size, *s.shape)
              for s, d in zip(states, state_dims)]
    out = []
    for q, d in zip(params, param_dims):
        if d is not None:
            q = q.movedim(d, 0)
            q = q.reshape(size, *([1] * (step_ndim - (q.dim() - 1))), *q.shape[1:])
        out.append(q)
    return x, states, out


def batched_out_dims(outputs, x: Tensor) -> tuple:
    """Where each output of a scan run by :func:`batched_scan_inputs` holds the vmapped dimension.

    Sequences ``[T, B, ...]`` hold it at 1, per-step tensors ``[B, ...]`` at 0; the empty ``[0]``
    placeholders (outputs not asked for) are unbatched.
    """
    return tuple(None if tuple(o.shape) == (0,) else 1 if o.dim() == x.dim() else 0 for o in outputs)


class _LeakyScan(torch.autograd.Function):
    """``(x_seq, v0, param) -> (spike_seq, v_seq or [0], v_final, *H)``; ``param`` is tau, k or unused.

    ``*H`` is what the backward needs: the charged potential ``H[T, ...]`` from the eager loop, or, from
    the compiled steps, the potentials before steps ``K, 2K, ...`` (one tensor each, shaped like a step),
    from which the backward recomputes ``H`` a block at a time. Recomputing costs one more read of
    ``x`` but saves ``H`` (and the page faults of a fresh ``[T, ...]`` buffer, which dominate on CPU).
    """

    @staticmethod
    def vmap(info, in_dims, x_seq: Tensor, v0: Tensor, param, spec: _Spec):
        x_dim, v_dim, p_dim, _ = in_dims
        x, (v,), (param,) = batched_scan_inputs(info.batch_size, x_seq, x_dim, (v0,), (v_dim,), (param,), (p_dim,))
        out = _LeakyScan.apply(x, v, param, spec)
        return out, batched_out_dims(out, x)

    @staticmethod
    def forward(x_seq: Tensor, v0: Tensor, param, spec: _Spec):
        if _use_compiled(x_seq[0]):
            out = _forward_compiled(x_seq, v0, param, spec)
            if out is not None:
                return out
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
        return spikes, v_seq, v, h_seq

    @staticmethod
    def setup_context(ctx, inputs, output):
        x_seq, v0, param, spec = inputs
        ctx.spec = spec
        ctx.param = None if isinstance(param, Tensor) else param
        ctx.param_saved = isinstance(param, Tensor)
        ctx.save_for_backward(x_seq, v0, *((param,) if ctx.param_saved else ()), *output[3:])
        ctx.mark_non_differentiable(*output[3:])
        ctx.set_materialize_grads(False)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spike, grad_v_seq, grad_v_final, *grad_h):
        spec = ctx.spec
        x_seq, v0, *rest = ctx.saved_tensors
        param = rest[0] if ctx.param_saved else ctx.param
        extra = rest[1:] if ctx.param_saved else rest
        rest = rest[:1] if ctx.param_saved else []
        if len(extra) == 1 and extra[0].dim() == x_seq.dim():  # the eager forward saved H[T, ...]
            h_seq = extra[0]
        else:  # the compiled forward saved checkpoints
            args = (spec, x_seq, v0, extra, param, grad_spike, grad_v_seq, grad_v_final,
                    bool(rest) and ctx.needs_input_grad[2])
            out = _backward_blocks(*args, compiled=True) if _use_compiled(x_seq[0]) else None
            return (out if out is not None else _backward_blocks(*args, compiled=False)) + (None,)
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
        spikes, v_seq, v, *_ = _LeakyScan.apply(x_seq, state.v, param_of(cfg), _spec(cfg, param_mode, return_v_seq))
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
