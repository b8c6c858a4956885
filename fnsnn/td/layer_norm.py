"""TD LayerNorm: ``Y_cum[t] = layer_norm(X_cum[t])`` over the trailing ``normalized_shape``."""

from __future__ import annotations

from numbers import Integral
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from .._checks import check_greater, check_number, check_tensor
from ._base import TDState, check_step_input, check_td_seq, unary_multi_step, unary_step

Shape = Union[int, Sequence[int], torch.Size]


def normalize_shape(fn: str, normalized_shape: Shape) -> Tuple[int, ...]:
    """``normalized_shape`` as a tuple of positive ints."""
    shape = (normalized_shape,) if isinstance(normalized_shape, Integral) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{fn}: `normalized_shape` must be an int or a sequence of ints, "
                        f"got {type(normalized_shape).__name__} {normalized_shape!r}.") from None
    if not shape or any(isinstance(s, bool) or not isinstance(s, Integral) or s <= 0 for s in shape):
        raise ValueError(f"{fn}: `normalized_shape` must be a non-empty sequence of positive ints, "
                         f"got {normalized_shape!r}.")
    return tuple(int(s) for s in shape)


def _check(fn: str, x: torch.Tensor, feature_dims: int, normalized_shape, weight, bias, eps):
    shape = normalize_shape(fn, normalized_shape)
    trailing = tuple(x.shape[-len(shape):]) if len(shape) <= feature_dims else tuple(x.shape[x.dim() - feature_dims:])
    if trailing != shape:
        raise ValueError(f"{fn}: the trailing shape of the input must match `normalized_shape`={shape}, "
                         f"got {trailing} (input shape {tuple(x.shape)}).")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None:
            check_tensor(fn, name, p)
            if tuple(p.shape) != shape:
                raise ValueError(f"{fn}: `{name}` must have shape {shape}, got {tuple(p.shape)}.")
    check_number(fn, "eps", eps, allow_tensor=False)
    check_greater(fn, "eps", eps, 0.0, strict=False)
    return shape


def _ann(shape, weight, bias, eps):
    return lambda c: F.layer_norm(c, shape, weight, bias, eps)


def td_layer_norm_multi_step(x_seq: torch.Tensor, state: Optional[TDState] = None, *, normalized_shape: Shape,
                             weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None,
                             eps: float = 1e-5) -> Tuple[torch.Tensor, TDState]:
    """TD LayerNorm over ``x_seq`` ``[T, ..., *normalized_shape]`` continuing from ``state``.

    Args:
        x_seq: input sequence, ``T > 0``, at least 2 dims; trailing shape ``normalized_shape``.
        state: ``TDState`` shaped like one step, or ``None`` for zero sums.
        normalized_shape: normalised trailing shape, as :class:`torch.nn.LayerNorm`.
        weight, bias: optional affine parameters of shape ``normalized_shape``.
        eps: added to the variance.

    Returns:
        ``(y_seq, final_state)``.
    """
    fn = "td_layer_norm_multi_step"
    check_td_seq(fn, "x_seq", x_seq)
    shape = _check(fn, x_seq, x_seq.dim() - 1, normalized_shape, weight, bias, eps)
    return unary_multi_step(fn, _ann(shape, weight, bias, eps), x_seq, state, x_seq.shape[1:])


def td_layer_norm(x_seq: torch.Tensor, *, normalized_shape: Shape, weight: Optional[torch.Tensor] = None,
                  bias: Optional[torch.Tensor] = None, eps: float = 1e-5) -> torch.Tensor:
    """Whole-sequence TD LayerNorm: ``y.cumsum(0)[t] == layer_norm(x_seq.cumsum(0)[t])``.

    Arguments as :func:`td_layer_norm_multi_step`; returns ``y_seq`` shaped like ``x_seq``.
    """
    fn = "td_layer_norm"
    check_td_seq(fn, "x_seq", x_seq)
    shape = _check(fn, x_seq, x_seq.dim() - 1, normalized_shape, weight, bias, eps)
    return unary_multi_step(fn, _ann(shape, weight, bias, eps), x_seq, None, x_seq.shape[1:])[0]


def td_layer_norm_step(x: torch.Tensor, state: Optional[TDState] = None, *, normalized_shape: Shape,
                       weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None,
                       eps: float = 1e-5) -> Tuple[torch.Tensor, TDState]:
    """One online step of TD LayerNorm on ``x`` ``[N, ..., *normalized_shape]``; returns ``(y, new_state)``."""
    fn = "td_layer_norm_step"
    check_step_input(fn, "x", x)
    shape = _check(fn, x, x.dim(), normalized_shape, weight, bias, eps)
    return unary_step(fn, _ann(shape, weight, bias, eps), x, state, x.shape)
