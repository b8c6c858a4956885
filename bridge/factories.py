"""Factories for the modules the converter inserts: spiking neurons and calibration hooks."""

from __future__ import annotations

import inspect
import math
from typing import Optional, Type

import torch.nn as nn

from fnsnn._checks import check_number
from fnsnn_nn.neuron import IFNode

from .modules import Mode, VoltageHook, check_mode, check_momentum


class NeuronFactory:
    """Build the spiking neuron that replaces one activation.

    The default builds ``fnsnn_nn.neuron.IFNode(v_threshold=1., v_reset=None)``
    (soft reset); the activation range is carried by the surrounding
    :class:`~bridge.modules.VoltageScaler` modules, so ``scale`` is not used.
    Subclass and override :meth:`create` to derive neuron parameters from it.

    Args:
        neuron_type: an ``nn.Module`` class accepting ``v_threshold`` and
            ``v_reset`` keywords (default ``IFNode``).
        v_threshold: firing threshold passed to ``neuron_type``.
        v_reset: reset potential; ``None`` selects soft (subtractive) reset.
        **kwargs: further keywords for ``neuron_type``.
    """

    def __init__(self, neuron_type: Type[nn.Module] = IFNode, v_threshold: float = 1.0,
                 v_reset: Optional[float] = None, **kwargs):
        if not (inspect.isclass(neuron_type) and issubclass(neuron_type, nn.Module)):
            raise TypeError(f"NeuronFactory: `neuron_type` must be an nn.Module subclass such as "
                            f"fnsnn_nn.neuron.IFNode, got {neuron_type!r}.")
        check_number("NeuronFactory", "v_threshold", v_threshold, allow_tensor=False)
        if not float(v_threshold) > 0.0:
            raise ValueError(f"NeuronFactory: `v_threshold` must be > 0, got {v_threshold!r}.")
        check_number("NeuronFactory", "v_reset", v_reset, allow_none=True, allow_tensor=False)
        self.neuron_type = neuron_type
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.kwargs = kwargs

    def create(self, scale: float) -> nn.Module:
        """A new neuron for a layer whose calibrated activation scale is ``scale``.

        Args:
            scale: the layer's threshold from the threshold optimizer, a finite
                positive float.

        Returns:
            A fresh ``neuron_type`` instance.
        """
        check_scale("NeuronFactory.create", scale)
        return self.neuron_type(v_threshold=self.v_threshold, v_reset=self.v_reset, **self.kwargs)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return (f"NeuronFactory(neuron_type={self.neuron_type.__name__}, v_threshold={self.v_threshold}, "
                f"v_reset={self.v_reset}{extra})")


class HookFactory:
    """Build one independent :class:`~bridge.modules.VoltageHook` per matched activation.

    Args:
        mode: calibration statistic, ``'Max'``, ``'99.9%'`` or a float in ``(0, 1]``.
        momentum: running-statistic momentum of the hooks, in ``[0, 1]``.
    """

    def __init__(self, mode: Mode = "Max", momentum: float = 0.1):
        self.mode = check_mode("HookFactory", mode)
        self.momentum = check_momentum("HookFactory", momentum)

    def create(self) -> VoltageHook:
        """A new calibration hook with this factory's mode and momentum."""
        return VoltageHook(momentum=self.momentum, mode=self.mode)

    def __repr__(self) -> str:
        return f"HookFactory(mode={self.mode!r}, momentum={self.momentum})"


def check_scale(fn: str, scale) -> float:
    """``scale`` must be a finite positive real number."""
    check_number(fn, "scale", scale, allow_tensor=False)
    if not (math.isfinite(float(scale)) and float(scale) > 0.0):
        raise ValueError(f"{fn}: `scale` must be a finite positive number, got {scale!r}.")
    return float(scale)


__all__ = ["NeuronFactory", "HookFactory"]
