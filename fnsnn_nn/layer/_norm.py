"""Batch normalisation for SNNs: threshold-dependent (tdBN) and temporal effective (TEBN)."""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from fnsnn._checks import check_param
from fnsnn.synapses import norm as core

from ..base import MemoryModule, MultiStepModule, StepModule
from ..functional import seq_to_ann_forward
from ._common import step_input
from ._wrappers import BatchNorm1d, BatchNorm2d, BatchNorm3d, check_rank


class _ThresholdDependentBatchNormBase(_BatchNorm, MultiStepModule):
    """tdBN (Zheng et al. 2021): batch norm over ``T*N`` samples with ``weight`` initialised to ``alpha * v_th``.

    Args:
        alpha: hyper-parameter set by the network structure.
        v_th: threshold of the next spiking neuron layer.
        *args, **kwargs: as the matching ``torch.nn.BatchNorm*d`` (``affine`` must stay True).
    """

    _ranks = ((), (), "")

    def __init__(self, alpha: float, v_th: float, *args, **kwargs):
        name = type(self).__name__
        check_param(name, "alpha", alpha, allow_tensor=False)
        check_param(name, "v_th", v_th, allow_tensor=False)
        super().__init__(*args, **kwargs)
        if not self.affine:
            raise ValueError(f"{name}: tdBN needs affine=True (its weight starts at alpha * v_th).")
        self.step_mode = "m"
        self.alpha = alpha
        self.v_th = v_th
        nn.init.constant_(self.weight, alpha * v_th)

    def _check_input_dim(self, input):
        ranks, layout = self._ranks[1], self._ranks[2]
        if input.dim() + 1 not in ranks:
            raise ValueError(f"{type(self).__name__}: expected the folded input {layout}, got shape "
                             f"{tuple(input.shape)}.")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_rank(self, x_seq, self._ranks[1], self._ranks[2])
        return seq_to_ann_forward(x_seq, super().forward)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", alpha={self.alpha}, v_th={self.v_th}, step_mode={self.step_mode}"


class ThresholdDependentBatchNorm1d(_ThresholdDependentBatchNormBase):
    """tdBN for ``[T, N, C]`` or ``[T, N, C, L]``; arguments as :class:`_ThresholdDependentBatchNormBase`."""

    _ranks = ((), (3, 4), "[N, C] or [N, C, L]")

    def __init__(self, alpha: float, v_th: float, *args, **kwargs):
        super().__init__(alpha, v_th, *args, **kwargs)


class ThresholdDependentBatchNorm2d(_ThresholdDependentBatchNormBase):
    """tdBN for ``[T, N, C, H, W]``; arguments as :class:`_ThresholdDependentBatchNormBase`."""

    _ranks = ((), (5,), "[N, C, H, W]")

    def __init__(self, alpha: float, v_th: float, *args, **kwargs):
        super().__init__(alpha, v_th, *args, **kwargs)


class ThresholdDependentBatchNorm3d(_ThresholdDependentBatchNormBase):
    """tdBN for ``[T, N, C, D, H, W]``; arguments as :class:`_ThresholdDependentBatchNormBase`."""

    _ranks = ((), (6,), "[N, C, D, H, W]")

    def __init__(self, alpha: float, v_th: float, *args, **kwargs):
        super().__init__(alpha, v_th, *args, **kwargs)


class TemporalEffectiveBatchNormNd(MemoryModule):
    """TEBN (Duan et al. 2022): ``y[t] = k[t] * BN(x)[t]`` with a learnable scale ``k`` per time step.

    In ``'m'`` mode ``BN`` normalises over all ``T*N`` samples; in ``'s'`` mode over the
    current step, and the memory ``t`` counts the steps since the last reset.
    See :func:`fnsnn.synapses.temporal_scale_step`.

    Args:
        T: number of time steps.
        num_features, eps, momentum, affine, track_running_stats: as ``bn_instance``.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_instance = _BatchNorm

    def __init__(self, T: int, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 step_mode="s"):
        super().__init__()
        name = type(self).__name__
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{name}: `T` must be a positive int, got {T!r}.")
        self.bn = self.bn_instance(num_features, eps, momentum, affine, track_running_stats, step_mode)
        self.scale = nn.Parameter(torch.ones([T]))
        self.step_mode = step_mode
        self.register_memory("t", None)

    @property
    def step_mode(self) -> str:
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        StepModule.step_mode.fset(self, value)
        bn = self._modules.get("bn") if "_modules" in self.__dict__ else None
        if bn is not None:
            bn.step_mode = value

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return core.temporal_scale_init_state(self.single_step_input(x))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        state = core.TemporalScaleState(self.t) if isinstance(self.t, torch.Tensor) else None
        T = self.scale.shape[0]
        # the step counter is a tensor; read it only where that is allowed (not under torch.func or compile)
        if state is not None and not (torch._C._are_functorch_transforms_active() or torch.compiler.is_compiling()) \
                and int(state.t) >= T:
            raise ValueError(f"{type(self).__name__}: step {int(state.t) + 1} of a sequence but the layer was built "
                             f"with T={T}; call fnsnn_nn.functional.reset_net(net) before the next sequence.")
        y, state = core.temporal_scale_step(self.bn(x), state, scale=self.scale)
        self.t = state.t
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        step_input(self, x_seq, True)
        if x_seq.shape[0] != self.scale.shape[0]:
            raise ValueError(f"{type(self).__name__}: the input has T={x_seq.shape[0]} steps but the layer was "
                             f"built with T={self.scale.shape[0]} (input shape {tuple(x_seq.shape)}).")
        return core.temporal_scale_multi_step(self.bn(x_seq), scale=self.scale)

    def extra_repr(self) -> str:
        return f"T={self.scale.shape[0]}, step_mode={self.step_mode}"


class TemporalEffectiveBatchNorm1d(TemporalEffectiveBatchNormNd):
    """TEBN over :class:`BatchNorm1d` (``[N, C]`` or ``[N, C, L]`` per step)."""

    bn_instance = BatchNorm1d


class TemporalEffectiveBatchNorm2d(TemporalEffectiveBatchNormNd):
    """TEBN over :class:`BatchNorm2d` (``[N, C, H, W]`` per step)."""

    bn_instance = BatchNorm2d


class TemporalEffectiveBatchNorm3d(TemporalEffectiveBatchNormNd):
    """TEBN over :class:`BatchNorm3d` (``[N, C, D, H, W]`` per step)."""

    bn_instance = BatchNorm3d
