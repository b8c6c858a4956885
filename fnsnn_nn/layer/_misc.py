"""VotingLayer and PrintShapeModule."""

from __future__ import annotations

import torch
import torch.nn as nn

from fnsnn.synapses.voting import check_voting_size, voting

from ..base import StepModule
from ._wrappers import at_least, check_rank


class VotingLayer(nn.Module, StepModule):
    """Average each group of ``voting_size`` neurons of the last dim; see :func:`fnsnn.synapses.voting`.

    Args:
        voting_size: neurons voting for one class; input ``[N, *, C * voting_size]`` gives ``[N, *, C]``.
        step_mode: ``'s'`` or ``'m'`` (input ``[T, N, *, C * voting_size]``).
    """

    def __init__(self, voting_size: int = 10, step_mode="s"):
        super().__init__()
        self.voting_size = check_voting_size("VotingLayer", voting_size)
        self.step_mode = step_mode

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        return voting(x, self.voting_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_rank(self, x, at_least(2) if self.step_mode == "s" else at_least(3), "[N, *, C * voting_size]")
        # Pooling acts on the last dim only, so a sequence needs no folding.
        return voting(x, self.voting_size)

    def extra_repr(self) -> str:
        return f"voting_size={self.voting_size}, step_mode={self.step_mode}"


class PrintShapeModule(nn.Module):
    """Identity that prints ``ext_str`` and the input's shape (for debugging).

    Args:
        ext_str: text printed before the shape.
    """

    def __init__(self, ext_str="PrintShapeModule"):
        super().__init__()
        self.ext_str = ext_str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print(self.ext_str, x.shape if isinstance(x, torch.Tensor) else type(x).__name__)
        return x

    def extra_repr(self) -> str:
        return f"ext_str={self.ext_str!r}"
