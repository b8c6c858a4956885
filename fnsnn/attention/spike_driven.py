"""Spike-driven self-attention (Spike-driven Transformer v1, Yao et al. 2023) on ``[T, N, C, H, W]``.

``Q, K, V = LIF(BN(Conv1x1(LIF(X))))``;  ``A = LIF_0.5(sum_{h,w} K * V)`` (one value per channel);
``Y = BN(Conv1x1(Q * A)) + X``. Every product is of spikes, so the block needs no softmax and no
matrix product; heads only group channels and leave the arithmetic unchanged.
"""

from __future__ import annotations

import torch

from .._checks import check_seq


def check_feature_maps(fn: str, x_seq, dim: int) -> torch.Tensor:
    """A ``[T, N, dim, H, W]`` sequence."""
    check_seq(fn, "x_seq", x_seq)
    if x_seq.dim() != 5 or x_seq.shape[2] != dim:
        raise ValueError(f"{fn}: `x_seq` must have shape [T, N, C={dim}, H, W], got {tuple(x_seq.shape)}.")
    return x_seq


def spike_driven_kv(k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``sum_{h,w} K * V`` over the token grid of ``[T, N, C, H, W]`` spikes, kept as ``[T, N, C, 1, 1]``."""
    return (k * v).sum(dim=(-2, -1), keepdim=True)
