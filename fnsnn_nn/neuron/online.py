"""OTTTLIFNode and SLTTLIFNode: shells of :mod:`fnsnn.neurons.online`."""

from __future__ import annotations

from typing import Callable, Optional

import torch

import fnsnn
from fnsnn.neurons._base import run_multi_step
from fnsnn.neurons.online import OTTT_LIF, OTTT_LIF_TRACES, SLTT_LIF

from .lif import LIFNode


class _OnlineLIFNode(LIFNode):
    """LIF shell whose core config carries ``training`` (the module's train/eval mode)."""

    def __init__(self, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                 store_v_seq, backend):
        if step_mode != "s":
            raise ValueError(f"{type(self).__name__}: construct it with step_mode='s' (got {step_mode!r}); "
                             f"online training is memory-efficient only one step at a time. The step mode "
                             f"can still be changed afterwards.")
        super().__init__(tau=tau, decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset,
                         surrogate_function=surrogate_function, detach_reset=detach_reset, step_mode=step_mode,
                         backend=backend, store_v_seq=store_v_seq)

    def core_config(self):
        return dict(super().core_config(), training=self.training)


class OTTTLIFNode(_OnlineLIFNode):
    """LIF neuron for online training through time, with memories ``v`` and ``trace``; see :func:`fnsnn.ottt_lif_step`.

    In training mode a single step returns ``[spike, trace]`` and a multi-step call
    ``(spike_seq, trace_seq)``; in evaluation mode only the spikes. ``trace`` rests at 0.

    Args:
        tau, decay_input: as :class:`LIFNode` (``decay_input`` defaults to False).
        v_reset: defaults to None (soft reset); detach_reset defaults to True.
        step_mode: must be ``'s'`` at construction.
        Other arguments as :class:`BaseNode`; ``backend`` comes last.
    """

    family = OTTT_LIF
    step_function = staticmethod(fnsnn.ottt_lif_step)
    multi_step_function = staticmethod(fnsnn.ottt_lif_multi_step)

    def __init__(self, tau: float = 2.0, decay_input: bool = False, v_threshold: float = 1.0,
                 v_reset: Optional[float] = None, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = True, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                         store_v_seq, backend)

    def single_step_forward(self, x):
        spike = super().single_step_forward(x)
        return [spike, self.trace] if self.training else spike

    def multi_step_forward(self, x_seq):
        if not self.training or not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] == 0:
            return super().multi_step_forward(x_seq)  # evaluation, or an input the base class rejects
        cfg = self.core_config()
        state = self._core_state(x_seq[0], cfg)
        if self.store_v_seq:  # both sequences: the reference loop keeps every state
            spike_seq, state, states = fnsnn.scan(fnsnn.ottt_lif_step, x_seq, state, return_states=True, **cfg)
            self.v_seq, trace_seq = states.v, states.trace
            self.note_backend("torch")
        else:
            spike_seq, state, trace_seq = run_multi_step(type(self).__name__, OTTT_LIF_TRACES, x_seq, state, cfg,
                                                         True, self.backend)
            self.note_backend(fnsnn.last_backend())
        self._store(state)
        return spike_seq, trace_seq


class SLTTLIFNode(_OnlineLIFNode):
    """LIF neuron for spatial learning through time; see :func:`fnsnn.sltt_lif_step`.

    Arguments as :class:`LIFNode`, except ``detach_reset`` defaults to True and
    ``step_mode`` must be ``'s'`` at construction; ``backend`` comes last.
    """

    family = SLTT_LIF
    step_function = staticmethod(fnsnn.sltt_lif_step)
    multi_step_function = staticmethod(fnsnn.sltt_lif_multi_step)

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate_function: Optional[Callable] = None,
                 detach_reset: bool = True, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "auto"):
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                         store_v_seq, backend)
