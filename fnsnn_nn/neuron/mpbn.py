"""MPBNBaseNode and MPBNLIFNode: shells of :mod:`fnsnn.neurons.mpbn`."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn

import fnsnn
from fnsnn._checks import check_bool, check_param, check_param_shapes, check_positive_int
from fnsnn.neurons.activation_aware import lay_per_channel
from fnsnn.neurons.mpbn import MPBN, MPBNState

from ._base import BaseNode

_PER_CHANNEL = ("weight", "bias", "gamma", "beta", "a", "v_threshold")


class MPBNBaseNode(BaseNode):
    """Spiking neuron whose charged potential is batch-normalised (``vbn``); see :mod:`fnsnn.neurons.mpbn`.

    A subclass defines ``neuronal_charge(self, x, v) -> h``, a pure function of tensors; normalisation, threshold
    and reset come from the core (:func:`fnsnn.mpbn_step`). Running the base class itself raises ``TypeError``.
    Memory: ``v``. The batch norm's running statistics live in ``vbn`` (``mu``/``sigma2`` after
    :meth:`re_parameterize_v_threshold`) and are updated in training mode, once per time step.

    Args:
        mpbn: normalise the potential (``vbn`` a BatchNorm1d/2d), else ``vbn`` is an ``nn.Identity``.
        out_features / out_channels: the feature count, after a Linear (``[N, C]``) or a Conv2d
            (``[N, C, H, W]``); give exactly one.
        learnable_vth: fire against a learnable threshold ``exp(a)`` (``a`` starts at 0).
        bn_momentum, bn_decay_momentum, bn_min_momentum: the momentum of the folded statistics after
            re-parameterisation with ``running_stats=True``, its decay per step and its floor (all in [0, 1]).
        Other arguments as :class:`BaseNode`; ``backend`` comes last.
    """

    family = MPBN
    step_function = staticmethod(fnsnn.mpbn_step)
    multi_step_function = staticmethod(fnsnn.mpbn_multi_step)
    neuronal_charge: Optional[Callable] = None

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, mpbn: bool = True, out_features: Optional[int] = None,
                 out_channels: Optional[int] = None, learnable_vth: bool = False, bn_momentum: float = 0.1,
                 bn_decay_momentum: float = 0.94, bn_min_momentum: float = 0.005, backend: str = "auto"):
        name = type(self).__name__
        check_bool(name, "mpbn", mpbn)
        check_bool(name, "learnable_vth", learnable_vth)
        for arg, value in (("bn_momentum", bn_momentum), ("bn_decay_momentum", bn_decay_momentum),
                           ("bn_min_momentum", bn_min_momentum)):
            check_param(name, arg, value, ge=0.0, le=1.0, allow_tensor=False)
        if (out_features is None) == (out_channels is None):
            raise ValueError(f"{name}: give exactly one of `out_features` (after a Linear) and `out_channels` "
                             f"(after a Conv2d), got out_features={out_features!r}, out_channels={out_channels!r}.")
        which = "out_channels" if out_channels is not None else "out_features"
        count = check_positive_int(name, which, out_channels if out_channels is not None else out_features)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        if mpbn:
            self.vbn = nn.BatchNorm2d(count) if out_channels is not None else nn.BatchNorm1d(count)
        else:
            self.vbn = nn.Identity()
        self.register_buffer("mu", None)
        self.register_buffer("sigma2", None)
        self.gamma = None
        self.beta = None
        self.eps = None
        self.fold_bn = False
        self.normalize_residual = False
        self.running_stats = False
        self.bn_momentum = bn_momentum
        self.bn_decay_momentum = bn_decay_momentum
        self.bn_min_momentum = bn_min_momentum
        self.learnable_vth = learnable_vth
        self._last_stats = None
        if learnable_vth:
            self.a = nn.Parameter(torch.zeros(count))

    def re_parameterize_v_threshold(self, normalize_residual: bool = False, running_stats: bool = False) -> None:
        """Fold ``vbn`` into the threshold (test-time adaptation): its statistics become the buffers ``mu`` and
        ``sigma2``, its affine parameters ``gamma`` and ``beta``; a learned ``exp(a)`` becomes ``v_threshold``.
        Nothing happens without a batch norm."""
        if not isinstance(self.vbn, nn.modules.batchnorm._BatchNorm):
            return
        name = type(self).__name__
        check_bool(name, "normalize_residual", normalize_residual)
        check_bool(name, "running_stats", running_stats)
        self.fold_bn = True
        if self.learnable_vth:
            self.v_threshold = torch.exp(self.a.detach())
            del self.a
            self.learnable_vth = False
        self.normalize_residual = normalize_residual
        self.running_stats = running_stats
        self.mu = self.vbn.running_mean
        self.sigma2 = self.vbn.running_var
        self.gamma = self.vbn.weight
        self.beta = self.vbn.bias
        self.eps = self.vbn.eps
        self.vbn = nn.Identity()

    # -- configuration ------------------------------------------------------
    def memory_reset_values(self) -> Dict[str, Any]:
        return {"v": 0.0 if self.v_reset is None else self.v_reset}

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"v": self.family.rest(self.single_step_input(x), self.core_config()).v}

    def _bn(self) -> Optional[nn.modules.batchnorm._BatchNorm]:
        return self.vbn if isinstance(self.vbn, nn.modules.batchnorm._BatchNorm) else None

    def norm_config(self) -> Dict[str, Any]:
        bn = self._bn()
        return dict(super().core_config(), bn=bn is not None, weight=None if bn is None else bn.weight,
                    bias=None if bn is None else bn.bias, momentum=0.1 if bn is None else bn.momentum,
                    eps=(bn.eps if bn is not None else 1e-5 if self.eps is None else self.eps),
                    fold=self.fold_bn and not self.learnable_vth, gamma=self.gamma, beta=self.beta,
                    running_stats=self.running_stats, fold_momentum=float(self.bn_momentum),
                    decay_momentum=self.bn_decay_momentum, min_momentum=self.bn_min_momentum,
                    normalize_residual=self.normalize_residual, a=self.a if self.learnable_vth else None,
                    training=self.training)

    def core_config(self) -> Dict[str, Any]:
        charge = self.neuronal_charge
        if charge is None:
            raise TypeError(f"{type(self).__name__}: MPBNBaseNode is a base class; subclass it and define "
                            f"neuronal_charge(self, x, v) returning the charged potential h (or use MPBNLIFNode).")
        return dict(self.norm_config(), charge=charge)

    # -- state <-> memories and statistics ------------------------------------
    def _core_state(self, like: torch.Tensor, cfg):
        name = type(self).__name__
        per_channel = _PER_CHANNEL if cfg["fold"] else _PER_CHANNEL[:-1]
        laid = {k: lay_per_channel(name, k, cfg[k], 1, like) if like.dim() > 1 else cfg[k] for k in per_channel}
        check_param_shapes(name, {**cfg, **laid}, like)
        rest = self.family.rest(like, cfg)
        v = self.memory_for("v", like, lambda: rest.v)
        bn = self._bn()
        if bn is not None and bn.running_mean is not None:
            # copies: the scan may save them for backward, and _store updates the buffers in place
            mean, var = bn.running_mean.clone(), bn.running_var.clone()
        elif cfg["fold"] or cfg["normalize_residual"]:
            mean, var = self.mu, self.sigma2
        else:
            mean, var = rest.mean, rest.var
        return MPBNState(v, mean.to(like.dtype), var.to(like.dtype), like.new_full((1,), float(self.bn_momentum)))

    @property
    def mean(self) -> Optional[torch.Tensor]:
        """``MPBNState.mean`` after the last call (the running or folded mean it used or updated)."""
        return None if self._last_stats is None else self._last_stats[0]

    @property
    def var(self) -> Optional[torch.Tensor]:
        """``MPBNState.var`` after the last call."""
        return None if self._last_stats is None else self._last_stats[1]

    @property
    def momentum(self) -> Optional[torch.Tensor]:
        """``MPBNState.momentum`` (the fold momentum) after the last call."""
        return None if self._last_stats is None else self._last_stats[2]

    def _store(self, state) -> None:
        self.v = state.v
        self._last_stats = tuple(t.detach() for t in state[1:])
        if not self.training:
            return
        bn = self._bn()
        if bn is not None:
            with torch.no_grad():
                bn.running_mean.copy_(state.mean)
                bn.running_var.copy_(state.var)
                bn.num_batches_tracked.add_(self._steps)
        elif self.fold_bn and not self.learnable_vth:
            self.mu, self.sigma2 = state.mean.detach(), state.var.detach()
            self.bn_momentum = float(state.momentum.detach())

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._steps = 1
        return super().single_step_forward(x)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._steps = x_seq.shape[0] if isinstance(x_seq, torch.Tensor) and x_seq.dim() > 0 else 0
        return super().multi_step_forward(x_seq)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fold_bn={self.fold_bn}, learnable_vth={self.learnable_vth}"


class MPBNLIFNode(MPBNBaseNode):
    """LIF neuron with membrane-potential batch normalisation; see :func:`fnsnn.mpbn_lif_step`.

    Args:
        tau: membrane time constant (> 1).
        decay_input: whether the input decays with ``tau`` too (default False, as SpikingJelly's MPBNLIFNode).
        Other arguments as :class:`MPBNBaseNode`.
    """

    step_function = staticmethod(fnsnn.mpbn_lif_step)
    multi_step_function = staticmethod(fnsnn.mpbn_lif_multi_step)

    def __init__(self, tau: float = 2.0, decay_input: bool = False, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False, mpbn: bool = True,
                 out_features: Optional[int] = None, out_channels: Optional[int] = None,
                 learnable_vth: bool = False, bn_momentum: float = 0.1, bn_decay_momentum: float = 0.94,
                 bn_min_momentum: float = 0.005, backend: str = "auto"):
        check_param("MPBNLIFNode", "tau", tau, gt=1.0)
        check_bool("MPBNLIFNode", "decay_input", decay_input)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, mpbn,
                         out_features, out_channels, learnable_vth, bn_momentum, bn_decay_momentum, bn_min_momentum,
                         backend)
        self.tau = tau
        self.decay_input = decay_input

    def core_config(self) -> Dict[str, Any]:
        return dict(self.norm_config(), tau=self.tau, decay_input=self.decay_input)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"
