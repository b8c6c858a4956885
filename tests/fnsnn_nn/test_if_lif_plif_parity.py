"""IFNode / LIFNode / ParametricLIFNode against SpikingJelly 2.0.0 over random options.

Spikes must agree exactly, states within 1e-6 and gradients within 1e-5
(relative) in float32, across step modes, reset modes, detach_reset,
decay_input, several surrogates and random shapes.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from fnsnn_nn import neuron, surrogate

SURROGATES = {
    "Sigmoid": dict(alpha=4.0),
    "ATan": dict(alpha=2.0),
    "PiecewiseQuadratic": dict(alpha=1.0),
    "Erf": dict(alpha=2.0),
    "SoftSign": dict(alpha=2.0),
}


def build(kind, lib_neuron, lib_surrogate, sg_name, sg_kw, tau, decay_input, v_reset, detach_reset, step_mode):
    sg = getattr(lib_surrogate, sg_name)(**sg_kw)
    common = dict(v_reset=v_reset, detach_reset=detach_reset, surrogate_function=sg, step_mode=step_mode,
                  store_v_seq=True)
    if kind == "IF":
        return lib_neuron.IFNode(**common)
    if kind == "LIF":
        return lib_neuron.LIFNode(tau=tau, decay_input=decay_input, **common)
    return lib_neuron.ParametricLIFNode(init_tau=tau, decay_input=decay_input, **common)


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["IF", "LIF", "PLIF"])
@settings(max_examples=25)
@given(
    sg_name=st.sampled_from(sorted(SURROGATES)),
    tau=st.floats(1.2, 8.0),
    decay_input=st.booleans(),
    hard=st.booleans(),
    detach_reset=st.booleans(),
    step_mode=st.sampled_from(["s", "m"]),
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    T=st.integers(1, 8),
    seed=st.integers(0, 2**20),
)
def test_matches_spikingjelly(kind, sg_name, tau, decay_input, hard, detach_reset, step_mode, shape, T, seed):
    v_reset = 0.0 if hard else None
    args = (SURROGATES[sg_name], tau, decay_input, v_reset, detach_reset, step_mode)
    ours = build(kind, neuron, surrogate, sg_name, *args)
    theirs = build(kind, sj_neuron, sj_surrogate, sg_name, *args)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, *shape, generator=g) * 1.5 + 0.6
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    if step_mode == "m":
        ya, yb = ours(xa), theirs(xb)
    else:
        ya = torch.stack([ours(t) for t in xa.unbind(0)])
        yb = torch.stack([theirs(t) for t in xb.unbind(0)])

    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours.v_seq, theirs.v_seq, rtol=1e-6, atol=1e-6)

    w = torch.randn(ya.shape, generator=g)
    loss_a = (ya * w).sum() + (ours.v_seq * w).sum()
    loss_b = (yb * w).sum() + (theirs.v_seq * w).sum()
    wrt_a, wrt_b = [xa], [xb]
    if kind == "PLIF":
        wrt_a.append(ours.w)
        wrt_b.append(theirs.w)
    for ga, gb in zip(torch.autograd.grad(loss_a, wrt_a), torch.autograd.grad(loss_b, wrt_b)):
        torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["IF", "LIF", "PLIF"])
def test_matches_spikingjelly_float64_eval(kind):
    args = (SURROGATES["ATan"], 3.0, True, 0.0, False, "m")
    ours = build(kind, neuron, surrogate, "ATan", *args).eval()
    theirs = build(kind, sj_neuron, sj_surrogate, "ATan", *args).eval()
    x = torch.randn(9, 4, 3, dtype=torch.float64) * 2
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
