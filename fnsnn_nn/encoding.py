"""Encoders with SpikingJelly's names; the maths is in :mod:`fnsnn.encoding`.

Random encoders draw from ``module.generator`` when set, else from torch's
global generator of the input's device (so ``torch.manual_seed`` reproduces a
run as in SpikingJelly). Stateful encoders encode the first input after a
reset into a ``[T, *]`` train (memory ``spike``) and replay it one step per
call (memory ``t``).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from fnsnn import encoding as core

from .base import MemoryModule, StepModule
from .layer._common import layer_generator
from .neuron import IFNode
from .surrogate import DeterministicPass


class StatelessEncoder(nn.Module, StepModule):
    """Base class of encoders whose output depends on the current input only."""

    def __init__(self, step_mode: str = "s"):
        super().__init__()
        self.step_mode = step_mode

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}"


class PoissonEncoder(StatelessEncoder):
    """Rate coding: a spike with probability ``x`` (``0 <= x <= 1``) per element and call;
    see :func:`fnsnn.encoding.poisson_encode`. Same in both step modes (elementwise)."""

    def __init__(self, step_mode: str = "s"):
        super().__init__(step_mode)
        self.generator: Optional[torch.Generator] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"PoissonEncoder: input must be a torch.Tensor, got {type(x).__name__}.")
        return core.poisson_encode(x, generator=layer_generator(self, x.device))

    def extra_repr(self) -> str:
        return ""


class StatefulEncoder(MemoryModule):
    """Base class of encoders that turn the first input after a reset into a ``[T, *]`` train and
    output step ``t mod T`` of it at the ``t``-th call; subclasses define :meth:`single_step_encode`.

    Args:
        T: the period (usually the number of simulation steps).
        step_mode: ``'s'`` (one call per step) or ``'m'`` (a ``[T', N, *]`` input, one step per slice).
    """

    def __init__(self, T: int, step_mode: str = "s"):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{type(self).__name__}: `T` must be a positive int, got {T!r}.")
        self.T = T
        self.step_mode = step_mode
        self.register_memory("spike", None)
        self.register_memory("t", 0)

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        """The ``[T, *x.shape]`` train for input ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must define single_step_encode(x).")

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return core.replay_init_state(self.single_step_encode(self.single_step_input(x)))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a torch.Tensor, got {type(x).__name__}.")
        spike, t = self.spike, self.t
        if not isinstance(spike, torch.Tensor):
            spike = self.single_step_encode(x)
        state = core.replay_init_state(spike)
        if isinstance(t, torch.Tensor):
            state = core.ReplayState(spike, t)
        elif t != 0:
            state = core.ReplayState(spike, torch.tensor(int(t), device=spike.device))
        y, state = core.replay_step(state)
        self.spike, self.t = state.spike, state.t
        return y

    def extra_repr(self) -> str:
        return f"T={self.T}"


class LatencyEncoder(StatefulEncoder):
    """Latency coding: one spike per element, earlier for larger ``x`` in ``[0, 1]``;
    see :func:`fnsnn.encoding.latency_encode`.

    Args:
        T: the latest firing time plus one.
        enc_function: ``'linear'`` or ``'log'``.
        step_mode: as :class:`StatefulEncoder`.
    """

    def __init__(self, T: int, enc_function: str = "linear", step_mode: str = "s"):
        if enc_function not in core.ENC_FUNCTIONS:
            raise ValueError(f"LatencyEncoder: `enc_function` must be one of {core.ENC_FUNCTIONS}, "
                             f"got {enc_function!r}.")
        super().__init__(T, step_mode)
        self.enc_function = enc_function

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        return core.latency_encode(x, self.T, self.enc_function)


class WeightedPhaseEncoder(StatefulEncoder):
    """Weighted phase coding of ``x`` in ``[0, 1 - 2^-K]`` over ``K`` phases;
    see :func:`fnsnn.encoding.weighted_phase_encode`."""

    def __init__(self, K: int, step_mode: str = "s"):
        super().__init__(K, step_mode)

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        return core.weighted_phase_encode(x, self.T)


class PeriodicEncoder(StatefulEncoder):
    """Replays ``spike`` ``[T, *]`` periodically, ``spike[t mod T]`` at the ``t``-th call, whatever the input.

    After a reset the next input itself is taken as the train (``T`` follows its first dim).
    """

    def __init__(self, spike: torch.Tensor, step_mode: str = "s"):
        if not isinstance(spike, torch.Tensor) or spike.dim() < 1 or spike.shape[0] == 0:
            got = tuple(spike.shape) if isinstance(spike, torch.Tensor) else type(spike).__name__
            raise ValueError(f"PeriodicEncoder: `spike` must be a [T, *] tensor with T > 0, got {got}.")
        super().__init__(spike.shape[0], step_mode)
        self.spike = spike

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        self.T = x.shape[0]
        return x


def _population_params(cls: str, obs_dim, pop_dim, spike_ts, mean_range, std) -> Tuple[torch.Tensor, torch.Tensor]:
    for name, value in (("obs_dim", obs_dim), ("pop_dim", pop_dim), ("spike_ts", spike_ts)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{cls}: `{name}` must be a positive int, got {value!r}.")
    if not isinstance(mean_range, (tuple, list)) or len(mean_range) != 2:
        raise ValueError(f"{cls}: `mean_range` must be a pair (min, max), got {mean_range!r}.")
    centres = torch.linspace(float(mean_range[0]), float(mean_range[1]), pop_dim)
    mean = centres.expand(1, obs_dim, pop_dim).clone()
    return mean, torch.full((1, obs_dim, pop_dim), float(std))


class PopEncoder(nn.Module):
    """Population coding with learnable Gaussian fields, as currents repeated over ``spike_ts`` steps:
    ``[N, obs_dim]`` -> ``[spike_ts, N, obs_dim * pop_dim]``; see :func:`fnsnn.encoding.population_activation`.

    Args:
        obs_dim: observation size; pop_dim: fields per observation dimension; spike_ts: time steps;
        mean_range: ``(min, max)`` of the initial centres (evenly spaced); std: initial width.
    """

    def __init__(self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range, std: float):
        super().__init__()
        mean, width = _population_params(type(self).__name__, obs_dim, pop_dim, spike_ts, mean_range, std)
        self.obs_dim, self.pop_dim, self.spike_ts = obs_dim, pop_dim, spike_ts
        self.encoder_neuron_num = obs_dim * pop_dim
        self.mean = nn.Parameter(mean)
        self.std = nn.Parameter(width)

    def activation(self, obs: torch.Tensor) -> torch.Tensor:
        return core.population_activation(obs, self.mean, self.std)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        act = self.activation(obs)
        return act.unsqueeze(0).expand(self.spike_ts, *act.shape)


class PopSpikeEncoderDeterministic(PopEncoder):
    """Population coding into deterministic spikes: the fields drive a soft-reset IF neuron
    (``neurons``, threshold 0.999, state kept between calls until reset);
    see :func:`fnsnn.encoding.population_spikes_deterministic`."""

    def __init__(self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range, std: float):
        super().__init__(obs_dim, pop_dim, spike_ts, mean_range, std)
        self.neurons = IFNode(v_threshold=0.999, v_reset=None, surrogate_function=DeterministicPass(),
                              detach_reset=True, step_mode="m")

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.neurons(super().forward(obs))


class PopSpikeEncoderRandom(PopEncoder):
    """Population coding into Bernoulli spikes with a straight-through gradient;
    see :func:`fnsnn.encoding.population_spikes_random`."""

    def __init__(self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range, std: float):
        super().__init__(obs_dim, pop_dim, spike_ts, mean_range, std)
        self.generator: Optional[torch.Generator] = None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        act = self.activation(obs)
        return core.population_spikes_random(act, self.spike_ts, generator=layer_generator(self, act.device))
