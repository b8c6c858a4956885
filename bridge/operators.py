"""Temporal-difference (TD) operators, at the path SpikingJelly's ``ann2snn.operators`` uses.

The classes live in :mod:`fnsnn_nn.td`; this module re-exports them so that
code importing ``...ann2snn.operators`` ports by changing the import to
``bridge.operators``.
"""

from fnsnn_nn.td import (
    TDGELU,
    TDLayerNorm,
    TDLinear,
    TDMultiheadAttention,
    TDScaledDotProductAttention,
    TDSoftmax,
)

__all__ = [
    "TDSoftmax",
    "TDLayerNorm",
    "TDGELU",
    "TDLinear",
    "TDScaledDotProductAttention",
    "TDMultiheadAttention",
]
