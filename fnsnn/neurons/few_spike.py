"""Few-Spike (FS) neurons (Stöckl & Maass 2021) and the LAS gated variants, as pure functions.

An FS neuron turns a potential ``V`` into ``K`` weighted spikes with a coding table ``(theta, h, d)``:
for ``k = 1..K``: ``S_k = Θ(V - theta_k)`` (surrogate gradient), ``V = V - h_k S_k``, output ``d_k S_k``;
the sum over ``k`` approximates an activation function of the initial ``V``. The hierarchical gate
picks one table per region of ``V`` (regions split at ascending ``gate_thresholds``, right-closed); the
outlier-aware form clamps ``V`` to ``[-c, c]``, codes ``|V|`` with ``table`` up to ``split_threshold`` and
with ``outlier_table`` above, and restores the sign.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

from .._checks import check_tensor
from ._base import default_surrogate

TensorLike1D = Union[torch.Tensor, Sequence[float]]


def _vector(cls: str, name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{cls}: `{name}` must be real, got dtype {value.dtype}.")
        t = value.detach().to(torch.get_default_dtype()).clone()
    else:
        if any(isinstance(v, complex) for v in value):
            raise TypeError(f"{cls}: `{name}` must be real, got {value!r}.")
        t = torch.tensor([float(v) for v in value])
    if t.dim() != 1 or t.numel() == 0 or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{cls}: `{name}` must be a non-empty 1-D sequence of finite values, got {value!r}.")
    return t


class FewSpikeTable:
    """A coding table: thresholds ``theta``, subtractions ``h`` and output weights ``d``, each ``[K]``."""

    def __init__(self, theta: TensorLike1D, h: TensorLike1D, d: TensorLike1D):
        self.theta = _vector("FewSpikeTable", "theta", theta)
        self.h = _vector("FewSpikeTable", "h", h)
        self.d = _vector("FewSpikeTable", "d", d)
        if not self.theta.shape == self.h.shape == self.d.shape:
            raise ValueError(f"FewSpikeTable: `theta`, `h` and `d` must have the same length, got "
                             f"{self.theta.numel()}, {self.h.numel()} and {self.d.numel()}.")

    @property
    def K(self) -> int:
        return int(self.theta.numel())

    def __repr__(self) -> str:
        return f"FewSpikeTable(K={self.K})"


def _check_table(fn: str, theta, h, d) -> None:
    for name, t in (("theta", theta), ("h", h), ("d", d)):
        check_tensor(fn, name, t)
    if theta.shape != h.shape or theta.shape != d.shape or theta.dim() < 1:
        raise ValueError(f"{fn}: `theta`, `h` and `d` must share a shape [..., K], got {tuple(theta.shape)}, "
                         f"{tuple(h.shape)} and {tuple(d.shape)}.")


def _run(v, theta, h, d, sf):
    out = []
    for k in range(theta.shape[-1]):
        s = sf(v - theta[..., k])
        v = v - h[..., k] * s
        out.append(d[..., k] * s)
    return torch.stack(out)


def few_spike_multi_step(v: torch.Tensor, theta: torch.Tensor, h: torch.Tensor, d: torch.Tensor,
                         surrogate_function: Optional[Callable] = None) -> torch.Tensor:
    """The ``K`` weighted spikes ``[K, *v.shape]`` of the FS neuron started at potential ``v``.

    Args:
        v: the potential (the aggregated input), any shape.
        theta, h, d: the table, each ``[K]`` (or broadcastable ``[..., K]``).
        surrogate_function: spike function (default Sigmoid).
    """
    fn = "few_spike_multi_step"
    check_tensor(fn, "v", v)
    _check_table(fn, theta, h, d)
    return _run(v, theta, h, d, default_surrogate() if surrogate_function is None else surrogate_function)


def hierarchical_gate_few_spike(v: torch.Tensor, theta: torch.Tensor, h: torch.Tensor, d: torch.Tensor,
                                gate_thresholds: torch.Tensor,
                                surrogate_function: Optional[Callable] = None) -> torch.Tensor:
    """FS spikes ``[K, *v.shape]`` with the table of ``v``'s region: tables ``[R, K]``, ``R - 1`` ascending
    ``gate_thresholds``; region 0 is ``v <= g_0``, region ``i`` is ``g_{i-1} < v <= g_i``."""
    fn = "hierarchical_gate_few_spike"
    check_tensor(fn, "v", v)
    _check_table(fn, theta, h, d)
    check_tensor(fn, "gate_thresholds", gate_thresholds)
    if theta.dim() != 2 or gate_thresholds.shape != (theta.shape[0] - 1,):
        raise ValueError(f"{fn}: tables must be [R, K] with R - 1 gate thresholds, got tables "
                         f"{tuple(theta.shape)} and thresholds {tuple(gate_thresholds.shape)}.")
    sf = default_surrogate() if surrogate_function is None else surrogate_function
    region = torch.bucketize(v.detach(), gate_thresholds.to(v.dtype))
    out = 0
    for r in range(theta.shape[0]):
        out = out + (region == r).to(v.dtype) * _run(v, theta[r], h[r], d[r], sf)
    return out


def outlier_aware_few_spike(v: torch.Tensor, theta: torch.Tensor, h: torch.Tensor, d: torch.Tensor,
                            outlier_theta: torch.Tensor, outlier_h: torch.Tensor, outlier_d: torch.Tensor,
                            split_threshold: float, clamp_value: Optional[float] = None,
                            surrogate_function: Optional[Callable] = None) -> torch.Tensor:
    """Sign-restored FS spikes ``[K, *v.shape]`` of ``|clamp(v)|``: ``(theta, h, d)`` up to
    ``split_threshold``, the outlier table above it."""
    fn = "outlier_aware_few_spike"
    check_tensor(fn, "v", v)
    _check_table(fn, theta, h, d)
    _check_table(fn, outlier_theta, outlier_h, outlier_d)
    if theta.shape != outlier_theta.shape:
        raise ValueError(f"{fn}: both tables need the same K, got {theta.shape[-1]} and {outlier_theta.shape[-1]}.")
    sf = default_surrogate() if surrogate_function is None else surrogate_function
    if clamp_value is not None:
        v = torch.clamp(v, -clamp_value, clamp_value)
    sign, mag = torch.sign(v), v.abs()
    normal = _run(mag, theta, h, d, sf)
    outlier = _run(mag, outlier_theta, outlier_h, outlier_d, sf)
    return sign * torch.where(mag <= split_threshold, normal, outlier)
