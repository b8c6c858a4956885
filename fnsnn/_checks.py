"""Input validation shared by every public function of fnsnn.

Each helper raises ``TypeError``/``ValueError`` whose message starts with the
public callable's name and the argument, echoes what came, and says what was
expected. Checks read only shapes, dtypes and devices (never tensor values), so
they run unchanged under ``torch.func`` transforms and ``torch.compile``.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Iterable

import optree
import torch

BACKENDS = ("auto", "torch", "eager", "cpu", "triton")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}, dtype {value.dtype} on {value.device}"
    return f"{type(value).__name__} {value!r}"


def check_tensor(fn: str, name: str, value: Any, *, floating: bool = True) -> torch.Tensor:
    """``value`` must be a tensor (a floating one unless ``floating=False``)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{fn}: `{name}` must be a torch.Tensor, got {_describe(value)}.")
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{fn}: `{name}` must be a floating-point tensor, got dtype {value.dtype}; "
            f"convert it first, e.g. `{name}.float()`."
        )
    return value


def check_seq(fn: str, name: str, x_seq: Any, *, min_dim: int = 1, floating: bool = True) -> torch.Tensor:
    """``x_seq`` must be a time-major ``[T, ...]`` tensor with ``T > 0``."""
    check_tensor(fn, name, x_seq, floating=floating)
    if x_seq.dim() < min_dim:
        raise ValueError(
            f"{fn}: `{name}` must be time-major with shape [T, ...] and at least {min_dim} dims, "
            f"got shape {tuple(x_seq.shape)}."
        )
    if x_seq.shape[0] == 0:
        raise ValueError(f"{fn}: `{name}` has an empty time dimension (shape {tuple(x_seq.shape)}); need T > 0.")
    return x_seq


def check_number(fn: str, name: str, value: Any, *, allow_none: bool = False, allow_tensor: bool = True):
    """A real number, or a floating tensor when ``allow_tensor``."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not (
        isinstance(value, Real) or (allow_tensor and isinstance(value, torch.Tensor))
    ):
        what = "a real number" + (" or a tensor" if allow_tensor else "") + (" or None" if allow_none else "")
        raise TypeError(f"{fn}: `{name}` must be {what}, got {_describe(value)}.")
    if isinstance(value, torch.Tensor) and not value.is_floating_point():
        raise TypeError(f"{fn}: `{name}` must be a floating-point tensor, got dtype {value.dtype}.")
    return value


def check_greater(fn: str, name: str, value: Any, bound: float, *, strict: bool = True):
    """Value check for Python numbers only: tensors may be batched or traced, so they pass."""
    if isinstance(value, Real):
        bad = value <= bound if strict else value < bound
        if bad:
            op = ">" if strict else ">="
            raise ValueError(f"{fn}: `{name}` must be {op} {bound}, got {value!r}.")
    return value


def check_choice(fn: str, name: str, value: Any, choices: Iterable[Any]):
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{fn}: `{name}` must be one of {choices}, got {value!r}.")
    return value


def check_bool(fn: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: `{name}` must be a bool, got {_describe(value)}.")
    return value


def check_callable(fn: str, name: str, value: Any):
    if not callable(value):
        raise TypeError(f"{fn}: `{name}` must be callable (e.g. a surrogate such as fnsnn.surrogate.Sigmoid()), "
                        f"got {_describe(value)}.")
    return value


def check_backend(fn: str, backend: Any) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"{fn}: `backend` must be a str, one of {BACKENDS}, got {_describe(backend)}.")
    return check_choice(fn, "backend", backend, BACKENDS)


def check_state(fn: str, state: Any, state_type: type, like: torch.Tensor, *, shapes: dict | None = None) -> Any:
    """``state`` must be a ``state_type`` whose tensors match ``like`` in shape, dtype and device.

    ``shapes`` optionally maps a field name to the shape it must have instead of ``like.shape``.
    """
    if not isinstance(state, state_type):
        raise TypeError(
            f"{fn}: `state` must be a {state_type.__name__} (or None for the rest state), got {_describe(state)}."
        )
    shapes = shapes or {}
    for field, value in zip(state._fields, state):
        want = tuple(shapes.get(field, like.shape))
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{fn}: `state.{field}` must be a tensor, got {_describe(value)}.")
        if tuple(value.shape) != want:
            raise ValueError(
                f"{fn}: `state.{field}` has shape {tuple(value.shape)} but the input needs {want}; "
                f"build the state from this input (state=None or the init_state function), "
                f"or reset it when the batch shape changes."
            )
        if value.dtype != like.dtype:
            raise ValueError(
                f"{fn}: `state.{field}` has dtype {value.dtype} but the input is {like.dtype}; "
                f"cast the state or the input so they agree."
            )
        if value.device != like.device:
            raise ValueError(
                f"{fn}: `state.{field}` is on {value.device} but the input is on {like.device}; "
                f"move the state with optree.tree_map(lambda t: t.to(device), state)."
            )
    return state


def tree_stack(items: list) -> Any:
    """Stack a list of equally-structured pytrees of tensors along a new dim 0."""
    return optree.tree_map(lambda *xs: torch.stack(xs), *items)
