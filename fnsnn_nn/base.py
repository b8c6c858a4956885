"""Step-mode and memory base classes of the module shells.

The names and behaviour follow SpikingJelly's ``activation_based.base``:
``step_mode`` is ``'s'`` (one time step, input ``[N, *]``) or ``'m'`` (a whole
sequence, input ``[T, N, *]``); a :class:`MemoryModule` keeps its state in
registered memories that ``reset()`` restores and ``detach()`` cuts from the
graph. On top of that every memory module can build its rest state from an
input (:meth:`MemoryModule.rest_memories`), which is what
``fnsnn_nn.init_state`` / ``fnsnn_nn.apply`` use to run a network on explicit
state.
"""

from __future__ import annotations

import copy
from numbers import Real
from typing import Any, Callable, Dict, Iterator, Tuple

import torch
import torch.nn as nn

STEP_MODES = ("s", "m")


class StepModule:
    """A module that runs in single-step (``'s'``) or multi-step (``'m'``) mode."""

    def supported_step_mode(self) -> Tuple[str, ...]:
        return STEP_MODES

    @property
    def step_mode(self) -> str:
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        supported = self.supported_step_mode()
        if value not in supported:
            raise ValueError(
                f"{type(self).__name__}.step_mode: expected one of {supported}, got {value!r}."
            )
        self._step_mode = value


class SingleStepModule(StepModule):
    """A module that only runs one time step at a time."""

    def supported_step_mode(self) -> Tuple[str, ...]:
        return ("s",)


class MultiStepModule(StepModule):
    """A module that only runs on whole ``[T, N, *]`` sequences."""

    def supported_step_mode(self) -> Tuple[str, ...]:
        return ("m",)


# SCOPE.md spells it SingleModule; SpikingJelly spells it SingleStepModule.
SingleModule = SingleStepModule


class MemoryModule(nn.Module, StepModule):
    """Base class of every stateful module.

    Subclasses call :meth:`register_memory` for each state variable. A memory
    holds its reset value (often a float such as ``0.``) until the first
    forward turns it into a tensor shaped like the input; :meth:`reset` puts
    the reset value back. A tensor memory that does not fit a later input is
    an error (see :meth:`check_memory`), never a silent re-initialisation.
    """

    fnsnn_memory_module = True  # read by fnsnn_nn._state, which cannot import this module

    def __init__(self):
        super().__init__()
        self._memories: Dict[str, Any] = {}
        self._memories_rv: Dict[str, Any] = {}
        self._step_mode = "s"

    # -- memories ---------------------------------------------------------
    def register_memory(self, name: str, value: Any) -> None:
        """Declare the state variable ``name`` with initial and reset value ``value``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{type(self).__name__}.register_memory: `name` must be an identifier, got {name!r}.")
        if name in self._memories or hasattr(self, name):
            raise ValueError(
                f"{type(self).__name__}.register_memory: {name!r} is already an attribute of this module."
            )
        self._memories[name] = value
        self.set_reset_value(name, value)

    def set_reset_value(self, name: str, value: Any) -> None:
        if name not in self._memories:
            raise KeyError(f"{type(self).__name__}.set_reset_value: {name!r} is not a registered memory.")
        self._memories_rv[name] = value.detach().clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)

    def get_reset_value(self, name: str) -> Any:
        if name not in self._memories_rv:
            raise KeyError(f"{type(self).__name__}.get_reset_value: {name!r} is not a registered memory.")
        return self._memories_rv[name]

    def reset(self) -> None:
        """Restore every memory to its reset value."""
        for name, value in self._memories_rv.items():
            self._memories[name] = value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)

    def detach(self) -> None:
        """Cut every tensor memory from the autograd graph (truncated BPTT)."""
        for name, value in self._memories.items():
            if isinstance(value, torch.Tensor):
                self._memories[name] = value.detach()

    def memories(self) -> Iterator[Any]:
        yield from self._memories.values()

    def named_memories(self) -> Iterator[Tuple[str, Any]]:
        yield from self._memories.items()

    def memories_are_rest(self) -> bool:
        """True when no memory has been materialised since the last reset."""
        return not any(isinstance(v, torch.Tensor) for v in self._memories.values())

    # -- explicit state ---------------------------------------------------
    def single_step_input(self, x: torch.Tensor) -> torch.Tensor:
        """The input of one time step: ``x`` itself in 's' mode, ``x[0]`` in 'm' mode."""
        return x[0] if self.step_mode == "m" else x

    def rest_memories(self, x: torch.Tensor, *args) -> Dict[str, torch.Tensor]:
        """The memories this module starts from for input ``x`` (as passed to ``forward``).

        Modules whose forward takes several positional inputs receive them all.

        The default fills each float reset value to the shape of one time
        step of ``x`` and clones tensor reset values; modules whose state is
        not shaped like their input override this.
        """
        like = self.single_step_input(x)
        out = {}
        for name, value in self._memories_rv.items():
            if isinstance(value, torch.Tensor):
                out[name] = value.to(device=like.device, dtype=like.dtype).expand_as(like).clone() \
                    if value.dim() == 0 else value.clone()
            else:
                out[name] = torch.full_like(like, float(value))
        return out

    def memory_for(self, name: str, like: torch.Tensor, rest: Callable[[], torch.Tensor], shape=None) -> torch.Tensor:
        """The tensor memory ``name`` contributes to the state for input ``like``, as SpikingJelly does.

        Each memory is taken on its own: a tensor is kept (after :meth:`check_memory`); a memory
        still holding its reset value gives ``rest()``, the rest value the core computes; one
        assigned another number (``node.w = 0.``) is that number broadcast to ``shape`` (default
        ``like.shape``). So assigning one memory never resets the others.
        """
        value = self._memories[name]
        if isinstance(value, torch.Tensor):
            self.check_memory(name, value, like, shape)
            return value
        reset_value = self._memories_rv[name]
        if isinstance(value, Real) and not isinstance(value, bool) and not (
                isinstance(reset_value, Real) and value == reset_value):
            return like.new_full(tuple(like.shape if shape is None else shape), float(value))
        return rest()

    def check_memory(self, name: str, value: torch.Tensor, like: torch.Tensor, shape=None) -> None:
        """Raise when a stored tensor memory cannot serve input ``like``."""
        want = tuple(like.shape if shape is None else shape)
        cls = type(self).__name__
        if tuple(value.shape) != want:
            raise ValueError(
                f"{cls}: stored memory `{name}` has shape {tuple(value.shape)} but this input needs {want}. "
                f"The state is left over from a previous input; call "
                f"fnsnn_nn.functional.reset_net(net) (or module.reset()) before feeding a new batch."
            )
        if value.device != like.device:
            raise ValueError(
                f"{cls}: stored memory `{name}` is on {value.device} but the input is on {like.device}; "
                f"call reset_net(net) or move the module with .to(device)."
            )
        if value.dtype != like.dtype:
            raise ValueError(
                f"{cls}: stored memory `{name}` has dtype {value.dtype} but the input is {like.dtype}; "
                f"call reset_net(net) or cast the module with .to(dtype)."
            )

    # -- SpikingJelly 2.0.0's explicit state: flat tuples of this module's own memories ----
    def materialize_states(self, inputs: Tuple[Any, ...], states: Tuple[Any, ...], step_mode: str):
        """``states`` as tensors fitted to ``inputs`` (given in ``step_mode``): None is the rest value, a number
        fills the rest shape; tensors pass unchanged. Neither the module nor ``states`` is written."""
        from ._explicit import materialize_states

        return materialize_states(self, inputs, states, step_mode)

    def functional_forward(self, inputs: Tuple[Any, ...], states: Tuple[Any, ...], **kwargs):
        """``(outputs, new_states)`` of one forward in the current step mode from explicit ``states``."""
        if self.step_mode not in STEP_MODES:
            raise ValueError(f"{type(self).__name__}.functional_forward: unknown step_mode {self.step_mode!r}.")
        states = self.materialize_states(inputs, states, self.step_mode)
        if self.step_mode == "s":
            return self.single_step_functional_forward(inputs, states, **kwargs)
        return self.multi_step_functional_forward(inputs, states, **kwargs)

    def single_step_functional_forward(self, inputs: Tuple[Any, ...], states: Tuple[Any, ...], **kwargs):
        """One step from ``states`` (this module's memories in registration order) on a private copy."""
        from ._explicit import single_step_functional_forward

        return single_step_functional_forward(self, inputs, states, kwargs)

    def multi_step_functional_forward(self, inputs: Tuple[Any, ...], states: Tuple[Any, ...], **kwargs):
        """A ``[T, N, *]`` sequence from ``states`` on a private copy (the module's own multi-step path)."""
        from ._explicit import multi_step_functional_forward

        return multi_step_functional_forward(self, inputs, states, kwargs)

    # -- nn.Module plumbing ------------------------------------------------
    def forward(self, *args, **kwargs):
        if self.step_mode == "s":
            return self.single_step_forward(*args, **kwargs)
        if self.step_mode == "m":
            return self.multi_step_forward(*args, **kwargs)
        raise ValueError(f"{type(self).__name__}: unknown step_mode {self.step_mode!r}; expected 's' or 'm'.")

    def single_step_forward(self, x: torch.Tensor, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} does not run in single-step mode.")

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        """Default multi-step: loop the single step over ``x_seq.unbind(0)``."""
        return torch.stack([self.single_step_forward(x, *args, **kwargs) for x in x_seq.unbind(0)])

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}"

    def __getattr__(self, name: str):
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            return memories[name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            memories[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._memories:
            del self._memories[name]
            del self._memories_rv[name]
        else:
            super().__delattr__(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._memories))

    def _apply(self, fn, *args, **kwargs):
        for store in (self._memories, self._memories_rv):
            for name, value in store.items():
                if isinstance(value, torch.Tensor):
                    store[name] = fn(value)
        return super()._apply(fn, *args, **kwargs)



# -- SpikingJelly 2.0.0's module-level explicit-state API (implemented in _explicit) ----------

def named_memories(module: nn.Module, prefix: str = ""):
    """Yield ``(dotted_name, value)`` for every memory of the module tree; see :mod:`fnsnn_nn._explicit`."""
    from ._explicit import named_memories as impl

    return impl(module, prefix)


def memories(module: nn.Module):
    """Yield every memory value of the module tree, in :func:`named_memories` order."""
    from ._explicit import memories as impl

    return impl(module)


def extract_memories(module: nn.Module) -> list:
    """The memory values of the module tree as a list (2.0.0's flat state)."""
    from ._explicit import extract_memories as impl

    return impl(module)


def load_memories(module: nn.Module, memory_list) -> None:
    """Write a flat list of memory values (in :func:`extract_memories` order) into the module tree."""
    from ._explicit import load_memories as impl

    impl(module, memory_list)


def to_functional_forward(module: nn.Module, fn=None):
    """``f(inputs, states, **kwargs) -> (outputs, new_states)`` over flat state tuples; see
    :func:`fnsnn_nn._explicit.to_functional_forward`."""
    from ._explicit import to_functional_forward as impl

    return impl(module, fn)


def state_from_flat(net: nn.Module, states):
    """2.0.0's flat state tuple -> fnsnn's ``{module: {memory: value}}`` pytree."""
    from ._explicit import state_from_flat as impl

    return impl(net, states)


def flat_from_state(net: nn.Module, state):
    """fnsnn's state pytree -> 2.0.0's flat state tuple."""
    from ._explicit import flat_from_state as impl

    return impl(net, state)
