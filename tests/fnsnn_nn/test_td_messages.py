"""TD operator shells: error messages carry both the callable/argument and SpikingJelly's phrases, and
extra_repr prints what SpikingJelly's classes print (no step_mode)."""

import math

import pytest
import torch
import torch.nn as nn

from bridge import Converter
from fnsnn import td as core
from fnsnn_nn import td


@pytest.mark.parametrize("op, args, match", [
    (td.TDSoftmax(), (torch.randn(3),), r"td_softmax_multi_step: `x_seq`.*at least 2 dimensions"),
    (td.TDLayerNorm(3), (torch.randn(3),), r"td_layer_norm_multi_step: `x_seq`.*at least 2 dimensions"),
    (td.TDGELU(), (torch.randn(0, 2),), r"td_gelu_multi_step: `x_seq`.*non-empty time dimension"),
    (td.TDLinear(2, 3), (torch.randn(0, 2),), r"`x_seq`.*non-empty time dimension"),
    (td.TDSoftmax(dim=4), (torch.randn(2, 3),), r"`dim` is out of range: dim must be in the range \[-2, 1\]"),
    (td.TDScaledDotProductAttention(), (torch.randn(2, 3),) * 3,
     r"td_scaled_dot_product_attention_multi_step: `query_seq`.*at least 3 dimensions"),
    (td.TDScaledDotProductAttention(), (torch.randn(0, 2, 3),) * 3, r"`query_seq`.*non-empty time dimension"),
])
def test_forward_error_phrases(op, args, match):
    with pytest.raises(ValueError, match=match):
        op(*args)


def test_core_error_phrases():
    with pytest.raises(ValueError, match=r"td_softmax: `dim` is out of range: dim must be in the range"):
        core.td_softmax(torch.randn(2, 3), dim=-3)
    with pytest.raises(ValueError, match=r"td_gelu: `approximate`.*approximate must be 'none' or 'tanh'"):
        core.td_gelu(torch.randn(2, 3), approximate="erf")


@pytest.mark.parametrize("make, match", [
    (lambda: td.TDGELU("erf"), r"TDGELU: `approximate`.*approximate must be 'none' or 'tanh', but got 'erf'"),
    (lambda: td.TDMultiheadAttention(8, 2, dropout=0.1), r"TDMultiheadAttention: only dropout=0\.0 is supported"),
    (lambda: td.TDScaledDotProductAttention(scale=0.0), r"TDScaledDotProductAttention: `scale`.*finite positive"),
    (lambda: td.TDScaledDotProductAttention(scale=-1.0), r"`scale`.*finite positive"),
    (lambda: td.TDScaledDotProductAttention(scale=math.nan), r"`scale`.*finite positive"),
    (lambda: td.TDScaledDotProductAttention(scale=math.inf), r"`scale`.*finite positive"),
])
def test_constructor_error_phrases(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_converter_mha_dropout_phrase():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, dropout=0.1, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]

    with pytest.raises(ValueError, match=r"replace_by_td_operators: .*dropout=0\.1 \(only dropout=0\.0"):
        Converter(None).replace_by_td_operators(Net())


@pytest.mark.parametrize("op, text", [
    (td.TDSoftmax(dim=1), "dim=1"),
    (td.TDLayerNorm(4, eps=1e-6, bias=False), "(4,), eps=1e-06, elementwise_affine=True, bias=False"),
    (td.TDGELU("tanh"), "approximate='tanh'"),
    (td.TDLinear(4, 5, bias=False), "in_features=4, out_features=5, bias=False"),
    (td.TDScaledDotProductAttention(is_causal=True, scale=0.25), "is_causal=True, scale=0.25"),
    (td.TDMultiheadAttention(8, 2), "embed_dim=8, num_heads=2, dropout=0.0, batch_first=True"),
])
def test_extra_repr(op, text):
    assert op.extra_repr() == text
    assert "step_mode" not in repr(op)


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs", [
    ("TDSoftmax", (), dict(dim=1)),
    ("TDLayerNorm", (4,), dict(eps=1e-6, bias=False)),
    ("TDGELU", ("tanh",), {}),
    ("TDLinear", (4, 5), dict(bias=False)),
    ("TDScaledDotProductAttention", (), dict(is_causal=True, scale=0.25)),
    ("TDMultiheadAttention", (8, 2), {}),
])
def test_extra_repr_parity(name, args, kwargs):
    from spikingjelly.activation_based.ann2snn import operators as sj
    assert getattr(td, name)(*args, **kwargs).extra_repr() == getattr(sj, name)(*args, **kwargs).extra_repr()
