"""SpikingJelly 2.0.0's explicit-state convention, on the engine of the pytree door.

2.0.0 passes a network's state as one flat tuple in ``extract_memories(net)``
order (each memory module's memories, modules in ``named_modules`` order);
:mod:`fnsnn_nn._state` passes it as ``{module_name: {memory_name: tensor}}``.
:func:`state_from_flat` and :func:`flat_from_state` map one to the other
without loss (the leaves are the same objects), and
:func:`to_functional_forward` runs the flat convention through
:func:`fnsnn_nn._state.run_from_state`, the function behind ``apply``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ._state import State, _materialize_hook, _private_copy, memory_modules, run_from_state


def _check_module(fn: str, module: Any) -> None:
    if not isinstance(module, nn.Module):
        raise TypeError(f"{fn}: `module` must be an nn.Module, got {type(module).__name__}.")


def memory_names(net: nn.Module) -> List[Tuple[str, str]]:
    """``(module_name, memory_name)`` of every memory of ``net``, in ``extract_memories`` order."""
    return [(name, key) for name, m in memory_modules(net).items() for key in m._memories]


def named_memories(module: nn.Module, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """Yield ``(dotted_name, value)`` for every memory in the module tree (as ``named_parameters``)."""
    _check_module("named_memories", module)
    if not isinstance(prefix, str):
        raise TypeError(f"named_memories: `prefix` must be a str, got {type(prefix).__name__}.")
    for name, m in memory_modules(module).items():
        full = f"{prefix}.{name}" if prefix and name else (prefix or name)
        for key, value in m._memories.items():
            yield (f"{full}.{key}" if full else key), value


def memories(module: nn.Module) -> Iterator[Any]:
    """Yield the value of every memory in the module tree, in :func:`named_memories` order."""
    _check_module("memories", module)
    for _, value in named_memories(module):
        yield value


def extract_memories(module: nn.Module) -> List[Any]:
    """The list of memory values of the module tree (the flat state of 2.0.0's functional API)."""
    _check_module("extract_memories", module)
    return list(memories(module))


def _check_flat(fn: str, net: nn.Module, states: Any) -> List[Tuple[str, str]]:
    names = memory_names(net)
    if not isinstance(states, (tuple, list)):
        raise TypeError(f"{fn}: the states must be a tuple or list in extract_memories order, "
                        f"got {type(states).__name__}.")
    if len(states) != len(names):
        listed = [f"{m}.{k}" if m else k for m, k in names]
        raise ValueError(f"{fn}: {type(net).__name__} expected {len(names)} states ({listed}), "
                         f"but got {len(states)}.")
    return names


def load_memories(module: nn.Module, memory_list: Sequence[Any]) -> None:
    """Write ``memory_list`` (in :func:`extract_memories` order) into the memories of the module tree."""
    _check_module("load_memories", module)
    names = _check_flat("load_memories", module, memory_list)
    mods = memory_modules(module)
    for (name, key), value in zip(names, memory_list):
        mods[name]._memories[key] = value


def state_from_flat(net: nn.Module, states: Sequence[Any], *, _fn: str = "state_from_flat") -> State:
    """2.0.0's flat state tuple -> fnsnn's ``{module: {memory: value}}`` pytree (same leaf objects).

    Number or None leaves (reset values as ``extract_memories`` shows them
    after a reset) stay as they are; :func:`fnsnn_nn.apply` and
    :func:`to_functional_forward` materialise them from each module's input.
    """
    _check_module(_fn, net)
    names = _check_flat(_fn, net, states)
    out: State = {name: {} for name in memory_modules(net)}
    for (name, key), value in zip(names, states):
        out[name][key] = value
    return out


def flat_from_state(net: nn.Module, state: State) -> Tuple[Any, ...]:
    """fnsnn's state pytree -> 2.0.0's flat tuple in :func:`extract_memories` order (same leaf objects)."""
    _check_module("flat_from_state", net)
    from ._state import _check_state

    mods = memory_modules(net)
    _check_state("flat_from_state", mods, state)
    return tuple(state[name][key] for name, key in memory_names(net))


def _as_tuple(y: Any) -> Tuple[Any, ...]:
    return y if isinstance(y, tuple) else (y,)


def _run_swapped(net: nn.Module, fn: Callable, inputs: Tuple[Any, ...], kwargs: Dict[str, Any],
                 state: State) -> Tuple[Any, State]:
    """Run a free function ``fn`` that calls ``net`` itself: the state is swapped in and restored after."""
    mods = memory_modules(net)
    saved = {name: dict(m._memories) for name, m in mods.items()}
    handles = [m.register_forward_pre_hook(_materialize_hook) for m in mods.values()]
    try:
        for name, m in mods.items():
            m._memories.update(state[name])
        y = fn(*inputs, **kwargs)
        new_state = {name: dict(m._memories) for name, m in mods.items()}
    finally:
        for h in handles:
            h.remove()
        for name, m in mods.items():
            m._memories.clear()
            m._memories.update(saved[name])
    return y, new_state


def to_functional_forward(module: nn.Module, fn: Optional[Callable] = None) -> Callable:
    """A pure forward ``f(inputs, states, **kwargs) -> (outputs, new_states)`` of ``module``.

    ``inputs`` and ``outputs`` are tuples (a single output is wrapped),
    ``states``/``new_states`` flat tuples in :func:`extract_memories` order; a
    number leaf (e.g. a reset value ``0.``) means a tensor of that value shaped
    as the module's input. With ``fn`` None (or a method bound to ``module``)
    the call runs on a private copy of the module tree, as
    :func:`fnsnn_nn.apply`: ``module`` is never written, so ``f`` composes
    with ``torch.func.grad``, ``vmap`` and ``functional_call`` and is safe
    from many threads. Any other ``fn`` (a function that calls ``module``)
    runs with the states swapped into ``module``'s memories and restored
    afterwards, which is not thread safe.
    """
    _check_module("to_functional_forward", module)
    if fn is not None and not callable(fn):
        raise TypeError(f"to_functional_forward: `fn` must be callable or None, got {type(fn).__name__}.")
    bound = fn is None or getattr(fn, "__self__", None) is module

    def functional_forward(inputs: Sequence[Any], states: Sequence[Any], **kwargs):
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(f"to_functional_forward: `inputs` must be a tuple of the forward's positional "
                            f"inputs (wrap a single tensor as (x,)), got {type(inputs).__name__}.")
        state = state_from_flat(module, states, _fn="to_functional_forward")
        if bound:
            y, new_state = run_from_state("to_functional_forward", module, tuple(inputs), kwargs, state,
                                          forward=fn)
        else:
            y, new_state = _run_swapped(module, fn, tuple(inputs), kwargs, state)
        return _as_tuple(y), tuple(new_state[name][key] for name, key in memory_names(module))

    return functional_forward


# -- per-module explicit state (MemoryModule methods) ----------------------------------

def _rest_for(module, inputs: Tuple[Any, ...], step_mode: str) -> Dict[str, torch.Tensor]:
    """``module.rest_memories`` for ``inputs`` given in ``step_mode`` (which may differ from the module's)."""
    inputs = tuple(inputs)
    if step_mode != module.step_mode and inputs and isinstance(inputs[0], torch.Tensor):
        first = inputs[0][0] if step_mode == "m" else inputs[0].unsqueeze(0)
        inputs = (first, *inputs[1:])
    return module.rest_memories(*inputs)


def materialize_states(module, inputs: Tuple[Any, ...], states: Tuple[Any, ...], step_mode: str):
    """Tensors for every state: tensors kept, None -> rest value, a number -> that value in the rest shape."""
    cls = type(module).__name__
    fn = f"{cls}.materialize_states"
    if step_mode not in ("s", "m"):
        raise ValueError(f"{fn}: `step_mode` must be 's' or 'm', got {step_mode!r}.")
    if not isinstance(inputs, (tuple, list)):
        raise TypeError(f"{fn}: `inputs` must be a tuple of the forward's inputs, got {type(inputs).__name__}.")
    keys = list(module._memories)
    if not isinstance(states, (tuple, list)) or len(states) != len(keys):
        got = len(states) if isinstance(states, (tuple, list)) else type(states).__name__
        raise ValueError(f"{fn}: expected {len(keys)} states {keys}, got {got}.")
    if all(isinstance(s, torch.Tensor) for s in states):
        return tuple(states)
    rest = _rest_for(module, inputs, step_mode)
    out = []
    for key, value in zip(keys, states):
        if isinstance(value, torch.Tensor):
            out.append(value)
        elif value is None:
            out.append(rest[key])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rv = module._memories_rv[key]
            same = not isinstance(rv, torch.Tensor) and rv is not None and float(rv) == float(value)
            out.append(rest[key] if same else torch.full_like(rest[key], float(value)))
        else:
            raise TypeError(f"{fn}: state {key!r} must be a tensor, a number or None, got {type(value).__name__}.")
    return tuple(out)


def _own_forward(module, inputs, states, kwargs, step_mode: str):
    cls = type(module).__name__
    fn = f"{cls}.{'single' if step_mode == 's' else 'multi'}_step_functional_forward"
    inner = [n for n, m in memory_modules(module).items() if n]
    if inner:
        raise NotImplementedError(
            f"{fn}: {cls} holds memory modules {inner}; its states cover only its own memories. "
            f"Use fnsnn_nn.base.to_functional_forward(module) for the whole tree's state.")
    if not isinstance(inputs, (tuple, list)):
        raise TypeError(f"{fn}: `inputs` must be a tuple of the forward's inputs, got {type(inputs).__name__}.")
    states = materialize_states(module, inputs, states, step_mode)
    run = _private_copy(module, own_buffers=False)
    run.step_mode = step_mode
    run._memories.update(zip(list(run._memories), states))
    y = run(*inputs, **kwargs)
    return _as_tuple(y), tuple(run._memories.values())


def single_step_functional_forward(module, inputs, states, kwargs):
    """One step of ``module`` from explicit ``states``; neither the module nor ``states`` is written."""
    return _own_forward(module, inputs, states, kwargs, "s")


def multi_step_functional_forward(module, inputs, states, kwargs):
    """A ``[T, ...]`` sequence through ``module`` from explicit ``states`` (the module's own scan)."""
    if "m" in module.supported_step_mode():
        return _own_forward(module, inputs, states, kwargs, "m")
    outs, states = [], tuple(states)
    for step_inputs in zip(*(x.unbind(0) for x in inputs)):
        y, states = _own_forward(module, step_inputs, states, kwargs, "s")
        outs.append(y)
    return tuple(torch.stack(ys) for ys in zip(*outs)), states
