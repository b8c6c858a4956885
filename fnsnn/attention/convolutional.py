"""Attention for convolutional SNNs: temporal-wise attention (TA-SNN) and multi-dimensional attention (MA-SNN).

Both are stateless functions of a whole sequence and return only ``y_seq``.

TWA:  ``s = sigmoid(MLP(avg_T(X)) + MLP(max_T(X)))`` with ``avg_T``/``max_T`` pooling
      everything but ``N`` and ``T``, ``MLP(z) = W2 relu(W1 z)``;  ``Y[t] = s[t] X[t]``.
MDA:  temporal, channel and spatial attention applied in turn, ``X <- a(X) * X``, then ``relu``:
      temporal/channel scores as TWA over the ``T`` / ``C`` axis; spatial score
      ``sigmoid(conv2d([mean_{T,C} X, max_{T,C} X]))`` per pixel.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

from .._checks import check_seq, check_tensor


def _mlp_weights(fn: str, name: str, weights, width: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Two bias-free layers ``width -> hidden -> width``; accepts Linear or 1x1x1 Conv3d weights."""
    if not isinstance(weights, (tuple, list)) or len(weights) != 2:
        raise TypeError(f"{fn}: `{name}` must be a pair (w1, w2), got {type(weights).__name__}.")
    w1, w2 = (check_tensor(fn, f"{name}[{i}]", w) for i, w in enumerate(weights))
    w1 = w1.reshape(w1.shape[0], -1) if w1.dim() >= 2 else w1
    w2 = w2.reshape(w2.shape[0], -1) if w2.dim() >= 2 else w2
    if w1.dim() != 2 or w2.dim() != 2 or w1.shape[1] != width or tuple(w2.shape) != (width, w1.shape[0]):
        raise ValueError(f"{fn}: `{name}` must be weights [hidden, {width}] and [{width}, hidden] (1x1 kernels "
                         f"allowed) to match the input's size {width} along that axis, got "
                         f"{tuple(weights[0].shape)} and {tuple(weights[1].shape)}; was the layer built for "
                         f"another T or C?")
    return w1, w2


def _axis_score(pooled_avg: torch.Tensor, pooled_max: torch.Tensor, w1, w2) -> torch.Tensor:
    mlp = lambda z: F.linear(torch.relu(F.linear(z, w1)), w2)  # noqa: E731
    return torch.sigmoid(mlp(pooled_avg) + mlp(pooled_max))


def temporal_wise_attention(x_seq: torch.Tensor, *, squeeze_weight: torch.Tensor, excite_weight: torch.Tensor,
                            dimension: int = 4) -> torch.Tensor:
    """Temporal-wise attention (TA-SNN) of ``x_seq`` ``[T, N, C, H, W]`` (``dimension=4``) or ``[T, N, L]`` (2).

    Args:
        x_seq: input sequence.
        squeeze_weight: ``[T // reduction, T]``; excite_weight: ``[T, T // reduction]``.
        dimension: 4 for ``[T, N, C, H, W]`` inputs, 2 for ``[T, N, L]``.

    Returns:
        ``y_seq`` shaped like ``x_seq``.
    """
    fn = "temporal_wise_attention"
    if dimension not in (2, 4):
        raise ValueError(f"{fn}: `dimension` must be 4 ([T, N, C, H, W]) or 2 ([T, N, L]), got {dimension!r}.")
    check_seq(fn, "x_seq", x_seq)
    want = dimension + 1
    if x_seq.dim() != want:
        layout = "[T, N, C, H, W]" if dimension == 4 else "[T, N, L]"
        raise ValueError(f"{fn}: with dimension={dimension} `x_seq` must have shape {layout}, "
                         f"got {tuple(x_seq.shape)}.")
    w1, w2 = _mlp_weights(fn, "(squeeze_weight, excite_weight)", (squeeze_weight, excite_weight), x_seq.shape[0])
    x = x_seq.movedim(0, 1).flatten(2)  # [N, T, features]
    score = _axis_score(x.mean(-1), x.amax(-1), w1, w2)  # [N, T]
    return x_seq * score.t().reshape(*score.t().shape, *((1,) * (x_seq.dim() - 2)))


def multi_dimensional_attention(x_seq: torch.Tensor, *, temporal_weights: Sequence[torch.Tensor],
                                channel_weights: Sequence[torch.Tensor], spatial_weight: torch.Tensor) -> torch.Tensor:
    """Multi-dimensional attention (MA-SNN) of ``x_seq`` ``[T, N, C, H, W]``.

    Args:
        x_seq: input sequence ``[T, N, C, H, W]``.
        temporal_weights: ``([T // r_t, T], [T, T // r_t])`` (1x1x1 Conv3d weights allowed).
        channel_weights: ``([C // r_c, C], [C, C // r_c])`` (1x1x1 Conv3d weights allowed).
        spatial_weight: Conv2d weight ``[1, 2, k, k]`` with ``k`` 3 or 7 (padding ``k // 2``).

    Returns:
        ``relu`` of the attended sequence, shaped like ``x_seq``.
    """
    fn = "multi_dimensional_attention"
    check_seq(fn, "x_seq", x_seq)
    if x_seq.dim() != 5:
        raise ValueError(f"{fn}: `x_seq` must have shape [T, N, C, H, W], got {tuple(x_seq.shape)}.")
    T, N, C, H, W = x_seq.shape
    tw1, tw2 = _mlp_weights(fn, "temporal_weights", temporal_weights, T)
    cw1, cw2 = _mlp_weights(fn, "channel_weights", channel_weights, C)
    check_tensor(fn, "spatial_weight", spatial_weight)
    k = spatial_weight.shape[-1]
    if tuple(spatial_weight.shape) != (1, 2, k, k) or k not in (3, 7):
        raise ValueError(f"{fn}: `spatial_weight` must be [1, 2, k, k] with k 3 or 7, got "
                         f"{tuple(spatial_weight.shape)}.")
    out = x_seq.movedim(0, 1)  # [N, T, C, H, W]
    flat = out.flatten(2)
    out = _axis_score(flat.mean(-1), flat.amax(-1), tw1, tw2)[:, :, None, None, None] * out
    flat = out.transpose(1, 2).flatten(2)  # [N, C, T*H*W]
    out = _axis_score(flat.mean(-1), flat.amax(-1), cw1, cw2)[:, None, :, None, None] * out
    planes = out.flatten(1, 2)  # [N, T*C, H, W]
    pooled = torch.cat((planes.mean(1, keepdim=True), planes.amax(1, keepdim=True)), dim=1)
    score = torch.sigmoid(F.conv2d(pooled, spatial_weight, padding=k // 2))  # [N, 1, H, W]
    out = score.unsqueeze(1) * out
    return torch.relu(out).movedim(1, 0)
