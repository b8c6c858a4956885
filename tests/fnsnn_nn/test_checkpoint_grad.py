"""fnsnn_nn.checkpoint: gradients and final state equal the un-checkpointed run exactly."""

import pytest
import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint as torch_checkpoint

import fnsnn_nn
from fnsnn_nn import functional, layer, neuron


def _net(step_mode="m"):
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(6, 8), neuron.LIFNode(tau=2.0), layer.Linear(8, 8),
                        neuron.CUBALIFNode(), layer.Linear(8, 4), neuron.IFNode(v_reset=None))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(2.0)
    functional.set_step_mode(net, step_mode)
    return net


def _memories(net):
    return {name: {k: v.detach().clone() for k, v in m._memories.items()}
            for name, m in fnsnn_nn.memory_modules(net).items()}


def _grads(net, x, run, calls):
    """Loss over the outputs of ``calls`` successive calls and over the final potentials; returns grads and state."""
    functional.reset_net(net)
    net.zero_grad()
    x = x.clone().requires_grad_(True)
    loss = 0
    for part in calls(x):
        y = run(net, part)
        loss = loss + (y * torch.linspace(0.5, 1.5, y.shape[-1])).sum()
    loss = loss + sum((m.v ** 2).sum() for m in fnsnn_nn.memory_modules(net).values() if "v" in m._memories)
    loss.backward()
    grads = [p.grad.clone() for p in net.parameters()] + [x.grad.clone()]
    return grads, _memories(net)


def _plain(net, x):
    return net(x)


def _ours(net, x):
    return fnsnn_nn.checkpoint(net, x)


def _assert_same(a, b):
    ga, sa = a
    gb, sb = b
    for u, v in zip(ga, gb):
        assert torch.equal(u, v)
    assert sa.keys() == sb.keys()
    for name in sa:
        for key in sa[name]:
            assert torch.equal(sa[name][key], sb[name][key])


def test_whole_sequence_gradients_and_state_are_exact():
    net = _net()
    x = torch.rand(12, 3, 6) * 2
    want = _grads(net, x, _plain, lambda x: [x])
    assert want[0][-1].abs().sum() > 0
    _assert_same(want, _grads(net, x, _ours, lambda x: [x]))


def test_time_chunks_chain_through_the_state_exactly():
    net = _net()
    x = torch.rand(12, 3, 6) * 2
    chunks = lambda x: [x[:4], x[4:9], x[9:]]  # noqa: E731
    want = _grads(net, x, _plain, chunks)
    _assert_same(want, _grads(net, x, _ours, chunks))
    # the chunk= keyword splits the same way and gives the same result
    got = _grads(net, x, lambda n, p: fnsnn_nn.checkpoint(n, p, chunk=4), lambda x: [x])
    want4 = _grads(net, x, _plain, lambda x: [x[:4], x[4:8], x[8:]])
    _assert_same(want4, got)


def test_single_step_loop_is_exact():
    net = _net("s")
    x = torch.rand(8, 3, 6) * 2
    steps = lambda x: list(x.unbind(0))  # noqa: E731
    _assert_same(_grads(net, x, _plain, steps), _grads(net, x, _ours, steps))


def test_plain_torch_checkpoint_recomputes_from_the_final_state():
    """The documented failure: torch.utils.checkpoint on a stateful module gives other gradients."""
    net = _net()
    x = torch.rand(12, 3, 6) * 2
    chunks = lambda x: [x[:6], x[6:]]  # noqa: E731
    want = _grads(net, x, _plain, chunks)
    wrong = _grads(net, x, lambda n, p: torch_checkpoint(n, p, use_reentrant=False, determinism_check="none"),
                   chunks)
    assert any(not torch.allclose(u, v) for u, v in zip(want[0], wrong[0]))
    _assert_same(want, _grads(net, x, _ours, chunks))


def test_dropout_mask_and_rng_are_replayed():
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(6, 8), layer.Dropout(0.3), neuron.LIFNode(), layer.Linear(8, 3),
                        neuron.LIFNode())
    functional.set_step_mode(net, "m")
    x = torch.rand(10, 2, 6) * 3

    def run(fn):
        torch.manual_seed(5)
        return _grads(net, x, fn, lambda x: [x[:5], x[5:]])

    _assert_same(run(_plain), run(_ours))


def test_checkpoint_errors():
    net = _net()
    with pytest.raises(TypeError, match=r"checkpoint: `module` must be an nn.Module, got function"):
        fnsnn_nn.checkpoint(lambda x: x, torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"checkpoint: give the module's inputs"):
        fnsnn_nn.checkpoint(net)
    with pytest.raises(ValueError, match=r"checkpoint: `chunk` must be None or an int >= 1.*got 0"):
        fnsnn_nn.checkpoint(net, torch.rand(4, 2, 6), chunk=0)
    with pytest.raises(ValueError, match=r"checkpoint: `chunk` splits the time dimension.*step_mode='m'"):
        fnsnn_nn.checkpoint(_net("s"), torch.rand(4, 6), chunk=2)
    with pytest.raises(ValueError, match=r"one leading \(time\) length, got \[\(4, 2, 6\), \(3, 2, 6\)\]"):
        fnsnn_nn.checkpoint(_TwoInputs(), torch.rand(4, 2, 6), torch.rand(3, 2, 6), chunk=2)


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.lif = neuron.LIFNode(step_mode="m")

    def forward(self, a, b):
        return self.lif(a + b)


def test_two_input_module_chunks_exactly():
    torch.manual_seed(0)
    mod = _TwoInputs()
    a, b = torch.rand(8, 2, 6) * 2, torch.rand(8, 2, 6)

    def grads(fn):
        functional.reset_net(mod)
        a1, b1 = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
        y = fn(a1, b1)
        (y * torch.arange(6.0)).sum().backward()
        return a1.grad, b1.grad, mod.lif.v.detach().clone()

    want = grads(lambda a1, b1: torch.cat([mod(a1[:3], b1[:3]), mod(a1[3:6], b1[3:6]), mod(a1[6:], b1[6:])]))
    got = grads(lambda a1, b1: fnsnn_nn.checkpoint(mod, a1, b1, chunk=3))
    for u, v in zip(want, got):
        assert torch.equal(u, v)
