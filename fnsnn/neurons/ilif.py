"""Integer LIF (I-LIF): a soft-reset LIF neuron that emits integer spike counts.

``H = V - V / tau + X``  (LIF charge without input decay, soft reset),
``S = round(clamp(H / v_threshold, 0, D))`` with ``D = max_spike_count``,
``V = H - S v_threshold``.
In the backward pass the count has the straight-through gradient ``1`` where
``grad_min <= H / v_threshold <= grad_max`` (default ``[0, D]``) and ``0`` elsewhere.
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Integral
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._checks import _describe, check_bool, check_number, check_param, check_surrogate, check_tensor
from ..surrogate import SurrogateFunction
from ._base import NeuronFamily, reset, run_multi_step, run_step
from .lif import _lif_charge

Number = Union[float, torch.Tensor]


@dataclasses.dataclass(frozen=True)
class MultiLevelSpikeCount(SurrogateFunction):
    """Multi-level spike count: forward ``round(clamp(x, 0, D))``, backward ``1`` on ``[grad_min, grad_max]``.

    ``spiking=False`` gives the primitive ``clamp(x, 0, D)``. ``grad_max=None``
    means ``D``. Works under ``torch.func`` as a straight-through expression.
    """

    max_spike_count: int = 4
    grad_min: float = 0.0
    grad_max: Optional[float] = None
    spiking: bool = True

    def __post_init__(self):
        fn = "MultiLevelSpikeCount"
        count = self.max_spike_count
        if not isinstance(count, Integral) or isinstance(count, bool):
            raise TypeError(f"{fn}: `max_spike_count` must be an int, got {_describe(count)}.")
        if count < 1:
            raise ValueError(f"{fn}: `max_spike_count` must be >= 1, got {count!r}.")
        object.__setattr__(self, "max_spike_count", int(count))
        grad_max = float(count) if self.grad_max is None else self.grad_max
        for name, value in (("grad_min", self.grad_min), ("grad_max", grad_max)):
            check_number(fn, name, value, allow_tensor=False)
            if not math.isfinite(value):
                raise ValueError(f"{fn}: `{name}` must be finite, got {value!r}.")
        if self.grad_min > grad_max:
            raise ValueError(f"{fn}: the gradient window needs grad_min <= grad_max, "
                             f"got ({self.grad_min!r}, {grad_max!r}).")
        object.__setattr__(self, "grad_min", float(self.grad_min))
        object.__setattr__(self, "grad_max", float(grad_max))
        self._check_spiking()

    def primitive(self, x):
        return torch.clamp(x, 0, self.max_spike_count)

    def derivative(self, x):
        return ((x >= self.grad_min) & (x <= self.grad_max)).to(x.dtype)

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """The rounded count with the straight-through window gradient, whatever ``spiking`` says."""
        hard = torch.round(torch.clamp(x, 0, self.max_spike_count)).detach()
        return hard + self.derivative(x) * (x - x.detach())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("MultiLevelSpikeCount", "x", x)
        return self.spike(x) if self.spiking else self.primitive(x)


class ILIFState(NamedTuple):
    v: torch.Tensor


def _update(x, state, cfg):
    v_threshold = cfg["v_threshold"]
    h = _lif_charge(x, state.v, cfg["tau"], False, None)
    spike = cfg["surrogate_function"](h / v_threshold)
    return spike, ILIFState(reset(h, spike, v_threshold, None, cfg["detach_reset"]))


ILIF = NeuronFamily("ilif", ILIFState, lambda like, cfg: ILIFState(torch.zeros_like(like)), _update)


def _ilif_config(fn, tau, v_threshold, detach_reset, surrogate_function):
    check_param(fn, "tau", tau, gt=1.0)
    check_param(fn, "v_threshold", v_threshold, gt=0.0)
    check_bool(fn, "detach_reset", detach_reset)
    surrogate_function = check_surrogate(fn, "surrogate_function", surrogate_function,
                                         lambda: MultiLevelSpikeCount(4))
    return dict(tau=tau, v_threshold=v_threshold, detach_reset=detach_reset, surrogate_function=surrogate_function)


def ilif_init_state(x: torch.Tensor) -> ILIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``."""
    return ILIFState(torch.zeros_like(x))


def ilif_step(x: torch.Tensor, state: Optional[ILIFState] = None, *, tau: Number = 4.0 / 3.0,
              v_threshold: Number = 1.0, detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the I-LIF neuron (equations in the module docstring).

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``ILIFState(v)`` shaped like ``x``; ``None`` is the rest state ``v = 0``.
        tau: membrane time constant, ``> 1``; v_threshold: size of one spike, ``> 0``
            (floats or tensors).
        detach_reset: stop the gradient through the reset.
        surrogate_function: applied to ``H / v_threshold``; default ``MultiLevelSpikeCount(4)``.

    Returns:
        ``(spike_count, ILIFState)``.
    """
    cfg = _ilif_config("ilif_step", tau, v_threshold, detach_reset, surrogate_function)
    return run_step("ilif_step", ILIF, x, state, cfg)


def ilif_multi_step(x_seq: torch.Tensor, state: Optional[ILIFState] = None, *, tau: Number = 4.0 / 3.0,
                    v_threshold: Number = 1.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                    backend: str = "auto"):
    """:func:`ilif_step` scanned over ``x_seq`` ``[T, N, *]``.

    Returns ``(spike_seq, final_state)``, plus ``v_seq`` with ``return_v_seq=True``;
    ``backend`` is ``"auto"`` or ``"torch"`` (no Triton kernel).
    """
    cfg = _ilif_config("ilif_multi_step", tau, v_threshold, detach_reset, surrogate_function)
    return run_multi_step("ilif_multi_step", ILIF, x_seq, state, cfg, return_v_seq, backend)
