"""Layers with SpikingJelly's names: step-mode wrappers, containers, synapses and SNN-specific layers.

Stateless wrappers run in ``'s'`` mode as their torch layer and fold time into
the batch in ``'m'`` mode; stateful layers are thin shells over the pure
functions of :mod:`fnsnn.synapses`.
"""

from ._containers import (
    ElementWiseRecurrentContainer,
    LinearRecurrentContainer,
    MultiStepContainer,
    SeqToANNContainer,
    StepModeContainer,
)
from ._dropout import DropConnectLinear, Dropout, Dropout2d
from ._misc import PrintShapeModule, VotingLayer
from ._norm import (
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
    TemporalEffectiveBatchNormNd,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
)
from ._online import GradwithTrace, OTTTSequential, ReplaceforGrad, SpikeTraceOp
from ._synapse import Delay, NeuNorm, SynapseFilter
from ._wrappers import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    Flatten,
    GroupNorm,
    Linear,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    SyncBatchNorm,
    Upsample,
    WSConv2d,
    WSLinear,
)
from .attention import (  # noqa: E402
    ChannelQKAttention,
    MultiDimensionalAttention,
    QKAttention,
    SpikingSelfAttention,
    TemporalWiseAttention,
    TokenQKAttention,
)
from ._sj2 import (  # noqa: E402  (SpikingJelly 2.0.0 additions)
    BatchNormThroughTime1d,
    BatchNormThroughTime2d,
    BatchNormThroughTime3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
    SpikeCountToBinary,
    TemporalBinSum,
    TLastMultiStepContainer,
    TLastSeqToANNContainer,
)
from ._spike_driven import SpikeDrivenSelfAttention  # noqa: E402
