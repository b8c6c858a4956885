"""Every SpikingJelly 2.0.0 name added for issue 17 imports from fnsnn_nn under 2.0.0's module path."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

NAMES = {
    "base": ["named_memories", "memories", "extract_memories", "load_memories", "to_functional_forward",
             "MemoryModule"],
    "functional": [
        "if_step", "if_multi_step", "lif_step", "lif_charge", "lif_multi_step", "plif_step", "plif_multi_step",
        "qif_step", "qif_multi_step", "eif_step", "eif_multi_step", "izhikevich_step", "izhikevich_multi_step",
        "klif_step", "cuba_lif_step", "clif_step", "gated_lif_step", "ilif_step", "ilif_multi_step",
        "ternary_if_step", "ternary_lif_step", "raf_step", "liaf_step", "voltage_reset", "delay_step",
        "synapse_filter_step", "neunorm_step", "activation_aware_if_step", "stbif_step", "stbif_multi_step",
        "sliding_psn_step", "masked_psn_step", "lif_linear", "if_linear", "collect_reset_modules",
        "reset_collected_modules", "invalidate_reset_cache", "t_last_multi_step_forward",
        "t_last_seq_to_ann_forward", "chunk_multi_step_forward", "bit_spike_compress", "bit_spike_decompress",
        "bit_pack_spike_dense", "packed_spike_linear", "sparse_linear", "kaiming_normal_conv_linear_weight",
        "set_threshold_margin", "stdp_linear_step", "stdp_conv1d_step", "stdp_conv2d_step", "mstdp_linear_step",
        "mstdpet_linear_step", "mstdpet_reward_step", "lava_cuba_lif_step",
        "activation_aware_if_multi_step", "neuron_implementation"],
    "layer": ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "BatchNormThroughTime1d", "BatchNormThroughTime2d",
              "BatchNormThroughTime3d", "TLastMultiStepContainer", "TLastSeqToANNContainer", "SpikeCountToBinary",
              "TemporalBinSum", "SpikeDrivenSelfAttention"],
    "neuron": ["ActivationAwareIFNode", "STBIFNode", "DSRIFNode", "DSRLIFNode", "FewSpikeNode", "HGNode",
               "OutlierAwareThresholdNode", "SimpleBaseNode", "ILCBaseNode", "ILCIFNode", "ILCLIFNode",
               "ILCCUBALIFNode", "MPBNBaseNode", "MPBNLIFNode", "NoisyBaseNode", "NoisyCUBALIFNode",
               "NoisyILCBaseNode", "NoisyILCCUBALIFNode", "NoisyNonSpikingBaseNode", "NoisyNonSpikingIFNode",
               "powerlaw_psd_gaussian"],
    "neuron.mpbn": ["MPBNBaseNode", "MPBNLIFNode"],
    "neuron.noisy": ["powerlaw_psd_gaussian", "NoisyBaseNode", "NoisyCUBALIFNode", "NoisyILCBaseNode",
                     "NoisyILCCUBALIFNode", "NoisyNonSpikingBaseNode", "NoisyNonSpikingIFNode"],
    "neuron.few_spike": ["FewSpikeTable", "FewSpikeNode", "HGNode", "OutlierAwareThresholdNode"],
    "encoding": ["StatelessEncoder", "StatefulEncoder", "PoissonEncoder", "LatencyEncoder", "PeriodicEncoder",
                 "WeightedPhaseEncoder", "PopEncoder", "PopSpikeEncoderDeterministic", "PopSpikeEncoderRandom"],
    "monitor": ["BaseMonitor", "OutputMonitor", "InputMonitor", "AttributeMonitor", "GradOutputMonitor",
                "GradInputMonitor"],
}
BASE_METHODS = ["functional_forward", "single_step_functional_forward", "multi_step_functional_forward",
                "materialize_states"]


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_import_from_fnsnn_nn(module):
    ours = importlib.import_module(f"fnsnn_nn.{module}")
    missing = [n for n in NAMES[module] if not hasattr(ours, n)]
    assert not missing, missing
    if module == "base":
        assert all(callable(getattr(ours.MemoryModule, m)) for m in BASE_METHODS)


@pytest.mark.parity
@pytest.mark.parametrize("module", sorted(NAMES))
def test_the_same_names_exist_in_2_0_0(module):
    if module == "monitor" and "torch.utils.tensorboard" not in sys.modules:
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:  # 2.0.0's monitor imports it at the top; only its GPUMonitor uses it
            stub = types.ModuleType("torch.utils.tensorboard")
            stub.SummaryWriter = object
            sys.modules["torch.utils.tensorboard"] = stub
    theirs = importlib.import_module(f"spikingjelly.activation_based.{module}")
    missing = [n for n in NAMES[module] if not hasattr(theirs, n)]
    assert not missing, missing
    if module == "base":
        assert all(callable(getattr(theirs.MemoryModule, m)) for m in BASE_METHODS)
