"""Converter behaviours around calibration: accepted batch forms, rules=[], duck-typed and duplicating rules,
rules that add modules while hooks are inserted, and threshold checks."""

import math

import numpy as np
import pytest
import torch
import torch.fx as fx
import torch.nn as nn

from bridge import Converter, ReLURule, ThresholdOptimizer, VoltageHook
from fnsnn_nn.neuron import IFNode


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))


def _x():
    return torch.rand(8, 4, generator=torch.Generator().manual_seed(1))


def _scales(snn):
    return [float(m[0].scale) for m in snn.snn_tailor]


def _convert(batch, **kw):
    return Converter([batch], **kw).convert_to_spiking_neurons(_net())


@pytest.mark.parametrize("form", ["tensor", "pair", "single", "list", "dict_input", "dict_first", "numpy",
                                  "numpy_pair", "numpy_dict"])
def test_batch_forms_calibrate_alike(form):
    x = _x()
    batch = {"tensor": x, "pair": (x, torch.zeros(8)), "single": (x,), "list": [x, 0],
             "dict_input": {"label": torch.zeros(8), "input": x}, "dict_first": {"label": 3, "image": x, "z": x * 2},
             "numpy": x.numpy().astype(np.float64), "numpy_pair": (x.numpy(), 0),
             "numpy_dict": {"input": x.numpy()}}[form]
    assert _scales(_convert(batch)) == pytest.approx(_scales(_convert(x)))


@pytest.mark.parametrize("batch, kind", [([], "list"), ((), "tuple"), ({}, "dict")])
def test_empty_batch_raises(batch, kind):
    with pytest.raises(ValueError, match=rf"convert_to_spiking_neurons: dataloader batch 0 is an empty {kind}"):
        _convert(batch)


def test_empty_dataloader_raises():
    with pytest.raises(ValueError, match="convert_to_spiking_neurons: the dataloader yielded no batch"):
        Converter([]).convert_to_spiking_neurons(_net())


def test_dict_without_tensor_raises():
    with pytest.raises(TypeError, match=r"dataloader batch 0 is a dict without a tensor value"):
        _convert({"label": 1})


def test_empty_rules_replace_nothing():
    net, x = _net(), _x()
    snn = Converter([x], rules=[]).convert_to_spiking_neurons(net)
    assert sum(isinstance(m, nn.ReLU) for m in snn.modules()) == 2
    assert not any(isinstance(m, (IFNode, VoltageHook)) for m in snn.modules())
    torch.testing.assert_close(snn(x), net(x))
    hooked = Converter.set_voltagehook(fx.symbolic_trace(net), rules=[])
    assert not any(isinstance(m, VoltageHook) for m in hooked.modules())


class DuckRule:
    """A rule that is no ReLURule/ActivationRule subclass: it only has the four methods."""

    def __init__(self):
        self._inner = ReLURule()

    def match(self, node, modules):
        return self._inner.match(node, modules)

    def insert_hooks(self, fx_model, node, hook_factory, counts):
        return self._inner.insert_hooks(fx_model, node, hook_factory, counts)

    def find_replacements(self, fx_model, modules):
        return self._inner.find_replacements(fx_model, modules)

    def replace_with_neurons(self, fx_model, activation_node, hook_node, neuron_factory, threshold_optimizer):
        self._inner.replace_with_neurons(fx_model, activation_node, hook_node, neuron_factory, threshold_optimizer)


def test_duck_typed_rule_works_like_a_subclass():
    x = _x()
    duck, sub = _convert(x, rules=[DuckRule()]), _convert(x, rules=[ReLURule()])
    assert _scales(duck) == _scales(sub)
    assert str(duck.graph) == str(sub.graph)
    torch.testing.assert_close(duck(x), sub(x))


class DuplicatingRule(ReLURule):
    def find_replacements(self, fx_model, modules):
        pairs = list(super().find_replacements(fx_model, modules))
        return pairs + pairs[::-1]


def test_duplicate_pairs_are_replaced_once():
    x = _x()
    snn = _convert(x, rules=[DuplicatingRule()])
    assert len(snn.snn_tailor) == 2
    assert sum(isinstance(m, IFNode) for m in snn.modules()) == 2
    assert _scales(snn) == _scales(_convert(x))


class ReLUAfterTanhRule(ReLURule):
    """Inserts an nn.ReLU module after each nn.Tanh (and no hook); the ReLU rule after it must hook it."""

    def match(self, node, modules):
        return node.op == "call_module" and isinstance(modules.get(node.target), nn.Tanh)

    def insert_hooks(self, fx_model, node, hook_factory, counts):
        target = f"relu_after_{node.target}"
        fx_model.add_submodule(target, nn.ReLU())
        with fx_model.graph.inserting_after(node):
            new = fx_model.graph.call_module(target, args=(node,))
        node.replace_all_uses_with(new, delete_user_cb=lambda user: user is not new)
        return new

    def find_replacements(self, fx_model, modules):
        return iter(())


def test_later_rules_see_modules_inserted_by_earlier_rules():
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    hooked = Converter.set_voltagehook(fx.symbolic_trace(net), rules=[ReLUAfterTanhRule(), ReLURule()])
    kinds = [type(hooked.get_submodule(n.target)).__name__ for n in hooked.graph.nodes if n.op == "call_module"]
    assert kinds == ["Linear", "Tanh", "ReLU", "VoltageHook", "Linear"]
    snn = Converter([torch.randn(6, 4)], rules=[ReLUAfterTanhRule(), ReLURule()]).convert_to_spiking_neurons(net)
    assert sum(isinstance(m, IFNode) for m in snn.modules()) == 1


class ConstantOptimizer(ThresholdOptimizer):
    def __init__(self, value):
        super().__init__("constant")
        self.value = value

    def compute_threshold(self, hook):
        return self.value


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, -math.inf, torch.tensor(0.0)])
def test_non_positive_or_non_finite_threshold_raises(value):
    with pytest.raises(ValueError, match=r"ReLURule.replace_with_neurons: the calibrated threshold of fx node "
                                         r"'_1'.*must be a finite positive number"):
        _convert(_x(), threshold_optimizer=ConstantOptimizer(value))


def test_tensor_threshold_is_accepted():
    snn = _convert(_x(), threshold_optimizer=ConstantOptimizer(torch.tensor(2.0)))
    assert _scales(snn) == [0.5, 0.5]


def test_non_number_threshold_raises():
    with pytest.raises(TypeError, match=r"threshold optimizer returned str.*finite positive number"):
        _convert(_x(), threshold_optimizer=ConstantOptimizer("1"))


def test_unknown_strategy_raises_when_threshold_is_computed():
    opt = ThresholdOptimizer("percentile")  # building it is fine
    hook = VoltageHook()
    hook(torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"compute_threshold: strategy 'percentile' is not built in"):
        opt.compute_threshold(hook)
