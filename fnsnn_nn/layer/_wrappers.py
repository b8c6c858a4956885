"""Step-mode wrappers of stateless torch layers.

Each class subclasses the torch layer of the same name and
:class:`fnsnn_nn.base.StepModule`. In ``'s'`` mode it is the torch layer; in
``'m'`` mode the ``[T, N, *]`` input is folded to ``[T*N, *]``, the layer runs
once and the result is unfolded (:func:`fnsnn_nn.functional.seq_to_ann_forward`).
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from fnsnn.synapses.weight_standardization import weight_standardization

from ..base import StepModule
from ..functional import seq_to_ann_forward

_size_1 = Union[int, Tuple[int]]
_size_2 = Union[int, Tuple[int, int]]
_size_3 = Union[int, Tuple[int, int, int]]

_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}
_MAX_RANK = 64


def at_least(k: int) -> Tuple[int, ...]:
    return tuple(range(k, _MAX_RANK + 1))


def _spatial(d: int):
    """Rank table of a layer over ``d`` spatial dims: ``(ranks in 's', ranks in 'm', layout)``.

    In ``'s'`` mode the unbatched ``[C, *spatial]`` form torch accepts is allowed too.
    """
    return (d + 1, d + 2), (d + 3,), f"[N, C, {_AXES[d]}]"


def check_rank(module: StepModule, x, ranks: Tuple[int, ...], layout: str) -> None:
    """Raise when ``x`` does not have one of ``ranks`` dims for the module's step mode."""
    name = type(module).__name__
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}.")
    if x.dim() in ranks:
        return
    mode = module.step_mode
    want = f"at least {ranks[0]}" if len(ranks) > 4 else " or ".join(str(r) for r in ranks)
    if mode == "m":
        hint = (f"step_mode='m' expects a sequence {layout.replace('[', '[T, ')} ({want} dims)"
                + ("; for one time step use step_mode='s'" if x.dim() + 1 in ranks else ""))
    else:
        hint = (f"step_mode='s' expects one time step {layout} ({want} dims)"
                + ("; for a [T, N, ...] sequence use step_mode='m'" if x.dim() - 1 in ranks else ""))
    raise ValueError(f"{name}: {hint}, got shape {tuple(x.shape)}.")


def step_forward(module: StepModule, x: Tensor, layer_forward: Callable) -> Tensor:
    """Run ``layer_forward`` in ``module``'s step mode after checking the input rank."""
    s_ranks, m_ranks, layout = module._ranks
    if module.step_mode == "s":
        check_rank(module, x, s_ranks, layout)
        return layer_forward(x)
    check_rank(module, x, m_ranks, layout)
    return seq_to_ann_forward(x, layer_forward)


class _StepRepr:
    def extra_repr(self) -> str:
        base = super().extra_repr()
        return (base + ", " if base else "") + f"step_mode={self.step_mode}"


class _Forward:
    """``forward`` shared by the wrappers: check rank, then run the torch layer per step mode."""

    def forward(self, x: Tensor) -> Tensor:
        return step_forward(self, x, super().forward)


class Linear(_StepRepr, _Forward, nn.Linear, StepModule):
    """``torch.nn.Linear`` with a step mode; input ``[N, *, in_features]`` or ``[T, N, *, in_features]``."""

    _ranks = (at_least(1), at_least(3), "[N, *, in_features]")

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode="s") -> None:
        nn.Linear.__init__(self, in_features, out_features, bias)
        self.step_mode = step_mode


class Flatten(_StepRepr, _Forward, nn.Flatten, StepModule):
    """``torch.nn.Flatten`` with a step mode; in ``'m'`` mode the dims count from ``[N, ...]``."""

    _ranks = (at_least(1), at_least(2), "[N, *]")

    def __init__(self, start_dim: int = 1, end_dim: int = -1, step_mode="s") -> None:
        nn.Flatten.__init__(self, start_dim, end_dim)
        self.step_mode = step_mode


class Conv1d(_StepRepr, _Forward, nn.Conv1d, StepModule):
    """``torch.nn.Conv1d`` with a step mode: ``[N, C, L]`` in ``'s'``, ``[T, N, C, L]`` in ``'m'``."""

    _ranks = _spatial(1)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_1, stride: _size_1 = 1,
                 padding: Union[str, _size_1] = 0, dilation: _size_1 = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.Conv1d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                           padding_mode)
        self.step_mode = step_mode


class Conv2d(_StepRepr, _Forward, nn.Conv2d, StepModule):
    """``torch.nn.Conv2d`` with a step mode: ``[N, C, H, W]`` in ``'s'``, ``[T, N, C, H, W]`` in ``'m'``."""

    _ranks = _spatial(2)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2, stride: _size_2 = 1,
                 padding: Union[str, _size_2] = 0, dilation: _size_2 = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                           padding_mode)
        self.step_mode = step_mode


class Conv3d(_StepRepr, _Forward, nn.Conv3d, StepModule):
    """``torch.nn.Conv3d`` with a step mode: ``[N, C, D, H, W]`` in ``'s'``, ``[T, N, C, D, H, W]`` in ``'m'``."""

    _ranks = _spatial(3)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_3, stride: _size_3 = 1,
                 padding: Union[str, _size_3] = 0, dilation: _size_3 = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.Conv3d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                           padding_mode)
        self.step_mode = step_mode


class ConvTranspose1d(_StepRepr, _Forward, nn.ConvTranspose1d, StepModule):
    """``torch.nn.ConvTranspose1d`` with a step mode (ranks as :class:`Conv1d`)."""

    _ranks = _spatial(1)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_1, stride: _size_1 = 1,
                 padding: _size_1 = 0, output_padding: _size_1 = 0, groups: int = 1, bias: bool = True,
                 dilation: _size_1 = 1, padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.ConvTranspose1d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                                    groups, bias, dilation, padding_mode)
        self.step_mode = step_mode


class ConvTranspose2d(_StepRepr, _Forward, nn.ConvTranspose2d, StepModule):
    """``torch.nn.ConvTranspose2d`` with a step mode (ranks as :class:`Conv2d`)."""

    _ranks = _spatial(2)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2, stride: _size_2 = 1,
                 padding: _size_2 = 0, output_padding: _size_2 = 0, groups: int = 1, bias: bool = True,
                 dilation: int = 1, padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.ConvTranspose2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                                    groups, bias, dilation, padding_mode)
        self.step_mode = step_mode


class ConvTranspose3d(_StepRepr, _Forward, nn.ConvTranspose3d, StepModule):
    """``torch.nn.ConvTranspose3d`` with a step mode (ranks as :class:`Conv3d`)."""

    _ranks = _spatial(3)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_3, stride: _size_3 = 1,
                 padding: _size_3 = 0, output_padding: _size_3 = 0, groups: int = 1, bias: bool = True,
                 dilation: _size_3 = 1, padding_mode: str = "zeros", step_mode: str = "s") -> None:
        nn.ConvTranspose3d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                                    groups, bias, dilation, padding_mode)
        self.step_mode = step_mode


class Upsample(_StepRepr, _Forward, nn.Upsample, StepModule):
    """``torch.nn.Upsample`` with a step mode: ``[N, C, *spatial]`` (1 to 3 spatial dims) per step."""

    _ranks = ((3, 4, 5), (4, 5, 6), "[N, C, *spatial]")

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners: Optional[bool] = None,
                 recompute_scale_factor: Optional[bool] = None, step_mode: str = "s") -> None:
        nn.Upsample.__init__(self, size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.step_mode = step_mode


class BatchNorm1d(_StepRepr, _Forward, nn.BatchNorm1d, StepModule):
    """``torch.nn.BatchNorm1d`` with a step mode; ``'m'`` normalises over ``T*N`` samples at once."""

    _ranks = ((2, 3), (3, 4), "[N, C] or [N, C, L]")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 step_mode="s"):
        nn.BatchNorm1d.__init__(self, num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class BatchNorm2d(_StepRepr, _Forward, nn.BatchNorm2d, StepModule):
    """``torch.nn.BatchNorm2d`` with a step mode; ``'m'`` normalises over ``T*N`` samples at once."""

    _ranks = ((4,), (5,), "[N, C, H, W]")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 step_mode="s"):
        nn.BatchNorm2d.__init__(self, num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class BatchNorm3d(_StepRepr, _Forward, nn.BatchNorm3d, StepModule):
    """``torch.nn.BatchNorm3d`` with a step mode; ``'m'`` normalises over ``T*N`` samples at once."""

    _ranks = ((5,), (6,), "[N, C, D, H, W]")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 step_mode="s"):
        nn.BatchNorm3d.__init__(self, num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class SyncBatchNorm(_StepRepr, _Forward, nn.SyncBatchNorm, StepModule):
    """``torch.nn.SyncBatchNorm`` with a step mode; ``'m'`` normalises over ``T*N`` samples of every rank.

    Built by :func:`fnsnn_nn.functional.convert_sync_batchnorm` from the
    step-mode BatchNorm layers; input ``[N, C, *]`` or ``[T, N, C, *]``.
    """

    _ranks = (at_least(2), at_least(3), "[N, C, *]")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, step_mode="s"):
        nn.SyncBatchNorm.__init__(self, num_features, eps, momentum, affine, track_running_stats, process_group)
        self.step_mode = step_mode


class GroupNorm(_StepRepr, _Forward, nn.GroupNorm, StepModule):
    """``torch.nn.GroupNorm`` with a step mode: ``[N, C, *]`` per step."""

    _ranks = (at_least(2), at_least(3), "[N, C, *]")

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 step_mode="s"):
        nn.GroupNorm.__init__(self, num_groups, num_channels, eps, affine)
        self.step_mode = step_mode


class MaxPool1d(_StepRepr, _Forward, nn.MaxPool1d, StepModule):
    """``torch.nn.MaxPool1d`` with a step mode (with ``return_indices`` both outputs are unfolded)."""

    _ranks = _spatial(1)

    def __init__(self, kernel_size: _size_1, stride: Optional[_size_1] = None, padding: _size_1 = 0,
                 dilation: _size_1 = 1, return_indices: bool = False, ceil_mode: bool = False,
                 step_mode="s") -> None:
        nn.MaxPool1d.__init__(self, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool2d(_StepRepr, _Forward, nn.MaxPool2d, StepModule):
    """``torch.nn.MaxPool2d`` with a step mode (with ``return_indices`` both outputs are unfolded)."""

    _ranks = _spatial(2)

    def __init__(self, kernel_size: _size_2, stride: Optional[_size_2] = None, padding: _size_2 = 0,
                 dilation: _size_2 = 1, return_indices: bool = False, ceil_mode: bool = False,
                 step_mode="s") -> None:
        nn.MaxPool2d.__init__(self, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool3d(_StepRepr, _Forward, nn.MaxPool3d, StepModule):
    """``torch.nn.MaxPool3d`` with a step mode (with ``return_indices`` both outputs are unfolded)."""

    _ranks = _spatial(3)

    def __init__(self, kernel_size: _size_3, stride: Optional[_size_3] = None, padding: _size_3 = 0,
                 dilation: _size_3 = 1, return_indices: bool = False, ceil_mode: bool = False,
                 step_mode="s") -> None:
        nn.MaxPool3d.__init__(self, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class AvgPool1d(_StepRepr, _Forward, nn.AvgPool1d, StepModule):
    """``torch.nn.AvgPool1d`` with a step mode."""

    _ranks = _spatial(1)

    def __init__(self, kernel_size: _size_1, stride: Optional[_size_1] = None, padding: _size_1 = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, step_mode="s") -> None:
        nn.AvgPool1d.__init__(self, kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.step_mode = step_mode


class AvgPool2d(_StepRepr, _Forward, nn.AvgPool2d, StepModule):
    """``torch.nn.AvgPool2d`` with a step mode."""

    _ranks = _spatial(2)

    def __init__(self, kernel_size: _size_2, stride: Optional[_size_2] = None, padding: _size_2 = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None,
                 step_mode="s") -> None:
        nn.AvgPool2d.__init__(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AvgPool3d(_StepRepr, _Forward, nn.AvgPool3d, StepModule):
    """``torch.nn.AvgPool3d`` with a step mode."""

    _ranks = _spatial(3)

    def __init__(self, kernel_size: _size_3, stride: Optional[_size_3] = None, padding: _size_3 = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None,
                 step_mode="s") -> None:
        nn.AvgPool3d.__init__(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AdaptiveAvgPool1d(_StepRepr, _Forward, nn.AdaptiveAvgPool1d, StepModule):
    """``torch.nn.AdaptiveAvgPool1d`` with a step mode."""

    _ranks = _spatial(1)

    def __init__(self, output_size, step_mode="s") -> None:
        nn.AdaptiveAvgPool1d.__init__(self, output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool2d(_StepRepr, _Forward, nn.AdaptiveAvgPool2d, StepModule):
    """``torch.nn.AdaptiveAvgPool2d`` with a step mode."""

    _ranks = _spatial(2)

    def __init__(self, output_size, step_mode="s") -> None:
        nn.AdaptiveAvgPool2d.__init__(self, output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool3d(_StepRepr, _Forward, nn.AdaptiveAvgPool3d, StepModule):
    """``torch.nn.AdaptiveAvgPool3d`` with a step mode."""

    _ranks = _spatial(3)

    def __init__(self, output_size, step_mode="s") -> None:
        nn.AdaptiveAvgPool3d.__init__(self, output_size)
        self.step_mode = step_mode


class WSConv2d(Conv2d):
    """:class:`Conv2d` with scaled weight standardisation; see :func:`fnsnn.synapses.weight_standardization`.

    Args:
        gain: learn a scale per output channel (``gain`` ``[out, 1, 1, 1]``).
        eps: small constant against division by zero.
        Other arguments as :class:`Conv2d`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2, stride: _size_2 = 1,
                 padding: Union[str, _size_2] = 0, dilation: _size_2 = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", step_mode: str = "s", gain: bool = True, eps: float = 1e-4) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, step_mode)
        self.gain = nn.Parameter(torch.ones(self.out_channels, 1, 1, 1)) if gain else None
        self.eps = eps

    def get_weight(self) -> Tensor:
        """The standardised (and gained) weight used by the convolution."""
        return weight_standardization(self.weight, self.gain, self.eps)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.get_weight()
        return step_forward(self, x, lambda z: self._conv_forward(z, weight, self.bias))


class WSLinear(Linear):
    """:class:`Linear` with scaled weight standardisation; see :func:`fnsnn.synapses.weight_standardization`.

    Args:
        gain: learn a scale per output feature (``gain`` ``[out, 1]``).
        eps: small constant against division by zero.
        Other arguments as :class:`Linear`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode="s", gain=True,
                 eps=1e-4) -> None:
        super().__init__(in_features, out_features, bias, step_mode)
        self.gain = nn.Parameter(torch.ones(self.out_features, 1)) if gain else None
        self.eps = eps

    def get_weight(self) -> Tensor:
        """The standardised (and gained) weight used by the linear map."""
        return weight_standardization(self.weight, self.gain, self.eps)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.get_weight()
        return step_forward(self, x, lambda z: F.linear(z, weight, self.bias))
