"""Whole-network helpers with SpikingJelly's names: reset, step mode, detach, forward helpers.

Each helper touches only the module tree it is given; there is no global registry.
"""

from __future__ import annotations

from typing import Callable, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .base import STEP_MODES, MemoryModule, StepModule

Modules = Union[nn.Module, Sequence[nn.Module], Callable]


def reset_net(net: nn.Module) -> None:
    """Reset every module of ``net`` that has a ``reset()`` method (all memory modules)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"reset_net: `net` must be an nn.Module, got {type(net).__name__}.")
    for m in net.modules():
        if isinstance(m, MemoryModule) or callable(getattr(m, "reset", None)):
            m.reset()


def detach_net(net: nn.Module) -> None:
    """Detach the state of every memory module of ``net`` from the graph (truncated BPTT)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"detach_net: `net` must be an nn.Module, got {type(net).__name__}.")
    for m in net.modules():
        if isinstance(m, MemoryModule) or callable(getattr(m, "detach", None)) and hasattr(m, "step_mode"):
            m.detach()


def _wrapped_by_container(net: nn.Module):
    """Modules whose step mode belongs to the container that drives them."""
    from . import layer

    owners = tuple(getattr(layer, n) for n in ("MultiStepContainer", "SeqToANNContainer", "StepModeContainer",
                                                "ElementWiseRecurrentContainer", "LinearRecurrentContainer")
                   if hasattr(layer, n))
    inner = set()
    for m in net.modules():
        if owners and isinstance(m, owners):
            for sub in m.modules():
                if sub is not m:
                    inner.add(id(sub))
    return inner


def set_step_mode(net: nn.Module, step_mode: str) -> None:
    """Set ``step_mode`` of every step module in ``net``, except the insides of step-mode containers."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"set_step_mode: `net` must be an nn.Module, got {type(net).__name__}.")
    if step_mode not in STEP_MODES:
        raise ValueError(f"set_step_mode: `step_mode` must be 's' or 'm', got {step_mode!r}.")
    inner = _wrapped_by_container(net)
    for m in net.modules():
        if id(m) in inner:
            continue
        if isinstance(m, StepModule) and step_mode in m.supported_step_mode():
            m.step_mode = step_mode


def _apply_modules(x, modules: Modules):
    if isinstance(modules, (list, tuple)):
        for m in modules:
            x = m(x)
        return x
    return modules(x)


def _check_seq(fn: str, x_seq) -> None:
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[0] == 0:
        got = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
        raise ValueError(f"{fn}: `x_seq` must be a [T, N, *] tensor with T > 0, got {got}.")


def multi_step_forward(x_seq: torch.Tensor, single_step_module: Modules) -> torch.Tensor:
    """Run single-step module(s) over ``x_seq.unbind(0)`` and stack the outputs, ``[T, N, *]``."""
    _check_seq("multi_step_forward", x_seq)
    return torch.stack([_apply_modules(x, single_step_module) for x in x_seq.unbind(0)])


def seq_to_ann_forward(x_seq: Union[torch.Tensor, Tuple[torch.Tensor, ...]], stateless_module: Modules):
    """Fold ``[T, N, *]`` into ``[T*N, *]``, apply stateless module(s) once, unfold the result.

    ``x_seq`` may be a tuple of tensors sharing ``T`` and ``N`` (e.g. pooled values
    and indices); they are passed as positional arguments to the first module.
    """
    seqs = x_seq if isinstance(x_seq, tuple) else (x_seq,)
    for s in seqs:
        _check_seq("seq_to_ann_forward", s)
    T, N = seqs[0].shape[:2]
    for s in seqs[1:]:
        if tuple(s.shape[:2]) != (T, N):
            raise ValueError(f"seq_to_ann_forward: every tensor of `x_seq` needs the same [T, N]; got "
                             f"{[tuple(t.shape[:2]) for t in seqs]}.")
    flat = [s.flatten(0, 1) for s in seqs]
    modules = list(stateless_module) if isinstance(stateless_module, (list, tuple)) else [stateless_module]
    y = modules[0](*flat)
    for m in modules[1:]:
        y = m(y)
    if isinstance(y, tuple):
        return tuple(t.unflatten(0, (T, N)) for t in y)
    return y.unflatten(0, (T, N))
