"""STBIFNode: shell of :mod:`fnsnn.neurons.stbif`."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

import torch

import fnsnn
from fnsnn.neurons.stbif import STBIF, stbif_bounds

from ._base import BaseNode

Number = Union[float, torch.Tensor]


def _buffer(name: str, value) -> torch.Tensor:
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
        raise TypeError(f"STBIFNode: `{name}` must be a float or a tensor, got {type(value).__name__}.")
    return torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()


class STBIFNode(BaseNode):
    """Signed ternary bounded IF neuron of SpikeZIP; see :func:`fnsnn.stbif_step`.

    Outputs are ``-q_threshold``, 0 or ``q_threshold``; the memories are ``q``, ``acc_q`` and
    ``cur_output``; ``q_threshold``, ``pos_max`` and ``neg_min`` are buffers.

    Args:
        q_threshold: the quantiser's scale (> 0), a float or a tensor broadcastable to the input.
        level: number of quantisation levels (>= 2).
        sym: signed symmetric bounds.
        pos_max, neg_min: the bounds; ``None`` derives them from ``level`` and ``sym``.
        step_mode: ``'s'`` or ``'m'``.
    """

    family = STBIF
    step_function = staticmethod(fnsnn.stbif_step)
    multi_step_function = staticmethod(fnsnn.stbif_multi_step)

    def __init__(self, q_threshold: Number, level: int, sym: bool = False, pos_max: Optional[Number] = None,
                 neg_min: Optional[Number] = None, step_mode: str = "s"):
        default_pos, default_neg = stbif_bounds(level, sym)
        scale = _buffer("q_threshold", q_threshold)
        if not bool(torch.isfinite(scale).all()) or not bool((scale > 0).all()):
            raise ValueError(f"STBIFNode: `q_threshold` must hold finite values > 0, got {q_threshold!r}.")
        super().__init__(step_mode=step_mode)
        self.level, self.sym = level, sym
        self.register_buffer("q_threshold", scale)
        self.register_buffer("pos_max", _buffer("pos_max", default_pos if pos_max is None else pos_max))
        self.register_buffer("neg_min", _buffer("neg_min", default_neg if neg_min is None else neg_min))

    def memory_reset_values(self) -> Dict[str, Any]:
        return {f: None for f in self.family.state_type._fields}

    def core_config(self) -> Dict[str, Any]:
        return dict(q_threshold=self.q_threshold, pos_max=self.pos_max, neg_min=self.neg_min)

    def extra_repr(self) -> str:
        return f"level={self.level}, sym={self.sym}, step_mode={self.step_mode}"
