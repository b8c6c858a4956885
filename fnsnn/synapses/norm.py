"""Temporal effective scaling (TEBN, Duan et al. 2022): ``y[t] = k[t] * z[t]`` for normalised ``z``.

The single-step form carries the time index ``t`` (an int64 scalar tensor) as state.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from .._checks import check_seq, check_tensor


class TemporalScaleState(NamedTuple):
    t: torch.Tensor


def _check_scale(fn: str, scale) -> None:
    check_tensor(fn, "scale", scale)
    if scale.dim() != 1:
        raise ValueError(f"{fn}: `scale` must be [T], got shape {tuple(scale.shape)}.")


def temporal_scale_init_state(like: torch.Tensor) -> TemporalScaleState:
    """Start at time step 0 (on ``like``'s device)."""
    check_tensor("temporal_scale_init_state", "like", like, floating=False)
    return TemporalScaleState(torch.zeros((), dtype=torch.long, device=like.device))


def temporal_scale_step(z: torch.Tensor, state: Optional[TemporalScaleState] = None, *, scale: torch.Tensor):
    """Scale one step's ``z`` by ``scale[t]`` and advance ``t``.

    Args:
        z: normalised input of one time step.
        state: ``TemporalScaleState(t)``; ``None`` is ``t = 0``. ``t`` must stay below ``len(scale)``.
        scale: the per-step scales ``k``, ``[T]``.

    Returns:
        ``(scale[t] * z, TemporalScaleState(t + 1))``.
    """
    fn = "temporal_scale_step"
    check_tensor(fn, "z", z)
    _check_scale(fn, scale)
    if state is None:
        state = TemporalScaleState(torch.zeros((), dtype=torch.long, device=z.device))
    elif not isinstance(state, TemporalScaleState) or not isinstance(state.t, torch.Tensor) \
            or state.t.dim() != 0 or state.t.dtype != torch.long:
        raise TypeError(f"{fn}: `state` must be a TemporalScaleState holding an int64 scalar tensor t, "
                        f"got {state!r}.")
    return z * scale[state.t], TemporalScaleState(state.t + 1)


def temporal_scale_multi_step(z_seq: torch.Tensor, *, scale: torch.Tensor) -> torch.Tensor:
    """Scale ``z_seq`` ``[T, N, *]`` by ``scale`` ``[T]`` along time at once."""
    fn = "temporal_scale_multi_step"
    check_seq(fn, "z_seq", z_seq)
    _check_scale(fn, scale)
    if scale.shape[0] != z_seq.shape[0]:
        raise ValueError(f"{fn}: `z_seq` has T={z_seq.shape[0]} steps but `scale` has {scale.shape[0]}; "
                         f"build the layer with T={z_seq.shape[0]}.")
    return z_seq * scale.view(-1, *([1] * (z_seq.dim() - 1)))
