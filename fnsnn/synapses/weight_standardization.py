"""Scaled weight standardisation (Qiao et al. 2019; Brock et al. 2021).

``W_hat = gain * (W - mean(W)) / sqrt(var(W) * fan_in + eps)``, statistics over
every dim but the first (output units), ``var`` unbiased, ``fan_in = prod(W.shape[1:])``.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch

from .._checks import check_greater, check_number, check_tensor


def weight_standardization(weight: torch.Tensor, gain: Optional[torch.Tensor] = None,
                           eps: Union[float, torch.Tensor] = 1e-4) -> torch.Tensor:
    """Standardise ``weight`` ``[out, *]`` per output unit and scale it by ``gain``.

    Args:
        weight: ``[out_features, ...]`` with at least 2 dims.
        gain: optional learnable scale broadcastable to ``weight`` (e.g. ``[out, 1, 1, 1]``).
        eps: small constant against division by zero, ``> 0``.

    Returns:
        The standardised weight, same shape as ``weight``.
    """
    fn = "weight_standardization"
    check_tensor(fn, "weight", weight)
    if weight.dim() < 2:
        raise ValueError(f"{fn}: `weight` must have at least 2 dims [out, *], got shape {tuple(weight.shape)}.")
    if gain is not None:
        check_tensor(fn, "gain", gain)
    check_number(fn, "eps", eps)
    check_greater(fn, "eps", eps, 0.0)
    dims = list(range(1, weight.dim()))
    fan_in = math.prod(weight.shape[1:])
    mean = weight.mean(dim=dims, keepdim=True)
    var = weight.var(dim=dims, keepdim=True)
    w = (weight - mean) / ((var * fan_in + eps) ** 0.5)
    return w if gain is None else w * gain
