"""Membrane-potential batch normalisation (MPBN): a charge, a batch norm of the potential, then fire.

For one time step ``X`` of shape ``[N, C, *]`` (channels on dim 1):

``H = charge(X, V)`` (LIF for :func:`mpbn_lif_step`: ``V + (X - (V - V_reset)) / tau`` or without input decay);
with ``bn=True``: ``H = BN(H)``, a batch norm over every dim but 1 with ``weight``/``bias``; in training it uses the
batch statistics and moves ``mean``/``var`` (the running statistics) by ``momentum`` towards the batch mean and
unbiased variance; in evaluation it uses ``mean``/``var``.

The threshold ``θ`` is ``v_threshold``; ``exp(a)`` when a learnable log-threshold ``a`` is given; with ``fold=True``
(after the batch norm was folded into the threshold) ``θ = (v_threshold - beta) sqrt(var + eps) / gamma + mean``,
where in training ``mean``/``var`` first become the batch statistics of ``H`` (``running_stats=False``) or move
towards them by ``momentum`` (``running_stats=True``, after which ``momentum = max(momentum * decay_momentum,
min_momentum)``); a batch of one 2-D sample keeps them. ``S = Θ(H - θ)``. With ``normalize_residual`` the
sub-threshold potentials become ``(H - mean) / sqrt(var + eps) gamma + beta``. Then the hard (``v_reset``) or soft
(``None``, subtracting ``v_threshold``) reset of :func:`fnsnn.if_step`.

State ``MPBNState(v, mean, var, momentum)``: ``v`` like the input, ``mean``/``var`` ``[C]``, ``momentum`` ``[1]``
(the fold momentum; ``mean``/``var`` are the running statistics with ``bn=True``, the folded ones with ``fold=True``,
and unused otherwise). The batch statistics couple the samples of a batch, so no per-element scan can run this
family. With the LIF charge in training (or with ``bn=False``), ``backend='auto'`` (or ``'cpu'``) runs the whole
sequence as one autograd node: the reference's charge and batch statistics, ATen's batch-norm kernel and the
generated C scan of fire and reset, with the same bits as the reference loop; every other configuration, and every
torch.func transform, runs the reference loop (the graph-free scan refuses the family).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch
import torch.nn.functional as F

from .._checks import check_bool, check_callable, check_param, check_tensor
from ..kernels import cpu as _cpu
from ..scan import _scan
from . import _engine
from ._base import NeuronFamily, check_firing, full_like, reset, run_multi_step, run_step
from .activation_aware import lay_per_channel
from .lif import _lif_charge

Number = Union[float, torch.Tensor]


class MPBNState(NamedTuple):
    v: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor
    momentum: torch.Tensor


def _channels(like: torch.Tensor) -> int:
    return like.shape[1] if like.dim() > 1 else 1


def _rest(like, cfg):
    v_reset = cfg["v_reset"]
    c = _channels(like)
    return MPBNState(full_like(like, 0.0 if v_reset is None else v_reset), like.new_zeros(c), like.new_ones(c),
                     like.new_full((1,), float(cfg["fold_momentum"])))


def _shapes(like, cfg):
    c = _channels(like)
    return dict(mean=(c,), var=(c,), momentum=(1,))


def _feature(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A ``[C]`` statistic viewed along dim 1 of ``like``."""
    return t.view(t.shape[0], *([1] * (like.dim() - 2))) if like.dim() > 1 else t


def _flat(p):
    return p.reshape(-1) if isinstance(p, torch.Tensor) else p


def _batch_stats(h, dims):
    """Mean and unbiased variance over ``dims``, in two passes: as accurate as ``Tensor.var`` and several
    times faster on CPU for a reduction across the batch."""
    mean = h.mean(dims)
    count = h.numel() // mean.numel()
    centred = h - mean.view(-1, *([1] * (h.dim() - 2))) if h.dim() > 1 else h - mean
    return mean, centred.square().sum(dims) / max(count - 1, 0)


def _update(x, state, cfg):
    v, mean, var, momentum = state
    if cfg["charge"] is None:
        h = _lif_charge(x, v, cfg["tau"], cfg["decay_input"], cfg["v_reset"])
    else:
        h = cfg["charge"](x, v)
    dims = [d for d in range(h.dim()) if d != 1]
    training, eps = cfg["training"], cfg["eps"]
    if cfg["bn"]:
        weight, bias = _flat(cfg["weight"]), _flat(cfg["bias"])
        if training:
            m = cfg["momentum"]
            batch_mean, batch_var = _batch_stats(h.detach(), dims)
            h = F.batch_norm(h, None, None, weight, bias, True, 0.0, eps)
            mean, var = (1 - m) * mean + m * batch_mean, (1 - m) * var + m * batch_var
        else:
            h = F.batch_norm(h, mean.detach(), var.detach(), weight, bias, False, 0.0, eps)
    if cfg["fold"] and training and not (h.dim() == 2 and h.shape[0] == 1):
        batch_mean, batch_var = _batch_stats(h.detach(), dims)
        if cfg["running_stats"]:
            mean = mean.detach() * (1 - momentum) + batch_mean * momentum
            var = var.detach() * (1 - momentum) + batch_var * momentum
            momentum = torch.clamp(momentum * cfg["decay_momentum"], min=cfg["min_momentum"])
        else:
            mean, var = batch_mean, batch_var
    if cfg["fold"]:
        threshold = (cfg["v_threshold"] - cfg["beta"]) * _feature(torch.sqrt(var + eps), h) / cfg["gamma"] \
            + _feature(mean, h)
    elif cfg["a"] is not None:
        threshold = torch.exp(cfg["a"])
    else:
        threshold = cfg["v_threshold"]
    diff = h - threshold
    spike = cfg["surrogate_function"](diff)
    if cfg["normalize_residual"]:
        normalized = (h - _feature(mean, h)) / _feature(torch.sqrt(var + eps), h) * cfg["gamma"] + cfg["beta"]
        h = torch.where(diff <= 0, normalized, h)
    return spike, MPBNState(reset(h, spike, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"]), mean, var,
                            momentum)


# --------------------------------------------------------------------------- #
# the fused scan: the LIF charge, the batch norm in training (or none) and the generated C scan of the
# fire-and-reset part, one step at a time, as one autograd node with a hand-derived backward
# --------------------------------------------------------------------------- #


class _FireState(NamedTuple):
    v: torch.Tensor


def _fire_update(hn, state, cfg):
    spike = cfg["surrogate_function"](hn - cfg["v_threshold"])
    return spike, _FireState(reset(hn, spike, cfg["v_threshold"], cfg["v_reset"], cfg["detach_reset"]))


# fire and reset of the normalised potential: an elementwise step (its "state" input is unused)
_FIRE = NeuronFamily("mpbn_fire", _FireState, lambda like, cfg: _FireState(torch.zeros_like(like)), _fire_update)


class _FireKernels:
    """The C scan of :data:`_FIRE` for one configuration, called on one time step's ``[M]`` vectors."""

    def __init__(self, cfg, like: torch.Tensor):
        self.ok = False
        if not like.is_cpu or like.dtype not in _cpu.DTYPES:
            return
        fire_cfg = {k: cfg[k] for k in ("v_threshold", "v_reset", "detach_reset", "surrogate_function")}
        plan, values = _engine.make_plan(_FIRE, fire_cfg, like.dtype)
        program = _engine.program_of(plan)
        if isinstance(program, str) or not program.exact:  # the spikes must equal the reference's bits
            return
        if _engine.unsupported("cpu", plan, values, like.unsqueeze(0)) is not None:
            return
        self.fwd = _engine._cpu_function(program, plan, "fwd")
        self.bwd = _engine._cpu_function(program, plan, "bwd")
        if self.fwd is None or self.bwd is None:
            return
        self.M = like.numel()
        values = _engine._as_tensors(values, like)
        with torch.no_grad():
            d = _engine._flat_values(_engine._as_compute(program.forward_prelude(*values), like.dtype),
                                     like.shape, self.M)
            e = _engine._flat_values(_engine._as_compute(program.backward_prelude(*values), like.dtype),
                                     like.shape, self.M)
        self.keep = (d, e)  # the pointers below point into these
        self.d, self.e = _cpu.param_args(d), _cpu.param_args(e)
        self.null_p = [_cpu.ptr(None)] * program.n_params
        self.head = [_cpu.ctypes.c_int64(1), _cpu.ctypes.c_int64(self.M)]
        self.ok = True

    def fire(self, hn: torch.Tensor, spike_out: torch.Tensor, v_out: torch.Tensor) -> None:
        P = _cpu.ptr
        _cpu.run_split(self.fwd, self.M, self.head,
                       [P(hn), P(hn), *self.d, P(spike_out), P(None), P(v_out), P(None)])

    def vjp(self, hn, g_spike, g_v, g_hn_out) -> None:
        """``g_v`` ``None``: no gradient reaches the step's ``v`` (the kernel reads zeros)."""
        P = _cpu.ptr
        _cpu.run_split(self.bwd, self.M, self.head,
                       [P(hn), P(hn), P(None), *self.d, *self.e, P(g_spike), P(None), P(g_v), P(g_hn_out),
                        P(None), *self.null_p])


def _dense(t: torch.Tensor) -> torch.Tensor:
    """``t`` if its elements fill its memory in some order (contiguous, channels-last, ...), else a copy that does."""
    return t if t.is_contiguous() or torch.empty_like(t).stride() == t.stride() else t.contiguous()


def _like(t: torch.Tensor, layout: torch.Tensor) -> torch.Tensor:
    """``t`` laid out in memory as ``layout`` is."""
    return t if t.stride() == layout.stride() else torch.empty_like(layout).copy_(t)


def _fused_applies(x_seq, state, cfg) -> bool:
    if cfg["charge"] is not None or cfg["fold"] or cfg["normalize_residual"] or cfg["a"] is not None:
        return False
    if cfg["bn"] and not cfg["training"]:
        return False  # a batch norm with fixed statistics: the reference loop serves it
    if any(not isinstance(cfg[k], (int, float)) for k in ("tau", "v_threshold", "momentum", "eps")):
        return False
    if cfg["v_reset"] is not None and not isinstance(cfg["v_reset"], (int, float)):
        return False
    if x_seq.dim() < 3 or not x_seq.is_cpu or torch.compiler.is_compiling():
        return False
    if cfg["bn"] and x_seq[0].numel() == x_seq.shape[2]:
        return False  # one value per channel: the reference's batch norm says why it cannot train on that
    tensors = [x_seq, *state, cfg["weight"], cfg["bias"]]
    if not all(_engine._plain(t) for t in tensors) or _engine.forward_ad_active(tensors):
        return False
    return not any(t.requires_grad for t in state[1:])  # the statistics are data, not trained through


def _fused(x_seq, state, cfg, return_v_seq):
    """The whole sequence as one autograd node (``None`` where it does not apply)."""
    if not _fused_applies(x_seq, state, cfg):
        return None
    kernels = _FireKernels(cfg, x_seq[0])
    if not kernels.ok:
        return None
    weight, bias = _flat(cfg["weight"]), _flat(cfg["bias"])
    weight = weight if isinstance(weight, torch.Tensor) else None
    bias = bias if isinstance(bias, torch.Tensor) else None
    keep = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x_seq, state.v, weight, bias))
    out = _FusedMPBN.apply(cfg, kernels, return_v_seq, keep, x_seq, state.v, state.mean, state.var, weight, bias)
    y, v_seq, v, mean, var = out
    final = MPBNState(v, mean, var, state.momentum)
    return (y, final, v_seq) if return_v_seq else (y, final)


def _reference(cfg, x_seq, v, mean, var, weight, bias):
    """The reference loop on the given tensors (for a backward that is differentiated again)."""
    cfg = dict(cfg, weight=weight if weight is not None else cfg["weight"],
               bias=bias if bias is not None else cfg["bias"])
    y_seq, final, states = _scan(_update, x_seq, MPBNState(v, mean, var, mean.new_zeros(1)), collect_states=True,
                                 cfg=cfg)
    return y_seq, states.v, final.v


class _FusedMPBN(torch.autograd.Function):
    """``(cfg, kernels, return_v_seq, keep_steps, x_seq, v, mean, var, weight, bias) -> (y_seq, v_seq or [0], v, mean,
    var)``; ``keep_steps`` when a backward may follow.

    Per step the charge and the batch statistics run the reference's torch operations and the batch norm
    ATen's own kernel (the same bits); the fire and reset run the generated C scan (exact operations, so
    the same bits again). Each step's potential before and after the batch norm and its statistics are
    kept for the backward.
    """

    @staticmethod
    def forward(ctx, cfg, kernels, return_v_seq, keep_steps, x_seq, v, mean, var, weight, bias):
        ctx.inputs = (x_seq, v, mean, var, weight, bias)  # for a backward that is differentiated again
        m, eps = cfg["momentum"], cfg["eps"]
        y = _cpu.empty(x_seq.shape, x_seq)
        v_seq = _cpu.empty(x_seq.shape, x_seq) if return_v_seq else x_seq.new_empty(0)
        steps = []
        for t, x in enumerate(x_seq.unbind(0)):
            h = _lif_charge(x, v, cfg["tau"], cfg["decay_input"], cfg["v_reset"])
            if cfg["bn"]:  # the batch norm of _update, keeping the statistics the backward reads
                dims = [d for d in range(h.dim()) if d != 1]
                batch_mean, batch_var = _batch_stats(h, dims)
                hn, save_mean, save_invstd = torch.native_batch_norm(h, weight, bias, None, None, True, 0.0, eps)
                mean, var = (1 - m) * mean + m * batch_mean, (1 - m) * var + m * batch_var
            else:
                hn, save_mean, save_invstd = h, None, None
            # the C scan runs over memory in order; v keeps the layout the reference's v would have (a
            # batch norm's bits depend on its input's layout)
            hn = _dense(hn)
            v = torch.empty_like(hn)
            spike = y[t] if hn.is_contiguous() else torch.empty_like(hn)
            kernels.fire(hn, spike, v)
            if spike is not y[t]:
                y[t] = spike
            if return_v_seq:
                v_seq[t] = v
            if keep_steps:
                steps.append((h, hn, save_mean, save_invstd))
        if not cfg["bn"]:  # the statistics pass through: new tensors, as autograd wants of a node's outputs
            mean, var = mean.clone(), var.clone()
        ctx.cfg, ctx.kernels, ctx.steps = cfg, kernels, steps
        ctx.save_for_backward(weight, bias)
        ctx.mark_non_differentiable(mean, var)
        ctx.set_materialize_grads(False)
        return y, v_seq, v, mean, var

    @staticmethod
    def backward(ctx, gy, gv_seq, gv, _gmean, _gvar):
        weight, bias = ctx.saved_tensors
        if gv_seq is not None and gv_seq.numel() == 0:
            gv_seq = None
        needs = ctx.needs_input_grad
        if torch.is_grad_enabled():  # differentiated again: the reference loop's own graph
            x_seq, v0, mean0, var0, weight, bias = ctx.inputs
            inputs = [(i, t) for i, t in ((4, x_seq), (5, v0), (8, weight), (9, bias)) if t is not None and needs[i]]
            outs = _reference(ctx.cfg, x_seq, v0, mean0, var0, weight, bias)
            pairs = [(o, g) for o, g in zip(outs, (gy, gv_seq, gv)) if g is not None]
            got = torch.autograd.grad([o for o, _ in pairs], [t for _, t in inputs], [g for _, g in pairs],
                                      allow_unused=True, create_graph=True)
            grads = [None] * 10
            for (i, _), g in zip(inputs, got):
                grads[i] = g
            return tuple(grads)
        with torch.no_grad():
            gx, gv0, gw, gb = _fused_backward(ctx.cfg, ctx.kernels, ctx.steps, weight, bias, gy, gv_seq, gv,
                                              needs[8], needs[9])
        return None, None, None, None, gx if needs[4] else None, gv0 if needs[5] else None, None, None, gw, gb


def _fused_backward(cfg, kernels, steps, weight, bias, gy, gv_seq, gv, need_w, need_b):
    """Gradients of ``x_seq``, the initial ``v``, ``weight`` and ``bias``, step by step backwards: the C scan's
    vjp of fire and reset gives the normalised potential's gradient, ATen's batch-norm backward (batch
    statistics) the charged potential's, and the LIF charge passes it to the input and the previous ``v``."""
    T = len(steps)
    tau, eps = cfg["tau"], cfg["eps"]
    h0 = steps[0][0]
    gx = h0.new_empty((T, *h0.shape))
    gw = torch.zeros_like(weight) if need_w else None
    gb = torch.zeros_like(bias) if need_b else None
    mask = [True, need_w, need_b]
    zeros = torch.zeros_like(steps[0][1])
    carry = gv
    keep = 1.0 - 1.0 / tau
    for t in range(T - 1, -1, -1):
        h, hn, save_mean, save_invstd = steps[t]
        g_v = carry
        if gv_seq is not None:
            g_v = gv_seq[t] if g_v is None else g_v + gv_seq[t]
        g_hn = torch.empty_like(hn)
        kernels.vjp(hn, _like(gy[t], hn) if gy is not None else zeros, _like(g_v, hn) if g_v is not None else None,
                    g_hn)
        if cfg["bn"]:
            g_h, g_w, g_b = torch.ops.aten.native_batch_norm_backward.default(
                g_hn, h, weight, None, None, save_mean, save_invstd, True, eps, mask)
            if need_w:
                gw += g_w
            if need_b:
                gb += g_b
        else:
            g_h = g_hn
        if cfg["decay_input"]:
            torch.div(g_h, tau, out=gx[t])
        else:
            gx[t] = g_h
        carry = g_h * keep
    return gx, carry, gw, gb


MPBN = NeuronFamily("mpbn", MPBNState, _rest, _update, state_shapes=_shapes, batch_coupled=True,
                    fused=_fused)


def _config(fn, like, charge, tau, decay_input, bn, weight, bias, momentum, eps, fold, gamma, beta, running_stats,
            fold_momentum, decay_momentum, min_momentum, normalize_residual, a, training, v_threshold, v_reset,
            detach_reset, surrogate_function):
    if charge is not None:
        check_callable(fn, "charge", charge)
    else:
        check_param(fn, "tau", tau, gt=1.0)
    for name, value in (("decay_input", decay_input), ("bn", bn), ("fold", fold), ("running_stats", running_stats),
                        ("normalize_residual", normalize_residual), ("training", training)):
        check_bool(fn, name, value)
    check_param(fn, "momentum", momentum, ge=0.0, le=1.0)
    check_param(fn, "eps", eps, gt=0.0)
    check_param(fn, "fold_momentum", fold_momentum, ge=0.0, le=1.0)
    check_param(fn, "decay_momentum", decay_momentum, ge=0.0, le=1.0)
    check_param(fn, "min_momentum", min_momentum, ge=0.0, le=1.0)
    for name, value in (("weight", weight), ("bias", bias), ("gamma", gamma), ("beta", beta), ("a", a)):
        check_param(fn, name, value, allow_none=True)
    if (fold or normalize_residual) and (gamma is None or beta is None):
        raise ValueError(f"{fn}: fold=True and normalize_residual=True need the folded batch norm's `gamma` and "
                         f"`beta`, got gamma={gamma!r}, beta={beta!r}.")
    if bn and fold:
        raise ValueError(f"{fn}: `bn` and `fold` exclude each other (folding replaces the batch norm by the "
                         f"threshold); got both True.")
    cfg = dict(charge=charge, tau=tau, decay_input=decay_input, bn=bn, weight=weight, bias=bias, momentum=momentum,
               eps=eps, fold=fold, gamma=gamma, beta=beta, running_stats=running_stats, fold_momentum=fold_momentum,
               decay_momentum=decay_momentum, min_momentum=min_momentum, normalize_residual=normalize_residual,
               a=a, training=training,
               **check_firing(fn, v_threshold, v_reset, detach_reset, surrogate_function))
    if isinstance(like, torch.Tensor):
        # v_threshold runs per channel only in the folded threshold; otherwise it broadcasts as in fnsnn.if_step
        for name in ("weight", "bias", "gamma", "beta", "a") + (("v_threshold",) if fold else ()):
            cfg[name] = lay_per_channel(fn, name, cfg[name], 1, like) if like.dim() > 1 else cfg[name]
    return cfg


_DOC_ARGS = """
    Args:
        x: input of one time step, ``[N, C, *]`` (``[N, C]`` after a linear layer, ``[N, C, H, W]`` after a conv).
        state: ``MPBNState(v, mean, var, momentum)``; ``None`` is the rest state (``v = v_reset``, ``mean = 0``,
            ``var = 1``, ``momentum = fold_momentum``).
        bn: normalise the charged potential; ``weight``/``bias`` (``[C]`` or ``None``), ``momentum`` (in [0, 1])
            and ``eps`` as for ``torch.nn.functional.batch_norm``.
        fold: fire against the folded threshold with ``gamma``/``beta`` (``[C]``); ``running_stats``,
            ``decay_momentum`` and ``min_momentum`` drive the training-time update of ``mean``/``var``.
        normalize_residual: normalise the sub-threshold potentials (needs ``gamma``/``beta``).
        a: learnable log-threshold ``[C]`` (fires against ``exp(a)``), or ``None``.
        training: use batch statistics and update them (the module's ``training`` flag).
        v_threshold, v_reset, detach_reset, surrogate_function: as :func:`fnsnn.if_step`; the reset subtracts
            ``v_threshold`` whichever threshold fired.

    Returns:
        ``(spike, MPBNState)``.
"""


def mpbn_init_state(x: torch.Tensor, *, v_reset: Optional[Number] = 0.0, fold_momentum: float = 0.1) -> MPBNState:
    """Rest state for one time step's input ``x``: ``v = v_reset`` (0 for soft reset), ``mean = 0``, ``var = 1``."""
    check_tensor("mpbn_init_state", "x", x)
    return _rest(x, dict(v_reset=v_reset, fold_momentum=fold_momentum))


def mpbn_step(x: torch.Tensor, state: Optional[MPBNState] = None, *, charge: Callable, bn: bool = True,
              weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None, momentum: float = 0.1,
              eps: float = 1e-5, fold: bool = False, gamma: Optional[torch.Tensor] = None,
              beta: Optional[torch.Tensor] = None, running_stats: bool = False, fold_momentum: float = 0.1,
              decay_momentum: float = 0.94, min_momentum: float = 0.005, normalize_residual: bool = False,
              a: Optional[torch.Tensor] = None, training: bool = True, v_threshold: Number = 1.0,
              v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
              surrogate_function: Optional[Callable] = None):
    """One MPBN step with a user charge ``charge(x, v) -> h`` (equations in the module docstring)."""
    fn = "mpbn_step"
    cfg = _config(fn, x, charge, None, False, bn, weight, bias, momentum, eps, fold, gamma, beta, running_stats,
                  fold_momentum, decay_momentum, min_momentum, normalize_residual, a, training, v_threshold, v_reset,
                  detach_reset, surrogate_function)
    return run_step(fn, MPBN, x, state, cfg)


def mpbn_multi_step(x_seq: torch.Tensor, state: Optional[MPBNState] = None, *, charge: Callable, bn: bool = True,
                    weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None,
                    momentum: float = 0.1, eps: float = 1e-5, fold: bool = False,
                    gamma: Optional[torch.Tensor] = None, beta: Optional[torch.Tensor] = None,
                    running_stats: bool = False, fold_momentum: float = 0.1, decay_momentum: float = 0.94,
                    min_momentum: float = 0.005, normalize_residual: bool = False,
                    a: Optional[torch.Tensor] = None, training: bool = True, v_threshold: Number = 1.0,
                    v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                    surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                    backend: str = "auto"):
    """:func:`mpbn_step` scanned over ``x_seq`` ``[T, N, C, *]``; returns as :func:`fnsnn.if_multi_step`."""
    fn = "mpbn_multi_step"
    like = _first(x_seq)
    cfg = _config(fn, like, charge, None, False, bn, weight, bias, momentum, eps, fold, gamma, beta, running_stats,
                  fold_momentum, decay_momentum, min_momentum, normalize_residual, a, training, v_threshold, v_reset,
                  detach_reset, surrogate_function)
    return run_multi_step(fn, MPBN, x_seq, state, cfg, return_v_seq, backend)


def _first(x_seq):
    return x_seq[0] if isinstance(x_seq, torch.Tensor) and x_seq.dim() > 0 and x_seq.shape[0] > 0 else None


def mpbn_lif_step(x: torch.Tensor, state: Optional[MPBNState] = None, *, tau: Number = 2.0,
                  decay_input: bool = False, bn: bool = True, weight: Optional[torch.Tensor] = None,
                  bias: Optional[torch.Tensor] = None, momentum: float = 0.1, eps: float = 1e-5, fold: bool = False,
                  gamma: Optional[torch.Tensor] = None, beta: Optional[torch.Tensor] = None,
                  running_stats: bool = False, fold_momentum: float = 0.1, decay_momentum: float = 0.94,
                  min_momentum: float = 0.005, normalize_residual: bool = False, a: Optional[torch.Tensor] = None,
                  training: bool = True, v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0,
                  detach_reset: bool = False, surrogate_function: Optional[Callable] = None):
    """One step of the MPBN LIF neuron: the LIF charge of :func:`fnsnn.lif_step` (``tau > 1``, ``decay_input``)
    followed by the batch norm, threshold and reset of the module docstring."""
    fn = "mpbn_lif_step"
    cfg = _config(fn, x, None, tau, decay_input, bn, weight, bias, momentum, eps, fold, gamma, beta, running_stats,
                  fold_momentum, decay_momentum, min_momentum, normalize_residual, a, training, v_threshold, v_reset,
                  detach_reset, surrogate_function)
    return run_step(fn, MPBN, x, state, cfg)


def mpbn_lif_multi_step(x_seq: torch.Tensor, state: Optional[MPBNState] = None, *, tau: Number = 2.0,
                        decay_input: bool = False, bn: bool = True, weight: Optional[torch.Tensor] = None,
                        bias: Optional[torch.Tensor] = None, momentum: float = 0.1, eps: float = 1e-5,
                        fold: bool = False, gamma: Optional[torch.Tensor] = None,
                        beta: Optional[torch.Tensor] = None, running_stats: bool = False,
                        fold_momentum: float = 0.1, decay_momentum: float = 0.94, min_momentum: float = 0.005,
                        normalize_residual: bool = False, a: Optional[torch.Tensor] = None, training: bool = True,
                        v_threshold: Number = 1.0, v_reset: Optional[Number] = 0.0, detach_reset: bool = False,
                        surrogate_function: Optional[Callable] = None, return_v_seq: bool = False,
                        backend: str = "auto"):
    """:func:`mpbn_lif_step` scanned over ``x_seq`` ``[T, N, C, *]``; returns as :func:`fnsnn.if_multi_step`."""
    fn = "mpbn_lif_multi_step"
    cfg = _config(fn, _first(x_seq), None, tau, decay_input, bn, weight, bias, momentum, eps, fold, gamma, beta,
                  running_stats, fold_momentum, decay_momentum, min_momentum, normalize_residual, a, training,
                  v_threshold, v_reset, detach_reset, surrogate_function)
    return run_multi_step(fn, MPBN, x_seq, state, cfg, return_v_seq, backend)


mpbn_step.__doc__ += _DOC_ARGS
mpbn_lif_step.__doc__ += _DOC_ARGS
