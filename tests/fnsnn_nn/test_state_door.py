"""The explicit-state door (init_state / apply), the base classes and the net-wide helpers."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn as nn
from torch.func import functional_call, grad, jacrev, vmap

import fnsnn
import fnsnn_nn
from fnsnn_nn import functional, neuron
from fnsnn_nn.base import MemoryModule


def mlp(step_mode="s"):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 6), neuron.LIFNode(tau=2.5), nn.Linear(6, 3),
                        neuron.ParametricLIFNode(init_tau=3.0), )
    functional.set_step_mode(net, step_mode)
    return net


def test_init_state_shapes_and_memories_untouched():
    net = mlp()
    x = torch.randn(5, 4)
    state = fnsnn_nn.init_state(net, x)
    assert set(state) == {"1", "3"}
    assert state["1"]["v"].shape == (5, 6) and state["3"]["v"].shape == (5, 3)
    assert all(m.memories_are_rest() for m in fnsnn_nn.memory_modules(net).values())


def test_streaming_through_apply_equals_multi_step():
    x_seq = torch.randn(7, 5, 4) * 2
    net_m = mlp("m")
    y_m = net_m(x_seq)
    net_s = mlp("s")
    state = fnsnn_nn.init_state(net_s, x_seq[0])
    ys = []
    for x in x_seq.unbind(0):
        y, state = fnsnn_nn.apply(net_s, x, state)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_m, rtol=0, atol=0)
    torch.testing.assert_close(state["3"]["v"], net_m[3].v)
    assert all(m.memories_are_rest() for m in fnsnn_nn.memory_modules(net_s).values())


def test_apply_from_none_equals_fresh_forward():
    net = mlp("m")
    x_seq = torch.randn(4, 2, 4)
    y, st = fnsnn_nn.apply(net, x_seq, None)
    torch.testing.assert_close(y, copy.deepcopy(net)(x_seq))
    assert st["1"]["v"].shape == (2, 6)


def test_apply_grad_wrt_params_matches_autograd():
    net = mlp("m")
    x_seq = torch.randn(5, 3, 4) * 2
    params = {k: v.detach() for k, v in net.named_parameters()}
    state = fnsnn_nn.init_state(net, x_seq)

    def loss(p):
        y, _ = fnsnn_nn.apply(net, x_seq, state, p)
        return y.sum() + sum(t.sum() for t in p.values()) * 0

    g = grad(loss)(params)
    net.zero_grad()
    functional.reset_net(net)
    net(x_seq).sum().backward()
    for k, p in net.named_parameters():
        torch.testing.assert_close(g[k], p.grad, msg=k)


def test_apply_vmap_over_examples_equals_loop_no_fallback():
    net = mlp("m")
    xs = torch.randn(4, 6, 2, 4) * 2  # [B, T, N, F]
    state = fnsnn_nn.init_state(net, xs[0])
    params = dict(net.named_parameters())

    def f(x):
        return fnsnn_nn.apply(net, x, state, params)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = vmap(f)(xs)
    torch.testing.assert_close(batched, torch.stack([f(x) for x in xs]), rtol=0, atol=0)


def test_apply_vmap_grad_per_example():
    net = mlp("m")
    xs = torch.randn(3, 5, 2, 4) * 2
    params = {k: v.detach() for k, v in net.named_parameters()}
    state = fnsnn_nn.init_state(net, xs[0])

    def loss(p, x):
        return fnsnn_nn.apply(net, x, state, p)[0].square().mean()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_example = vmap(grad(loss), in_dims=(None, 0))(params, xs)
    for i in range(3):
        g = grad(loss)(params, xs[i])
        for k in params:
            torch.testing.assert_close(per_example[k][i], g[k])


def test_apply_jacrev_on_state():
    net = mlp("s")
    x = torch.randn(2, 4)
    state = fnsnn_nn.init_state(net, x)
    jac = jacrev(lambda x: fnsnn_nn.apply(net, x, state)[1]["1"]["v"])(x)
    assert jac.shape == (2, 6, 2, 4)
    assert jac.abs().sum() > 0


def test_vmap_over_batch_of_tau_on_core():
    x = torch.randn(6, 3, 2) * 2
    taus = torch.tensor([1.5, 2.0, 4.0, 8.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = vmap(lambda tau: fnsnn.lif_multi_step(x, tau=tau)[0])(taus)
    for i, tau in enumerate(taus.tolist()):
        torch.testing.assert_close(out[i], fnsnn.lif_multi_step(x, tau=tau)[0])


def test_apply_state_errors():
    net = mlp()
    x = torch.randn(2, 4)
    state = fnsnn_nn.init_state(net, x)
    with pytest.raises(ValueError, match="missing"):
        fnsnn_nn.apply(net, x, {"1": state["1"]})
    with pytest.raises(ValueError, match="memories"):
        fnsnn_nn.apply(net, x, {"1": {"u": state["1"]["v"]}, "3": state["3"]})
    with pytest.raises(TypeError, match="init_state"):
        fnsnn_nn.apply(net, x, [state])
    wrong = {k: {"v": torch.cat([v["v"], v["v"]])} for k, v in state.items()}
    with pytest.raises(ValueError, match="reset_net"):
        fnsnn_nn.apply(net, x, wrong)
    with pytest.raises(TypeError, match="nn.Module"):
        fnsnn_nn.init_state(lambda x: x, x)


def test_init_state_error_when_module_not_called():
    class Partial(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = neuron.IFNode(), neuron.IFNode()

        def forward(self, x):
            return self.used(x)

    net = Partial()
    with pytest.raises(ValueError, match="not called"):
        fnsnn_nn.init_state(net, torch.randn(2, 4))


# -- base classes ---------------------------------------------------------------

class Counter(MemoryModule):
    def __init__(self):
        super().__init__()
        self.register_memory("count", 0.0)

    def single_step_forward(self, x):
        if not isinstance(self.count, torch.Tensor):
            self.count = torch.zeros_like(x)
        self.count = self.count + x
        return self.count


def test_memory_module_register_reset_detach_and_to():
    m = Counter()
    assert list(m.named_memories()) == [("count", 0.0)]
    x = torch.ones(3, requires_grad=True)
    m(x)
    m(x)
    torch.testing.assert_close(m.count, torch.full((3,), 2.0))
    assert m.count.requires_grad
    m.detach()
    assert not m.count.requires_grad
    m.to(torch.float64)
    assert m.count.dtype == torch.float64
    m.reset()
    assert m.count == 0.0
    with pytest.raises(ValueError, match="already"):
        m.register_memory("count", 1.0)
    with pytest.raises(ValueError, match="step_mode"):
        m.step_mode = "x"


def test_default_multi_step_loops_single_step():
    m = Counter()
    m.step_mode = "m"
    out = m(torch.ones(4, 2))
    torch.testing.assert_close(out[:, 0], torch.arange(1.0, 5.0))


def test_generic_memory_module_works_with_state_door():
    m = Counter()
    x = torch.ones(3)
    state = fnsnn_nn.init_state(m, x)
    torch.testing.assert_close(state[""]["count"], torch.zeros(3))
    y, state = fnsnn_nn.apply(m, x, state)
    y, state = fnsnn_nn.apply(m, x, state)
    torch.testing.assert_close(state[""]["count"], torch.full((3,), 2.0))
    assert m.count == 0.0


def test_set_step_mode_detach_net_and_forward_helpers():
    net = mlp("s")
    functional.set_step_mode(net, "m")
    assert net[1].step_mode == "m" and net[3].step_mode == "m"
    with pytest.raises(ValueError, match="step_mode"):
        functional.set_step_mode(net, "t")
    x_seq = torch.randn(3, 2, 4, requires_grad=True)
    net(x_seq).sum()
    functional.detach_net(net)
    assert not net[1].v.requires_grad
    lin = nn.Linear(4, 2)
    y = functional.seq_to_ann_forward(x_seq, lin)
    torch.testing.assert_close(y, lin(x_seq))
    torch.testing.assert_close(functional.multi_step_forward(x_seq, [lin, torch.relu]), torch.relu(lin(x_seq)))
    with pytest.raises(ValueError, match="T > 0"):
        functional.multi_step_forward(torch.zeros(0, 2, 4), lin)


def test_shell_errors():
    with pytest.raises(ValueError, match="step_mode"):
        neuron.LIFNode(step_mode="x")
    with pytest.raises(ValueError, match="backend"):
        neuron.LIFNode(backend="cupy")
    with pytest.raises(ValueError, match="tau"):
        neuron.LIFNode(tau=1.0)
    with pytest.raises(ValueError, match="init_tau"):
        neuron.ParametricLIFNode(init_tau=0.5)
    with pytest.raises(TypeError, match="surrogate_function"):
        neuron.IFNode(surrogate_function=3)
    m = neuron.IFNode(step_mode="m")
    with pytest.raises(ValueError, match="T > 0"):
        m(torch.zeros(0, 3))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(2, 3, dtype=torch.int32))


def test_half_precision_shell():
    m = neuron.LIFNode(step_mode="m").half()
    y = m(torch.randn(4, 3).half() * 3)
    assert y.dtype == torch.float16 and m.v.dtype == torch.float16


def test_scan_generic_step_function():
    def step(x, state, *, decay):
        state = state * decay + x
        return state * 2, state

    x = torch.arange(1.0, 5.0).reshape(4, 1)
    y, final, states = fnsnn.scan(step, x, torch.zeros(1), decay=0.5, return_states=True)
    torch.testing.assert_close(states[:, 0], torch.tensor([1.0, 2.5, 4.25, 6.125]))
    torch.testing.assert_close(final, states[-1])
    with pytest.raises(TypeError, match="step_fn"):
        fnsnn.scan(None, x)


# -- apply writes nothing: serving many streams from one network ------------------

def serving_net():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), neuron.LIFNode(tau=2.0), nn.Linear(8, 6),
                        neuron.IzhikevichNode(), nn.Linear(6, 3), neuron.ParametricLIFNode())
    net.eval()
    return net


def test_apply_from_eight_threads_equals_single_thread_and_leaves_memories():
    import threading

    net = serving_net()
    streams = [torch.randn(12, 2, 4) * (1.0 + k) for k in range(8)]  # distinct inputs, so distinct states
    net(streams[0][0])  # the modules hold memories of their own, which apply must not touch
    own = {name: {k: v.clone() for k, v in m._memories.items()} for name, m in fnsnn_nn.memory_modules(net).items()}

    def serve(x_seq):
        state = fnsnn_nn.init_state(net, x_seq[0])
        outs = []
        with torch.no_grad():
            for x in x_seq.unbind(0):
                y, state = fnsnn_nn.apply(net, x, state)
                outs.append(y)
        return torch.stack(outs), state

    expected = [serve(x_seq) for x_seq in streams]
    results, errors = [None] * 8, []
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            barrier.wait(timeout=10)
            results[k] = serve(streams[k])
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    for (y, st), (y_ref, st_ref) in zip(results, expected):
        torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
        for name in st_ref:
            for key in st_ref[name]:
                torch.testing.assert_close(st[name][key], st_ref[name][key], rtol=0, atol=0)
    for name, m in fnsnn_nn.memory_modules(net).items():
        assert set(m._memories) == set(own[name])
        for key, value in own[name].items():
            assert torch.equal(m._memories[key], value), (name, key)


def test_apply_writes_no_module_attribute():
    net = serving_net()
    net[2].store_v_seq = True
    x = torch.randn(2, 4)
    state = fnsnn_nn.init_state(net, x)
    before = [(dict(m.__dict__), dict(m._parameters), dict(m._buffers), dict(m._modules)) for m in net.modules()]
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    fnsnn_nn.apply(net, x, state)
    fnsnn_nn.apply(net, x, state, params)
    after = [(dict(m.__dict__), dict(m._parameters), dict(m._buffers), dict(m._modules)) for m in net.modules()]
    for b, a in zip(before, after):
        for db, da in zip(b, a):
            assert db.keys() == da.keys() and all(db[k] is da[k] for k in db)
    assert net[2].v_seq is None and net[2].memories_are_rest()


def test_init_state_changes_nothing_in_a_training_network():
    net = serving_net().train()
    net[1].running_mean.fill_(0.5)
    x = torch.randn(5, 4) * 3
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    state = fnsnn_nn.init_state(net, x)
    fnsnn_nn.init_state(net, x)
    assert set(state) == {"2", "4", "6"} and set(state["4"]) == {"v", "w"}
    for k, v in net.named_buffers():
        assert torch.equal(v, buffers[k]), k  # running_mean, running_var, num_batches_tracked
    assert net.training and all(m.training for m in net.modules())
    assert all(m.memories_are_rest() for m in fnsnn_nn.memory_modules(net).values())
    assert all(not m._forward_pre_hooks for m in net.modules())
