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

from ..base import StepModule
from ..functional import seq_to_ann_forward

_size_1 = Union[int, Tuple[int]]
_size_2 = Union[int, Tuple[int, int]]
_size_3 = Union[int, Tuple[int, int, int]]

_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}
_MAX_RANK = 64


def at_least(k: int) -> Tuple[int, ...]:
    return tuple(range(k, _MAX_RANK + 1))


def _spatial(d: int, s: Tuple[int, ...], m: Tuple[int, ...]):
    """Rank table of a layer over ``d`` spatial dims: ``({ranks in 's'}, {ranks in 'm'}, shape text)``."""
    return s, m, f"[N, C, {_AXES[d]}]"


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
        hint = (f"step_mode='m' expects a sequence [T, {layout[1:]} ({want} dims)"
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


class Linear(_StepRepr, nn.Linear, StepModule):
    """``torch.nn.Linear`` with a step mode; input ``[N, *, in_features]`` or ``[T, N, *, in_features]``."""

    _ranks = (at_least(1), at_least(3), "[N, *, in_features]")

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode="s") -> None:
        nn.Linear.__init__(self, in_features, out_features, bias)
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        return step_forward(self, x, super().forward)


class Flatten(_StepRepr, nn.Flatten, StepModule):
    """``torch.nn.Flatten`` with a step mode; in ``'m'`` mode the dims count from ``[N, ...]``."""

    _ranks = (at_least(1), at_least(2), "[N, *]")

    def __init__(self, start_dim: int = 1, end_dim: int = -1, step_mode="s") -> None:
        nn.Flatten.__init__(self, start_dim, end_dim)
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        return step_forward(self, x, super().forward)
