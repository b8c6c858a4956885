"""DropConnect linear layer: drop each connection (weight and bias entry) with probability ``p``.

Training: ``y = act((W * M_w) x + b * M_b)`` with Bernoulli(1 - p) masks per
sample, redrawn every step or (``invariant``) kept until a new state.
Inference (Algorithm 2 of Wan et al. 2013): ``u ~ N(mu, sigma^2)`` with
``mu = (1 - p)(W x + b)`` and ``sigma^2 = p (1 - p)(W^2 x^2 + b^2)``, then
``y = mean_s act(u_s)`` over ``samples_num`` draws.
"""

from __future__ import annotations

from numbers import Integral
from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

from .._checks import check_bool, check_callable, check_seq, check_state, check_tensor
from ._random import check_probability, resolve_generator


class DropConnectState(NamedTuple):
    mask_w: torch.Tensor  # [N, out_features, in_features]
    mask_b: torch.Tensor  # [N, out_features], or [N, 0] without bias


def _check(fn, x, weight, bias, p, training, invariant, samples_num, activation):
    check_tensor(fn, "x", x)
    check_tensor(fn, "weight", weight)
    if weight.dim() != 2:
        raise ValueError(f"{fn}: `weight` must be [out_features, in_features], got shape {tuple(weight.shape)}.")
    if bias is not None:
        check_tensor(fn, "bias", bias)
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"{fn}: `bias` must have shape {(weight.shape[0],)}, got {tuple(bias.shape)}.")
    if x.dim() != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"{fn}: `x` must be [N, in_features] = [N, {weight.shape[1]}] per time step, "
                         f"got shape {tuple(x.shape)}.")
    check_probability(fn, p)
    check_bool(fn, "training", training)
    check_bool(fn, "invariant", invariant)
    if isinstance(samples_num, bool) or not isinstance(samples_num, Integral) or samples_num < 1:
        raise ValueError(f"{fn}: `samples_num` must be a positive int, got {samples_num!r}.")
    if activation is not None:
        check_callable(fn, "activation", activation)


def _shapes(x, weight, bias):
    n, (out_f, in_f) = x.shape[0], weight.shape
    return {"mask_w": (n, out_f, in_f), "mask_b": (n, out_f if bias is not None else 0)}


def _draw(fn, x, weight, bias, p, generator, seed) -> DropConnectState:
    gen = resolve_generator(fn, generator, seed, weight.device)
    shapes = _shapes(x, weight, bias)
    opts = dict(dtype=weight.dtype, device=weight.device)
    mask_w = (torch.rand(shapes["mask_w"], generator=gen, **opts) >= p).to(weight.dtype)
    if bias is None:
        return DropConnectState(mask_w, weight.new_zeros(shapes["mask_b"]))
    mask_b = (torch.rand(shapes["mask_b"], generator=gen, **opts) >= p).to(weight.dtype)
    return DropConnectState(mask_w, mask_b)


def _full(x, weight, bias) -> DropConnectState:
    shapes = _shapes(x, weight, bias)
    return DropConnectState(weight.new_ones(shapes["mask_w"]), weight.new_ones(shapes["mask_b"]))


def drop_connect_init_state(x: torch.Tensor, *, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
                            p: float = 0.5, training: bool = True, generator: Optional[torch.Generator] = None,
                            seed: Optional[int] = None) -> DropConnectState:
    """The masks at the start of a simulation for input ``x`` ``[N, in_features]``.

    In training new masks are drawn (``generator`` or ``seed`` needed); otherwise
    they are all ones (fully connected).
    """
    fn = "drop_connect_init_state"
    _check(fn, x, weight, bias, p, training, False, 1, None)
    if training:
        return _draw(fn, x, weight, bias, p, generator, seed)
    return _full(x, weight, bias)


def _step(fn, x, state, weight, bias, p, training, invariant, samples_num, activation, generator, seed):
    if state is not None:
        state = check_state(fn, state, DropConnectState, x, shapes=_shapes(x, weight, bias))
    if training:
        if state is None or not invariant:
            state = _draw(fn, x, weight, bias, p, generator, seed)
        y = torch.bmm(weight * state.mask_w, x.unsqueeze(-1)).squeeze(-1)
        if bias is not None:
            y = y + bias * state.mask_b
        return (y if activation is None else activation(y)), state
    if state is None:
        state = _full(x, weight, bias)
    gen = resolve_generator(fn, generator, seed, weight.device)
    mu = (1.0 - p) * F.linear(x, weight, bias)
    var = p * (1.0 - p) * F.linear(x.square(), weight.square(), None if bias is None else bias.square())
    shape = (samples_num, *mu.shape)
    # Samples carry no gradient, as torch.distributions.Normal.sample.
    u = torch.normal(mu.detach().expand(shape), var.detach().sqrt().expand(shape), generator=gen)
    if activation is not None:
        u = activation(u)
    return u.mean(dim=0), state


def drop_connect_linear_step(x: torch.Tensor, state: Optional[DropConnectState] = None, *, weight: torch.Tensor,
                             bias: Optional[torch.Tensor] = None, p: float = 0.5, training: bool = True,
                             invariant: bool = False, samples_num: int = 1024,
                             activation: Optional[Callable] = None, generator: Optional[torch.Generator] = None,
                             seed: Optional[int] = None):
    """One step of the DropConnect linear layer (equations in the module docstring).

    Args:
        x: input ``[N, in_features]``.
        state: ``DropConnectState(mask_w, mask_b)``; ``None`` is fully connected (masks of ones) and,
            in training, means new masks are drawn.
        weight, bias: ``[out_features, in_features]`` and ``[out_features]`` (or None).
        p: drop probability in ``[0, 1)``.
        training: masked forward if True, Gaussian-sampling inference otherwise.
        invariant: in training, keep the masks of ``state`` instead of redrawing them every step.
        samples_num: number of Gaussian samples at inference.
        activation: callable applied after the linear map (inside the sample average at inference).
        generator, seed: randomness for new masks and for inference samples.

    Returns:
        ``(y, DropConnectState)``, ``y`` of shape ``[N, out_features]``.
    """
    fn = "drop_connect_linear_step"
    _check(fn, x, weight, bias, p, training, invariant, samples_num, activation)
    return _step(fn, x, state, weight, bias, p, training, invariant, samples_num, activation, generator, seed)


def drop_connect_linear_multi_step(x_seq: torch.Tensor, state: Optional[DropConnectState] = None, *,
                                   weight: torch.Tensor, bias: Optional[torch.Tensor] = None, p: float = 0.5,
                                   training: bool = True, invariant: bool = False, samples_num: int = 1024,
                                   activation: Optional[Callable] = None,
                                   generator: Optional[torch.Generator] = None, seed: Optional[int] = None):
    """:func:`drop_connect_linear_step` over ``x_seq`` ``[T, N, in_features]``.

    A ``seed`` seeds one generator for the whole sequence. Returns ``(y_seq, final_state)``.
    """
    fn = "drop_connect_linear_multi_step"
    check_seq(fn, "x_seq", x_seq)
    _check(fn, x_seq.select(0, 0), weight, bias, p, training, invariant, samples_num, activation)
    if seed is not None:
        generator, seed = resolve_generator(fn, generator, seed, weight.device), None
    ys = []
    for x in x_seq.unbind(0):
        y, state = _step(fn, x, state, weight, bias, p, training, invariant, samples_num, activation,
                         generator, seed)
        ys.append(y)
    return torch.stack(ys), state
