"""Noisy spiking neurons of noisy spiking actor networks, with the noise given explicitly.

Spiking (``noisy_spiking_multi_step``): every sequence starts from ``V = v_reset`` (0 for soft reset), ``C = 0``.
At step ``t`` the input is ``I = X[t] + L(S̃[t-1]) + sigma_v N_v[t]`` (the lateral term of
:mod:`fnsnn.neurons.ilc` only when ``weight`` is given, none at ``t = 0``; the noise term only when ``noise_v`` is
given); the charge is IF, LIF or CUBA as in :mod:`fnsnn.neurons.ilc`, then ``S = Θ(V - v_threshold)`` and the
hard/soft reset. The output is ``S̃ = S + sigma_s N_s[t]`` (``S`` without ``noise_s``), which also drives ``L``.

Non-spiking (``noisy_nonspiking_if_multi_step``): ``V = V + X[t] + sigma N[t]`` from ``V = 0``, decoded over time as
:func:`fnsnn.nonspiking_if_multi_step`.

No function here draws random numbers: the noise sequences ``[T, *]`` (broadcastable to one step) are arguments.
:func:`powerlaw_psd_gaussian` draws coloured noise from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Sequence, Union

import torch

from .._checks import check_bool, check_param, check_positive_int, check_seq, check_tensor
from ._base import check_firing, fire_and_reset, full_like
from .ilc import ILC_CHARGES, ilc_lateral
from .nonspiking import _decode_config, nonspiking_if_multi_step

Number = Union[float, torch.Tensor]


class NoisyState(NamedTuple):
    v: torch.Tensor
    c: torch.Tensor


def colored_noise_from_white(real: torch.Tensor, imag: torch.Tensor, exponent: float, samples: int,
                             fmin: float = 0.0) -> torch.Tensor:
    """Gaussian noise with power spectrum ``~ (1 / f) ** exponent`` along the last dim, from standard normal draws.

    Args:
        real, imag: standard normal draws ``[*, samples // 2 + 1]``, one pair per frequency of ``rfftfreq``.
        exponent: the spectral exponent (0 white, 1 pink, 2 brown).
        samples: the length of the time axis of the result.
        fmin: low-frequency cutoff in ``[0, 0.5]`` (relative to a unit sampling rate; at least ``1 / samples``);
            the spectrum is flat below it.

    Returns:
        ``[*, samples]`` float64 noise of unit theoretical variance (Timmer and Koenig's method).
    """
    fn = "colored_noise_from_white"
    check_param(fn, "exponent", exponent, allow_tensor=False)
    check_param(fn, "fmin", fmin, ge=0.0, le=0.5, allow_tensor=False)
    check_positive_int(fn, "samples", samples)
    n_freq = samples // 2 + 1
    for name, t in (("real", real), ("imag", imag)):
        check_tensor(fn, name, t)
        if t.shape[-1:] != (n_freq,):
            raise ValueError(f"{fn}: `{name}` must end in samples // 2 + 1 = {n_freq} frequencies, got shape "
                             f"{tuple(t.shape)}.")
    f = torch.fft.rfftfreq(samples, dtype=torch.float64)
    fmin = max(fmin, 1.0 / samples)
    scale = f.clone()
    cut = int((scale < fmin).sum())
    if 0 < cut < scale.numel():
        scale[:cut] = scale[cut]
    scale = scale ** (-exponent / 2.0)
    w = scale[1:].clone()
    w[-1] = w[-1] * (1 + (samples % 2)) / 2.0
    sigma = 2 * math.sqrt(float((w ** 2).sum())) / samples
    sr = real.to(torch.float64) * scale
    si = imag.to(torch.float64) * scale
    fix = torch.ones(n_freq, dtype=torch.float64)
    keep = torch.ones(n_freq, dtype=torch.float64)
    if samples % 2 == 0:  # the Nyquist coefficient is real
        fix[-1], keep[-1] = math.sqrt(2.0), 0.0
    fix[0], keep[0] = math.sqrt(2.0), 0.0  # so is the DC coefficient
    spectrum = torch.complex(sr * fix, si * keep)
    return torch.fft.irfft(spectrum, n=samples, dim=-1) / sigma


def powerlaw_psd_gaussian(exponent: float, size: Union[int, Sequence[int]], fmin: float = 0.0, *,
                          generator: torch.Generator) -> torch.Tensor:
    """Coloured Gaussian noise of shape ``size`` (time on the last dim) drawn from ``generator``.

    Draws two standard normal tensors ``[*size[:-1], size[-1] // 2 + 1]`` (real parts, then imaginary parts) from
    ``generator`` and shapes them with :func:`colored_noise_from_white`. Returns float64 noise.
    """
    fn = "powerlaw_psd_gaussian"
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{fn}: `generator` must be a torch.Generator (torch.default_generator for the global RNG), "
                        f"got {type(generator).__name__}.")
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size]
    try:
        size = [int(s) for s in size]
    except TypeError:
        raise ValueError(f"{fn}: `size` must be an int or a sequence of ints, got {size!r}.") from None
    if not size or any(s < 1 for s in size):
        raise ValueError(f"{fn}: `size` must hold positive ints, got {size!r}.")
    shape = (*size[:-1], size[-1] // 2 + 1)
    real = torch.randn(shape, generator=generator, dtype=torch.float64, device=generator.device)
    imag = torch.randn(shape, generator=generator, dtype=torch.float64, device=generator.device)
    return colored_noise_from_white(real, imag, exponent, size[-1], fmin)


def _check_noise(fn, name, noise, x_seq):
    if noise is None:
        return None
    check_tensor(fn, name, noise)
    T, step = x_seq.shape[0], tuple(x_seq.shape[1:])
    if noise.dim() < 1 or noise.shape[0] != T:
        raise ValueError(f"{fn}: `{name}` must hold one noise tensor per time step, [T={T}, *], got shape "
                         f"{tuple(noise.shape)}.")
    try:
        fits = tuple(torch.broadcast_shapes(noise.shape[1:], step)) == step
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"{fn}: `{name}` has per-step shape {tuple(noise.shape[1:])}, which does not broadcast to "
                         f"one time step {step} without changing it.")
    return noise


def noisy_spiking_multi_step(x_seq: torch.Tensor, *, noise_v: Optional[torch.Tensor] = None,
                             noise_s: Optional[torch.Tensor] = None, sigma_v: Number = 0.0, sigma_s: Number = 0.0,
                             charge: str = "cuba", c_decay: Number = 0.5, v_decay: Number = 0.75,
                             weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None,
                             act_dim: Optional[int] = None, dec_pop_dim: Optional[int] = None,
                             v_threshold: Number = 0.5, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                             surrogate_function: Optional[Callable] = None):
    """A noisy spiking layer over ``x_seq`` ``[T, N, D]`` from rest (equations in the module docstring).

    Args:
        noise_v, noise_s: membrane and output noise ``[T, *]`` broadcastable to one step, or ``None`` for none.
        sigma_v, sigma_s: their scales (finite floats or tensors).
        charge: ``"if"``, ``"lif"`` (``v_decay``) or ``"cuba"`` (``c_decay``, ``v_decay``).
        weight, bias, act_dim, dec_pop_dim: the intra-layer connection of :func:`fnsnn.neurons.ilc.ilc_lateral`
            (``D = act_dim * dec_pop_dim``), or ``weight=None`` for none.
        v_threshold, v_reset, detach_reset, surrogate_function: as :func:`fnsnn.if_step` (default ``Rect()``).

    Returns:
        ``(y_seq, NoisyState(v, c))``: the noisy outputs and the state after the last step.
    """
    fn = "noisy_spiking_multi_step"
    check_seq(fn, "x_seq", x_seq)
    noise_v, noise_s = _check_noise(fn, "noise_v", noise_v, x_seq), _check_noise(fn, "noise_s", noise_s, x_seq)
    check_param(fn, "sigma_v", sigma_v)
    check_param(fn, "sigma_s", sigma_s)
    check_param(fn, "c_decay", c_decay)
    check_param(fn, "v_decay", v_decay)
    if charge not in ILC_CHARGES:
        raise ValueError(f"{fn}: `charge` must be one of {ILC_CHARGES}, got {charge!r}.")
    if weight is not None:
        check_tensor(fn, "weight", weight)
        for name, value in (("act_dim", act_dim), ("dec_pop_dim", dec_pop_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{fn}: `{name}` must be a positive int with a lateral `weight`, got {value!r}.")
        D = act_dim * dec_pop_dim
        if x_seq.shape[-1] != D or weight.numel() != D * dec_pop_dim:
            raise ValueError(f"{fn}: `x_seq` must end in act_dim * dec_pop_dim = {D} neurons and `weight` hold "
                             f"[{D}, 1, {dec_pop_dim}] values, got shapes {tuple(x_seq.shape)} and "
                             f"{tuple(weight.shape)}.")
    if surrogate_function is None:
        from ..surrogate import Rect

        surrogate_function = Rect()
    firing = check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function)
    like = x_seq[0]
    v = full_like(like, 0.0 if v_reset is None else v_reset)
    c = torch.zeros_like(like)
    lateral = None
    ys = []
    for t, x in enumerate(x_seq.unbind(0)):
        i = x if lateral is None else x + lateral
        if noise_v is not None:
            i = i + sigma_v * noise_v[t]
        if charge == "if":
            h = v + i
        elif charge == "lif":
            h = v_decay * v + i
        else:
            c = c_decay * c + i
            h = v_decay * v + c
        spike, v = fire_and_reset(h, firing["v_threshold"], firing["v_reset"], firing["detach_reset"],
                                  firing["surrogate_function"])
        if noise_s is not None:
            spike = spike + sigma_s * noise_s[t]
        ys.append(spike)
        if weight is not None:
            lateral = ilc_lateral(spike, weight, bias, act_dim, dec_pop_dim)
    return torch.stack(ys), NoisyState(v, c)


def noisy_nonspiking_if_multi_step(x_seq: torch.Tensor, *, noise: Optional[torch.Tensor] = None,
                                   sigma: Number = 0.0, decode: Optional[str] = None, return_v_seq: bool = False):
    """A noisy non-spiking integrator ``V = V + X[t] + sigma N[t]`` from ``V = 0`` over ``x_seq`` ``[T, N, *]``.

    Args:
        noise: ``[T, *]`` broadcastable to one step, or ``None`` for no noise.
        sigma: the noise scale (a float or a tensor broadcastable to one step, e.g. one value per neuron).
        decode, return_v_seq: as :func:`fnsnn.nonspiking_if_multi_step`.

    Returns:
        as :func:`fnsnn.nonspiking_if_multi_step`.
    """
    fn = "noisy_nonspiking_if_multi_step"
    check_seq(fn, "x_seq", x_seq)
    noise = _check_noise(fn, "noise", noise, x_seq)
    check_param(fn, "sigma", sigma)
    _decode_config(fn, decode)
    check_bool(fn, "return_v_seq", return_v_seq)
    if noise is not None:  # align each step's noise with one step of the input
        noise = noise.reshape(noise.shape[0], *([1] * (x_seq.dim() - noise.dim())), *noise.shape[1:])
    drive = x_seq if noise is None else x_seq + sigma * noise
    return nonspiking_if_multi_step(drive, decode=decode, return_v_seq=return_v_seq)
