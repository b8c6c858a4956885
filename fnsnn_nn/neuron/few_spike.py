"""Few-Spike neurons with SpikingJelly's names: FewSpikeNode, HGNode, OutlierAwareThresholdNode.

Shells of :mod:`fnsnn.neurons.few_spike`. They hold their tables as buffers and no state: in
``'s'`` mode the input is the potential and the output the sum of the ``K`` weighted spikes; in
``'m'`` mode the input ``[K, ...]`` is summed over its first dim into the potential and the output is
the ``[K, ...]`` weighted spike sequence.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn

from fnsnn.neurons import few_spike as core
from fnsnn.neurons.few_spike import FewSpikeTable

from ..base import StepModule
from ._base import default_surrogate

__all__ = ["FewSpikeTable", "FewSpikeNode", "HGNode", "OutlierAwareThresholdNode"]


def _table(cls: str, name: str, table) -> FewSpikeTable:
    if not isinstance(table, FewSpikeTable):
        raise TypeError(f"{cls}: `{name}` must be a FewSpikeTable, got {type(table).__name__}.")
    return table


class _FewSpikeBase(nn.Module, StepModule):
    def __init__(self, K: int, surrogate_function: Optional[Callable], step_mode: str):
        super().__init__()
        self._K = K
        self.surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        self.step_mode = step_mode

    @property
    def K(self) -> int:
        return self._K

    def _spikes(self, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define _spikes(v), the spikes of a membrane "
                                  f"potential sequence.")

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"{type(self).__name__}: input must be a floating-point tensor, got {got}.")

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self._spikes(x).sum(0)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        if x_seq.dim() < 1 or x_seq.shape[0] != self.K:
            raise ValueError(f"{type(self).__name__}: step_mode='m' needs x_seq of shape [K={self.K}, ...], "
                             f"got {tuple(x_seq.shape)}.")
        return self._spikes(x_seq.sum(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.single_step_forward(x) if self.step_mode == "s" else self.multi_step_forward(x)

    def extra_repr(self) -> str:
        return f"K={self.K}, step_mode={self.step_mode}"


class FewSpikeNode(_FewSpikeBase):
    """Few-Spike neuron with one coding table; see :func:`fnsnn.neurons.few_spike.few_spike_multi_step`.

    Args:
        table: the :class:`FewSpikeTable` (its ``theta``, ``h``, ``d`` become buffers).
        surrogate_function: spike function (default Sigmoid).
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(self, table: FewSpikeTable, surrogate_function: Optional[Callable] = None, step_mode: str = "s"):
        _table(type(self).__name__, "table", table)
        super().__init__(table.K, surrogate_function, step_mode)
        self.register_buffer("theta", table.theta.clone())
        self.register_buffer("h", table.h.clone())
        self.register_buffer("d", table.d.clone())

    def _spikes(self, v):
        return core.few_spike_multi_step(v, self.theta, self.h, self.d, self.surrogate_function)


class HGNode(_FewSpikeBase):
    """Hierarchically gated Few-Spike neuron: one table per region of the input; see
    :func:`fnsnn.neurons.few_spike.hierarchical_gate_few_spike`.

    Args:
        tables: ``R >= 1`` tables with the same ``K``.
        gate_thresholds: ``R - 1`` ascending region boundaries.
        surrogate_function, step_mode: as :class:`FewSpikeNode`.
    """

    def __init__(self, tables: Sequence[FewSpikeTable], gate_thresholds: Union[torch.Tensor, Sequence[float]],
                 surrogate_function: Optional[Callable] = None, step_mode: str = "s"):
        cls = type(self).__name__
        tables = list(tables)
        if not tables:
            raise ValueError(f"{cls}: `tables` needs at least one FewSpikeTable.")
        for i, t in enumerate(tables):
            _table(cls, f"tables[{i}]", t)
        if len({t.K for t in tables}) != 1:
            raise ValueError(f"{cls}: every table needs the same K, got {[t.K for t in tables]}.")
        g = torch.as_tensor(gate_thresholds, dtype=torch.get_default_dtype()).detach().clone().reshape(-1)
        if g.numel() != len(tables) - 1:
            raise ValueError(f"{cls}: {len(tables)} tables need {len(tables) - 1} gate thresholds, got {g.numel()}.")
        if g.numel() > 1 and not bool((g[1:] > g[:-1]).all()):
            raise ValueError(f"{cls}: `gate_thresholds` must be strictly ascending, got {g.tolist()}.")
        super().__init__(tables[0].K, surrogate_function, step_mode)
        self.register_buffer("region_theta", torch.stack([t.theta for t in tables]))
        self.register_buffer("region_h", torch.stack([t.h for t in tables]))
        self.register_buffer("region_d", torch.stack([t.d for t in tables]))
        self.register_buffer("gate_thresholds", g)

    def _spikes(self, v):
        return core.hierarchical_gate_few_spike(v, self.region_theta, self.region_h, self.region_d,
                                                self.gate_thresholds, self.surrogate_function)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", regions={self.region_theta.shape[0]}, gate_thresholds={self.gate_thresholds}"


class OutlierAwareThresholdNode(_FewSpikeBase):
    """Outlier-aware thresholding Few-Spike neuron; see :func:`fnsnn.neurons.few_spike.outlier_aware_few_spike`.

    Args:
        table: table of magnitudes up to ``split_threshold``; outlier_table: above it (same ``K``).
        split_threshold: non-negative magnitude boundary.
        clamp_value: symmetric clamp of the input (``>= split_threshold``), or None.
        surrogate_function, step_mode: as :class:`FewSpikeNode`.
    """

    def __init__(self, table: FewSpikeTable, outlier_table: FewSpikeTable, split_threshold: float,
                 clamp_value: Optional[float] = None, surrogate_function: Optional[Callable] = None,
                 step_mode: str = "s"):
        cls = type(self).__name__
        _table(cls, "table", table)
        _table(cls, "outlier_table", outlier_table)
        if table.K != outlier_table.K:
            raise ValueError(f"{cls}: both tables need the same K, got {table.K} and {outlier_table.K}.")
        if isinstance(split_threshold, bool) or not isinstance(split_threshold, (int, float)) or split_threshold < 0:
            raise ValueError(f"{cls}: `split_threshold` must be a non-negative float, got {split_threshold!r}.")
        if clamp_value is not None and (isinstance(clamp_value, bool) or not isinstance(clamp_value, (int, float))
                                        or clamp_value < split_threshold):
            raise ValueError(f"{cls}: `clamp_value` must be None or a float >= split_threshold={split_threshold}, "
                             f"got {clamp_value!r}.")
        super().__init__(table.K, surrogate_function, step_mode)
        self.split_threshold, self.clamp_value = float(split_threshold), clamp_value
        for prefix, t in (("", table), ("outlier_", outlier_table)):
            self.register_buffer(f"{prefix}theta", t.theta.clone())
            self.register_buffer(f"{prefix}h", t.h.clone())
            self.register_buffer(f"{prefix}d", t.d.clone())

    def _spikes(self, v):
        return core.outlier_aware_few_spike(v, self.theta, self.h, self.d, self.outlier_theta, self.outlier_h,
                                            self.outlier_d, self.split_threshold, self.clamp_value,
                                            self.surrogate_function)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", split_threshold={self.split_threshold}, clamp_value={self.clamp_value}"
