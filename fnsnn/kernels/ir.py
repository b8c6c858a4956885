"""Elementwise scan programs: a neuron's step traced once into straight-line code.

A neuron family declares one step, ``step(x, *state, *params) -> (y, *new_state)``,
written with ordinary torch operations. :func:`trace_program` traces it with
``make_fx`` on fake one-dimensional tensors and checks that every operation is
elementwise. The result, a :class:`Program`, has three parts:

* ``prelude``: operations that depend on parameters only (``sigmoid(w)`` of a
  parametric LIF, say). They run once per call, in torch, on the parameters as
  the user gave them, so they match the reference bit for bit and autograd
  differentiates them as usual.
* ``forward``: one time step on scalars, from ``x``, the state and the
  prelude's values ("derived parameters") to ``y`` and the new state.
* ``backward``: the vector-Jacobian product of ``forward`` (traced through
  ``torch.func.vjp``, so a surrogate's backward is in it), from the same inputs
  plus the gradients of ``y`` and the new state to the gradients of ``x``, the
  old state and every derived parameter.

The code generators (:mod:`fnsnn.kernels.cpu`, :mod:`fnsnn.kernels.triton_scan`)
print ``forward`` and ``backward`` as loop bodies; nothing here knows a neuron
family by name. Operations are kept in the reference's order, so a generator
that prints them with IEEE arithmetic reproduces the reference exactly wherever
the program uses only exactly rounded operations (``Program.exact``).
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

# operations every generator prints; value: the result kind ("f" float, "b" bool, "same" as the first input)
UNARY = {
    "neg": "same", "abs": "same", "exp": "f", "log": "f", "sigmoid": "f", "tanh": "f", "relu": "same",
    "sqrt": "f", "rsqrt": "f", "reciprocal": "f", "sin": "f", "cos": "f", "atan": "f", "erf": "f",
    "floor": "same", "ceil": "same", "round": "same", "trunc": "same", "sign": "same", "log1p": "f",
    "expm1": "f", "not": "b", "square": "same",
}
BINARY = {"add": "f", "sub": "f", "mul": "f", "div": "f", "max": "f", "min": "f", "pow": "f",
          "ge": "b", "gt": "b", "le": "b", "lt": "b", "eq": "b", "ne": "b", "and": "b", "or": "b"}
# operations whose results are rounded correctly by IEEE arithmetic (a generator reproduces ATen's bits)
EXACT = {"neg", "abs", "relu", "sqrt", "rsqrt", "reciprocal", "floor", "ceil", "round", "trunc", "sign", "not",
         "square", "add", "sub", "mul", "div", "max", "min", "ge", "gt", "le", "lt", "eq", "ne", "and", "or",
         "where", "cast", "clamp"}

_UNARY_ATEN = {
    aten.neg.default: "neg", aten.abs.default: "abs", aten.exp.default: "exp", aten.log.default: "log",
    aten.sigmoid.default: "sigmoid", aten.tanh.default: "tanh", aten.relu.default: "relu",
    aten.sqrt.default: "sqrt", aten.rsqrt.default: "rsqrt", aten.reciprocal.default: "reciprocal",
    aten.sin.default: "sin", aten.cos.default: "cos", aten.atan.default: "atan", aten.erf.default: "erf",
    aten.floor.default: "floor", aten.ceil.default: "ceil", aten.round.default: "round",
    aten.trunc.default: "trunc", aten.sign.default: "sign", aten.log1p.default: "log1p",
    aten.expm1.default: "expm1", aten.logical_not.default: "not", aten.bitwise_not.default: "not",
    aten.square.default: "square",
}
_BINARY_ATEN = {}
for _name, _ops in {
    "add": ("add",), "sub": ("sub",), "mul": ("mul",), "div": ("div",), "max": ("maximum",),
    "min": ("minimum",), "ge": ("ge",), "gt": ("gt",), "le": ("le",), "lt": ("lt",), "eq": ("eq",),
    "ne": ("ne",), "and": ("logical_and", "bitwise_and"), "or": ("logical_or", "bitwise_or"),
}.items():
    for _op in _ops:
        for _overload in ("Tensor", "Scalar", "default"):
            _packet = getattr(aten, _op)
            if _overload in _packet.overloads():
                _BINARY_ATEN[getattr(_packet, _overload)] = _name
_CREATE = {aten.zeros_like.default, aten.ones_like.default, aten.full_like.default, aten.scalar_tensor.default,
           aten.full.default, aten.zeros.default, aten.ones.default, aten.new_zeros.default,
           aten.new_ones.default, aten.new_full.default}
_IDENTITY = {aten.detach.default, aten.alias.default, aten.clone.default, aten.expand.default,
             aten.view.default, aten._unsafe_view.default, aten.lift_fresh_copy.default,
             aten.expand_copy.default, aten.view_copy.default, aten.alias_copy.default,
             aten.detach_copy.default, aten.reshape.default, aten.contiguous.default, aten.lift_fresh.default}

TRACE_NUMEL = 8  # length of the fake vectors the step is traced on


class NotElementwise(Exception):
    """The step cannot become an elementwise program; the message says why."""


class RandomStep(NotElementwise):
    """The step draws random numbers, so it cannot be recomputed in a backward pass either."""


_RANDOM = ("rand", "bernoulli", "normal", "poisson", "multinomial", "exponential", "uniform", "dropout")


@dataclass(frozen=True)
class Op:
    """``out = op(*args)``; an argument is a value name (str) or a Python number."""

    out: str
    op: str
    args: Tuple[Any, ...]
    kind: str  # "f" or "b"


@dataclass(frozen=True)
class Body:
    """Straight-line code from named inputs to named outputs (output ``None``: a zero)."""

    inputs: Tuple[str, ...]
    ops: Tuple[Op, ...]
    outputs: Tuple[Optional[Any], ...]

    @property
    def exact(self) -> bool:
        return all(op.op in EXACT for op in self.ops)


@dataclass(frozen=True)
class Program:
    """A traced step with ``n_state`` state fields and ``n_params`` parameters.

    Attributes:
        forward: inputs ``x, s0.., d0..``; outputs ``y, n0..`` (``n_i`` the new state fields).
        forward_prelude: ``(*params) -> (d0, ...)``, torch operations on the parameters as given.
        backward: inputs ``x, s0.., gy, gn0.., e0..``; outputs ``gx, gs0.., gp0..`` (``gp_j`` this
            element's and step's share of the gradient of parameter ``j``).
        backward_prelude: ``(*params) -> (e0, ...)``.
    """

    n_state: int
    n_params: int
    forward: Body
    forward_prelude: Callable
    backward: Body
    backward_prelude: Callable
    derived_from: Tuple[frozenset, ...] = ()  # for each forward derived value, the parameters it is computed from
    forward_derived_keys: Tuple[Any, ...] = ()  # for each d_k, how the prelude computes it (equal keys: same value)
    backward_derived_keys: Tuple[Any, ...] = ()  # the same for each e_j

    @property
    def exact(self) -> bool:
        """Whether the forward uses exactly rounded operations only (generated code then equals torch's)."""
        return self.forward.exact


# --------------------------------------------------------------------------- #
# FX graph -> Body
# --------------------------------------------------------------------------- #


def _kind_of(value) -> str:
    dtype = value.dtype if isinstance(value, torch.Tensor) else None
    if dtype == torch.bool:
        return "b"
    if dtype is not None and not dtype.is_floating_point:
        raise NotElementwise(f"an integer tensor of dtype {dtype} appears in the step")
    return "f"


def _number(a):
    if isinstance(a, bool):
        return float(a)
    if isinstance(a, (int, float)):
        return float(a)
    raise NotElementwise(f"a non-numeric constant {a!r} appears in the step")


def _body(gm: torch.fx.GraphModule, bound: Dict[Any, str], dynamic: set) -> Body:
    """Translate the ``dynamic`` nodes of an FX graph of aten operations on equally shaped 1-d tensors.

    ``bound`` maps the nodes that are inputs of the body (placeholders and derived parameters) to names.
    """
    env: Dict[Any, Any] = dict(bound)
    ops: List[Op] = []
    input_names = tuple(bound.values())
    kinds = {name: "f" for name in input_names}
    counter = [0]

    seen: Dict[Any, str] = {}

    def emit(op: str, args, kind: str) -> str:
        key = (op, tuple(args), kind)
        if key in seen:  # the same operation on the same values: computed once
            return seen[key]
        out = f"t{counter[0]}"
        counter[0] += 1
        ops.append(Op(out, op, tuple(args), kind))
        kinds[out] = kind
        seen[key] = out
        return out

    def arg(a):
        if isinstance(a, torch.fx.Node):
            return env[a]
        return _number(a)

    def kind(a):
        return kinds[a] if isinstance(a, str) else "f"

    outputs = None
    for node in gm.graph.nodes:
        if node in env or node.op == "placeholder":
            continue
        if node.op == "output":
            outputs = node.args[0]
            break
        if node.op != "get_attr" and node not in dynamic:
            continue
        if node.op == "get_attr":
            value = getattr(gm, node.target)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise NotElementwise("the step creates a tensor constant that is not a single number")
            env[node] = float(value.item())
            continue
        if node.op != "call_function":
            raise NotElementwise(f"unsupported FX node {node.op} {node.target}")
        target = node.target
        meta = node.meta.get("val")
        if isinstance(meta, torch.Tensor) and meta.dim() > 1:
            raise NotElementwise(f"{target} makes a tensor of shape {tuple(meta.shape)}")
        if isinstance(meta, torch.Tensor) and meta.dim() == 1 and meta.shape[0] != TRACE_NUMEL:
            raise NotElementwise(f"{target} changes the element count (shape {tuple(meta.shape)})")
        if target is operator.getitem:
            raise NotElementwise("the step indexes a tuple-valued operation")
        args = node.args
        if target in _IDENTITY:
            env[node] = arg(args[0])
        elif target in _UNARY_ATEN:
            name = _UNARY_ATEN[target]
            a = arg(args[0])
            env[node] = emit(name, [a], kind(a) if UNARY[name] == "same" else UNARY[name])
        elif target in _BINARY_ATEN:
            name = _BINARY_ATEN[target]
            a, b = arg(args[0]), arg(args[1])
            alpha = node.kwargs.get("alpha", args[2] if len(args) > 2 else None)
            if alpha is not None and name in ("add", "sub"):
                b = emit("mul", [b, _number(alpha)], "f")
            env[node] = emit(name, [a, b], BINARY[name])
        elif target is aten.sigmoid_backward.default:  # g (1 - y) y
            g, y = arg(args[0]), arg(args[1])
            env[node] = emit("mul", [emit("mul", [g, emit("sub", [1.0, y], "f")], "f"), y], "f")
        elif target is aten.tanh_backward.default:  # g (1 - y y)
            g, y = arg(args[0]), arg(args[1])
            env[node] = emit("mul", [g, emit("sub", [1.0, emit("mul", [y, y], "f")], "f")], "f")
        elif target is aten.threshold_backward.default:  # g where x > threshold, else 0
            g, x, threshold = arg(args[0]), arg(args[1]), arg(args[2])
            env[node] = emit("where", [emit("le", [x, threshold], "b"), 0.0, g], "f")
        elif target in (aten.rsub.Scalar, aten.rsub.Tensor):
            env[node] = emit("sub", [arg(args[1]), arg(args[0])], "f")
        elif target in (aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor):
            env[node] = emit("pow", [arg(args[0]), arg(args[1])], "f")
        elif target in (aten.where.self, aten.where.ScalarOther, aten.where.ScalarSelf, aten.where.Scalar):
            c, a, b = (arg(x) for x in args[:3])
            env[node] = emit("where", [c, a, b], "f" if "f" in (kind(a), kind(b)) else "b")
        elif target in (aten.clamp.default, aten.clamp_min.default, aten.clamp_max.default, aten.clamp.Tensor,
                        aten.clamp_min.Tensor, aten.clamp_max.Tensor):
            a = arg(args[0])
            if target in (aten.clamp.default, aten.clamp.Tensor):
                lo = node.kwargs.get("min", args[1] if len(args) > 1 else None)
                hi = node.kwargs.get("max", args[2] if len(args) > 2 else None)
            elif target in (aten.clamp_min.default, aten.clamp_min.Tensor):
                lo, hi = args[1], None
            else:
                lo, hi = None, args[1]
            env[node] = emit("clamp", [a, None if lo is None else arg(lo), None if hi is None else arg(hi)], kind(a))
        elif target in (aten._to_copy.default, aten.to.dtype, aten.type_as.default):
            dtype = node.kwargs.get("dtype", meta.dtype if isinstance(meta, torch.Tensor) else None)
            a = arg(args[0])
            want = "b" if dtype == torch.bool else "f"
            if dtype is not None and dtype != torch.bool and not dtype.is_floating_point:
                raise NotElementwise(f"the step converts to {dtype}")
            env[node] = a if kind(a) == want else emit("cast", [a], want)
        elif target in _CREATE:
            value = {aten.zeros_like.default: 0.0, aten.ones_like.default: 1.0, aten.zeros.default: 0.0,
                     aten.ones.default: 1.0, aten.new_zeros.default: 0.0, aten.new_ones.default: 1.0}.get(target)
            if value is None:
                value = args[0] if target is aten.scalar_tensor.default else args[1] if target in (
                    aten.full_like.default, aten.full.default) else args[2]
            env[node] = _number(value)
        elif any(word in str(target) for word in _RANDOM):
            raise RandomStep(f"the step draws random numbers ({target})")
        else:
            raise NotElementwise(f"the operation {target} has no elementwise code")
    outs = tuple(None if o is None else arg(o) for o in outputs)
    return Body(input_names, _live(ops, outs), outs)


def _live(ops: List[Op], outputs) -> Tuple[Op, ...]:
    """``ops`` without those whose results no output needs."""
    needed = {o for o in outputs if isinstance(o, str)}
    kept = []
    for op in reversed(ops):
        if op.out in needed:
            kept.append(op)
            needed.update(a for a in op.args if isinstance(a, str))
    return tuple(reversed(kept))


# --------------------------------------------------------------------------- #
# tracing
# --------------------------------------------------------------------------- #


def _fake_inputs(n: int, dtype: torch.dtype):
    """Small real tensors to trace on. (Fake tensors would also do, but their first use costs seconds.)
    A branch on a tensor's value shows up in the trace as a scalar read, which the translation rejects."""
    g = torch.Generator().manual_seed(0)
    return [torch.rand(TRACE_NUMEL, generator=g, dtype=torch.float64).to(dtype) + 0.5 for _ in range(n)]


@contextlib.contextmanager
def _outside_transforms():
    """Trace as if called at top level: no torch.func transform, no inference mode, grad enabled."""
    from torch._functorch.pyfunctorch import temporarily_clear_interpreter_stack

    with temporarily_clear_interpreter_stack(), torch.inference_mode(False), torch.enable_grad():
        yield


class _Recorder(TorchDispatchMode):
    """Records every aten call on the tensors below autograd and functorch into an FX graph."""

    def __init__(self, graph: torch.fx.Graph, names: Dict[int, torch.fx.Node]):
        super().__init__()
        self.graph, self.names, self.keep = graph, names, []

    def _arg(self, a):
        if isinstance(a, torch.Tensor):
            node = self.names.get(id(a))
            if node is None:  # a tensor made outside the recording: a constant
                if a.numel() != 1:
                    raise NotElementwise("the step uses a tensor constant that is not a single number")
                return float(a.item())
            return node
        if isinstance(a, (list, tuple)):
            return type(a)(self._arg(b) for b in a)
        return a

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        node = self.graph.call_function(func, self._arg(tuple(args)), {k: self._arg(v) for k, v in kwargs.items()})
        if isinstance(out, torch.Tensor):
            node.meta["val"] = out
            self.names[id(out)] = node
            self.keep.append(out)
        elif isinstance(out, (tuple, list)):
            raise NotElementwise(f"the operation {func} returns several values")
        return out


# torch wraps a mode's __torch_dispatch__ so that the compiler skips it, importing torch._dynamo (seconds)
# on the first call. The recorder runs eagerly only, so it is marked as already wrapped; were torch to change
# this, the cost would be that import again, nothing else.
_raw_dispatch = getattr(_Recorder.__dict__["__torch_dispatch__"], "__wrapped__", None)
if _raw_dispatch is not None:
    setattr(_raw_dispatch, "__dynamo_disable", _raw_dispatch)


def _make_fx(fn, inputs):
    """``fn`` traced on ``inputs`` into an FX graph of aten operations (placeholders in input order)."""
    graph = torch.fx.Graph()
    names: Dict[int, torch.fx.Node] = {}
    for i, t in enumerate(inputs):
        node = graph.placeholder(f"in{i}")
        node.meta["val"] = t
        names[id(t)] = node
    recorder = _Recorder(graph, names)
    with recorder:
        out = fn(*inputs)
    flat = out if isinstance(out, (tuple, list)) else (out,)
    result = []
    for o in flat:
        if o is None:
            result.append(None)
        elif isinstance(o, torch.Tensor):
            while torch._C._functorch.is_functorch_wrapped_tensor(o):
                o = torch._C._functorch.get_unwrapped(o)
            if id(o) not in names:
                raise NotElementwise("the step returns a tensor it did not compute from its inputs")
            result.append(names[id(o)])
        else:
            raise NotElementwise(f"the step returns {type(o).__name__}, not tensors")
    graph.output(tuple(result))
    return torch.fx.GraphModule(torch.nn.Module(), graph)


def _split(gm: torch.fx.GraphModule, dynamic_inputs: Sequence[int], param_inputs: Sequence[int],
           names: Sequence[str], derived_prefix: str):
    """Split a traced graph into a prelude on the parameters and an elementwise body.

    Nodes that depend on parameters only, and that the rest uses, become derived parameters: the
    prelude computes them with torch from the parameters as given, the body reads them as inputs.
    Returns ``(body, prelude)``.
    """
    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    params = [placeholders[i] for i in param_inputs]
    dynamic = {placeholders[i] for i in dynamic_inputs}
    for node in nodes:  # created constants (``torch.tensor(2.0)`` too: no inputs) stay in the body as numbers
        if node.op == "call_function" and (node.target in _CREATE or not node.all_input_nodes
                                           or any(a in dynamic for a in node.all_input_nodes)):
            dynamic.add(node)
    output = nodes[-1]
    boundary = [n for n in nodes if n not in dynamic and n.op in ("placeholder", "call_function")
                and any(u in dynamic or u is output for u in n.users)]
    bound = {placeholders[i]: name for i, name in zip(dynamic_inputs, names)}
    bound.update((node, f"{derived_prefix}{k}") for k, node in enumerate(boundary))
    body = _body(gm, bound, dynamic)
    sources = {p: frozenset([k]) for k, p in enumerate(params)}
    for node in nodes:
        if node not in sources and node not in dynamic and node.op == "call_function":
            sources[node] = frozenset().union(*(sources.get(a, frozenset()) for a in node.all_input_nodes))
    derived_from = tuple(sources.get(node, frozenset()) if node not in params else frozenset()
                         for node in boundary)
    keys: Dict[Any, Any] = {p: ("param", k) for k, p in enumerate(params)}

    def key_of(a):
        if isinstance(a, torch.fx.Node):
            if a not in keys:
                keys[a] = ("node", str(a.target), key_of(a.args), key_of(a.kwargs))
            return keys[a]
        if isinstance(a, (list, tuple)):
            return tuple(key_of(v) for v in a)
        if isinstance(a, dict):
            return tuple(sorted((k, key_of(v)) for k, v in a.items()))
        return repr(a)

    derived_keys = tuple(key_of(node) for node in boundary)

    def prelude(*values):
        env = dict(zip(params, values))
        for node in nodes:
            if node in env or node in dynamic or node.op in ("placeholder", "output"):
                continue
            if node.op == "get_attr":
                env[node] = getattr(gm, node.target)
                continue
            args = torch.fx.node.map_arg(node.args, lambda n: env[n])
            kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: env[n])
            env[node] = node.target(*args, **kwargs)
        return tuple(env[node] for node in boundary)

    return body, prelude, derived_from, derived_keys


def _run_backward(outputs, inputs, cotangents):
    """``torch.autograd.grad(outputs, inputs, cotangents, allow_unused=True)`` through the engine directly.

    ``torch.autograd.grad`` checks explicit cotangents with ``torch.fx.experimental.symbolic_shapes``,
    whose first import (sympy) costs about half a second in a fresh process; the outputs and cotangents
    here are made together, so the check has nothing to find.
    """
    run = getattr(torch.autograd.graph, "_engine_run_backward", None)
    if run is not None:
        try:
            return run(tuple(outputs), tuple(cotangents), False, False, tuple(inputs), True, False)
        except TypeError:  # another signature in another torch: the public function
            pass
    return torch.autograd.grad(outputs, inputs, cotangents, allow_unused=True)


def trace_program(step: Callable, n_state: int, n_params: int, dtype: torch.dtype) -> Program:
    """Trace ``step(x, *state, *params) -> (y, *new_state)`` into a :class:`Program`.

    Raises :class:`NotElementwise` when the step is not an elementwise recurrence (a reduction,
    a shape change, an integer tensor, a data-dependent branch, an operation without code).
    """
    n_in = 1 + n_state + n_params

    def vjp(*args):
        # the autograd engine on leaves, not torch.func.vjp: the latter imports torch._dynamo (seconds) on
        # its first use, which would be every process's first neuron call
        primals, cotangents = args[:n_in], args[n_in:]
        outs = step(*primals)
        pairs = [(o, g) for o, g in zip(outs, cotangents) if isinstance(o, torch.Tensor) and o.requires_grad]
        grads = _run_backward([o for o, _ in pairs], primals, [g for _, g in pairs]) if pairs else [None] * n_in
        return tuple(torch.zeros_like(p) if g is None else g for g, p in zip(grads, primals))

    try:
        with _outside_transforms():
            fwd = _make_fx(step, _fake_inputs(n_in, dtype))
            leaves = _fake_inputs(n_in + 1 + n_state, dtype)
            for t in leaves[:n_in]:
                t.requires_grad_()
            bwd = _make_fx(vjp, leaves)
    except NotElementwise:
        raise
    except Exception as exc:  # tracing runs user code: any failure means "not traceable"
        raise NotElementwise(f"tracing the step failed ({type(exc).__name__}: {exc})") from None
    state = [f"s{i}" for i in range(n_state)]
    params = range(1 + n_state, n_in)
    forward, forward_prelude, derived_from, forward_keys = _split(fwd, range(1 + n_state), params, ["x", *state], "d")
    bwd_dynamic = [*range(1 + n_state), *range(n_in, n_in + 1 + n_state)]
    backward, backward_prelude, _, backward_keys = _split(
        bwd, bwd_dynamic, params, ["x", *state, "gy", *(f"gn{i}" for i in range(n_state))], "e")
    if len(forward.outputs) != 1 + n_state:
        raise NotElementwise("the step must return (y, state) with one tensor per state field")
    return Program(n_state, n_params, forward, forward_prelude, backward, backward_prelude, derived_from,
                   forward_keys, backward_keys)


def recomputed(program: Program) -> Dict[str, str]:
    """The backward body's values that repeat a forward-body computation: ``{backward name: forward name}``.

    The backward is traced through the step, so it computes again the forward's values it needs from
    ``x``, the state and the derived parameters. Values are numbered by what they compute: the same
    operation on the same inputs, where ``d_k`` and ``e_j`` are the same input when the two preludes
    compute them alike. A generator can keep such values from the forward pass it reruns anyway.
    """
    ids: Dict[Any, int] = {}
    forward_name: Dict[int, str] = {}

    def numbering(body: Body, derived_prefix: str, derived_keys) -> Dict[str, Any]:
        names: Dict[str, Any] = {}
        for name in body.inputs:
            if name.startswith(derived_prefix) and name[1:].isdigit():
                k = int(name[1:])
                names[name] = ("derived", derived_keys[k]) if k < len(derived_keys) else ("input", name)
            else:
                names[name] = ("input", name)
        return names

    def key(op: Op, names: Dict[str, Any]):
        return (op.op, op.kind, tuple(names[a] if isinstance(a, str) else ("number", repr(a)) for a in op.args))

    names = numbering(program.forward, "d", program.forward_derived_keys)
    for op in program.forward.ops:
        number = ids.setdefault(key(op, names), len(ids))
        forward_name.setdefault(number, op.out)
        names[op.out] = ("value", number)
    names = numbering(program.backward, "e", program.backward_derived_keys)
    for name in ("gy", *(f"gn{i}" for i in range(program.n_state))):
        names[name] = ("cotangent", name)
    shared = {}
    for op in program.backward.ops:
        number = ids.setdefault(key(op, names), len(ids))
        names[op.out] = ("value", number)
        if number in forward_name:
            shared[op.out] = forward_name[number]
    return shared
