"""Input validation shared by every public function of fnsnn.

Each helper raises ``TypeError``/``ValueError`` whose message starts with the
public callable's name and the argument, echoes what came, and says what was
expected. Checks read shapes, dtypes and devices; tensor *values* are read only
where :func:`values_readable` allows it, so every check runs unchanged under
``torch.func`` transforms and ``torch.compile``.

Numeric parameters of neurons and synapses follow one rule, :func:`check_param`
(type, finiteness, documented range) plus :func:`check_param_shapes` (a tensor
parameter broadcasts to one time step's shape and not beyond); spike functions
follow :func:`check_surrogate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Iterable, Mapping, Optional

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


def check_positive_int(fn: str, name: str, value: Any) -> int:
    """An ``int`` of at least 1 (``bool`` is not one); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{fn}: `{name}` must be a positive int, got {value!r}.")
    return value


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
    """Value check for Python numbers only (NaN fails it); neuron parameters use :func:`check_param`."""
    if isinstance(value, Real):
        bad = not (value > bound if strict else value >= bound)
        if bad:
            op = ">" if strict else ">="
            raise ValueError(f"{fn}: `{name}` must be {op} {bound}, got {value!r}.")
    return value


def values_readable(value: torch.Tensor) -> bool:
    """Whether the values of tensor ``value`` may be read by a check.

    Only plain CPU tensors outside ``torch.func`` transforms, ``torch.compile``
    and ``torch.jit`` tracing are read: inside a transform or a trace a tensor
    is batched, symbolic or fake (reading it breaks the graph or fails); a
    tensor on an accelerator would force a host synchronisation on every call.
    Other tensors are checked for type and shape only.
    """
    if torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active() or torch.jit.is_tracing():
        return False
    return type(value) in (torch.Tensor, torch.nn.Parameter) and value.device.type == "cpu"


def _range_text(gt, ge, lt, le) -> str:
    """``"> 1"``, ``"lie in [0, 1]"``, ``"lie in (0, 1)"``, ... ("" for no bound)."""
    low, high = (gt, "(") if gt is not None else (ge, "["), (lt, ")") if lt is not None else (le, "]")
    if low[0] is not None and high[0] is not None:
        return f"lie in {low[1]}{low[0]:g}, {high[0]:g}{high[1]}"
    parts = [f"{op} {bound:g}" for op, bound in ((">", gt), (">=", ge), ("<", lt), ("<=", le)) if bound is not None]
    return " and ".join(parts)


def check_param(fn: str, name: str, value: Any, *, gt: Optional[float] = None, ge: Optional[float] = None,
                lt: Optional[float] = None, le: Optional[float] = None, allow_none: bool = False,
                allow_tensor: bool = True):
    """The rule for every numeric neuron or synapse parameter.

    ``value`` must be a real number (``bool`` is not one) or, when
    ``allow_tensor``, a floating tensor; ``None`` only when ``allow_none``. A
    number must be finite and within the bounds given (``gt``: ``> gt``,
    ``ge``: ``>= ge``, ``lt``, ``le`` likewise); so must every element of a
    tensor whose values are readable (see :func:`values_readable`). Raises
    ``TypeError`` for a wrong type, ``ValueError`` for a bad value; returns
    ``value`` unchanged. Shapes are checked against the input by
    :func:`check_param_shapes`.
    """
    check_number(fn, name, value, allow_none=allow_none, allow_tensor=allow_tensor)
    if value is None:
        return value
    rng = _range_text(gt, ge, lt, le)
    verb = rng if rng.startswith("lie") else f"be {rng}" if rng else "be finite"
    want = f"{verb} (and finite)" if rng else verb
    if isinstance(value, torch.Tensor):
        if values_readable(value):
            with torch.no_grad():
                v = value.detach()
                ok = torch.isfinite(v)
                for bound, cmp in ((gt, torch.gt), (ge, torch.ge), (lt, torch.lt), (le, torch.le)):
                    if bound is not None:
                        ok = ok & cmp(v, bound)
                if not bool(ok.all()):
                    bad = v[~ok]
                    raise ValueError(
                        f"{fn}: every value of `{name}` must {want}; "
                        f"the tensor of shape {tuple(v.shape)} "
                        f"holds {bad.numel()} that are not, e.g. {bad.flatten()[:3].tolist()}."
                    )
        return value
    ok = (math.isfinite(value) and (gt is None or value > gt) and (ge is None or value >= ge)
          and (lt is None or value < lt) and (le is None or value <= le))
    if not ok:
        raise ValueError(f"{fn}: `{name}` must {want}, got {value!r}.")
    return value


def check_param_shapes(fn: str, params: Mapping[str, Any], like: torch.Tensor) -> None:
    """Every tensor in ``params`` must broadcast to ``like.shape`` (one time step) without growing it.

    For a step ``[N, C, H, W]``, shapes ``()``, ``[W]``, ``[C, 1, 1]`` and
    ``[N, C, H, W]`` fit; a shape that does not broadcast, or that would add a
    dim or grow one (``[2, N, C, H, W]``, ``[1, N, C, H, W]``), raises.
    """
    step = tuple(like.shape)
    for name, value in params.items():
        if not isinstance(value, torch.Tensor):
            continue
        try:
            fits = tuple(torch.broadcast_shapes(value.shape, like.shape)) == step
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"{fn}: the tensor `{name}` has shape {tuple(value.shape)}, which does not broadcast to the "
                f"shape {step} of one time step's input without changing it; give it that shape, a shape "
                f"that broadcasts to it (e.g. {step[1:]} for one value per feature), or a number."
            )


def _trusted_spike_function(value: Any) -> bool:
    """A :class:`fnsnn.surrogate.SurrogateFunction` (or a shell holding one as ``core``): those classes carry
    the marker ``fnsnn_spike_function``, read here so that this module need not import the surrogates."""
    return bool(getattr(type(value), "fnsnn_spike_function", False)
                or getattr(type(getattr(value, "core", None)), "fnsnn_spike_function", False))


@dataclass(frozen=True)
class CheckedSpikeFunction:
    """A user's spike function whose result is checked to be a tensor on every call."""

    fn: str
    name: str
    function: Callable

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.function(x)
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"{self.fn}: `{self.name}` returned {_describe(out)} for a tensor input; a spike function must "
                f"return a tensor shaped like its input (e.g. fnsnn.surrogate.Sigmoid())."
            )
        return out


def check_surrogate(fn: str, name: str, value: Any, default: Optional[Callable[[], Any]] = None):
    """A spike-function instance (``None`` gives ``default()``).

    A class instead of an instance, or anything not callable, raises ``TypeError``.
    The surrogates of :mod:`fnsnn.surrogate` (and shells holding one as ``core``)
    are returned as they are; any other callable comes back wrapped so that a
    non-tensor result raises a ``TypeError`` naming ``fn`` and ``name``.
    """
    if value is None and default is not None:
        value = default()
    if isinstance(value, type):
        raise TypeError(
            f"{fn}: `{name}` must be a spike-function instance, got the class {value.__name__}; "
            f"instantiate it, e.g. `{name}={value.__name__}()`."
        )
    if not callable(value):
        raise TypeError(f"{fn}: `{name}` must be callable, a spike-function instance such as "
                        f"fnsnn.surrogate.Sigmoid(); got {_describe(value)}.")
    if isinstance(value, CheckedSpikeFunction) or _trusted_spike_function(value):
        return value
    return CheckedSpikeFunction(fn, name, value)


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
