"""Calibration and scaling modules of the ANN-to-SNN conversion.

:class:`VoltageHook` sits after an activation while calibration data flows
through the ANN and records the activation range; :class:`VoltageScaler`
multiplies the current entering and leaving a spiking neuron so that a neuron
of threshold ``θ`` reproduces an activation of range ``s``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Union

import torch
import torch.nn as nn

from fnsnn._checks import check_number
from fnsnn_nn.base import StepModule

Mode = Union[str, float]

MODE_HELP = "'Max' (or 'max'), a percentile string such as '99.9%', or a float in (0, 1]"


def check_mode(fn: str, mode) -> Mode:
    """Validate a calibration ``mode``; return it unchanged."""
    if isinstance(mode, str):
        if mode.lower() == "max":
            return mode
        if mode.endswith("%"):
            try:
                pct = float(mode[:-1])
            except ValueError:
                pct = float("nan")
            if 0.0 < pct <= 100.0:
                return mode
        raise ValueError(f"{fn}: `mode` must be {MODE_HELP}, got {mode!r}.")
    if isinstance(mode, Real) and not isinstance(mode, bool):
        if 0.0 < float(mode) <= 1.0:
            return mode
        raise ValueError(f"{fn}: a float `mode` scales the maximum and must lie in (0, 1], got {mode!r}.")
    raise TypeError(f"{fn}: `mode` must be {MODE_HELP}, got {type(mode).__name__} {mode!r}.")


def check_momentum(fn: str, momentum) -> float:
    check_number(fn, "momentum", momentum, allow_tensor=False)
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"{fn}: `momentum` must lie in [0, 1], got {momentum!r}.")
    return float(momentum)


def _quantile(x: torch.Tensor, q: float) -> torch.Tensor:
    """Linear-interpolation quantile of all entries of ``x`` (any size)."""
    flat = x.reshape(-1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()
    if flat.numel() <= 2**24:  # torch.quantile's input limit
        return torch.quantile(flat, q)
    pos = q * (flat.numel() - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    v_lo = flat.kthvalue(lo + 1).values
    v_hi = flat.kthvalue(hi + 1).values
    return v_lo + (v_hi - v_lo) * (pos - lo)


class VoltageHook(nn.Module):
    """Identity that records a running statistic of the activations passing through.

    Per batch it measures ``s_t``: the maximum (``mode='Max'``), a percentile
    (``mode='99.9%'``) or ``mode * max`` (a float in ``(0, 1]``). The first
    batch sets ``scale = s_t``; later ones update
    ``scale = (1 - momentum) * scale + momentum * s_t``.

    Args:
        scale: initial value of the ``scale`` buffer.
        momentum: weight of a new batch in the running statistic, in ``[0, 1]``.
        mode: the statistic, see above.
    """

    def __init__(self, scale: float = 1.0, momentum: float = 0.1, mode: Mode = "Max"):
        super().__init__()
        check_number("VoltageHook", "scale", scale, allow_tensor=False)
        self.momentum = check_momentum("VoltageHook", momentum)
        self.mode = check_mode("VoltageHook", mode)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.num_batches_tracked = 0

    def batch_statistic(self, x: torch.Tensor) -> torch.Tensor:
        """The statistic ``s_t`` of one batch ``x`` for this hook's mode."""
        x = x.detach()
        if isinstance(self.mode, str) and self.mode.endswith("%"):
            return _quantile(x, float(self.mode[:-1]) / 100.0).to(x.dtype)
        peak = x.max()
        return peak if isinstance(self.mode, str) else peak * float(self.mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the statistic of ``x`` and return ``x`` unchanged."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"VoltageHook: input must be a tensor, got {type(x).__name__}.")
        if x.numel() == 0:
            raise ValueError(f"VoltageHook: cannot calibrate on an empty tensor of shape {tuple(x.shape)}.")
        s_t = self.batch_statistic(x).to(self.scale.device, self.scale.dtype)
        if self.num_batches_tracked == 0:
            self.scale = s_t
        else:
            self.scale = (1.0 - self.momentum) * self.scale + self.momentum * s_t
        self.num_batches_tracked += 1
        return x

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, momentum={self.momentum}, scale={float(self.scale):.6g}"


class VoltageScaler(nn.Module, StepModule):
    """Multiply the input current by a constant: ``y = scale * x``.

    Elementwise, so it serves single-step (``[N, *]``) and multi-step
    (``[T, N, *]``) inputs alike; ``scale`` is a buffer, visible to
    ``torch.func.functional_call``.

    Args:
        scale: the factor, a finite real number.
    """

    def __init__(self, scale: float = 1.0, step_mode: str = "s"):
        super().__init__()
        check_number("VoltageScaler", "scale", scale)
        if isinstance(scale, Real) and not math.isfinite(float(scale)):
            raise ValueError(f"VoltageScaler: `scale` must be finite, got {scale!r}.")
        value = scale.detach().clone() if isinstance(scale, torch.Tensor) else torch.tensor(float(scale))
        self.register_buffer("scale", value)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype)

    def extra_repr(self) -> str:
        shown = f"{float(self.scale):.6g}" if self.scale.numel() == 1 else f"shape={tuple(self.scale.shape)}"
        return f"{shown}, step_mode={self.step_mode}"
