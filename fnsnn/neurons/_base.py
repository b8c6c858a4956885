"""Machinery shared by every spiking-neuron family: fire, reset, state, dispatch.

A family is described once by a :class:`NeuronFamily`: its state type, its
rest state and its unchecked single-step update. :func:`run_step` and
:func:`run_multi_step` add validation, the time loop and backend dispatch, so
a new neuron is its charge equation and state type, not a copy of the loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

import torch

from .._checks import (
    check_backend,
    check_bool,
    check_param,
    check_param_shapes,
    check_seq,
    check_state,
    check_surrogate,
    check_tensor,
)
from ..scan import _scan


def default_surrogate():
    from ..surrogate import Sigmoid

    return Sigmoid()


def fire(h: torch.Tensor, v_threshold, surrogate_function: Callable) -> torch.Tensor:
    """Spike where the charged potential ``h`` reaches ``v_threshold``: ``S = Θ(h - v_th)``."""
    return surrogate_function(h - v_threshold)


def reset(h: torch.Tensor, spike: torch.Tensor, v_threshold, v_reset, detach_reset: bool) -> torch.Tensor:
    """Hard reset ``v = S v_reset + (1 - S) h``; soft reset (``v_reset=None``) ``v = h - S v_th``."""
    if detach_reset:
        spike = spike.detach()
    if v_reset is None:
        return h - spike * v_threshold
    return spike * v_reset + (1.0 - spike) * h


def fire_and_reset(h, v_threshold, v_reset, detach_reset, surrogate_function):
    spike = fire(h, v_threshold, surrogate_function)
    return spike, reset(h, spike, v_threshold, v_reset, detach_reset)


def full_like(like: torch.Tensor, value) -> torch.Tensor:
    """A new tensor shaped like ``like`` holding ``value`` (a float or a broadcastable tensor)."""
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(like) + value.to(like.dtype)
    return torch.full_like(like, float(value))


def check_firing(fn: str, v_threshold, v_reset, detach_reset, surrogate_function) -> Dict[str, Any]:
    """Validate the keywords every spiking neuron takes and return them as a config dict.

    ``v_threshold`` and ``v_reset`` follow :func:`fnsnn._checks.check_param` (finite numbers or
    floating tensors; ``v_reset`` may be None), the surrogate :func:`fnsnn._checks.check_surrogate`.
    """
    check_param(fn, "v_threshold", v_threshold)
    check_param(fn, "v_reset", v_reset, allow_none=True)
    check_bool(fn, "detach_reset", detach_reset)
    surrogate_function = check_surrogate(fn, "surrogate_function", surrogate_function, default_surrogate)
    return dict(v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
                surrogate_function=surrogate_function)


@dataclass(frozen=True)
class NeuronFamily:
    """One neuron family.

    Attributes:
        name: short name used in messages, e.g. ``"lif"``.
        state_type: the NamedTuple of state tensors.
        rest: ``rest(x_like, cfg) -> state``, the rest state for one time step's input.
        update: ``update(x, state, cfg) -> (y, new_state)``, unchecked.
        trace: the state field returned as ``v_seq``.
        state_shapes: ``state_shapes(x_like, cfg) -> {field: shape}`` for fields not shaped like the input.
        kernels: backend name -> ``kernel(x_seq, state, cfg, return_v_seq)``, same result as the loop;
            ``"triton"`` (one launch per direction) and ``"fast"`` (graph-free torch scan that
            ``backend="auto"`` uses off CUDA). A :class:`ScanKernel` also says which configurations it runs.
    """

    name: str
    state_type: type
    rest: Callable
    update: Callable
    trace: str = "v"
    state_shapes: Optional[Callable] = None
    kernels: Dict[str, Callable] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanKernel:
    """A backend's scan with the check of what it supports.

    Attributes:
        run: ``run(x_seq, state, cfg, return_v_seq)``, returning as the reference loop.
        unsupported: ``unsupported(x_seq, cfg) -> None`` when ``run`` handles this call, else the reason.
    """

    run: Callable
    unsupported: Callable

    def __call__(self, x_seq, state, cfg, return_v_seq):
        return self.run(x_seq, state, cfg, return_v_seq)


def _unsupported(family: NeuronFamily, backend: str, x_seq: torch.Tensor, cfg: Dict[str, Any]) -> Optional[str]:
    kernel = family.kernels.get(backend)
    if kernel is None:
        return f"no {backend} kernel for the {family.name} neuron"
    return kernel.unsupported(x_seq, cfg) if isinstance(kernel, ScanKernel) else None


def prepare_state(fn: str, family: NeuronFamily, like: torch.Tensor, state: Any, cfg: Dict[str, Any]):
    check_param_shapes(fn, cfg, like)
    if state is None:
        return family.rest(like, cfg)
    shapes = family.state_shapes(like, cfg) if family.state_shapes is not None else None
    return check_state(fn, state, family.state_type, like, shapes=shapes)


def run_step(fn: str, family: NeuronFamily, x: torch.Tensor, state: Any, cfg: Dict[str, Any]):
    check_tensor(fn, "x", x)
    state = prepare_state(fn, family, x, state, cfg)
    return family.update(x, state, cfg)


def triton_available() -> Optional[str]:
    """``None`` if Triton can run here, else the reason it cannot."""
    try:
        import triton  # noqa: F401
    except ImportError as exc:  # the library works without Triton; only this backend needs it
        return f"triton is not installed ({exc})"
    return None


def resolve_backend(fn: str, family: NeuronFamily, backend: str, x_seq: torch.Tensor,
                    cfg: Optional[Dict[str, Any]] = None) -> str:
    check_backend(fn, backend)
    cfg = {} if cfg is None else cfg
    if backend == "auto":
        if x_seq.is_cuda and triton_available() is None and _unsupported(family, "triton", x_seq, cfg) is None:
            return "triton"
        if _unsupported(family, "fast", x_seq, cfg) is None:
            return "fast"
        return "torch"
    if backend == "triton":
        if "triton" not in family.kernels:
            raise ValueError(f"{fn}: backend='triton' has no kernel for the {family.name} neuron; "
                             f"use backend='torch' or 'auto'.")
        reason = triton_available()
        if reason is not None:
            raise ValueError(f"{fn}: backend='triton' is unavailable: {reason}.")
        if not x_seq.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
            raise ValueError(
                f"{fn}: backend='triton' needs CUDA tensors (got {x_seq.device}); on the CPU the kernels "
                f"run only under TRITON_INTERPRET=1 (set before importing fnsnn). Use backend='torch'."
            )
        reason = _unsupported(family, "triton", x_seq, cfg)
        if reason is not None:
            raise ValueError(f"{fn}: backend='triton' cannot run this configuration: {reason}. "
                             f"Use backend='torch' (or 'auto', which picks what can run).")
    return backend


def run_multi_step(fn: str, family: NeuronFamily, x_seq: torch.Tensor, state: Any, cfg: Dict[str, Any],
                   return_v_seq: bool, backend: str):
    check_seq(fn, "x_seq", x_seq)
    check_bool(fn, "return_v_seq", return_v_seq)
    state = prepare_state(fn, family, x_seq.select(0, 0), state, cfg)
    chosen = resolve_backend(fn, family, backend, x_seq, cfg)
    if chosen != "torch":
        return family.kernels[chosen](x_seq, state, cfg, return_v_seq)
    if not return_v_seq:
        return _scan(family.update, x_seq, state, cfg=cfg)
    y_seq, state, states = _scan(family.update, x_seq, state, collect_states=True, cfg=cfg)
    return y_seq, state, getattr(states, family.trace)
