"""BaseNode: the shell every spiking-neuron module derives from.

A shell keeps configuration and one memory per state field, assembles the
state, calls one core function of :mod:`fnsnn` and stores the new state. It
holds no maths of its own.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import torch

import fnsnn
from fnsnn._checks import check_param_shapes
from fnsnn.neurons._base import NeuronFamily, check_firing

from ..base import MemoryModule

SHELL_BACKENDS = ("auto", "torch", "eager", "cpu", "triton")


def default_surrogate():
    from ..surrogate import Sigmoid

    return Sigmoid()


class BaseNode(MemoryModule):
    """Spiking neuron shell with SpikingJelly's constructor arguments.

    Subclasses set ``family`` (the core description), ``step_function`` and
    ``multi_step_function`` (the public core functions) and extend
    :meth:`core_config` with their own keywords.

    Args:
        v_threshold: firing threshold.
        v_reset: reset potential; ``None`` selects soft reset.
        surrogate_function: spike function with a surrogate gradient
            (default ``fnsnn_nn.surrogate.Sigmoid()``).
        detach_reset: stop gradients through the reset.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'auto'`` (default: the fastest backend whose results equal the reference; see
            :mod:`fnsnn.neurons._engine`), ``'torch'`` (the reference loop), ``'eager'``, ``'cpu'`` or
            ``'triton'``. Multi-step calls only; after one, ``last_backend`` names the backend that ran.
        store_v_seq: keep the membrane trace ``v_seq`` of the last call(s).
    """

    family: NeuronFamily
    step_function: Callable
    multi_step_function: Callable

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "auto", store_v_seq: bool = False):
        super().__init__()
        name = type(self).__name__
        if surrogate_function is None:
            surrogate_function = default_surrogate()
        check_firing(name, v_threshold, v_reset, detach_reset, surrogate_function)
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.detach_reset = detach_reset
        self.surrogate_function = surrogate_function
        self.step_mode = step_mode
        self.backend = backend
        self.last_backend = None
        self.store_v_seq = store_v_seq
        for field, value in self.memory_reset_values().items():
            self.register_memory(field, value)

    # -- configuration ------------------------------------------------------
    def memory_reset_values(self) -> Dict[str, Any]:
        """Reset value of each state field: ``v`` rests at ``v_reset`` (0 for soft reset), others at 0."""
        rest_v = 0.0 if self.v_reset is None else self.v_reset
        return {f: (rest_v if f == "v" else 0.0) for f in self.family.state_type._fields}

    def core_config(self) -> Dict[str, Any]:
        """Keyword arguments of the core functions."""
        return dict(v_threshold=self.v_threshold, v_reset=self.v_reset, detach_reset=self.detach_reset,
                    surrogate_function=self.surrogate_function)

    @property
    def backend(self) -> str:
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        if value not in SHELL_BACKENDS:
            hint = " (use 'triton' for GPU kernels)" if value == "cupy" else ""
            raise ValueError(f"{type(self).__name__}: `backend` must be one of {SHELL_BACKENDS}, got {value!r}{hint}.")
        self._backend = value

    @property
    def store_v_seq(self) -> bool:
        return self._store_v_seq

    @store_v_seq.setter
    def store_v_seq(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"{type(self).__name__}: `store_v_seq` must be a bool, got {value!r}.")
        self._store_v_seq = value
        self.v_seq = None

    def note_backend(self, backend: Optional[str]) -> None:
        """Record the backend of the last multi-step call as ``last_backend`` (diagnostics). A compiled or
        exported call runs the reference's operations inside the compiler's graph and records nothing."""
        if not torch.compiler.is_compiling():
            self.last_backend = backend

    # -- state <-> memories -------------------------------------------------
    def _core_state(self, like: torch.Tensor, cfg: Dict[str, Any]):
        """The core state for input ``like`` (one time step), built memory by memory as SpikingJelly does.

        A tensor memory is kept (after :meth:`check_memory`); one still holding its reset value
        starts from the family's rest state; one assigned another number (``node.w = 0.``) is
        that number broadcast to the field's shape. Assigning one memory never resets the others.
        """
        check_param_shapes(type(self).__name__, cfg, like)
        fields = self.family.state_type._fields
        shapes = self.family.state_shapes(like, cfg) if self.family.state_shapes is not None else {}
        needs_rest = not all(isinstance(getattr(self, f), torch.Tensor) for f in fields)
        rest = self.family.rest(like, cfg) if needs_rest else None
        return self.family.state_type(*[self.memory_for(f, like, lambda f=f: getattr(rest, f), shapes.get(f))
                                        for f in fields])

    def _store(self, state) -> None:
        for f, v in zip(state._fields, state):
            setattr(self, f, v)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.family.rest(self.single_step_input(x), self.core_config())._asdict()

    # -- forward ------------------------------------------------------------
    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a tensor, got {type(x).__name__}.")
        state = self._core_state(x, self.core_config())
        spike, state = self.step_function(x, state, **self.core_config())
        self._store(state)
        if self.store_v_seq:
            v = getattr(state, self.family.trace).unsqueeze(0)
            prev = self.v_seq
            fits = isinstance(prev, torch.Tensor) and prev.shape[1:] == v.shape[1:] \
                and prev.dtype == v.dtype and prev.device == v.device
            self.v_seq = torch.cat((prev, v)) if fits else v
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] == 0:
            shape = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
            raise ValueError(f"{type(self).__name__}: step_mode='m' needs a [T, N, *] tensor with T > 0, got {shape}.")
        state = self._core_state(x_seq[0], self.core_config())
        out = self.multi_step_function(x_seq, state, **self.core_config(), return_v_seq=self.store_v_seq,
                                       backend=self.backend)
        self.note_backend(fnsnn.last_backend())
        if self.store_v_seq:
            spike_seq, state, self.v_seq = out
        else:
            spike_seq, state = out
        self._store(state)
        return spike_seq

    def reset(self) -> None:
        super().reset()
        self.v_seq = None

    def detach(self) -> None:
        super().detach()
        if isinstance(self.v_seq, torch.Tensor):
            self.v_seq = self.v_seq.detach()

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}, backend={self.backend}")
