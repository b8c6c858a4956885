"""Spiking neuron modules with SpikingJelly's names; each forward calls one fnsnn function."""

from ._base import BaseNode
from .integrate_fire import IFNode
from .lif import LIFNode, ParametricLIFNode
from .psn import PSN, MaskedPSN, SlidingPSN
from .lif_variants import CUBALIFNode, ComplementaryLIFNode, GatedLIFNode, KLIFNode, LIAFNode
from .nonlinear_if import EIFNode, IzhikevichNode, QIFNode
from .nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
