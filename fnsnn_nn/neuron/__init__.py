"""Spiking neuron modules with SpikingJelly's names; each forward calls one fnsnn function."""

from ._base import BaseNode
from .integrate_fire import IFNode
from .lif import LIFNode, ParametricLIFNode
