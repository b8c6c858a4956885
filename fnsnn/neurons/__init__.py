"""Spiking neuron families as pure step and scan functions."""

from ._base import NeuronFamily, fire, fire_and_reset, reset
from .integrate_fire import IF, IFState, if_init_state, if_multi_step, if_step
from .lif import (
    LIF,
    PLIF,
    LIFState,
    PLIFState,
    lif_init_state,
    lif_multi_step,
    lif_step,
    plif_init_state,
    plif_multi_step,
    plif_step,
    plif_w_from_tau,
)

import types as _types

__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _types.ModuleType)]
