"""The CPU scan: a traced :class:`~fnsnn.kernels.ir.Program` printed as C, compiled, called through ctypes.

For a chunk of elements at a time the forward walks all ``T`` steps with the
state in a small array that stays in cache, reads ``x[t]`` and writes ``y[t]``
(and optionally the trace ``v[t]``), and keeps the state before steps
``K, 2K, ...`` (one ``[M]`` tensor per block and field). The backward walks the
blocks in reverse: it recomputes a block's states from its checkpoint, then runs
the vector-Jacobian product step by step backwards, writing ``gx[t]`` and
adding each step's share of every parameter's gradient into a per-element
accumulator. Each direction therefore reads and writes every ``[T, M]`` array
once, which is the memory-bandwidth floor of the scan.

The code is plain C99 with IEEE arithmetic (``-ffp-contract=off``, no
fast-math), so exactly rounded operations give torch's bits; ``exp`` has its own
vectorisable implementation (about 1 ulp). Compiled libraries are cached on
disk, keyed by the source, the compiler and the processor, so a second process
loads them without compiling. ``FNSNN_CC`` (else ``CC``, else ``cc``) names the
compiler; ``FNSNN_CACHE_DIR`` the cache (default ``~/.cache/fnsnn``).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import math
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch

from .ir import Body, Program, _live, recomputed

log = logging.getLogger("fnsnn")

CHUNK = 1024  # elements whose state one inner loop keeps in cache (a contiguous run of each [T, M] row)
BLOCK = 16  # steps between checkpoints; the backward recomputes one block at a time
HUGE_MIN = 8 << 20  # bytes from which new buffers ask the kernel for huge pages
PARALLEL_MIN = 16384  # elements from which the work is split over threads
DTYPES = {torch.float32: "float", torch.float64: "double"}

_PRELUDE = r"""
#include <stdint.h>
#include <math.h>
#include <string.h>
typedef REAL R;
typedef int B;
#ifdef __FMA__
#define FX_MADD(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define FX_MADD(a, b, c) ((a) * (b) + (c))
#endif
static inline float fx_expf(float x) {
    /* exp(x) = 2^n e^r with |r| <= ln2/2: a degree-6 polynomial for e^r (Horner, fused where the CPU
       has FMA), 2^n scaled in two halves so that results down to the subnormals keep their bits */
    float c = x > 88.72283935546875f ? 88.72283935546875f : x;
    c = c < -103.972084045410156f ? -103.972084045410156f : c;
    float n = nearbyintf(c * 1.44269504088896341f);
    float r = FX_MADD(n, -0.693359375f, c);
    r = FX_MADD(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = FX_MADD(p, r, 1.3981999507e-3f);
    p = FX_MADD(p, r, 8.3334519073e-3f);
    p = FX_MADD(p, r, 4.1665795894e-2f);
    p = FX_MADD(p, r, 1.6666665459e-1f);
    p = FX_MADD(p, r, 5.0000001201e-1f);
    p = FX_MADD(p, r * r, r) + 1.0f;
    int32_t k = (int32_t)n;
    int32_t k1 = k >> 1;
    int32_t k2 = k - k1;
    union { int32_t i; float f; } a, b;
    a.i = (k1 + 127) << 23;
    b.i = (k2 + 127) << 23;
    float y = p * a.f * b.f;
    y = x > 88.72283935546875f ? INFINITY : y;
    y = x < -103.972084045410156f ? 0.0f : y;
    return x != x ? x : y;
}
static inline double fx_exp(double x) { return exp(x); }
#define EXP_R(v) (sizeof(R) == 4 ? (R)fx_expf((float)(v)) : (R)fx_exp((double)(v)))
static inline R fx_max(R a, R b) { return (a != a || b != b) ? a + b : (a > b ? a : b); }
static inline R fx_min(R a, R b) { return (a != a || b != b) ? a + b : (a < b ? a : b); }
static inline R fx_relu(R a) { return a != a ? a : (a > 0 ? a : (R)0); }
static inline R fx_sign(R a) { return (R)((a > 0) - (a < 0)); }
"""
_OPENMP_PROBE = """#ifdef _OPENMP
int fx_openmp(void) { return 1; }
#else
int fx_openmp(void) { return 0; }
#endif"""


# Chunks are independent: with OpenMP they are shared out over the team of torch's own OpenMP runtime
# (the library links the libgomp.so.1 torch has loaded), ``nt`` threads, or run in the caller's thread.
_CHUNK_LOOP = """  #pragma omp parallel for num_threads(nt) schedule(static) if(nt > 1)
  for (int64_t c = m0; c < m1; c += CH) {"""


def _literal(value: float) -> str:
    if math.isnan(value):
        return "((R)NAN)"
    if math.isinf(value):
        return "((R)INFINITY)" if value > 0 else "((R)-INFINITY)"
    return f"((R){value!r})"


def _pow(a: str, b) -> str:
    if isinstance(b, float):  # the special cases ATen computes without pow()
        special = {2.0: f"({a} * {a})", 3.0: f"({a} * {a} * {a})", 0.5: f"sqrt({a})", -1.0: f"((R)1 / {a})",
                   -2.0: f"((R)1 / ({a} * {a}))", -0.5: f"((R)1 / sqrt({a}))", 1.0: f"({a})"}
        if b in special:
            return special[b]
        return f"pow({a}, {_literal(b)})"
    return f"pow({a}, {b})"


_UNARY_C = {
    "neg": "(-{0})", "abs": "fabs({0})", "exp": "EXP_R({0})", "log": "log({0})",
    "sigmoid": "((R)1 / ((R)1 + EXP_R(-{0})))", "tanh": "tanh({0})", "relu": "fx_relu({0})",
    "sqrt": "sqrt({0})", "rsqrt": "((R)1 / sqrt({0}))", "reciprocal": "((R)1 / {0})", "sin": "sin({0})",
    "cos": "cos({0})", "atan": "atan({0})", "erf": "erf({0})", "floor": "floor({0})", "ceil": "ceil({0})",
    "round": "nearbyint({0})", "trunc": "trunc({0})", "sign": "fx_sign({0})", "log1p": "log1p({0})",
    "expm1": "expm1({0})", "not": "(!{0})", "square": "({0} * {0})",
}
_BINARY_C = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
    "max": "fx_max({0}, {1})", "min": "fx_min({0}, {1})", "ge": "({0} >= {1})", "gt": "({0} > {1})",
    "le": "({0} <= {1})", "lt": "({0} < {1})", "eq": "({0} == {1})", "ne": "({0} != {1})",
    "and": "({0} & {1})", "or": "({0} | {1})",
}


def _statements(body: Body, names: Dict[str, str], indent: str) -> Tuple[List[str], Dict[str, str]]:
    """C statements computing ``body``'s ops; ``names`` maps the body's inputs to C expressions."""
    env = dict(names)
    lines = []

    def a(v):
        return env[v] if isinstance(v, str) else _literal(v)

    for op in body.ops:
        args = [None if v is None else a(v) for v in op.args]
        if op.op in _UNARY_C:
            expr = _UNARY_C[op.op].format(*args)
        elif op.op == "pow":
            expr = _pow(args[0], op.args[1] if not isinstance(op.args[1], str) else args[1])
        elif op.op in _BINARY_C:
            expr = _BINARY_C[op.op].format(*args)
        elif op.op == "where":
            expr = f"({args[0]} ? {args[1]} : {args[2]})"
        elif op.op == "cast":
            expr = f"((B)({args[0]} != 0))" if op.kind == "b" else f"((R)({args[0]}))"
        elif op.op == "clamp":
            expr = args[0]
            if args[1] is not None:
                expr = f"fx_max({expr}, {args[1]})"
            if args[2] is not None:
                expr = f"fx_min({expr}, {args[2]})"
        else:  # pragma: no cover - ir.py emits only the operations above
            raise ValueError(f"fnsnn CPU scan: no C code for the operation {op.op!r}")
        ctype = "B" if op.kind == "b" else "R"
        lines.append(f"{indent}const {ctype} v_{op.out} = {expr};")
        env[op.out] = f"v_{op.out}"
    return lines, env


def _out(env: Dict[str, str], value) -> str:
    if value is None:
        return "(R)0"
    return env[value] if isinstance(value, str) else _literal(value)


BLOCK_BYTES = 384 << 10  # most bytes of per-step values one chunk keeps over a block (about a core's L2)


def _vjp_reads(body: Body, outputs, shared: Dict[str, str], S: int, ctype: str):
    """How the vjp of a block gets the forward values it needs: ``(ops, kept, states)``.

    ``kept``: values the vjp would compute again, taken from the rerun of the forward instead (one
    ``[KB, CH]`` buffer each); ``states``: the state fields the remaining ``ops`` still read. Where
    keeping them would not fit in :data:`BLOCK_BYTES`, the vjp computes everything from the state.
    """
    everything = _live(list(body.ops), outputs)
    rest = _live([op for op in everything if op.out not in shared], outputs)
    read = {a for op in rest for a in op.args if isinstance(a, str)} | {o for o in outputs if isinstance(o, str)}
    kept = [op.out for op in everything if op.out in shared and op.out in read]
    states = [f for f in range(S) if f"s{f}" in read]
    size = 4 if ctype == "float" else 8
    if (len(kept) + len(states)) * BLOCK * CHUNK * size <= BLOCK_BYTES:
        return rest, kept, states
    read = {a for op in everything for a in op.args if isinstance(a, str)}
    return everything, [], [f for f in range(S) if f"s{f}" in read or f"s{f}" in outputs]


FUNCTIONS = ("fwd", "fwd_v", "bwd", "bwd_v", "bwd_p", "bwd_vp")


def function_name(backward: bool, store_v: bool, with_p: bool = False) -> str:
    """The name in :data:`FUNCTIONS` of the forward (with the trace when ``store_v``) or of the backward
    (reading the trace's gradient when ``store_v``, writing the parameters' gradients when ``with_p``)."""
    if not backward:
        return "fwd_v" if store_v else "fwd"
    return "bwd" + ("_" if store_v or with_p else "") + ("v" if store_v else "") + ("p" if with_p else "")


def generate(program: Program, trace_field: int, ctype: str, only: Optional[str] = None) -> str:
    """C source of ``fwd``, ``fwd_v`` (also writing the trace) and the backward ``bwd``, ``bwd_v`` (with the
    trace's gradient), ``bwd_p``, ``bwd_vp`` (also the parameters' gradients, stored where the pointer is
    not null); with ``only`` (one of :data:`FUNCTIONS`), that function alone, so that each is compiled
    when a call first needs it. A null final-state cotangent ``gT<k>`` reads as zeros, and a null ``gs<k>``
    (the initial state's gradient) is not written. Each function holds its chunk loop twice: parameters
    read as scalars when every stride is 0, else from per-element buffers.
    """
    if only is not None and only not in FUNCTIONS:
        raise ValueError(f"generate: `only` must be one of {FUNCTIONS} or None, got {only!r}.")
    S, P = program.n_state, program.n_params
    nd = len(program.forward.inputs) - 1 - S
    ne = len(program.backward.inputs) - 2 - 2 * S
    src = [_PRELUDE.replace("REAL", ctype), f"#define CH {CHUNK}", f"#define KB {BLOCK}", _OPENMP_PROBE]

    def chunk_params(prefix, count, uniform):
        """Per-element parameters copied into chunk buffers; uniform ones (stride 0) are read as scalars."""
        if uniform:
            return []
        out = []
        for j in range(count):
            out.append(f"    R {prefix}{j}_[CH];")
            out.append(f"    for (int64_t i = 0; i < n; ++i) {prefix}{j}_[i] = {prefix}{j}[(c + i) * {prefix}{j}_s];")
        return out

    def param_names(prefix, count, uniform):
        return {f"{prefix}{j}": (f"{prefix}{j}c" if uniform else f"{prefix}{j}_[i]") for j in range(count)}

    def branches(counts, chunk):
        """``chunk(uniform)`` twice: with every parameter read as a scalar when all their strides are 0 (the
        usual case: numbers or 0-d tensors), and from per-element buffers otherwise."""
        names = [f"{prefix}{j}" for prefix, count in counts for j in range(count)]
        if not names:
            return chunk(False)
        out = [f"  if ({' && '.join(f'{p}_s == 0' for p in names)}) {{"]
        out += [f"  const R {p}c = {p}[0];" for p in names]
        out += chunk(True)
        out.append("  } else {")
        out += chunk(False)
        out.append("  }")
        return out

    def forward_chunks(store_v, uniform):
        src = [_CHUNK_LOOP]
        fwd_in = {"x": "xt[i]", **{f"s{f}": f"s{f}_[i]" for f in range(S)}, **param_names("d", nd, uniform)}
        src.append("    const int64_t n = m1 - c < CH ? m1 - c : CH;")
        for f in range(S):
            src.append(f"    R s{f}_[CH];")
            src.append(f"    for (int64_t i = 0; i < n; ++i) s{f}_[i] = s{f}[c + i];")
        src += chunk_params("d", nd, uniform)
        src.append("    for (int64_t t = 0; t < T; ++t) {")
        src.append("      if (t && t % KB == 0) {")
        for f in range(S):
            src.append(f"        for (int64_t i = 0; i < n; ++i) ck{f}[(t / KB - 1) * M + c + i] = s{f}_[i];")
        src.append("      }")
        src.append("      const R* xt = x + t * M + c;")
        src.append("      R* yt = y + t * M + c;")
        if store_v:
            src.append("      R* vt = vs + t * M + c;")
        src.append("      for (int64_t i = 0; i < n; ++i) {")
        lines, env = _statements(program.forward, fwd_in, "        ")
        src += lines
        src.append(f"        yt[i] = {_out(env, program.forward.outputs[0])};")
        for f in range(S):
            src.append(f"        s{f}_[i] = {_out(env, program.forward.outputs[1 + f])};")
        if store_v:
            src.append(f"        vt[i] = s{trace_field}_[i];")
        src.append("      }")
        src.append("    }")
        for f in range(S):
            src.append(f"    for (int64_t i = 0; i < n; ++i) sT{f}[c + i] = s{f}_[i];")
        src.append("  }")
        return src

    for store_v in (False, True):
        if only not in (None, function_name(False, store_v)):
            continue
        args = ["int nt", "int64_t T", "int64_t M", "int64_t m0", "int64_t m1", "const R* restrict x"]
        args += [f"const R* restrict s{f}" for f in range(S)]
        args += [f"const R* restrict d{j}, int64_t d{j}_s" for j in range(nd)]
        args += ["R* restrict y", "R* restrict vs"] + [f"R* restrict sT{f}" for f in range(S)]
        args += [f"R* restrict ck{f}" for f in range(S)]
        src.append(f"void fwd{'_v' if store_v else ''}({', '.join(args)}) {{")
        src += branches((("d", nd),), lambda uniform: forward_chunks(store_v, uniform))
        src.append("}")

    # backward: rerun a block's forward from its checkpoint, keeping per step what the vjp reads of it (the
    # forward values it would compute again, or the state where the forward is not kept), then the vjp
    # backwards through the block
    shared = recomputed(program)
    re_in = {"x": "xr[i]", **{f"s{f}": f"s{f}_[i]" for f in range(S)}}
    bwd_in = {"x": "xt[i]", **{f"s{f}": f"bf{f}[t - t0][i]" for f in range(S)}, "gy": "gyt[i]",
              **{f"gn{f}": (f"(g{f}_[i] + gvt[i])" if f == trace_field else f"g{f}_[i]") for f in range(S)}}
    for store_v, with_p in ((False, False), (True, False), (False, True), (True, True)):
        name = function_name(True, store_v, with_p)
        if only not in (None, name):
            continue
        args = ["int nt", "int64_t T", "int64_t M", "int64_t m0", "int64_t m1", "const R* restrict x"]
        args += [f"const R* restrict s{f}" for f in range(S)] + [f"const R* restrict ck{f}" for f in range(S)]
        args += [f"const R* restrict d{j}, int64_t d{j}_s" for j in range(nd)]
        args += [f"const R* restrict e{j}, int64_t e{j}_s" for j in range(ne)]
        args += ["const R* restrict gy", "const R* restrict gv"] + [f"const R* restrict gT{f}" for f in range(S)]
        args += ["R* restrict gx"] + [f"R* restrict gs{f}" for f in range(S)]
        args += [f"R* restrict gp{j}" for j in range(P)]
        src.append(f"void {name}({', '.join(args)}) {{")
        outs = program.backward.outputs
        emitted = outs[:1 + S] + (outs[1 + S:] if with_p else ())
        vjp_ops, kept, states = _vjp_reads(program.backward, emitted, shared, S, ctype)
        rerun_outputs = (None, *program.forward.outputs[1:], *(shared[v] for v in kept))
        rerun = Body(program.forward.inputs, _live(list(program.forward.ops), rerun_outputs), rerun_outputs)
        kinds = {op.out: op.kind for op in program.backward.ops}

        def chunks(uniform):  # called at once, for this function's choices
            src = [_CHUNK_LOOP]
            src.append("    const int64_t n = m1 - c < CH ? m1 - c : CH;")
            for f in range(S):
                src.append(f"    R g{f}_[CH], s{f}_[CH];")
                src.append(f"    for (int64_t i = 0; i < n; ++i) g{f}_[i] = gT{f} ? gT{f}[c + i] : (R)0;")
            for f in states:
                src.append(f"    R bf{f}[KB][CH];")
            for k, v in enumerate(kept):
                src.append(f"    {'B' if kinds[v] == 'b' else 'R'} kv{k}[KB][CH];")
            for j in range(P if with_p else 0):
                src.append(f"    R a{j}_[CH];")
                src.append(f"    for (int64_t i = 0; i < n; ++i) a{j}_[i] = 0;")
            src += chunk_params("d", nd, uniform)
            src += chunk_params("e", ne, uniform)
            src.append("    const int64_t nb = (T + KB - 1) / KB;")
            src.append("    for (int64_t b = nb - 1; b >= 0; --b) {")
            src.append("      const int64_t t0 = b * KB, t1 = (t0 + KB < T) ? t0 + KB : T;")
            for f in range(S):
                src.append(f"      const R* src{f} = b ? ck{f} + (b - 1) * M + c : s{f} + c;")
                src.append(f"      for (int64_t i = 0; i < n; ++i) s{f}_[i] = src{f}[i];")
            src.append("      for (int64_t t = t0; t < t1; ++t) {")
            src.append("        const R* xr = x + t * M + c;")
            src.append("        for (int64_t i = 0; i < n; ++i) {")
            for f in states:
                src.append(f"          bf{f}[t - t0][i] = s{f}_[i];")
            lines, env = _statements(rerun, {**re_in, **param_names("d", nd, uniform)}, "          ")
            src += lines
            for k, v in enumerate(kept):
                src.append(f"          kv{k}[t - t0][i] = {env[shared[v]]};")
            for f in range(S):
                src.append(f"          const R ns{f} = {_out(env, rerun.outputs[1 + f])};")
            for f in range(S):
                src.append(f"          s{f}_[i] = ns{f};")
            src.append("        }")
            src.append("      }")
            src.append("      for (int64_t t = t1 - 1; t >= t0; --t) {")
            src.append("        const R* xt = x + t * M + c;")
            src.append("        const R* gyt = gy + t * M + c;")
            if store_v:
                src.append("        const R* gvt = gv + t * M + c;")
            src.append("        R* gxt = gx + t * M + c;")
            src.append("        for (int64_t i = 0; i < n; ++i) {")
            names = {**bwd_in, **param_names("e", ne, uniform)}
            if not store_v:
                names[f"gn{trace_field}"] = f"g{trace_field}_[i]"
            names.update((v, f"kv{k}[t - t0][i]") for k, v in enumerate(kept))
            lines, env = _statements(Body(program.backward.inputs, vjp_ops, emitted), names, "          ")
            src += lines
            src.append(f"          gxt[i] = {_out(env, outs[0])};")
            for f in range(S):
                src.append(f"          g{f}_[i] = {_out(env, outs[1 + f])};")
            for j in range(P if with_p else 0):
                src.append(f"          a{j}_[i] += {_out(env, outs[1 + S + j])};")
            src.append("        }")
            src.append("      }")
            src.append("    }")
            for f in range(S):
                src.append(f"    if (gs{f}) for (int64_t i = 0; i < n; ++i) gs{f}[c + i] = g{f}_[i];")
            for j in range(P if with_p else 0):
                src.append(f"    if (gp{j}) for (int64_t i = 0; i < n; ++i) gp{j}[c + i] = a{j}_[i];")
            src.append("  }")
            return src

        src += branches((("d", nd), ("e", ne)), chunks)
        src.append("}")
    return "\n".join(src) + "\n"


# --------------------------------------------------------------------------- #
# compiling and loading
# --------------------------------------------------------------------------- #

_FLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared",
          "-std=c99"]
_lock = threading.Lock()
SLOW_COMPILE_S = 2.0  # a compile longer than this says so in one line


def compiler() -> Optional[str]:
    """The C compiler the CPU scan uses, or ``None`` if none is found."""
    return _find_compiler(os.environ.get("FNSNN_CC"), os.environ.get("CC"), os.environ.get("PATH"))


@functools.lru_cache(maxsize=16)
def _find_compiler(fnsnn_cc: Optional[str], cc: Optional[str], search_path: Optional[str]) -> Optional[str]:
    for name in (fnsnn_cc, cc, "cc", "gcc", "clang"):
        if name and shutil.which(name, path=search_path):
            return shutil.which(name, path=search_path)
    return None


@functools.lru_cache(maxsize=None)
def torch_uses_openmp() -> bool:
    """Whether torch's intra-op threads are an OpenMP team (the Linux builds): the scans then share out
    their chunks on that same team, linking the ``libgomp.so.1`` torch has loaded, so that they never
    compete with torch's own threads for the cores."""
    return "parallel backend: OpenMP" in torch.__config__.parallel_info()


@functools.lru_cache(maxsize=None)
def _toolchain_key() -> str:
    cc = compiler()
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60).stdout
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = "".join(line for line in f if line.startswith(("model name", "flags")))[:4096]
    except OSError:
        cpu = platform.processor()
    return "\n".join([cc, version, platform.machine(), cpu, " ".join(_FLAGS), str(torch_uses_openmp())])


def cache_dir() -> str:
    root = os.environ.get("FNSNN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "fnsnn")
    return os.path.join(root, "cpu")


class Kernel(NamedTuple):
    """One loaded C function; ``openmp`` when it shares its chunks out over an OpenMP team itself."""

    fn: Any
    openmp: bool


def build(source: str) -> ctypes.CDLL:
    """Compile ``source`` (or load it from the on-disk cache) and return the loaded library."""
    key = hashlib.sha256((_toolchain_key() + "\n" + source).encode()).hexdigest()[:32]
    return _load(key, source)


def kernel(library: ctypes.CDLL, name: str) -> Kernel:
    """The function ``name`` of a library :func:`build` returned."""
    return Kernel(getattr(library, name), bool(library.fx_openmp()))


@functools.lru_cache(maxsize=None)
def _load(key: str, source: str) -> ctypes.CDLL:
    serial = f"scan_{key}_serial.so"
    if torch_uses_openmp() and not os.path.exists(os.path.join(cache_dir(), serial)):
        try:
            return _compile_and_load(f"scan_{key}.so", source, ["-fopenmp"])
        except (RuntimeError, OSError) as exc:  # no OpenMP in this toolchain: the chunks are split from Python
            log.debug("fnsnn: the C scan builds without OpenMP here (%s)", str(exc).splitlines()[0][:200])
    return _compile_and_load(serial, source, [])


def _compile_and_load(name: str, source: str, extra: List[str]) -> ctypes.CDLL:
    directory = cache_dir()
    path = os.path.join(directory, name)
    with _lock:
        if not os.path.exists(path):
            os.makedirs(directory, exist_ok=True)
            started = time.perf_counter()
            with tempfile.TemporaryDirectory(dir=directory) as tmp:
                c_file = os.path.join(tmp, "scan.c")
                with open(c_file, "w") as f:
                    f.write(source)
                out = os.path.join(tmp, "scan.so")
                done = subprocess.run([compiler(), *_FLAGS, *extra, "-o", out, c_file, "-lm"], capture_output=True,
                                      text=True, timeout=600)
                if done.returncode != 0:
                    raise RuntimeError(f"the C compiler failed: {done.stderr.strip()[:2000]}")
                ctypes.CDLL(out)  # a library that cannot load here (a runtime it links is missing) is not kept
                os.replace(out, path)
            took = time.perf_counter() - started
            if took > SLOW_COMPILE_S:
                log.warning("fnsnn: compiling a CPU neuron scan took %.1f s; it is cached in %s, so later "
                            "processes load it at once", took, directory)
            else:
                log.debug("fnsnn: compiled a CPU scan in %.2f s (%s)", took, path)
    library = ctypes.CDLL(path)
    library.fx_openmp.restype = ctypes.c_int
    library.fx_openmp.argtypes = []
    return library


# --------------------------------------------------------------------------- #
# calling
# --------------------------------------------------------------------------- #

_pool_lock = threading.Lock()
_pools: Dict[int, ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    with _pool_lock:
        if n not in _pools:
            _pools[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fnsnn-scan")
        return _pools[n]


_libc = None


def empty(shape, like: torch.Tensor) -> torch.Tensor:
    """A new uninitialised tensor; a large one is advised to use transparent huge pages before its first touch.

    The scan writes each output once, so for large outputs the page faults of fresh memory (one per
    4 KiB page) cost as much as the scan itself on some machines; with 2 MiB pages there are 512
    times fewer. Where the kernel declines (or is not Linux), nothing changes.
    """
    global _libc
    t = torch.empty(shape, dtype=like.dtype, device=like.device)
    nbytes = t.numel() * t.element_size()
    if nbytes < HUGE_MIN or not t.is_cpu or not hasattr(os, "sched_getaffinity"):
        return t
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        page = 2 << 20
        start = (t.data_ptr() + page - 1) // page * page
        stop = (t.data_ptr() + nbytes) // page * page
        if stop > start:
            _libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(stop - start), 14)  # MADV_HUGEPAGE
    except (OSError, AttributeError):
        pass
    return t


def _ptr(t: Optional[torch.Tensor]) -> ctypes.c_void_p:
    return ctypes.c_void_p(0 if t is None or t.numel() == 0 else t.data_ptr())


def run_split(kernel: Kernel, M: int, head: Sequence, tail: Sequence) -> None:
    """Call ``kernel.fn(nt, *head, m0, m1, *tail)`` over ``[0, M)`` on torch's intra-op threads.

    A kernel built with OpenMP takes the whole range and shares its chunks out over ``nt`` threads of
    torch's own team; otherwise the range is split here and the pieces run on a thread pool (ctypes
    releases the GIL during the call, so they run in parallel).
    """
    fn = kernel.fn
    threads = max(1, torch.get_num_threads())
    if threads == 1 or M < PARALLEL_MIN:
        fn(ctypes.c_int(1), *head, ctypes.c_int64(0), ctypes.c_int64(M), *tail)
        return
    if kernel.openmp:
        fn(ctypes.c_int(threads), *head, ctypes.c_int64(0), ctypes.c_int64(M), *tail)
        return
    step = -(-M // threads)
    step = -(-step // CHUNK) * CHUNK
    bounds = [(m, min(M, m + step)) for m in range(0, M, step)]
    one = ctypes.c_int(1)
    futures = [_pool(threads).submit(fn, one, *head, ctypes.c_int64(a), ctypes.c_int64(b), *tail)
               for a, b in bounds[1:]]
    fn(one, *head, ctypes.c_int64(bounds[0][0]), ctypes.c_int64(bounds[0][1]), *tail)
    for f in futures:
        f.result()


def param_args(values: Sequence[torch.Tensor]) -> List:
    """``(pointer, stride)`` pairs: stride 0 for a single value, 1 for one value per element."""
    out = []
    for v in values:
        out += [_ptr(v), ctypes.c_int64(0 if v.numel() == 1 else 1)]
    return out


ptr = _ptr
