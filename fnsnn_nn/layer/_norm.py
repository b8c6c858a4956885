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


def _tracing() -> bool:
    """True under torch.func transforms or torch.compile, where a tensor's value cannot be read."""
    return torch._C._are_functorch_transforms_active() or torch.compiler.is_compiling()


_BN_ENTRIES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _flatten_bn_keys(module, state_dict, prefix, local_metadata) -> None:
    """state_dict post-hook of TEBN: save ``bn.weight`` ... as ``weight`` ..., SpikingJelly 2.0.0's layout."""
    inner = prefix + "bn."
    for key in [k for k in state_dict if k.startswith(inner)]:
        state_dict[prefix + key[len(inner):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        metadata.pop(prefix + "bn", None)


def _nest_bn_keys(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                  error_msgs) -> None:
    """load_state_dict pre-hook of TEBN: accept 2.0.0's flat keys (and fnsnn's older ``bn.*`` keys)."""
    for name in _BN_ENTRIES:
        flat, nested = prefix + name, prefix + "bn." + name
        if flat not in state_dict:
            continue
        if nested in state_dict:
            error_msgs.append(f"{type(module).__name__}: the checkpoint holds both {flat!r} and {nested!r}; "
                              f"keep one of them.")
            continue
        state_dict[nested] = state_dict.pop(flat)


def _bn_property(name: str) -> property:
    def get(self):
        return getattr(self.bn, name)

    get.__doc__ = f"``bn.{name}`` (SpikingJelly 2.0.0's TEBN is the BatchNorm itself)."
    return property(get)


class TemporalEffectiveBatchNormNd(MemoryModule):
    """TEBN (Duan et al. 2022): ``y[t] = k[t] * BN(x)[t]`` with a learnable scale ``k`` per time step.

    In ``'m'`` mode ``BN`` normalises over all ``T*N`` samples; in ``'s'`` mode over the
    current step, and the memory ``t`` counts the steps since the last reset.
    See :func:`fnsnn.synapses.temporal_scale_step`.

    SpikingJelly 2.0.0 builds TEBN as ``TemporalEffectiveBatchNorm2d(T, C)`` without a
    step mode and feeds whole ``[T, N, C, ...]`` sequences. So that such code runs
    unchanged, a ``'s'``-mode layer given an input that can only be a sequence
    (one dim more than a step) runs it as ``'m'`` would, without touching ``t``.
    For the 1d layer a 3-dim input is a sequence ``[T, N, C]`` when only its dim 2 is
    ``C`` and a step ``[N, C, L]`` when its dim 1 is ``C``; the shape ``(T, C, C)`` fits
    both and raises at the start of a sequence (set ``step_mode='m'`` for sequences).
    ``state_dict`` uses 2.0.0's keys (``weight``, ``bias``, ``running_mean``,
    ``running_var``, ``num_batches_tracked``, ``scale``); checkpoints with the older
    ``bn.*`` keys load too.

    Args:
        T: number of time steps.
        num_features, eps, momentum, affine, track_running_stats: as ``bn_instance``.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_instance = _BatchNorm
    _version = 2  # the BatchNorm state_dict version, as in 2.0.0's TEBN

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
        self.register_state_dict_post_hook(_flatten_bn_keys)
        self.register_load_state_dict_pre_hook(_nest_bn_keys)

    weight = _bn_property("weight")
    bias = _bn_property("bias")
    running_mean = _bn_property("running_mean")
    running_var = _bn_property("running_var")
    num_batches_tracked = _bn_property("num_batches_tracked")
    num_features = _bn_property("num_features")
    eps = _bn_property("eps")
    momentum = _bn_property("momentum")
    affine = _bn_property("affine")
    track_running_stats = _bn_property("track_running_stats")

    @property
    def step_mode(self) -> str:
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        StepModule.step_mode.fset(self, value)
        bn = self._modules.get("bn") if "_modules" in self.__dict__ else None
        if bn is not None:
            bn.step_mode = value

    def _check_channels(self, x: torch.Tensor, axis: int, layout: str) -> None:
        C = self.bn.num_features
        if x.dim() > axis and x.shape[axis] != C:
            raise ValueError(f"{type(self).__name__}: expected {layout} with C={C} (step_mode="
                             f"{self.step_mode!r}), got shape {tuple(x.shape)}.")

    def _mid_sequence(self) -> bool:
        """Single steps were taken since the last reset (as far as can be read here)."""
        return isinstance(self.t, torch.Tensor) and not _tracing() and int(self.t) != 0

    def _is_sequence(self, x) -> bool:
        """In 's' mode: is ``x`` a whole ``[T, N, C, ...]`` sequence (2.0.0's way of calling TEBN)?"""
        single, multi = getattr(self.bn, "_ranks", ((), ()))[:2]
        if not isinstance(x, torch.Tensor) or x.dim() not in multi:
            return False
        if x.dim() not in single:
            return True
        # 1d, 3 dims: [T, N, C] or one step [N, C, L]
        C, T = self.bn.num_features, self.scale.shape[0]
        if x.shape[1] != C:
            return x.shape[2] == C
        if tuple(x.shape) == (T, C, C) and not self._mid_sequence():
            raise ValueError(f"{type(self).__name__}: an input of shape {tuple(x.shape)} reads both as a sequence "
                             f"[T, N, C] with N = C and as one step [N, C, L] with N = T and L = C. Set "
                             f"step_mode='m' for whole sequences (as SpikingJelly 2.0.0 runs TEBN), or call "
                             f"single_step_forward(x) for one step.")
        return False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s" and self._is_sequence(x):
            if self._mid_sequence():
                raise ValueError(f"{type(self).__name__}: got a whole sequence of shape {tuple(x.shape)} after "
                                 f"single steps; call fnsnn_nn.functional.reset_net(net) first.")
            self._check_sequence(x)
            return core.temporal_scale_multi_step(seq_to_ann_forward(x, self.bn), scale=self.scale)
        return super().forward(x)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return core.temporal_scale_init_state(self.single_step_input(x))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        self._check_channels(x, 1, "one time step [N, C, ...]")
        state = core.TemporalScaleState(self.t) if isinstance(self.t, torch.Tensor) else None
        T = self.scale.shape[0]
        # the step counter is a tensor; read it only where that is allowed (not under torch.func or compile)
        if state is not None and not _tracing() and int(state.t) >= T:
            raise ValueError(f"{type(self).__name__}: step {int(state.t) + 1} of a sequence but the layer was built "
                             f"with T={T}; call fnsnn_nn.functional.reset_net(net) before the next sequence.")
        y, state = core.temporal_scale_step(self.bn(x), state, scale=self.scale)
        self.t = state.t
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        step_input(self, x_seq, True)
        self._check_sequence(x_seq)
        return core.temporal_scale_multi_step(self.bn(x_seq), scale=self.scale)

    def _check_sequence(self, x_seq: torch.Tensor) -> None:
        """Before the BatchNorm runs (and moves its statistics): ``T`` steps of ``C`` channels."""
        if x_seq.shape[0] != self.scale.shape[0]:
            raise ValueError(f"{type(self).__name__}: the input has T={x_seq.shape[0]} steps but the layer was "
                             f"built with T={self.scale.shape[0]} (input shape {tuple(x_seq.shape)}).")
        self._check_channels(x_seq, 2, "a sequence [T, N, C, ...]")

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
