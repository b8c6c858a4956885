"""KLIFNode, LIAFNode, CUBALIFNode, ComplementaryLIFNode and GatedLIFNode: shells of
:mod:`fnsnn.neurons.lif_variants`."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn

import fnsnn
from fnsnn._checks import check_param, check_seq, check_surrogate
from fnsnn.neurons.lif_variants import (
    CLIF,
    CUBALIF,
    KLIF,
    GatedLIFState,
    LIAF,
    _clif_config,
    _cuba_config,
    _klif_config,
    _liaf_config,
)

from ..base import MemoryModule
from ._base import BaseNode, default_surrogate
from .lif import LIFNode


def _rect(alpha: float = 1.0):
    from ..surrogate import Rect

    return Rect(alpha=alpha)


class KLIFNode(BaseNode):
    """KLIF neuron with a learnable scale ``k`` (starting at 1); equations in :func:`fnsnn.klif_step`.

    Args:
        scale_reset: reset ``H / k`` against ``v_threshold / k``.
        tau: membrane time constant (> 1).
        decay_input: whether the input decays with ``tau`` too.
        Other arguments as :class:`BaseNode` (``backend`` comes last, after SpikingJelly's arguments).
    """

    family = KLIF
    step_function = staticmethod(fnsnn.klif_step)
    multi_step_function = staticmethod(fnsnn.klif_multi_step)

    def __init__(self, scale_reset: bool = False, tau: float = 2.0, decay_input: bool = True,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, backend: str = "auto"):
        surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        _klif_config("KLIFNode", 1.0, scale_reset, tau, decay_input, v_threshold, v_reset, detach_reset,
                     surrogate_function)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.scale_reset = scale_reset
        self.tau = tau
        self.decay_input = decay_input
        self.k = nn.Parameter(torch.as_tensor(1.0))

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), k=self.k, scale_reset=self.scale_reset, tau=self.tau,
                    decay_input=self.decay_input)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, scale_reset={self.scale_reset}"


class LIAFNode(LIFNode):
    """Leaky integrate-and-analog-fire neuron: a LIFNode whose output is ``act(...)``.

    Equations in :func:`fnsnn.liaf_step`; the output is analog in both step modes.

    Args:
        act: activation applied to the charged potential, e.g. ``torch.relu``.
        threshold_related: apply ``act`` to ``H - v_threshold`` instead of ``H``.
        *args, **kwargs: the arguments of :class:`LIFNode`.
    """

    family = LIAF
    step_function = staticmethod(fnsnn.liaf_step)
    multi_step_function = staticmethod(fnsnn.liaf_multi_step)

    def __init__(self, act: Callable, threshold_related: bool, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _liaf_config("LIAFNode", act, threshold_related, self.tau, self.decay_input, self.v_threshold,
                     self.v_reset, self.detach_reset, self.surrogate_function)
        self.act = act
        self.threshold_related = threshold_related

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), act=self.act, threshold_related=self.threshold_related)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", threshold_related={self.threshold_related}"


class CUBALIFNode(BaseNode):
    """Current-based LIF neuron with memories ``v`` and ``c``; equations in :func:`fnsnn.cuba_lif_step`.

    Args:
        c_decay: decay factor of the synaptic current, in [0, 1].
        v_decay: decay factor of the membrane potential, in [0, 1].
        v_threshold, v_reset: as :class:`BaseNode` (default threshold 0.5).
        surrogate_function: default ``fnsnn_nn.surrogate.Rect()``.
        detach_reset, step_mode, store_v_seq, backend: keyword extras beyond SpikingJelly's
            constructor, as :class:`BaseNode`.
    """

    family = CUBALIF
    step_function = staticmethod(fnsnn.cuba_lif_step)
    multi_step_function = staticmethod(fnsnn.cuba_lif_multi_step)

    def __init__(self, c_decay: float = 0.5, v_decay: float = 0.75, v_threshold: float = 0.5,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None, *,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        surrogate_function = _rect() if surrogate_function is None else surrogate_function
        _cuba_config("CUBALIFNode", c_decay, v_decay, v_threshold, v_reset, detach_reset, surrogate_function)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.c_decay = c_decay
        self.v_decay = v_decay

    def core_config(self) -> Dict[str, Any]:
        return dict(super().core_config(), c_decay=self.c_decay, v_decay=self.v_decay)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c_decay={self.c_decay}, v_decay={self.v_decay}"


class ComplementaryLIFNode(BaseNode):
    """Complementary LIF neuron (CLIF) with memories ``v`` and ``m``; equations in :func:`fnsnn.clif_step`.

    It has no ``v_reset``/``detach_reset``. In eval mode a spiking surrogate is
    replaced by the plain Heaviside step, as in SpikingJelly.

    Args:
        tau: membrane time constant (> 1).
        v_threshold: firing threshold.
        surrogate_function: default ``fnsnn_nn.surrogate.Rect(alpha=1.0)``.
        step_mode: ``'s'`` or ``'m'``.
        store_state_seqs: in multi-step mode keep ``state_seqs = [v_seq, m_seq]`` of the last call.
        backend: as :class:`BaseNode`, keyword extra beyond SpikingJelly's arguments.
    """

    family = CLIF
    step_function = staticmethod(fnsnn.clif_step)
    multi_step_function = staticmethod(fnsnn.clif_multi_step)

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, surrogate_function: Optional[Callable] = None,
                 step_mode: str = "s", store_state_seqs: bool = False, *, backend: str = "auto"):
        surrogate_function = _rect(1.0) if surrogate_function is None else surrogate_function
        _clif_config("ComplementaryLIFNode", tau, v_threshold, surrogate_function)
        super().__init__(v_threshold, None, surrogate_function, False, step_mode, backend, False)
        self.tau = tau
        self.store_state_seqs = store_state_seqs

    @property
    def store_state_seqs(self) -> bool:
        return self._store_state_seqs

    @store_state_seqs.setter
    def store_state_seqs(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"ComplementaryLIFNode: `store_state_seqs` must be a bool, got {value!r}.")
        self._store_state_seqs = value
        self.state_seqs = None

    def core_config(self) -> Dict[str, Any]:
        spike_function = self.surrogate_function
        if not self.training and getattr(spike_function, "spiking", False):
            spike_function = fnsnn.surrogate.heaviside
        return dict(tau=self.tau, v_threshold=self.v_threshold, surrogate_function=spike_function)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.store_state_seqs:
            return super().multi_step_forward(x_seq)
        check_seq(type(self).__name__, "x_seq", x_seq)
        cfg = self.core_config()
        state = self._core_state(x_seq[0], cfg)
        spike_seq, state, states = fnsnn.scan(fnsnn.clif_step, x_seq, state, return_states=True, **cfg)
        self._store(state)
        self.state_seqs = [states.v, states.m]
        return spike_seq

    def reset(self) -> None:
        super().reset()
        self.state_seqs = None

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}"


def _logit(p: float) -> float:
    return -math.log(1.0 / p - 1.0)


def _check_gate(name: str, value: Any, allow_none: bool = False) -> None:
    check_param("GatedLIFNode", name, value, gt=0.0, lt=1.0, allow_none=allow_none, allow_tensor=False)


class GatedLIFNode(MemoryModule):
    """Gated LIF neuron (GLIF) for sequences of exactly ``T`` steps; equations in :func:`fnsnn.gated_lif_step`.

    Multi-step only. Every parameter is a learnable logit: ``alpha``, ``beta``,
    ``gamma`` start at ``0.2 (u - 0.5)`` with ``u ~ U(0, 1)`` (drawn from torch's
    generator), the others at ``logit(init_*)``; ``conduct`` holds one gate per
    time step. The memories are ``v`` and the last ``spike``; both carry over
    to the next call until ``reset()`` (SpikingJelly keeps ``v`` but restarts
    the spike at 0, and names a second, unused memory ``u``).

    Args:
        T: number of time steps of every input.
        inplane: number of channels for per-channel parameters (input ``[T, N, C, *]``
            with ``C = inplane``), or ``None`` for scalar parameters.
        init_linear_decay: initial linear decay in (0, 1); default ``init_v_threshold / (2 T)``.
        init_v_subreset: initial subtractive reset in (0, 1); default ``init_v_threshold``.
        init_tau, init_v_threshold, init_conduct: initial gates in (0, 1).
        surrogate_function: default ``fnsnn_nn.surrogate.Sigmoid()``.
        step_mode: must be ``'m'``.
    """

    def __init__(self, T: int, inplane: Optional[int] = None, init_linear_decay: Optional[float] = None,
                 init_v_subreset: Optional[float] = None, init_tau: float = 0.25, init_v_threshold: float = 0.5,
                 init_conduct: float = 0.5, surrogate_function: Optional[Callable] = None, step_mode: str = "m"):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"GatedLIFNode: `T` must be a positive int (the number of time steps), got {T!r}.")
        if inplane is not None and (isinstance(inplane, bool) or not isinstance(inplane, int) or inplane < 1):
            raise ValueError(f"GatedLIFNode: `inplane` must be None or a positive int, got {inplane!r}.")
        for name, value in (("init_tau", init_tau), ("init_v_threshold", init_v_threshold),
                            ("init_conduct", init_conduct)):
            _check_gate(name, value)
        _check_gate("init_linear_decay", init_linear_decay, allow_none=True)
        _check_gate("init_v_subreset", init_v_subreset, allow_none=True)
        surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        check_surrogate("GatedLIFNode", "surrogate_function", surrogate_function)
        self.step_mode = step_mode
        self.T = T
        self.inplane = inplane
        self.surrogate_function = surrogate_function
        self.register_memory("v", 0.0)
        self.register_memory("spike", 0.0)
        shape = () if inplane is None else (inplane,)
        if init_linear_decay is None:
            init_linear_decay = init_v_threshold / (T * 2)
        if init_v_subreset is None:
            init_v_subreset = init_v_threshold
        self.alpha, self.beta, self.gamma = (nn.Parameter(0.2 * (torch.rand(shape) - 0.5)) for _ in range(3))
        self.tau = nn.Parameter(torch.full(shape, _logit(init_tau)))
        self.v_threshold = nn.Parameter(torch.full(shape, _logit(init_v_threshold)))
        self.linear_decay = nn.Parameter(torch.full(shape, _logit(init_linear_decay)))
        self.v_subreset = nn.Parameter(torch.full(shape, _logit(init_v_subreset)))
        self.conduct = nn.Parameter(torch.full((T, *shape), _logit(init_conduct)))

    def supported_step_mode(self):
        return ("m",)

    def _check_input(self, x_seq: Any) -> None:
        name = type(self).__name__
        if not isinstance(x_seq, torch.Tensor):
            raise TypeError(f"{name}: input must be a tensor [T, N, *], got {type(x_seq).__name__}.")
        if x_seq.dim() < 2 or x_seq.shape[0] != self.T:
            raise ValueError(f"{name}: was built for T={self.T} time steps, so the input must be [T={self.T}, N, *]; "
                             f"got shape {tuple(x_seq.shape)}.")
        if self.inplane is not None and (x_seq.dim() < 3 or x_seq.shape[2] != self.inplane):
            raise ValueError(f"{name}: inplane={self.inplane} needs input [T, N, C={self.inplane}, *], "
                             f"got shape {tuple(x_seq.shape)}.")

    def _per_channel(self, p: torch.Tensor, x_seq: torch.Tensor, lead: int) -> torch.Tensor:
        """View a parameter of shape ``[lead dims..., C]`` so it broadcasts over ``[N, C, *]``."""
        if self.inplane is None:
            return p
        return p.reshape(*p.shape[:lead], self.inplane, *([1] * (x_seq.dim() - 3)))

    def core_config(self, x_seq: torch.Tensor) -> Dict[str, Any]:
        names = ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset")
        cfg = {n: self._per_channel(getattr(self, n), x_seq, 0) for n in names}
        return dict(cfg, conduct=self._per_channel(self.conduct, x_seq, 1),
                    surrogate_function=self.surrogate_function)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        like = x_seq[0]
        rest = fnsnn.gated_lif_init_state(like)
        state = GatedLIFState(*(self.memory_for(f, like, lambda f=f: getattr(rest, f)) for f in GatedLIFState._fields))
        spike_seq, state = fnsnn.gated_lif_multi_step(x_seq, state, **self.core_config(x_seq))
        self.v, self.spike = state
        return spike_seq

    def extra_repr(self) -> str:
        return super().extra_repr() + f", T={self.T}, inplane={self.inplane}"
