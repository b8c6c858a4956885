"""NIR (the neuromorphic intermediate representation) export and import.

``to_nir(net, sample)`` writes a network of fnsnn_nn modules as a ``nir.NIRGraph``;
``from_nir(graph)`` builds a runnable module tree of fnsnn_nn modules from one.
Needs the optional extra ``nir`` (``pip install fnsnn[nir]``).

Time. NIR neurons are continuous-time equations; fnsnn neurons are discrete
steps. Both directions use the forward-Euler step of length ``dt`` that
snnTorch (``dt=1e-4``) and Norse (``dt=1e-3``) use when they read or write NIR;
the default ``dt=1.0`` measures time in steps, so ``tau`` reads the same on
both sides. With ``tau_s = tau / dt`` (fnsnn's tau, in steps):

==========  ==================================================  =====================================
NIR node    NIR parameters                                      fnsnn_nn module
==========  ==================================================  =====================================
LIF         tau, r, v_leak, v_threshold, v_reset                LIFNode(tau=tau_s, v_reset=v_leak);
                                                                ``r == 1``: decay_input=True;
                                                                ``r == tau_s``: decay_input=False;
                                                                other r: Scale(r / tau_s) before it
IF          r, v_threshold, v_reset                             IFNode (Scale(r * dt) before it
                                                                unless ``r * dt == 1``)
LI          tau, r, v_leak                                      LIAFNode(act=Identity, v_threshold=the
                                                                largest float32, threshold_related=False),
                                                                as LIF
CubaLIF     tau_syn, tau_mem, r, v_leak=0, w_in, v_threshold,   CUBALIFNode(c_decay=1 - dt/tau_syn,
            v_reset                                             v_decay=1 - dt/tau_mem), with
                                                                Scale(w_in dt/tau_syn * r dt/tau_mem)
                                                                before it unless that is 1
Affine      weight, bias                                        layer.Linear
Linear      weight                                              layer.Linear(bias=False)
Conv1d/2d   weight, bias, stride, padding, dilation, groups     layer.Conv1d / layer.Conv2d
AvgPool2d   kernel_size, stride, padding                        layer.AvgPool2d
SumPool2d   kernel_size, stride, padding                        layer.AvgPool2d(divisor_override=1)
Flatten     start_dim, end_dim (without the batch dim)          layer.Flatten (dims shifted by one)
Delay       delay (time)                                        layer.Delay(delay_steps=delay / dt)
Scale       scale                                               fnsnn_nn.nir.Scale
Threshold   threshold                                           fnsnn_nn.nir.Threshold
NIRGraph    nested graph                                        NIRGraphModule
==========  ==================================================  =====================================

Forward Euler of ``tau dv/dt = (v_leak - v) + r I`` is
``v += (dt / tau) (v_leak - v + r I)``: fnsnn's LIF charge with
``decay_input=True`` when ``r = 1``, and with ``decay_input=False`` when
``r = tau / dt`` (snnTorch's choice, its ``beta = 1 - dt / tau``). CubaLIF
follows snnTorch's order (the new current drives the same step's potential),
as fnsnn's CUBA-LIF does. A factor within 1e-6 of 1 counts as 1 (NIR files
usually hold float32 parameters, and ``tau / dt`` rounds), so no Scale node is added.

Reset and firing. NIR neurons reset to ``v_reset`` (a hard reset); fnsnn's soft
reset (``v_reset=None``) has no NIR form, so ``to_nir`` rejects it. fnsnn fires
at ``v >= v_threshold``, NIR writes ``v > v_threshold``: the two differ only
where the potential equals the threshold exactly. fnsnn's neuron shells take
one number per parameter, so a NIR neuron whose parameters differ between
neurons is rejected by name. The NIR primitives ``I`` and ``CubaLI`` (and any
other) have no fnsnn counterpart and raise, naming the node. Graphs must be
acyclic (no recurrent edges); several edges into one node are summed, as NIR says.

Other libraries. Graphs written by snnTorch 1.0 (``export_to_nir``; its Leaky
and Synaptic neurons with ``reset_mechanism="zero"``, ``reset_delay=False``)
import with ``dt=1e-4`` and give snnTorch's spikes. Norse 1.1 reads fnsnn's LIF
graphs with its own ``dt`` and gives fnsnn's spikes; its writer stores
``tau = dt / tau_mem_inv`` (``dt`` times the time constant) while its reader takes
``tau`` as the time constant, so Norse's own graphs do not reproduce Norse either.
NIR's CubaLIF is read in snnTorch's order; Norse's LIFCell adds the input to the
current after the membrane update, one step later.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from . import functional, layer, neuron
from ._state import _private_copy
from .base import StepModule

#: The threshold of the LIAFNode that stands for a NIR LI: no float32 potential can reach it.
NEVER_FIRES = float(torch.finfo(torch.float32).max)


def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("fnsnn_nn.nir needs the package 'nir': pip install 'fnsnn[nir]' "
                          f"(import failed: {err}).") from err
    return nir


class Scale(nn.Module):
    """Element-wise scaling ``y = x * scale`` (NIR's Scale); works in both step modes."""

    def __init__(self, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.get_default_dtype()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale

    def extra_repr(self) -> str:
        return f"shape={tuple(self.scale.shape)}"


class Threshold(nn.Module):
    """Heaviside step ``y = (x >= threshold)`` (NIR's Threshold); works in both step modes."""

    def __init__(self, threshold: torch.Tensor):
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(threshold, dtype=torch.get_default_dtype()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x >= self.threshold).to(x.dtype)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.threshold.shape)}"


class NIRGraphModule(nn.Module):
    """Runs a NIR graph's nodes in topological order; several inputs of a node are summed.

    Built by :func:`from_nir`. ``nodes`` holds one module per NIR node (names
    with ``.`` replaced by ``_``); ``edges`` lists ``(source, target)`` pairs
    in NIR's names. The graph has exactly one ``Input`` and one ``Output`` node.
    """

    def __init__(self, nodes: Dict[str, nn.Module], edges: List[Tuple[str, str]], input_name: str,
                 output_name: str, input_shape=None, output_shape=None):
        super().__init__()
        self.node_names = list(nodes)
        self.nodes = nn.ModuleDict({_key(n): m for n, m in nodes.items()})
        self.edges = list(edges)
        self.input_name, self.output_name = input_name, output_name
        self.input_shape, self.output_shape = input_shape, output_shape
        self.order = _topological_order("from_nir", [input_name, output_name, *nodes], self.edges)
        self.sources = {n: [s for s, t in self.edges if t == n] for n in self.order}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: Dict[str, torch.Tensor] = {}
        for name in self.order:
            if name == self.input_name:
                values[name] = x
                continue
            srcs = self.sources[name]
            if not srcs:
                raise ValueError(f"NIRGraphModule: node {name!r} has no input edge.")
            inp = values[srcs[0]]
            for s in srcs[1:]:
                inp = inp + values[s]
            values[name] = inp if name == self.output_name else self.nodes[_key(name)](inp)
        return values[self.output_name]


def _key(name: str) -> str:
    return name.replace(".", "_")


def _topological_order(fn: str, names: List[str], edges: List[Tuple[str, str]]) -> List[str]:
    known = set(names)
    for s, t in edges:
        for end in (s, t):
            if end not in known:
                raise ValueError(f"{fn}: edge ({s!r}, {t!r}) names the node {end!r}, which the graph does not have.")
    indeg = {n: 0 for n in names}
    for _, t in edges:
        indeg[t] += 1
    ready = [n for n in names if indeg[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s, t in edges:
            if s == n:
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
    if len(order) != len(names):
        cyc = sorted(n for n in names if indeg[n] > 0)
        raise ValueError(f"{fn}: the graph has a cycle through the nodes {cyc}; recurrent NIR graphs are "
                         f"not supported (fnsnn has no NIR import for recurrent edges).")
    return order


# -- import -------------------------------------------------------------------------------------

def _scalar(node_name: str, node: Any, field: str) -> float:
    value = getattr(node, field)
    arr = torch.as_tensor(value, dtype=torch.float64).reshape(-1)
    if arr.numel() == 0:
        raise ValueError(f"from_nir: node {node_name!r} ({type(node).__name__}) has an empty `{field}`.")
    first = arr[0]
    if not bool(torch.all(arr == first)):
        raise ValueError(f"from_nir: node {node_name!r} ({type(node).__name__}) has different `{field}` values "
                         f"per neuron (from {arr.min().item()} to {arr.max().item()}); fnsnn's neuron modules "
                         f"take one value per layer.")
    return float(first)


def _weight(value) -> torch.Tensor:
    return torch.as_tensor(value).detach().clone().to(torch.get_default_dtype())


def _pair(value, n: int):
    if isinstance(value, str):
        return value
    t = torch.as_tensor(value).reshape(-1).tolist()
    t = [int(v) for v in t]
    return tuple(t * n) if len(t) == 1 else tuple(t)


def _is_one(value: float) -> bool:
    # NIR files usually hold float32 parameters, and tau / dt * dt rounds: a factor within
    # float32 precision of 1 is taken as 1 (no Scale node).
    return abs(value - 1.0) <= 1e-6


def _with_scale(scale: float, mod: nn.Module) -> nn.Module:
    return mod if _is_one(scale) else nn.Sequential(Scale(torch.tensor(scale)), mod)


def _leaky_input(name: str, node: Any, tau_s: float, r: float) -> Tuple[bool, float]:
    """(decay_input, input scale) that make fnsnn's LIF charge equal NIR's Euler step."""
    if _is_one(r):
        return True, 1.0
    return False, r / tau_s


def _tau_steps(name: str, node: Any, field: str, dt: float) -> float:
    tau = _scalar(name, node, field)
    tau_s = tau / dt
    if not tau_s > 1.0:
        raise ValueError(f"from_nir: node {name!r} ({type(node).__name__}) has {field}={tau}, which is "
                         f"{tau_s} steps of dt={dt}; fnsnn needs more than one step (pass a smaller dt).")
    return tau_s


def _node_to_module(name: str, node: Any, dt: float) -> nn.Module:
    nir = _nir()
    kind = type(node).__name__
    if isinstance(node, nir.NIRGraph):
        return _graph_to_module(node, dt)
    if isinstance(node, nir.Affine):
        w = _weight(node.weight)
        m = layer.Linear(w.shape[1], w.shape[0], bias=True)
        with torch.no_grad():
            m.weight.copy_(w)
            m.bias.copy_(_weight(node.bias))
        return m
    if isinstance(node, nir.Linear):
        w = _weight(node.weight)
        m = layer.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            m.weight.copy_(w)
        return m
    if isinstance(node, (nir.Conv1d, nir.Conv2d)):
        n = 1 if isinstance(node, nir.Conv1d) else 2
        w = _weight(node.weight)
        cls = layer.Conv1d if n == 1 else layer.Conv2d
        bias = node.bias is not None and not (isinstance(node.bias, (int, float)) and node.bias == 0)
        m = cls(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]), stride=_pair(node.stride, n),
                padding=_pair(node.padding, n), dilation=_pair(node.dilation, n), groups=int(node.groups),
                bias=bias)
        with torch.no_grad():
            m.weight.copy_(w)
            if bias:
                m.bias.copy_(_weight(node.bias).reshape(-1).expand(w.shape[0]))
        return m
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        return layer.AvgPool2d(_pair(node.kernel_size, 2), stride=_pair(node.stride, 2),
                               padding=_pair(node.padding, 2),
                               divisor_override=1 if isinstance(node, nir.SumPool2d) else None)
    if isinstance(node, nir.Flatten):
        start = node.start_dim + 1 if node.start_dim >= 0 else node.start_dim
        end = node.end_dim + 1 if node.end_dim >= 0 else node.end_dim
        return layer.Flatten(start, end)
    if isinstance(node, nir.Delay):
        d = _scalar(name, node, "delay") / dt
        steps = round(d)
        if abs(d - steps) > 1e-6 * max(1.0, abs(d)) or steps < 0:
            raise ValueError(f"from_nir: node {name!r} (Delay) has delay {d * dt}, which is {d} steps of "
                             f"dt={dt}; fnsnn's Delay needs a whole number of steps >= 0.")
        return layer.Delay(steps)
    if isinstance(node, nir.Scale):
        return Scale(_weight(node.scale))
    if isinstance(node, nir.Threshold):
        return Threshold(_weight(node.threshold))
    if isinstance(node, nir.IF):
        r = _scalar(name, node, "r")
        m = neuron.IFNode(v_threshold=_scalar(name, node, "v_threshold"), v_reset=_scalar(name, node, "v_reset"))
        return _with_scale(r * dt, m)
    if isinstance(node, (nir.LIF, nir.LI)):
        tau_s = _tau_steps(name, node, "tau", dt)
        decay_input, scale = _leaky_input(name, node, tau_s, _scalar(name, node, "r"))
        v_leak = _scalar(name, node, "v_leak")
        if isinstance(node, nir.LI):
            m = neuron.LIAFNode(nn.Identity(), False, tau=tau_s, decay_input=decay_input,
                                v_threshold=NEVER_FIRES, v_reset=v_leak)
            return _with_scale(scale, m)
        v_reset = _scalar(name, node, "v_reset")
        if v_leak != v_reset:
            raise ValueError(f"from_nir: node {name!r} (LIF) has v_leak={v_leak} and v_reset={v_reset}; fnsnn's "
                             f"LIFNode leaks towards its reset potential, so the two must be equal.")
        m = neuron.LIFNode(tau=tau_s, decay_input=decay_input, v_threshold=_scalar(name, node, "v_threshold"),
                           v_reset=v_reset)
        return _with_scale(scale, m)
    if isinstance(node, nir.CubaLIF):
        tau_syn = _tau_steps(name, node, "tau_syn", dt)
        tau_mem = _tau_steps(name, node, "tau_mem", dt)
        if _scalar(name, node, "v_leak") != 0.0:
            raise ValueError(f"from_nir: node {name!r} (CubaLIF) has v_leak={_scalar(name, node, 'v_leak')}; "
                             f"fnsnn's CUBALIFNode leaks towards 0, so v_leak must be 0.")
        scale = (_scalar(name, node, "w_in") / tau_syn) * (_scalar(name, node, "r") / tau_mem)
        m = neuron.CUBALIFNode(c_decay=1.0 - 1.0 / tau_syn, v_decay=1.0 - 1.0 / tau_mem,
                               v_threshold=_scalar(name, node, "v_threshold"),
                               v_reset=_scalar(name, node, "v_reset"))
        return _with_scale(scale, m)
    raise ValueError(f"from_nir: node {name!r} is a NIR {kind}, which has no fnsnn counterpart; supported: "
                     f"Affine, Linear, Conv1d, Conv2d, AvgPool2d, SumPool2d, Flatten, Delay, Scale, Threshold, "
                     f"IF, LIF, LI, CubaLIF and nested NIRGraph.")


def _graph_to_module(graph: Any, dt: float) -> NIRGraphModule:
    nir = _nir()
    inputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Input)]
    outputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"from_nir: a graph needs exactly one Input and one Output node, got inputs {inputs} "
                         f"and outputs {outputs}.")
    mods = {n: _node_to_module(n, v, dt) for n, v in graph.nodes.items() if n not in (inputs[0], outputs[0])}
    shape_in = graph.nodes[inputs[0]].input_type.get("input")
    shape_out = graph.nodes[outputs[0]].output_type.get("output")
    return NIRGraphModule(mods, [tuple(e) for e in graph.edges], inputs[0], outputs[0],
                          None if shape_in is None else tuple(int(s) for s in shape_in),
                          None if shape_out is None else tuple(int(s) for s in shape_out))


def from_nir(graph: Any, *, dt: float = 1.0, step_mode: str = "s") -> NIRGraphModule:
    """Build a module tree of fnsnn_nn modules that runs ``graph``.

    Args:
        graph: a ``nir.NIRGraph`` (or a path to a NIR file, read with ``nir.read``).
        dt: the time step that maps NIR's continuous time to fnsnn's steps
            (``1e-4`` for graphs written by snnTorch, ``1e-3`` for Norse); see
            the module docstring.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).

    Returns:
        An :class:`NIRGraphModule`; reset it with ``functional.reset_net``
        between sequences, or drive it with ``fnsnn_nn.init_state``/``apply``.
    """
    nir = _nir()
    if isinstance(graph, (str, bytes)) or hasattr(graph, "__fspath__"):
        graph = nir.read(graph)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir: `graph` must be a nir.NIRGraph or a path to a NIR file, "
                        f"got {type(graph).__name__}.")
    if not isinstance(dt, (int, float)) or isinstance(dt, bool) or not dt > 0 or not math.isfinite(dt):
        raise ValueError(f"from_nir: `dt` must be a positive finite number, got {dt!r}.")
    if step_mode not in ("s", "m"):
        raise ValueError(f"from_nir: `step_mode` must be 's' or 'm', got {step_mode!r}.")
    net = _graph_to_module(graph, float(dt))
    functional.set_step_mode(net, step_mode)
    return net


# -- export -------------------------------------------------------------------------------------

def _np(t):
    return torch.as_tensor(t).detach().cpu().numpy()


def _full(shape, value: float):
    import numpy as np

    return np.full(tuple(shape), float(value), dtype=np.float32)


def _hard_reset(fn: str, path: str, m: nn.Module) -> float:
    if m.v_reset is None:
        raise ValueError(f"{fn}: module {path!r} ({type(m).__name__}) uses soft reset (v_reset=None); NIR "
                         f"neurons reset to v_reset, so only hard reset can be exported.")
    return _number(fn, path, m, "v_reset")


def _number(fn: str, path: str, m: nn.Module, attr: str) -> float:
    value = getattr(m, attr)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{fn}: module {path!r} has a tensor `{attr}` of shape {tuple(value.shape)}; "
                             f"only one value per layer is exported.")
        value = value.item()
    return float(value)


def _module_to_node(path: str, m: nn.Module, in_shape: Tuple[int, ...], dt: float):
    nir = _nir()
    fn = "to_nir"
    if isinstance(m, NIRGraphModule):
        return _tree_to_graph(m, dt, {}, path)
    # Exact types: subclasses (WSLinear, WSConv2d, DropConnectLinear, ...) compute something else.
    if type(m) in (nn.Linear, layer.Linear):
        if m.bias is None:
            return nir.Linear(weight=_np(m.weight))
        return nir.Affine(weight=_np(m.weight), bias=_np(m.bias))
    if type(m) in (nn.Conv1d, nn.Conv2d, layer.Conv1d, layer.Conv2d):
        if m.padding_mode != "zeros":
            raise ValueError(f"{fn}: module {path!r} uses padding_mode={m.padding_mode!r}; NIR convolutions "
                             f"pad with zeros.")
        n = 1 if isinstance(m, nn.Conv1d) else 2
        if n == 2 and m.kernel_size[0] != m.kernel_size[1]:
            raise ValueError(f"{fn}: module {path!r} (Conv2d) has the kernel {tuple(m.kernel_size)}; NIR's shape "
                             f"inference reads one kernel size for both dimensions, so only square kernels export.")
        bias = _np(m.bias) if m.bias is not None else _np(torch.zeros(m.out_channels))
        cls = nir.Conv1d if n == 1 else nir.Conv2d
        # NIR sizes a convolution's input by weight.shape[1] (channels per group): leave grouped ones to inference.
        spatial = tuple(in_shape[1:]) if in_shape is not None and m.groups == 1 else None
        pad = m.padding if isinstance(m.padding, str) else (m.padding[0] if n == 1 else tuple(m.padding))
        return cls(input_shape=(spatial[0] if n == 1 else spatial) if spatial else None, weight=_np(m.weight),
                   stride=m.stride[0] if n == 1 else tuple(m.stride), padding=pad,
                   dilation=m.dilation[0] if n == 1 else tuple(m.dilation), groups=m.groups, bias=bias)
    if type(m) in (nn.AvgPool2d, layer.AvgPool2d):
        if m.ceil_mode or m.divisor_override not in (None, 1) or (not m.count_include_pad and m.padding):
            raise ValueError(f"{fn}: module {path!r} (AvgPool2d) uses ceil_mode, divisor_override other than 1 "
                             f"or count_include_pad=False with padding, which NIR pooling cannot express.")
        k = _pair(m.kernel_size, 2)
        s = _pair(m.stride if m.stride is not None else m.kernel_size, 2)
        p = _pair(m.padding, 2)
        cls = nir.SumPool2d if m.divisor_override == 1 else nir.AvgPool2d
        import numpy as np
        return cls(kernel_size=np.array(k), stride=np.array(s), padding=np.array(p))
    if type(m) in (nn.Flatten, layer.Flatten):
        start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
        end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
        if m.start_dim == 0:
            raise ValueError(f"{fn}: module {path!r} (Flatten) flattens the batch dimension (start_dim=0).")
        return nir.Flatten(input_type={"input": in_shape} if in_shape is not None else None,
                           start_dim=start, end_dim=end)
    if type(m) is layer.Delay:
        return nir.Delay(delay=_full(in_shape, m.delay_steps * dt))
    if isinstance(m, Scale):
        return nir.Scale(scale=_np(m.scale))
    if isinstance(m, Threshold):
        return nir.Threshold(threshold=_np(m.threshold))
    if type(m) is neuron.IFNode:
        v_reset = _hard_reset(fn, path, m)
        return nir.IF(r=_full(in_shape, 1.0 / dt), v_threshold=_full(in_shape, _number(fn, path, m, "v_threshold")),
                      v_reset=_full(in_shape, v_reset))
    if type(m) is neuron.LIAFNode:
        if not isinstance(m.act, nn.Identity) or m.threshold_related or not (
                isinstance(m.v_threshold, float) and m.v_threshold >= NEVER_FIRES):
            raise ValueError(f"{fn}: module {path!r} (LIAFNode) is exported as NIR LI only with act=nn.Identity(), "
                             f"threshold_related=False and v_threshold=fnsnn_nn.nir.NEVER_FIRES (it never fires).")
        r = 1.0 if m.decay_input else m.tau
        return nir.LI(tau=_full(in_shape, m.tau * dt), r=_full(in_shape, r),
                      v_leak=_full(in_shape, _hard_reset(fn, path, m)))
    if type(m) is neuron.LIFNode:
        v_reset = _hard_reset(fn, path, m)
        r = 1.0 if m.decay_input else m.tau
        return nir.LIF(tau=_full(in_shape, m.tau * dt), r=_full(in_shape, r), v_leak=_full(in_shape, v_reset),
                       v_threshold=_full(in_shape, _number(fn, path, m, "v_threshold")),
                       v_reset=_full(in_shape, v_reset))
    if type(m) is neuron.CUBALIFNode:
        v_reset = _hard_reset(fn, path, m)
        c, v = _number(fn, path, m, "c_decay"), _number(fn, path, m, "v_decay")
        if c >= 1.0 or v >= 1.0:
            raise ValueError(f"{fn}: module {path!r} (CUBALIFNode) has c_decay={c}, v_decay={v}; a decay of 1 "
                             f"is an infinite NIR time constant.")
        tau_syn, tau_mem = dt / (1.0 - c), dt / (1.0 - v)
        return nir.CubaLIF(tau_syn=_full(in_shape, tau_syn), tau_mem=_full(in_shape, tau_mem),
                           r=_full(in_shape, tau_mem / dt), v_leak=_full(in_shape, 0.0),
                           v_threshold=_full(in_shape, _number(fn, path, m, "v_threshold")),
                           v_reset=_full(in_shape, v_reset), w_in=_full(in_shape, tau_syn / dt))
    raise ValueError(f"{fn}: module {path!r} is a {type(m).__name__}, which has no NIR counterpart; supported: "
                     f"Linear, Conv1d, Conv2d, AvgPool2d, Flatten, Delay, IFNode, LIFNode (hard reset), "
                     f"CUBALIFNode, LIAFNode as LI, fnsnn_nn.nir.Scale/Threshold, nn.Sequential and "
                     f"NIRGraphModule.")


def _chain(m: nn.Module, path: str):
    """Leaves of nested Sequentials in order, as (path, module)."""
    if isinstance(m, nn.Sequential):
        for name, sub in m.named_children():
            yield from _chain(sub, f"{path}.{name}" if path else name)
    elif not isinstance(m, nn.Identity):
        yield path or type(m).__name__, m


def _tree_to_graph(net: nn.Module, dt: float, shapes: Dict[int, Tuple], prefix: str = ""):
    nir = _nir()
    if isinstance(net, NIRGraphModule):
        nodes: Dict[str, Any] = {}
        edges: List[Tuple[str, str]] = []
        for name in net.node_names:
            sub = net.nodes[_key(name)]
            nodes[name] = _tree_to_graph(sub, dt, shapes, name) if isinstance(sub, nn.Sequential) \
                else _module_to_node(name, sub, shapes.get(id(sub)), dt)
        nodes[net.input_name] = nir.Input(input_type=list(net.input_shape or shapes.get(("in", id(net)), [1])))
        nodes[net.output_name] = nir.Output(output_type=list(net.output_shape or shapes.get(("out", id(net)), [1])))
        return nir.NIRGraph(nodes=nodes, edges=list(net.edges))
    leaves = list(_chain(net, ""))
    if not leaves:
        raise ValueError("to_nir: the network has no module to export.")
    nodes = {"input": None}
    names = []
    for path, m in leaves:
        name = f"{prefix}.{path}" if prefix else path
        nodes[name] = _module_to_node(name, m, shapes.get(id(m)), dt)
        names.append(name)
    first_in = shapes.get(id(leaves[0][1]))
    last_out = shapes.get(("out", id(leaves[-1][1])))
    nodes["input"] = nir.Input(input_type=list(first_in) if first_in is not None else [1])
    nodes["output"] = nir.Output(output_type=list(last_out) if last_out is not None else [1])
    chain = ["input", *names, "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:])))


def to_nir(net: nn.Module, sample: torch.Tensor, *, dt: float = 1.0, step_mode: Optional[str] = None):
    """Write ``net`` as a ``nir.NIRGraph``.

    ``net`` is an ``nn.Sequential`` (nested ones and fnsnn_nn's Sequential
    containers are unrolled) of the modules in the module docstring's table, or
    an :class:`NIRGraphModule`. ``sample`` is one input in ``net``'s step mode
    (``[N, *]`` or ``[T, N, *]``); a forward pass on a copy of ``net`` records
    each layer's shape, and ``net`` itself is not touched.

    Args:
        net: the network.
        sample: an input batch, used only for shapes.
        dt: the time step of NIR's continuous time (see the module docstring).
        step_mode: whether ``sample`` is ``[N, *]`` (``'s'``) or ``[T, N, *]``
            (``'m'``); ``None`` reads it from ``net``'s step modules.

    Returns:
        A ``nir.NIRGraph`` with nodes ``input``, one per layer (named by its
        path in ``net``), and ``output``.
    """
    _nir()
    if not isinstance(net, nn.Module):
        raise TypeError(f"to_nir: `net` must be an nn.Module, got {type(net).__name__}.")
    if not isinstance(sample, torch.Tensor):
        raise TypeError(f"to_nir: `sample` must be a tensor, got {type(sample).__name__}.")
    if not isinstance(dt, (int, float)) or isinstance(dt, bool) or not dt > 0 or not math.isfinite(dt):
        raise ValueError(f"to_nir: `dt` must be a positive finite number, got {dt!r}.")
    if step_mode not in (None, "s", "m"):
        raise ValueError(f"to_nir: `step_mode` must be None, 's' or 'm', got {step_mode!r}.")
    probe = _private_copy(net, own_buffers=True)
    functional.reset_net(probe)
    if step_mode is None:
        multi = any(getattr(m, "step_mode", "s") == "m" for m in probe.modules() if isinstance(m, StepModule))
    else:
        multi = step_mode == "m"
    lead = 2 if multi else 1
    shapes: Dict[Any, Tuple] = {}
    # Map the probe's modules back to net's (the private copy keeps the order of modules()).
    pairs = list(zip(probe.modules(), net.modules()))
    hooks = []
    for pm, nm in pairs:
        def hook(mod, inp, out, key=id(nm)):
            if isinstance(inp[0], torch.Tensor):
                shapes.setdefault(key, tuple(inp[0].shape[lead:]))
            if isinstance(out, torch.Tensor):
                shapes.setdefault(("out", key), tuple(out.shape[lead:]))
        hooks.append(pm.register_forward_hook(hook))
    try:
        with torch.no_grad():
            probe(sample)
    finally:
        for h in hooks:
            h.remove()
    if isinstance(net, NIRGraphModule):
        shapes.setdefault(("in", id(net)), tuple(sample.shape[lead:]))
    graph = _tree_to_graph(net, float(dt), shapes)
    return graph
