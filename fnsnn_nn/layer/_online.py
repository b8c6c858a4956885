"""Online training through time (OTTT): gradients through presynaptic traces.

Shells of :mod:`fnsnn.synapses.online`. Inputs are ``[spike, trace]`` lists, as
produced by an ``OTTTLIFNode`` in training.
"""

from __future__ import annotations

import torch.nn as nn

from fnsnn.synapses.online import ReplaceforGrad, grad_with_trace, spike_trace_op

__all__ = ["ReplaceforGrad", "GradwithTrace", "SpikeTraceOp", "OTTTSequential"]


class GradwithTrace(nn.Module):
    """Wrap a module with parameters: value from spikes, gradient from traces.

    See :func:`fnsnn.synapses.grad_with_trace`.

    Args:
        module: the wrapped module (e.g. a convolution).
    """

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return grad_with_trace(self.module, x)


class SpikeTraceOp(nn.Module):
    """Apply a parameter-free module (pooling, dropout, ...) to spikes and traces.

    See :func:`fnsnn.synapses.spike_trace_op`.

    Args:
        module: the wrapped module.
    """

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return spike_trace_op(self.module, x)


def _otttlif_type():
    from .. import neuron

    return getattr(neuron, "OTTTLIFNode", None)


class OTTTSequential(nn.Sequential):
    """Sequential that routes ``[spike, trace]`` lists: modules with parameters as :class:`GradwithTrace`,
    parameter-free ones as :class:`SpikeTraceOp`, an ``OTTTLIFNode`` on the spike alone; tensors pass through."""

    def __init__(self, *args):
        super().__init__(*args)

    def forward(self, input):
        ottt = _otttlif_type()
        for module in self:
            if isinstance(input, list):
                if ottt is not None and isinstance(module, ottt):
                    input = module(input[0])
                elif next(module.parameters(), None) is None:
                    input = spike_trace_op(module, input)
                else:
                    input = grad_with_trace(module, input)
            else:
                input = module(input)
        return input
