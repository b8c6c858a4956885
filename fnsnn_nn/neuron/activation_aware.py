"""ActivationAwareIFNode: shell of :mod:`fnsnn.neurons.activation_aware`."""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch

import fnsnn
from fnsnn._checks import check_param
from fnsnn.neurons.activation_aware import ACTIVATION_AWARE_IF, lay_per_channel

from ._base import BaseNode


def _param(name: str, value, positive: bool) -> torch.Tensor:
    cls = "ActivationAwareIFNode"
    check_param(cls, name, value, gt=0.0 if positive else None)
    t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
    if t.dim() > 1:
        raise ValueError(f"{cls}: `{name}` must be a scalar or a 1D per-channel tensor, got shape {tuple(t.shape)}.")
    return t


class ActivationAwareIFNode(BaseNode):
    """IF neuron with a membrane offset and scalar or per-channel threshold; see
    :func:`fnsnn.activation_aware_if_step`. ``v_threshold`` and ``v_offset`` are buffers.

    Args:
        v_threshold: positive float or 1D tensor (one value per channel).
        v_offset: float or 1D tensor.
        channel_dim: dim of one time step's input ``[N, *]`` along which 1D parameters run.
        v_reset: hard-reset potential; ``None`` (default) is soft reset.
        surrogate_function, detach_reset, step_mode: as :class:`BaseNode`.
        store_v_seq: keep the trace ``v_seq``; as for every fnsnn neuron single steps append to it
            (2.0.0's ActivationAwareIFNode keeps none in single-step mode).
    """

    family = ACTIVATION_AWARE_IF
    step_function = staticmethod(fnsnn.activation_aware_if_step)
    multi_step_function = staticmethod(fnsnn.activation_aware_if_multi_step)

    def __init__(self, v_threshold: Union[float, torch.Tensor] = 1.0, v_offset: Union[float, torch.Tensor] = 0.0,
                 channel_dim: int = -1, v_reset: Optional[float] = None,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False):
        threshold, offset = _param("v_threshold", v_threshold, True), _param("v_offset", v_offset, False)
        if isinstance(channel_dim, bool) or not isinstance(channel_dim, int):
            raise TypeError(f"ActivationAwareIFNode: `channel_dim` must be an int, got {channel_dim!r}.")
        super().__init__(1.0, v_reset, surrogate_function, detach_reset, step_mode, "auto", store_v_seq)
        del self.v_threshold
        self.register_buffer("v_threshold", threshold)
        self.register_buffer("v_offset", offset)
        self.channel_dim = channel_dim

    def _core_state(self, like: torch.Tensor, cfg):
        # 1D per-channel parameters are checked as the core lays them out along `channel_dim`.
        name = type(self).__name__
        laid = dict(cfg, **{k: lay_per_channel(name, k, cfg[k], self.channel_dim, like)
                            for k in ("v_threshold", "v_offset")})
        return super()._core_state(like, laid)

    def core_config(self):
        return dict(super().core_config(), v_offset=self.v_offset, channel_dim=self.channel_dim)

    def extra_repr(self) -> str:
        return (f"v_threshold_shape={tuple(self.v_threshold.shape)}, v_offset_shape={tuple(self.v_offset.shape)}, "
                f"channel_dim={self.channel_dim}, " + super().extra_repr())
