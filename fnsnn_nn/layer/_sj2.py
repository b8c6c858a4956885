"""Layers added in SpikingJelly 2.0.0: MaxUnpool wrappers, time-last containers, BNTT, count <-> slots."""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from fnsnn._checks import check_bool
from fnsnn.synapses.spike_count import spike_count_to_binary, temporal_bin_sum

from ..base import MemoryModule, MultiStepModule, StepModule
from ..functional import t_last_multi_step_forward, t_last_seq_to_ann_forward
from ._containers import MultiStepContainer, SeqToANNContainer, _check_single_step
from ._wrappers import _spatial, _StepRepr, check_rank

_size = Union[int, Tuple[int, ...]]


# -- MaxUnpool -----------------------------------------------------------------------------------

class _Unpool:
    """``forward(x, indices, output_size=None)`` in the step mode; 'm' folds ``[T, N]`` for both tensors."""

    _d: int

    def forward(self, x: Tensor, indices: Tensor, output_size=None) -> Tensor:
        s_ranks, m_ranks, layout = self._ranks
        name = type(self).__name__
        ranks = s_ranks if self.step_mode == "s" else m_ranks
        check_rank(self, x, ranks, layout)
        if not isinstance(indices, torch.Tensor) or indices.shape != x.shape:
            got = tuple(indices.shape) if isinstance(indices, torch.Tensor) else type(indices).__name__
            raise ValueError(f"{name}: `indices` must have the input's shape {tuple(x.shape)} (from the MaxPool "
                             f"with return_indices=True), got {got}.")
        unpool = super().forward
        if self.step_mode == "s":
            return unpool(x, indices, output_size)
        if output_size is not None:
            output_size = list(output_size)[-self._d:]
        T, N = x.shape[:2]
        y = unpool(x.flatten(0, 1), indices.flatten(0, 1), output_size)
        return y.unflatten(0, (T, N))


class MaxUnpool1d(_StepRepr, _Unpool, nn.MaxUnpool1d, StepModule):
    """``torch.nn.MaxUnpool1d`` with a step mode; ``forward(x, indices, output_size=None)``."""

    _d, _ranks = 1, _spatial(1)

    def __init__(self, kernel_size: _size, stride: Optional[_size] = None, padding: _size = 0, step_mode="s"):
        nn.MaxUnpool1d.__init__(self, kernel_size, stride, padding)
        self.step_mode = step_mode


class MaxUnpool2d(_StepRepr, _Unpool, nn.MaxUnpool2d, StepModule):
    """``torch.nn.MaxUnpool2d`` with a step mode; ``forward(x, indices, output_size=None)``."""

    _d, _ranks = 2, _spatial(2)

    def __init__(self, kernel_size: _size, stride: Optional[_size] = None, padding: _size = 0, step_mode="s"):
        nn.MaxUnpool2d.__init__(self, kernel_size, stride, padding)
        self.step_mode = step_mode


class MaxUnpool3d(_StepRepr, _Unpool, nn.MaxUnpool3d, StepModule):
    """``torch.nn.MaxUnpool3d`` with a step mode; ``forward(x, indices, output_size=None)``."""

    _d, _ranks = 3, _spatial(3)

    def __init__(self, kernel_size: _size, stride: Optional[_size] = None, padding: _size = 0, step_mode="s"):
        nn.MaxUnpool3d.__init__(self, kernel_size, stride, padding)
        self.step_mode = step_mode


# -- time-last containers ---------------------------------------------------------------------------

class TLastMultiStepContainer(MultiStepContainer):
    """:class:`MultiStepContainer` for time-last inputs ``[N, *, T]``; see
    :func:`fnsnn_nn.functional.t_last_multi_step_forward`."""

    def __init__(self, *args):
        nn.Sequential.__init__(self, *args)
        _check_single_step("TLastMultiStepContainer", self)
        self.step_mode = "m"

    def forward(self, x_seq: Tensor) -> Tensor:
        return t_last_multi_step_forward(x_seq, lambda x: nn.Sequential.forward(self, x))


class TLastSeqToANNContainer(SeqToANNContainer):
    """:class:`SeqToANNContainer` for time-last inputs ``[N, *, T]``; see
    :func:`fnsnn_nn.functional.t_last_seq_to_ann_forward`."""

    def __init__(self, *args):
        nn.Sequential.__init__(self, *args)
        _check_single_step("TLastSeqToANNContainer", self)
        self.step_mode = "m"

    def forward(self, x_seq: Tensor):
        return t_last_seq_to_ann_forward(x_seq, lambda x: nn.Sequential.forward(self, x))


# -- counts <-> binary slots ------------------------------------------------------------------------

class _SlotConversion(nn.Module, MultiStepModule):
    def __init__(self, num_slots: int, always_convert: bool = False):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_slots, bool) or not isinstance(num_slots, int) or num_slots < 1:
            raise ValueError(f"{name}: `num_slots` must be an int >= 1, got {num_slots!r}.")
        check_bool(name, "always_convert", always_convert)
        self.num_slots = num_slots
        self.always_convert = always_convert
        self.step_mode = "m"

    def active(self) -> bool:
        """Converting in this call: always with ``always_convert``, else only in eval mode."""
        return self.always_convert or not self.training

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}, always_convert={self.always_convert}, step_mode={self.step_mode}"


class SpikeCountToBinary(_SlotConversion):
    """Integer counts ``[T, N, *]`` -> binary slots ``[T * num_slots, N, *]`` (in eval mode, or always with
    ``always_convert``; otherwise the input passes unchanged); see
    :func:`fnsnn.synapses.spike_count.spike_count_to_binary`."""

    def forward(self, x_seq: Tensor) -> Tensor:
        return spike_count_to_binary(x_seq, self.num_slots) if self.active() else x_seq


class TemporalBinSum(_SlotConversion):
    """Sum every ``num_slots`` steps: ``[T, N, *]`` -> ``[ceil(T / num_slots), N, *]`` (when active, as
    :class:`SpikeCountToBinary`); see :func:`fnsnn.synapses.spike_count.temporal_bin_sum`."""

    def forward(self, x_seq: Tensor) -> Tensor:
        return temporal_bin_sum(x_seq, self.num_slots) if self.active() else x_seq


# -- batch normalisation through time -----------------------------------------------------------------

class _BatchNormThroughTimeNd(MemoryModule):
    """BNTT (Kim & Panda 2021): one BatchNorm per time step, scale only (no bias), statistics per step.

    The memory ``t`` is the index of the last step run since the reset (``-1`` at rest); step ``t``
    uses ``bn_list[t]``, and a sequence longer than ``T`` raises. The index selects a module, so it is
    read as a Python int: single-step BNTT does not run under ``torch.func`` transforms.

    Args:
        T: number of time steps.
        num_features, eps, momentum, affine, track_running_stats: as ``torch.nn.BatchNorm*``.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_type = nn.BatchNorm1d

    def __init__(self, T: int, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, step_mode: str = "s"):
        super().__init__()
        name = type(self).__name__
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{name}: `T` must be a positive int, got {T!r}.")
        bns = []
        for _ in range(T):
            bn = self.bn_type(num_features, eps, momentum, affine, track_running_stats)
            if affine:
                bn.register_parameter("bias", None)
            bns.append(bn)
        self.bn_list = nn.ModuleList(bns)
        self.step_mode = step_mode
        self.register_memory("t", -1)

    @property
    def T(self) -> int:
        return len(self.bn_list)

    def rest_memories(self, x: Tensor) -> Dict[str, Tensor]:
        return {"t": torch.tensor(-1, device=x.device)}

    def _last_step(self) -> int:
        t = self.t
        if not isinstance(t, torch.Tensor):
            return int(t)
        if torch._C._are_functorch_transforms_active():
            raise ValueError(f"{type(self).__name__}: the step index selects a BatchNorm layer and cannot be read "
                             f"under torch.func transforms; run BNTT outside them.")
        return int(t)

    def _store(self, last: int, like: Tensor) -> None:
        self.t = torch.tensor(last, device=like.device)

    def _check_steps(self, first: int, count: int) -> None:
        if first + count > self.T:
            raise ValueError(f"{type(self).__name__}: step {first + count} of a sequence but the layer was built "
                             f"with T={self.T}; call fnsnn_nn.functional.reset_net(net) before the next sequence.")

    def single_step_forward(self, x: Tensor) -> Tensor:
        first = self._last_step() + 1
        self._check_steps(first, 1)
        y = self.bn_list[first](x)
        self._store(first, x)
        return y

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[0] == 0:
            got = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
            raise ValueError(f"{type(self).__name__}: step_mode='m' needs a [T, N, C, *] tensor with T > 0, got {got}.")
        first = self._last_step() + 1
        self._check_steps(first, x_seq.shape[0])
        y = torch.stack([self.bn_list[first + i](x) for i, x in enumerate(x_seq.unbind(0))])
        self._store(first + x_seq.shape[0] - 1, x_seq)
        return y


class BatchNormThroughTime1d(_BatchNormThroughTimeNd):
    """BNTT over ``BatchNorm1d`` (``[N, C]`` or ``[N, C, L]`` per step)."""

    bn_type = nn.BatchNorm1d


class BatchNormThroughTime2d(_BatchNormThroughTimeNd):
    """BNTT over ``BatchNorm2d`` (``[N, C, H, W]`` per step)."""

    bn_type = nn.BatchNorm2d


class BatchNormThroughTime3d(_BatchNormThroughTimeNd):
    """BNTT over ``BatchNorm3d`` (``[N, C, D, H, W]`` per step)."""

    bn_type = nn.BatchNorm3d
