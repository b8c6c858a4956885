"""Layers added in SpikingJelly 2.0.0 (MaxUnpool, time-last containers, BNTT, count <-> slots), against 2.0.0."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.func import grad, vmap

import fnsnn_nn
from fnsnn.synapses.spike_count import spike_count_to_binary, temporal_bin_sum
from fnsnn_nn import functional, layer, neuron


def _sl():
    from spikingjelly.activation_based import layer as sl

    return sl


def test_import_paths():
    for name in ("MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "BatchNormThroughTime1d", "BatchNormThroughTime2d",
                 "BatchNormThroughTime3d", "TLastMultiStepContainer", "TLastSeqToANNContainer",
                 "SpikeCountToBinary", "TemporalBinSum"):
        assert isinstance(getattr(layer, name), type)


@pytest.mark.parity
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_max_unpool_matches_2_0_0(d, step_mode):
    sl = _sl()
    pool = getattr(layer, f"MaxPool{d}d")(2, return_indices=True, step_mode=step_mode)
    shape = (2, 3) + (4,) * d
    if step_mode == "m":
        shape = (3,) + shape
    x = torch.randn(shape, requires_grad=True)
    y, idx = pool(x)
    ours = getattr(layer, f"MaxUnpool{d}d")(2, step_mode=step_mode)
    theirs = getattr(sl, f"MaxUnpool{d}d")(2, step_mode=step_mode)
    a, b = ours(y, idx), theirs(y, idx)
    torch.testing.assert_close(a, b)
    assert repr(ours) == repr(theirs)
    ga = torch.autograd.grad(a.square().sum(), x, retain_graph=True)[0]
    gb = torch.autograd.grad(b.square().sum(), x)[0]
    torch.testing.assert_close(ga, gb)
    size = x.shape[-d:]
    torch.testing.assert_close(ours(y, idx, output_size=size), theirs(y, idx, output_size=size))
    # fnsnn also takes the whole output shape (2.0.0 rejects [T, N, C, *] in 'm' mode)
    torch.testing.assert_close(ours(y, idx, output_size=x.shape), a)


def test_max_unpool_errors():
    u = layer.MaxUnpool2d(2, step_mode="m")
    with pytest.raises(ValueError, match=r"MaxUnpool2d: step_mode='m' expects a sequence \[T, N, C, H, W\]"):
        u(torch.randn(2, 3, 2, 2), torch.zeros(2, 3, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"MaxUnpool2d: `indices` must have the input's shape \(1, 2, 3, 2, 2\)"):
        u(torch.randn(1, 2, 3, 2, 2), torch.zeros(2, 3, 2, 2, dtype=torch.long))


@pytest.mark.parity
def test_t_last_containers_match_2_0_0():
    sl = _sl()
    from spikingjelly.activation_based import neuron as sn

    torch.manual_seed(0)
    ours = layer.TLastMultiStepContainer(nn.Linear(3, 4), neuron.LIFNode())
    theirs = sl.TLastMultiStepContainer(nn.Linear(3, 4), sn.LIFNode())
    theirs.load_state_dict(ours.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x_tl = torch.randn(2, 3, 6) * 3  # [N, features=3, T=6]; each step sees [N, 3]
    torch.testing.assert_close(ours(x_tl), theirs(x_tl))
    pool_o, pool_t = layer.TLastSeqToANNContainer(nn.AvgPool1d(2)), sl.TLastSeqToANNContainer(nn.AvgPool1d(2))
    x4 = torch.randn(2, 3, 8, 5)
    torch.testing.assert_close(pool_o(x4), pool_t(x4))
    functional.set_step_mode(ours, "s")  # the container keeps its children single-step
    assert ours[1].step_mode == "s" and ours.step_mode == "m"
    with pytest.raises(ValueError, match=r"TLastMultiStepContainer: the contained LIFNode has step_mode='m'"):
        layer.TLastMultiStepContainer(neuron.LIFNode(step_mode="m"))


@pytest.mark.parity
@pytest.mark.parametrize("always", [False, True])
def test_slot_conversion_matches_2_0_0(always):
    sl = _sl()
    counts = torch.randint(0, 4, (5, 2, 3)).float()
    for train in (True, False):
        pairs = [(layer.SpikeCountToBinary(3, always), sl.SpikeCountToBinary(3, always), counts),
                 (layer.TemporalBinSum(3, always), sl.TemporalBinSum(3, always), torch.randn(7, 2, 3))]
        for ours, theirs, x in pairs:
            ours.train(train)
            theirs.train(train)
            xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
            a, b = ours(xa), theirs(xb)
            torch.testing.assert_close(a, b)
            g = torch.randn_like(a)
            torch.testing.assert_close(torch.autograd.grad(a, xa, g)[0], torch.autograd.grad(b, xb, g)[0])
            assert ours.step_mode == theirs.step_mode == "m"


def test_slots_then_bias_free_linear_then_bins_equals_linear_on_counts():
    counts = torch.randint(0, 5, (4, 2, 3)).double().requires_grad_(True)
    w = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    y = temporal_bin_sum(spike_count_to_binary(counts, 4) @ w.t(), 4)
    y_ref = counts @ w.t()
    torch.testing.assert_close(y, y_ref)
    g = torch.randn_like(y)
    gc, gw = torch.autograd.grad(y, (counts, w), g)
    hc, hw = torch.autograd.grad(y_ref, (counts, w), g)
    torch.testing.assert_close(gw, hw)
    torch.testing.assert_close(gc, hc / 4 * 4)  # each of the 4 slots carries 1/4 of the count's derivative
    # torch.func: vmap over a batch of sequences equals the loop
    xs = torch.randint(0, 3, (3, 2, 2, 4)).float()
    out = vmap(lambda c: spike_count_to_binary(c, 2))(xs)
    for i in range(3):
        torch.testing.assert_close(out[i], spike_count_to_binary(xs[i], 2))
    gfun = grad(lambda c: temporal_bin_sum(spike_count_to_binary(c, 2), 2).sum())(xs[0])
    torch.testing.assert_close(gfun, torch.ones_like(xs[0]))


def test_slot_errors():
    with pytest.raises(ValueError, match=r"SpikeCountToBinary: `num_slots` must be an int >= 1, got 0"):
        layer.SpikeCountToBinary(0)
    with pytest.raises(ValueError, match=r"spike_count_to_binary: `x_seq` must be time-major"):
        layer.SpikeCountToBinary(2, True)(torch.ones(3))
    with pytest.raises(ValueError, match=r"temporal_bin_sum: `x_seq` has an empty time dimension"):
        layer.TemporalBinSum(2, True)(torch.ones(0, 3))


@pytest.mark.parity
@pytest.mark.parametrize("d", [1, 2, 3])
def test_bntt_matches_2_0_0(d):
    sl = _sl()
    from spikingjelly.activation_based import base as sb

    shape = (2, 4) + (3,) * d if d > 1 else (2, 4)
    ours = getattr(layer, f"BatchNormThroughTime{d}d")(3, 4)
    theirs = getattr(sl, f"BatchNormThroughTime{d}d")(3, 4)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for p in ours.parameters():
            p.uniform_(0.5, 1.5)
    theirs.load_state_dict(ours.state_dict())
    assert list(fnsnn_nn.base.named_memories(ours)) == list(sb.named_memories(theirs))
    x = torch.randn(3, *shape)
    for mode in ("m", "s"):
        ours.step_mode = theirs.step_mode = mode
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        if mode == "m":
            a, b = ours(xa), theirs(xb)
        else:
            a = torch.stack([ours(t) for t in xa.unbind(0)])
            b = torch.stack([theirs(t) for t in xb.unbind(0)])
        torch.testing.assert_close(a, b)
        assert int(ours.t) == theirs.t == 2
        g = torch.randn_like(a)
        torch.testing.assert_close(torch.autograd.grad(a, xa, g)[0], torch.autograd.grad(b, xb, g)[0])
        for (k, u), (_, v) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            torch.testing.assert_close(u, v, msg=k)
        with pytest.raises(ValueError, match=r"step \d of a sequence but the layer was built with T=3; call "
                                             r"fnsnn_nn.functional.reset_net"):
            ours(x if mode == "m" else x[0])
        ours.reset()
        theirs.reset()
    ours.eval()
    theirs.eval()
    ours.step_mode = theirs.step_mode = "m"
    torch.testing.assert_close(ours(x), theirs(x))


def test_bntt_through_the_state_door():
    net = nn.Sequential(layer.Conv2d(1, 4, 3, padding=1), layer.BatchNormThroughTime2d(3, 4), neuron.IFNode())
    net.eval()
    x_seq = torch.randn(3, 2, 1, 5, 5)
    state = fnsnn_nn.init_state(net, x_seq[0])
    ys = []
    for x in x_seq.unbind(0):
        y, state = fnsnn_nn.apply(net, x, state)
        ys.append(y)
    functional.set_step_mode(net, "m")
    torch.testing.assert_close(torch.stack(ys), net(x_seq))
    assert int(state["1"]["t"]) == 2


# -- SpikeDrivenSelfAttention ---------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("build", [
    dict(),
    dict(v_threshold=0.3, tau=3.0),
    "IFNode",
])
def test_spike_driven_self_attention_matches_2_0_0(build):
    sl = _sl()
    from spikingjelly.activation_based import base as sb, functional as sf, neuron as sn

    torch.manual_seed(0)
    if build == "IFNode":
        ours = layer.SpikeDrivenSelfAttention(8, 2, spiking_neuron=neuron.IFNode, detach_reset=True)
        theirs = sl.SpikeDrivenSelfAttention(8, 2, spiking_neuron=sn.IFNode, detach_reset=True)
    else:
        ours, theirs = layer.SpikeDrivenSelfAttention(8, 2, **build), sl.SpikeDrivenSelfAttention(8, 2, **build)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    assert [n for n, _ in fnsnn_nn.base.named_memories(ours)] == [n for n, _ in sb.named_memories(theirs)]
    for name in ("shortcut_lif", "q_lif", "attn_lif"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (type(a).__name__, a.v_threshold, a.detach_reset) == (type(b).__name__, b.v_threshold,
                                                                    b.detach_reset)
    x = torch.randn(3, 2, 8, 4, 4) * 3
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        functional.reset_net(ours)
        sf.reset_net(theirs)
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        a, b = ours(xa), theirs(xb)
        torch.testing.assert_close(a, b)
        g = torch.randn_like(a)
        ga = torch.autograd.grad(a, [xa, *ours.parameters()], g)
        gb = torch.autograd.grad(b, [xb, *theirs.parameters()], g)
        for u, w in zip(ga, gb):
            torch.testing.assert_close(u, w, rtol=1e-4, atol=1e-5)
    for (k, u), (_, w) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        torch.testing.assert_close(u, w, msg=k)


def test_spike_driven_self_attention_explicit_state_and_errors():
    torch.manual_seed(0)
    m = layer.SpikeDrivenSelfAttention(8, 2).eval()
    x = torch.randn(4, 2, 8, 3, 3) * 3
    f = fnsnn_nn.base.to_functional_forward(m)
    (y1,), s1 = f((x[:2],), tuple(fnsnn_nn.base.extract_memories(m)))
    (y2,), _ = f((x[2:],), s1)
    torch.testing.assert_close(torch.cat((y1, y2)), m(x))
    g = grad(lambda inp: f((inp,), (0.0,) * 5)[0][0].sum())(x)
    xr = x.clone().requires_grad_(True)
    functional.reset_net(m)
    m(xr).sum().backward()
    torch.testing.assert_close(g, xr.grad)
    with pytest.raises(ValueError, match=r"SpikeDrivenSelfAttention: dim=10 must be divisible by num_heads=4"):
        layer.SpikeDrivenSelfAttention(10, 4)
    with pytest.raises(ValueError, match=r"SpikeDrivenSelfAttention: `x_seq` must have shape "
                                         r"\[T, N, C=8, H, W\], got \(2, 8, 3, 3\)"):
        m(x[0])
    with pytest.raises(ValueError, match=r"need step_mode='m', got step_mode='s'"):
        layer.SpikeDrivenSelfAttention(8, 2, spiking_neuron=neuron.IFNode, step_mode="s")
