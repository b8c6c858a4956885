"""Checkpoints interchange with SpikingJelly 2.0.0: every module class both libraries ship has the same
state_dict keys and shapes, and each side's checkpoint loads into the other with strict=True."""

import inspect
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

import fnsnn_nn.layer as our_layer
import fnsnn_nn.neuron as our_neuron
import fnsnn_nn.td as our_td

pytestmark = pytest.mark.parity

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_td = pytest.importorskip("spikingjelly.activation_based.ann2snn.operators")

OURS = SimpleNamespace(layer=our_layer, neuron=our_neuron, td=our_td)
SJ = SimpleNamespace(layer=sj_layer, neuron=sj_neuron, td=sj_td)


def _add(x, y):
    return x + y


def _fs_table(lib):
    if lib is OURS:
        table = our_neuron.FewSpikeTable
    else:
        from spikingjelly.activation_based.neuron.few_spike import FewSpikeTable as table
    return table([0.5, 0.25], [0.5, 0.25], [0.5, 0.25])


# Constructor arguments valid in both libraries; `lib` is OURS or SJ.
BUILD = {
    "layer": {
        "AdaptiveAvgPool1d": lambda lib, c: c(2), "AdaptiveAvgPool2d": lambda lib, c: c(2),
        "AdaptiveAvgPool3d": lambda lib, c: c(2), "AvgPool1d": lambda lib, c: c(2),
        "AvgPool2d": lambda lib, c: c(2), "AvgPool3d": lambda lib, c: c(2),
        "MaxPool1d": lambda lib, c: c(2), "MaxPool2d": lambda lib, c: c(2), "MaxPool3d": lambda lib, c: c(2),
        "BatchNorm1d": lambda lib, c: c(4), "BatchNorm2d": lambda lib, c: c(4), "BatchNorm3d": lambda lib, c: c(4),
        "Conv1d": lambda lib, c: c(2, 3, 3), "Conv2d": lambda lib, c: c(2, 3, 3), "Conv3d": lambda lib, c: c(2, 3, 3),
        "ConvTranspose1d": lambda lib, c: c(2, 3, 3), "ConvTranspose2d": lambda lib, c: c(2, 3, 3),
        "ConvTranspose3d": lambda lib, c: c(2, 3, 3),
        "Delay": lambda lib, c: c(2), "DropConnectLinear": lambda lib, c: c(4, 3), "Dropout": lambda lib, c: c(),
        "Dropout2d": lambda lib, c: c(), "Flatten": lambda lib, c: c(), "GroupNorm": lambda lib, c: c(2, 4),
        "Linear": lambda lib, c: c(4, 3), "Upsample": lambda lib, c: c(scale_factor=2), "VotingLayer": lambda lib, c: c(),
        "PrintShapeModule": lambda lib, c: c(), "SynapseFilter": lambda lib, c: c(learnable=True),
        "NeuNorm": lambda lib, c: c(2, 3, 3), "WSConv2d": lambda lib, c: c(2, 3, 3), "WSLinear": lambda lib, c: c(4, 3),
        "ElementWiseRecurrentContainer": lambda lib, c: c(lib.neuron.IFNode(), _add),
        "LinearRecurrentContainer": lambda lib, c: c(lib.neuron.IFNode(), 3, 3),
        "MultiStepContainer": lambda lib, c: c(lib.neuron.IFNode(), nn.Linear(3, 2)),
        "SeqToANNContainer": lambda lib, c: c(nn.Linear(3, 2), nn.BatchNorm1d(2)),
        "StepModeContainer": lambda lib, c: c(False, "m", nn.Linear(3, 2), nn.BatchNorm1d(2)),
        "OTTTSequential": lambda lib, c: c(nn.Linear(3, 2), lib.neuron.OTTTLIFNode()),
        "GradwithTrace": lambda lib, c: c(nn.Linear(3, 2)), "SpikeTraceOp": lambda lib, c: c(nn.Linear(3, 2)),
        "ThresholdDependentBatchNorm1d": lambda lib, c: c(1.0, 1.0, 4),
        "ThresholdDependentBatchNorm2d": lambda lib, c: c(1.0, 1.0, 4),
        "ThresholdDependentBatchNorm3d": lambda lib, c: c(1.0, 1.0, 4),
        "TemporalEffectiveBatchNorm1d": lambda lib, c: c(4, 3), "TemporalEffectiveBatchNorm2d": lambda lib, c: c(4, 3),
        "TemporalEffectiveBatchNorm3d": lambda lib, c: c(4, 3),
        "TemporalWiseAttention": lambda lib, c: c(4, reduction=2, dimension=4),
        "MultiDimensionalAttention": lambda lib, c: c(4, 8, reduction_t=2, reduction_c=2),
        "SpikingSelfAttention": lambda lib, c: c(8, num_heads=2), "QKAttention": lambda lib, c: c(8, num_heads=2),
        "TokenQKAttention": lambda lib, c: c(8, num_heads=2), "ChannelQKAttention": lambda lib, c: c(8, num_heads=2),
        "MaxUnpool1d": lambda lib, c: c(2), "MaxUnpool2d": lambda lib, c: c(2), "MaxUnpool3d": lambda lib, c: c(2),
        "BatchNormThroughTime1d": lambda lib, c: c(3, 4), "BatchNormThroughTime2d": lambda lib, c: c(3, 4),
        "BatchNormThroughTime3d": lambda lib, c: c(3, 4),
        "TLastMultiStepContainer": lambda lib, c: c(nn.Linear(3, 2), lib.neuron.IFNode()),
        "TLastSeqToANNContainer": lambda lib, c: c(nn.Linear(3, 2), nn.BatchNorm1d(2)),
        "SpikeCountToBinary": lambda lib, c: c(3), "TemporalBinSum": lambda lib, c: c(3),
        "SpikeDrivenSelfAttention": lambda lib, c: c(8, num_heads=2),
    },
    "neuron": {
        **{name: (lambda lib, c: c()) for name in (
            "AdaptBaseNode", "CUBALIFNode", "ComplementaryLIFNode", "EIFNode", "HalfThresholdIFNode", "IFNode",
            "ILIFNode", "IzhikevichNode", "KLIFNode", "LIFNode", "NonSpikingIFNode", "NonSpikingLIFNode",
            "OTTTLIFNode", "ParametricLIFNode", "QIFNode", "RAFNode", "SLTTLIFNode", "SimpleIFNode",
            "TernaryIFNode", "TernaryLIFNode")},
        "GatedLIFNode": lambda lib, c: c(4, inplane=3), "LIAFNode": lambda lib, c: c(torch.tanh, True),
        "MaskedPSN": lambda lib, c: c(2, 4), "PSN": lambda lib, c: c(4), "SimpleLIFNode": lambda lib, c: c(2.0, True),
        "SlidingPSN": lambda lib, c: c(3),
        "ActivationAwareIFNode": lambda lib, c: c(torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.1]), 1),
        "STBIFNode": lambda lib, c: c(0.5, 8, sym=True), "SimpleBaseNode": lambda lib, c: c(),
        "DSRIFNode": lambda lib, c: c(T=4), "DSRLIFNode": lambda lib, c: c(T=4),
        **{name: (lambda lib, c: c(2, 3)) for name in ("ILCBaseNode", "ILCIFNode", "ILCLIFNode", "ILCCUBALIFNode")}, "FewSpikeNode": lambda lib, c: c(_fs_table(lib)),
        "HGNode": lambda lib, c: c([_fs_table(lib), _fs_table(lib)], [0.5]),
        "OutlierAwareThresholdNode": lambda lib, c: c(_fs_table(lib), _fs_table(lib), 0.5),
        "MPBNBaseNode": lambda lib, c: c(out_features=4), "MPBNLIFNode": lambda lib, c: c(out_channels=3),
        **{name: (lambda lib, c: c(3)) for name in (
            "NoisyBaseNode", "NoisyCUBALIFNode", "NoisyNonSpikingBaseNode", "NoisyNonSpikingIFNode")},
        **{name: (lambda lib, c: c(2, 3)) for name in ("NoisyILCBaseNode", "NoisyILCCUBALIFNode")},
    },
    "td": {
        "TDGELU": lambda lib, c: c(), "TDSoftmax": lambda lib, c: c(), "TDScaledDotProductAttention": lambda lib, c: c(),
        "TDLayerNorm": lambda lib, c: c(4), "TDLinear": lambda lib, c: c(4, 3),
        "TDMultiheadAttention": lambda lib, c: c(8, 2),
    },
}
ABSTRACT = {"BaseNode", "NonSpikingBaseNode", "TDModule"}


def _shared(package):
    ours, theirs = getattr(OURS, package), getattr(SJ, package)
    return sorted(name for name in dir(ours) if not name.startswith("_") and name not in ABSTRACT
                  and inspect.isclass(getattr(ours, name)) and issubclass(getattr(ours, name), nn.Module)
                  and inspect.isclass(getattr(theirs, name, None)))


CASES = [(package, name) for package in BUILD for name in _shared(package)]
# Buffers that are functions of the constructor arguments in both libraries (MaskedPSN's masks follow from k
# and T). They are saved and loaded like any buffer, but fnsnn refuses a checkpoint whose masks disagree with
# k and T (test_masked_psn_rejects_foreign_masks) instead of running a mask it was not built for.
DERIVED = {("neuron", "MaskedPSN"): {"mask0", "mask1"}}


@pytest.mark.parametrize("package", sorted(BUILD))
def test_every_shared_class_is_covered(package):
    assert set(_shared(package)) <= set(BUILD[package]), sorted(set(_shared(package)) - set(BUILD[package]))


def _pair(package, name):
    torch.manual_seed(0)
    ours = BUILD[package][name](OURS, getattr(getattr(OURS, package), name))
    torch.manual_seed(0)
    theirs = BUILD[package][name](SJ, getattr(getattr(SJ, package), name))
    return ours, theirs


def _layout(module):
    return {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("package, name", CASES)
def test_state_dict_keys_and_shapes_match(package, name):
    ours, theirs = _pair(package, name)
    assert _layout(ours) == _layout(theirs)


@pytest.mark.parametrize("package, name", CASES)
def test_checkpoints_load_both_ways_strictly(package, name):
    ours, theirs = _pair(package, name)
    with torch.no_grad():  # distinct values so that a load is visible
        for i, (key, p) in enumerate(theirs.state_dict().items()):
            if p.is_floating_point() and key not in DERIVED.get((package, name), ()):
                p.copy_(torch.linspace(0.1, 0.9, p.numel()).reshape(p.shape) + i)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    for k, v in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[k], v)
    _, fresh = _pair(package, name)
    fresh.load_state_dict(ours.state_dict(), strict=True)
    for k, v in ours.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v)


def test_masked_psn_rejects_foreign_masks():
    ours, theirs = _pair("neuron", "MaskedPSN")
    with torch.no_grad():
        theirs.mask0.fill_(1.0)
    with pytest.raises(RuntimeError, match=r"MaskedPSN: mask0 does not match this module's k=2, T=4"):
        ours.load_state_dict(theirs.state_dict(), strict=True)
