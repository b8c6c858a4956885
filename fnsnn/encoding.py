"""Input encoders as pure functions: analog values -> spike trains, randomness through an explicit generator.

- Poisson (rate) coding: ``S = [U <= x]`` with ``U ~ Uniform[0, 1)``, ``x`` in ``[0, 1]``.
- Latency coding: one spike at ``t_f = round((T - 1)(1 - x))`` (``'linear'``) or
  ``t_f = round((T - 1) - ln(alpha x + 1))`` with ``alpha = e^(T-1) - 1`` (``'log'``), so ``x = 1``
  fires first and ``x = 0`` last.
- Weighted phase coding: ``S[k]`` is bit ``k + 1`` of the binary expansion of ``x`` (weight ``2^-(k+1)``),
  ``x`` in ``[0, 1 - 2^-K]``.
- Population coding: Gaussian receptive fields ``A = exp(-(obs - mean)^2 / (2 std^2))`` per observation
  dimension, repeated over ``T`` steps as currents, as deterministic spikes of a soft-reset IF neuron
  (threshold 0.999), or as Bernoulli spikes with a straight-through gradient.
- Stateful replay: a precomputed ``[T, *]`` spike train is read out one step per call, ``S[t mod T]``.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch

from ._checks import check_tensor
from .neurons.integrate_fire import IFState, if_multi_step
from .synapses._random import resolve_generator

ENC_FUNCTIONS = ("linear", "log")


def _check_T(fn: str, name: str, T) -> int:
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"{fn}: `{name}` must be a positive int, got {T!r}.")
    return T


def _eager() -> bool:
    return not (torch._C._are_functorch_transforms_active() or torch.compiler.is_compiling())


def _check_range(fn: str, x: torch.Tensor, high: float, high_text: str) -> None:
    # value checks read the data: done in eager mode only (not under vmap/grad/compile)
    if _eager() and x.numel() and (bool((x < 0).any()) or bool((x > high).any())):
        raise ValueError(f"{fn}: `x` must lie in [0, {high_text}], got values in "
                         f"[{float(x.min())}, {float(x.max())}].")


def poisson_encode(x: torch.Tensor, *, generator: Optional[torch.Generator] = None,
                   seed: Optional[int] = None) -> torch.Tensor:
    """Spikes ``[U <= x]`` shaped like ``x`` (firing probability ``x`` in ``[0, 1]``).

    Args:
        x: probabilities, any shape, floating point.
        generator, seed: the randomness (one of them).

    Returns:
        Spikes of ``x``'s shape and dtype.
    """
    fn = "poisson_encode"
    check_tensor(fn, "x", x)
    gen = resolve_generator(fn, generator, seed, x.device)
    u = torch.rand(x.shape, generator=gen, dtype=x.dtype, device=x.device)
    return (u <= x).to(x.dtype)


def latency_encode(x: torch.Tensor, T: int, enc_function: str = "linear") -> torch.Tensor:
    """One spike per element at its firing time (see the module docstring): ``[T, *x.shape]``."""
    fn = "latency_encode"
    check_tensor(fn, "x", x)
    _check_T(fn, "T", T)
    if enc_function not in ENC_FUNCTIONS:
        raise ValueError(f"{fn}: `enc_function` must be one of {ENC_FUNCTIONS}, got {enc_function!r}.")
    _check_range(fn, x, 1.0, "1")
    if enc_function == "linear":
        t_f = (T - 1) * (1.0 - x)
    else:
        alpha = math.exp(T - 1) - 1.0
        t_f = (T - 1) - torch.log(alpha * x + 1.0)
    t_f = t_f.round().long()
    steps = torch.arange(T, device=x.device).view(T, *([1] * x.dim()))
    return (steps == t_f.unsqueeze(0)).to(x.dtype)


def weighted_phase_encode(x: torch.Tensor, K: int) -> torch.Tensor:
    """The ``K`` most significant bits of ``x`` as spikes ``[K, *x.shape]`` (phase ``k`` weighs ``2^-(k+1)``)."""
    fn = "weighted_phase_encode"
    check_tensor(fn, "x", x)
    _check_T(fn, "K", K)
    _check_range(fn, x, 1.0 - 2.0 ** (-K), f"1 - 2^-{K}")
    scaled = torch.floor(x * (2.0 ** K)).long()  # an integer in [0, 2^K - 1]
    shifts = torch.arange(K - 1, -1, -1, device=x.device).view(K, *([1] * x.dim()))
    return ((scaled.unsqueeze(0) >> shifts) & 1).to(x.dtype)


def population_activation(obs: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Gaussian receptive fields: ``[N, obs_dim]`` -> ``[N, obs_dim * pop_dim]``.

    Args:
        obs: observations ``[N, obs_dim]``.
        mean, std: field centres and widths ``[1, obs_dim, pop_dim]`` (learnable).
    """
    fn = "population_activation"
    for name, t in (("obs", obs), ("mean", mean), ("std", std)):
        check_tensor(fn, name, t)
    if mean.dim() != 3 or mean.shape[0] != 1 or std.shape != mean.shape:
        raise ValueError(f"{fn}: `mean` and `std` must both be [1, obs_dim, pop_dim], got "
                         f"{tuple(mean.shape)} and {tuple(std.shape)}.")
    if obs.dim() != 2 or obs.shape[1] != mean.shape[1]:
        raise ValueError(f"{fn}: `obs` must be [N, obs_dim={mean.shape[1]}], got {tuple(obs.shape)}.")
    act = torch.exp(-0.5 * (obs.unsqueeze(-1) - mean).square() / std.square())
    return act.flatten(1)


def population_spikes_deterministic(act: torch.Tensor, T: int, surrogate_function,
                                    state: Optional[IFState] = None):
    """``act`` ``[N, D]`` repeated ``T`` times into a soft-reset IF neuron (threshold 0.999, detached reset).

    Returns ``([T, N, D] spikes, IFState)``; ``state=None`` starts at ``v = 0``. Gradients flow through
    ``surrogate_function`` (2.0.0 uses ``DeterministicPass``, derivative 1).
    """
    fn = "population_spikes_deterministic"
    check_tensor(fn, "act", act)
    _check_T(fn, "T", T)
    x_seq = act.unsqueeze(0).expand(T, *act.shape)
    return if_multi_step(x_seq, state, v_threshold=0.999, v_reset=None, detach_reset=True,
                         surrogate_function=surrogate_function)


def population_spikes_random(act: torch.Tensor, T: int, *, generator: Optional[torch.Generator] = None,
                             seed: Optional[int] = None) -> torch.Tensor:
    """Bernoulli spikes ``[U_t < act]`` for ``T`` steps, ``[T, N, D]``, with ``d spike / d act = 1``."""
    fn = "population_spikes_random"
    check_tensor(fn, "act", act)
    _check_T(fn, "T", T)
    gen = resolve_generator(fn, generator, seed, act.device)
    u = torch.rand((T, *act.shape), generator=gen, dtype=act.dtype, device=act.device)
    a = act.unsqueeze(0).expand(T, *act.shape)
    hard = (u < a).to(act.dtype)
    return hard.detach() + (a - a.detach())


class ReplayState(NamedTuple):
    """A precomputed spike train ``spike`` ``[T, *]`` and the index ``t`` (0-dim int64) of the next step."""

    spike: torch.Tensor
    t: torch.Tensor


def replay_init_state(spike: torch.Tensor) -> ReplayState:
    """Start replaying ``spike`` ``[T, *]`` from step 0."""
    check_tensor("replay_init_state", "spike", spike, floating=False)
    if spike.dim() < 1 or spike.shape[0] == 0:
        raise ValueError(f"replay_init_state: `spike` must be [T, *] with T > 0, got {tuple(spike.shape)}.")
    return ReplayState(spike, torch.zeros((), dtype=torch.long, device=spike.device))


def replay_step(state: ReplayState):
    """``(spike[t], ReplayState(spike, (t + 1) mod T))``."""
    if not isinstance(state, ReplayState):
        raise TypeError(f"replay_step: `state` must be a ReplayState, got {type(state).__name__}.")
    spike, t = state
    y = spike.index_select(0, t.reshape(1)).squeeze(0)
    return y, ReplayState(spike, torch.remainder(t + 1, spike.shape[0]))
