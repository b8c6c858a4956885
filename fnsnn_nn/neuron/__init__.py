"""Spiking neuron modules with SpikingJelly's names; each forward calls one fnsnn function."""

from ._base import BaseNode
from .integrate_fire import IFNode
from .lif import LIFNode, ParametricLIFNode
from .psn import PSN, MaskedPSN, SlidingPSN
from .lif_variants import CUBALIFNode, ComplementaryLIFNode, GatedLIFNode, KLIFNode, LIAFNode
from .nonlinear_if import EIFNode, IzhikevichNode, QIFNode
from .nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
from .simple import SimpleIFNode, SimpleLIFNode
from .ternary import TernaryIFNode, TernaryLIFNode
from .resonate import RAFNode
from .adapt import AdaptBaseNode
from .online import OTTTLIFNode, SLTTLIFNode
from .ilif import ILIFNode, MultiLevelSpikeCount
from .half_threshold import HalfThresholdIFNode
from .activation_aware import ActivationAwareIFNode
from .stbif import STBIFNode
from .simple_base import SimpleBaseNode
from .dsr import DSRIFNode, DSRLIFNode
from .few_spike import FewSpikeNode, FewSpikeTable, HGNode, OutlierAwareThresholdNode
from .ilc import ILCBaseNode, ILCCUBALIFNode, ILCIFNode, ILCLIFNode
from .mpbn import MPBNBaseNode, MPBNLIFNode
from .noisy import (
    NoisyBaseNode,
    NoisyCUBALIFNode,
    NoisyILCBaseNode,
    NoisyILCCUBALIFNode,
    NoisyNonSpikingBaseNode,
    NoisyNonSpikingIFNode,
    powerlaw_psd_gaussian,
)
