"""Noisy neurons of noisy spiking actor networks: shells of :mod:`fnsnn.neurons.noisy`.

The shells draw the coloured noise (:meth:`reset_noise`, from torch's global RNG) and pass it to the pure core
functions, which draw nothing. ``is_training`` (a constructor flag, as in SpikingJelly) switches the noise on.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn as nn

import fnsnn
from fnsnn._checks import check_bool, check_param, check_positive_int
from fnsnn.neurons.noisy import (
    colored_noise_from_white,
    noisy_nonspiking_if_multi_step,
    noisy_spiking_multi_step,
)

from ..base import MultiStepModule
from ..surrogate import Rect

__all__ = ["powerlaw_psd_gaussian", "colored_noise_from_white", "NoisyBaseNode", "NoisyCUBALIFNode",
           "NoisyILCBaseNode", "NoisyILCCUBALIFNode", "NoisyNonSpikingBaseNode", "NoisyNonSpikingIFNode"]

# SpikingJelly 2.0.0 spells the last-potential decoding "last-me" here ("last_mem" in NonSpikingBaseNode).
_DECODES = {None: None, "max-mem": "max-mem", "max-abs-mem": "max-abs-mem", "mean-mem": "mean-mem",
            "last-me": "last_mem", "last_mem": "last_mem"}


def powerlaw_psd_gaussian(exponent: float, size: Union[int, Sequence[int]], fmin: float = 0.0,
                          random_state: Union[None, int, torch.Generator] = None) -> torch.Tensor:
    """Coloured Gaussian noise ``~ (1 / f) ** exponent`` of shape ``size`` (time last); see
    :func:`fnsnn.powerlaw_psd_gaussian`. ``random_state``: ``None`` (torch's global RNG), an int seed or a
    ``torch.Generator``. Returns a float64 tensor (SpikingJelly returns a NumPy array drawn by NumPy)."""
    if random_state is None:
        gen = torch.default_generator
    elif isinstance(random_state, torch.Generator):
        gen = random_state
    elif isinstance(random_state, int) and not isinstance(random_state, bool):
        gen = torch.Generator().manual_seed(random_state)
    else:
        raise TypeError(f"powerlaw_psd_gaussian: `random_state` must be None, an int seed or a torch.Generator, "
                        f"got {type(random_state).__name__}.")
    return fnsnn.powerlaw_psd_gaussian(exponent, size, fmin, generator=gen)


def _check_noise_args(name: str, num_node, is_training, T, sigma_init, beta) -> None:
    """The constructor arguments every noisy neuron takes."""
    check_positive_int(name, "num_node", num_node)
    check_positive_int(name, "T", T)
    check_bool(name, "is_training", is_training)
    check_param(name, "sigma_init", sigma_init, allow_tensor=False)
    check_param(name, "beta", beta, allow_tensor=False)


class _NoiseSource:
    """Coloured noise per RL step: ``reset_noise`` draws ``[steps, T, num_node]`` sequences, ``forward`` takes
    the next one (or a loaded ``[N, T, *]`` noise), as SpikingJelly's noisy nodes do."""

    def _draw(self, num_rl_step: int) -> torch.Tensor:
        check_positive_int(type(self).__name__, "num_rl_step", num_rl_step)
        noise = powerlaw_psd_gaussian(self.beta, [self.num_node, num_rl_step * self.T])
        return noise.to(torch.float32).reshape(self.num_node, num_rl_step, self.T).permute(1, 2, 0)

    def _next(self, name: str, seq_attr: str, loaded, x_seq: torch.Tensor) -> torch.Tensor:
        """The noise ``[T, *]`` of this call: the loaded ``[N, T, D]`` noise, else step ``noise_step`` of the draw."""
        if loaded is not None:
            return loaded.transpose(0, 1).to(x_seq.device)
        seq = getattr(self, seq_attr, None)
        if seq is None:
            raise RuntimeError(f"{type(self).__name__}: no noise drawn; call reset_noise(num_rl_step) before a "
                               f"training forward (or load_colored_noise).")
        if self.noise_step >= seq.shape[0]:
            raise RuntimeError(f"{type(self).__name__}: the {seq.shape[0]} noise sequences drawn by reset_noise are "
                               f"used up; call reset_noise again.")
        return seq[self.noise_step].to(x_seq.device)

    def _check_T(self, x_seq: torch.Tensor) -> None:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] != self.T:
            shape = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
            raise ValueError(f"{type(self).__name__}: the input must be [T={self.T}, N, {self.num_node}], got {shape}.")


class NoisyBaseNode(nn.Module, MultiStepModule, _NoiseSource):
    """Noisy spiking neurons on ``[T, N, num_node]``; see :func:`fnsnn.noisy_spiking_multi_step`.

    A subclass sets ``charge`` (``"if"``, ``"lif"`` or ``"cuba"``; the decays are attributes ``v_decay``,
    ``c_decay``). Every call starts from rest; ``v`` and ``c`` hold the state after it. With ``is_training`` the
    input gets ``sigma_v`` times the membrane noise and the output ``sigma_s`` times the spike noise
    (``sigma_init / sqrt(num_node)`` each).

    Args:
        num_node: neurons per sample. is_training: add the noise. T: time steps per call.
        sigma_init: noise scale before the ``1 / sqrt(num_node)`` factor. beta: spectral exponent of the noise.
        v_threshold, v_reset (``None``: soft reset), surrogate_function (default ``Rect()``).
    """

    charge: Optional[str] = None

    def __init__(self, num_node: int, is_training: bool = True, T: int = 5, sigma_init: float = 0.5,
                 beta: float = 0.0, v_threshold: float = 0.5, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None):
        super().__init__()
        name = type(self).__name__
        _check_noise_args(name, num_node, is_training, T, sigma_init, beta)
        check_param(name, "v_threshold", v_threshold)
        check_param(name, "v_reset", v_reset, allow_none=True)
        self.num_node, self.is_training, self.T, self.beta = num_node, is_training, T, beta
        self.sigma_v = sigma_init / math.sqrt(num_node)
        self.sigma_s = sigma_init / math.sqrt(num_node)
        self.cn_v = self.cn_s = None
        self.eps_v_seq = self.eps_s_seq = None
        self.noise_step = -1
        self.v_threshold, self.v_reset = v_threshold, v_reset
        self.surrogate_function = Rect() if surrogate_function is None else surrogate_function
        self.step_mode = "m"
        self.v = self.c = None

    def lateral(self) -> dict:
        return {}

    def decays(self) -> dict:
        return {k: getattr(self, k) for k in ("c_decay", "v_decay") if hasattr(self, k)}

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.charge is None:
            raise TypeError(f"{type(self).__name__}: NoisyBaseNode is a base class without dynamics; subclass it and "
                            f"set `charge` to 'if', 'lif' or 'cuba' (or use NoisyCUBALIFNode).")
        self._check_T(x_seq)
        noise_v = noise_s = None
        if self.is_training:
            if self.cn_v is None or self.cn_s is None:
                self.noise_step += 1
            noise_v = self._next("noise_v", "eps_v_seq", self.cn_v, x_seq)
            noise_s = self._next("noise_s", "eps_s_seq", self.cn_s, x_seq)
        y, state = noisy_spiking_multi_step(x_seq, noise_v=noise_v, noise_s=noise_s, sigma_v=self.sigma_v,
                                            sigma_s=self.sigma_s, charge=self.charge, v_threshold=self.v_threshold,
                                            v_reset=self.v_reset, surrogate_function=self.surrogate_function,
                                            **self.decays(), **self.lateral())
        self.v, self.c = state
        return y

    def reset_noise(self, num_rl_step: int) -> None:
        """Draw membrane and spike noise for ``num_rl_step`` calls (from torch's global RNG, membrane first)."""
        self.eps_v_seq = self._draw(num_rl_step)
        self.eps_s_seq = self._draw(num_rl_step)
        self.noise_step = -1

    def get_colored_noise(self) -> torch.Tensor:
        """The noise of the current call, ``[T, 2 * num_node]`` (membrane, then spike)."""
        return torch.cat([self.eps_v_seq[self.noise_step], self.eps_s_seq[self.noise_step]], dim=1)

    def load_colored_noise(self, cn: torch.Tensor) -> None:
        """Use ``cn`` ``[N, T, 2 * num_node]`` (stacked :meth:`get_colored_noise` outputs) instead of the draw."""
        self.cn_v = cn[:, :, : self.num_node]
        self.cn_s = cn[:, :, self.num_node:]

    def cancel_load(self) -> None:
        self.cn_v = self.cn_s = None

    def extra_repr(self) -> str:
        return f"num_node={self.num_node}, T={self.T}, is_training={self.is_training}, charge={self.charge!r}"


class NoisyCUBALIFNode(NoisyBaseNode):
    """Noisy current-based LIF neurons, ``C = c_decay C + I``, ``V = v_decay V + C``."""

    charge = "cuba"

    def __init__(self, num_node: int, c_decay: float = 0.5, v_decay: float = 0.75, is_training: bool = True,
                 T: int = 5, sigma_init: float = 0.5, beta: float = 0.0, v_threshold: float = 0.5,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None):
        check_param("NoisyCUBALIFNode", "c_decay", c_decay)
        check_param("NoisyCUBALIFNode", "v_decay", v_decay)
        super().__init__(num_node, is_training, T, sigma_init, beta, v_threshold, v_reset, surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay


class NoisyILCBaseNode(NoisyBaseNode):
    """Noisy neurons with intra-layer connections (``conn``, as :class:`ILCBaseNode`): the noisy spikes of step
    ``t`` reach the same population at ``t + 1``. A subclass sets ``charge``."""

    def __init__(self, act_dim: int, dec_pop_dim: int, is_training: bool = True, T: int = 5,
                 sigma_init: float = 0.5, beta: float = 0.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None):
        name = type(self).__name__
        check_positive_int(name, "act_dim", act_dim)
        check_positive_int(name, "dec_pop_dim", dec_pop_dim)
        super().__init__(act_dim * dec_pop_dim, is_training, T, sigma_init, beta, v_threshold, v_reset,
                         surrogate_function)
        self.act_dim, self.dec_pop_dim = act_dim, dec_pop_dim
        self.conn = nn.Conv1d(act_dim, act_dim * dec_pop_dim, dec_pop_dim, groups=act_dim)

    def lateral(self) -> dict:
        return dict(weight=self.conn.weight, bias=self.conn.bias, act_dim=self.act_dim, dec_pop_dim=self.dec_pop_dim)


class NoisyILCCUBALIFNode(NoisyILCBaseNode):
    """Noisy current-based LIF neurons with intra-layer connections."""

    charge = "cuba"

    def __init__(self, act_dim: int, dec_pop_dim: int, c_decay: float = 0.5, v_decay: float = 0.75,
                 is_training: bool = True, T: int = 5, sigma_init: float = 0.5, beta: float = 0.0,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None):
        check_param("NoisyILCCUBALIFNode", "c_decay", c_decay)
        check_param("NoisyILCCUBALIFNode", "v_decay", v_decay)
        super().__init__(act_dim, dec_pop_dim, is_training, T, sigma_init, beta, v_threshold, v_reset,
                         surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay


class NoisyNonSpikingBaseNode(nn.Module, MultiStepModule, _NoiseSource):
    """Noisy non-spiking integrators on ``[T, N, num_node]`` with a learnable per-neuron noise scale ``sigma``
    (``sigma_init / sqrt(num_node)``); see :func:`fnsnn.noisy_nonspiking_if_multi_step`. A subclass sets
    ``multi_step_function``. Every call starts from ``v = 0``.

    Args:
        num_node, is_training, T, beta: as :class:`NoisyBaseNode`.
        decode: ``None`` (a list of the ``T`` potentials), ``"max-mem"``, ``"max-abs-mem"``, ``"mean-mem"`` or
            ``"last-me"`` (SpikingJelly's spelling; ``"last_mem"`` too) for one ``[N, num_node]`` tensor.
    """

    multi_step_function: Optional[Callable] = None

    def __init__(self, num_node: int, is_training: bool = True, T: int = 5, sigma_init: float = 0.5,
                 beta: float = 0.0, decode: Optional[str] = None):
        super().__init__()
        name = type(self).__name__
        _check_noise_args(name, num_node, is_training, T, sigma_init, beta)
        if not isinstance(decode, (str, type(None))) or decode not in _DECODES:
            raise ValueError(f"{name}: `decode` must be one of {tuple(_DECODES)}, got {decode!r}.")
        self.num_node, self.is_training, self.T, self.beta, self.decode = num_node, is_training, T, beta, decode
        self.sigma = nn.Parameter(torch.full((num_node,), sigma_init / math.sqrt(num_node), dtype=torch.float))
        self.cn = None
        self.eps_seq = None
        self.noise_step = -1
        self.step_mode = "m"
        self.v = None

    def forward(self, x_seq: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        run = type(self).multi_step_function
        if run is None:
            raise TypeError(f"{type(self).__name__}: NoisyNonSpikingBaseNode is a base class without dynamics; "
                            f"subclass it and set `multi_step_function` (or use NoisyNonSpikingIFNode).")
        self._check_T(x_seq)
        noise = None
        if self.is_training:
            if self.cn is None:
                self.noise_step += 1
            noise = self._next("noise", "eps_seq", self.cn, x_seq)
        y, state = run(x_seq, noise=noise, sigma=self.sigma, decode=_DECODES[self.decode])
        self.v = state.v
        return list(y.unbind(0)) if self.decode is None else y

    def reset_noise(self, num_rl_step: int) -> None:
        """Draw noise for ``num_rl_step`` calls (from torch's global RNG)."""
        self.eps_seq = self._draw(num_rl_step)
        self.noise_step = -1

    def get_colored_noise(self) -> torch.Tensor:
        return self.eps_seq[self.noise_step]

    def load_colored_noise(self, cn: torch.Tensor) -> None:
        """Use ``cn`` ``[N, T, num_node]`` instead of the draw."""
        self.cn = cn

    def cancel_load(self) -> None:
        self.cn = None

    def extra_repr(self) -> str:
        return f"num_node={self.num_node}, T={self.T}, is_training={self.is_training}, decode={self.decode!r}"


class NoisyNonSpikingIFNode(NoisyNonSpikingBaseNode):
    """Noisy non-spiking integrator ``V = V + X + sigma N``."""

    multi_step_function = staticmethod(noisy_nonspiking_if_multi_step)
