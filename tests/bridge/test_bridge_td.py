"""replace_by_td_operators: converted Transformer blocks reproduce the ANN on cumulative inputs, and every
unsupported attention configuration raises its documented ValueError."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import bridge
from bridge import Converter
from fnsnn_nn import td

E, H = 16, 4


class MHABlock(nn.Module):
    """Pre-norm Transformer block around nn.MultiheadAttention."""

    def __init__(self, bias=True, approximate="none", causal=False):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E, bias=bias)
        self.attn = nn.MultiheadAttention(E, H, batch_first=True, bias=bias)
        self.fc1, self.act, self.fc2 = nn.Linear(E, 32, bias=bias), nn.GELU(approximate), nn.Linear(32, E)
        self.causal = causal

    def forward(self, x, mask=None):
        h = self.ln1(x)
        if self.causal:
            x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask, is_causal=True)[0]
        else:
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class SDPABlock(nn.Module):
    """Attention written with F.scaled_dot_product_attention, shape-agnostic in the leading dims."""

    def __init__(self, is_causal=False, scale=None):
        super().__init__()
        self.qkv, self.out, self.ln = nn.Linear(E, 3 * E), nn.Linear(E, E), nn.LayerNorm(E)
        self.is_causal, self.scale = is_causal, scale

    def forward(self, x):
        q, k, v = self.qkv(self.ln(x)).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (H, E // H)).transpose(-3, -2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=self.is_causal, scale=self.scale)
        return x + self.out(y.transpose(-3, -2).flatten(-2))


def td_matches_ann(ann, td_model, x_seq, *extra):
    """``td_model(x_seq).cumsum(0)[t] == ann(x_seq.cumsum(0)[t])`` for every t."""
    with torch.no_grad():
        y = td_model(x_seq, *extra).cumsum(0)
        ref = torch.stack([ann(x, *extra) for x in x_seq.cumsum(0)])
    torch.testing.assert_close(y, ref, rtol=1e-9, atol=1e-9)


def seq(T=5, B=2, S=6):
    return torch.randn(T, B, S, E, dtype=torch.float64)


@pytest.mark.parametrize("kwargs", [{}, dict(bias=False), dict(approximate="tanh")])
def test_mha_block_cumsum_equals_ann(kwargs):
    ann = MHABlock(**kwargs).double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    kinds = {type(m) for m in snn.modules()}
    assert {td.TDLinear, td.TDLayerNorm, td.TDGELU, td.TDMultiheadAttention} <= kinds
    assert not kinds & {nn.Linear, nn.LayerNorm, nn.GELU, nn.MultiheadAttention}
    td_matches_ann(ann, snn, seq())


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_mha_block_with_attention_mask(mask_kind):
    ann = MHABlock().double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    S = 6
    if mask_kind == "bool":
        mask = torch.triu(torch.ones(S, S, dtype=torch.bool), 1)
    else:
        mask = torch.randn(S, S, dtype=torch.float64)
    td_matches_ann(ann, snn, seq(S=S), mask)


def test_mha_is_causal_hint_with_mask():
    ann = MHABlock(causal=True).double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    mask = nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64)
    td_matches_ann(ann, snn, seq(S=6), mask)


@pytest.mark.parametrize("kwargs", [{}, dict(is_causal=True), dict(scale=0.3)])
def test_sdpa_block_cumsum_equals_ann(kwargs):
    ann = SDPABlock(**kwargs).double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    ops = [m for m in snn.modules() if isinstance(m, td.TDScaledDotProductAttention)]
    assert len(ops) == 1 and ops[0].is_causal == kwargs.get("is_causal", False)
    assert ops[0].scale == kwargs.get("scale")
    assert not any(n.target is F.scaled_dot_product_attention for n in snn.graph.nodes)
    td_matches_ann(ann, snn, seq())


def test_single_step_equals_ann_on_first_input():
    ann = MHABlock().double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    x = seq(T=1)
    torch.testing.assert_close(snn(x)[0], ann(x[0]))


def test_td_training_flags_and_gradients():
    ann = MHABlock().double().train()
    ann.ln2.eval()
    snn = Converter(None).replace_by_td_operators(ann)
    assert snn.training and snn.attn.training and not snn.ln2.training
    assert isinstance(snn.ln2, td.TDLayerNorm)
    assert isinstance(ann.ln2, nn.LayerNorm) and isinstance(ann.attn, nn.MultiheadAttention)
    x = seq(T=3)
    snn(x).sum().backward()
    assert snn.attn.q_proj.weight.grad is not None and ann.attn.in_proj_weight.grad is None


def test_operators_module_reexports_td_classes():
    for name in ("TDSoftmax", "TDLayerNorm", "TDGELU", "TDLinear", "TDScaledDotProductAttention",
                 "TDMultiheadAttention"):
        assert getattr(bridge.operators, name) is getattr(td, name) is getattr(bridge, name)


# -- unsupported configurations --------------------------------------------------------

class SDPACall(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, q):
        kwargs = dict(self.kwargs)
        if kwargs.pop("dynamic", None) == "dropout":
            kwargs["dropout_p"] = q.size(0) * 0.0
        elif self.kwargs.get("dynamic") == "causal":
            kwargs["is_causal"] = q.size(0) > 1
        elif self.kwargs.get("dynamic") == "scale":
            kwargs["scale"] = q.size(-1) ** -0.5
        kwargs.pop("dynamic", None)
        return F.scaled_dot_product_attention(q, q, q, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dropout_p=0.1), r"dropout_p=0\.1; only the literal dropout_p=0\.0"),
    (dict(dynamic="dropout"), r"dropout_p=mul.*dynamic configuration"),
    (dict(dynamic="causal"), r"is_causal=gt.*literal bool"),
    (dict(dynamic="scale"), r"scale=pow.*literal number or None"),
    (dict(enable_gqa=True), r"enable_gqa=True"),
])
def test_sdpa_unsupported(kwargs, match):
    with pytest.raises(ValueError, match=r"replace_by_td_operators: scaled_dot_product_attention at fx node "
                                         r"'scaled_dot_product_attention'.*" + match):
        Converter(None).replace_by_td_operators(SDPACall(**kwargs))


class MHACall(nn.Module):
    def __init__(self, call=None, **mha):
        super().__init__()
        self.attn = nn.MultiheadAttention(E, H, **{"batch_first": True, **mha})
        self.call = {"need_weights": False} if call is None else call

    def forward(self, x, mask):
        call = dict(self.call)
        if call.pop("padding", False):
            call["key_padding_mask"] = mask
        return self.attn(x, x, x, **call)[0]


@pytest.mark.parametrize("mha, call, match", [
    (dict(dropout=0.1), None, r"dropout=0\.1 \(only dropout=0\.0"),
    (dict(batch_first=False), None, "batch_first=False"),
    ({}, {}, r"need_weights=True: call it with the literal need_weights=False"),
    ({}, dict(need_weights=True), r"need_weights=True"),
    ({}, dict(need_weights=False, padding=True), "key_padding_mask is not supported"),
    (dict(kdim=8, vdim=8), None, "non-packed q/k/v"),
    (dict(add_bias_kv=True), None, "add_bias_kv=True"),
    (dict(add_zero_attn=True), None, "add_zero_attn=True"),
    ({}, dict(need_weights=False, average_attn_weights=False), "average_attn_weights=False"),
])
def test_mha_unsupported(mha, call, match):
    with pytest.raises(ValueError, match=r"replace_by_td_operators: cannot convert nn.MultiheadAttention at "
                                         r"fx node 'attn'.*" + match):
        Converter(None).replace_by_td_operators(MHACall(call, **mha))


def test_mha_positional_need_weights_false_is_accepted():
    class Positional(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(E, H, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, None, False)[0]

    ann = Positional().double().eval()
    snn = Converter(None).replace_by_td_operators(ann)
    td_matches_ann(ann, snn, seq())
