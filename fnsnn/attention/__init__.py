"""Attention layers for spiking networks as pure functions.

Stateful blocks (Spikformer SSA, QKFormer Q-K attention) follow
``f(x_seq, state, **params) -> (y_seq, new_state)`` with their inner neurons'
potentials and BatchNorm statistics in the state; the convolutional-SNN
attentions (TA, MA) are stateless and return ``y_seq``.
"""

from ._common import BatchNormStats, ConvBNParams, conv_bn
from .convolutional import multi_dimensional_attention, temporal_wise_attention
from .spikformer import (
    QKA_TYPES,
    QKAttentionState,
    SSAState,
    qk_attention_multi_step,
    qk_combine,
    qk_split,
    spiking_self_attention_multi_step,
    ssa_attend,
)

__all__ = [
    "BatchNormStats", "ConvBNParams", "conv_bn", "SSAState", "QKAttentionState", "QKA_TYPES",
    "spiking_self_attention_multi_step", "qk_attention_multi_step", "ssa_attend", "qk_split", "qk_combine",
    "temporal_wise_attention", "multi_dimensional_attention",
]
