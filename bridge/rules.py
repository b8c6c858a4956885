"""Activation rules: which fx nodes become spiking neurons, and how.

A rule plugs a conversion algorithm into :class:`~bridge.converter.Converter`
without touching the converter: it matches activation nodes, puts a
calibration hook after each, and later swaps activation + hook for
``VoltageScaler(θ/s) -> neuron -> VoltageScaler(s)``, where ``s`` is the
layer threshold and ``θ`` the neuron's own firing threshold (1 by default, so
the first scaler is ``1/s``).
"""

from __future__ import annotations

import itertools
import math
from numbers import Real
from typing import Dict, Iterator, Protocol, Tuple, runtime_checkable

import torch
import torch.fx as fx
import torch.nn as nn

from .factories import HookFactory, NeuronFactory
from .modules import VoltageHook, VoltageScaler
from .threshold import ThresholdOptimizer

TAILOR = "snn_tailor"


def describe_node(node: fx.Node) -> str:
    """``fx node 'name' (op target)`` plus the user's source line when fx recorded it."""
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", repr(node.target))
    where = f"fx node {node.name!r} ({node.op} {target})"
    trace = (node.stack_trace or "").strip().splitlines()
    frames = [line.strip() for line in trace if line.strip().startswith("File ")]
    if frames:
        where += f" at {frames[-1]}"
    return where


def free_target(fx_model: fx.GraphModule, parent: str, stem: str, counts: Dict[str, int]) -> str:
    """The next unused dotted name ``parent.stem_k``; ``counts`` keeps ``k`` per parent."""
    key = parent or "<root>"
    while True:
        k = counts.get(key, 0)
        counts[key] = k + 1
        target = f"{parent}.{stem}_{k}" if parent else f"{stem}_{k}"
        try:
            fx_model.get_submodule(target)
        except AttributeError:
            return target


def model_device(fx_model: nn.Module) -> torch.device:
    """Device of the model's first parameter or buffer (CPU when it has none)."""
    first = next(itertools.chain(fx_model.parameters(), fx_model.buffers()), None)
    return torch.device("cpu") if first is None else first.device


def _neuron_threshold(neuron: nn.Module, where: str) -> float:
    theta = getattr(neuron, "v_threshold", 1.0)
    if isinstance(theta, torch.Tensor):
        if theta.numel() != 1:
            raise ValueError(f"ReLURule.replace_with_neurons: the neuron built for {where} has a v_threshold of "
                             f"shape {tuple(theta.shape)}; layer-wise conversion needs a scalar threshold.")
        theta = float(theta.detach().reshape(()))
    if not (isinstance(theta, (int, float)) and math.isfinite(theta) and theta > 0):
        raise ValueError(f"ReLURule.replace_with_neurons: the neuron built for {where} has v_threshold {theta!r}; "
                         f"expected a finite positive number.")
    return float(theta)


def _layer_threshold(fn: str, where: str, scale) -> float:
    """The threshold optimizer's result as a finite positive float (a one-element tensor is accepted)."""
    if isinstance(scale, torch.Tensor) and scale.numel() == 1 and not scale.dtype == torch.bool:
        scale = float(scale.detach().reshape(()))
    if isinstance(scale, bool) or not isinstance(scale, Real):
        raise TypeError(f"{fn}: the threshold optimizer returned {type(scale).__name__} {scale!r} for {where}; "
                        f"the threshold must be a finite positive number.")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{fn}: the calibrated threshold of {where} is {scale!r}; it must be a finite positive "
                         f"number. Zero means the activation never took a positive value on the calibration data "
                         f"(a dead layer): check the dataloader, the trained weights or the threshold optimizer.")
    return float(scale)


@runtime_checkable
class ActivationRule(Protocol):
    """Protocol of an activation-to-neuron conversion rule.

    A rule (1) :meth:`match`-es the fx nodes it handles, (2) inserts a
    calibration hook after each (:meth:`insert_hooks`), (3) yields the
    ``(activation_node, hook_node)`` pairs to replace
    (:meth:`find_replacements`) and (4) swaps each pair for spiking neurons
    (:meth:`replace_with_neurons`). Rules edit the graph in place; the
    converter runs them on its own copy and lints and recompiles afterwards.
    """

    def match(self, node: fx.Node, modules: Dict[str, nn.Module]) -> bool:
        """True when this rule converts ``node``; ``modules`` is ``dict(fx_model.named_modules())``."""
        ...

    def insert_hooks(self, fx_model: fx.GraphModule, node: fx.Node, hook_factory: HookFactory,
                     hook_counts_per_prefix: Dict[str, int]) -> fx.Node:
        """Insert a hook from ``hook_factory`` after ``node``; return the hook node."""
        ...

    def find_replacements(self, fx_model: fx.GraphModule,
                          modules: Dict[str, nn.Module]) -> Iterator[Tuple[fx.Node, fx.Node]]:
        """Yield the ``(activation_node, hook_node)`` pairs this rule replaces."""
        ...

    def replace_with_neurons(self, fx_model: fx.GraphModule, activation_node: fx.Node, hook_node: fx.Node,
                             neuron_factory: NeuronFactory, threshold_optimizer: ThresholdOptimizer) -> None:
        """Replace the activation and its hook by spiking neurons."""
        ...


class ReLURule:
    """Convert every ``nn.ReLU`` module call into ``VoltageScaler(1/s) -> IFNode -> VoltageScaler(s)``.

    Subclasses usually override :meth:`match` only: the hook insertion and
    the replacement work for any activation whose first argument is its
    input and whose output is bounded below by 0 (``nn.ReLU``,
    ``nn.Hardtanh(0, m)``, ``torch.clamp(x, min=0)``...). The new modules of
    the k-th replacement live in ``fx_model.snn_tailor[k]`` (an
    ``nn.ModuleList`` of ``nn.Sequential`` blocks) and are called as three
    separate graph nodes.
    """

    hook_stem = "voltage_hook"

    def match(self, node: fx.Node, modules: Dict[str, nn.Module]) -> bool:
        return node.op == "call_module" and isinstance(modules.get(node.target), nn.ReLU)

    def insert_hooks(self, fx_model: fx.GraphModule, node: fx.Node, hook_factory: HookFactory,
                     hook_counts_per_prefix: Dict[str, int]) -> fx.Node:
        parent = node.target.rpartition(".")[0] if node.op == "call_module" else ""
        target = free_target(fx_model, parent, self.hook_stem, hook_counts_per_prefix)
        hook = hook_factory.create()
        if not isinstance(hook, nn.Module):
            raise TypeError(f"{type(self).__name__}.insert_hooks: hook_factory.create() must return an nn.Module, "
                            f"got {type(hook).__name__}.")
        fx_model.add_submodule(target, hook.to(model_device(fx_model)))
        with fx_model.graph.inserting_after(node):
            hook_node = fx_model.graph.call_module(target, args=(node,))
        node.replace_all_uses_with(hook_node, delete_user_cb=lambda user: user is not hook_node)
        return hook_node

    def find_replacements(self, fx_model: fx.GraphModule,
                          modules: Dict[str, nn.Module]) -> Iterator[Tuple[fx.Node, fx.Node]]:
        for node in list(fx_model.graph.nodes):
            if node.op != "call_module" or not isinstance(modules.get(node.target), VoltageHook):
                continue
            source = node.args[0] if node.args else None
            if isinstance(source, fx.Node) and self.match(source, modules):
                yield source, node

    def replace_with_neurons(self, fx_model: fx.GraphModule, activation_node: fx.Node, hook_node: fx.Node,
                             neuron_factory: NeuronFactory, threshold_optimizer: ThresholdOptimizer) -> None:
        fn = f"{type(self).__name__}.replace_with_neurons"
        where = describe_node(activation_node)
        if not activation_node.args or not isinstance(activation_node.args[0], fx.Node):
            raise ValueError(f"{fn}: {where} has no tensor input as its first argument; this rule replaces "
                             f"activations called as act(x).")
        hook = fx_model.get_submodule(hook_node.target)
        scale = _layer_threshold(fn, where, threshold_optimizer.compute_threshold(hook))
        neuron = neuron_factory.create(scale)
        if not isinstance(neuron, nn.Module):
            raise TypeError(f"{fn}: neuron_factory.create() must return an nn.Module, got {type(neuron).__name__}.")
        theta = _neuron_threshold(neuron, where)

        training = fx_model.training
        if activation_node.op == "call_module":
            training = fx_model.get_submodule(activation_node.target).training
        block = nn.Sequential(VoltageScaler(theta / scale), neuron, VoltageScaler(scale))
        block.train(training).to(model_device(fx_model))
        tailor = getattr(fx_model, TAILOR, None)
        if tailor is None:
            tailor = nn.ModuleList()
            tailor.train(fx_model.training)
            fx_model.add_module(TAILOR, tailor)
        elif not isinstance(tailor, nn.ModuleList):
            raise ValueError(f"{fn}: the model already has an attribute {TAILOR!r} ({type(tailor).__name__}); "
                             f"rename it, the converter keeps the spiking blocks there.")
        tailor.append(block)
        prefix = f"{TAILOR}.{len(tailor) - 1}"

        graph = fx_model.graph
        node, anchor = activation_node.args[0], hook_node
        for i in range(3):  # scaler(θ/s) -> neuron -> scaler(s), right after the hook
            with graph.inserting_after(anchor):
                node = anchor = graph.call_module(f"{prefix}.{i}", args=(node,))
        hook_node.replace_all_uses_with(node)
        graph.erase_node(hook_node)
        fx_model.delete_submodule(hook_node.target)
        activation_node.replace_all_uses_with(node)
        if not activation_node.users:
            graph.erase_node(activation_node)
            if activation_node.op == "call_module" and not any(
                    n.op == "call_module" and n.target == activation_node.target for n in graph.nodes):
                fx_model.delete_submodule(activation_node.target)


__all__ = ["ActivationRule", "ReLURule", "describe_node"]
