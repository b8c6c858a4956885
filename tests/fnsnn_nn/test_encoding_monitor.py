"""Encoders (fnsnn.encoding + fnsnn_nn.encoding) and monitors (fnsnn_nn.monitor) against SpikingJelly 2.0.0."""

from __future__ import annotations

import sys
import types

import pytest
import torch
import torch.nn as nn
from torch.func import grad, vmap

import fnsnn_nn
from fnsnn import encoding as core
from fnsnn_nn import encoding as E, functional, monitor as M, neuron


def _sj_encoding():
    from spikingjelly.activation_based import encoding

    return encoding


def _sj_monitor():
    # 2.0.0's monitor module imports torch.utils.tensorboard at the top (only its GPUMonitor writes logs);
    # tensorboard is not a test dependency, so a placeholder module stands in for the import.
    if "torch.utils.tensorboard" not in sys.modules:
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:
            stub = types.ModuleType("torch.utils.tensorboard")
            stub.SummaryWriter = object
            sys.modules["torch.utils.tensorboard"] = stub
    from spikingjelly.activation_based import monitor

    return monitor


# -- encoders ---------------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_poisson_matches_2_0_0_under_the_same_seed(step_mode):
    sj = _sj_encoding()
    x = torch.rand(4, 3, 5)
    torch.manual_seed(7)
    a = E.PoissonEncoder(step_mode)(x)
    torch.manual_seed(7)
    b = sj.PoissonEncoder(step_mode)(x)
    torch.testing.assert_close(a, b)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    enc = E.PoissonEncoder()
    enc.generator = torch.Generator().manual_seed(3)
    torch.testing.assert_close(enc(x), core.poisson_encode(x, seed=3))


@pytest.mark.parity
@pytest.mark.parametrize("T,f", [(4, "linear"), (6, "log"), (1, "linear")])
def test_latency_matches_2_0_0(T, f):
    sj = _sj_encoding()
    x = torch.rand(3, 5)
    ours, theirs = E.LatencyEncoder(T, f), sj.LatencyEncoder(T, f)
    assert repr(ours) == repr(theirs)
    for _ in range(2 * T + 1):
        torch.testing.assert_close(ours(x), theirs(x))
    assert [n for n, _ in fnsnn_nn.base.named_memories(ours)] == ["spike", "t"]
    ours.reset()
    theirs.reset()
    x2 = torch.rand(3, 5)
    torch.testing.assert_close(ours(x2), theirs(x2))
    assert core.latency_encode(x, T, f).sum(0).eq(1).all()  # exactly one spike each


@pytest.mark.parity
def test_weighted_phase_and_periodic_match_2_0_0():
    sj = _sj_encoding()
    x = torch.randint(0, 16, (3, 4)).float() / 16
    ours, theirs = E.WeightedPhaseEncoder(4), sj.WeightedPhaseEncoder(4)
    outs = [ours(x) for _ in range(4)]
    for o in outs + [ours(x)]:
        torch.testing.assert_close(o, theirs(x))
    torch.testing.assert_close(sum(o * 2.0 ** -(k + 1) for k, o in enumerate(outs)), x)
    spike = (torch.rand(3, 2, 2) > 0.5).float()
    ours, theirs = E.PeriodicEncoder(spike), sj.PeriodicEncoder(spike)
    assert repr(ours) == repr(theirs)
    for i in range(7):  # fed the train itself, as 2.0.0's examples do
        a = ours(spike)
        torch.testing.assert_close(a, theirs(spike))
        torch.testing.assert_close(a, spike[i % 3])
    # documented behaviour: the constructor's train is replayed whatever the input (2.0.0 instead takes
    # its first input as the train); after a reset the next input is the train
    ours = E.PeriodicEncoder(spike)
    for i in range(4):
        torch.testing.assert_close(ours(torch.zeros(2, 2)), spike[i % 3])
    ours.reset()
    seq = torch.rand(2, 5)
    assert [ours(seq).tolist() for _ in range(3)] == [seq[0].tolist(), seq[1].tolist(), seq[0].tolist()]
    assert ours.T == 2


@pytest.mark.parity
def test_population_encoders_match_2_0_0():
    sj = _sj_encoding()
    obs = torch.tensor([[0.3, -0.8], [0.9, 0.1], [-0.2, 0.5]])
    for name in ("PopEncoder", "PopSpikeEncoderDeterministic", "PopSpikeEncoderRandom"):
        ours = getattr(E, name)(2, 3, 5, (-1.0, 1.0), 0.5)
        theirs = getattr(sj, name)(2, 3, 5, (-1.0, 1.0), 0.5)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        theirs.load_state_dict(ours.state_dict())
        for _ in range(2):  # the deterministic encoder's neurons keep their state between calls
            torch.manual_seed(4)
            a = ours(obs)
            torch.manual_seed(4)
            b = theirs(obs)
            torch.testing.assert_close(a, b)
            ga = torch.autograd.grad(a.square().sum(), [ours.mean, ours.std], retain_graph=True)
            gb = torch.autograd.grad(b.square().sum(), [theirs.mean, theirs.std], retain_graph=True)
            for u, w in zip(ga, gb):
                torch.testing.assert_close(u, w, msg=name)


def test_encoder_functions_compose_with_torch_func():
    x = torch.rand(4, 3)
    out = vmap(lambda v: core.latency_encode(v, 5))(x)
    for i in range(4):
        torch.testing.assert_close(out[i], core.latency_encode(x[i], 5))
    mean, std = torch.linspace(-1, 1, 3).expand(1, 2, 3).clone(), torch.full((1, 2, 3), 0.5)
    obs = torch.randn(4, 2)
    g = grad(lambda m: core.population_spikes_random(core.population_activation(obs, m, std), 3, seed=0).sum())(mean)
    act_grad = grad(lambda m: core.population_activation(obs, m, std).sum())(mean)
    torch.testing.assert_close(g, 3 * act_grad)  # straight-through: each of the 3 steps passes d act
    y, st = core.replay_step(core.replay_init_state(torch.arange(6.0).view(3, 2)))
    y2, _ = core.replay_step(st)
    assert y.tolist() == [0.0, 1.0] and y2.tolist() == [2.0, 3.0]


def test_encoder_errors():
    with pytest.raises(ValueError, match=r"poisson_encode: drawing a new random mask needs an explicit `generator`"):
        core.poisson_encode(torch.rand(3))
    with pytest.raises(ValueError, match=r"LatencyEncoder: `enc_function` must be one of \('linear', 'log'\), "
                                         r"got 'exp'"):
        E.LatencyEncoder(4, "exp")
    with pytest.raises(ValueError, match=r"latency_encode: `x` must lie in \[0, 1\], got values in \[-1.0, 0.5\]"):
        E.LatencyEncoder(4)(torch.tensor([-1.0, 0.5]))
    with pytest.raises(ValueError, match=r"weighted_phase_encode: `x` must lie in \[0, 1 - 2\^-4\]"):
        E.WeightedPhaseEncoder(4)(torch.tensor([0.99]))
    with pytest.raises(ValueError, match=r"LatencyEncoder: `T` must be a positive int, got 0"):
        E.LatencyEncoder(0)
    with pytest.raises(ValueError, match=r"population_activation: `obs` must be \[N, obs_dim=2\], got \(3,\)"):
        E.PopEncoder(2, 3, 4, (-1.0, 1.0), 0.5)(torch.randn(3))


def test_stateful_encoder_through_the_state_door():
    net = nn.Sequential(E.LatencyEncoder(4), nn.Linear(3, 2), neuron.IFNode())
    x = torch.rand(5, 3)
    state = fnsnn_nn.init_state(net, x)
    ys = []
    for _ in range(4):
        y, state = fnsnn_nn.apply(net, x, state)
        ys.append(y)
    functional.reset_net(net)
    torch.testing.assert_close(torch.stack(ys), torch.stack([net(x) for _ in range(4)]))


# -- monitors ------------------------------------------------------------------------------------------

def _nets():
    from spikingjelly.activation_based import neuron as sn

    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), neuron.IFNode(), nn.Linear(4, 2), neuron.IFNode())
    theirs = nn.Sequential(nn.Linear(3, 4), sn.IFNode(), nn.Linear(4, 2), sn.IFNode())
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs, sn.IFNode


@pytest.mark.parity
def test_forward_monitors_match_2_0_0_and_change_nothing():
    sm = _sj_monitor()
    from spikingjelly.activation_based import functional as sf

    ours, theirs, SIF = _nets()
    x = torch.randn(5, 3) * 3
    plain = ours(x)
    functional.reset_net(ours)
    pairs = [
        (M.OutputMonitor(ours, neuron.IFNode), sm.OutputMonitor(theirs, SIF)),
        (M.InputMonitor(ours, nn.Linear, lambda t: t.sum()), sm.InputMonitor(theirs, nn.Linear, lambda t: t.sum())),
        (M.AttributeMonitor("v", False, ours, neuron.IFNode), sm.AttributeMonitor("v", False, theirs, SIF)),
        (M.AttributeMonitor("v", True, ours, neuron.IFNode), sm.AttributeMonitor("v", True, theirs, SIF)),
        (M.OutputMonitor(ours), sm.OutputMonitor(theirs)),
    ]
    for _ in range(2):
        y = ours(x)
        theirs(x)
    functional.reset_net(ours)
    torch.testing.assert_close(ours(x), plain)  # recording changed nothing
    functional.reset_net(ours)
    sf.reset_net(theirs)
    for a, b in pairs:
        # ours also recorded the check call above (3 calls against 2)
        assert a.monitored_layers == b.monitored_layers and 2 * len(a.records) == 3 * len(b.records) > 0
        for name in a.monitored_layers:
            got, want = a[name][: len(b[name])], b[name]
            for u, w in zip(got, want):
                if isinstance(w, torch.Tensor):
                    torch.testing.assert_close(u, w)
                else:
                    assert u == w
    out = pairs[0][0]
    out.disable()
    ours(x)
    assert not out.is_enable() and len(out.records) == 6
    out.enable()
    out.clear_recorded_data()
    assert out.records == [] and out["1"] == []
    out.remove_hooks()
    ours(x)
    assert out.records == [] and out.hooks == []
    with M.OutputMonitor(ours, neuron.IFNode) as mon:
        ours(x)
    ours(x)
    assert len(mon.records) == 2 and mon.hooks == []
    torch.testing.assert_close(mon[0], mon["1"][0])


@pytest.mark.parity
def test_gradient_monitors_match_2_0_0():
    sm = _sj_monitor()
    ours, theirs, SIF = _nets()
    x = torch.randn(5, 3) * 3
    go_a, go_b = M.GradOutputMonitor(ours, neuron.IFNode), sm.GradOutputMonitor(theirs, SIF)
    gi_a, gi_b = M.GradInputMonitor(ours, nn.Linear), sm.GradInputMonitor(theirs, nn.Linear)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours(xa).sum().backward()
    theirs(xb).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    for a, b in ((go_a, go_b), (gi_a, gi_b)):
        assert a.monitored_layers == b.monitored_layers and len(a.records) == len(b.records) > 0
        for u, w in zip(a.records, b.records):
            torch.testing.assert_close(u, w)
        for name in a.monitored_layers:
            assert len(a[name]) == len(b[name])


def test_monitor_errors():
    net = nn.Sequential(nn.Linear(3, 4), neuron.IFNode())
    with pytest.raises(TypeError, match=r"OutputMonitor: `net` must be an nn.Module"):
        M.OutputMonitor("net")
    with pytest.raises(TypeError, match=r"InputMonitor: `instance` must be a module class"):
        M.InputMonitor(net, "IFNode")
    mon = M.OutputMonitor(net, neuron.IFNode)
    with pytest.raises(KeyError, match=r"'0' is not a monitored layer; monitored: \['1'\]"):
        mon["0"]
    with pytest.raises(TypeError, match=r"AttributeMonitor: `pre_forward` must be a bool"):
        M.AttributeMonitor("v", None, net, neuron.IFNode)
