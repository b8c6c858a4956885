"""Spike counts as binary event slots and back: the two ends of a count-coded time expansion.

``spike_count_to_binary`` turns each integer count ``c`` in ``[0, S]`` of a
``[T, N, *]`` sequence into ``S`` consecutive slots ``[1]*c + [0]*(S - c)``
(``[T*S, N, *]``), with the straight-through derivative ``1 / S`` per slot;
``temporal_bin_sum`` sums every ``S`` consecutive steps (the last bin padded
with zeros). A bias-free linear map applied to every slot and then binned
equals the map applied to the counts, in values and in gradients.
"""

from __future__ import annotations

import torch

from .._checks import check_seq


def _check_slots(fn: str, num_slots) -> int:
    if isinstance(num_slots, bool) or not isinstance(num_slots, int) or num_slots < 1:
        raise ValueError(f"{fn}: `num_slots` must be an int >= 1, got {num_slots!r}.")
    return num_slots


def spike_count_to_binary(x_seq: torch.Tensor, num_slots: int) -> torch.Tensor:
    """``[T, N, *]`` counts -> ``[T * num_slots, N, *]`` binary slots (first ``count`` slots of each bin are 1).

    The backward gives each count the mean of its slots' gradients.
    """
    fn = "spike_count_to_binary"
    S = _check_slots(fn, num_slots)
    check_seq(fn, "x_seq", x_seq, min_dim=2)
    slots = torch.arange(S, device=x_seq.device, dtype=x_seq.dtype).view(1, S, *([1] * (x_seq.dim() - 1)))
    x = x_seq.unsqueeze(1)  # [T, 1, N, *]
    hard = (x > slots).to(x_seq.dtype)
    soft = (x / S).expand_as(hard)
    y = hard.detach() + (soft - soft.detach())
    return y.flatten(0, 1)


def temporal_bin_sum(x_seq: torch.Tensor, num_slots: int) -> torch.Tensor:
    """Sum every ``num_slots`` consecutive steps of ``[T, N, *]``: ``[ceil(T / num_slots), N, *]``."""
    fn = "temporal_bin_sum"
    S = _check_slots(fn, num_slots)
    check_seq(fn, "x_seq", x_seq, min_dim=2)
    T = x_seq.shape[0]
    bins = -(-T // S)
    pad = bins * S - T
    if pad:
        x_seq = torch.cat((x_seq, x_seq.new_zeros((pad, *x_seq.shape[1:]))))
    return x_seq.unflatten(0, (bins, S)).sum(1)
