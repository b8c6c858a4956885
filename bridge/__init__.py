"""bridge: torch.fx ANN-to-SNN conversion onto fnsnn_nn modules.

Mirrors SpikingJelly's ``activation_based.ann2snn``: port code by changing
``spikingjelly.activation_based.ann2snn`` to ``bridge``.
"""

from . import converter, factories, modules, operators, rules, threshold, utils
from .converter import Converter
from .factories import HookFactory, NeuronFactory
from .modules import VoltageHook, VoltageScaler
from .operators import (
    TDGELU,
    TDLayerNorm,
    TDLinear,
    TDMultiheadAttention,
    TDScaledDotProductAttention,
    TDSoftmax,
)
from .rules import ActivationRule, ReLURule
from .threshold import ThresholdOptimizer
from .utils import download_url

__all__ = [
    "Converter",
    "ActivationRule",
    "ReLURule",
    "NeuronFactory",
    "HookFactory",
    "ThresholdOptimizer",
    "VoltageHook",
    "VoltageScaler",
    "TDSoftmax",
    "TDLayerNorm",
    "TDGELU",
    "TDLinear",
    "TDScaledDotProductAttention",
    "TDMultiheadAttention",
    "download_url",
]
