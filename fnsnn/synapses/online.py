"""Online training through time (OTTT, Xiao et al. 2022): gradients through presynaptic traces.

:class:`ReplaceforGrad` returns its second input forward and passes the
incoming gradient to both inputs backward, so a value computed from spikes
can carry gradients computed from traces.
"""

from __future__ import annotations

from typing import Any, Callable, List, Sequence

import torch

from .._checks import check_callable, check_tensor


class ReplaceforGrad(torch.autograd.Function):
    """``forward(x, x_r) = x_r``; ``backward(g) = (g, g)``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, x_r: torch.Tensor) -> torch.Tensor:
        return x_r.clone()

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        """Nothing to save: the backward passes the gradient to both inputs unchanged."""

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):
        return grad, grad


def replace_for_grad(x: torch.Tensor, x_r: torch.Tensor) -> torch.Tensor:
    """Value of ``x_r`` with the gradient reaching both ``x`` and ``x_r``; shapes must agree."""
    fn = "replace_for_grad"
    check_tensor(fn, "x", x)
    check_tensor(fn, "x_r", x_r)
    if x.shape != x_r.shape:
        raise ValueError(f"{fn}: `x` and `x_r` must have the same shape, got {tuple(x.shape)} and "
                         f"{tuple(x_r.shape)}.")
    return ReplaceforGrad.apply(x, x_r)


def _pair(fn: str, x: Sequence[torch.Tensor]):
    if not isinstance(x, (list, tuple)) or len(x) != 2:
        raise TypeError(f"{fn}: input must be a [spike, trace] pair, got {type(x).__name__}.")
    spike, trace = x
    check_tensor(fn, "spike", spike)
    check_tensor(fn, "trace", trace)
    if spike.shape != trace.shape:
        raise ValueError(f"{fn}: spike and trace must have the same shape, got {tuple(spike.shape)} and "
                         f"{tuple(trace.shape)}.")
    return spike, trace


def grad_with_trace(module: Callable, x: Sequence[torch.Tensor]) -> torch.Tensor:
    """``module(spike)`` in value, with the gradient of ``module(trace)`` (parameters see trace inputs).

    Args:
        module: a callable with parameters, e.g. a convolution or linear layer.
        x: ``[spike, trace]`` of equal shape.

    Returns:
        A tensor equal to ``module(spike)`` whose backward is that of ``module(trace)``.
    """
    fn = "grad_with_trace"
    check_callable(fn, "module", module)
    spike, trace = _pair(fn, x)
    with torch.no_grad():
        out = module(spike)
    return ReplaceforGrad.apply(module(ReplaceforGrad.apply(spike, trace)), out)


def spike_trace_op(module: Callable, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Apply a parameter-free ``module`` to spike (with gradient) and trace (without): ``[spike', trace']``."""
    fn = "spike_trace_op"
    check_callable(fn, "module", module)
    spike, trace = _pair(fn, x)
    spike = module(spike)
    with torch.no_grad():
        trace = module(trace)
    return [spike, trace]
