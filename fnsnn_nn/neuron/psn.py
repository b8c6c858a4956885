"""PSN, MaskedPSN and SlidingPSN: shells of :mod:`fnsnn.neurons.psn`.

Parameters carry SpikingJelly's names and shapes (``weight``, ``bias``, and
the ``_lambda_`` buffer of MaskedPSN), so SpikingJelly state dicts load
directly. In ``step_mode='m'`` each call is a whole sequence started from
rest, as in SpikingJelly: the stored memory is neither read nor written. To
continue a sequence chunk by chunk, call the core functions with an explicit
state.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

import fnsnn
from fnsnn._checks import _describe, check_bool, check_param, check_surrogate
from fnsnn.neurons.psn import SLIDING_PSN_BACKENDS, MaskedPSNState, SlidingPSNState

from ..base import MemoryModule, MultiStepModule


def _default_surrogate(cls: str, surrogate_function: Optional[Callable]) -> Callable:
    if surrogate_function is None:
        from ..surrogate import ATan

        return ATan()
    return check_surrogate(cls, "surrogate_function", surrogate_function)


def _check_int(cls: str, name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{cls}: `{name}` must be an int, got {_describe(value)}.")
    if value < low:
        raise ValueError(f"{cls}: `{name}` must be >= {low}, got {value!r}.")
    return int(value)


def _kaiming_square(T: int) -> torch.Tensor:
    weight = torch.zeros(T, T)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return weight


class PSN(nn.Module, MultiStepModule):
    """Parallel spiking neuron, multi-step only; see :func:`fnsnn.psn_multi_step`.

    Args:
        T: number of time steps of every input sequence.
        surrogate_function: spike function with a surrogate gradient (default ``ATan()``).
    """

    def __init__(self, T: int, surrogate_function: Optional[Callable] = None):
        super().__init__()
        self.T = _check_int("PSN", "T", T)
        self.surrogate_function = _default_surrogate("PSN", surrogate_function)
        self.step_mode = "m"
        self.weight = nn.Parameter(_kaiming_square(self.T))
        self.bias = nn.Parameter(torch.full((self.T, 1), -1.0))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fnsnn.psn_multi_step(x_seq, weight=self.weight, bias=self.bias,
                                    surrogate_function=self.surrogate_function)[0]

    def extra_repr(self) -> str:
        return f"T={self.T}"


class MaskedPSN(MemoryModule):
    """Masked parallel spiking neuron; see :func:`fnsnn.masked_psn_multi_step` and :func:`fnsnn.masked_psn_step`.

    Single-step mode runs only the fully masked neuron (``lambda_ >= 1``) and at
    most ``T`` steps between resets; the memory ``history`` holds the inputs
    seen so far and ``time_step`` reads their number.

    Args:
        k: the order, ``1 <= k <= T``.
        T: number of time steps.
        lambda_init: initial masking progress ``lambda_`` (set it later with ``module.lambda_ = ...``).
        surrogate_function: spike function with a surrogate gradient (default ``ATan()``).
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(self, k: int, T: int, lambda_init: float = 0.0, surrogate_function: Optional[Callable] = None,
                 step_mode: str = "s"):
        super().__init__()
        self.T = _check_int("MaskedPSN", "T", T)
        self.k = _check_int("MaskedPSN", "k", k)
        if self.k > self.T:
            raise ValueError(f"MaskedPSN: the order `k`={k} exceeds the number of time steps T={T}; "
                             f"need 1 <= k <= T.")
        check_param("MaskedPSN", "lambda_init", lambda_init, allow_tensor=False)
        self.register_memory("history", None)
        self.step_mode = step_mode
        self.surrogate_function = _default_surrogate("MaskedPSN", surrogate_function)
        self.register_buffer("_lambda_", torch.as_tensor(float(lambda_init)))
        self.weight = nn.Parameter(_kaiming_square(self.T))
        self.bias = nn.Parameter(torch.full((self.T, 1), -1.0))

    @property
    def lambda_(self) -> torch.Tensor:
        """The masking progress (a 0-dim buffer); ``>= 1`` is the fully masked neuron."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        check_param("MaskedPSN", "lambda_", value)
        with torch.no_grad():
            self._lambda_.fill_(value)

    @property
    def time_step(self) -> int:
        """Number of single steps taken since the last reset."""
        return self.history.shape[0] if isinstance(self.history, torch.Tensor) else 0

    def masked_weight(self) -> torch.Tensor:
        """The ``[T, T]`` weight under the current mask; see :func:`fnsnn.masked_psn_weight`."""
        return fnsnn.masked_psn_weight(self.weight, k=self.k, lambda_=self._lambda_)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return fnsnn.masked_psn_init_state(self.single_step_input(x))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"MaskedPSN: input must be a tensor, got {_describe(x)}.")
        lam = float(self._lambda_)
        if lam < 1.0:
            raise ValueError(f"MaskedPSN: single-step mode needs lambda_ >= 1 (the fully masked, causal neuron), "
                             f"got lambda_={lam}; use step_mode='m' or set module.lambda_ = 1.")
        state = None
        if isinstance(self.history, torch.Tensor):
            self.check_memory("history", self.history, x, (self.history.shape[0], *x.shape))
            state = MaskedPSNState(self.history)
        spike, state = fnsnn.masked_psn_step(x, state, weight=self.weight, bias=self.bias, k=self.k,
                                             surrogate_function=self.surrogate_function)
        self.history = state.history
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fnsnn.masked_psn_multi_step(x_seq, weight=self.weight, bias=self.bias, k=self.k,
                                           lambda_=self._lambda_, surrogate_function=self.surrogate_function)[0]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # SpikingJelly stores its two masks as buffers; here they follow from k and T, so accept and check them.
        for name in ("mask0", "mask1"):
            value = state_dict.pop(prefix + name, None)
            if value is None:
                continue
            ones = torch.ones(self.T, self.T, dtype=value.dtype, device=value.device)
            want = fnsnn.masked_psn_weight(ones, k=self.k, lambda_=1.0 if name == "mask0" else 0.0)
            if tuple(value.shape) != (self.T, self.T) or not torch.equal(value, want):
                error_msgs.append(f"MaskedPSN: {prefix + name} does not match this module's k={self.k}, T={self.T}.")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return f"k={self.k}, T={self.T}, lambda_={float(self._lambda_)}, step_mode={self.step_mode}"


class SlidingPSN(MemoryModule):
    """Sliding parallel spiking neuron; see :func:`fnsnn.sliding_psn_step` and :func:`fnsnn.sliding_psn_multi_step`.

    The memory ``history`` holds the last ``k - 1`` inputs of single-step mode.

    Args:
        k: the order (>= 1).
        exp_init: start the weight at ``(..., 1/4, 1/2, 1)``; otherwise Kaiming-uniform.
        surrogate_function: spike function with a surrogate gradient (default ``ATan()``).
        step_mode: ``'s'`` or ``'m'``.
        backend: ``'gemm'`` or ``'conv'``, used in multi-step mode.
    """

    def __init__(self, k: int, exp_init: bool = True, surrogate_function: Optional[Callable] = None,
                 step_mode: str = "s", backend: str = "gemm"):
        super().__init__()
        self.k = _check_int("SlidingPSN", "k", k)
        check_bool("SlidingPSN", "exp_init", exp_init)
        self.register_memory("history", None)
        self.step_mode = step_mode
        self.surrogate_function = _default_surrogate("SlidingPSN", surrogate_function)
        self.backend = backend
        if exp_init:
            weight = torch.tensor([0.5 ** (self.k - 1 - i) for i in range(self.k)])
        else:
            weight = torch.ones(1, self.k)
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight = weight[0]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.as_tensor(-1.0))

    @property
    def supported_backends(self):
        return SLIDING_PSN_BACKENDS

    @property
    def backend(self) -> str:
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        if value not in SLIDING_PSN_BACKENDS:
            raise ValueError(f"SlidingPSN: `backend` must be one of {SLIDING_PSN_BACKENDS}, got {value!r}.")
        self._backend = value

    def gen_gemm_weight(self, T: int) -> torch.Tensor:
        """The ``[T, T]`` matrix of the multi-step product; see :func:`fnsnn.sliding_psn_gemm_weight`."""
        return fnsnn.sliding_psn_gemm_weight(self.weight, T)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return fnsnn.sliding_psn_init_state(self.single_step_input(x), k=self.k)._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SlidingPSN: input must be a tensor, got {_describe(x)}.")
        state = None
        if isinstance(self.history, torch.Tensor):
            self.check_memory("history", self.history, x, (self.k - 1, *x.shape))
            state = SlidingPSNState(self.history)
        spike, state = fnsnn.sliding_psn_step(x, state, weight=self.weight, bias=self.bias,
                                              surrogate_function=self.surrogate_function)
        self.history = state.history
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fnsnn.sliding_psn_multi_step(x_seq, weight=self.weight, bias=self.bias,
                                            surrogate_function=self.surrogate_function, backend=self.backend)[0]

    def extra_repr(self) -> str:
        return f"order={self.k}, step_mode={self.step_mode}, backend={self.backend}"
