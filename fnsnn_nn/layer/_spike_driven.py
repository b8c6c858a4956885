"""SpikeDrivenSelfAttention: the shell of :mod:`fnsnn.attention.spike_driven`."""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from fnsnn.attention._common import check_heads
from fnsnn.attention.spike_driven import check_feature_maps, spike_driven_kv

from ..neuron import LIFNode
from ._wrappers import BatchNorm2d, Conv2d

_NEURONS = ("shortcut_lif", "q_lif", "k_lif", "v_lif", "attn_lif")


def _neuron(cls_name: str, spiking_neuron: Optional[Callable], kwargs: dict, v_threshold: float) -> nn.Module:
    if kwargs.get("step_mode", "m") != "m":
        raise ValueError(f"{cls_name}: the inner neurons run on whole sequences and need step_mode='m', "
                         f"got step_mode={kwargs['step_mode']!r}.")
    kw = dict(kwargs, step_mode="m")
    if spiking_neuron is None:
        return LIFNode(**dict(dict(tau=2.0, detach_reset=True, v_threshold=v_threshold), **kw))
    if not callable(spiking_neuron):
        raise TypeError(f"{cls_name}: `spiking_neuron` must be a neuron class or factory, "
                        f"got {type(spiking_neuron).__name__}.")
    return spiking_neuron(**kw)


class SpikeDrivenSelfAttention(nn.Module):
    """Spike-driven self-attention on ``[T, N, C, H, W]``; equations in :mod:`fnsnn.attention.spike_driven`.

    Args:
        dim: channels ``C`` (divisible by ``num_heads``).
        num_heads: number of heads.
        spiking_neuron: neuron class for the five inner neurons; ``None`` gives LIF neurons with
            ``tau=2``, a detached reset and threshold 1 (0.5 for ``attn_lif``).
        **kwargs: passed to every inner neuron (over those defaults when ``spiking_neuron`` is None).
    """

    def __init__(self, dim: int, num_heads: int = 8, spiking_neuron: Optional[Callable] = None, **kwargs: Any):
        name = type(self).__name__
        check_heads(name, dim, num_heads)
        super().__init__()
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.shortcut_lif = _neuron(name, spiking_neuron, kwargs, 1.0)
        for branch in ("q", "k", "v"):
            setattr(self, f"{branch}_conv", Conv2d(dim, dim, 1, 1, bias=False, step_mode="m"))
            setattr(self, f"{branch}_bn", BatchNorm2d(dim, step_mode="m"))
            setattr(self, f"{branch}_lif", _neuron(name, spiking_neuron, kwargs, 1.0))
        self.attn_lif = _neuron(name, spiking_neuron, kwargs, 0.5)
        self.proj_conv = Conv2d(dim, dim, 1, 1, step_mode="m")
        self.proj_bn = BatchNorm2d(dim, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[T, N, C, H, W]`` -> ``[T, N, C, H, W]``."""
        check_feature_maps(type(self).__name__, x, self.dim)
        s = self.shortcut_lif(x)
        q = self.q_lif(self.q_bn(self.q_conv(s)))
        k = self.k_lif(self.k_bn(self.k_conv(s)))
        v = self.v_lif(self.v_bn(self.v_conv(s)))
        attn = self.attn_lif(spike_driven_kv(k, v))
        return self.proj_bn(self.proj_conv(q * attn)) + x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"
