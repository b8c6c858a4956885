"""The registry of neuron families that the shared contract suite runs over.

Each family adds one or more ``NeuronCase`` entries to ``CASES``. The contract
suite (tests/fnsnn/test_neuron_contract.py) then checks, for every case:
module == core, streaming == multi-step, vmap == loop (no fallback warning),
grad/jacrev/vmap(grad) work, float64 gradcheck, backends agree, shell state
lifecycle, and parity with SpikingJelly 2.0.0 where ``sj`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import fnsnn
import fnsnn_nn.neuron as nn_neuron


@dataclass
class NeuronCase:
    """One neuron configuration.

    Attributes:
        name: test id.
        step, multi_step: the core functions.
        config: core keyword arguments (floats; a fresh dict is copied per test).
        shell: ``shell(**kw) -> module`` building the equivalent fnsnn_nn module;
            ``kw`` holds ``step_mode`` and ``store_v_seq``.
        sj: same for SpikingJelly 2.0.0 (``None`` when it has no such neuron).
        tensor_param: a numeric config key that ``grad``/``vmap`` are taken over (or None).
        shape: per-step input shape ``[N, *]`` (the time dim is added in front).
        input_scale: inputs are ``randn * input_scale + input_shift``.
        multi_step_only: the neuron has no single-step form.
        gradcheck: run float64 gradcheck (set False for neurons whose outputs are spikes only
            and whose surrogate makes gradcheck meaningless).
        extra_shell_params: shell parameters (by name) whose gradient is compared with SJ.
        sj_v_seq_single_step: SpikingJelly's class keeps ``v_seq`` in single-step mode too (2.0.0's
            ActivationAwareIFNode does not; fnsnn's shells always do).
        generated: the family runs on the generated scans (tests/fnsnn/test_engine.py); False for a family the
            engine serves with its reference loop only (one whose update mixes the samples of a batch).
    """

    name: str
    step: Optional[Callable]
    multi_step: Callable
    config: Dict[str, Any]
    shell: Callable
    sj: Optional[Callable] = None
    tensor_param: Optional[str] = None
    shape: Tuple[int, ...] = (3, 5)
    T: int = 6
    input_scale: float = 1.5
    input_shift: float = 0.5
    multi_step_only: bool = False
    gradcheck: bool = True
    extra_shell_params: Tuple[str, ...] = ()
    sj_v_seq_single_step: bool = True
    generated: bool = True
    marks: Tuple[Any, ...] = field(default_factory=tuple)


def _sj():
    from spikingjelly.activation_based import neuron, surrogate

    return neuron, surrogate


CASES = [
    NeuronCase(
        "if_hard", fnsnn.if_step, fnsnn.if_multi_step, dict(v_threshold=1.0, v_reset=0.0),
        shell=lambda **kw: nn_neuron.IFNode(**kw),
        sj=lambda **kw: _sj()[0].IFNode(**kw), tensor_param="v_threshold",
    ),
    NeuronCase(
        "if_soft_detach", fnsnn.if_step, fnsnn.if_multi_step,
        dict(v_threshold=0.8, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.IFNode(v_threshold=0.8, v_reset=None, detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].IFNode(v_threshold=0.8, v_reset=None, detach_reset=True, **kw),
    ),
    NeuronCase(
        "lif_hard", fnsnn.lif_step, fnsnn.lif_multi_step, dict(tau=2.0),
        shell=lambda **kw: nn_neuron.LIFNode(tau=2.0, **kw),
        sj=lambda **kw: _sj()[0].LIFNode(tau=2.0, **kw), tensor_param="tau",
    ),
    NeuronCase(
        "lif_soft_nodecay", fnsnn.lif_step, fnsnn.lif_multi_step,
        dict(tau=3.0, decay_input=False, v_reset=None),
        shell=lambda **kw: nn_neuron.LIFNode(tau=3.0, decay_input=False, v_reset=None, **kw),
        sj=lambda **kw: _sj()[0].LIFNode(tau=3.0, decay_input=False, v_reset=None, **kw), tensor_param="tau",
    ),
    NeuronCase(
        "plif", fnsnn.plif_step, fnsnn.plif_multi_step, dict(w=0.3),
        shell=lambda **kw: _with_param(nn_neuron.ParametricLIFNode(**kw), "w", 0.3),
        sj=lambda **kw: _with_param(_sj()[0].ParametricLIFNode(**kw), "w", 0.3), tensor_param="w",
        extra_shell_params=("w",),
    ),
]


def _with_param(module, name, value):
    import torch

    with torch.no_grad():
        getattr(module, name).fill_(value)
    return module


# -- neuron zoo, part A: QIF, EIF, Izhikevich, KLIF, LIAF, CUBA-LIF, CLIF, GatedLIF ---

def _set(module, **attrs):
    """Set attributes after construction (SpikingJelly constructors that lack a keyword)."""
    for name, value in attrs.items():
        setattr(module, name, value)
    return module


def _logit(p):
    import math

    return -math.log(1.0 / p - 1.0)


GATED_CONFIG = dict(alpha=0.1, beta=-0.2, gamma=0.3, tau=_logit(0.25), v_threshold=0.0,
                    linear_decay=_logit(0.5 / 12), v_subreset=0.0, conduct=0.0)


def _gated_shell(step_mode="m", **kw):
    module = nn_neuron.GatedLIFNode(T=6, step_mode=step_mode)
    for name in ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset", "conduct"):
        _with_param(module, name, GATED_CONFIG[name])
    return module


CASES += [
    NeuronCase(
        "qif_hard", fnsnn.qif_step, fnsnn.qif_multi_step, dict(tau=2.0, v_c=0.8, a0=1.0, v_reset=-0.1),
        shell=lambda **kw: nn_neuron.QIFNode(**kw),
        sj=lambda **kw: _sj()[0].QIFNode(**kw), tensor_param="a0",
    ),
    NeuronCase(
        "qif_soft_detach", fnsnn.qif_step, fnsnn.qif_multi_step,
        dict(tau=3.0, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.QIFNode(tau=3.0, v_reset=None, detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].QIFNode(tau=3.0, v_reset=None, detach_reset=True, **kw), tensor_param="tau",
    ),
    NeuronCase(
        "eif_hard", fnsnn.eif_step, fnsnn.eif_multi_step, dict(tau=2.0, delta_T=1.0, theta_rh=0.8),
        shell=lambda **kw: nn_neuron.EIFNode(**kw),
        sj=lambda **kw: _sj()[0].EIFNode(**kw), tensor_param="theta_rh",
    ),
    NeuronCase(
        "eif_soft", fnsnn.eif_step, fnsnn.eif_multi_step, dict(tau=4.0, delta_T=0.5, v_reset=None),
        shell=lambda **kw: nn_neuron.EIFNode(tau=4.0, delta_T=0.5, v_reset=None, **kw),
        sj=lambda **kw: _sj()[0].EIFNode(tau=4.0, delta_T=0.5, v_reset=None, **kw), tensor_param="delta_T",
    ),
    NeuronCase(
        "izhikevich_hard", fnsnn.izhikevich_step, fnsnn.izhikevich_multi_step, dict(a=0.1, b=0.2, w_rest=0.05),
        shell=lambda **kw: nn_neuron.IzhikevichNode(a=0.1, b=0.2, w_rest=0.05, **kw),
        sj=lambda **kw: _sj()[0].IzhikevichNode(a=0.1, b=0.2, w_rest=0.05, **kw), tensor_param="a",
    ),
    NeuronCase(
        "izhikevich_soft_detach", fnsnn.izhikevich_step, fnsnn.izhikevich_multi_step,
        dict(tau=3.0, a=0.3, b=0.5, tau_w=4.0, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.IzhikevichNode(tau=3.0, a=0.3, b=0.5, tau_w=4.0, v_reset=None,
                                                    detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].IzhikevichNode(tau=3.0, a=0.3, b=0.5, tau_w=4.0, v_reset=None,
                                                detach_reset=True, **kw), tensor_param="b",
    ),
    NeuronCase(
        "klif", fnsnn.klif_step, fnsnn.klif_multi_step, dict(k=1.0),
        shell=lambda **kw: nn_neuron.KLIFNode(**kw),
        sj=lambda **kw: _sj()[0].KLIFNode(**kw), tensor_param="k", extra_shell_params=("k",),
    ),
    NeuronCase(
        "klif_scale_soft", fnsnn.klif_step, fnsnn.klif_multi_step,
        dict(k=1.3, scale_reset=True, tau=3.0, decay_input=False, v_reset=None),
        shell=lambda **kw: _with_param(nn_neuron.KLIFNode(True, 3.0, False, v_reset=None, **kw), "k", 1.3),
        sj=lambda **kw: _with_param(_sj()[0].KLIFNode(True, 3.0, False, v_reset=None, **kw), "k", 1.3),
        tensor_param="tau", extra_shell_params=("k",),
    ),
    NeuronCase(
        "liaf_relu", fnsnn.liaf_step, fnsnn.liaf_multi_step, dict(act=__import__("torch").relu,
                                                                  threshold_related=True, tau=2.0),
        shell=lambda **kw: nn_neuron.LIAFNode(__import__("torch").relu, True, **kw),
        sj=lambda **kw: _sj()[0].LIAFNode(__import__("torch").relu, True, **kw), tensor_param="tau",
    ),
    NeuronCase(
        "liaf_tanh_soft", fnsnn.liaf_step, fnsnn.liaf_multi_step,
        dict(act=__import__("torch").tanh, threshold_related=False, decay_input=False, v_reset=None),
        shell=lambda **kw: nn_neuron.LIAFNode(__import__("torch").tanh, False, decay_input=False, v_reset=None,
                                              **kw),
        sj=lambda **kw: _sj()[0].LIAFNode(__import__("torch").tanh, False, decay_input=False, v_reset=None,
                                          **kw), tensor_param="v_threshold",
    ),
    NeuronCase(
        "cuba_lif", fnsnn.cuba_lif_step, fnsnn.cuba_lif_multi_step,
        dict(c_decay=0.5, v_decay=0.75, v_threshold=0.5),
        shell=lambda **kw: nn_neuron.CUBALIFNode(**kw),
        sj=lambda **kw: _set(_sj()[0].CUBALIFNode(), **kw), tensor_param="v_threshold",
    ),
    NeuronCase(
        "cuba_lif_soft_detach", fnsnn.cuba_lif_step, fnsnn.cuba_lif_multi_step,
        dict(c_decay=0.3, v_decay=0.9, v_threshold=1.0, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.CUBALIFNode(0.3, 0.9, 1.0, None, detach_reset=True, **kw),
        sj=lambda **kw: _set(_sj()[0].CUBALIFNode(0.3, 0.9, 1.0, None), detach_reset=True, **kw),
        tensor_param="v_threshold",
    ),
    # SpikingJelly's CLIF keeps no v_seq, so its parity lives in tests/fnsnn/test_neurons_zoo_a.py.
    NeuronCase(
        "clif", fnsnn.clif_step, fnsnn.clif_multi_step, dict(tau=2.0, v_threshold=1.0),
        shell=lambda store_v_seq=False, **kw: _set(nn_neuron.ComplementaryLIFNode(**kw), store_v_seq=store_v_seq),
        tensor_param="tau",
    ),
    # GatedLIF is built for a fixed T; its SpikingJelly parity lives in tests/fnsnn/test_neurons_zoo_a.py.
    NeuronCase(
        "gated_lif", fnsnn.gated_lif_step, fnsnn.gated_lif_multi_step, dict(GATED_CONFIG),
        shell=_gated_shell, tensor_param="tau", multi_step_only=True,
    ),
]


# -- neuron zoo, part B: SimpleIF/LIF, Ternary IF/LIF, RAF, AdaptBase, OTTT/SLTT, ILIF, HalfThresholdIF ---

def _sj_simple(name, *args, store_v_seq=False, **kw):
    """A SpikingJelly Simple*Node that also records ``v_seq`` (SpikingJelly's Simple nodes keep none)."""
    import torch

    class _Recording(getattr(_sj()[0], name)):
        def single_step_forward(self, x):
            spike = super().single_step_forward(x)
            if store_v_seq:
                v = self.v.unsqueeze(0)
                prev = getattr(self, "v_seq", None)
                self.v_seq = v if prev is None else torch.cat((prev, v))
            return spike

    return _Recording(*args, **kw)


def _online(cls, step_mode="s", **kw):
    """OTTT/SLTT nodes must be built in single-step mode; switch the step mode afterwards."""
    module = cls(**kw)
    module.step_mode = step_mode
    return module


IZH = dict(tau=2.0, a0=1.0, v_c=0.8, v_rest=-0.1)


def izhikevich_charge(x, v, w, tau=IZH["tau"], a0=IZH["a0"], v_rest=IZH["v_rest"], v_c=IZH["v_c"]):
    """Izhikevich's sub-threshold charge, used to drive the generic adaptive neuron."""
    return v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau


class AdaptIzhikevich(nn_neuron.AdaptBaseNode):
    """An AdaptBaseNode subclass whose dynamics equal SpikingJelly's IzhikevichNode."""

    def neuronal_charge(self, x, v, w):
        return izhikevich_charge(x, v, w, v_rest=self.v_rest)


ADAPT_CONFIG = dict(charge=izhikevich_charge, v_rest=IZH["v_rest"], w_rest=0.05, tau_w=2.0, a=0.1, b=0.2)

CASES += [
    NeuronCase(
        "simple_if", fnsnn.simple_if_step, fnsnn.simple_if_multi_step, dict(v_threshold=1.0, v_reset=0.3),
        shell=lambda **kw: nn_neuron.SimpleIFNode(v_reset=0.3, **kw),
        sj=lambda **kw: _sj_simple("SimpleIFNode", v_reset=0.3, **kw), tensor_param="v_threshold",
    ),
    NeuronCase(
        "simple_lif_nodecay_detach", fnsnn.simple_lif_step, fnsnn.simple_lif_multi_step,
        dict(tau=3.0, decay_input=False, v_reset=-0.2, detach_reset=True),
        shell=lambda **kw: nn_neuron.SimpleLIFNode(3.0, False, v_reset=-0.2, detach_reset=True, **kw),
        sj=lambda **kw: _sj_simple("SimpleLIFNode", 3.0, False, v_reset=-0.2, detach_reset=True, **kw),
        tensor_param="tau",
    ),
    # SpikingJelly's SimpleLIFNode cannot run with v_reset=None (it subtracts None), so no parity here.
    NeuronCase(
        "simple_lif_soft", fnsnn.simple_lif_step, fnsnn.simple_lif_multi_step,
        dict(tau=2.0, decay_input=True, v_reset=None),
        shell=lambda **kw: nn_neuron.SimpleLIFNode(2.0, True, v_reset=None, **kw), tensor_param="tau",
    ),
    NeuronCase(
        "ternary_if_hard", fnsnn.ternary_if_step, fnsnn.ternary_if_multi_step, dict(v_threshold=1.0, v_reset=0.2),
        shell=lambda **kw: nn_neuron.TernaryIFNode(v_reset=0.2, **kw),
        sj=lambda **kw: _sj()[0].TernaryIFNode(v_reset=0.2, **kw), tensor_param="v_threshold", input_shift=0.0,
    ),
    NeuronCase(
        "ternary_if_soft_detach", fnsnn.ternary_if_step, fnsnn.ternary_if_multi_step,
        dict(v_threshold=0.7, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.TernaryIFNode(0.7, None, detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].TernaryIFNode(0.7, None, detach_reset=True, **kw), input_shift=0.0,
    ),
    NeuronCase(
        "ternary_lif_hard", fnsnn.ternary_lif_step, fnsnn.ternary_lif_multi_step, dict(tau=2.0),
        shell=lambda **kw: nn_neuron.TernaryLIFNode(**kw),
        sj=lambda **kw: _sj()[0].TernaryLIFNode(**kw), tensor_param="tau", input_scale=2.5, input_shift=0.0,
    ),
    NeuronCase(
        "ternary_lif_soft_nodecay", fnsnn.ternary_lif_step, fnsnn.ternary_lif_multi_step,
        dict(tau=3.0, decay_input=False, v_threshold=1.0, v_reset=None),
        shell=lambda **kw: nn_neuron.TernaryLIFNode(3.0, False, v_reset=None, **kw),
        sj=lambda **kw: _sj()[0].TernaryLIFNode(3.0, False, v_reset=None, **kw), tensor_param="v_threshold",
        input_shift=0.0,
    ),
    # The input reaches v one step late, so at T=1 the parity loss has no path to x and the shared
    # parity check cannot differentiate it; RAF parity lives in tests/fnsnn/test_neurons_zoo_b.py.
    NeuronCase(
        "raf_hard", fnsnn.raf_step, fnsnn.raf_multi_step, dict(b=-0.2, dt=1.0),
        shell=lambda **kw: nn_neuron.RAFNode(**kw), tensor_param="dt",
    ),
    NeuronCase(
        "raf_soft_detach", fnsnn.raf_step, fnsnn.raf_multi_step,
        dict(b=-0.5, omega=2.0, dt=0.5, v_threshold=0.6, v_reset=None, detach_reset=True),
        shell=lambda **kw: nn_neuron.RAFNode(-0.5, 2.0, 0.5, 0.6, None, detach_reset=True, **kw),
        tensor_param="omega",
    ),
    # AdaptBaseNode is abstract in SpikingJelly; with Izhikevich's charge it must equal its IzhikevichNode.
    NeuronCase(
        "adapt_izhikevich", fnsnn.adapt_step, fnsnn.adapt_multi_step, dict(ADAPT_CONFIG),
        shell=lambda **kw: AdaptIzhikevich(v_rest=IZH["v_rest"], w_rest=0.05, a=0.1, b=0.2, **kw),
        sj=lambda **kw: _sj()[0].IzhikevichNode(w_rest=0.05, a=0.1, b=0.2, **kw), tensor_param="a",
    ),
    NeuronCase(
        "adapt_izhikevich_soft_detach", fnsnn.adapt_step, fnsnn.adapt_multi_step,
        dict(ADAPT_CONFIG, tau_w=4.0, a=0.3, b=0.5, v_reset=None, detach_reset=True),
        shell=lambda **kw: AdaptIzhikevich(v_reset=None, v_rest=IZH["v_rest"], w_rest=0.05, tau_w=4.0, a=0.3,
                                           b=0.5, detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].IzhikevichNode(v_reset=None, w_rest=0.05, tau_w=4.0, a=0.3, b=0.5,
                                                detach_reset=True, **kw), tensor_param="b",
    ),
    # Training mode cuts v at every step, so autograd deliberately differs from finite differences.
    NeuronCase(
        "sltt_lif", fnsnn.sltt_lif_step, fnsnn.sltt_lif_multi_step, dict(tau=2.0),
        shell=lambda **kw: _online(nn_neuron.SLTTLIFNode, **kw),
        sj=lambda **kw: _online(_sj()[0].SLTTLIFNode, **kw), tensor_param="tau", gradcheck=False,
    ),
    # OTTT returns [spike, trace] in training mode, which the generic single-step shell checks cannot
    # stack, and SpikingJelly keeps its evaluation-mode trace as None; this case runs evaluation mode and
    # tests/fnsnn/test_neurons_zoo_b.py covers training mode, streaming and SpikingJelly parity.
    NeuronCase(
        "ottt_lif_eval", fnsnn.ottt_lif_step, fnsnn.ottt_lif_multi_step, dict(tau=2.0, training=False),
        shell=lambda **kw: _online(nn_neuron.OTTTLIFNode, **kw).eval(), tensor_param="tau",
        multi_step_only=True,
    ),
    NeuronCase(
        "ilif", fnsnn.ilif_step, fnsnn.ilif_multi_step, dict(tau=4.0 / 3.0),
        shell=lambda **kw: nn_neuron.ILIFNode(**kw),
        sj=lambda **kw: _sj()[0].ILIFNode(**kw), tensor_param="tau", input_scale=2.5, input_shift=1.0,
    ),
    NeuronCase(
        "half_threshold_if", fnsnn.half_threshold_if_step, fnsnn.half_threshold_if_multi_step,
        dict(v_threshold=0.8),
        shell=lambda **kw: nn_neuron.HalfThresholdIFNode(0.8, **kw),
        sj=lambda **kw: _sj()[0].HalfThresholdIFNode(0.8, **kw), tensor_param="v_threshold",
    ),
]

# SpikingJelly 2.0.0 additions (issue 17).
CASES += [
    NeuronCase(
        "activation_aware_if_soft", fnsnn.activation_aware_if_step, fnsnn.activation_aware_if_multi_step,
        dict(v_threshold=0.8, v_offset=0.1),
        shell=lambda **kw: nn_neuron.ActivationAwareIFNode(0.8, 0.1, **kw),
        sj=lambda **kw: _sj()[0].ActivationAwareIFNode(0.8, 0.1, **kw), tensor_param="v_offset",
        sj_v_seq_single_step=False,
    ),
    NeuronCase(
        "activation_aware_if_hard", fnsnn.activation_aware_if_step, fnsnn.activation_aware_if_multi_step,
        dict(v_threshold=1.2, v_offset=-0.2, v_reset=0.1),
        shell=lambda **kw: nn_neuron.ActivationAwareIFNode(1.2, -0.2, v_reset=0.1, **kw),
        sj=lambda **kw: _sj()[0].ActivationAwareIFNode(1.2, -0.2, v_reset=0.1, **kw),
        tensor_param="v_threshold", sj_v_seq_single_step=False,
    ),
    NeuronCase(
        "activation_aware_if_soft_detach", fnsnn.activation_aware_if_step, fnsnn.activation_aware_if_multi_step,
        dict(v_threshold=0.9, v_offset=0.3, detach_reset=True),
        shell=lambda **kw: nn_neuron.ActivationAwareIFNode(0.9, 0.3, detach_reset=True, **kw),
        sj=lambda **kw: _sj()[0].ActivationAwareIFNode(0.9, 0.3, detach_reset=True, **kw),
        tensor_param="v_threshold", sj_v_seq_single_step=False,
    ),
]

# MPBN LIF without its batch norm (mpbn=False): the batch-norm modes need [N, C, *] steps and batch statistics,
# which the suite's 1-D and per-sample checks do not give; they are tested in tests/fnsnn_nn/test_neuron_sj2.py.
CASES += [
    NeuronCase(
        "mpbn_lif_plain", fnsnn.mpbn_lif_step, fnsnn.mpbn_lif_multi_step, dict(tau=2.0, bn=False),
        shell=lambda **kw: nn_neuron.MPBNLIFNode(mpbn=False, out_features=5, **kw),
        sj=lambda **kw: _sj()[0].MPBNLIFNode(mpbn=False, out_features=5, **kw), tensor_param="tau",
        generated=False,
    ),
    NeuronCase(
        "mpbn_lif_plain_soft_decay", fnsnn.mpbn_lif_step, fnsnn.mpbn_lif_multi_step,
        dict(tau=3.0, decay_input=True, v_reset=None, bn=False, v_threshold=0.8),
        shell=lambda **kw: nn_neuron.MPBNLIFNode(3.0, True, 0.8, None, mpbn=False, out_features=5, **kw),
        sj=lambda **kw: _sj()[0].MPBNLIFNode(3.0, True, 0.8, None, mpbn=False, out_features=5, **kw),
        tensor_param="v_threshold", generated=False,
    ),
]

# -- parameter validation: the documented range of each numeric parameter --------------------------
# Bounds use the keywords of fnsnn._checks.check_param (gt, ge, lt, le); a numeric parameter not listed
# here only needs to be finite. Keyed by the core function's name, and by shell class for the shells.

_GT1, _GT0, _UNIT = dict(gt=1.0), dict(gt=0.0), dict(ge=0.0, le=1.0)

PARAM_BOUNDS = {
    "lif_multi_step": dict(tau=_GT1),
    "qif_multi_step": dict(tau=_GT1, a0=_GT0),
    "eif_multi_step": dict(tau=_GT1, delta_T=_GT0),
    "izhikevich_multi_step": dict(tau=_GT1, a0=_GT0, tau_w=_GT0),
    "klif_multi_step": dict(k=_GT0, tau=_GT1),
    "liaf_multi_step": dict(tau=_GT1),
    "cuba_lif_multi_step": dict(c_decay=_UNIT, v_decay=_UNIT),
    "clif_multi_step": dict(tau=_GT1),
    "simple_lif_multi_step": dict(tau=_GT0),
    "ternary_if_multi_step": dict(v_threshold=_GT0),
    "ternary_lif_multi_step": dict(tau=_GT1, v_threshold=_GT0),
    "raf_multi_step": dict(b=dict(lt=0.0), omega=_GT0, dt=_GT0),
    "adapt_multi_step": dict(tau_w=_GT0),
    "sltt_lif_multi_step": dict(tau=_GT1),
    "ottt_lif_multi_step": dict(tau=_GT1),
    "ilif_multi_step": dict(tau=_GT1, v_threshold=_GT0),
    "half_threshold_if_multi_step": dict(v_threshold=_GT0),
    "mpbn_lif_multi_step": dict(tau=_GT1, momentum=_UNIT, eps=_GT0, fold_momentum=_UNIT, decay_momentum=_UNIT,
                                min_momentum=_UNIT),
}

_GATE = dict(gt=0.0, lt=1.0)
SHELL_BOUNDS_OVERRIDE = {
    "ParametricLIFNode": dict(init_tau=_GT1),
    "GatedLIFNode": dict(init_tau=_GATE, init_v_threshold=_GATE, init_conduct=_GATE),
}

# Positional arguments a shell cannot be built without.
SHELL_REQUIRED = {
    "LIAFNode": lambda: dict(act=__import__("torch").relu, threshold_related=True),
    "GatedLIFNode": lambda: dict(T=6),
    "SimpleLIFNode": lambda: dict(tau=2.0, decay_input=True),
    "MPBNLIFNode": lambda: dict(out_features=5),
}


def core_numeric_params(case) -> Dict[str, float]:
    """The numeric keywords of ``case.multi_step`` with the valid value the case uses (or the default)."""
    import inspect

    out = {}
    for name, p in inspect.signature(case.multi_step).parameters.items():
        if p.kind == p.KEYWORD_ONLY and isinstance(p.default, float):
            out[name] = p.default
    for name, value in case.config.items():
        if isinstance(value, float):
            out[name] = value
    return out


def core_bounds(case) -> Dict[str, Dict[str, float]]:
    return PARAM_BOUNDS.get(case.multi_step.__name__, {})


def shell_class(case):
    return type(case.shell(step_mode="m"))


def shell_numeric_params(cls) -> Dict[str, float]:
    """Constructor keywords of shell ``cls`` that take a number, with their defaults.

    A constructor forwarding ``**kwargs`` also takes its base class's numeric keywords.
    """
    import inspect

    out = {name: value for name, value in SHELL_REQUIRED.get(cls.__name__, lambda: {})().items()
           if isinstance(value, float)}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters
        for name, p in params.items():
            if isinstance(p.default, float) and not isinstance(p.default, bool):
                out.setdefault(name, p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    return out


def shell_bounds(case) -> Dict[str, Dict[str, float]]:
    cls = shell_class(case)
    bounds = {name: b for name, b in core_bounds(case).items() if name in shell_numeric_params(cls)}
    bounds.update(SHELL_BOUNDS_OVERRIDE.get(cls.__name__, {}))
    return bounds


def build_shell(case, **kw):
    cls = shell_class(case)
    return cls(**{**SHELL_REQUIRED.get(cls.__name__, lambda: {})(), **kw})
