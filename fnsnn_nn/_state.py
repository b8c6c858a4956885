"""The explicit-state door: run a whole network on a state pytree you hold.

``init_state(net, x)`` returns ``{module_name: {memory_name: tensor}}`` for every
memory module of ``net``; ``apply(net, x, state, params=None)`` runs one forward
from that state and returns ``(y, new_state)``. Both run on a private copy of
the module tree (new module objects sharing ``net``'s parameters), so ``net``
is never written: ``apply`` is a function of the parameters and the given
state, safe from many threads at once, and composes with ``torch.func.grad``,
``vmap`` and ``functional_call``; it serves online loops: feed one time step,
keep the state, feed the next.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn


State = Dict[str, Dict[str, torch.Tensor]]


def is_memory_module(module: Any) -> bool:
    """Whether ``module`` is a :class:`fnsnn_nn.base.MemoryModule` (its classes carry a marker, read here
    so that this module, which the base module's explicit-state methods use, need not import it)."""
    return bool(getattr(type(module), "fnsnn_memory_module", False))


def memory_modules(net: nn.Module) -> Dict[str, nn.Module]:
    """Named memory modules of ``net`` (``""`` names ``net`` itself)."""
    return {name: m for name, m in net.named_modules() if is_memory_module(m)}


def _private_copy(net: nn.Module, *, own_buffers: bool) -> nn.Module:
    """A copy of the module tree that shares parameters (and buffers unless ``own_buffers``) with ``net``.

    Every module is a new object with its own attribute dictionaries (submodules,
    parameter and buffer slots, hooks, memories), so whatever a forward pass
    assigns lands on the copy and ``net`` is never written. A module reached by
    two paths is copied once.
    """
    memo: Dict[int, nn.Module] = {}

    def copy_of(m: nn.Module) -> nn.Module:
        done = memo.get(id(m))
        if done is not None:
            return done
        new = object.__new__(type(m))
        attrs = {k: (v.copy() if isinstance(v, dict) else v) for k, v in m.__dict__.items()}
        new.__dict__.update(attrs)
        memo[id(m)] = new
        for name, sub in new._modules.items():
            if sub is not None:
                new._modules[name] = copy_of(sub)
        if own_buffers:
            for name, buf in new._buffers.items():
                if buf is not None:
                    new._buffers[name] = buf.detach().clone()
        return new

    return copy_of(net)


def _load(mods: Dict[str, nn.Module], state: Optional[State]) -> None:
    """Put ``state`` (or the reset values, for None) into the memories of the private copies ``mods``."""
    for name, m in mods.items():
        if state is None:
            m.reset()
        else:
            m._memories.update(state[name])


def _check_net(fn: str, net: Any) -> Dict[str, nn.Module]:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{fn}: `net` must be an nn.Module, got {type(net).__name__}.")
    return memory_modules(net)


def _check_state(fn: str, mods: Dict[str, nn.Module], state: Any) -> None:
    if not isinstance(state, dict):
        raise TypeError(f"{fn}: `state` must be the dict returned by fnsnn_nn.init_state (or None), "
                        f"got {type(state).__name__}.")
    missing, extra = set(mods) - set(state), set(state) - set(mods)
    if missing or extra:
        raise ValueError(f"{fn}: `state` does not fit this network: missing {sorted(missing)}, "
                         f"unexpected {sorted(extra)}; build it with fnsnn_nn.init_state(net, x).")
    for name, m in mods.items():
        entry = state[name]
        want = set(m._memories)
        if not isinstance(entry, dict) or set(entry) != want:
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ValueError(f"{fn}: state[{name!r}] must hold the memories {sorted(want)}, got {got}.")


def init_state(net: nn.Module, x: torch.Tensor, *args, **kwargs) -> State:
    """The rest state of every memory module of ``net`` for input ``x`` (in ``net``'s step mode).

    One forward pass without gradients, on a private copy of ``net`` with its
    own buffers, discovers each module's input; ``net`` is left exactly as it
    was (memories, buffers such as BatchNorm running statistics, training flag).
    """
    _check_net("init_state", net)
    probe = _private_copy(net, own_buffers=True)
    mods = memory_modules(probe)
    rest: State = {}

    def record(name):
        def hook(module, inputs):
            if name not in rest:
                rest[name] = module.rest_memories(*inputs)
        return hook

    for name, m in mods.items():
        m.register_forward_pre_hook(record(name))  # on the copy: net's hooks are not touched
    _load(mods, None)
    with torch.no_grad():
        probe(x, *args, **kwargs)
    unused = sorted(set(mods) - set(rest))
    if unused:
        raise ValueError(f"init_state: the memory modules {unused} were not called by net(x); "
                         f"their state cannot be inferred from this input.")
    return {name: rest[name] for name in mods}


def apply(net: nn.Module, x: Any, state: Optional[State], params: Optional[Dict[str, torch.Tensor]] = None,
          *args, **kwargs) -> Tuple[Any, State]:
    """Run ``net(x)`` from ``state`` and return ``(y, new_state)``; no attribute of ``net`` is written.

    The forward runs on a private copy of the module tree that shares
    ``net``'s parameters and buffers, so any number of threads may call
    ``apply`` on one network at once, each with its own state. In training
    mode a layer that updates its buffers in place (BatchNorm running
    statistics) does so as in a plain forward; serve in ``eval()`` mode.

    Args:
        net: a module tree containing fnsnn_nn memory modules.
        x: the input, as ``net`` expects in its step mode.
        state: a pytree from :func:`init_state` or a previous :func:`apply`;
            ``None`` starts from rest.
        params: optional ``{name: tensor}`` of parameters and buffers, used as
            by ``torch.func.functional_call``.
    """
    _check_net("apply", net)
    if state is not None:
        _check_state("apply", memory_modules(net), state)
    return run_from_state("apply", net, (x, *args), kwargs, state, params)


def _is_rest_value(value: Any, rest: Any) -> bool:
    if isinstance(value, torch.Tensor) or isinstance(rest, torch.Tensor):
        return value is rest
    return value is rest or (
        isinstance(value, (int, float)) and isinstance(rest, (int, float)) and float(value) == float(rest))


def _materialize_hook(module: nn.Module, inputs) -> None:
    """Forward pre-hook: turn number/None memories into tensors fitted to this call's input.

    Memories that all still hold their reset values are left as they are (the
    forward starts from rest); any other mix is handed to
    ``module.materialize_states``, so a float such as ``v = 0.5`` means a
    tensor of 0.5 shaped like the input, as in SpikingJelly 2.0.0.
    """
    values = tuple(module._memories.values())
    if all(isinstance(v, torch.Tensor) for v in values):
        return
    if all(_is_rest_value(v, module._memories_rv[k]) for k, v in module._memories.items()):
        return
    done = module.materialize_states(tuple(inputs), values, module.step_mode)
    module._memories.update(zip(list(module._memories), done))


def run_from_state(fn_name: str, net: nn.Module, inputs: Tuple[Any, ...], kwargs: Dict[str, Any],
                   state: Optional[State], params: Optional[Dict[str, torch.Tensor]] = None,
                   forward: Optional[Any] = None) -> Tuple[Any, State]:
    """The engine behind :func:`apply` and ``base.to_functional_forward``.

    Runs the copy's ``forward`` (or ``forward``, a method bound to ``net``,
    rebound to the copy) on a private copy of ``net`` whose
    memories hold ``state``. Leaves that are numbers or None are materialised
    per module from that module's input (see :func:`_materialize_hook`).
    """
    run = _private_copy(net, own_buffers=False)
    mods = memory_modules(run)
    _load(mods, state)
    for m in mods.values():  # (only where needed: a traced body, as in export, takes no hooks)
        if not all(isinstance(v, torch.Tensor) for v in m._memories.values()):
            m.register_forward_pre_hook(_materialize_hook)
    if forward is not None and getattr(forward, "__self__", None) is not net:
        raise ValueError(f"{fn_name}: `forward` must be a method bound to `net`, got {forward!r}.")
    if params is not None:
        y = torch.func.functional_call(run, params, tuple(inputs), kwargs)
    elif forward is None:
        y = run(*inputs, **kwargs)
    else:
        y = forward.__func__.__get__(run)(*inputs, **kwargs)
    new_state = {name: dict(m._memories) for name, m in mods.items()}
    for name, entry in new_state.items():
        for key, value in entry.items():
            if not isinstance(value, torch.Tensor) and fn_name == "apply":
                raise ValueError(f"apply: memory {key!r} of module {name!r} was not set by the forward pass; "
                                 f"pass a state from fnsnn_nn.init_state(net, x) instead of None.")
    return y, new_state
