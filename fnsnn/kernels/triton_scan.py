"""The Triton scan: a traced :class:`~fnsnn.kernels.ir.Program` printed as two Triton kernels.

Each program instance owns a block of elements and walks all ``T`` steps with
the state in registers. The forward writes ``y[t]`` (and optionally the trace),
and the state before every step, which the backward reads while it walks time in
reverse through the program's vector-Jacobian product, writing ``gx[t]`` and
accumulating each parameter's per-element gradient. One launch per direction.

Arithmetic runs in float32 (float64 for float64 inputs) with correctly rounded
division and square root and no fused multiply-add, so float32/float64 results
equal the reference wherever the program is exact; half-precision inputs are
computed in float32 and rounded once per stored value. Generated modules are
written to the on-disk cache (``FNSNN_CACHE_DIR``) and imported from there, as
Triton reads a kernel's source from its file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from typing import List, Optional, Sequence

import torch
import triton

from .cpu import cache_dir as _cpu_cache_dir
from .ir import Body, Program

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_UNSUPPORTED = {"atan"}  # no Triton code: such programs run on the other backends


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def unsupported(program: Program, dtype: torch.dtype) -> Optional[str]:
    """``None`` if the Triton scan can run ``program`` on ``dtype`` inputs, else the reason."""
    if dtype not in DTYPES:
        return f"dtype {dtype} is not one of {DTYPES}"
    for body in (program.forward, program.backward):
        for op in body.ops:
            if op.op in _UNSUPPORTED:
                return f"the operation {op.op!r} has no Triton code"
            if op.op == "pow" and op.args[1] not in (2.0, 3.0, 0.5, -1.0, -2.0, -0.5, 1.0):
                return "a power with a general exponent has no Triton code"
    return None


def _lit(value: float) -> str:
    if value != value:
        return "float('nan')"
    if value in (float("inf"), float("-inf")):
        return f"float('{value}')"
    return repr(float(value))


def _statements(body: Body, names, indent: str, is64: bool) -> tuple:
    env = dict(names)
    lines: List[str] = []

    def a(v):
        return env[v] if isinstance(v, str) else f"tl.full([BLOCK], {_lit(v)}, ACC)"

    def div(p, q):
        return f"({p} / {q})" if is64 else f"tl.math.div_rn({p}, {q})"

    def sqrt(p):
        return f"tl.sqrt({p})" if is64 else f"tl.sqrt_rn({p})"

    for op in body.ops:
        args = [None if v is None else a(v) for v in op.args]
        x = args[0]
        o = op.op
        if o in ("add", "sub", "mul"):
            expr = f"({x} {dict(add='+', sub='-', mul='*')[o]} {args[1]})"
        elif o == "div":
            expr = div(x, args[1])
        elif o in ("ge", "gt", "le", "lt", "eq", "ne"):
            expr = f"({x} {dict(ge='>=', gt='>', le='<=', lt='<', eq='==', ne='!=')[o]} {args[1]})"
        elif o in ("and", "or"):
            expr = f"({x} {'&' if o == 'and' else '|'} {args[1]})"
        elif o == "not":
            expr = f"({x} == 0)"
        elif o == "neg":
            expr = f"(-{x})"
        elif o == "abs":
            expr = f"tl.abs({x})"
        elif o == "exp":
            expr = f"tl.exp({x})"
        elif o == "log":
            expr = f"tl.log({x})"
        elif o == "sigmoid":
            expr = div("1.0", f"(1.0 + tl.exp(-{x}))")
        elif o == "tanh":
            expr = f"(2.0 * {div('1.0', f'(1.0 + tl.exp(-2.0 * {x}))')} - 1.0)"
        elif o == "relu":
            expr = f"tl.where({x} != {x}, {x}, tl.where({x} > 0, {x}, 0.0))"
        elif o == "sqrt":
            expr = sqrt(x)
        elif o == "rsqrt":
            expr = div("1.0", sqrt(x))
        elif o == "reciprocal":
            expr = div("1.0", x)
        elif o == "sin":
            expr = f"tl.sin({x})"
        elif o == "cos":
            expr = f"tl.cos({x})"
        elif o == "erf":
            expr = f"tl.erf({x})"
        elif o == "floor":
            expr = f"tl.floor({x})"
        elif o == "ceil":
            expr = f"tl.ceil({x})"
        elif o == "trunc":
            expr = f"tl.where({x} < 0, tl.ceil({x}), tl.floor({x}))"
        elif o == "round":  # half to even, as torch.round
            r = f"tl.floor({x} + 0.5)"
            expr = (f"tl.where(tl.abs({x}) >= 8388608.0, {x}, tl.where((({r}) - {x} == 0.5) & "
                    f"(({r}) - 2.0 * tl.floor(({r}) * 0.5) != 0.0), ({r}) - 1.0, {r}))")
        elif o == "sign":
            expr = f"tl.where({x} > 0, 1.0, tl.where({x} < 0, -1.0, 0.0 * {x}))"
        elif o == "log1p":
            expr = f"tl.log(1.0 + {x})"
        elif o == "expm1":
            expr = f"(tl.exp({x}) - 1.0)"
        elif o == "square":
            expr = f"({x} * {x})"
        elif o in ("max", "min"):
            f = "maximum" if o == "max" else "minimum"
            expr = f"tl.{f}({x}, {args[1]}, propagate_nan=tl.PropagateNan.ALL)"
        elif o == "pow":
            e = op.args[1]
            expr = {2.0: f"({x} * {x})", 3.0: f"({x} * {x} * {x})", 0.5: sqrt(x), -1.0: div("1.0", x),
                    -2.0: div("1.0", f"({x} * {x})"), -0.5: div("1.0", sqrt(x)), 1.0: x}[e]
        elif o == "where":
            expr = f"tl.where({x}, {args[1]}, {args[2]})"
        elif o == "cast":
            expr = f"({x} != 0)" if op.kind == "b" else f"{x}.to(ACC)"
        elif o == "clamp":
            expr = x
            if args[1] is not None:
                expr = f"tl.maximum({expr}, {args[1]}, propagate_nan=tl.PropagateNan.ALL)"
            if args[2] is not None:
                expr = f"tl.minimum({expr}, {args[2]}, propagate_nan=tl.PropagateNan.ALL)"
        else:  # pragma: no cover - unsupported() rejects the rest
            raise ValueError(f"fnsnn Triton scan: no code for the operation {o!r}")
        if op.kind == "f" and o not in ("cast",):
            expr = f"({expr}).to(ACC)"
        lines.append(f"{indent}v_{op.out} = {expr}")
        env[op.out] = f"v_{op.out}"
    return lines, env


def _out(env, value) -> str:
    if value is None:
        return "tl.zeros([BLOCK], ACC)"
    return env[value] if isinstance(value, str) else f"tl.full([BLOCK], {_lit(value)}, ACC)"


def generate(program: Program, trace_field: int, need: Sequence[bool], is64: bool) -> str:
    """Python source of the jitted kernels ``fwd`` and ``bwd`` for ``program``."""
    S, P = program.n_state, program.n_params
    nd = len(program.forward.inputs) - 1 - S
    ne = len(program.backward.inputs) - 2 - 2 * S
    acc = "tl.float64" if is64 else "tl.float32"
    src = ["import triton", "import triton.language as tl", ""]
    args = ["x_ptr", *(f"s{f}_ptr" for f in range(S)), *(f"d{j}_ptr, d{j}_s" for j in range(nd)), "y_ptr",
            "vs_ptr", *(f"sT{f}_ptr" for f in range(S)), *(f"sv{f}_ptr" for f in range(S)), "M", "T",
            "STORE_V: tl.constexpr", "BLOCK: tl.constexpr"]
    src += ["@triton.jit", f"def fwd({', '.join(args)}):", f"    ACC = {acc}",
            "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)", "    mask = offs < M"]
    for f in range(S):
        src.append(f"    s{f} = tl.load(s{f}_ptr + offs, mask=mask, other=0.0).to(ACC)")
        src.append(f"    svp{f} = sv{f}_ptr + offs")
    for j in range(nd):
        src.append(f"    d{j} = tl.load(d{j}_ptr + offs * d{j}_s, mask=mask, other=1.0).to(ACC)")
    src += ["    xp = x_ptr + offs", "    yp = y_ptr + offs", "    vp = vs_ptr + offs", "    for _ in range(T):",
            "        x = tl.load(xp, mask=mask, other=0.0).to(ACC)"]
    for f in range(S):
        src.append(f"        tl.store(svp{f}, s{f}.to(sv{f}_ptr.dtype.element_ty), mask=mask)")
    names = {"x": "x", **{f"s{f}": f"s{f}" for f in range(S)}, **{f"d{j}": f"d{j}" for j in range(nd)}}
    lines, env = _statements(program.forward, names, "        ", is64)
    src += lines
    src.append(f"        tl.store(yp, ({_out(env, program.forward.outputs[0])}).to(y_ptr.dtype.element_ty), "
               f"mask=mask)")
    for f in range(S):
        src.append(f"        s{f} = {_out(env, program.forward.outputs[1 + f])}")
    src += ["        if STORE_V:",
            f"            tl.store(vp, s{trace_field}.to(vs_ptr.dtype.element_ty), mask=mask)",
            "            vp += M", "        xp += M", "        yp += M"]
    for f in range(S):
        src.append(f"        svp{f} += M")
    for f in range(S):
        src.append(f"    tl.store(sT{f}_ptr + offs, s{f}.to(sT{f}_ptr.dtype.element_ty), mask=mask)")
    src.append("")

    args = ["x_ptr", *(f"sv{f}_ptr" for f in range(S)), *(f"e{j}_ptr, e{j}_s" for j in range(ne)), "gy_ptr",
            "gv_ptr", *(f"gT{f}_ptr" for f in range(S)), "gx_ptr", *(f"gs{f}_ptr" for f in range(S)),
            *(f"gp{j}_ptr" for j in range(P)), "M", "T", "HAS_GV: tl.constexpr", "BLOCK: tl.constexpr"]
    src += ["@triton.jit", f"def bwd({', '.join(args)}):", f"    ACC = {acc}",
            "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)", "    mask = offs < M",
            "    last = (T - 1) * M"]
    for f in range(S):
        src.append(f"    g{f} = tl.load(gT{f}_ptr + offs, mask=mask, other=0.0).to(ACC)")
        src.append(f"    svp{f} = sv{f}_ptr + last + offs")
    for j in range(ne):
        src.append(f"    e{j} = tl.load(e{j}_ptr + offs * e{j}_s, mask=mask, other=1.0).to(ACC)")
    for j in range(P):
        if need[j]:
            src.append(f"    a{j} = tl.zeros([BLOCK], ACC)")
    src += ["    xp = x_ptr + last + offs", "    gyp = gy_ptr + last + offs", "    gvp = gv_ptr + last + offs",
            "    gxp = gx_ptr + last + offs", "    for _ in range(T):",
            "        x = tl.load(xp, mask=mask, other=0.0).to(ACC)",
            "        gy = tl.load(gyp, mask=mask, other=0.0).to(ACC)"]
    for f in range(S):
        src.append(f"        s{f} = tl.load(svp{f}, mask=mask, other=0.0).to(ACC)")
    src += ["        if HAS_GV:", f"            g{trace_field} = g{trace_field} + tl.load(gvp, mask=mask, "
            f"other=0.0).to(ACC)", "            gvp -= M"]
    names = {"x": "x", **{f"s{f}": f"s{f}" for f in range(S)}, "gy": "gy", **{f"gn{f}": f"g{f}" for f in range(S)},
             **{f"e{j}": f"e{j}" for j in range(ne)}}
    lines, env = _statements(program.backward, names, "        ", is64)
    src += lines
    outs = program.backward.outputs
    src.append(f"        tl.store(gxp, ({_out(env, outs[0])}).to(gx_ptr.dtype.element_ty), mask=mask)")
    for f in range(S):
        src.append(f"        g{f} = {_out(env, outs[1 + f])}")
    for j in range(P):
        if need[j]:
            src.append(f"        a{j} = a{j} + {_out(env, outs[1 + S + j])}")
    src += ["        xp -= M", "        gyp -= M", "        gxp -= M"]
    for f in range(S):
        src.append(f"        svp{f} -= M")
    for f in range(S):
        src.append(f"    tl.store(gs{f}_ptr + offs, g{f}.to(gs{f}_ptr.dtype.element_ty), mask=mask)")
    for j in range(P):
        if need[j]:
            src.append(f"    tl.store(gp{j}_ptr + offs, a{j}, mask=mask)")
    return "\n".join(src) + "\n"


@functools.lru_cache(maxsize=None)
def _module(source: str):
    key = hashlib.sha256(source.encode()).hexdigest()[:32]
    directory = os.path.join(os.path.dirname(_cpu_cache_dir()), "triton")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"scan_{key}.py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    name = f"fnsnn_generated_scan_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def _launch(x: torch.Tensor):
    if _interpreting():
        return 128, {}
    return 1024, dict(num_warps=4, enable_fp_fusion=False)


def _saved_dtype(dtype: torch.dtype) -> torch.dtype:
    return compute_dtype(dtype) if dtype in (torch.float16, torch.bfloat16) else dtype


def forward(program: Program, trace_field: int, x: torch.Tensor, s0: Sequence[torch.Tensor],
            d: Sequence[torch.Tensor], store_v: bool):
    """``(y [T, M], v_seq or [0], final states [M] each, per-step states [T, M] each)``."""
    T, M = x.shape
    is64 = x.dtype == torch.float64
    module = _module(generate(program, trace_field, (False,) * program.n_params, is64))
    y = torch.empty_like(x)
    vs = torch.empty_like(x) if store_v else x.new_empty(0)
    sT = [torch.empty_like(s) for s in s0]
    sv = [torch.empty((T, M), dtype=_saved_dtype(x.dtype), device=x.device) for _ in s0]
    block, opts = _launch(x)
    if M > 0:
        args = [x, *s0]
        for t in d:
            args += [t, 0 if t.numel() == 1 else 1]
        args += [y, vs if store_v else y, *sT, *sv, M, T]
        module.fwd[(triton.cdiv(M, block),)](*args, STORE_V=store_v, BLOCK=block, **opts)
    return y, vs, sT, sv


def backward(program: Program, trace_field: int, x, sv, e, gy, gv, gT, need):
    """``(gx [T, M], grads of the initial states [M] each, per-element parameter grads [M] or None)``."""
    T, M = x.shape
    is64 = x.dtype == torch.float64
    module = _module(generate(program, trace_field, tuple(need), is64))
    gx = torch.empty_like(x)
    gs = [torch.empty_like(g) for g in gT]
    acc = compute_dtype(x.dtype)
    gp = [torch.empty(M, dtype=acc, device=x.device) if n else None for n in need]
    block, opts = _launch(x)
    if M > 0:
        args = [x, *sv]
        for t in e:
            args += [t, 0 if t.numel() == 1 else 1]
        args += [gy, gv if gv is not None else gy, *gT, gx, *gs, *(g if g is not None else gx for g in gp), M, T]
        module.bwd[(triton.cdiv(M, block),)](*args, HAS_GV=gv is not None, BLOCK=block, **opts)
    return gx, gs, [None if g is None else g.to(x.dtype) for g in gp]
