"""Helpers shared by the stateful layer shells: memories <-> core state, default random generators."""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from ..base import MemoryModule


def memory_state(module: MemoryModule, state_type: type, like: torch.Tensor,
                 shapes: Optional[Dict[str, Any]] = None):
    """The module's memories as a ``state_type``, or ``None`` while any of them is unset (rest)."""
    values = [module._memories[f] for f in state_type._fields]
    if not all(isinstance(v, torch.Tensor) for v in values):
        return None
    shapes = shapes or {}
    for f, v in zip(state_type._fields, values):
        module.check_memory(f, v, like, shapes.get(f))
    return state_type(*values)


def store_state(module: MemoryModule, state) -> None:
    for f, v in zip(state._fields, state):
        setattr(module, f, v)


def default_generator(device: torch.device) -> torch.Generator:
    """torch's global generator of ``device``, so shells follow ``torch.manual_seed`` as SpikingJelly does."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return torch.cuda.default_generators[index]
    if device.type == "cpu":
        return torch.default_generator
    raise ValueError(f"no default generator for device {device}; set `module.generator` to a "
                     f"torch.Generator(device={str(device)!r}).")


def layer_generator(module, device) -> torch.Generator:
    """``module.generator`` when set, else the global generator of ``device``."""
    gen = getattr(module, "generator", None)
    return gen if gen is not None else default_generator(device)


def step_input(module, x, multi: bool) -> torch.Tensor:
    """Check ``x`` is a tensor (``[T, N, *]`` with ``T > 0`` when ``multi``) and return one step of it."""
    name = type(module).__name__
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}.")
    if not multi:
        return x
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"{name}: step_mode='m' needs a [T, N, *] tensor with T > 0, got shape {tuple(x.shape)}; "
                         f"for one time step use step_mode='s'.")
    return x[0]
