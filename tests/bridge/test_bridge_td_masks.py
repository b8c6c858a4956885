"""replace_by_td_operators with masked, causal, scaled and positional attention calls: the rewritten model
satisfies ``out.cumsum(0) == ANN(q.cumsum(0), k.cumsum(0), v.cumsum(0))`` in float32 and float64, and the TD
modules agree with SpikingJelly 2.0.0's."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bridge import Converter
from fnsnn_nn import td

T, N, L, S, E, H = 4, 2, 3, 5, 8, 2
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
DTYPES = (torch.float32, torch.float64)


def _qkv(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(T, N, n, E, generator=g, dtype=dtype) for n in (L, S, S))


def _mask(kind, dtype, rows=L, cols=S, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "bool":  # True = attend; every row attends to column 0
        m = torch.rand(rows, cols, generator=g) > 0.4
        m[:, 0] = True
        return m
    m = torch.randn(rows, cols, generator=g, dtype=dtype)
    m[0, 1] = float("-inf")
    return m


class _Call(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, q, k, v, m):
        return self.f(q, k, v, m)


SDPA_CALLS = {
    "positional_mask": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
    "positional_mask_dropout": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, 0.0),
    "positional_causal": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, None, 0.0, True),
    "keyword_mask_scale": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.25),
    "positional_mask_keyword_scale": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, 0.0, False,
                                                                                       scale=0.4),
    "causal_scale": lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.25),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("call", sorted(SDPA_CALLS))
def test_sdpa_rewrite_cumulative_identity(call, kind, dtype):
    f = SDPA_CALLS[call]
    q, k, v = _qkv(dtype)
    m = _mask(kind, dtype)
    snn = Converter(None).replace_by_td_operators(_Call(f))
    assert not any(n.target is F.scaled_dot_product_attention for n in snn.graph.nodes)
    out = snn(q, k, v, m)
    ref = f(q.cumsum(0), k.cumsum(0), v.cumsum(0), m)
    torch.testing.assert_close(out.cumsum(0), ref, **TOL[dtype])


class _CrossMHA(nn.Module):
    def __init__(self, dtype, positional=False, is_causal=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(E, H, batch_first=True, dtype=dtype)
        self.positional, self.is_causal = positional, is_causal

    def forward(self, x, memory, mask):
        if self.positional:  # query, key, value, key_padding_mask, need_weights, attn_mask
            return self.attn(x, memory, memory, None, False, mask)[0]
        return self.attn(x, memory, memory, attn_mask=mask, need_weights=False, is_causal=self.is_causal)[0]


def _mha_mask(kind, dtype, rows, cols):
    if kind == "bool":  # True = masked in nn.MultiheadAttention; column 0 always visible
        m = _mask("bool", dtype, rows, cols).logical_not()
        m[:, 0] = False
        return m
    if kind == "bool3d":
        m = torch.stack([_mha_mask("bool", dtype, rows, cols) for _ in range(N * H)])
        return m
    return _mask("float", dtype, rows, cols)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "float", "bool3d"])
@pytest.mark.parametrize("positional", [False, True])
@pytest.mark.parametrize("lengths", [(L, S), (S, L)])
def test_mha_cross_attention_with_mask_cumulative_identity(lengths, positional, kind, dtype):
    torch.manual_seed(0)
    rows, cols = lengths
    ann = _CrossMHA(dtype, positional).eval()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(T, N, rows, E, generator=g, dtype=dtype)
    memory = torch.randn(T, N, cols, E, generator=g, dtype=dtype)
    m = _mha_mask(kind, dtype, rows, cols)
    snn = Converter(None).replace_by_td_operators(ann)
    assert isinstance(snn.attn, td.TDMultiheadAttention)
    with torch.no_grad():
        out = snn(x, memory, m)
        ref = torch.stack([ann(a, b, m) for a, b in zip(x.cumsum(0), memory.cumsum(0))])
    assert not out.isnan().any()
    torch.testing.assert_close(out.cumsum(0), ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lengths", [(L, S), (S, L), (L, L)])
def test_mha_is_causal_cumulative_identity(lengths, dtype):
    torch.manual_seed(0)
    rows, cols = lengths
    ann = _CrossMHA(dtype, is_causal=True).eval()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(T, N, rows, E, generator=g, dtype=dtype)
    memory = torch.randn(T, N, cols, E, generator=g, dtype=dtype)
    causal = torch.ones(rows, cols, dtype=torch.bool).triu(1)
    snn = Converter(None).replace_by_td_operators(ann)
    with torch.no_grad():
        out = snn(x, memory, causal)
        ref = torch.stack([ann(a, b, causal) for a, b in zip(x.cumsum(0), memory.cumsum(0))])
        direct = snn.attn(x, memory, memory, need_weights=False, is_causal=True)[0]
    torch.testing.assert_close(out.cumsum(0), ref, **TOL[dtype])
    torch.testing.assert_close(direct, out, **TOL[dtype])


# -- parity with SpikingJelly 2.0.0's TD modules --------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [dict(kind="bool"), dict(kind="float"), dict(is_causal=True),
                                    dict(kind="float", scale=0.25), dict(is_causal=True, scale=0.3)])
def test_td_sdpa_parity(config, dtype):
    from spikingjelly.activation_based.ann2snn.operators import TDScaledDotProductAttention as SJ
    q, k, v = _qkv(dtype)
    kind = config.get("kind")
    m = None if kind is None else _mask(kind, dtype)
    kw = dict(is_causal=config.get("is_causal", False), scale=config.get("scale"))
    ours = td.TDScaledDotProductAttention(**kw)(q, k, v, m)
    theirs = SJ(**kw)(q, k, v, m)
    torch.testing.assert_close(ours, theirs, **TOL[dtype])
    ref = F.scaled_dot_product_attention(q.cumsum(0), k.cumsum(0), v.cumsum(0), m, **kw)
    torch.testing.assert_close(ours.cumsum(0), ref, **TOL[dtype])


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [dict(kind="bool"), dict(kind="float"), dict(kind="bool3d"),
                                    dict(is_causal=True)])
def test_td_mha_parity(config, dtype):
    from spikingjelly.activation_based.ann2snn.operators import TDMultiheadAttention as SJ
    torch.manual_seed(0)
    ours = td.TDMultiheadAttention(E, H, dtype=dtype)
    theirs = SJ(E, H, dtype=dtype)
    theirs.load_state_dict(ours.state_dict())
    q, k, v = _qkv(dtype)
    kind = config.get("kind")
    m = None if kind is None else _mha_mask(kind, dtype, L, S)
    kw = dict(attn_mask=m, is_causal=config.get("is_causal", False))
    torch.testing.assert_close(ours(q, k, v, **kw)[0], theirs(q, k, v, **kw)[0], **TOL[dtype])


# What each SDPA_CALLS entry asks of the attention: (uses the mask, is_causal, scale).
SDPA_CONFIG = {
    "positional_mask": (True, False, None), "positional_mask_dropout": (True, False, None),
    "positional_causal": (False, True, None), "keyword_mask_scale": (True, False, 0.25),
    "positional_mask_keyword_scale": (True, False, 0.4), "causal_scale": (False, True, 0.25),
}


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("call", sorted(SDPA_CALLS))
def test_sdpa_rewrite_equals_spikingjelly_td_module(call, kind, dtype):
    # The converter's rewrite of each call form (positional or keyword mask, dropout_p, is_causal, scale)
    # gives what SpikingJelly 2.0.0's TDScaledDotProductAttention gives for the same attention.
    from spikingjelly.activation_based.ann2snn.operators import TDScaledDotProductAttention as SJ
    assert set(SDPA_CONFIG) == set(SDPA_CALLS)
    uses_mask, is_causal, scale = SDPA_CONFIG[call]
    q, k, v = _qkv(dtype, seed=5)
    m = _mask(kind, dtype, seed=6)
    out = Converter(None).replace_by_td_operators(_Call(SDPA_CALLS[call]))(q, k, v, m)
    theirs = SJ(is_causal=is_causal, scale=scale)(q, k, v, attn_mask=m if uses_mask else None)
    torch.testing.assert_close(out, theirs, **TOL[dtype])


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "float", "bool3d"])
@pytest.mark.parametrize("lengths", [(L, S), (S, L)])
def test_td_mha_parity_positional_cross_attention(lengths, kind, dtype):
    # nn.MultiheadAttention's positional order (query, key, value, key_padding_mask, need_weights, attn_mask)
    # on cross-attention (query length != key length), against 2.0.0 and the cumulative identity.
    from spikingjelly.activation_based.ann2snn.operators import TDMultiheadAttention as SJ
    rows, cols = lengths
    torch.manual_seed(0)
    ours = td.TDMultiheadAttention(E, H, dtype=dtype)
    theirs = SJ(E, H, dtype=dtype)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(T, N, rows, E, generator=g, dtype=dtype)
    memory = torch.randn(T, N, cols, E, generator=g, dtype=dtype)
    m = _mha_mask(kind, dtype, rows, cols)
    out = ours(x, memory, memory, None, False, m)[0]
    torch.testing.assert_close(out, theirs(x, memory, memory, None, False, m)[0], **TOL[dtype])
    ann = nn.MultiheadAttention(E, H, batch_first=True, dtype=dtype)
    ann.load_state_dict({"in_proj_weight": torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]),
                         "in_proj_bias": torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]),
                         "out_proj.weight": ours.out_proj.weight, "out_proj.bias": ours.out_proj.bias})
    with torch.no_grad():
        ref = torch.stack([ann(a, b, b, None, False, m)[0] for a, b in zip(x.cumsum(0), memory.cumsum(0))])
    torch.testing.assert_close(out.detach().cumsum(0), ref, **TOL[dtype])
