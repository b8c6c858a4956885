"""Calibrated conversion of digit classifiers: the SNN after 64 steps keeps the ANN's accuracy."""

import pytest
import torch
import torch.fx as fx

from bridge import Converter, VoltageScaler
from fnsnn_nn.neuron import IFNode
from tests.bridge._helpers import T_STEPS, accuracy, batches, snn_accuracy

MODES = ["Max", "99.9%", 0.9]


def _layer_scales(snn):
    """The activation scale ``s`` of every converted layer, in graph order."""
    return [float(block[2].scale) for block in snn.snn_tailor.children()]


@pytest.mark.parametrize("net_name", ["trained_mlp", "trained_cnn"])
def test_snn_accuracy_matches_ann(net_name, digits, request):
    net = request.getfixturevalue(net_name)
    x_train, y_train, x_test, y_test = digits
    ann_acc = accuracy(net, x_test, y_test)
    assert ann_acc > 0.9, f"{net_name} did not train: {ann_acc:.3f}"
    figures = {}
    snns = {}
    for mode in MODES:
        snn = Converter(batches(x_train, y_train), mode=mode).convert_to_spiking_neurons(net)
        assert isinstance(snn, fx.GraphModule)
        neurons = [m for m in snn.modules() if isinstance(m, IFNode)]
        assert len(neurons) == 2 and all(n.v_reset is None and n.v_threshold == 1.0 for n in neurons)
        figures[mode] = snn_accuracy(snn, x_test, y_test)
        snns[mode] = snn
    print(f"\n{net_name}: ANN {ann_acc:.4f} | SNN T={T_STEPS}: "
          + ", ".join(f"{m}: {a:.4f}" for m, a in figures.items()))
    for mode in ("Max", "99.9%"):
        assert figures[mode] >= ann_acc - 0.02, (mode, figures[mode], ann_acc)
    # A float mode records that fraction of the running maximum: every scale is 0.9x the 'Max' one.
    torch.testing.assert_close(torch.tensor(_layer_scales(snns[0.9])),
                               0.9 * torch.tensor(_layer_scales(snns["Max"])), rtol=1e-5, atol=0)
    assert figures[0.9] >= ann_acc - 0.05
    # The percentile never exceeds the maximum.
    assert all(p <= m + 1e-6 for p, m in zip(_layer_scales(snns["99.9%"]), _layer_scales(snns["Max"])))


def test_scalers_wrap_each_neuron(trained_mlp, digits):
    x_train, y_train, _, _ = digits
    snn = Converter(batches(x_train, y_train)).convert_to_spiking_neurons(trained_mlp)
    for block in snn.snn_tailor.children():
        first, neuron, last = block
        assert isinstance(first, VoltageScaler) and isinstance(last, VoltageScaler)
        assert isinstance(neuron, IFNode)
        torch.testing.assert_close(first.scale * last.scale, torch.tensor(1.0))
    assert not any(isinstance(m, torch.nn.ReLU) for m in snn.modules())


def test_conv_bn_fused(trained_cnn, digits):
    x_train, y_train, _, _ = digits
    snn = Converter(batches(x_train, y_train)).convert_to_spiking_neurons(trained_cnn)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in snn.modules())
    kept = Converter(batches(x_train, y_train), fuse_flag=False).convert_to_spiking_neurons(trained_cnn)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in kept.modules()) == 2
    # Folding BatchNorm changes neither the calibration nor the SNN's outputs beyond float rounding.
    torch.testing.assert_close(torch.tensor(_layer_scales(snn)), torch.tensor(_layer_scales(kept)), rtol=1e-4, atol=0)
