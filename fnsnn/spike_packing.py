"""Binary spikes packed eight to a byte (least-significant bit first), and Linear layers on packed rows.

``bit_spike_compress`` packs any tensor of 0/1 values into ``ceil(numel / 8)`` bytes (the tail zero-padded);
``bit_pack_spike_dense`` packs each row of a ``[M, K]`` matrix into ``ceil(K / 8)`` bytes;
``packed_spike_linear`` applies ``y = S W^T + b`` to row-packed spikes.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from ._checks import check_tensor

_BITS = (1, 2, 4, 8, 16, 32, 64, 128)


def _check_binary(fn: str, spike: torch.Tensor) -> None:
    check_tensor(fn, "spike", spike, floating=False)
    eager = not (torch._C._are_functorch_transforms_active() or torch.compiler.is_compiling())
    if eager and spike.numel() and not bool(((spike == 0) | (spike == 1)).all()):
        raise ValueError(f"{fn}: `spike` must hold only 0 and 1.")


def _pack_last(bits: torch.Tensor) -> torch.Tensor:
    """Pack the last dim of a 0/1 tensor into bytes (LSB first, zero-padded)."""
    K = bits.shape[-1]
    pad = (-K) % 8
    b = bits.to(torch.uint8)
    if pad:
        b = torch.cat((b, b.new_zeros((*b.shape[:-1], pad))), dim=-1)
    weights = torch.tensor(_BITS, dtype=torch.uint8, device=b.device)
    return (b.unflatten(-1, (-1, 8)) * weights).sum(-1, dtype=torch.uint8)


def _unpack_last(packed: torch.Tensor, K: int) -> torch.Tensor:
    weights = torch.tensor(_BITS, dtype=torch.uint8, device=packed.device)
    bits = (packed.unsqueeze(-1) & weights) != 0
    return bits.flatten(-2)[..., :K]


def bit_spike_compress(spike: torch.Tensor) -> torch.Tensor:
    """0/1 values of any shape -> ``ceil(numel / 8)`` uint8 bytes, least-significant bit first."""
    _check_binary("bit_spike_compress", spike)
    return _pack_last(spike.reshape(-1))


def bit_spike_decompress(packed: torch.Tensor, shape: Tuple[int, ...],
                         dtype: torch.dtype = torch.uint8) -> torch.Tensor:
    """The inverse of :func:`bit_spike_compress`: bytes -> 0/1 values of ``shape`` and ``dtype``."""
    fn = "bit_spike_decompress"
    check_tensor(fn, "packed", packed, floating=False)
    if packed.dtype != torch.uint8 or packed.dim() != 1:
        raise ValueError(f"{fn}: `packed` must be a 1-D uint8 tensor, got {packed.dtype} of shape "
                         f"{tuple(packed.shape)}.")
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"{fn}: `shape` must hold non-negative sizes, got {shape}.")
    n = 1
    for s in shape:
        n *= s
    if packed.numel() != (n + 7) // 8:
        raise ValueError(f"{fn}: shape {shape} holds {n} values, which pack into {(n + 7) // 8} bytes; "
                         f"got {packed.numel()}.")
    return _unpack_last(packed, n).reshape(shape).to(dtype)


def bit_pack_spike_dense(spike: torch.Tensor) -> torch.Tensor:
    """Pack each row of 0/1 ``spike`` ``[M, K]`` into ``[M, ceil(K / 8)]`` bytes."""
    fn = "bit_pack_spike_dense"
    _check_binary(fn, spike)
    if spike.dim() != 2:
        raise ValueError(f"{fn}: `spike` must be [M, K], got shape {tuple(spike.shape)}.")
    return _pack_last(spike)


def packed_spike_linear(packed: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None):
    """``S W^T + b`` for row-packed spikes ``[M, ceil(K / 8)]`` (from :func:`bit_pack_spike_dense`), ``weight``
    ``[N, K]``; gradients reach ``weight`` and ``bias``."""
    fn = "packed_spike_linear"
    check_tensor(fn, "packed", packed, floating=False)
    check_tensor(fn, "weight", weight)
    if packed.dtype != torch.uint8 or packed.dim() != 2 or weight.dim() != 2 \
            or packed.shape[1] != (weight.shape[1] + 7) // 8:
        raise ValueError(f"{fn}: `packed` must be uint8 [M, ceil(K / 8)] for `weight` [N, K]; got {packed.dtype} "
                         f"{tuple(packed.shape)} and weight {tuple(weight.shape)}.")
    spikes = _unpack_last(packed, weight.shape[1]).to(weight.dtype)
    return torch.nn.functional.linear(spikes, weight, bias)


def sparse_linear(spike: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
                  strategy: str = "torch") -> torch.Tensor:
    """``spike W^T + b`` on unpacked 0/1 spikes; both strategies (``'torch'``, ``'sparse'``) compute the same
    dense product here."""
    fn = "sparse_linear"
    check_tensor(fn, "spike", spike)
    check_tensor(fn, "weight", weight)
    if strategy not in ("torch", "sparse"):
        raise ValueError(f"{fn}: `strategy` must be 'torch' or 'sparse', got {strategy!r}.")
    return torch.nn.functional.linear(spike, weight, bias)
