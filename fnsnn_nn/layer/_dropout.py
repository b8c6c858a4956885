"""Dropout, Dropout2d and DropConnectLinear: shells of :mod:`fnsnn.synapses.dropout` and ``drop_connect``.

The mask is drawn at the first step after a reset and kept until the next
reset. New masks come from ``module.generator`` if set, else from torch's
global generator of the input's device (so ``torch.manual_seed`` reproduces
SpikingJelly's masks).
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn as nn

from fnsnn.synapses import drop_connect as dc
from fnsnn.synapses import dropout as do
from fnsnn.synapses._random import check_probability

from ..base import MemoryModule
from ._common import layer_generator, memory_state, step_input, store_state


class Dropout(MemoryModule):
    """Dropout with one mask per simulation; see :func:`fnsnn.synapses.dropout_step`.

    Args:
        p: probability of zeroing an element, in ``[0, 1)``.
        step_mode: ``'s'`` or ``'m'``.
    """

    _step = staticmethod(do.dropout_step)
    _multi_step = staticmethod(do.dropout_multi_step)
    _init = staticmethod(do.dropout_init_state)

    def __init__(self, p=0.5, step_mode="s"):
        super().__init__()
        self.p = check_probability(type(self).__name__, p)
        self.step_mode = step_mode
        self.generator: Optional[torch.Generator] = None
        self.register_memory("mask", None)

    def _config(self, like: torch.Tensor):
        return dict(p=self.p, training=self.training, generator=layer_generator(self, like.device))

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        like = self.single_step_input(x)
        return self._init(like, **self._config(like))._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y, state = self._step(x, memory_state(self, do.DropoutState, x), **self._config(x))
        store_state(self, state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        like = step_input(self, x_seq, True)
        y_seq, state = self._multi_step(x_seq, memory_state(self, do.DropoutState, like), **self._config(like))
        store_state(self, state)
        return y_seq

    def extra_repr(self) -> str:
        return f"p={self.p}, step_mode={self.step_mode}"


class Dropout2d(Dropout):
    """Channel-wise :class:`Dropout` for ``[N, C, *spatial]`` inputs; see :func:`fnsnn.synapses.dropout2d_step`."""

    _step = staticmethod(do.dropout2d_step)
    _multi_step = staticmethod(do.dropout2d_multi_step)
    _init = staticmethod(do.dropout2d_init_state)

    def __init__(self, p=0.2, step_mode="s"):
        super().__init__(p, step_mode)


_DEFAULT_ACTIVATION = nn.ReLU()


class DropConnectLinear(MemoryModule):
    """DropConnect linear layer; see :func:`fnsnn.synapses.drop_connect_linear_step`.

    Args:
        in_features, out_features, bias: as ``torch.nn.Linear``.
        p: probability of dropping a connection, in ``[0, 1)``.
        samples_num: Gaussian samples drawn at inference.
        invariant: keep the dropped connections until :meth:`reset` instead of redrawing every step.
        activation: module applied after the linear map (part of the inference average), or None.
        step_mode: ``'s'`` or ``'m'`` (``state_mode`` is accepted as an alias).

    Memories ``mask_w`` ``[N, out, in]`` and ``mask_b`` ``[N, out]`` (``[N, 0]`` without bias)
    hold the connection masks; the dropped weight is ``weight * mask_w``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5,
                 samples_num: int = 1024, invariant: bool = False,
                 activation: Optional[nn.Module] = _DEFAULT_ACTIVATION, step_mode: str = "s",
                 state_mode: Optional[str] = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = check_probability(name, p)
        if not isinstance(samples_num, int) or isinstance(samples_num, bool) or samples_num < 1:
            raise ValueError(f"{name}: `samples_num` must be a positive int, got {samples_num!r}.")
        if not isinstance(invariant, bool):
            raise TypeError(f"{name}: `invariant` must be a bool, got {invariant!r}.")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self.samples_num = samples_num
        self.invariant = invariant
        self.activation = activation
        self.generator: Optional[torch.Generator] = None
        self.step_mode = state_mode if state_mode is not None else step_mode
        self.register_memory("mask_w", None)
        self.register_memory("mask_b", None)

    def reset_parameters(self) -> None:
        """Initialise weight and bias as ``torch.nn.Linear`` does."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound)

    def reset(self) -> None:
        """Restore full connectivity; resets ``activation`` too when it has a ``reset()``."""
        super().reset()
        if callable(getattr(self.activation, "reset", None)):
            self.activation.reset()

    def _config(self):
        return dict(weight=self.weight, bias=self.bias, p=self.p, training=self.training,
                    invariant=self.invariant, samples_num=self.samples_num, activation=self.activation,
                    generator=layer_generator(self, self.weight.device))

    def _state(self, like: torch.Tensor):
        n = like.shape[0] if like.dim() > 0 else 0
        shapes = {"mask_w": (n, self.out_features, self.in_features),
                  "mask_b": (n, self.out_features if self.bias is not None else 0)}
        return memory_state(self, dc.DropConnectState, like, shapes)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        like = self.single_step_input(x)
        cfg = self._config()
        return dc.drop_connect_init_state(like, weight=self.weight.detach(),
                                          bias=None if self.bias is None else self.bias.detach(), p=self.p,
                                          training=self.training, generator=cfg["generator"])._asdict()

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y, state = dc.drop_connect_linear_step(x, self._state(x), **self._config())
        store_state(self, state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        like = step_input(self, x_seq, True)
        y_seq, state = dc.drop_connect_linear_multi_step(x_seq, self._state(like), **self._config())
        store_state(self, state)
        return y_seq

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"p={self.p}, invariant={self.invariant}, step_mode={self.step_mode}")
