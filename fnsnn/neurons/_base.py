"""Machinery shared by every spiking-neuron family: fire, reset, state, dispatch.

A family is described once by a :class:`NeuronFamily`: its state type, its
rest state and its unchecked single-step update. :func:`run_step` and
:func:`run_multi_step` add validation, the time loop and backend dispatch, so
a new neuron is its charge equation and state type, not a copy of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from . import _engine


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
    """One neuron family, declared once; every backend is generated from this declaration.

    Attributes:
        name: short name used in messages, e.g. ``"lif"``.
        state_type: the NamedTuple of state tensors.
        rest: ``rest(x_like, cfg) -> state``, the rest state for one time step's input.
        update: ``update(x, state, cfg) -> (y, new_state)``, unchecked: the family's dynamics
            (charge, fire, reset) in torch operations. The reference loop runs it as it is; the
            graph-free scan runs it without a graph; where it is elementwise, it is traced into the
            C and Triton scans (:mod:`fnsnn.neurons._engine`). Numbers in ``cfg`` (floats, tensors)
            are read at run time; everything else in ``cfg`` is a static choice.
        trace: the state field returned as ``v_seq``.
        state_shapes: ``state_shapes(x_like, cfg) -> {field: shape}`` for fields not shaped like the input
            (such a family runs the reference and the graph-free scan only).
        fused: for a family the generated scans cannot run alone (a batch-coupled one), an optional
            ``fused(x_seq, state, cfg, return_v_seq)`` that runs the whole sequence as one autograd node
            with the C scan for its elementwise part, returning as the reference loop does, or ``None``
            where it does not apply; ``backend='auto'`` and ``'cpu'`` take it, recorded as ``'cpu'``.
        batch_coupled: the update mixes the samples of a batch (batch statistics, for instance), so a vmapped
            call cannot fold its batch into the data; such a family runs the reference loop, or its ``fused``.
    """

    name: str
    state_type: type
    rest: Callable
    update: Callable
    trace: str = "v"
    state_shapes: Optional[Callable] = None
    batch_coupled: bool = False
    fused: Optional[Callable] = None


def _usable(t):
    """A state tensor made under ``inference_mode`` is copied once so that autograd may save it."""
    if torch.compiler.is_compiling():  # a compiled or exported program has no inference tensors
        return t
    if isinstance(t, torch.Tensor) and t.is_inference() and not torch.is_inference_mode_enabled():
        return t.clone()
    return t


def prepare_state(fn: str, family: NeuronFamily, like: torch.Tensor, state: Any, cfg: Dict[str, Any]):
    check_param_shapes(fn, cfg, like)
    if state is None:
        return family.rest(like, cfg)
    shapes = family.state_shapes(like, cfg) if family.state_shapes is not None else None
    state = check_state(fn, state, family.state_type, like, shapes=shapes)
    return family.state_type(*(_usable(t) for t in state))


def run_step(fn: str, family: NeuronFamily, x: torch.Tensor, state: Any, cfg: Dict[str, Any]):
    check_tensor(fn, "x", x)
    state = prepare_state(fn, family, x, state, cfg)
    return family.update(x, state, cfg)


def triton_available() -> Optional[str]:
    """``None`` if Triton can run here, else the reason it cannot."""
    return _engine.triton_reason()


def resolve_backend(fn: str, family: NeuronFamily, backend: str, x_seq: torch.Tensor,
                    cfg: Optional[Dict[str, Any]] = None) -> str:
    """The backend a multi-step call with ``backend`` runs (see :mod:`fnsnn.neurons._engine`)."""
    check_backend(fn, backend)
    plan, values = _engine.make_plan(family, {} if cfg is None else cfg, x_seq.dtype)
    like = x_seq.select(0, 0)
    state = family.rest(like, cfg) if cfg is not None else ()
    return _engine.choose(fn, backend, plan, values, x_seq, list(state))


def run_multi_step(fn: str, family: NeuronFamily, x_seq: torch.Tensor, state: Any, cfg: Dict[str, Any],
                   return_v_seq: bool, backend: str):
    check_seq(fn, "x_seq", x_seq)
    check_bool(fn, "return_v_seq", return_v_seq)
    check_backend(fn, backend)
    state = prepare_state(fn, family, x_seq.select(0, 0), state, cfg)
    if family.fused is not None and backend in ("auto", "cpu"):
        out = family.fused(x_seq, state, cfg, return_v_seq)
        if out is not None:
            _engine.record(fn, "cpu", x_seq)
            return out
    out = _engine.scan(fn, family, x_seq, state, cfg, return_v_seq, backend)
    if out is not None:
        return out
    if not return_v_seq:
        return _scan(family.update, x_seq, state, cfg=cfg)
    y_seq, state, states = _scan(family.update, x_seq, state, collect_states=True, cfg=cfg)
    return y_seq, state, getattr(states, family.trace)
