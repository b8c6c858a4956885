"""Attention layers with SpikingJelly's names; the maths is in :mod:`fnsnn.attention`.

Parameter names follow SpikingJelly, so its ``state_dict`` loads unchanged.
The spiking-transformer blocks hold their LIF neurons as modules (so
``reset_net``, ``detach_net``, ``init_state`` and ``apply`` see them) and run
in multi-step mode on ``[T, N, C, L]`` spikes.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from fnsnn import attention as core
from fnsnn.attention._common import check_heads, check_tokens

from ..base import MultiStepModule
from ..neuron import LIFNode
from ._containers import SeqToANNContainer

__all__ = ["TemporalWiseAttention", "MultiDimensionalAttention", "SpikingSelfAttention", "QKAttention",
           "TokenQKAttention", "ChannelQKAttention"]


def _check_reduction(cls: str, size_name: str, size, reduction_name: str, reduction) -> None:
    for name, value in ((size_name, size), (reduction_name, reduction)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{cls}: `{name}` must be a positive int, got {value!r}.")
    if size < reduction:
        raise ValueError(f"{cls}: `{reduction_name}`={reduction} cannot be greater than {size_name}={size}.")


class TemporalWiseAttention(nn.Module, MultiStepModule):
    """Temporal-wise attention (TA-SNN); see :func:`fnsnn.attention.temporal_wise_attention`.

    Place it after a convolution and before the spiking neurons.

    Args:
        T: number of time steps of the input.
        reduction: squeeze ratio ``r`` of the shared MLP (``T >= reduction``).
        dimension: 4 for ``[T, N, C, H, W]`` inputs, 2 for ``[T, N, L]``.
    """

    def __init__(self, T: int, reduction: int = 16, dimension: int = 4):
        _check_reduction("TemporalWiseAttention", "T", T, "reduction", reduction)
        if dimension not in (2, 4):
            raise ValueError(f"TemporalWiseAttention: `dimension` must be 4 or 2, got {dimension!r}.")
        super().__init__()
        self.step_mode = "m"
        self.T, self.reduction, self.dimension = T, reduction, dimension
        self.sharedMLP = nn.Sequential(nn.Linear(T, T // reduction, bias=False), nn.ReLU(),
                                       nn.Linear(T // reduction, T, bias=False))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return core.temporal_wise_attention(x_seq, squeeze_weight=self.sharedMLP[0].weight,
                                            excite_weight=self.sharedMLP[2].weight, dimension=self.dimension)

    def extra_repr(self) -> str:
        return f"T={self.T}, reduction={self.reduction}, dimension={self.dimension}"


class _AxisMLP(nn.Module):
    """Parameter holder of one MA-SNN axis attention: a shared MLP of two bias-free 1x1x1 Conv3d."""

    def __init__(self, planes: int, ratio: int):
        super().__init__()
        self.sharedMLP = nn.Sequential(nn.Conv3d(planes, planes // ratio, 1, bias=False), nn.ReLU(),
                                       nn.Conv3d(planes // ratio, planes, 1, bias=False))

    def weights(self):
        return self.sharedMLP[0].weight, self.sharedMLP[2].weight


class _SpatialConv(nn.Module):
    """Parameter holder of the MA-SNN spatial attention: one bias-free Conv2d from 2 maps to 1."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)


class MultiDimensionalAttention(nn.Module, MultiStepModule):
    """Multi-dimensional attention (MA-SNN) on ``[T, N, C, H, W]``; see
    :func:`fnsnn.attention.multi_dimensional_attention`.

    Args:
        T: number of time steps; C: number of channels.
        reduction_t, reduction_c: squeeze ratios of the temporal and channel MLPs.
        kernel_size: spatial attention kernel, 3 or 7.
    """

    def __init__(self, T: int, C: int, reduction_t: int = 16, reduction_c: int = 16, kernel_size=3):
        _check_reduction("MultiDimensionalAttention", "T", T, "reduction_t", reduction_t)
        _check_reduction("MultiDimensionalAttention", "C", C, "reduction_c", reduction_c)
        if kernel_size not in (3, 7):
            raise ValueError(f"MultiDimensionalAttention: `kernel_size` must be 3 or 7, got {kernel_size!r}.")
        super().__init__()
        self.step_mode = "m"
        self.T, self.C, self.kernel_size = T, C, kernel_size
        self.ta = _AxisMLP(T, reduction_t)
        self.ca = _AxisMLP(C, reduction_c)
        self.sa = _SpatialConv(kernel_size)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return core.multi_dimensional_attention(x_seq, temporal_weights=self.ta.weights(),
                                                channel_weights=self.ca.weights(), spatial_weight=self.sa.conv.weight)

    def extra_repr(self) -> str:
        return f"T={self.T}, C={self.C}, kernel_size={self.kernel_size}"


def _conv_bn(dim: int, width: int) -> SeqToANNContainer:
    return SeqToANNContainer(nn.Conv1d(dim, width * dim, kernel_size=1, stride=1, bias=False),
                             nn.BatchNorm1d(width * dim))


def _neuron_choice(owner: str, backend, spiking_neuron):
    """Split the seed's ``backend`` from 2.0.0's ``spiking_neuron`` (which 2.0.0 takes at the same position)."""
    if not isinstance(backend, str) and callable(backend):
        if spiking_neuron is not None:
            raise TypeError(f"{owner}: got a neuron class both in place of `backend` ({backend!r}) and as "
                            f"spiking_neuron={spiking_neuron!r}; give it once.")
        backend, spiking_neuron = "auto", backend
    if not isinstance(backend, str):
        raise TypeError(f"{owner}: `backend` must be a str such as 'torch', got {type(backend).__name__}.")
    if spiking_neuron is not None and not callable(spiking_neuron):
        raise TypeError(f"{owner}: `spiking_neuron` must be a neuron class (or a callable building one) or None, "
                        f"got {type(spiking_neuron).__name__}.")
    return backend, spiking_neuron


def _accepts_backend(factory) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "backend" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _inner_neuron(owner: str, backend: str, spiking_neuron=None, kwargs=None,
                  v_threshold: float = 1.0) -> nn.Module:
    """One inner neuron in step mode 'm', as SpikingJelly 2.0.0 builds it.

    Without ``spiking_neuron``: a LIF neuron with this position's defaults (tau 2, detach_reset,
    ``v_threshold``), overridden by ``kwargs``. With it: ``spiking_neuron(**kwargs)``, plus ``backend``
    when the class takes one.
    """
    kwargs = dict(kwargs or {})
    if kwargs.get("step_mode", "m") != "m":
        raise ValueError(f"{owner}: the inner neurons run whole [T, N, ...] sequences, so step_mode must be 'm', "
                         f"got step_mode={kwargs['step_mode']!r}.")
    if spiking_neuron is None:
        factory, params = LIFNode, dict(tau=2.0, v_threshold=v_threshold, detach_reset=True, backend=backend)
    else:
        factory, params = spiking_neuron, {}
        if _accepts_backend(spiking_neuron):
            params["backend"] = backend
        elif backend not in ("auto", "torch"):
            raise ValueError(f"{owner}: backend={backend!r} was asked for but spiking_neuron={spiking_neuron!r} "
                             f"takes no `backend` argument.")
    params.update(copy.deepcopy(kwargs))
    params["step_mode"] = "m"
    return factory(**params)


class _SpikingBlock(nn.Module):
    """Shared plumbing of the spiking-transformer blocks: shapes and the ``backend`` of the inner LIFs."""

    lif_names = ()

    def _check_input(self, x_seq: torch.Tensor) -> None:
        name = type(self).__name__
        check_tokens(name, x_seq)
        if x_seq.shape[2] != self.dim:
            raise ValueError(f"{name}: `x_seq` has C={x_seq.shape[2]} channels but the block was built with "
                             f"dim={self.dim}; expected [T, N, {self.dim}, L].")

    @property
    def backend(self) -> str:
        """Backend of every inner neuron; setting it sets them all."""
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        for name in self.lif_names:
            getattr(self, name).backend = value  # validates
        self._backend = value

    def conv_bn_params(self, name: str) -> core.ConvBNParams:
        """The explicit parameters of a conv-BN stage, for the pure functions."""
        conv, bn = getattr(self, name)
        return core.ConvBNParams(conv.weight, bn.weight, bn.bias)

    def batch_norm_stats(self, name: str) -> core.BatchNormStats:
        bn = getattr(self, name)[1]
        return core.BatchNormStats(bn.running_mean, bn.running_var)


class SpikingSelfAttention(_SpikingBlock):
    """Spikformer's Spiking Self-Attention on ``[T, N, C, L]`` spikes; see
    :func:`fnsnn.attention.spiking_self_attention_multi_step`.

    Args:
        dim: number of channels ``C``.
        num_heads: number of heads (divides ``dim``).
        backend: backend of the inner LIF neurons (``'torch'``, ``'triton'``, ``'auto'``).
        spiking_neuron: SpikingJelly 2.0.0's argument: the class of the three inner neurons; ``None`` keeps
            the LIF neurons with each position's defaults. 2.0.0 takes it third, so a class given in
            place of ``backend`` is read as ``spiking_neuron``.
        **kwargs: 2.0.0's neuron arguments, passed to every inner neuron (``step_mode`` must stay ``'m'``).
    """

    lif_names = ("qkv_lif", "attn_lif", "proj_lif")

    def __init__(self, dim: int, num_heads: int = 8, backend: str = "auto",
                 spiking_neuron: Optional[Callable[..., nn.Module]] = None, **kwargs: Any):
        name = type(self).__name__
        check_heads(name, dim, num_heads)
        backend, spiking_neuron = _neuron_choice(name, backend, spiking_neuron)
        super().__init__()
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.scale = 0.125
        self.qkv_conv_bn = _conv_bn(dim, 3)
        self.qkv_lif = _inner_neuron(name, backend, spiking_neuron, kwargs)
        self.attn_lif = _inner_neuron(name, backend, spiking_neuron, kwargs, 0.5)
        self.proj_conv_bn = _conv_bn(dim, 1)
        self.proj_lif = _inner_neuron(name, backend, spiking_neuron, kwargs)
        self._backend = backend

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` ``[T, N, C, L]`` -> spikes ``[T, N, C, L]``."""
        self._check_input(x_seq)
        qkv = self.qkv_lif(self.qkv_conv_bn(x_seq))
        attn = self.attn_lif(core.ssa_attend(qkv, self.num_heads, self.scale))
        return self.proj_lif(self.proj_conv_bn(attn.flatten(2, 3)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"


class QKAttention(_SpikingBlock):
    """QKFormer's Q-K attention on ``[T, N, C, L]`` spikes; see :func:`fnsnn.attention.qk_attention_multi_step`.

    Args:
        dim: number of channels ``C``.
        num_heads: number of heads (divides ``dim``).
        qka_type: ``'token'`` (a mask per token, default) or ``'channel'``; read-only afterwards.
        backend: backend of the inner LIF neurons.
        spiking_neuron, **kwargs: SpikingJelly 2.0.0's neuron arguments, as for :class:`SpikingSelfAttention`.
    """

    lif_names = ("qk_lif", "attn_lif", "proj_lif")

    def __init__(self, dim: int, num_heads: int = 8, qka_type: str = "token", backend: str = "auto",
                 spiking_neuron: Optional[Callable[..., nn.Module]] = None, **kwargs: Any):
        name = type(self).__name__
        check_heads(name, dim, num_heads)
        if qka_type not in core.QKA_TYPES:
            raise ValueError(f"{name}: `qka_type` must be 'token' or 'channel', got {qka_type!r}.")
        backend, spiking_neuron = _neuron_choice(name, backend, spiking_neuron)
        super().__init__()
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self._qka_type = qka_type
        self.qk_conv_bn = _conv_bn(dim, 2)
        self.qk_lif = _inner_neuron(name, backend, spiking_neuron, kwargs)
        self.attn_lif = _inner_neuron(name, backend, spiking_neuron, kwargs, 0.5)
        self.proj_conv_bn = _conv_bn(dim, 1)
        self.proj_lif = _inner_neuron(name, backend, spiking_neuron, kwargs)
        self._backend = backend

    @property
    def qka_type(self) -> str:
        """``'token'`` or ``'channel'``; fixed at construction."""
        return self._qka_type

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` ``[T, N, C, L]`` -> spikes ``[T, N, C, L]``."""
        self._check_input(x_seq)
        qk = self.qk_lif(self.qk_conv_bn(x_seq))
        q, k = core.qk_split(qk, self.num_heads, self._qka_type)
        return self.proj_lif(self.proj_conv_bn(core.qk_combine(self.attn_lif(q), k)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, qka_type={self.qka_type}"


class TokenQKAttention(QKAttention):
    """``QKAttention(..., qka_type='token')``."""

    def __init__(self, dim: int, num_heads: int = 8, backend: str = "auto",
                 spiking_neuron: Optional[Callable[..., nn.Module]] = None, **kwargs: Any):
        super().__init__(dim, num_heads, "token", backend, spiking_neuron, **kwargs)


class ChannelQKAttention(QKAttention):
    """``QKAttention(..., qka_type='channel')``."""

    def __init__(self, dim: int, num_heads: int = 8, backend: str = "auto",
                 spiking_neuron: Optional[Callable[..., nn.Module]] = None, **kwargs: Any):
        super().__init__(dim, num_heads, "channel", backend, spiking_neuron, **kwargs)
