"""Spiking neuron families as pure step and scan functions."""

from ._base import NeuronFamily, fire, fire_and_reset, reset
from .declared import Neuron
from .integrate_fire import IF, IFState, if_init_state, if_multi_step, if_step
from .lif import (
    LIF,
    PLIF,
    LIFState,
    PLIFState,
    lif_init_state,
    lif_multi_step,
    lif_step,
    plif_init_state,
    plif_multi_step,
    plif_step,
    plif_w_from_tau,
)
from .lif_variants import (
    CLIF,
    CUBALIF,
    GATEDLIF,
    KLIF,
    LIAF,
    CLIFState,
    CUBALIFState,
    GatedLIFState,
    KLIFState,
    LIAFState,
    clif_init_state,
    clif_multi_step,
    clif_step,
    cuba_lif_init_state,
    cuba_lif_multi_step,
    cuba_lif_step,
    gated_lif_init_state,
    gated_lif_multi_step,
    gated_lif_step,
    klif_init_state,
    klif_multi_step,
    klif_step,
    liaf_init_state,
    liaf_multi_step,
    liaf_step,
)
from .nonlinear_if import (
    EIF,
    IZHIKEVICH,
    QIF,
    EIFState,
    IzhikevichState,
    QIFState,
    eif_init_state,
    eif_multi_step,
    eif_step,
    izhikevich_init_state,
    izhikevich_multi_step,
    izhikevich_step,
    qif_init_state,
    qif_multi_step,
    qif_step,
)
from .nonspiking import (
    NONSPIKING_IF,
    NONSPIKING_LIF,
    NonSpikingIFState,
    NonSpikingLIFState,
    decode_potentials,
    nonspiking_if_init_state,
    nonspiking_if_multi_step,
    nonspiking_if_step,
    nonspiking_lif_init_state,
    nonspiking_lif_multi_step,
    nonspiking_lif_step,
)
from .psn import (
    MaskedPSNOverflowError,
    MaskedPSNState,
    PSNState,
    SlidingPSNState,
    masked_psn_init_state,
    masked_psn_multi_step,
    masked_psn_step,
    masked_psn_weight,
    psn_multi_step,
    sliding_psn_gemm_weight,
    sliding_psn_init_state,
    sliding_psn_multi_step,
    sliding_psn_step,
)
from .simple import (
    SIMPLE_IF,
    SIMPLE_LIF,
    SimpleIFState,
    SimpleLIFState,
    simple_if_init_state,
    simple_if_multi_step,
    simple_if_step,
    simple_lif_init_state,
    simple_lif_multi_step,
    simple_lif_step,
)
from .ternary import (
    TERNARY_IF,
    TERNARY_LIF,
    TernaryIFState,
    TernaryLIFState,
    ternary_fire_and_reset,
    ternary_if_init_state,
    ternary_if_multi_step,
    ternary_if_step,
    ternary_lif_init_state,
    ternary_lif_multi_step,
    ternary_lif_step,
)
from .resonate import RAF, RAFState, raf_coefficients, raf_init_state, raf_multi_step, raf_step
from .adapt import ADAPT, AdaptState, adapt_init_state, adapt_multi_step, adapt_step, neuronal_adaptation
from .online import (
    OTTT_LIF,
    SLTT_LIF,
    OTTTLIFState,
    SLTTLIFState,
    ottt_lif_init_state,
    ottt_lif_multi_step,
    ottt_lif_step,
    sltt_lif_init_state,
    sltt_lif_multi_step,
    sltt_lif_step,
)
from .ilif import ILIF, ILIFState, MultiLevelSpikeCount, ilif_init_state, ilif_multi_step, ilif_step
from .half_threshold import (
    HALF_THRESHOLD_IF,
    HalfThresholdIFState,
    half_threshold_if_init_state,
    half_threshold_if_multi_step,
    half_threshold_if_step,
)
from .neuron_linear import if_linear, lif_linear
from .activation_aware import (
    ACTIVATION_AWARE_IF,
    ActivationAwareIFState,
    activation_aware_if_init_state,
    activation_aware_if_multi_step,
    activation_aware_if_step,
)
from .stbif import STBIF, STBIFState, stbif_bounds, stbif_init_state, stbif_multi_step, stbif_step
from .dsr import dsr_if_multi_step, dsr_lif_multi_step
from .ilc import ILCState, ilc_lateral, ilc_multi_step
from .mpbn import (
    MPBN,
    MPBNState,
    mpbn_init_state,
    mpbn_lif_multi_step,
    mpbn_lif_step,
    mpbn_multi_step,
    mpbn_step,
)
from .lava_cuba import (
    LAVA_CUBA_LIF,
    LavaCUBALIFState,
    lava_cuba_lif_init_state,
    lava_cuba_lif_multi_step,
    lava_cuba_lif_step,
    leaky_integrator_step,
)
from .noisy import (
    NoisyState,
    colored_noise_from_white,
    noisy_nonspiking_if_multi_step,
    noisy_spiking_multi_step,
    powerlaw_psd_gaussian,
)

import types as _types

__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _types.ModuleType)]
