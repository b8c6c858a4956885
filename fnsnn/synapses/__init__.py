"""Synapses and stateful layers as pure functions: ``<name>_step(x, state, **config) -> (y, new_state)``.

Random layers take an explicit ``torch.Generator`` or integer ``seed`` whenever
they draw a new mask; the mask then travels in the state.
"""

from .delay import DelayState, delay_init_state, delay_multi_step, delay_step
from .drop_connect import (
    DropConnectState,
    drop_connect_init_state,
    drop_connect_linear_multi_step,
    drop_connect_linear_step,
)
from .dropout import (
    DropoutState,
    dropout2d_init_state,
    dropout2d_multi_step,
    dropout2d_step,
    dropout_init_state,
    dropout_multi_step,
    dropout_step,
)
from .filter import SynapseFilterState, synapse_filter_init_state, synapse_filter_multi_step, synapse_filter_step
from .neunorm import NeuNormState, neunorm_init_state, neunorm_multi_step, neunorm_step
from .norm import TemporalScaleState, temporal_scale_init_state, temporal_scale_multi_step, temporal_scale_step
from .online import ReplaceforGrad, grad_with_trace, replace_for_grad, spike_trace_op
from .voting import voting
from .weight_standardization import weight_standardization

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("delay", "drop_connect", "dropout", "filter",
                                                                   "neunorm", "norm", "online")]
