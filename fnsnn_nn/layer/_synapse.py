"""SynapseFilter, Delay and NeuNorm: shells of :mod:`fnsnn.synapses`."""

from __future__ import annotations

import math
from typing import Dict

import torch
import torch.nn as nn

from fnsnn._checks import check_bool, check_param
from fnsnn.synapses import delay as dl
from fnsnn.synapses import filter as sf
from fnsnn.synapses import neunorm as nn_core

from ..base import MemoryModule
from ._common import memory_state, step_input, store_state


class SynapseFilter(MemoryModule):
    """Low-pass synapse ``I[t] = I[t-1] - (1 - S[t]) I[t-1] / tau + S[t]``.

    See :func:`fnsnn.synapses.synapse_filter_step`.

    Args:
        tau: time constant (> 1); with ``learnable=True`` the initial value of a learnable one
            (parameter ``w`` with ``1 / tau = sigmoid(w)``).
        learnable: learn ``tau``.
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(self, tau=100.0, learnable=False, step_mode="s"):
        super().__init__()
        check_param("SynapseFilter", "tau", tau, gt=1.0, allow_tensor=False)
        check_bool("SynapseFilter", "learnable", learnable)
        self.step_mode = step_mode
        self.learnable = learnable
        if learnable:
            self.w = nn.Parameter(torch.as_tensor(-math.log(tau - 1.0)))
        else:
            self.tau = tau
        self.register_memory("out_i", 0.0)

    def _config(self):
        return dict(w=self.w) if self.learnable else dict(tau=self.tau)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y, state = sf.synapse_filter_step(x, memory_state(self, sf.SynapseFilterState, x), **self._config())
        store_state(self, state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        state = memory_state(self, sf.SynapseFilterState, step_input(self, x_seq, True))
        y_seq, state = sf.synapse_filter_multi_step(x_seq, state, **self._config())
        store_state(self, state)
        return y_seq

    def extra_repr(self) -> str:
        if self.learnable:
            with torch.no_grad():
                tau = 1.0 / self.w.sigmoid().item()
        else:
            tau = self.tau
        return f"tau={tau}, learnable={self.learnable}, step_mode={self.step_mode}"


class Delay(MemoryModule):
    """Delay line ``y[t] = x[t - delay_steps]`` (zeros before); see :func:`fnsnn.synapses.delay_step`.

    Args:
        delay_steps: the delay in time steps, an int ``>= 0``.
        step_mode: ``'s'`` or ``'m'``.

    The memory ``queue`` ``[delay_steps, *x.shape]`` holds the pending inputs, oldest first.
    """

    def __init__(self, delay_steps: int, step_mode="s"):
        super().__init__()
        self._delay_steps = dl.check_delay_steps("Delay", delay_steps)
        self.step_mode = step_mode
        self.register_memory("queue", None)

    @property
    def delay_steps(self) -> int:
        return self._delay_steps

    def _state(self, like):
        return memory_state(self, dl.DelayState, like, {"queue": (self.delay_steps, *like.shape)})

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return dl.delay_init_state(self.single_step_input(x), delay_steps=self.delay_steps)._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y, state = dl.delay_step(x, self._state(x), delay_steps=self.delay_steps)
        store_state(self, state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        state = self._state(step_input(self, x_seq, True))
        y_seq, state = dl.delay_multi_step(x_seq, state, delay_steps=self.delay_steps)
        store_state(self, state)
        return y_seq

    def extra_repr(self) -> str:
        return f"delay_steps={self.delay_steps}, step_mode={self.step_mode}"


class NeuNorm(MemoryModule):
    """NeuNorm (Wu et al. 2019), placed after the spiking neurons of a conv layer.

    See :func:`fnsnn.synapses.neunorm_step`.

    Args:
        in_channels: channels ``C`` (``F`` in the paper) of the ``[N, C, H, W]`` input.
        height, width: spatial size of the input.
        k: momentum ``k_tau2``; ``v / F = (1 - k) / C^2`` follows.
        shared_across_channels: share the learnable ``w`` over channels (shape ``[1, H, W]``).
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(self, in_channels, height, width, k=0.9, shared_across_channels=False, step_mode="s"):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"NeuNorm: `{name}` must be a positive int, got {v!r}.")
        check_param("NeuNorm", "k", k, ge=0.0, le=1.0, allow_tensor=False)
        check_bool("NeuNorm", "shared_across_channels", shared_across_channels)
        self.step_mode = step_mode
        self.in_channels = in_channels
        self.k0 = k
        self.k1 = (1.0 - k) / in_channels ** 2
        self.w = nn.Parameter(torch.empty(1 if shared_across_channels else in_channels, height, width))
        nn.init.kaiming_uniform_(self.w, a=math.sqrt(5))
        self.register_memory("x", 0.0)

    def _check_input(self, like: torch.Tensor) -> None:
        if isinstance(like, torch.Tensor) and like.dim() == 4 and like.shape[1] != self.in_channels:
            raise ValueError(f"NeuNorm: the input has {like.shape[1]} channels but the layer was built with "
                             f"in_channels={self.in_channels} (input shape {tuple(like.shape)}).")

    def _state(self, like):
        self._check_input(like)
        shape = (like.shape[0], 1, *like.shape[2:]) if like.dim() == 4 else None
        return memory_state(self, nn_core.NeuNormState, like, {"x": shape})

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return nn_core.neunorm_init_state(self.single_step_input(x))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y, state = nn_core.neunorm_step(x, self._state(x), weight=self.w, k=self.k0)
        store_state(self, state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        state = self._state(step_input(self, x_seq, True))
        y_seq, state = nn_core.neunorm_multi_step(x_seq, state, weight=self.w, k=self.k0)
        store_state(self, state)
        return y_seq

    def extra_repr(self) -> str:
        return f"shape={tuple(self.w.shape)}, k={self.k0}, step_mode={self.step_mode}"
