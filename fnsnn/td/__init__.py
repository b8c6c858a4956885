"""Temporal-difference (TD) operators: ANN operators applied to running input sums, output differenced.

Each operator comes as a whole-sequence function (``td_softmax``), a
multi-step function continuing from explicit running sums
(``td_softmax_multi_step``) and an online single step (``td_softmax_step``);
streaming a sequence through the step gives the whole-sequence result.
"""

from ._base import TDState, temporal_difference
from .attention import (
    TDAttentionState,
    TDMultiheadAttentionState,
    check_mha_config,
    check_mha_inputs,
    check_mha_options,
    check_sdpa_scale,
    merge_heads,
    mha_attn_mask,
    split_heads,
    td_multihead_attention,
    td_multihead_attention_multi_step,
    td_multihead_attention_step,
    td_scaled_dot_product_attention,
    td_scaled_dot_product_attention_init_state,
    td_scaled_dot_product_attention_multi_step,
    td_scaled_dot_product_attention_step,
)
from .gelu import td_gelu, td_gelu_multi_step, td_gelu_step
from .layer_norm import td_layer_norm, td_layer_norm_multi_step, td_layer_norm_step
from .linear import td_linear, td_linear_multi_step, td_linear_step
from .softmax import td_softmax, td_softmax_multi_step, td_softmax_step

__all__ = [
    "TDState", "TDAttentionState", "TDMultiheadAttentionState", "temporal_difference",
    "td_softmax", "td_softmax_multi_step", "td_softmax_step",
    "td_gelu", "td_gelu_multi_step", "td_gelu_step",
    "td_layer_norm", "td_layer_norm_multi_step", "td_layer_norm_step",
    "td_linear", "td_linear_multi_step", "td_linear_step",
    "td_scaled_dot_product_attention", "td_scaled_dot_product_attention_multi_step",
    "td_scaled_dot_product_attention_step", "td_scaled_dot_product_attention_init_state",
    "td_multihead_attention", "td_multihead_attention_multi_step", "td_multihead_attention_step",
    "split_heads", "merge_heads", "mha_attn_mask", "check_mha_config", "check_mha_inputs", "check_mha_options",
    "check_sdpa_scale",
]
