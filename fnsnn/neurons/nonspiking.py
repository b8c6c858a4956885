"""Non-spiking integrators whose output is the membrane potential itself.

IF:   ``V = V + X``;   LIF:  ``V = V + (X - V) / tau``; the output of a step is ``V``.

Over a sequence the potentials ``V[0..T-1]`` can be decoded into one tensor:
``"max-mem"`` (maximum over time), ``"max-abs-mem"`` (the maximum or the minimum,
whichever is larger in magnitude; a tie picks the minimum), ``"mean-mem"`` (mean over
time) or ``"last_mem"`` (the last potential); ``decode=None`` keeps ``[T, N, *]``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch

from .._checks import check_choice, check_param, check_tensor
from ._base import NeuronFamily, run_multi_step, run_step

Number = Union[float, torch.Tensor]

DECODES = (None, "max-mem", "max-abs-mem", "mean-mem", "last_mem")


class NonSpikingIFState(NamedTuple):
    v: torch.Tensor


class NonSpikingLIFState(NamedTuple):
    v: torch.Tensor


def _if_update(x, state, cfg):
    v = state.v + x
    return v, NonSpikingIFState(v)


def _lif_update(x, state, cfg):
    v = state.v + (x - state.v) / cfg["tau"]
    return v, NonSpikingLIFState(v)


NONSPIKING_IF = NeuronFamily("nonspiking_if", NonSpikingIFState,
                             lambda like, cfg: NonSpikingIFState(torch.zeros_like(like)), _if_update)
NONSPIKING_LIF = NeuronFamily("nonspiking_lif", NonSpikingLIFState,
                              lambda like, cfg: NonSpikingLIFState(torch.zeros_like(like)), _lif_update)


def decode_potentials(v_seq: torch.Tensor, decode: Optional[str]) -> torch.Tensor:
    """Reduce a potential sequence ``[T, N, *]`` over time as ``decode`` says (see the module docstring)."""
    check_tensor("decode_potentials", "v_seq", v_seq)
    _decode_config("decode_potentials", decode)
    if decode is None:
        return v_seq
    if decode == "max-mem":
        return torch.max(v_seq, 0).values
    if decode == "max-abs-mem":
        high, low = torch.max(v_seq, 0).values, torch.min(v_seq, 0).values
        return torch.where(high.abs() > low.abs(), high, low)
    if decode == "mean-mem":
        return torch.mean(v_seq, 0)
    return v_seq[-1]


def _tau_config(fn, tau):
    check_param(fn, "tau", tau, gt=1.0)
    return dict(tau=tau)


def _decode_config(fn, decode):
    if decode is not None and not isinstance(decode, str):
        raise TypeError(f"{fn}: `decode` must be None or one of {DECODES[1:]}, got {type(decode).__name__}.")
    return check_choice(fn, "decode", decode, DECODES)


def _run(fn, family, x_seq, state, cfg, decode, return_v_seq, backend):
    _decode_config(fn, decode)
    v_seq, final = run_multi_step(fn, family, x_seq, state, cfg, False, backend)
    y = decode_potentials(v_seq, decode)
    return (y, final, v_seq) if return_v_seq else (y, final)


def nonspiking_if_init_state(x: torch.Tensor) -> NonSpikingIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``."""
    return NONSPIKING_IF.rest(x, {})


def nonspiking_if_step(x: torch.Tensor, state: Optional[NonSpikingIFState] = None):
    """One step of the non-spiking integrator ``V = V + X``.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``NonSpikingIFState(v)`` shaped like ``x``; ``None`` is ``v = 0``.

    Returns:
        ``(v, NonSpikingIFState(v))``.
    """
    return run_step("nonspiking_if_step", NONSPIKING_IF, x, state, {})


def nonspiking_if_multi_step(x_seq: torch.Tensor, state: Optional[NonSpikingIFState] = None, *,
                             decode: Optional[str] = None, return_v_seq: bool = False, backend: str = "auto"):
    """:func:`nonspiking_if_step` over ``x_seq`` ``[T, N, *]``, then decoded over time.

    Args:
        x_seq: input ``[T, N, *]`` with ``T > 0``.
        state: initial state; ``None`` is ``v = 0``.
        decode: ``None`` (return all potentials ``[T, N, *]``), ``"max-mem"``,
            ``"max-abs-mem"``, ``"mean-mem"`` or ``"last_mem"`` (``[N, *]``).
        return_v_seq: also return the potentials ``[T, N, *]``.
        backend: ``"auto"`` or ``"torch"`` (there is no kernel for this neuron).

    Returns:
        ``(y, final_state)``, plus ``v_seq`` with ``return_v_seq=True``.
    """
    return _run("nonspiking_if_multi_step", NONSPIKING_IF, x_seq, state, {}, decode, return_v_seq, backend)


def nonspiking_lif_init_state(x: torch.Tensor) -> NonSpikingLIFState:
    """Rest state for input ``x`` of one time step: ``v = 0``."""
    return NONSPIKING_LIF.rest(x, {})


def nonspiking_lif_step(x: torch.Tensor, state: Optional[NonSpikingLIFState] = None, *, tau: Number = 2.0):
    """One step of the non-spiking leaky integrator ``V = V + (X - V) / tau``.

    Args:
        x: input of one time step, ``[N, *]``, floating point.
        state: ``NonSpikingLIFState(v)`` shaped like ``x``; ``None`` is ``v = 0``.
        tau: membrane time constant, ``> 1``; a float or a tensor.

    Returns:
        ``(v, NonSpikingLIFState(v))``.
    """
    cfg = _tau_config("nonspiking_lif_step", tau)
    return run_step("nonspiking_lif_step", NONSPIKING_LIF, x, state, cfg)


def nonspiking_lif_multi_step(x_seq: torch.Tensor, state: Optional[NonSpikingLIFState] = None, *,
                              tau: Number = 2.0, decode: Optional[str] = None, return_v_seq: bool = False,
                              backend: str = "auto"):
    """:func:`nonspiking_lif_step` over ``x_seq`` ``[T, N, *]``, then decoded as :func:`nonspiking_if_multi_step`."""
    fn = "nonspiking_lif_multi_step"
    return _run(fn, NONSPIKING_LIF, x_seq, state, _tau_config(fn, tau), decode, return_v_seq, backend)
