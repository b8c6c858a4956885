"""convert_sync_batchnorm keeps the step mode of the BatchNorm wrappers (torch's converter drops it)."""

import pytest
import torch
import torch.nn as nn

from fnsnn_nn import functional, layer, neuron


def _net():
    torch.manual_seed(0)
    return nn.Sequential(layer.Conv2d(2, 3, 3, padding=1), layer.BatchNorm2d(3), neuron.IFNode(),
                         layer.Flatten(), layer.Linear(3 * 4 * 4, 5),
                         layer.TemporalEffectiveBatchNorm1d(4, 5))


def test_torch_converter_drops_step_mode():
    net = _net()
    functional.set_step_mode(net, "m")
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert not hasattr(converted[1], "step_mode")
    with pytest.raises(RuntimeError, match="running_mean"):  # [T, N, C, H, W] read as [N, C, D, H, W]
        converted(torch.rand(4, 2, 2, 4, 4))


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_convert_keeps_step_mode_and_outputs(step_mode):
    ref = _net()
    net = _net()
    functional.set_step_mode(ref, step_mode)
    functional.set_step_mode(net, step_mode)
    net = functional.convert_sync_batchnorm(net)
    assert isinstance(net[1], layer.SyncBatchNorm) and net[1].step_mode == step_mode
    assert isinstance(net[5].bn, layer.SyncBatchNorm) and net[5].bn.step_mode == step_mode
    x = torch.rand(4, 2, 2, 4, 4)
    if step_mode == "m":
        y, y_ref = net(x), ref(x)
    else:
        y = torch.stack([net(xt) for xt in x])
        y_ref = torch.stack([ref(xt) for xt in x])
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(net[1].running_mean, ref[1].running_mean)


def test_convert_shares_parameters_and_training_flag():
    net = _net().eval()
    bn = net[1]
    out = functional.convert_sync_batchnorm(net)
    assert out[1].weight is bn.weight and out[1].running_var is bn.running_var
    assert not out[1].training


def test_convert_single_layer_and_errors():
    bn = layer.BatchNorm1d(3, step_mode="m")
    out = functional.convert_sync_batchnorm(bn)
    assert isinstance(out, layer.SyncBatchNorm) and out.step_mode == "m"
    assert type(functional.convert_sync_batchnorm(nn.BatchNorm1d(3))) is nn.SyncBatchNorm
    tdbn = layer.ThresholdDependentBatchNorm2d(num_features=3, alpha=1.0, v_th=1.0)
    assert functional.convert_sync_batchnorm(tdbn) is tdbn
    with pytest.raises(TypeError, match="convert_sync_batchnorm: `net` must be an nn.Module"):
        functional.convert_sync_batchnorm("net")
