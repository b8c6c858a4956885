"""Voting: average each group of ``voting_size`` consecutive neurons of the last dim into one class score."""

from __future__ import annotations

from numbers import Integral

import torch
import torch.nn.functional as F

from .._checks import check_tensor


def check_voting_size(fn: str, voting_size) -> int:
    if isinstance(voting_size, bool) or not isinstance(voting_size, Integral) or voting_size < 1:
        raise ValueError(f"{fn}: `voting_size` must be a positive int, got {voting_size!r}.")
    return int(voting_size)


def voting(x: torch.Tensor, voting_size: int = 10) -> torch.Tensor:
    """Average pooling with kernel and stride ``voting_size`` over the last dim.

    Args:
        x: ``[..., C * voting_size]`` (any number of leading dims).
        voting_size: neurons voting for one class.

    Returns:
        ``[..., C]``.
    """
    fn = "voting"
    check_tensor(fn, "x", x)
    v = check_voting_size(fn, voting_size)
    if x.dim() < 1 or x.shape[-1] % v != 0:
        raise ValueError(f"{fn}: the last dim of `x` must be C * voting_size with voting_size={v}, "
                         f"got shape {tuple(x.shape)}.")
    lead = x.shape[:-1]
    y = F.avg_pool1d(x.reshape(-1, 1, x.shape[-1]), v, v)
    return y.reshape(*lead, x.shape[-1] // v)
