"""Monitors with SpikingJelly's names: hooks that record what passes through chosen modules.

A monitor registers one hook per monitored module and appends
``function_on_*(value)`` to ``records`` (``monitor[name]`` lists one module's
records, ``monitor[i]`` is the ``i``-th record). Hooks only read: the network
computes exactly what it computes without them. ``disable()`` pauses,
``remove_hooks()`` detaches every hook, ``clear_recorded_data()`` empties the
records; used as a context manager the monitor removes its hooks on exit and
keeps its records.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type, Union

import torch.nn as nn

Instance = Optional[Union[Type[nn.Module], Tuple[Type[nn.Module], ...]]]


def _identity(x):
    return x


class BaseMonitor:
    """Records, hooks and the enable flag shared by every monitor."""

    def __init__(self) -> None:
        self.hooks: List[Any] = []
        self.monitored_layers: List[str] = []
        self.records: List[Any] = []
        self.name_records_index: Dict[str, List[int]] = {}
        self._enable = True

    def __getitem__(self, i: Union[int, str]):
        if isinstance(i, int):
            return self.records[i]
        if isinstance(i, str):
            if i not in self.monitored_layers:
                raise KeyError(f"{type(self).__name__}: {i!r} is not a monitored layer; "
                               f"monitored: {self.monitored_layers}.")
            return [self.records[j] for j in self.name_records_index.get(i, [])]
        raise TypeError(f"{type(self).__name__}: index with a record number (int) or a layer name (str), "
                        f"got {type(i).__name__}.")

    def _monitor_modules(self, net: nn.Module, instance: Instance) -> Iterator[Tuple[str, nn.Module]]:
        cls = type(self).__name__
        if not isinstance(net, nn.Module):
            raise TypeError(f"{cls}: `net` must be an nn.Module, got {type(net).__name__}.")
        if instance is None:
            instance = type(net)
        kinds = instance if isinstance(instance, tuple) else (instance,)
        if not kinds or not all(isinstance(k, type) for k in kinds):
            raise TypeError(f"{cls}: `instance` must be a module class or a tuple of them, got {instance!r}.")
        for name, m in net.named_modules():
            if isinstance(m, kinds):
                self.monitored_layers.append(name)
                yield name, m

    def _record(self, name: str, value: Any) -> None:
        self.name_records_index.setdefault(name, []).append(len(self.records))
        self.records.append(value)

    def clear_recorded_data(self) -> None:
        """Forget every record."""
        self.records.clear()
        self.name_records_index.clear()

    def enable(self) -> None:
        self._enable = True

    def disable(self) -> None:
        self._enable = False

    def is_enable(self) -> bool:
        return self._enable

    def remove_hooks(self) -> None:
        """Detach every hook from the network (records are kept)."""
        for h in self.hooks:
            h.remove()
        self.hooks.clear()

    def close(self) -> None:
        """Stop recording for good: disable and remove the hooks; records are kept. Idempotent."""
        self.disable()
        self.remove_hooks()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        hooks = getattr(self, "hooks", None)
        if hooks:
            self.remove_hooks()


def _check_fn(cls: str, name: str, fn) -> Callable:
    if not callable(fn):
        raise TypeError(f"{cls}: `{name}` must be callable, got {type(fn).__name__}.")
    return fn


def _first(values: tuple):
    return values[0] if len(values) == 1 else values


class OutputMonitor(BaseMonitor):
    """Record ``function_on_output(output)`` of every module of ``net`` that is an ``instance``
    (``None``: ``type(net)``, i.e. ``net`` itself and its kind)."""

    def __init__(self, net: nn.Module, instance: Instance = None, function_on_output: Callable = _identity):
        super().__init__()
        self.function_on_output = _check_fn("OutputMonitor", "function_on_output", function_on_output)
        for name, m in self._monitor_modules(net, instance):
            self.hooks.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if self._enable:
                self._record(name, self.function_on_output(output))
        return hook


class InputMonitor(BaseMonitor):
    """Record ``function_on_input(input)`` of every monitored module (the input itself when the forward takes
    one positional argument, else the tuple)."""

    def __init__(self, net: nn.Module, instance: Instance = None, function_on_input: Callable = _identity):
        super().__init__()
        self.function_on_input = _check_fn("InputMonitor", "function_on_input", function_on_input)
        for name, m in self._monitor_modules(net, instance):
            self.hooks.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if self._enable:
                self._record(name, self.function_on_input(_first(inputs)))
        return hook


class AttributeMonitor(BaseMonitor):
    """Record ``function_on_attribute(m.<attribute_name>)`` of every monitored module ``m``, before its forward
    (``pre_forward=True``) or after it."""

    def __init__(self, attribute_name: str, pre_forward: bool, net: nn.Module, instance: Instance = None,
                 function_on_attribute: Callable = _identity):
        super().__init__()
        if not isinstance(attribute_name, str):
            raise TypeError(f"AttributeMonitor: `attribute_name` must be a str, got {type(attribute_name).__name__}.")
        if not isinstance(pre_forward, bool):
            raise TypeError(f"AttributeMonitor: `pre_forward` must be a bool, got {pre_forward!r}.")
        self.attribute_name = attribute_name
        self.function_on_attribute = _check_fn("AttributeMonitor", "function_on_attribute", function_on_attribute)
        for name, m in self._monitor_modules(net, instance):
            if pre_forward:
                self.hooks.append(m.register_forward_pre_hook(self._pre_hook(name)))
            else:
                self.hooks.append(m.register_forward_hook(self._hook(name)))

    def _read(self, name: str, module: nn.Module) -> None:
        if self._enable:
            self._record(name, self.function_on_attribute(getattr(module, self.attribute_name)))

    def _pre_hook(self, name: str):
        def hook(module, inputs):
            self._read(name, module)
        return hook

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self._read(name, module)
        return hook


class GradOutputMonitor(BaseMonitor):
    """Record ``function_on_grad_output(dL/dY)`` of every monitored module during backward (modules in the
    order the backward reaches them)."""

    def __init__(self, net: nn.Module, instance: Instance = None, function_on_grad_output: Callable = _identity):
        super().__init__()
        self.function_on_grad_output = _check_fn("GradOutputMonitor", "function_on_grad_output",
                                                 function_on_grad_output)
        for name, m in self._monitor_modules(net, instance):
            self.hooks.append(m.register_full_backward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(module, grad_input, grad_output):
            if self._enable:
                self._record(name, self.function_on_grad_output(_first(grad_output)))
        return hook


class GradInputMonitor(BaseMonitor):
    """Record ``function_on_grad_input(dL/dX)`` of every monitored module during backward."""

    def __init__(self, net: nn.Module, instance: Instance = None, function_on_grad_input: Callable = _identity):
        super().__init__()
        self.function_on_grad_input = _check_fn("GradInputMonitor", "function_on_grad_input", function_on_grad_input)
        for name, m in self._monitor_modules(net, instance):
            self.hooks.append(m.register_full_backward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(module, grad_input, grad_output):
            if self._enable:
                self._record(name, self.function_on_grad_input(_first(grad_input)))
        return hook
