"""PSN, MaskedPSN and SlidingPSN: shells of :mod:`fnsnn.neurons.psn`.

Parameters carry SpikingJelly's names and shapes (``weight``, ``bias``, and
the ``_lambda_``, ``mask0``, ``mask1`` buffers of MaskedPSN), so SpikingJelly
state dicts load directly. In ``step_mode='m'`` each call is a whole sequence started from
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
    most ``T`` steps between resets. The memories carry the seed's names: ``queue``
    holds the inputs seen so far, ``[time_step, *x.shape]`` (the core state's
    ``history``; the seed keeps a list of the last ``k`` flattened inputs), and
    ``time_step`` their number (an int64 scalar tensor after the first step).
    The buffers ``mask0`` (the order-``k`` band) and ``mask1`` (ones) follow from
    ``k`` and ``T``; they are stored so SpikingJelly checkpoints interchange, and
    a checkpoint whose masks disagree with ``k``, ``T`` does not load.

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
        self.register_memory("time_step", 0)
        self.register_memory("queue", None)
        self.step_mode = step_mode
        self.surrogate_function = _default_surrogate("MaskedPSN", surrogate_function)
        self.register_buffer("_lambda_", torch.as_tensor(float(lambda_init)))
        self.weight = nn.Parameter(_kaiming_square(self.T))
        self.bias = nn.Parameter(torch.full((self.T, 1), -1.0))
        for name in ("mask0", "mask1"):
            self.register_buffer(name, self._mask(name, torch.float32, None))

    @property
    def lambda_(self) -> torch.Tensor:
        """The masking progress (a 0-dim buffer); ``>= 1`` is the fully masked neuron."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        check_param("MaskedPSN", "lambda_", value)
        with torch.no_grad():
            self._lambda_.fill_(value)

    def _mask(self, name: str, dtype: torch.dtype, device) -> torch.Tensor:
        """``mask0`` (lambda = 1) or ``mask1`` (lambda = 0) for this module's ``k`` and ``T``."""
        ones = torch.ones(self.T, self.T, dtype=dtype, device=device)
        return fnsnn.masked_psn_weight(ones, k=self.k, lambda_=1.0 if name == "mask0" else 0.0)

    def masked_weight(self) -> torch.Tensor:
        """The ``[T, T]`` weight under the current mask; see :func:`fnsnn.masked_psn_weight`."""
        return fnsnn.masked_psn_weight(self.weight, k=self.k, lambda_=self._lambda_)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        like = self.single_step_input(x)
        history = fnsnn.masked_psn_init_state(like).history
        return {"time_step": torch.zeros((), dtype=torch.long, device=like.device), "queue": history}

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"MaskedPSN: input must be a tensor, got {_describe(x)}.")
        lam = float(self._lambda_)
        if lam < 1.0:
            raise ValueError(f"MaskedPSN: single-step mode needs lambda_ >= 1 (the fully masked, causal neuron), "
                             f"got lambda_={lam}; use step_mode='m' or set module.lambda_ = 1.")
        state = None
        if isinstance(self.queue, torch.Tensor):
            self.check_memory("queue", self.queue, x, (self.queue.shape[0], *x.shape))
            self._check_time_step()
            state = MaskedPSNState(self.queue)
        spike, state = fnsnn.masked_psn_step(x, state, weight=self.weight, bias=self.bias, k=self.k,
                                             surrogate_function=self.surrogate_function)
        self.queue = state.history
        self.time_step = torch.full((), state.history.shape[0], dtype=torch.long, device=x.device)
        return spike

    def _check_time_step(self) -> None:
        """``time_step`` must count the inputs in ``queue`` (it can differ only in a hand-made state)."""
        t = self.time_step
        if isinstance(t, torch.Tensor) and (torch._C._are_functorch_transforms_active()
                                            or torch.compiler.is_compiling()):
            return  # the value cannot be read here; `queue` alone decides
        if int(t) != self.queue.shape[0]:
            raise ValueError(f"MaskedPSN: memory `time_step`={int(t)} but `queue` holds {self.queue.shape[0]} "
                             f"inputs; they must agree (call fnsnn_nn.functional.reset_net(net) to start over).")

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fnsnn.masked_psn_multi_step(x_seq, weight=self.weight, bias=self.bias, k=self.k,
                                           lambda_=self._lambda_, surrogate_function=self.surrogate_function)[0]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # The two masks follow from k and T; a checkpoint made for another k or T must not load.
        for name in ("mask0", "mask1"):
            value = state_dict.get(prefix + name)
            if not isinstance(value, torch.Tensor):
                continue
            if tuple(value.shape) != (self.T, self.T) or \
                    not torch.equal(value, self._mask(name, value.dtype, value.device)):
                error_msgs.append(f"MaskedPSN: {prefix + name} does not match this module's k={self.k}, T={self.T}.")
                state_dict.pop(prefix + name)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return f"k={self.k}, T={self.T}, lambda_={float(self._lambda_)}, step_mode={self.step_mode}"


class SlidingPSN(MemoryModule):
    """Sliding parallel spiking neuron; see :func:`fnsnn.sliding_psn_step` and :func:`fnsnn.sliding_psn_multi_step`.

    The memory ``queue`` (the seed's name; the core state's ``history``) holds the
    last ``k - 1`` inputs of single-step mode, ``[k - 1, *x.shape]``, zeros at rest
    (the seed keeps a list of up to ``k`` flattened inputs).

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
        self.register_memory("queue", None)
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
        return {"queue": fnsnn.sliding_psn_init_state(self.single_step_input(x), k=self.k).history}

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SlidingPSN: input must be a tensor, got {_describe(x)}.")
        state = None
        if isinstance(self.queue, torch.Tensor):
            self.check_memory("queue", self.queue, x, (self.k - 1, *x.shape))
            state = SlidingPSNState(self.queue)
        spike, state = fnsnn.sliding_psn_step(x, state, weight=self.weight, bias=self.bias,
                                              surrogate_function=self.surrogate_function)
        self.queue = state.history
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fnsnn.sliding_psn_multi_step(x_seq, weight=self.weight, bias=self.bias,
                                            surrogate_function=self.surrogate_function, backend=self.backend)[0]

    def extra_repr(self) -> str:
        return f"order={self.k}, step_mode={self.step_mode}, backend={self.backend}"
