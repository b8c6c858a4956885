"""The explicit-state door: run a whole network on a state pytree you hold.

``init_state(net, x)`` returns ``{module_name: {memory_name: tensor}}`` for every
memory module of ``net``; ``apply(net, x, state, params=None)`` runs one forward
with that state swapped in and returns ``(y, new_state)``, leaving the modules'
own memories as they were. Because nothing is written back, ``apply`` composes
with ``torch.func.grad``, ``vmap`` and ``functional_call`` and serves online
loops: feed one time step, keep the state, feed the next.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn

from .base import MemoryModule

State = Dict[str, Dict[str, torch.Tensor]]


def memory_modules(net: nn.Module) -> Dict[str, MemoryModule]:
    """Named memory modules of ``net`` (``""`` names ``net`` itself)."""
    return {name: m for name, m in net.named_modules() if isinstance(m, MemoryModule)}


@contextlib.contextmanager
def _swapped(mods: Dict[str, MemoryModule], state: Optional[State]) -> Iterator[None]:
    """Load ``state`` into the modules' memories; restore every attribute on exit."""
    saved = {name: (dict(m.__dict__), dict(m._memories)) for name, m in mods.items()}
    try:
        for name, m in mods.items():
            m._memories = dict(m._memories)
            if state is None:
                m.reset()
            else:
                m._memories.update(state[name])
        yield
    finally:
        for name, m in mods.items():
            attrs, memories = saved[name]
            for key in list(m.__dict__):
                if key not in attrs:
                    del m.__dict__[key]
            m.__dict__.update(attrs)
            m._memories = memories


def _check_net(fn: str, net: Any) -> Dict[str, MemoryModule]:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{fn}: `net` must be an nn.Module, got {type(net).__name__}.")
    return memory_modules(net)


def _check_state(fn: str, mods: Dict[str, MemoryModule], state: Any) -> None:
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

    One forward pass without gradients discovers each module's input; the
    modules' own memories are left untouched.
    """
    mods = _check_net("init_state", net)
    rest: State = {}
    hooks = []

    def record(name):
        def hook(module, inputs):
            if name not in rest:
                rest[name] = module.rest_memories(*inputs)
        return hook

    for name, m in mods.items():
        hooks.append(m.register_forward_pre_hook(record(name)))
    try:
        with _swapped(mods, None), torch.no_grad():
            net(x, *args, **kwargs)
    finally:
        for h in hooks:
            h.remove()
    unused = sorted(set(mods) - set(rest))
    if unused:
        raise ValueError(f"init_state: the memory modules {unused} were not called by net(x); "
                         f"their state cannot be inferred from this input.")
    return {name: rest[name] for name in mods}


def apply(net: nn.Module, x: Any, state: Optional[State], params: Optional[Dict[str, torch.Tensor]] = None,
          *args, **kwargs) -> Tuple[Any, State]:
    """Run ``net(x)`` from ``state`` and return ``(y, new_state)``; module memories are not touched.

    Args:
        net: a module tree containing fnsnn_nn memory modules.
        x: the input, as ``net`` expects in its step mode.
        state: a pytree from :func:`init_state` or a previous :func:`apply`;
            ``None`` starts from rest.
        params: optional ``{name: tensor}`` of parameters and buffers, used as
            by ``torch.func.functional_call``.
    """
    mods = _check_net("apply", net)
    if state is not None:
        _check_state("apply", mods, state)
    with _swapped(mods, state):
        if params is None:
            y = net(x, *args, **kwargs)
        else:
            y = torch.func.functional_call(net, params, (x, *args), kwargs)
        new_state = {name: dict(m._memories) for name, m in mods.items()}
    for name, entry in new_state.items():
        for key, value in entry.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"apply: memory {key!r} of module {name!r} was not set by the forward pass; "
                                 f"pass a state from fnsnn_nn.init_state(net, x) instead of None.")
    return y, new_state
