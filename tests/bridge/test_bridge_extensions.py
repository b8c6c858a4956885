"""Extension points: custom rules, neuron factories and threshold optimizers plug in from user code,
and the building blocks (VoltageHook, VoltageScaler, factories, optimizer) keep their contracts."""

import math

import pytest
import torch
import torch.fx as fx
import torch.nn as nn

from bridge import (
    ActivationRule,
    Converter,
    HookFactory,
    NeuronFactory,
    ReLURule,
    ThresholdOptimizer,
    VoltageHook,
    VoltageScaler,
)
from fnsnn_nn.functional import reset_net
from fnsnn_nn.neuron import IFNode, LIFNode
from tests.bridge._helpers import accuracy, batches, snn_accuracy, train


# -- user-side plug-ins (nothing here touches bridge code) --------------------------

class HardtanhRule(ReLURule):
    """nn.Hardtanh(0, m) saturates like an IF neuron's rate; its range comes from calibration."""

    def match(self, node, modules):
        m = modules.get(node.target) if node.op == "call_module" else None
        return isinstance(m, nn.Hardtanh) and m.min_val == 0.0


class ClampRule(ReLURule):
    """Functional torch.clamp(x, min=0, ...) calls."""

    def match(self, node, modules):
        return node.op == "call_function" and node.target is torch.clamp and node.kwargs.get("min") == 0.0


class ThresholdIFFactory(NeuronFactory):
    """Carry the layer scale in the neuron threshold instead of the input scaler."""

    def create(self, scale):
        return IFNode(v_threshold=scale, v_reset=None)


class HalfOptimizer(ThresholdOptimizer):
    def __init__(self):
        super().__init__("half")

    def compute_threshold(self, hook):
        return 0.5 * float(hook.scale)


class ClampNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 64), nn.Linear(64, 32), nn.Linear(32, 10)

    def forward(self, x):
        return self.fc3(torch.clamp(self.fc2(torch.clamp(self.fc1(x), min=0.0)), min=0.0))


def test_custom_rule_hardtanh_converts_and_keeps_accuracy(digits):
    x, y, xt, yt = digits
    torch.manual_seed(3)
    net = train(nn.Sequential(nn.Linear(64, 64), nn.Hardtanh(0.0, 2.0), nn.Linear(64, 10)), x, y)
    snn = Converter(batches(x, y), rules=[HardtanhRule()]).convert_to_spiking_neurons(net)
    assert not any(isinstance(m, nn.Hardtanh) for m in snn.modules())
    assert sum(isinstance(m, IFNode) for m in snn.modules()) == 1
    ann_acc, snn_acc = accuracy(net, xt, yt), snn_accuracy(snn, xt, yt)
    print(f"\nHardtanh rule: ANN {ann_acc:.4f}, SNN {snn_acc:.4f}")
    assert snn_acc >= ann_acc - 0.02
    # The default rule set does not know Hardtanh.
    with pytest.raises(ValueError, match="matched the rules"):
        Converter(batches(x, y)).convert_to_spiking_neurons(net)


def test_custom_rule_for_functional_clamp(digits):
    x, y, xt, yt = digits
    torch.manual_seed(4)
    net = train(ClampNet(), x, y)
    snn = Converter(batches(x, y), rules=[ClampRule(), ReLURule()]).convert_to_spiking_neurons(net)
    assert not any(n.target is torch.clamp for n in snn.graph.nodes)
    assert len(snn.snn_tailor) == 2
    ann_acc, snn_acc = accuracy(net, xt, yt), snn_accuracy(snn, xt, yt)
    print(f"\nclamp rule: ANN {ann_acc:.4f}, SNN {snn_acc:.4f}")
    assert snn_acc >= ann_acc - 0.02


def test_rule_written_from_scratch_satisfies_protocol():
    class Delegating:
        """An ActivationRule by composition, no inheritance."""

        def __init__(self):
            self.inner, self.calls = ReLURule(), []

        def match(self, node, modules):
            return self.inner.match(node, modules)

        def insert_hooks(self, fx_model, node, hook_factory, counts):
            self.calls.append("insert")
            return self.inner.insert_hooks(fx_model, node, hook_factory, counts)

        def find_replacements(self, fx_model, modules):
            self.calls.append("find")
            return self.inner.find_replacements(fx_model, modules)

        def replace_with_neurons(self, fx_model, a, h, factory, optimizer):
            self.calls.append("replace")
            self.inner.replace_with_neurons(fx_model, a, h, factory, optimizer)

    rule = Delegating()
    assert isinstance(rule, ActivationRule) and isinstance(ReLURule(), ActivationRule)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    Converter([torch.randn(8, 4)], rules=[rule]).convert_to_spiking_neurons(net)
    assert rule.calls == ["insert", "find", "replace"]


def test_custom_neuron_factory_equivalent_to_default(trained_mlp, digits):
    x, y, xt, _ = digits
    default = Converter(batches(x, y)).convert_to_spiking_neurons(trained_mlp)
    custom = Converter(batches(x, y), neuron_factory=ThresholdIFFactory()).convert_to_spiking_neurons(trained_mlp)
    for d, c in zip(default.snn_tailor, custom.snn_tailor):
        assert float(c[0].scale) == 1.0  # θ/s with θ = s
        assert c[1].v_threshold == pytest.approx(float(d[2].scale))
        torch.testing.assert_close(c[2].scale, d[2].scale)
    reset_net(default)
    reset_net(custom)
    with torch.no_grad():
        a = sum(default(xt) for _ in range(32))
        b = sum(custom(xt) for _ in range(32))
    # x/s >= 1 and x >= s differ only by float rounding at the threshold.
    assert (a.argmax(1) == b.argmax(1)).float().mean() >= 0.99


def test_neuron_factory_with_other_neuron_type_and_kwargs():
    factory = NeuronFactory(LIFNode, v_threshold=1.0, v_reset=None, tau=50.0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    snn = Converter([torch.randn(8, 4)], neuron_factory=factory).convert_to_spiking_neurons(net)
    neuron = snn.snn_tailor[0][1]
    assert isinstance(neuron, LIFNode) and neuron.tau == 50.0 and neuron.v_reset is None


def test_custom_threshold_optimizer():
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    loader = [torch.randn(8, 4)]
    fixed = Converter(loader).convert_to_spiking_neurons(net)
    half = Converter(loader, threshold_optimizer=HalfOptimizer()).convert_to_spiking_neurons(net)
    torch.testing.assert_close(half.snn_tailor[0][2].scale, 0.5 * fixed.snn_tailor[0][2].scale)
    with pytest.raises(ValueError, match=r"strategy 'percentile' is not built in.*override"):
        Converter(loader, threshold_optimizer=ThresholdOptimizer("percentile")).convert_to_spiking_neurons(net)


def test_factory_returning_non_module_rejected():
    class Bad(NeuronFactory):
        def create(self, scale):
            return lambda x: x

    with pytest.raises(TypeError, match=r"neuron_factory.create\(\) must return an nn.Module"):
        Converter([torch.randn(8, 4)], neuron_factory=Bad()).convert_to_spiking_neurons(
            nn.Sequential(nn.Linear(4, 3), nn.ReLU()))


# -- building blocks -----------------------------------------------------------------

@pytest.mark.parametrize("mode, stat", [
    ("Max", lambda x: x.max()),
    ("max", lambda x: x.max()),
    ("99.9%", lambda x: torch.quantile(x.flatten(), 0.999)),
    ("50%", lambda x: torch.quantile(x.flatten(), 0.5)),
    (0.25, lambda x: 0.25 * x.max()),
    (1, lambda x: x.max()),
])
def test_voltage_hook_statistic(mode, stat):
    hook = VoltageHook(mode=mode, momentum=0.3)
    a, b = torch.rand(64, 5), torch.rand(64, 5) * 2
    assert hook(a) is a and hook.num_batches_tracked == 1
    torch.testing.assert_close(hook.scale, stat(a))
    hook(b)
    torch.testing.assert_close(hook.scale, 0.7 * stat(a) + 0.3 * stat(b))
    assert "mode=" in repr(hook)


def test_voltage_hook_quantile_of_huge_tensor():
    hook = VoltageHook(mode="99.9%")
    x = torch.rand(2**24 + 7, generator=torch.Generator().manual_seed(0))
    hook(x)
    ref = torch.quantile(x[: 2**24], 0.999)
    assert abs(float(hook.scale) - float(ref)) < 1e-3


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(mode="99.9"), ValueError, "VoltageHook: `mode` must be"),
    (dict(mode="0%"), ValueError, "VoltageHook: `mode` must be"),
    (dict(mode=-0.5), ValueError, r"VoltageHook: a float `mode`"),
    (dict(mode=None), TypeError, "VoltageHook: `mode` must be"),
    (dict(momentum=-0.1), ValueError, "VoltageHook: `momentum`"),
    (dict(scale="1"), TypeError, "VoltageHook: `scale`"),
])
def test_voltage_hook_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        VoltageHook(**kwargs)


def test_voltage_hook_input_errors():
    with pytest.raises(ValueError, match="empty tensor"):
        VoltageHook()(torch.empty(0, 3))
    with pytest.raises(TypeError, match="input must be a tensor"):
        VoltageHook()([1.0])


def test_voltage_scaler():
    s = VoltageScaler(2.5)
    x = torch.randn(3, 4)
    torch.testing.assert_close(s(x), 2.5 * x)
    s.step_mode = "m"
    torch.testing.assert_close(s(x.unsqueeze(0)), 2.5 * x.unsqueeze(0))
    assert "scale" in dict(s.named_buffers())
    torch.testing.assert_close(s(x.double()), 2.5 * x.double())
    assert "2.5" in repr(s)
    with pytest.raises(ValueError, match="VoltageScaler: `scale` must be finite"):
        VoltageScaler(math.inf)
    with pytest.raises(TypeError, match="VoltageScaler: `scale`"):
        VoltageScaler("2")
    with pytest.raises(ValueError, match="step_mode"):
        VoltageScaler(1.0, step_mode="x")


def test_factories_and_optimizer_contracts():
    n = NeuronFactory().create(3.0)
    assert isinstance(n, IFNode) and n.v_threshold == 1.0 and n.v_reset is None
    h1, h2 = HookFactory("99.9%", 0.2).create(), HookFactory("99.9%", 0.2).create()
    assert h1 is not h2 and h1.mode == "99.9%" and h1.momentum == 0.2
    hook = VoltageHook()
    with pytest.raises(ValueError, match="saw no calibration batch"):
        ThresholdOptimizer().compute_threshold(hook)
    hook(torch.tensor([0.5, 2.0]))
    assert ThresholdOptimizer().compute_threshold(hook) == 2.0
    with pytest.raises(TypeError, match="one-element `scale`"):
        ThresholdOptimizer().compute_threshold(nn.Identity())
    with pytest.raises(TypeError, match="ThresholdOptimizer: `strategy`"):
        ThresholdOptimizer("")
    with pytest.raises(TypeError, match="NeuronFactory: `neuron_type`"):
        NeuronFactory(neuron_type="IFNode")
    with pytest.raises(ValueError, match="NeuronFactory: `v_threshold` must be > 0"):
        NeuronFactory(v_threshold=0.0)
    with pytest.raises(TypeError, match="NeuronFactory: `v_reset`"):
        NeuronFactory(v_reset="0")
    with pytest.raises(ValueError, match=r"NeuronFactory.create: `scale` must be a finite positive number"):
        NeuronFactory().create(float("nan"))
    with pytest.raises(ValueError, match="HookFactory: `mode`"):
        HookFactory("avg")


def test_rule_hook_names_follow_parent_prefix():
    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x))

    net = nn.Sequential(Inner(), Inner(), nn.ReLU())
    gm = Converter.set_voltagehook(fx.symbolic_trace(net))
    names = sorted(n.target for n in gm.graph.nodes if n.op == "call_module" and "voltage_hook" in n.target)
    assert names == ["0.voltage_hook_0", "1.voltage_hook_0", "voltage_hook_0"]
