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
        shell=lambda **kw: _with_w(nn_neuron.ParametricLIFNode(**kw), 0.3),
        sj=lambda **kw: _with_w(_sj()[0].ParametricLIFNode(**kw), 0.3), tensor_param="w",
        extra_shell_params=("w",),
    ),
]


def _with_w(module, w):
    import torch

    with torch.no_grad():
        module.w.fill_(w)
    return module
