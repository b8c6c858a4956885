"""DSRIFNode and DSRLIFNode: shells of :mod:`fnsnn.neurons.dsr`."""

from __future__ import annotations

import torch
import torch.nn as nn

from fnsnn.neurons.dsr import dsr_if_multi_step, dsr_lif_multi_step

from ..base import MultiStepModule


def _init(module, T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling, v_threshold_lower_bound,
          step_mode) -> None:
    cls = type(module).__name__
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"{cls}: `T` must be a positive int, got {T!r}.")
    if isinstance(v_threshold, bool) or not isinstance(v_threshold, (int, float)) \
            or not v_threshold >= v_threshold_lower_bound:
        raise ValueError(f"{cls}: `v_threshold` must be a float >= v_threshold_lower_bound="
                         f"{v_threshold_lower_bound}, got {v_threshold!r}.")
    module.step_mode = step_mode
    module.T, module.alpha = T, alpha
    module.v_threshold_grad_scaling, module.v_threshold_lower_bound = v_threshold_grad_scaling, v_threshold_lower_bound
    th = torch.tensor(float(v_threshold))
    module.v_threshold = nn.Parameter(th) if v_threshold_training else th


def _check_T(module, x_seq) -> None:
    if isinstance(x_seq, torch.Tensor) and x_seq.dim() >= 1 and x_seq.shape[0] != module.T:
        raise ValueError(f"{type(module).__name__}: the input has T={x_seq.shape[0]} steps but the neuron was "
                         f"built with T={module.T} (input shape {tuple(x_seq.shape)}).")


class DSRIFNode(nn.Module, MultiStepModule):
    """DSR-IF neuron on whole ``[T, N, *]`` sequences; see :func:`fnsnn.dsr_if_multi_step`.

    Args:
        T: the sequence length it is trained for.
        v_threshold: initial threshold (>= ``v_threshold_lower_bound``); a Parameter when
            ``v_threshold_training``, else a plain tensor attribute.
        alpha, v_threshold_grad_scaling, v_threshold_lower_bound: as the core function.
        step_mode: only ``'m'``.
    """

    def __init__(self, T: int = 20, v_threshold: float = 6.0, alpha: float = 0.5, v_threshold_training: bool = True,
                 v_threshold_grad_scaling: float = 1.0, v_threshold_lower_bound: float = 0.01, step_mode: str = "m"):
        super().__init__()
        _init(self, T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling, v_threshold_lower_bound,
              step_mode)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_T(self, x_seq)
        return dsr_if_multi_step(x_seq, self.v_threshold, alpha=self.alpha,
                                 v_threshold_grad_scaling=self.v_threshold_grad_scaling,
                                 v_threshold_lower_bound=self.v_threshold_lower_bound)

    def extra_repr(self) -> str:
        return (f"T={self.T}, alpha={self.alpha}, vth_bound={self.v_threshold_lower_bound}, "
                f"vth_g_scale={self.v_threshold_grad_scaling}, step_mode={self.step_mode}")


class DSRLIFNode(nn.Module, MultiStepModule):
    """DSR-LIF neuron on whole ``[T, N, *]`` sequences; see :func:`fnsnn.dsr_lif_multi_step`.

    Args:
        T: the sequence length it is trained for.
        v_threshold: initial threshold (>= ``v_threshold_lower_bound``).
        tau, delta_t: membrane time constant and integration step.
        alpha, v_threshold_training, v_threshold_grad_scaling, v_threshold_lower_bound, step_mode:
            as :class:`DSRIFNode`.
    """

    def __init__(self, T: int = 20, v_threshold: float = 1.0, tau: float = 2.0, delta_t: float = 0.05,
                 alpha: float = 0.3, v_threshold_training: bool = True, v_threshold_grad_scaling: float = 1.0,
                 v_threshold_lower_bound: float = 0.1, step_mode: str = "m"):
        super().__init__()
        _init(self, T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling, v_threshold_lower_bound,
              step_mode)
        self.tau, self.delta_t = tau, delta_t

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_T(self, x_seq)
        return dsr_lif_multi_step(x_seq, self.v_threshold, tau=self.tau, delta_t=self.delta_t, alpha=self.alpha,
                                  v_threshold_grad_scaling=self.v_threshold_grad_scaling,
                                  v_threshold_lower_bound=self.v_threshold_lower_bound)

    def extra_repr(self) -> str:
        return (f"T={self.T}, tau={self.tau}, dt={self.delta_t}, alpha={self.alpha}, "
                f"vth_bound={self.v_threshold_lower_bound}, vth_g_scale={self.v_threshold_grad_scaling}, "
                f"step_mode={self.step_mode}")
