"""HalfThresholdIFNode: shell of :func:`fnsnn.half_threshold_if_step`."""

from __future__ import annotations

from typing import Callable, Optional

import torch

import fnsnn
from fnsnn._checks import _describe
from fnsnn.neurons.half_threshold import HALF_THRESHOLD_IF, check_half_threshold

from ._base import BaseNode


class HalfThresholdIFNode(BaseNode):
    """Soft-reset IF neuron whose ``v`` rests (and resets) at ``v_threshold / 2``; see
    :func:`fnsnn.half_threshold_if_step`.

    Args:
        v_threshold: finite positive real, or a one-element tensor (stored as a float).
        Other arguments as :class:`BaseNode` (there is no ``v_reset``); ``backend`` comes last.
    """

    family = HALF_THRESHOLD_IF
    step_function = staticmethod(fnsnn.half_threshold_if_step)
    multi_step_function = staticmethod(fnsnn.half_threshold_if_multi_step)

    def __init__(self, v_threshold: float = 1.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        if isinstance(v_threshold, torch.Tensor):
            if not v_threshold.is_floating_point():
                raise TypeError(f"HalfThresholdIFNode: `v_threshold` must be a real number or a one-element "
                                f"floating tensor, got {_describe(v_threshold)}.")
            if v_threshold.numel() != 1:
                raise ValueError(f"HalfThresholdIFNode: a tensor `v_threshold` must be a one-element floating "
                                 f"tensor, got {_describe(v_threshold)}.")
            v_threshold = float(v_threshold)
        check_half_threshold("HalfThresholdIFNode", v_threshold)
        super().__init__(v_threshold=float(v_threshold), v_reset=None, surrogate_function=surrogate_function,
                         detach_reset=detach_reset, step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)

    def memory_reset_values(self):
        return {"v": self.v_threshold / 2.0}

    def core_config(self):
        return dict(v_threshold=self.v_threshold, detach_reset=self.detach_reset,
                    surrogate_function=self.surrogate_function)
