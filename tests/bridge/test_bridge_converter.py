"""Converter contract: the input model is untouched, training flags survive, the SNN works with the
fnsnn_nn state tools and torch.func, the passes compose, and every documented error is raised."""

import copy
import warnings

import pytest
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

import fnsnn_nn
from bridge import Converter, HookFactory, NeuronFactory, ReLURule, ThresholdOptimizer, VoltageHook
from fnsnn_nn.functional import reset_net
from fnsnn_nn.neuron import IFNode


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))


def data(n=48, seed=1):
    x = torch.randn(n, 5, generator=torch.Generator().manual_seed(seed))
    return [(x[i:i + 16], torch.zeros(16)) for i in range(0, n, 16)], x


def run(snn, x, steps=8):
    reset_net(snn)
    out = torch.stack([snn(x) for _ in range(steps)])
    reset_net(snn)
    return out


def snapshot(model):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [(name, type(m), m.training) for name, m in model.named_modules()])


# -- the input model is never mutated, flags are preserved ----------------------

def test_input_model_not_mutated():
    net = small_net().eval()
    before = snapshot(net)
    ids = [id(m) for m in net.modules()]
    loader, x = data()
    y_before = net(x)
    snn = Converter(loader).convert_to_spiking_neurons(net)
    Converter(None).replace_by_td_operators(net)
    after = snapshot(net)
    assert [id(m) for m in net.modules()] == ids
    assert before[1] == after[1]
    for k in before[0]:
        assert torch.equal(before[0][k], after[0][k])
    torch.testing.assert_close(net(x), y_before)
    assert not any(p is q for p in snn.parameters() for q in net.parameters())


@pytest.mark.parametrize("training", [True, False])
def test_training_flags_preserved(training):
    net = small_net().train(training)
    net[2].train(not training)  # a mixed tree
    loader, _ = data()
    snn = Converter(loader).convert_to_spiking_neurons(net)
    assert snn.training is training
    assert getattr(snn, "0").training is training and getattr(snn, "2").training is (not training)
    for block in snn.snn_tailor.children():
        assert all(m.training is training for m in block.modules())  # the ReLUs' flags
    td = Converter(None).replace_by_td_operators(net)
    assert td.training is training and getattr(td, "2").training is (not training)
    assert net.training is training and net[2].training is (not training)


def test_calibration_runs_in_eval_mode():
    """Dropout is inactive while calibrating even for a model in training mode."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.9), nn.ReLU(), nn.Linear(8, 2)).train()
    loader, _ = data()
    a = Converter(loader).convert_to_spiking_neurons(net)
    b = Converter(loader).convert_to_spiking_neurons(net.eval())
    torch.testing.assert_close(a.snn_tailor[0][2].scale, b.snn_tailor[0][2].scale)


# -- the SNN and the fnsnn_nn tools ------------------------------------------------

def test_reset_net_restarts_the_snn():
    loader, x = data()
    snn = Converter(loader).convert_to_spiking_neurons(small_net().eval())
    first = run(snn, x)
    snn(x)  # leave state behind
    reset_net(snn)
    torch.testing.assert_close(torch.stack([snn(x) for _ in range(8)]), first)


def test_init_state_apply_matches_stateful_loop():
    loader, x = data()
    snn = Converter(loader).convert_to_spiking_neurons(small_net().eval())
    expected = run(snn, x)
    state = fnsnn_nn.init_state(snn, x)
    assert set(state) == {"snn_tailor.0.1", "snn_tailor.1.1"}
    outs = []
    for _ in range(8):
        y, state = fnsnn_nn.apply(snn, x, state)
        outs.append(y)
    torch.testing.assert_close(torch.stack(outs), expected)
    assert all(m.memories_are_rest() for m in snn.modules() if isinstance(m, IFNode))


def test_torch_func_grad_through_converted_net():
    loader, x = data()
    snn = Converter(loader).convert_to_spiking_neurons(small_net().eval())
    params = {k: v.detach() for k, v in snn.named_parameters()}

    def loss(p):
        state = fnsnn_nn.init_state(snn, x)
        total = 0.0
        for _ in range(4):
            y, state = fnsnn_nn.apply(snn, x, state, p)
            total = total + y.square().mean()
        return total

    grads = torch.func.grad(loss)(params)
    reset_net(snn)
    total = sum(snn(x).square().mean() for _ in range(4))
    total.backward()
    reset_net(snn)
    for name, p in snn.named_parameters():
        torch.testing.assert_close(grads[name], p.grad)
    assert any(g.abs().sum() > 0 for g in grads.values())


def test_vmap_over_samples_matches_batched_net():
    """Per-sample states under vmap: real batching rules (a fallback warning would be an error)."""
    loader, x = data()
    snn = Converter(loader).convert_to_spiking_neurons(small_net().eval())
    expected = run(snn, x, steps=6)
    samples = x[:, None]  # N samples of batch 1
    rest = fnsnn_nn.init_state(snn, samples[0])
    state = {k: {f: v.expand(len(x), *v.shape).clone() for f, v in d.items()} for k, d in rest.items()}
    step = torch.func.vmap(lambda xi, s: fnsnn_nn.apply(snn, xi, s))
    outs = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            y, state = step(samples, state)
            outs.append(y[:, 0])
    torch.testing.assert_close(torch.stack(outs), expected)


# -- the passes ----------------------------------------------------------------------

def test_manual_pipeline_equals_convert():
    net = small_net().eval()
    loader, x = data()
    conv = Converter(loader)
    gm = fx.symbolic_trace(copy.deepcopy(net))
    hooked = Converter.set_voltagehook(Converter.fuse(gm), mode="Max", momentum=0.1)
    hooks = [m for m in hooked.modules() if isinstance(m, VoltageHook)]
    assert len(hooks) == 2 and not any(isinstance(m, VoltageHook) for m in gm.modules())
    with torch.no_grad():
        for xb, _ in loader:
            hooked(xb)
    snn = conv.replace_by_neurons(hooked)
    assert any(isinstance(m, VoltageHook) for m in hooked.modules())  # the input pass result is untouched
    torch.testing.assert_close(run(snn, x), run(conv.convert_to_spiking_neurons(net), x))


def test_hook_is_identity_and_momentum():
    gm = Converter.set_voltagehook(fx.symbolic_trace(small_net().eval()), mode="Max", momentum=0.5)
    x1, x2 = torch.randn(4, 5), torch.randn(4, 5) * 3
    with torch.no_grad():
        torch.testing.assert_close(gm(x1), small_net().eval()(x1))
        hook = gm.get_submodule("voltage_hook_0")
        gm(x1)
        s1 = float(hook.scale)
        h = torch.relu(small_net()[0](x2)).max()
        gm(x2)
    torch.testing.assert_close(hook.scale, torch.tensor(0.5 * s1) + 0.5 * h)


def test_fuse_matches_unfused_model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())
    net[1].running_mean.uniform_(-1, 1)
    net[1].running_var.uniform_(0.5, 2)
    net.eval()
    gm = fx.symbolic_trace(copy.deepcopy(net))
    fused = Converter.fuse(gm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in gm.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in Converter.fuse(gm, fuse_flag=False).modules())
    x = torch.randn(3, 2, 6, 6)
    torch.testing.assert_close(fused(x), net(x), rtol=1e-5, atol=1e-5)


def test_shared_conv_is_not_fused():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.act = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x))) + self.conv(x)

    fused = Converter.fuse(fx.symbolic_trace(Shared().eval()))
    assert any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())


def test_shared_relu_module_converted_at_each_call():
    class SharedReLU(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.act = nn.Linear(5, 6), nn.Linear(6, 2), nn.ReLU()

        def forward(self, x):
            return self.b(self.act(self.act(self.a(x)) - 0.1))

    loader, x = data()
    snn = Converter(loader).convert_to_spiking_neurons(SharedReLU())
    assert len(list(snn.snn_tailor.children())) == 2
    assert not hasattr(snn, "act")


def test_replace_by_ifnode_is_deprecated():
    loader, x = data()
    hooked = Converter.set_voltagehook(fx.symbolic_trace(small_net().eval()))
    with torch.no_grad():
        for xb, _ in loader:
            hooked(xb)
    with pytest.warns(DeprecationWarning, match="replace_by_neurons"):
        old = Converter.replace_by_ifnode(hooked)
    torch.testing.assert_close(run(old, x), run(Converter(loader).replace_by_neurons(hooked), x))


def test_tensor_batches_and_device():
    _, x = data()
    snn = Converter([x[:16], x[16:]], device="cpu").convert_to_spiking_neurons(small_net().eval())
    assert all(p.device.type == "cpu" for p in snn.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_convert_onto_cuda_matches_cpu():
    net = small_net().eval()
    loader, x = data()
    on_gpu = Converter(loader, device="cuda").convert_to_spiking_neurons(net)
    assert all(t.is_cuda for t in list(on_gpu.parameters()) + list(on_gpu.buffers()))
    assert all(p.device.type == "cpu" for p in net.parameters())
    on_cpu = Converter(loader).convert_to_spiking_neurons(net)
    torch.testing.assert_close(run(on_gpu, x.cuda()).cpu(), run(on_cpu, x), rtol=1e-4, atol=1e-4)


# -- documented errors ------------------------------------------------------------

class FunctionalReLU(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.fc, self.how = nn.Linear(5, 3), how

    def forward(self, x):
        h = self.fc(x)
        if self.how == "F":
            return F.relu(h)
        if self.how == "torch":
            return torch.relu(h)
        return h.relu()


@pytest.mark.parametrize("how", ["F", "torch", "method"])
def test_functional_relu_error_names_node(how):
    loader, _ = data()
    with pytest.raises(ValueError, match=r"fx node 'relu'.*nn\.ReLU\(\)"):
        Converter(loader).convert_to_spiking_neurons(FunctionalReLU(how))


def test_control_flow_error_says_what_to_change():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(5, 3), nn.ReLU()

        def forward(self, x):
            if x.sum() > 0:
                return self.act(self.fc(x))
            return self.fc(x)

    loader, _ = data()
    with pytest.raises(ValueError, match=r"could not trace Branchy.*torch\.where"):
        Converter(loader).convert_to_spiking_neurons(Branchy())
    with pytest.raises(ValueError, match=r"could not trace Branchy"):
        Converter(None).replace_by_td_operators(Branchy())


def test_no_activation_error():
    loader, _ = data()
    with pytest.raises(ValueError, match="no node of Linear matched"):
        Converter(loader).convert_to_spiking_neurons(nn.Linear(5, 2))


def test_dead_layer_error_names_node():
    net = small_net().eval()
    with torch.no_grad():
        net[0].bias.fill_(-100.0)
    loader, _ = data()
    with pytest.raises(ValueError, match=r"fx node '_1'.*dead layer"):
        Converter(loader).convert_to_spiking_neurons(net)


def test_dataloader_errors():
    net = small_net()
    with pytest.raises(ValueError, match="dataloader=None"):
        Converter(None).convert_to_spiking_neurons(net)
    with pytest.raises(ValueError, match="yielded no batch"):
        Converter([]).convert_to_spiking_neurons(net)
    with pytest.raises(TypeError, match=r"batch\[0\] of dataloader batch 0 must be the input tensor"):
        Converter([("x", 1)]).convert_to_spiking_neurons(net)
    with pytest.raises(TypeError, match="dataloader batch 0 is a int; yield the input tensor"):
        Converter([3]).convert_to_spiking_neurons(net)
    with pytest.raises(TypeError, match="`dataloader` must be an iterable"):
        Converter(3)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(mode="min"), ValueError, "`mode` must be"),
    (dict(mode="120%"), ValueError, "`mode` must be"),
    (dict(mode=1.5), ValueError, r"must lie in \(0, 1\]"),
    (dict(mode=0.0), ValueError, r"must lie in \(0, 1\]"),
    (dict(mode=True), TypeError, "`mode` must be"),
    (dict(momentum=1.5), ValueError, r"`momentum` must lie in \[0, 1\]"),
    (dict(momentum="a"), TypeError, "`momentum` must be a real number"),
    (dict(fuse_flag=1), TypeError, "`fuse_flag` must be a bool"),
    (dict(rules=ReLURule()), TypeError, "`rules` must be a list"),
    (dict(rules=[object()]), TypeError, r"rules\[0\] \(object\) does not implement ActivationRule"),
    (dict(neuron_factory=IFNode), TypeError, "`neuron_factory` must have a create"),
    (dict(threshold_optimizer="fixed"), TypeError, "`threshold_optimizer` must have a compute_threshold"),
    (dict(device=0), TypeError, "`device` must be"),
])
def test_constructor_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Converter([], **kwargs)


def test_pass_argument_errors():
    net = small_net()
    with pytest.raises(TypeError, match="Converter.convert_to_spiking_neurons: `ann` must be a torch.nn.modules"):
        Converter([]).convert_to_spiking_neurons("net")
    with pytest.raises(TypeError, match="Converter.fuse: `fx_model` must be a torch.fx"):
        Converter.fuse(net)
    with pytest.raises(TypeError, match="Converter.set_voltagehook: `fx_model`"):
        Converter.set_voltagehook(net)
    with pytest.raises(ValueError, match="Converter.set_voltagehook: `mode`"):
        Converter.set_voltagehook(fx.symbolic_trace(net), mode="mean")
    with pytest.raises(TypeError, match="Converter.replace_by_neurons: `fx_model`"):
        Converter([]).replace_by_neurons(net)
    with pytest.raises(TypeError, match="Converter.replace_by_td_operators: `ann`"):
        Converter(None).replace_by_td_operators(42)


def test_unclaimed_hook_error():
    class Six(ReLURule):
        def match(self, node, modules):
            return node.op == "call_module" and isinstance(modules.get(node.target), nn.ReLU6)

    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU6(), nn.Linear(4, 2))
    hooked = Converter.set_voltagehook(fx.symbolic_trace(net), rules=[Six()])
    with torch.no_grad():
        hooked(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"hook at fx node 'voltage_hook_0'.*not claimed by any rule"):
        Converter([]).replace_by_neurons(hooked)


def test_uncalibrated_hook_error():
    hooked = Converter.set_voltagehook(fx.symbolic_trace(small_net()))
    with pytest.raises(ValueError, match="saw no calibration batch"):
        Converter([]).replace_by_neurons(hooked)


def test_maxpool_warns():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    with pytest.warns(UserWarning, match="average pooling"):
        Converter([torch.randn(2, 1, 6, 6)]).convert_to_spiking_neurons(net)


def test_no_warning_without_maxpool():
    loader, _ = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Converter(loader).convert_to_spiking_neurons(small_net())


def test_factories_and_optimizer_repr():
    c = Converter([], mode="99.9%", neuron_factory=NeuronFactory(), threshold_optimizer=ThresholdOptimizer())
    assert "99.9%" in repr(c) and "NeuronFactory(neuron_type=IFNode" in repr(c)
    assert repr(HookFactory(0.5, 0.2)) == "HookFactory(mode=0.5, momentum=0.2)"
