"""The neuron engine: every family's scan, generated from its one declared step.

A family declares ``update(x, state, cfg) -> (y, new_state)`` once (see
:class:`fnsnn.neurons.NeuronFamily`). From it come four backends:

* ``"torch"``: the reference loop, ``update`` step by step with autograd.
* ``"eager"``: the graph-free scan. The forward runs ``update`` without
  recording a graph and keeps the state before every ``BLOCK``-th step; the
  backward recomputes one block at a time with autograd. Same operations as
  the reference, so the same bits, with memory for one block's graph.
* ``"cpu"``: ``update`` traced into an elementwise program
  (:mod:`fnsnn.kernels.ir`), printed as C and compiled once per static
  configuration, each function (forward, backward, with or without the trace
  and the parameters' gradients) when a call first needs it
  (:mod:`fnsnn.kernels.cpu`): one pass over memory per direction.
* ``"triton"``: the same program printed as Triton kernels for CUDA tensors
  (:mod:`fnsnn.kernels.triton_scan`), one launch per direction.

``"auto"`` picks Triton on CUDA, the C scan on the CPU (float32/float64), else
the graph-free scan, and the reference where a generated backend cannot serve
the call: inside ``torch.compile`` (which then compiles the reference's plain
operations itself) and under forward-mode AD (``jvp``, ``jacfwd``, ``hessian``).
A backward that must itself be differentiable (double backward, ``create_graph``)
runs the reference's backward on the saved inputs, so every transform composes.

A configuration splits into static choices (``None`` resets, flags, the
surrogate's class and integer fields, callables) and numbers (thresholds, time
constants, surrogate widths, tensors): generated code is keyed on the static
part and the dtype only, and reads the numbers at run time, so a new threshold
or shape never compiles again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import threading
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..kernels import cpu as _cpu
from ..kernels.ir import NotElementwise, Program, RandomStep, trace_program

log = logging.getLogger("fnsnn")

BACKENDS = ("auto", "torch", "eager", "cpu", "triton")
BLOCK = _cpu.BLOCK  # steps between the checkpoints of the graph-free and C scans


# --------------------------------------------------------------------------- #
# configurations: static part (hashable) and numbers
# --------------------------------------------------------------------------- #


class _Same:
    """Hashes and compares by identity: a key for an unhashable static value."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Same) and other.obj is self.obj


def _static_key(value):
    try:
        hash(value)
        return value
    except TypeError:
        return _Same(value)


def _unwrap(value):
    return value.obj if isinstance(value, _Same) else value


def _is_number(value) -> bool:
    return (isinstance(value, Real) and not isinstance(value, bool)) or (
        isinstance(value, Tensor) and value.is_floating_point())


def _core_surrogate(sg):
    """A surrogate module shell (any object with a dataclass surrogate in ``.core``) -> its core."""
    core = getattr(sg, "core", None)
    if isinstance(sg, torch.nn.Module) and dataclasses.is_dataclass(core) and callable(core):
        return core
    return sg


@dataclass(frozen=True)
class Plan:
    """What generated code depends on: the family, the static configuration, the dtype.

    ``numeric`` names the configuration's numbers, passed to the step as tensors in that order,
    followed by the surrogate's float fields named in ``sg_fields``.
    """

    family: Any
    static: Tuple[Tuple[str, Any], ...]
    numeric: Tuple[str, ...]
    sg_type: Any
    sg_static: Tuple[Tuple[str, Any], ...]
    sg_fields: Tuple[str, ...]
    dtype: torch.dtype

    @property
    def n_state(self) -> int:
        return len(self.family.state_type._fields)

    @property
    def trace_field(self) -> int:
        return self.family.state_type._fields.index(self.family.trace)

    def step(self, x, *args):
        """``(x, *state, *numbers) -> (y, *new_state)``: the family's update with the numbers filled in."""
        n = self.n_state
        state, values = args[:n], args[n:]
        cfg = {k: _unwrap(v) for k, v in self.static}
        cfg.update(zip(self.numeric, values))
        if self.sg_type is not None:
            sg = object.__new__(self.sg_type)
            for k, v in self.sg_static:
                object.__setattr__(sg, k, v)
            for k, v in zip(self.sg_fields, values[len(self.numeric):]):
                object.__setattr__(sg, k, v)
            cfg["surrogate_function"] = sg
        y, new_state = self.family.update(x, self.family.state_type(*state), cfg)
        return (y, *new_state)


def make_plan(family, cfg: Dict[str, Any], dtype: torch.dtype) -> Tuple[Plan, Tuple[Any, ...]]:
    """Split ``cfg`` into a :class:`Plan` and the numbers (Python numbers or tensors) it leaves out.

    A surrogate whose derivative does not trace with its float fields as tensors (one that hands
    them to a function taking Python numbers only) keeps them as static values instead.
    """
    plan, values = _make_plan(family, cfg, dtype, True)
    if plan.sg_fields and isinstance(program_of(plan), str):
        baked, baked_values = _make_plan(family, cfg, dtype, False)
        if not isinstance(program_of(baked), str):
            return baked, baked_values
    return plan, values


def _make_plan(family, cfg: Dict[str, Any], dtype: torch.dtype, runtime_surrogate: bool):
    static, numeric, values = [], [], []
    sg_type, sg_static, sg_fields = None, (), ()
    for name, value in cfg.items():
        if name == "surrogate_function":
            core = _core_surrogate(value)
            if dataclasses.is_dataclass(core) and not isinstance(core, type):
                fields = dataclasses.fields(core)
                floats = tuple(f.name for f in fields if isinstance(getattr(core, f.name), float)
                               and runtime_surrogate)
                sg_type = type(core)
                sg_static = tuple((f.name, getattr(core, f.name)) for f in fields if f.name not in floats)
                sg_fields = floats
                sg_values = [getattr(core, f) for f in floats]
                continue
            static.append((name, _static_key(value)))
        elif _is_number(value):
            numeric.append(name)
            values.append(value)
        else:
            static.append((name, _static_key(value)))
    if sg_type is not None:
        values += sg_values
    plan = Plan(family, tuple(static), tuple(numeric), sg_type, sg_static, sg_fields, dtype)
    return plan, tuple(values)


class Untraced(str):
    """Why a step is not an elementwise program; ``random`` if it draws random numbers."""

    random = False


@functools.lru_cache(maxsize=512)
def program_of(plan: Plan):
    """The traced :class:`Program` of ``plan``, or an :class:`Untraced` reason."""
    if plan.family.state_shapes is not None:
        return Untraced("its state is not shaped like the input")
    n_params = len(plan.numeric) + len(plan.sg_fields)
    try:
        return trace_program(plan.step, plan.n_state, n_params, plan.dtype)
    except NotElementwise as exc:
        reason = Untraced(str(exc))
        reason.random = isinstance(exc, RandomStep)
        return reason


# --------------------------------------------------------------------------- #
# which backend
# --------------------------------------------------------------------------- #


def forward_ad_active(tensors: Sequence[Any]) -> bool:
    """Whether forward-mode AD (``torch.func.jvp`` or ``torch.autograd.forward_ad``) sees this call."""
    stack = torch._C._functorch.get_interpreter_stack() or []
    if any(i.key() == torch._C._functorch.TransformType.Jvp for i in stack):
        return True
    import torch.autograd.forward_ad as fwad

    if fwad._current_level >= 0:
        return any(isinstance(t, Tensor) and fwad.unpack_dual(t).tangent is not None for t in tensors)
    return False


def triton_reason() -> Optional[str]:
    """``None`` if Triton can be imported, else why not."""
    try:
        import triton  # noqa: F401
    except ImportError as exc:  # the library works without Triton; only this backend needs it
        return f"triton is not installed ({exc})"
    return None


def _params_reason(values: Sequence[Any], x_step: Tensor) -> Optional[str]:
    step = tuple(x_step.shape)
    for v in values:
        if not isinstance(v, Tensor) or v.dim() == 0:
            continue
        if v.dtype != x_step.dtype:
            return f"a parameter tensor is {v.dtype} while the input is {x_step.dtype}"
        try:
            fits = tuple(torch.broadcast_shapes(v.shape, step)) == step
        except RuntimeError:
            fits = False
        if not fits:
            return f"a parameter of shape {tuple(v.shape)} does not broadcast to the step shape {step}"
    return None


def unsupported(backend: str, plan: Plan, values, x_seq: Tensor) -> Optional[str]:
    """``None`` if ``backend`` can run this call, else the reason."""
    if backend == "torch":
        return None
    if plan.family.batch_coupled:
        return (f"the {plan.family.name} step mixes the samples of a batch, which the scans' vmap rule would fold "
                f"into one batch (the reference loop serves it)")
    reason = _params_reason(values, x_seq[0])
    if reason is not None and backend in ("cpu", "triton"):
        return reason
    program = program_of(plan)
    if backend == "eager":
        if isinstance(program, str) and program.random:
            return (f"the {plan.family.name} step draws random numbers, which the graph-free scan would draw "
                    f"again when it recomputes the forward in the backward")
        return None
    if isinstance(program, str):
        return f"the {plan.family.name} step is not an elementwise recurrence ({program})"
    if backend == "cpu":
        if x_seq.device.type != "cpu":
            return f"the C scan runs on CPU tensors, got {x_seq.device}"
        if x_seq.dtype not in _cpu.DTYPES:
            return f"the C scan computes in float32/float64, got {x_seq.dtype} (the graph-free scan serves it)"
        if _cpu.compiler() is None:
            return "no C compiler found (set FNSNN_CC or CC)"
        return _library_reason(program, plan)
    if backend == "triton":
        reason = triton_reason()
        if reason is not None:
            return reason
        if not x_seq.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
            return (f"the Triton kernels need CUDA tensors (got {x_seq.device}); on the CPU they run only under "
                    f"TRITON_INTERPRET=1, set before importing fnsnn")
        from ..kernels import triton_scan

        return triton_scan.unsupported(program, x_seq.dtype)
    return None


_failed: Dict[Any, str] = {}
_libraries: Dict[Any, Any] = {}  # (plan, function name) -> that C function, loaded
_failed_lock = threading.Lock()


def _library_reason(program: Program, plan: Plan) -> Optional[str]:
    """Builds (or loads) the library now, so that a compiler failure picks another backend."""
    if _cpu_function(program, plan, "fwd") is None:
        return _failed.get((plan, "cpu"), "building the C scan failed")
    return None


def _mixes_numbers_and_tensors(plan: Plan, values) -> bool:
    """Whether a value computed from the parameters alone combines a Python number with a tensor.

    Python numbers are passed as float64 tensors, which compute as Python does on its own numbers; but
    next to a tensor torch rounds a Python number to the tensor's dtype first, which a float64 tensor
    does not imitate. Such a call is bit-exact only on the graph-free scan.
    """
    program = program_of(plan)
    if isinstance(program, str):
        return False
    is_tensor = [isinstance(v, Tensor) for v in values]
    return any(any(is_tensor[k] for k in deps) and not all(is_tensor[k] for k in deps)
               for deps in program.derived_from)


def choose(fn: str, backend: str, plan: Plan, values, x_seq: Tensor, state: Sequence[Tensor]) -> str:
    """The backend that runs this call; an explicit backend that cannot run it raises ``ValueError``."""
    if backend == "auto":
        if torch.compiler.is_compiling() or forward_ad_active([x_seq, *state, *values]):
            return "torch"
        order = ("triton", "eager") if x_seq.is_cuda else ("cpu", "eager")
        if _mixes_numbers_and_tensors(plan, values):
            order = ("eager",)
        for name in order:
            if unsupported(name, plan, values, x_seq) is None:
                return name
        return "torch"
    reason = unsupported(backend, plan, values, x_seq)
    if reason is not None:
        raise ValueError(f"{fn}: backend={backend!r} cannot run this call: {reason}. Use backend='auto', which "
                         f"picks what can run, or backend='torch' (the reference loop).")
    if backend != "torch" and (torch.compiler.is_compiling() or forward_ad_active([x_seq, *state, *values])):
        raise ValueError(f"{fn}: backend={backend!r} cannot run under torch.compile or forward-mode AD (jvp, "
                         f"jacfwd, hessian); use backend='auto' or 'torch', which run the reference there.")
    return backend


# --------------------------------------------------------------------------- #
# executors
# --------------------------------------------------------------------------- #


def _flat_values(values: Sequence[Tensor], step_shape, M: int) -> list:
    """Numbers as 0-d tensors or ``[M]`` per-element vectors of one time step."""
    out = []
    for v in values:
        if v.numel() == 1:
            out.append(v.reshape(()).contiguous())
        else:
            out.append(torch.broadcast_to(v, step_shape).reshape(M).contiguous())
    return out


def _as_compute(values: Sequence[Tensor], dtype: torch.dtype) -> list:
    return [v.to(dtype) for v in values]


@dataclass(frozen=True)
class Run:
    """One call's static description: the plan, the backend, whether ``v_seq`` is wanted."""

    plan: Plan
    backend: str
    store_v: bool


def _cpu_function(program: Program, plan: Plan, name: str):
    """The C function ``name`` (one of :data:`fnsnn.kernels.cpu.FUNCTIONS`) of ``plan``, compiled when a call
    first needs it (or loaded from the disk cache); ``None`` if it cannot be built."""
    fn = _libraries.get((plan, name))
    if fn is not None:
        return fn
    if (plan, "cpu") in _failed:
        return None
    source = _cpu.generate(program, plan.trace_field, _cpu.DTYPES[plan.dtype], only=name)
    try:
        fn = _cpu.kernel(_cpu.build(source), name)
        _libraries[(plan, name)] = fn
        return fn
    except Exception as exc:  # a compiler failure must never reach the user: the graph-free scan runs instead
        with _failed_lock:
            if (plan, "cpu") not in _failed:
                log.warning("fnsnn: the C scan of %s could not be built (%s); using the graph-free scan",
                            plan.family.name, str(exc).splitlines()[0][:300])
            _failed[(plan, "cpu")] = f"building the C scan failed: {str(exc)[:300]}"
        return None


def _forward_cpu(run: Run, program: Program, x: Tensor, state, values):
    T, step_shape = x.shape[0], x.shape[1:]
    M = x[0].numel()
    S = program.n_state
    fn = _cpu_function(program, run.plan, _cpu.function_name(False, run.store_v))
    if fn is None:
        return None
    xf = x.detach().reshape(T, M).contiguous()
    s0 = [s.detach().expand(step_shape).reshape(M).contiguous() for s in state]
    with torch.no_grad():
        derived = _as_compute(program.forward_prelude(*[v.detach() for v in values]), x.dtype)
    d = _flat_values(derived, step_shape, M)
    y = _cpu.empty(xf.shape, xf)
    vs = _cpu.empty(xf.shape, xf) if run.store_v else xf.new_empty(0)
    sT = [torch.empty_like(t) for t in s0]
    nb = -(-T // BLOCK)
    ck = [_cpu.empty((nb - 1, M), xf) for _ in range(S)]
    P = _cpu.ptr
    _cpu.run_split(fn, M, [_cpu.ctypes.c_int64(T), _cpu.ctypes.c_int64(M)],
                   [P(xf), *map(P, s0), *_cpu.param_args(d), P(y), P(vs), *map(P, sT), *map(P, ck)])
    ck = [c.reshape(nb - 1, *step_shape) for c in ck]
    return y.reshape(x.shape), vs.reshape(x.shape) if run.store_v else vs, [t.reshape(step_shape) for t in sT], ck


def _backward_cpu(run: Run, program: Program, x, state, values, ck, gy, gv, gstate, need, need_s):
    T, step_shape = x.shape[0], x.shape[1:]
    M = x[0].numel()
    with_p = any(need)
    fn = _cpu_function(program, run.plan, _cpu.function_name(True, gv is not None, with_p))
    if fn is None:
        return None
    xf = x.detach().reshape(T, M).contiguous()
    s0 = [s.detach().expand(step_shape).reshape(M).contiguous() for s in state]
    ck = [c.reshape(-1, M).contiguous() for c in ck]
    with torch.no_grad():
        dvals = [v.detach() for v in values]
        d = _flat_values(_as_compute(program.forward_prelude(*dvals), x.dtype), step_shape, M)
        e = _flat_values(_as_compute(program.backward_prelude(*dvals), x.dtype), step_shape, M)
    gyf = (gy if gy is not None else torch.zeros_like(x)).reshape(T, M).contiguous()
    gvf = gv.reshape(T, M).contiguous() if gv is not None else None
    gT = [g.expand(step_shape).reshape(M).contiguous() if g is not None else None for g in gstate]  # None: zeros
    gx = _cpu.empty(xf.shape, xf)
    gs = [torch.empty_like(t) if n else None for t, n in zip(s0, need_s)]  # None: not written
    gp = [xf.new_empty(M) if n else None for n in need]
    P = _cpu.ptr
    _cpu.run_split(fn, M, [_cpu.ctypes.c_int64(T), _cpu.ctypes.c_int64(M)],
                   [P(xf), *map(P, s0), *map(P, ck), *_cpu.param_args(d), *_cpu.param_args(e), P(gyf), P(gvf),
                    *map(P, gT), P(gx), *map(P, gs), *map(P, gp)])
    grads_p = [None if g is None else g.reshape(step_shape) for g in gp]
    return gx.reshape(x.shape), [None if g is None else g.reshape(step_shape) for g in gs], grads_p


def _forward_triton(run: Run, program: Program, x: Tensor, state, values):
    from ..kernels import triton_scan

    T, step_shape = x.shape[0], x.shape[1:]
    M = x[0].numel()
    xf = x.detach().reshape(T, M).contiguous()
    s0 = [s.detach().expand(step_shape).reshape(M).contiguous() for s in state]
    with torch.no_grad():
        derived = program.forward_prelude(*[v.detach() for v in values])
    d = _flat_values([t.to(triton_scan.compute_dtype(x.dtype)) for t in derived], step_shape, M)
    y, vs, sT, saved = triton_scan.forward(program, run.plan.trace_field, xf, s0, d, run.store_v)
    return y.reshape(x.shape), vs.reshape(x.shape) if run.store_v else vs, [t.reshape(step_shape) for t in sT], saved


def _backward_triton(run: Run, program: Program, x, state, values, saved, gy, gv, gstate, need):
    from ..kernels import triton_scan

    T, step_shape = x.shape[0], x.shape[1:]
    M = x[0].numel()
    xf = x.detach().reshape(T, M).contiguous()
    cd = triton_scan.compute_dtype(x.dtype)
    with torch.no_grad():
        dvals = [v.detach() for v in values]
        e = _flat_values([t.to(cd) for t in program.backward_prelude(*dvals)], step_shape, M)
    gyf = (gy if gy is not None else torch.zeros_like(x)).reshape(T, M).contiguous()
    gvf = gv.reshape(T, M).contiguous() if gv is not None else None
    gT = [(g if g is not None else torch.zeros(step_shape, dtype=x.dtype, device=x.device)).expand(
        step_shape).reshape(M).contiguous() for g in gstate]
    gx, gs, gp = triton_scan.backward(program, run.plan.trace_field, xf, saved, e, gyf, gvf, gT, need)
    return gx.reshape(x.shape), [g.reshape(step_shape) for g in gs], [
        None if g is None else g.reshape(step_shape) for g in gp]


def _forward_eager(run: Run, x: Tensor, state, values):
    step = run.plan.step
    ys, vs, ck = [], [], []
    st = list(state)
    with torch.no_grad():
        for t, xt in enumerate(x.unbind(0)):
            if t and t % BLOCK == 0:
                ck.append(st)
            y, *st = step(xt, *st, *values)
            ys.append(y)
            if run.store_v:
                vs.append(st[run.plan.trace_field])
    y = torch.stack(ys)
    v = torch.stack(vs) if run.store_v else x.new_empty(0)
    step_shape = x.shape[1:]
    saved = [torch.stack([block[f].expand(step_shape) for block in ck]) if ck else x.new_empty((0, *step_shape))
             for f in range(len(state))]
    return y, v, st, saved


def _recompute_grads(step, x, state, values, gy, gv, gstate, trace_field, need_x, need_s, need_p,
                     create_graph: bool):
    """Gradients of a block by re-running ``step`` with autograd from ``state`` (the block's start)."""
    with torch.enable_grad():
        if not create_graph:
            x = x.detach().requires_grad_(need_x)
            state = [s.detach().requires_grad_(n) for s, n in zip(state, need_s)]
            values = [v.detach().requires_grad_(n) if isinstance(v, Tensor) else v for v, n in zip(values, need_p)]
        st = list(state)
        outs, grads_out = [], []
        for t, xt in enumerate(x.unbind(0)):
            y, *st = step(xt, *st, *values)
            outs.append(y)
            grads_out.append(gy[t] if gy is not None else None)
            if gv is not None:
                outs.append(st[trace_field])
                grads_out.append(gv[t])
        outs += st
        grads_out += list(gstate)
        pairs = [(o, g) for o, g in zip(outs, grads_out) if g is not None and o.requires_grad]
        inputs = [x] if need_x else []
        inputs += [s for s, n in zip(state, need_s) if n]
        inputs += [v for v, n in zip(values, need_p) if n]
        if not pairs or not inputs:
            got = [None] * len(inputs)
        else:
            got = list(torch.autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                                           allow_unused=True, create_graph=create_graph))
    it = iter(got)
    gx = next(it) if need_x else None
    gs = [next(it) if n else None for n in need_s]
    gp = [next(it) if n else None for n in need_p]
    return gx, gs, gp


def _reference_vjp(run: Run, x, state, values, gy, gv, gstate):
    """The reference loop's vector-Jacobian product (``torch.func.vjp``), which every transform composes with
    and which stays differentiable for a double backward."""
    plan = run.plan
    S = plan.n_state

    where = [k for k, v in enumerate(values) if isinstance(v, Tensor)]

    def reference(x, *rest):
        st, vals = list(rest[:S]), list(values)
        for k, v in zip(where, rest[S:]):
            vals[k] = v
        ys, vs = [], []
        for xt in x.unbind(0):
            y, *st = plan.step(xt, *st, *vals)
            ys.append(y)
            vs.append(st[plan.trace_field])
        return (torch.stack(ys), *([torch.stack(vs)] if gv is not None else []), *st)

    outs, pull = torch.func.vjp(reference, x, *state, *(values[k] for k in where))
    cot = [gy, *([gv] if gv is not None else []), *gstate]
    cot = [torch.zeros_like(o) if g is None else g for g, o in zip(cot, outs)]
    grads = pull(tuple(cot))
    gp = [None] * len(values)
    for k, g in zip(where, grads[1 + S:]):
        gp[k] = g
    return grads[0], list(grads[1:1 + S]), gp


def _zero_if_none(g, like):
    return torch.zeros_like(like) if g is None else g


def _backward_eager(run: Run, x, state, values, ck, gy, gv, gstate, need_p):
    T = x.shape[0]
    starts = [list(state)] + [[c[b] for c in ck] for b in range(ck[0].shape[0] if ck else 0)]
    g_state = list(gstate)
    pieces = []
    gp_total = [None] * len(values)
    for b in range(len(starts) - 1, -1, -1):
        t0, t1 = b * BLOCK, min(T, (b + 1) * BLOCK)
        gx, gs, gp = _recompute_grads(run.plan.step, x[t0:t1], starts[b], values,
                                      None if gy is None else gy[t0:t1], None if gv is None else gv[t0:t1],
                                      g_state, run.plan.trace_field, True, [True] * len(state), need_p, False)
        pieces.append(_zero_if_none(gx, x[t0:t1]))
        g_state = [_zero_if_none(g, s) for g, s in zip(gs, starts[b])]
        gp_total = [a if g is None else (g if a is None else a + g) for a, g in zip(gp_total, gp)]
    return torch.cat(pieces[::-1]), g_state, gp_total


def _fast_backward(run: Run, x_seq, state, values, saved, gy, gv, gstate, need_p, need_s):
    """The generated backward on plain tensors; parameter and state gradients reduced to their shapes."""
    out = None
    if run.backend == "cpu":
        out = _backward_cpu(run, program_of(run.plan), x_seq, state, values, saved, gy, gv, gstate, need_p, need_s)
    elif run.backend == "triton":
        out = _backward_triton(run, program_of(run.plan), x_seq, state, values, saved, gy, gv, gstate, need_p)
    if out is None:
        out = _backward_eager(run, x_seq, state, values, saved, gy, gv, gstate, need_p)
    gx, gs, gp = out
    gp = [None if g is None else g.sum_to_size(v.shape).to(v.dtype) for g, v in zip(gp, values)]
    gs = [None if g is None else g.sum_to_size(s.shape) for g, s in zip(gs, state)]
    return gx, gs, gp


@contextlib.contextmanager
def _transforms_cleared(clear: bool):
    if not clear:
        yield
        return
    from torch._functorch.pyfunctorch import temporarily_clear_interpreter_stack

    with temporarily_clear_interpreter_stack():
        yield


def _under_single_grad(tensors):
    """``(level, plain tensors)`` when the only transform is one ``torch.func.grad`` and nothing below it
    tracks gradients (so the backward's result is not differentiated again); else ``None``."""
    stack = torch._C._functorch.get_interpreter_stack()
    if not stack or len(stack) != 1 or stack[0].key() != torch._C._functorch.TransformType.Grad:
        return None
    out = []
    for t in tensors:
        if isinstance(t, Tensor):
            while torch._C._functorch.is_functorch_wrapped_tensor(t):
                t = torch._C._functorch.get_unwrapped(t)
            if t.requires_grad:
                return None
        out.append(t)
    return stack[0].level(), out


def _plain(t) -> bool:
    return not isinstance(t, Tensor) or not torch._C._functorch.is_functorch_wrapped_tensor(t)


class _Scan(torch.autograd.Function):
    """``(run, x_seq, *state, *numbers) -> (y_seq, v_seq or [0], *final_state, *saved)``.

    ``saved`` is what the backward needs beyond the inputs (checkpoints, or the Triton kernels'
    per-step states); it is marked non-differentiable.
    """

    @staticmethod
    def forward(run: Run, x_seq: Tensor, *rest):
        S = run.plan.n_state
        state, values = rest[:S], rest[S:]
        out = None
        if run.backend in ("cpu", "triton"):
            program = program_of(run.plan)
            fwd = _forward_cpu if run.backend == "cpu" else _forward_triton
            out = fwd(run, program, x_seq, state, values)
        if out is None:  # the graph-free scan (also where the C scan could not be built)
            out = _forward_eager(run, x_seq, state, values)
        y, v, final, saved = out
        final = [f.clone() if any(f is s for s in state) else f for f in final]  # a state passed through
        return (y, v, *final, *saved)

    @staticmethod
    def setup_context(ctx, inputs, output):
        run, x_seq, *rest = inputs
        S = run.plan.n_state
        saved = output[2 + S:]
        ctx.run = run
        ctx.n_values = len(rest) - S
        ctx.numbers = [None if isinstance(v, Tensor) else v for v in rest[S:]]  # Python numbers ride along
        ctx.save_for_backward(x_seq, *rest[:S], *(v for v in rest[S:] if isinstance(v, Tensor)), *saved)
        ctx.mark_non_differentiable(*saved, *_constant_outputs(run, output))
        ctx.set_materialize_grads(False)

    @staticmethod
    def vmap(info, in_dims, run: Run, x_seq: Tensor, *rest):
        S = run.plan.n_state
        x, state, values = batched_inputs(info.batch_size, x_seq, in_dims[1], rest[:S], in_dims[2:2 + S],
                                          rest[S:], in_dims[2 + S:])
        out = _Scan.apply(run, x, *state, *values)
        dims = [1, 1 if run.store_v else None] + [0] * S + [None] * (len(out) - 2 - S)
        return out, tuple(dims)

    @staticmethod
    def backward(ctx, gy, gv, *grads):
        run = ctx.run
        S = run.plan.n_state
        x_seq, *rest = ctx.saved_tensors
        n_tensors = sum(v is None for v in ctx.numbers)
        state, tensors, saved = rest[:S], iter(rest[S:S + n_tensors]), rest[S + n_tensors:]
        values = [next(tensors) if v is None else v for v in ctx.numbers]
        gstate = list(grads[:S])
        need_x = ctx.needs_input_grad[1]
        need_s = list(ctx.needs_input_grad[2:2 + S])
        need_p = list(ctx.needs_input_grad[2 + S:])
        if gv is not None and gv.numel() == 0:
            gv = None
        tensors = (x_seq, *state, *values, *saved, gy, gv, *gstate)
        level = None
        unwrapped = _under_single_grad(tensors)
        if unwrapped is not None:  # one torch.func.grad level: its result is not differentiated again
            level, tensors = unwrapped
            it = iter(tensors)
            x_seq = next(it)
            state = [next(it) for _ in state]
            values = [next(it) for _ in values]
            saved = [next(it) for _ in saved]
            gy, gv = next(it), next(it)
            gstate = [next(it) for _ in gstate]
        differentiable = level is None and (torch.is_grad_enabled() or not all(_plain(t) for t in tensors))
        if differentiable:  # double backward or a transform around the backward: the reference's own vjp
            gx, gs, gp = _reference_vjp(run, x_seq, state, values, gy, gv, gstate)
        else:
            with _transforms_cleared(level is not None), torch.no_grad():
                gx, gs, gp = _fast_backward(run, x_seq, state, values, saved, gy, gv, gstate, need_p, need_s)
        gx = gx if need_x else None
        gs = [g if n else None for g, n in zip(gs, need_s)]
        gp = [g if n else None for g, n in zip(gp, need_p)]
        if level is not None:
            wrap = torch._C._functorch._wrap_for_grad
            gx = None if gx is None else wrap(gx, level)
            gs = [None if g is None else wrap(g, level) for g in gs]
            gp = [None if g is None else wrap(g, level) for g in gp]
        return (None, gx, *gs, *gp)


@functools.lru_cache(maxsize=None)
def _unread_cotangents(plan: Plan) -> frozenset:
    """The cotangent inputs (``gy``, ``gn<k>``) that the traced backward of ``plan`` never reads."""
    program = program_of(plan)
    if isinstance(program, str):
        return frozenset()
    body = program.backward
    read = {a for op in body.ops for a in op.args if isinstance(a, str)}
    read |= {o for o in body.outputs if isinstance(o, str)}
    return frozenset(n for n in ("gy", *(f"gn{k}" for k in range(plan.n_state))) if n not in read)


def _constant_outputs(run: Run, output) -> list:
    """Outputs whose gradient the traced backward never reads (a detached state, a spike without surrogate):
    marked non-differentiable, as the reference's would not require grad."""
    unread = _unread_cotangents(run.plan)
    out = []
    if "gy" in unread:
        out.append(output[0])
    if f"gn{run.plan.trace_field}" in unread and output[1].numel():
        out.append(output[1])
    out += [output[2 + k] for k in range(run.plan.n_state) if f"gn{k}" in unread]
    return out


def batched_inputs(size: int, x_seq: Tensor, x_dim, states, state_dims, values, value_dims):
    """The arguments of one scan over a whole vmapped batch (the scan's ``vmap`` rule).

    The vmapped dimension becomes dimension 1 of the input (``[T, B, *step]``) and dimension 0 of each
    state (``[B, *step]``); unbatched ones are expanded to it. A batched number ``[B, *p]`` becomes
    ``[B, 1, ..., *p]`` so that it broadcasts against a batched step as ``p`` did against a step. The
    scan then runs once on plain tensors, so a vmapped call takes the same path as a single call.
    """
    x = x_seq.movedim(x_dim, 1) if x_dim is not None else x_seq.unsqueeze(1).expand(
        x_seq.shape[0], size, *x_seq.shape[1:])
    step_ndim = x.dim() - 2
    states = [s.movedim(d, 0) if d is not None else s.unsqueeze(0).expand(size, *s.shape)
              for s, d in zip(states, state_dims)]
    out = []
    for q, d in zip(values, value_dims):
        if d is not None:
            q = q.movedim(d, 0)
            q = q.reshape(size, *([1] * (step_ndim - (q.dim() - 1))), *q.shape[1:])
        out.append(q)
    return x, states, out


# --------------------------------------------------------------------------- #
# entry point
# --------------------------------------------------------------------------- #

_last = threading.local()


def last_backend() -> Optional[str]:
    """The backend the most recent multi-step neuron call of this thread ran (diagnostics only)."""
    return getattr(_last, "backend", None)


def record(fn: str, backend: str, x_seq: Tensor, exact: bool = True) -> None:
    """Note the backend a multi-step call ran (and whether its forward has the reference's bits), for
    :func:`last_backend` and the debug log."""
    _last.backend, _last.exact = backend, exact
    if log.isEnabledFor(logging.DEBUG):
        log.debug("fnsnn: %s ran backend %r on %s %s", fn, backend, tuple(x_seq.shape), x_seq.dtype)


def _as_tensors(values, x: Tensor) -> Tuple[Tensor, ...]:
    """Python numbers as 0-d float64 tensors: ATen treats those exactly as it treats Python scalars
    (no type promotion, the same scalar arithmetic), so derived values keep double precision."""
    return tuple(v if isinstance(v, Tensor) else torch.tensor(float(v), dtype=torch.float64, device=x.device)
                 for v in values)


def scan(fn: str, family, x_seq: Tensor, state, cfg: Dict[str, Any], return_v_seq: bool, backend: str):
    """Run ``family`` over ``x_seq`` on the chosen backend; returns as the reference loop does."""
    if torch.compiler.is_compiling():  # the compiler traces the reference's plain operations itself
        if backend not in ("auto", "torch"):
            raise ValueError(f"{fn}: backend={backend!r} cannot run under torch.compile; use backend='auto' or "
                             f"'torch', which run the reference loop for the compiler to compile.")
        return None
    plan, values = make_plan(family, cfg, x_seq.dtype)
    chosen = choose(fn, backend, plan, values, x_seq, list(state))
    record(fn, chosen, x_seq, chosen in ("torch", "eager") or (
        not isinstance(program_of(plan), str) and program_of(plan).exact
        and not _mixes_numbers_and_tensors(plan, values)))
    if chosen == "torch":
        return None
    if chosen != "eager":  # generated code reads every number from a tensor
        values = _as_tensors(values, x_seq)
    run = Run(plan, chosen, return_v_seq)
    out = _Scan.apply(run, x_seq, *state, *values)
    S = plan.n_state
    y, v, final = out[0], out[1], family.state_type(*out[2:2 + S])
    return (y, final, v) if return_v_seq else (y, final)
