"""SpikingJelly 2.0.0's explicit-state API (base.to_functional_forward, extract_memories, ...) on the pytree door."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.func import grad, vmap

import fnsnn_nn
from fnsnn_nn import base, functional, layer, neuron


def conv_snn(lib_layer, lib_neuron, step_mode="s"):
    net = nn.Sequential(
        lib_layer.Conv2d(1, 3, 3, padding=1), lib_neuron.LIFNode(tau=2.5),
        lib_layer.Flatten(), lib_layer.Linear(3 * 4 * 4, 5), lib_neuron.ParametricLIFNode(init_tau=3.0),
        lib_layer.Linear(5, 2), lib_neuron.IFNode(v_reset=None),
    )
    for m in net.modules():
        if hasattr(m, "step_mode"):
            m.step_mode = step_mode
    return net


def pair(step_mode="s"):
    from spikingjelly.activation_based import layer as sl, neuron as sn

    torch.manual_seed(3)
    ours = conv_snn(layer, neuron, step_mode)
    theirs = conv_snn(sl, sn, step_mode)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_import_paths():
    for name in ("named_memories", "memories", "extract_memories", "load_memories", "to_functional_forward"):
        assert callable(getattr(base, name))
    for name in ("functional_forward", "single_step_functional_forward", "multi_step_functional_forward",
                 "materialize_states"):
        assert callable(getattr(base.MemoryModule, name))


@pytest.mark.parity
def test_memory_listing_matches_2_0_0():
    from spikingjelly.activation_based import base as sb

    ours, theirs = pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(base.named_memories(ours)) == list(sb.named_memories(theirs))
    assert list(base.named_memories(ours, "p")) == list(sb.named_memories(theirs, "p"))
    assert base.extract_memories(ours) == sb.extract_memories(theirs)
    shared = neuron.LIFNode()
    assert [n for n, _ in base.named_memories(nn.Sequential(shared, shared))] == ["0.v"]


@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_to_functional_forward_matches_2_0_0(step_mode):
    from spikingjelly.activation_based import base as sb

    ours, theirs = pair(step_mode)
    f, g = base.to_functional_forward(ours), sb.to_functional_forward(theirs)
    shape = (4, 2, 1, 4, 4) if step_mode == "m" else (2, 1, 4, 4)
    s_f, s_g = tuple(base.extract_memories(ours)), tuple(sb.extract_memories(theirs))
    for _ in range(3):
        x = torch.randn(shape) * 3
        (y_f,), s_f = f((x,), s_f)
        (y_g,), s_g = g((x,), s_g)
        torch.testing.assert_close(y_f, y_g)
        for a, b in zip(s_f, s_g):
            torch.testing.assert_close(a, b)
    # the modules themselves were not written
    assert base.extract_memories(ours) == [0.0, 0.0, 0.0]


@pytest.mark.parity
def test_number_states_are_materialised_as_2_0_0():
    from spikingjelly.activation_based import base as sb

    ours, theirs = pair()
    x = torch.randn(2, 1, 4, 4) * 3
    states = (0.3, torch.full((2, 5), -0.2), 0.7)
    (y_f,), s_f = base.to_functional_forward(ours)((x,), states)
    (y_g,), s_g = sb.to_functional_forward(theirs)((x,), states)
    torch.testing.assert_close(y_f, y_g)
    for a, b in zip(s_f, s_g):
        torch.testing.assert_close(a, b)
    from spikingjelly.activation_based import neuron as sn

    for mode, xs in (("s", torch.ones(3) * 2), ("m", torch.ones(4, 3) * 2)):
        a = neuron.LIFNode().materialize_states((xs,), (0.5,), mode)
        b = sn.LIFNode().materialize_states((xs,), (0.5,), mode)
        torch.testing.assert_close(a[0], b[0])


@pytest.mark.parity
def test_grads_through_functional_forward_match_2_0_0_autograd():
    from spikingjelly.activation_based import base as sb

    ours, theirs = pair("m")
    f = base.to_functional_forward(ours)
    x = torch.randn(4, 2, 1, 4, 4) * 3
    s0 = (torch.rand(2, 3, 4, 4), torch.rand(2, 5), torch.rand(2, 2))

    def loss(x, states):
        (y,), new = f((x,), states)
        return y.sum() + sum(s.square().sum() for s in new)

    gx, gs = grad(loss, argnums=(0, 1))(x, s0)
    # the same loss through 2.0.0's modules with autograd
    xr = x.clone().requires_grad_(True)
    sr = [s.clone().requires_grad_(True) for s in s0]
    (y,), new = sb.to_functional_forward(theirs)((xr,), tuple(sr))
    (y.sum() + sum(s.square().sum() for s in new)).backward()
    torch.testing.assert_close(gx, xr.grad)
    for a, b in zip(gs, sr):
        torch.testing.assert_close(a, b.grad)


def test_vmap_over_examples_and_states_equals_loop():
    torch.manual_seed(0)
    net = conv_snn(layer, neuron, "m")
    f = base.to_functional_forward(net)
    xs = torch.randn(3, 4, 2, 1, 4, 4) * 3  # [B, T, N, C, H, W]
    states = (torch.rand(3, 2, 3, 4, 4), torch.rand(3, 2, 5), torch.rand(3, 2, 2))
    ys, news = vmap(lambda x, s: f((x,), s))(xs, states)
    for b in range(3):
        (y,), new = f((xs[b],), tuple(s[b] for s in states))
        torch.testing.assert_close(ys[0][b], y)
        for a, c in zip(news, new):
            torch.testing.assert_close(a[b], c)


def test_grad_wrt_parameters_through_functional_call():
    torch.manual_seed(0)
    net = conv_snn(layer, neuron, "m")
    x = torch.randn(3, 2, 1, 4, 4) * 3
    params = {k: v.detach() for k, v in net.named_parameters()}
    f = base.to_functional_forward(net)

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return f((x,), (0.0, 0.0, 0.0))[0][0]

    g = grad(lambda p: torch.func.functional_call(Wrapped(), {f"net.{k}": v for k, v in p.items()}, (x,)).sum())(
        params)
    net.zero_grad()
    functional.reset_net(net)
    net(x).sum().backward()
    for k, p in net.named_parameters():
        torch.testing.assert_close(g[k], p.grad, msg=k)


def test_flat_and_pytree_states_convert_losslessly_and_run_the_same():
    torch.manual_seed(0)
    net = conv_snn(layer, neuron, "s")
    x = torch.randn(2, 1, 4, 4) * 3
    tree = fnsnn_nn.init_state(net, x)
    flat = base.flat_from_state(net, tree)
    assert [t.shape for t in flat] == [(2, 3, 4, 4), (2, 5), (2, 2)]
    back = base.state_from_flat(net, flat)
    assert back.keys() == tree.keys()
    for name in tree:
        for key in tree[name]:
            assert back[name][key] is tree[name][key]
    assert fnsnn_nn.state_from_flat(net, flat).keys() == tree.keys()
    f = base.to_functional_forward(net)
    state, s = tree, flat
    for _ in range(3):
        x = torch.randn(2, 1, 4, 4) * 3
        y1, state = fnsnn_nn.apply(net, x, state)
        (y2,), s = f((x,), s)
        torch.testing.assert_close(y1, y2)
        for a, b in zip(base.flat_from_state(net, state), s):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # number leaves survive the round trip and apply materialises them like to_functional_forward
    numbers = base.state_from_flat(net, (0.25, 0.0, -0.5))
    assert base.flat_from_state(net, numbers) == (0.25, 0.0, -0.5)
    y1, st = fnsnn_nn.apply(net, x, numbers)
    (y2,), s2 = f((x,), (0.25, 0.0, -0.5))
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(st["1"]["v"], s2[0])


@pytest.mark.parity
def test_load_memories_and_free_fn_match_2_0_0():
    from spikingjelly.activation_based import base as sb, neuron as sn

    ours, theirs = nn.Sequential(neuron.IFNode()), nn.Sequential(sn.IFNode())
    x = torch.ones(3) * 0.6
    f = base.to_functional_forward(ours, fn=lambda x: ours(x) * 2)
    g = sb.to_functional_forward(theirs, fn=lambda x: theirs(x) * 2)
    (a,), sa = f((x,), (torch.full((3,), 0.5),))
    (b,), sb_ = g((x,), (torch.full((3,), 0.5),))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(sa[0], sb_[0])
    assert base.extract_memories(ours) == [0.0]  # swapped state put back
    bound = base.to_functional_forward(ours, fn=ours.forward)
    (c,), _ = bound((x,), (torch.full((3,), 0.5),))
    torch.testing.assert_close(c * 2, a)
    base.load_memories(ours, [torch.ones(3)])
    sb.load_memories(theirs, [torch.ones(3)])
    assert [(n, v.tolist()) for n, v in base.named_memories(ours)] == \
        [(n, v.tolist()) for n, v in sb.named_memories(theirs)]
    with pytest.raises(ValueError, match=r"load_memories: Sequential expected 1 states .* but got 0"):
        base.load_memories(ours, [])


class Counter(base.MemoryModule):
    def __init__(self):
        super().__init__()
        self.register_memory("counter", torch.tensor(0.0))
        self.linear = nn.Linear(4, 2)

    def single_step_forward(self, x):
        self.counter = self.counter + 1.0
        return self.linear(x)


def test_user_memory_module_and_per_module_forms():
    m = Counter()
    x = torch.randn(3, 4)
    (y,), (c,) = base.to_functional_forward(m)((x,), (torch.tensor(0.0),))
    torch.testing.assert_close(y, m.linear(x))
    assert c.item() == 1.0 and m.counter.item() == 0.0
    (y2,), (c2,) = m.functional_forward((x,), (torch.tensor(4.0),))
    torch.testing.assert_close(y2, y)
    assert c2.item() == 5.0 and m.counter.item() == 0.0
    # multi-step default on a module with a step loop
    m.step_mode = "m"
    (ys,), (c3,) = m.functional_forward((torch.randn(5, 3, 4),), (torch.tensor(0.0),))
    assert ys.shape == (5, 3, 2) and c3.item() == 5.0


@pytest.mark.parity
def test_neuron_per_module_forms_match_2_0_0():
    from spikingjelly.activation_based import neuron as sn

    x = torch.randn(5, 3) * 2
    v0 = torch.rand(3)
    ours, theirs = neuron.LIFNode(tau=3.0), sn.LIFNode(tau=3.0)
    for fn in ("single_step_functional_forward",):
        (a,), (va,) = getattr(ours, fn)((x[0],), (v0,))
        (b,), (vb,) = getattr(theirs, fn)((x[0],), (v0,))
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(va, vb)
    (a,), (va,) = ours.multi_step_functional_forward((x,), (v0,))
    (b,), (vb,) = theirs.multi_step_functional_forward((x,), (v0,))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(va, vb)
    assert ours.v == 0.0


def test_errors():
    net = conv_snn(layer, neuron)
    f = base.to_functional_forward(net)
    x = torch.randn(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"to_functional_forward: Sequential expected 3 states "
                                         r"\(\['1.v', '4.v', '6.v'\]\), but got 0"):
        f((x,), ())
    with pytest.raises(TypeError, match=r"to_functional_forward: `inputs` must be a tuple"):
        f(x, (0.0, 0.0, 0.0))
    with pytest.raises(TypeError, match=r"states must be a tuple or list"):
        f((x,), {"1": 0.0})
    with pytest.raises(TypeError, match=r"to_functional_forward: `module` must be an nn.Module"):
        base.to_functional_forward(lambda x: x)
    with pytest.raises(TypeError, match=r"`fn` must be callable"):
        base.to_functional_forward(net, fn=3)
    with pytest.raises(NotImplementedError, match=r"to_functional_forward\(module\)"):
        Holder().single_step_functional_forward((x,), ())
    with pytest.raises(ValueError, match=r"LIFNode.materialize_states: `step_mode` must be 's' or 'm'"):
        neuron.LIFNode().materialize_states((x,), (0.0,), "x")
    with pytest.raises(ValueError, match=r"LIFNode.materialize_states: expected 1 states \['v'\], got 2"):
        neuron.LIFNode().materialize_states((x,), (0.0, 0.0), "s")
    with pytest.raises(TypeError, match=r"state 'v' must be a tensor, a number or None, got str"):
        neuron.LIFNode().materialize_states((x,), ("a",), "s")
    with pytest.raises(ValueError, match=r"flat_from_state: `state` does not fit"):
        base.flat_from_state(net, {})


class Holder(base.MemoryModule):
    def __init__(self):
        super().__init__()
        self.inner = neuron.IFNode()

    def single_step_forward(self, x):
        return self.inner(x)
