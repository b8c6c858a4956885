"""Neurons declared by the user: one step function, every backend.

A neuron is its state fields and one step written with torch operations::

    def lif(x, state, *, tau, v_threshold, surrogate_function):
        h = state.v + (x - state.v) / tau
        spike = surrogate_function(h - v_threshold)
        return spike, state._replace(v=h * (1.0 - spike))

    LIF = fnsnn.Neuron("my_lif", ("v",), lif)
    spikes, final = LIF.multi_step(x_seq, tau=2.0, v_threshold=1.0,
                                   surrogate_function=fnsnn.surrogate.Sigmoid())

The declaration is all the engine needs (:mod:`fnsnn.neurons._engine`): the
reference loop runs the step as written, the graph-free scan runs it without a
graph, and when the step is elementwise it is traced into the C scan (CPU) and
the Triton scan (CUDA). Keyword numbers (floats, tensors) reach ``grad`` and
``vmap`` and are read at run time; other keywords (flags, callables, surrogate
objects) are static choices.
"""

from __future__ import annotations

import math
from collections import namedtuple
from numbers import Real
from typing import Any, Callable, Optional, Sequence, Union

import torch

from .._checks import _describe, check_callable, check_tensor
from ._base import NeuronFamily, run_multi_step, run_step

Number = Union[float, torch.Tensor]


def _identifier(fn: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise TypeError(f"{fn}: `{name}` must be a Python identifier string, got {_describe(value)}.")
    return value


class Neuron:
    """A user-declared neuron family.

    Args:
        name: a short name used in messages.
        state: the state's field names (e.g. ``("v", "theta")``), or a NamedTuple class.
        step: ``step(x, state, **config) -> (y, new_state)`` for one time step; ``state`` is a
            NamedTuple of tensors shaped like ``x``. Use torch operations only; no in-place writes.
        rest: ``rest(x_like, **config) -> state`` (default: every field zero).
        trace: the state field returned as ``v_seq`` (default: the first field).
    """

    def __init__(self, name: str, state: Union[Sequence[str], type], step: Callable, *,
                 rest: Optional[Callable] = None, trace: Optional[str] = None):
        fn = "fnsnn.Neuron"
        _identifier(fn, "name", name)
        if isinstance(state, type) and issubclass(state, tuple) and hasattr(state, "_fields"):
            state_type = state
        else:
            if isinstance(state, str) or not isinstance(state, (tuple, list)) or not state:
                raise TypeError(f"{fn}: `state` must be a non-empty sequence of field names or a NamedTuple "
                                f"class, got {_describe(state)}.")
            fields = [_identifier(fn, "state", f) for f in state]
            if len(set(fields)) != len(fields):
                raise ValueError(f"{fn}: `state` names a field twice: {fields}.")
            state_type = namedtuple(f"{name}_state", fields)
        check_callable(fn, "step", step)
        if rest is not None:
            check_callable(fn, "rest", rest)
        trace = state_type._fields[0] if trace is None else trace
        if trace not in state_type._fields:
            raise ValueError(f"{fn}: `trace` must be one of the state fields {state_type._fields}, got {trace!r}.")
        self.name = name
        self.state_type = state_type
        self._step = step
        self._rest = rest

        def update(x, st, cfg):
            out = step(x, st, **cfg)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"{name}: the step must return (y, new_state), got {_describe(out)}.")
            y, new = out
            if not isinstance(new, state_type):
                if isinstance(new, tuple) and len(new) == len(state_type._fields):
                    new = state_type(*new)
                else:
                    raise TypeError(f"{name}: the step must return a {state_type.__name__} as its new state, "
                                    f"got {_describe(new)}.")
            return y, new

        def rest_state(like, cfg):
            if rest is None:
                return state_type(*(torch.zeros_like(like) for _ in state_type._fields))
            st = rest(like, **cfg)
            return st if isinstance(st, state_type) else state_type(*st)

        self.family = NeuronFamily(name, state_type, rest_state, update, trace=trace)

    def __repr__(self) -> str:
        return f"Neuron({self.name!r}, state={self.state_type._fields})"

    def _config(self, fn: str, config: dict) -> dict:
        for key, value in config.items():
            if isinstance(value, Real) and not isinstance(value, bool) and not math.isfinite(float(value)):
                raise ValueError(f"{fn}: `{key}` must be a finite number, got {value!r}.")
            if isinstance(value, torch.Tensor) and not value.is_floating_point():
                raise TypeError(f"{fn}: `{key}` must be a number or a floating-point tensor, got {_describe(value)}.")
        return dict(config)

    def init_state(self, x: torch.Tensor, **config):
        """The rest state for input ``x`` of one time step."""
        fn = f"{self.name}.init_state"
        check_tensor(fn, "x", x)
        return self.family.rest(x, self._config(fn, config))

    def step(self, x: torch.Tensor, state=None, **config):
        """One step: ``(y, new_state)``; ``state=None`` is the rest state."""
        fn = f"{self.name}.step"
        return run_step(fn, self.family, x, state, self._config(fn, config))

    def multi_step(self, x_seq: torch.Tensor, state=None, *, return_v_seq: bool = False, backend: str = "auto",
                   **config):
        """The step scanned over ``x_seq [T, N, *]``: ``(y_seq, final_state)`` (plus ``v_seq``).

        ``backend`` as for the built-in neurons: ``"auto"``, ``"torch"``, ``"eager"``, ``"cpu"``, ``"triton"``.
        """
        fn = f"{self.name}.multi_step"
        return run_multi_step(fn, self.family, x_seq, state, self._config(fn, config), return_v_seq, backend)
