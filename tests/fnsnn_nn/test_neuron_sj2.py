"""Neurons added in SpikingJelly 2.0.0, beyond the shared contract suite (tests/neuron_cases.py)."""

from __future__ import annotations

import pytest
import torch
from torch.func import grad, vmap

import fnsnn
from fnsnn_nn import functional as F, neuron, surrogate


@pytest.mark.parity
@pytest.mark.parametrize("channel_dim,shape", [(1, (5, 2, 3, 4)), (-1, (5, 2, 4, 3)), (-2, (5, 2, 3, 4))])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_activation_aware_if_per_channel_matches_2_0_0(channel_dim, shape, step_mode):
    from spikingjelly.activation_based import neuron as sn

    kw = dict(v_threshold=torch.tensor([1.0, 0.5, 2.0]), v_offset=torch.tensor([0.0, 0.1, -0.2]),
              channel_dim=channel_dim, step_mode=step_mode)
    ours, theirs = neuron.ActivationAwareIFNode(**kw), sn.ActivationAwareIFNode(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["v_threshold", "v_offset"]
    x = torch.randn(shape) * 2
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    if step_mode == "m":
        ya, yb = ours(xa), theirs(xb)
    else:
        ya, yb = torch.stack([ours(t) for t in xa]), torch.stack([theirs(t) for t in xb])
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
    w = torch.randn_like(ya)
    torch.testing.assert_close(torch.autograd.grad((ya * w).sum() + ours.v.sum(), xa)[0],
                               torch.autograd.grad((yb * w).sum() + theirs.v.sum(), xb)[0])
    theirs.load_state_dict(ours.state_dict())
    ours.reset()
    assert ours.v == 0.0


@pytest.mark.parity
def test_activation_aware_if_step_function_matches_2_0_0():
    from spikingjelly.activation_based import functional as sf, surrogate as ss

    x, v = torch.randn(2, 3), torch.rand(2, 3)
    vth, off = torch.tensor([1.0, 0.5, 2.0]), torch.tensor([0.0, 0.1, -0.2])
    a = F.activation_aware_if_step(x, v, vth, off, None, surrogate.Sigmoid())
    b = sf.activation_aware_if_step(x, v, vth, off, None, ss.Sigmoid())
    for u, w in zip(a, b):
        torch.testing.assert_close(u, w)


def test_activation_aware_if_core_per_channel_under_vmap_and_grad():
    x = torch.randn(4, 6, 2, 3) * 2  # [B, T, N, C]
    vth = torch.tensor([1.0, 0.5, 2.0])
    run = lambda xs, t: fnsnn.activation_aware_if_multi_step(xs, v_threshold=t, channel_dim=-1)[0]  # noqa: E731
    out = vmap(run, in_dims=(0, None))(x, vth)
    for b in range(4):
        torch.testing.assert_close(out[b], run(x[b], vth))
    g = grad(lambda t: fnsnn.activation_aware_if_multi_step(
        x[0], v_threshold=t, surrogate_function=fnsnn.surrogate.Sigmoid(spiking=False))[1].v.sum())(vth)
    assert g.shape == (3,) and torch.isfinite(g).all() and g.abs().sum() > 0


def test_activation_aware_if_errors():
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_threshold` must be > 0"):
        neuron.ActivationAwareIFNode(v_threshold=-1.0)
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_threshold` must be a scalar or a 1D "
                                         r"per-channel tensor, got shape \(2, 2\)"):
        neuron.ActivationAwareIFNode(v_threshold=torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_offset` must be finite"):
        neuron.ActivationAwareIFNode(v_offset=float("nan"))
    node = neuron.ActivationAwareIFNode(v_threshold=torch.tensor([1.0, 0.5, 2.0]), channel_dim=1)
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: the tensor `v_threshold` has shape \(3,\): one value "
                                         r"per channel, but the input has 4 channels at channel_dim=1"):
        node(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"activation_aware_if_multi_step: `channel_dim`=5 is out of range"):
        fnsnn.activation_aware_if_multi_step(torch.randn(3, 2, 3), v_threshold=torch.ones(3), channel_dim=5)


# -- STBIFNode ---------------------------------------------------------------------------------------

STBIF_CONFIGS = [dict(q_threshold=0.5, level=8, sym=True), dict(q_threshold=0.3, level=4),
                 dict(q_threshold=0.5, level=8, pos_max=2.0, neg_min=-1.0)]


@pytest.mark.parity
@pytest.mark.parametrize("kw", STBIF_CONFIGS)
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_stbif_matches_2_0_0(kw, step_mode):
    from spikingjelly.activation_based import base as sb, neuron as sn

    import fnsnn_nn

    ours, theirs = neuron.STBIFNode(**kw, step_mode=step_mode), sn.STBIFNode(**kw, step_mode=step_mode).eval()
    assert list(fnsnn_nn.base.named_memories(ours)) == list(sb.named_memories(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["q_threshold", "pos_max", "neg_min"]
    for k, v in ours.state_dict().items():
        torch.testing.assert_close(v, theirs.state_dict()[k])
    x = torch.randn(9, 3, 4)
    with torch.no_grad():
        for _ in range(2):  # the state carries over
            ya = ours(x) if step_mode == "m" else torch.stack([ours(t) for t in x])
            yb = theirs(x) if step_mode == "m" else torch.stack([theirs(t) for t in x])
            torch.testing.assert_close(ya, yb, rtol=0, atol=0)
            for name in ("q", "acc_q", "cur_output"):
                torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), rtol=0, atol=0)


@pytest.mark.parity
def test_stbif_functions_match_2_0_0():
    from spikingjelly.activation_based import functional as sf

    x, q, acc = torch.randn(6, 5), torch.rand(5), torch.randint(-2, 3, (5,)).float()
    params = (torch.tensor(0.5), torch.tensor(3.0), torch.tensor(-4.0))
    for ours, theirs, inp in ((F.stbif_step, sf.stbif_step, x[0]), (F.stbif_multi_step, sf.stbif_multi_step, x)):
        for u, w in zip(ours(inp, q, acc, *params), theirs(inp, q, acc, *params)):
            torch.testing.assert_close(u, w, rtol=0, atol=0)


def test_stbif_releases_the_quantised_activation():
    # an activation fed at t = 0, then silence: once T covers the count, the summed output is
    # s * clamp(round(x / s)), the quantised ANN's activation
    s, level = 0.25, 8
    pos, neg = fnsnn.stbif_bounds(level, sym=True)
    x = torch.linspace(-1.5, 1.5, 41)
    x_seq = torch.cat((x[None], torch.zeros(11, 41)))
    y, st = fnsnn.stbif_multi_step(x_seq, q_threshold=s, pos_max=pos, neg_min=neg)
    want = s * torch.clamp(torch.floor(x / s + 0.5), neg, pos)
    torch.testing.assert_close(y.sum(0), want)
    torch.testing.assert_close(st.acc_q * s, want)


def test_stbif_core_contract():
    x = torch.randn(7, 3, 4) * 0.6
    cfg = dict(q_threshold=0.3, pos_max=3.0, neg_min=-4.0)
    y_seq, final, q_seq = fnsnn.stbif_multi_step(x, **cfg, return_v_seq=True)
    state, ys = None, []
    for t in x.unbind(0):
        y, state = fnsnn.stbif_step(t, state, **cfg)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq, rtol=0, atol=0)
    for u, w in zip(state, final):
        torch.testing.assert_close(u, w, rtol=0, atol=0)
    torch.testing.assert_close(q_seq[-1], final.q)
    xs = torch.randn(4, 7, 3, 4) * 0.6
    out = vmap(lambda v: fnsnn.stbif_multi_step(v, **cfg)[0])(xs)
    for b in range(4):
        torch.testing.assert_close(out[b], fnsnn.stbif_multi_step(xs[b], **cfg)[0])
    g = grad(lambda s: fnsnn.stbif_multi_step(x, q_threshold=s, pos_max=3.0, neg_min=-4.0)[0].sum())(torch.tensor(0.3))
    assert torch.isfinite(g)  # the output scale is differentiable; the charge carries no gradient (as in 2.0.0)
    node = neuron.STBIFNode(0.3, 8, sym=True, step_mode="m")
    torch.testing.assert_close(node(x), fnsnn.stbif_multi_step(x, **cfg)[0])


def test_stbif_errors():
    with pytest.raises(ValueError, match=r"stbif_bounds: `level` must be an int >= 2, got 1"):
        neuron.STBIFNode(1.0, 1)
    with pytest.raises(ValueError, match=r"STBIFNode: `q_threshold` must hold finite values > 0, got 0.0"):
        neuron.STBIFNode(0.0, 8)
    with pytest.raises(ValueError, match=r"stbif_step: `q_threshold` \(the quantiser's scale\) must be > 0"):
        fnsnn.stbif_step(torch.randn(3), q_threshold=-1.0, pos_max=1.0, neg_min=0.0)
    with pytest.raises(ValueError, match=r"stbif_step: `state.q` has shape \(2,\) but the input needs \(3,\)"):
        fnsnn.stbif_step(torch.randn(3), fnsnn.STBIFState(*[torch.zeros(2)] * 3), q_threshold=1.0, pos_max=1.0,
                         neg_min=0.0)
    node = neuron.STBIFNode(0.5, 8)
    node(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"STBIFNode: stored memory `q` has shape \(2, 3\).*reset_net"):
        node(torch.randn(4, 3))


# -- SimpleBaseNode -------------------------------------------------------------------------------------

def _leaky(base):
    class Leaky(base):
        def neuronal_charge(self, x):
            self.v = self.v * 0.5 + x
    return Leaky


@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(), dict(v_reset=None, detach_reset=True, v_threshold=0.7)])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_simple_base_node_subclass_matches_2_0_0(kw, step_mode):
    from spikingjelly.activation_based import base as sb, neuron as sn, surrogate as ss

    ours = _leaky(neuron.SimpleBaseNode)(surrogate_function=surrogate.ATan(), step_mode=step_mode, **kw)
    theirs = _leaky(sn.SimpleBaseNode)(surrogate_function=ss.ATan(), step_mode=step_mode, **kw)
    import fnsnn_nn

    assert list(fnsnn_nn.base.named_memories(ours)) == list(sb.named_memories(theirs))
    x = torch.randn(6, 3, 4) * 2
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    if step_mode == "m":
        ya, yb = ours(xa), theirs(xb)
    else:
        ya, yb = torch.stack([ours(t) for t in xa]), torch.stack([theirs(t) for t in xb])
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
    w = torch.randn_like(ya)
    torch.testing.assert_close(torch.autograd.grad((ya * w).sum() + ours.v.sum(), xa)[0],
                               torch.autograd.grad((yb * w).sum() + theirs.v.sum(), xb)[0])


def test_simple_base_node_explicit_state_and_errors():
    import fnsnn_nn

    node = _leaky(neuron.SimpleBaseNode)()
    f = fnsnn_nn.base.to_functional_forward(node)
    x = torch.randn(5, 3) * 2
    (y,), (v,) = f((x,), (0.0,))
    torch.testing.assert_close(y, _leaky(neuron.SimpleBaseNode)()(x))
    g = grad(lambda inp: f((inp,), (0.3,))[1][0].sum())(x)  # through the charge, fire and reset
    assert torch.isfinite(g).all() and node.v == 0.0
    with pytest.raises(NotImplementedError, match=r"SimpleBaseNode.neuronal_charge: a SimpleBaseNode subclass"):
        neuron.SimpleBaseNode()(x)
    node(x)
    with pytest.raises(ValueError, match=r"Leaky: stored memory `v` has shape \(5, 3\).*reset_net"):
        node(torch.randn(2, 3))


# -- DSRIFNode ----------------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(v_threshold=2.0, alpha=0.5), dict(v_threshold=1.0, alpha=0.3,
                                                                        v_threshold_grad_scaling=3.0)])
def test_dsr_if_matches_2_0_0(kw):
    from spikingjelly.activation_based import neuron as sn

    ours, theirs = neuron.DSRIFNode(T=5, **kw), sn.DSRIFNode(T=5, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["v_threshold"]
    x = torch.randn(5, 3, 8) * 2
    x[:, 0, 0] = 0.0  # representation exactly 0
    x[:, 0, 1] = kw["v_threshold"]  # exactly V_th
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    g = torch.randn_like(ya)
    ga = torch.autograd.grad(ya, [xa, ours.v_threshold], g)
    gb = torch.autograd.grad(yb, [xb, theirs.v_threshold], g)
    for u, w in zip(ga, gb):
        torch.testing.assert_close(u, w)
    with torch.no_grad():
        ours.v_threshold.fill_(0.001)  # below the lower bound: clamped, no threshold gradient
        theirs.v_threshold.fill_(0.001)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb)
    for u, w in zip(torch.autograd.grad(ya.sum(), [xa, ours.v_threshold]),
                    torch.autograd.grad(yb.sum(), [xb, theirs.v_threshold])):
        torch.testing.assert_close(u, w)


def test_dsr_if_torch_func_and_errors():
    x = torch.randn(4, 5, 3, 6)
    run = lambda xs, th: fnsnn.dsr_if_multi_step(xs, th).sum()  # noqa: E731
    th = torch.tensor(1.5)
    gs = vmap(grad(run), in_dims=(0, None))(x, th)
    for b in range(4):
        xr = x[b].clone().requires_grad_(True)
        run(xr, th).backward()
        torch.testing.assert_close(gs[b], xr.grad)
    assert torch.isfinite(grad(run, argnums=1)(x[0], th))
    node = neuron.DSRIFNode(T=4, v_threshold_training=False)
    assert list(node.state_dict()) == [] and not node.v_threshold.requires_grad
    with pytest.raises(ValueError, match=r"DSRIFNode: the input has T=3 steps but the neuron was built with T=4"):
        node(torch.randn(3, 2))
    with pytest.raises(ValueError, match=r"DSRIFNode: `v_threshold` must be a float >= v_threshold_lower_bound"):
        neuron.DSRIFNode(T=4, v_threshold=0.001)
    with pytest.raises(ValueError, match=r"DSRIFNode.step_mode: expected one of \('m',\), got 's'"):
        neuron.DSRIFNode(T=4, step_mode="s")
    with pytest.raises(ValueError, match=r"dsr_if_multi_step: `x_seq` has an empty time dimension"):
        fnsnn.dsr_if_multi_step(torch.randn(0, 3), 1.0)


# -- Few-Spike neurons ------------------------------------------------------------------------------------

def _fs_pairs():
    from spikingjelly.activation_based import neuron as sn, surrogate as ss
    from spikingjelly.activation_based.neuron import few_spike as sfs

    from fnsnn_nn.neuron import few_spike as ofs

    rows = ([0.5, 0.25, 0.125], [0.5, 0.25, 0.125], [0.6, 0.3, 0.1]), ([1.0, 0.5, 0.25], [1.0, 0.5, 0.25],
                                                                      [1.0, 0.5, 0.25]), \
        ([2.0, 1.0, 0.5], [2.0, 1.0, 0.5], [-2.0, -1.0, -0.5])
    ot = [ofs.FewSpikeTable(*r) for r in rows]
    st = [sfs.FewSpikeTable(*r) for r in rows]
    return [
        (lambda m: ofs.FewSpikeNode(ot[0], surrogate.ATan(), m), lambda m: sn.FewSpikeNode(st[0], ss.ATan(), m)),
        (lambda m: ofs.HGNode(ot, [0.0, 1.0], step_mode=m), lambda m: sn.HGNode(st, [0.0, 1.0], step_mode=m)),
        (lambda m: ofs.OutlierAwareThresholdNode(ot[0], ot[1], 0.8, 2.0, step_mode=m),
         lambda m: sn.OutlierAwareThresholdNode(st[0], st[1], 0.8, 2.0, step_mode=m)),
        (lambda m: ofs.OutlierAwareThresholdNode(ot[0], ot[1], 0.5, step_mode=m),
         lambda m: sn.OutlierAwareThresholdNode(st[0], st[1], 0.5, step_mode=m)),
    ]


@pytest.mark.parity
@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_few_spike_nodes_match_2_0_0(index, step_mode):
    make_ours, make_theirs = _fs_pairs()[index]
    ours, theirs = make_ours(step_mode), make_theirs(step_mode)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in ours.state_dict().items():
        torch.testing.assert_close(v, theirs.state_dict()[k])
    x = torch.randn((3, 4, 5) if step_mode == "m" else (4, 5)) * 1.5
    x.view(-1)[:3] = torch.tensor([0.0, 1.0, -0.8])  # region and split boundaries
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb)
    g = torch.randn_like(ya)
    torch.testing.assert_close(torch.autograd.grad(ya, xa, g)[0], torch.autograd.grad(yb, xb, g)[0])


def test_few_spike_functions_and_errors():
    from fnsnn.neurons.few_spike import few_spike_multi_step

    from fnsnn_nn.neuron import FewSpikeTable

    t = FewSpikeTable([0.5, 0.25, 0.125], [0.5, 0.25, 0.125], [0.5, 0.25, 0.125])
    v = torch.tensor([0.3, 0.6, 0.9, -0.2])
    torch.testing.assert_close(few_spike_multi_step(v, t.theta, t.h, t.d).sum(0),
                               torch.tensor([0.25, 0.5, 0.875, 0.0]))  # binary expansion, 3 bits
    vs = torch.randn(6, 4)
    out = vmap(lambda u: few_spike_multi_step(u, t.theta, t.h, t.d))(vs)
    for i in range(6):
        torch.testing.assert_close(out[i], few_spike_multi_step(vs[i], t.theta, t.h, t.d))
    with pytest.raises(ValueError, match=r"FewSpikeTable: `theta`, `h` and `d` must have the same length"):
        FewSpikeTable([1.0, 0.5], [1.0], [1.0])
    with pytest.raises(ValueError, match=r"FewSpikeTable: `h` must be a non-empty 1-D sequence of finite values"):
        FewSpikeTable([1.0], [float("inf")], [1.0])
    with pytest.raises(TypeError, match=r"FewSpikeNode: `table` must be a FewSpikeTable"):
        neuron.FewSpikeNode([1.0])
    with pytest.raises(ValueError, match=r"FewSpikeNode: step_mode='m' needs x_seq of shape \[K=3, ...\]"):
        neuron.FewSpikeNode(t, step_mode="m")(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"HGNode: 2 tables need 1 gate thresholds, got 2"):
        neuron.HGNode([t, t], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"HGNode: `gate_thresholds` must be strictly ascending"):
        neuron.HGNode([t, t, t], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"OutlierAwareThresholdNode: `clamp_value` must be None or a float >= "
                                         r"split_threshold=1.0"):
        neuron.OutlierAwareThresholdNode(t, t, 1.0, clamp_value=0.5)


@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(v_threshold=1.0, tau=2.0, delta_t=0.05, alpha=0.3),
                                dict(v_threshold=2.0, tau=3.0, delta_t=0.1, alpha=0.5, v_threshold_grad_scaling=2.0),
                                dict(v_threshold=0.5)])
def test_dsr_lif_matches_2_0_0(kw):
    from spikingjelly.activation_based import neuron as sn

    ours, theirs = neuron.DSRLIFNode(T=5, **kw), sn.DSRLIFNode(T=5, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["v_threshold"]
    x = torch.randn(5, 3, 20) * 30 + 10  # spans below 0, inside and above the saturating rate
    x[:, 0, 0] = 0.0
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    g = torch.randn_like(ya)
    for u, w in zip(torch.autograd.grad(ya, [xa, ours.v_threshold], g),
                    torch.autograd.grad(yb, [xb, theirs.v_threshold], g)):
        torch.testing.assert_close(u, w)
    xs = torch.randn(3, 5, 2, 4) * 30
    gs = vmap(grad(lambda v: fnsnn.dsr_lif_multi_step(v, 1.0).sum()))(xs)
    for b in range(3):
        xr = xs[b].clone().requires_grad_(True)
        fnsnn.dsr_lif_multi_step(xr, 1.0).sum().backward()
        torch.testing.assert_close(gs[b], xr.grad)
    with pytest.raises(ValueError, match=r"DSRLIFNode: the input has T=4 steps but the neuron was built with T=5"):
        ours(torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"dsr_lif_multi_step: `tau` and `delta_t` must be > 0"):
        fnsnn.dsr_lif_multi_step(x, 1.0, delta_t=0.0)


# -- ILC neurons --------------------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("name,kw", [("ILCIFNode", {}), ("ILCLIFNode", dict(v_decay=0.6)),
                                     ("ILCCUBALIFNode", dict(c_decay=0.4, v_decay=0.7, v_threshold=0.8,
                                                             v_reset=0.1))])
def test_ilc_neurons_match_2_0_0(name, kw):
    from spikingjelly.activation_based import neuron as sn

    ours, theirs = getattr(neuron, name)(2, 3, **kw), getattr(sn, name)(2, 3, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["conn.weight", "conn.bias"]
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(6, 4, 6) * 1.5
    x0 = x.clone()
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya = ours(xa)
    yb = theirs(xb.clone())  # 2.0.0 adds the lateral input into its argument in place
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
    torch.testing.assert_close(xa.detach(), x0)  # fnsnn leaves the input alone
    g = torch.randn_like(ya)
    for u, w in zip(torch.autograd.grad(ya, [xa, *ours.parameters()], g),
                    torch.autograd.grad(yb, [xb, *theirs.parameters()], g)):
        torch.testing.assert_close(u, w)
    torch.testing.assert_close(ours(x), ya)  # every call starts from rest


def test_ilc_core_and_errors():
    from fnsnn.neurons.ilc import ilc_lateral, ilc_multi_step

    conv = torch.nn.Conv1d(2, 6, 3, groups=2)
    s = (torch.rand(5, 6) > 0.5).float()
    torch.testing.assert_close(ilc_lateral(s, conv.weight, conv.bias, 2, 3), conv(s.view(5, 2, 3)).view(5, 6))
    xs = torch.randn(3, 4, 2, 6)
    kw = dict(weight=conv.weight.detach(), bias=conv.bias.detach(), act_dim=2, dec_pop_dim=3, charge="lif")
    out = vmap(lambda v: ilc_multi_step(v, **kw)[0])(xs)
    for b in range(3):
        torch.testing.assert_close(out[b], ilc_multi_step(xs[b], **kw)[0])
    soft = ilc_multi_step(xs[0], **dict(kw, v_reset=None))[1]  # 2.0.0 cannot run soft reset
    assert torch.isfinite(soft.v).all()
    with pytest.raises(ValueError, match=r"ilc_multi_step: `x_seq` must end in act_dim \* dec_pop_dim = 6 neurons"):
        neuron.ILCIFNode(2, 3)(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match=r"ilc_multi_step: `charge` must be one of \('if', 'lif', 'cuba'\)"):
        ilc_multi_step(xs[0], **dict(kw, charge="qif"))
    with pytest.raises(ValueError, match=r"ILCIFNode: `act_dim` must be a positive int, got 0"):
        neuron.ILCIFNode(0, 3)


# -- MPBN neurons -------------------------------------------------------------------------------------------

MPBN_CONFIGS = [(dict(out_features=4), (5, 3, 4)), (dict(out_channels=3, learnable_vth=True), (4, 2, 3, 2, 2)),
                (dict(out_features=4, tau=3.0, decay_input=True, v_reset=None, detach_reset=True), (5, 3, 4)),
                (dict(out_features=4, mpbn=False), (5, 3, 4))]


def _feed(module, x, step_mode):
    return module(x) if step_mode == "m" else torch.stack([module(t) for t in x.unbind(0)])


def _compare_mpbn(ours, theirs, x, step_mode, grads=True):
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = _feed(ours, xa, step_mode), _feed(theirs, xb, step_mode)
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, u), w in zip(ours.state_dict().items(), theirs.state_dict().values()):
        torch.testing.assert_close(u, w, msg=k)
    if grads:
        w = torch.randn_like(ya)
        pa, pb = [xa, *ours.parameters()], [xb, *theirs.parameters()]
        for u, v in zip(torch.autograd.grad((ya * w).sum() + ours.v.sum(), pa),
                        torch.autograd.grad((yb * w).sum() + theirs.v.sum(), pb)):
            torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("kw,shape", MPBN_CONFIGS)
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_mpbn_lif_matches_2_0_0(kw, shape, step_mode):
    from spikingjelly.activation_based import neuron as sn

    torch.manual_seed(3)
    theirs = sn.MPBNLIFNode(step_mode=step_mode, **kw)
    ours = neuron.MPBNLIFNode(step_mode=step_mode, **kw)
    if kw.get("mpbn", True):  # a trained-looking batch norm, loaded from SpikingJelly's state_dict
        with torch.no_grad():
            theirs.vbn.weight.uniform_(0.5, 1.5), theirs.vbn.bias.uniform_(-0.2, 0.2)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(shape) * 2
    _compare_mpbn(ours, theirs, x, step_mode)  # training: batch statistics, running statistics move
    ours.reset(), theirs.reset()
    _compare_mpbn(ours, theirs, x, step_mode)
    ours.eval(), theirs.eval()
    ours.reset(), theirs.reset()
    _compare_mpbn(ours, theirs, x, step_mode)
    # test-time adaptation: fold the batch norm into the threshold, then adapt with batch or running statistics
    for normalize_residual, running_stats in ((False, False), (True, True)):
        a, b = neuron.MPBNLIFNode(step_mode=step_mode, **kw), sn.MPBNLIFNode(step_mode=step_mode, **kw)
        a.load_state_dict(theirs.state_dict() if not isinstance(theirs.vbn, torch.nn.Identity) else b.state_dict())
        b.load_state_dict(a.state_dict())
        a.re_parameterize_v_threshold(normalize_residual, running_stats)
        b.re_parameterize_v_threshold(normalize_residual, running_stats)
        assert list(a.state_dict()) == list(b.state_dict())
        a.load_state_dict(b.state_dict(), strict=True)
        for _ in range(2):
            a.reset(), b.reset()
            _compare_mpbn(a, b, x, step_mode)
            assert a.bn_momentum == pytest.approx(b.bn_momentum, rel=1e-6)
        a.eval(), b.eval()
        a.reset(), b.reset()
        _compare_mpbn(a, b, x, step_mode)


def test_mpbn_core_contract_and_errors():
    torch.manual_seed(0)
    x = torch.randn(6, 4, 3, 5) * 2  # [B, T, N, C]
    w, b = torch.rand(5) + 0.5, torch.randn(5) * 0.1
    run = lambda xs: fnsnn.mpbn_lif_multi_step(xs, weight=w, bias=b)  # noqa: E731
    out = vmap(lambda xs: run(xs)[0])(x)
    for i in range(6):
        torch.testing.assert_close(out[i], run(x[i])[0])
    y, final = run(x[0])
    state, ys = None, []
    for x_t in x[0].unbind(0):
        s, state = fnsnn.mpbn_lif_step(x_t, state, weight=w, bias=b)
        ys.append(s)
    torch.testing.assert_close(torch.stack(ys), y, rtol=0, atol=0)
    for u, v in zip(state, final):
        torch.testing.assert_close(u, v)
    assert final.mean.shape == (5,) and final.momentum.shape == (1,)
    smooth = fnsnn.surrogate.Sigmoid(spiking=False)
    g = grad(lambda ww: fnsnn.mpbn_lif_multi_step(x[0], weight=ww, bias=b, surrogate_function=smooth)[1].v.sum())(w)
    wr = w.clone().requires_grad_(True)
    ref = torch.autograd.grad(fnsnn.mpbn_lif_multi_step(x[0], weight=wr, bias=b,
                                                         surrogate_function=smooth)[1].v.sum(), wr)[0]
    torch.testing.assert_close(g, ref)
    charge = lambda xx, v: v + xx  # noqa: E731
    y_if, _ = fnsnn.mpbn_multi_step(x[0], charge=charge, bn=False)
    torch.testing.assert_close(y_if, fnsnn.if_multi_step(x[0])[0])
    with pytest.raises(ValueError, match=r"mpbn_lif_multi_step: `momentum` must lie in \[0, 1\]"):
        fnsnn.mpbn_lif_multi_step(x[0], momentum=1.5)
    with pytest.raises(ValueError, match=r"mpbn_lif_step: `eps` must be > 0"):
        fnsnn.mpbn_lif_step(x[0, 0], eps=float("nan"))
    with pytest.raises(ValueError, match=r"mpbn_lif_multi_step: `tau` must be > 1"):
        fnsnn.mpbn_lif_multi_step(x[0], tau=float("inf"))
    with pytest.raises(ValueError, match=r"mpbn_lif_multi_step: fold=True and normalize_residual=True need"):
        fnsnn.mpbn_lif_multi_step(x[0], bn=False, fold=True)
    with pytest.raises(ValueError, match=r"mpbn_lif_multi_step: the tensor `weight` has shape \(4,\): one value "
                                         r"per channel, but the input has 5"):
        fnsnn.mpbn_lif_multi_step(x[0], weight=torch.ones(4))


FUSED_CONFIGS = [(dict(out_features=16), (6, 5, 16)), (dict(out_channels=3), (5, 4, 3, 2, 2)),
                 (dict(out_features=8, tau=3.0, decay_input=True, v_reset=None, detach_reset=True), (5, 3, 8)),
                 (dict(out_features=8, mpbn=False), (5, 3, 8)), (dict(out_features=8, detach_reset=True), (5, 3, 8)),
                 (dict(out_features=8, v_reset=None, surrogate_function=surrogate.ATan()), (5, 3, 8))]


def _mpbn_run(kw, shape, backend, store_v_seq):
    torch.manual_seed(1)
    m = neuron.MPBNLIFNode(step_mode="m", store_v_seq=store_v_seq, backend=backend, **kw)
    if kw.get("mpbn", True):
        with torch.no_grad():
            m.vbn.weight.uniform_(0.5, 1.5), m.vbn.bias.uniform_(-0.2, 0.2)
    x = (torch.randn(shape) * 2).requires_grad_()
    y = m(x)
    loss = (y * torch.randn_like(y)).sum() + m.v.square().sum() + (m.v_seq.sin().sum() if store_v_seq else 0)
    grads = torch.autograd.grad(loss, [x, *m.parameters()])
    return y, m.v, m.v_seq if store_v_seq else None, [b.clone() for b in m.buffers()], grads, m.last_backend


@pytest.mark.parametrize("kw,shape", FUSED_CONFIGS)
@pytest.mark.parametrize("store_v_seq", [False, True])
def test_mpbn_training_runs_fused_and_equals_the_reference(kw, shape, store_v_seq):
    fused = _mpbn_run(kw, shape, "auto", store_v_seq)
    ref = _mpbn_run(kw, shape, "torch", store_v_seq)
    assert fused[5] == "cpu" and ref[5] == "torch"
    assert torch.equal(fused[0], ref[0]) and torch.equal(fused[1], ref[1])  # spikes and state: the same bits
    assert store_v_seq is False or torch.equal(fused[2], ref[2])
    assert all(torch.equal(a, b) for a, b in zip(fused[3], ref[3]))  # running statistics
    assert len(fused[4]) == len(ref[4]) >= 1
    for a, b in zip(fused[4], ref[4]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_mpbn_fused_float64_and_single_sample_batches():
    m, r = (neuron.MPBNLIFNode(out_features=4, step_mode="m", backend=b).double() for b in ("auto", "torch"))
    x = torch.randn(5, 3, 4, dtype=torch.float64) * 2
    assert torch.equal(m(x), r(x)) and torch.equal(m.v, r.v) and m.last_backend == "cpu"
    m.reset(), r.reset()
    with torch.no_grad():  # inference: the fused node keeps nothing for a backward
        assert torch.equal(m(x), r(x)) and torch.equal(m.v, r.v) and m.last_backend == "cpu"
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        neuron.MPBNLIFNode(out_features=4, step_mode="m")(torch.randn(5, 1, 4))  # as the reference says


def test_mpbn_fused_takes_a_channels_last_input():
    m, r = (neuron.MPBNLIFNode(out_channels=3, step_mode="m", backend=b) for b in ("auto", "torch"))
    x = (torch.randn(4, 2, 5, 5, 3) * 2).permute(0, 1, 4, 2, 3).requires_grad_()  # [T, N, C, H, W], not contiguous
    y, y_ref = m(x), r(x)
    assert m.last_backend == "cpu" and torch.equal(y, y_ref) and torch.equal(m.v, r.v)
    g, g_ref = (torch.autograd.grad((out * torch.linspace(-1, 1, 5)).sum(), x)[0] for out in (y, y_ref))
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-6)


def test_mpbn_fused_double_backward_equals_the_reference():
    def penalty(backend):
        torch.manual_seed(2)
        m = neuron.MPBNLIFNode(out_features=6, step_mode="m", backend=backend,
                               surrogate_function=surrogate.Sigmoid(spiking=True))
        x = (torch.randn(4, 5, 6) * 2).requires_grad_()
        (gx,) = torch.autograd.grad((m(x) * torch.linspace(-1, 1, 6)).sum() + m.v.square().sum(), x,
                                    create_graph=True)
        return torch.autograd.grad(gx.square().sum(), [x, *m.parameters()]), m.last_backend

    (fused, used), (ref, _) = penalty("auto"), penalty("torch")
    assert used == "cpu"
    for a, b in zip(fused, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_mpbn_runs_the_reference_where_the_fused_scan_does_not_apply():
    x = torch.randn(4, 3, 5) * 2
    m = neuron.MPBNLIFNode(out_features=5, step_mode="m")
    m.eval()
    m(x)
    assert m.last_backend == "torch"  # fixed statistics
    smooth = neuron.MPBNLIFNode(out_features=5, step_mode="m", surrogate_function=surrogate.Sigmoid(spiking=False))
    smooth(x)
    assert smooth.last_backend == "torch"  # a smooth firing function: not an exact program
    fnsnn.mpbn_multi_step(x, charge=lambda xx, v: v + xx)
    assert fnsnn.last_backend() == "torch"  # a user's charge
    fnsnn.mpbn_lif_multi_step(x, bn=False, fold=True, gamma=torch.ones(5), beta=torch.zeros(5))
    assert fnsnn.last_backend() == "torch"  # the folded threshold
    with pytest.raises(ValueError, match="mpbn_lif_multi_step: backend='cpu' cannot run this call: the mpbn step "
                                         "mixes the samples of a batch"):
        fnsnn.mpbn_lif_multi_step(x, bn=False, fold=True, gamma=torch.ones(5), beta=torch.zeros(5), backend="cpu")
    fnsnn.mpbn_lif_multi_step(x, backend="cpu")
    assert fnsnn.last_backend() == "cpu"


def test_mpbn_shell_errors_and_base_class():
    with pytest.raises(ValueError, match=r"MPBNLIFNode: give exactly one of `out_features`"):
        neuron.MPBNLIFNode()
    with pytest.raises(ValueError, match=r"MPBNLIFNode: `tau` must be > 1 \(and finite\), got nan"):
        neuron.MPBNLIFNode(tau=float("nan"), out_features=3)
    with pytest.raises(ValueError, match=r"MPBNLIFNode: `bn_momentum` must lie in \[0, 1\]"):
        neuron.MPBNLIFNode(out_features=3, bn_momentum=float("inf"))
    with pytest.raises(ValueError, match=r"MPBNBaseNode: `v_threshold` must be finite, got inf"):
        neuron.MPBNBaseNode(v_threshold=float("inf"), out_features=3)
    with pytest.raises(TypeError, match=r"MPBNBaseNode: MPBNBaseNode is a base class; subclass it and define "
                                        r"neuronal_charge"):
        neuron.MPBNBaseNode(out_features=3)(torch.randn(2, 3))

    class MPBNIF(neuron.MPBNBaseNode):
        def neuronal_charge(self, x, v):
            return v + x

    node = MPBNIF(out_features=3, mpbn=False, step_mode="m")
    x = torch.randn(4, 2, 3) * 2
    torch.testing.assert_close(node(x), fnsnn.if_multi_step(x)[0])
    bn = MPBNIF(out_features=3, step_mode="m")
    bn(x)
    assert int(bn.vbn.num_batches_tracked) == 4


# -- Noisy neurons ------------------------------------------------------------------------------------------
# SpikingJelly 2.0.0 draws its noise with NumPy's default_rng(None), seeded from the OS, so no seed reproduces
# it; the parity tests copy 2.0.0's drawn noise into ours (and compare loaded noise) instead.

NOISY = [("NoisyCUBALIFNode", (6,), {}), ("NoisyCUBALIFNode", (6,), dict(c_decay=0.3, v_decay=0.9, v_threshold=0.8,
                                                                          v_reset=0.1, sigma_init=0.9, T=4)),
         ("NoisyCUBALIFNode", (6,), dict(is_training=False)), ("NoisyILCCUBALIFNode", (2, 3), {}),
         ("NoisyILCCUBALIFNode", (2, 3), dict(c_decay=0.2, v_threshold=0.7, T=3)),
         ("NoisyNonSpikingIFNode", (6,), {}), ("NoisyNonSpikingIFNode", (6,), dict(decode="max-abs-mem")),
         ("NoisyNonSpikingIFNode", (6,), dict(decode="last-me")), ("NoisyNonSpikingIFNode", (6,),
                                                                    dict(decode="mean-mem", is_training=False))]


def _stacked(y):
    return torch.stack(y) if isinstance(y, list) else y


@pytest.mark.parity
@pytest.mark.parametrize("name,args,kw", NOISY)
def test_noisy_neurons_match_2_0_0(name, args, kw):
    from spikingjelly.activation_based import neuron as sn

    torch.manual_seed(4)
    ours, theirs = getattr(neuron, name)(*args, **kw), getattr(sn, name)(*args, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.reset_noise(3)
    ours.reset_noise(3)
    for attr in ("eps_v_seq", "eps_s_seq", "eps_seq"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr).shape == getattr(theirs, attr).shape
            assert getattr(ours, attr).dtype == getattr(theirs, attr).dtype
            setattr(ours, attr, getattr(theirs, attr).clone())
    T, D = ours.T, ours.num_node
    for _ in range(2):
        x = torch.randn(T, 4, D) * 1.5
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = _stacked(ours(xa)), _stacked(theirs(xb))
        torch.testing.assert_close(ya, yb, rtol=0, atol=0)
        torch.testing.assert_close(ours.v, theirs.v)
        if kw.get("is_training", True):
            torch.testing.assert_close(ours.get_colored_noise(), theirs.get_colored_noise())
        w = torch.randn_like(ya)
        if not ya.requires_grad:
            continue
        for u, v in zip(torch.autograd.grad((ya * w).sum(), [xa, *ours.parameters()], allow_unused=True),
                        torch.autograd.grad((yb * w).sum(), [xb, *theirs.parameters()], allow_unused=True)):
            assert (u is None) == (v is None)
            if u is not None:
                torch.testing.assert_close(u, v)
    if kw.get("is_training", True):
        cn = torch.randn(4, T, D * (1 if "NonSpiking" in name else 2))
        ours.load_colored_noise(cn)
        theirs.load_colored_noise(cn)
        torch.testing.assert_close(_stacked(ours(x)), _stacked(theirs(x)), rtol=0, atol=0)
        ours.cancel_load(), theirs.cancel_load()
        torch.testing.assert_close(_stacked(ours(x)), _stacked(theirs(x)), rtol=0, atol=0)


@pytest.mark.parity
@pytest.mark.parametrize("exponent,samples,fmin", [(0.0, 8, 0.0), (1.0, 9, 0.0), (2.0, 16, 0.1), (0.5, 5, 0.3)])
def test_colored_noise_shaping_matches_2_0_0(exponent, samples, fmin):
    import numpy as np
    from spikingjelly.activation_based.neuron.noisy import powerlaw_psd_gaussian as sj_noise

    torch.manual_seed(0)
    z = [torch.randn(3, samples // 2 + 1, dtype=torch.float64) for _ in range(2)]
    draws = iter(z)

    class Fixed(np.random.RandomState):  # hands 2.0.0 our standard normal draws
        def normal(self, loc=0.0, scale=1.0, size=None):
            return np.asarray(scale) * next(draws).numpy()

    theirs = torch.from_numpy(sj_noise(exponent, [3, samples], fmin, random_state=Fixed()))
    ours = fnsnn.colored_noise_from_white(z[0], z[1], exponent, samples, fmin)
    torch.testing.assert_close(ours, theirs)


def test_noisy_cores_are_pure_and_compose():
    torch.manual_seed(1)
    x, nv, ns = torch.randn(5, 4, 6), torch.randn(5, 6), torch.randn(5, 6)
    kw = dict(noise_v=nv, noise_s=ns, sigma_v=0.3, sigma_s=0.2)
    y, st = fnsnn.noisy_spiking_multi_step(x, **kw)
    y0, _ = fnsnn.noisy_spiking_multi_step(x)
    torch.testing.assert_close(fnsnn.noisy_spiking_multi_step(x, **kw)[0], y)  # same noise, same output
    torch.testing.assert_close(fnsnn.noisy_spiking_multi_step(x, sigma_v=0.0, sigma_s=0.0, noise_v=nv,
                                                              noise_s=ns)[0], y0)
    xs = torch.randn(3, 5, 4, 6)
    out = vmap(lambda a: fnsnn.noisy_spiking_multi_step(a, **kw)[0])(xs)
    for i in range(3):
        torch.testing.assert_close(out[i], fnsnn.noisy_spiking_multi_step(xs[i], **kw)[0])
    sig = torch.full((6,), 0.1)
    g = grad(lambda s: fnsnn.noisy_nonspiking_if_multi_step(x, noise=nv, sigma=s, decode="mean-mem")[0].sum())(sig)
    sr = sig.clone().requires_grad_(True)
    ref = torch.autograd.grad(fnsnn.noisy_nonspiking_if_multi_step(x, noise=nv, sigma=sr, decode="mean-mem")[0].sum(),
                              sr)[0]
    torch.testing.assert_close(g, ref)
    g1 = torch.Generator().manual_seed(7)
    g2 = torch.Generator().manual_seed(7)
    a = fnsnn.powerlaw_psd_gaussian(1.0, [4, 32], generator=g1)
    torch.testing.assert_close(a, fnsnn.powerlaw_psd_gaussian(1.0, [4, 32], generator=g2))
    torch.manual_seed(11)
    n1 = neuron.powerlaw_psd_gaussian(1.0, [4, 32])
    torch.manual_seed(11)
    torch.testing.assert_close(n1, fnsnn.powerlaw_psd_gaussian(1.0, [4, 32], generator=torch.default_generator))


def test_noisy_errors():
    x = torch.randn(5, 2, 6)
    with pytest.raises(TypeError, match=r"powerlaw_psd_gaussian: `generator` must be a torch.Generator"):
        fnsnn.powerlaw_psd_gaussian(1.0, 8, generator=None)
    with pytest.raises(ValueError, match=r"noisy_spiking_multi_step: `sigma_v` must be finite, got nan"):
        fnsnn.noisy_spiking_multi_step(x, sigma_v=float("nan"))
    with pytest.raises(ValueError, match=r"noisy_spiking_multi_step: `noise_v` must hold one noise tensor per time "
                                         r"step, \[T=5, \*\]"):
        fnsnn.noisy_spiking_multi_step(x, noise_v=torch.randn(4, 6))
    with pytest.raises(ValueError, match=r"noisy_nonspiking_if_multi_step: `sigma` must be finite"):
        fnsnn.noisy_nonspiking_if_multi_step(x, sigma=float("inf"))
    with pytest.raises(ValueError, match=r"NoisyCUBALIFNode: `c_decay` must be finite, got nan"):
        neuron.NoisyCUBALIFNode(6, c_decay=float("nan"))
    with pytest.raises(ValueError, match=r"NoisyCUBALIFNode: `v_threshold` must be finite, got inf"):
        neuron.NoisyCUBALIFNode(6, v_threshold=float("inf"))
    with pytest.raises(ValueError, match=r"NoisyILCCUBALIFNode: `sigma_init` must be finite"):
        neuron.NoisyILCCUBALIFNode(2, 3, sigma_init=float("nan"))
    with pytest.raises(ValueError, match=r"NoisyNonSpikingIFNode: `beta` must be finite"):
        neuron.NoisyNonSpikingIFNode(6, beta=float("-inf"))
    with pytest.raises(ValueError, match=r"NoisyNonSpikingIFNode: `decode` must be one of"):
        neuron.NoisyNonSpikingIFNode(6, decode="max")
    with pytest.raises(RuntimeError, match=r"NoisyCUBALIFNode: no noise drawn; call reset_noise"):
        neuron.NoisyCUBALIFNode(6)(x)
    with pytest.raises(ValueError, match=r"NoisyCUBALIFNode: the input must be \[T=4, N, 6\]"):
        neuron.NoisyCUBALIFNode(6, T=4)(x)
    with pytest.raises(TypeError, match=r"NoisyBaseNode: NoisyBaseNode is a base class without dynamics; subclass "
                                        r"it and set `charge`"):
        neuron.NoisyBaseNode(6, is_training=False)(x)
    with pytest.raises(TypeError, match=r"NoisyILCBaseNode: NoisyBaseNode is a base class without dynamics"):
        neuron.NoisyILCBaseNode(2, 3, is_training=False)(x)
    with pytest.raises(TypeError, match=r"NoisyNonSpikingBaseNode: NoisyNonSpikingBaseNode is a base class without "
                                        r"dynamics; subclass it and set `multi_step_function`"):
        neuron.NoisyNonSpikingBaseNode(6, is_training=False)(x)
