"""Activation checkpointing of stateful (multi-step) modules that recomputes from the right state.

Why plain ``torch.utils.checkpoint`` is wrong here: a memory module reads its
state from its attributes at the start of ``forward`` and writes the new state
back at the end. ``torch.utils.checkpoint(module, x)`` keeps only ``x`` and runs
``module(x)`` again during backward; by then the attributes hold the state the
first run *ended* with, so the recomputation starts from the final state, not
the initial one. Its activations, and so the gradients, are those of a different
run (and the module's state is advanced a second time). ``checkpoint`` below
snapshots the memories of every memory module before the call and recomputes on
a private copy of the module tree loaded with that snapshot, so the recomputed
pass is the original one and the module's own memories are written once, with
the state the forward pass produced.

Each segment runs as torch's reentrant checkpoint with the starting state's
tensors as explicit inputs (so gradients flow into the previous segment). During
backward one segment is recomputed and differentiated at a time and its
activations are freed before the next; with the non-reentrant form the measured
peak stayed higher (benchmarks/bench_checkpoint.py). Like any reentrant
checkpoint it works with ``loss.backward()``, not with ``torch.autograd.grad``
or ``backward(inputs=...)``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint as _torch_checkpoint

from ._state import _private_copy, memory_modules
from .base import StepModule

Memories = Dict[str, Dict[str, Any]]


def _snapshot(net: nn.Module) -> Memories:
    return {name: dict(m._memories) for name, m in memory_modules(net).items()}


def _run_from(net: nn.Module, snapshot: Memories, inputs: Tuple[Any, ...]) -> Tuple[Any, Memories]:
    """``net(*inputs)`` on a private copy whose memories start at ``snapshot``; returns (y, new memories)."""
    run = _private_copy(net, own_buffers=False)
    mods = memory_modules(run)
    for name, m in mods.items():
        m._memories.update(snapshot[name])
    y = run(*inputs)
    return y, {name: dict(m._memories) for name, m in mods.items()}


def _store(net: nn.Module, memories: Memories) -> None:
    for name, m in memory_modules(net).items():
        for key, value in memories[name].items():
            setattr(m, key, value)


def _segment(module: nn.Module, inputs: Tuple[Any, ...]) -> Any:
    start = _snapshot(module)
    # The starting state's tensors go in as explicit inputs, so gradients reach the previous segment.
    slots = [(name, key) for name, entry in start.items() for key, v in entry.items() if isinstance(v, torch.Tensor)]
    n_in = len(inputs)
    layout: Dict[str, Any] = {}

    def body(*args):
        snap = {name: dict(entry) for name, entry in start.items()}
        for (name, key), value in zip(slots, args[n_in:n_in + len(slots)]):
            snap[name][key] = value
        y, new = _run_from(module, snap, args[:n_in])
        ys = (y,) if isinstance(y, torch.Tensor) else tuple(y)
        if not all(isinstance(t, torch.Tensor) for t in ys):
            raise TypeError(f"checkpoint: the module must return a tensor or a tuple of tensors, "
                            f"got {type(y).__name__}.")
        out_slots = [(name, key) for name, entry in new.items() for key, v in entry.items()
                     if isinstance(v, torch.Tensor)]
        layout.update(single=isinstance(y, torch.Tensor), n_y=len(ys), slots=out_slots, new=new)
        return (*ys, *(new[name][key] for name, key in out_slots))

    # A zero-size leaf that requires grad: the reentrant form only builds a backward when an
    # input requires grad, and the parameters need one even when x and the state do not.
    anchor = torch.empty(0, requires_grad=True)
    state_in = [start[name][key] for name, key in slots]
    outs = _torch_checkpoint(lambda *a: body(*a[:-1]), *inputs, *state_in, anchor,
                             use_reentrant=True, preserve_rng_state=True)
    ys, leaves = outs[:layout["n_y"]], outs[layout["n_y"]:]
    new = {name: dict(entry) for name, entry in layout["new"].items()}
    for (name, key), value in zip(layout["slots"], leaves):
        new[name][key] = value
    _store(module, new)
    return ys[0] if layout["single"] else tuple(ys)


def checkpoint(module: nn.Module, *inputs: Any, chunk: Optional[int] = None) -> Any:
    """``module(*inputs)`` with activation checkpointing whose gradients and final state are exact.

    The call keeps no intermediate activations: backward recomputes them from
    the state ``module``'s memories held before the call (see the module
    docstring for why ``torch.utils.checkpoint`` alone recomputes from the
    wrong state). After the call the memories hold the new state, as after a
    plain call, so successive calls (time chunks) chain like plain ones.

    Args:
        module: a memory module or a whole network (any step mode).
        *inputs: its inputs.
        chunk: optional number of time steps per checkpointed segment; the
            tensor inputs are split along dimension 0 (``[T, N, *]`` in
            multi-step mode), each segment is checkpointed on its own and the
            outputs are concatenated along dimension 0. During backward only one
            segment's activations live at a time.

    Returns:
        What ``module(*inputs)`` returns.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"checkpoint: `module` must be an nn.Module, got {type(module).__name__}.")
    if not inputs:
        raise ValueError("checkpoint: give the module's inputs after `module`, got none.")
    if chunk is None:
        return _segment(module, inputs)
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise ValueError(f"checkpoint: `chunk` must be None or an int >= 1 (time steps per segment), got {chunk!r}.")
    if not any(getattr(m, "step_mode", "s") == "m" for m in module.modules() if isinstance(m, StepModule)):
        raise ValueError("checkpoint: `chunk` splits the time dimension of multi-step inputs, but no module "
                         "in `module` is in step_mode='m'; call functional.set_step_mode(module, 'm') first, "
                         "or leave chunk=None.")
    lengths = {x.shape[0] for x in inputs if isinstance(x, torch.Tensor) and x.dim() > 0}
    if len(lengths) != 1:
        shapes = [tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__ for x in inputs]
        raise ValueError(f"checkpoint: with `chunk`, the tensor inputs must share one leading (time) length, "
                         f"got {shapes}.")
    T = lengths.pop()
    outs: List[Any] = []
    for lo in range(0, T, chunk):
        part = tuple(x[lo:lo + chunk] if isinstance(x, torch.Tensor) and x.dim() > 0 else x for x in inputs)
        outs.append(_segment(module, part))
    if not all(isinstance(o, torch.Tensor) for o in outs):
        raise TypeError(f"checkpoint: with `chunk`, the module must return one tensor per segment, "
                        f"got {type(outs[0]).__name__}.")
    return torch.cat(outs, 0)
