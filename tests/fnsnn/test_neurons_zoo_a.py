"""QIF, EIF, Izhikevich, KLIF, LIAF, CUBA-LIF, CLIF, GatedLIF and the non-spiking integrators.

The shared contract suite (tests/neuron_cases.py) covers the families that fit
its format; this file adds randomised SpikingJelly 2.0.0 parity in float32 and
float64 with several surrogates, the neurons that do not fit (CLIF parity,
GatedLIF with per-step gates, NonSpiking decode), the extra state variables and
every documented error.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import grad, jacrev, vmap

import fnsnn
import fnsnn_nn
from fnsnn_nn import neuron, surrogate
from fnsnn_nn.functional import reset_net

SURROGATES = {"Sigmoid": dict(alpha=4.0), "ATan": dict(alpha=2.0), "Rect": dict(alpha=1.0),
              "PiecewiseQuadratic": dict(alpha=1.0)}


def _sj():
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    return sj_neuron, sj_surrogate


def _forward(module, x, step_mode):
    if step_mode == "m":
        return module(x)
    return torch.stack([module(t) for t in x.unbind(0)])


def _close(a, b, dtype, exact=False):
    tol = dict(rtol=0, atol=0) if exact else (dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32
                                              else dict(rtol=1e-10, atol=1e-12))
    torch.testing.assert_close(a, b, **tol)


def _compare(ours, theirs, x, step_mode, params=(), memories=("v",), v_seq=True, exact_output=True):
    """Outputs exactly (``exact_output``; else to rounding), memories, v_seq and gradients closely.

    An analog output computed by a transcendental function (LIAF's sigmoid or tanh) agrees to rounding
    only: the generated scan evaluates it with its own exp, and torch's sigmoid itself rounds a value
    differently depending on its position in a tensor.
    """
    dtype = x.dtype
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = _forward(ours, xa, step_mode), _forward(theirs, xb, step_mode)
    _close(ya, yb, dtype, exact=exact_output)
    for name in memories:
        _close(getattr(ours, name), getattr(theirs, name), dtype)
    if v_seq:
        _close(ours.v_seq, theirs.v_seq, dtype)
    w = torch.randn(ya.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    loss_a = (ya * w).sum() + ours.v.square().sum()
    loss_b = (yb * w).sum() + theirs.v.square().sum()
    ga = torch.autograd.grad(loss_a, [xa, *[getattr(ours, p) for p in params]], allow_unused=True)
    gb = torch.autograd.grad(loss_b, [xb, *[getattr(theirs, p) for p in params]], allow_unused=True)
    for u, v in zip(ga, gb):
        _close(u, v, dtype)


def _input(T, shape, seed, dtype, scale=1.5, shift=0.5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(T, *shape, generator=g, dtype=torch.float64) * scale + shift).to(dtype)


COMMON = dict(
    sg=st.sampled_from(sorted(SURROGATES)),
    hard=st.booleans(),
    detach_reset=st.booleans(),
    step_mode=st.sampled_from(["s", "m"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    T=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)


def _kw(lib_surrogate, sg, hard, detach_reset, step_mode, v_reset_hard):
    return dict(surrogate_function=getattr(lib_surrogate, sg)(**SURROGATES[sg]),
                v_reset=v_reset_hard if hard else None, detach_reset=detach_reset, step_mode=step_mode,
                store_v_seq=True)


# -- randomised parity: spiking neurons with SpikingJelly-style constructors ------------------------------

@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), a0=st.floats(0.2, 1.5), v_c=st.floats(0.3, 0.9), **COMMON)
def test_qif_parity(tau, a0, v_c, sg, hard, detach_reset, step_mode, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    args = (sg, hard, detach_reset, step_mode, -0.1)
    ours = neuron.QIFNode(tau=tau, v_c=v_c, a0=a0, **_kw(surrogate, *args))
    theirs = sj_neuron.QIFNode(tau=tau, v_c=v_c, a0=a0, **_kw(sj_surrogate, *args))
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode)


@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), delta_T=st.floats(0.3, 2.0), theta_rh=st.floats(0.3, 0.9), **COMMON)
def test_eif_parity(tau, delta_T, theta_rh, sg, hard, detach_reset, step_mode, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    args = (sg, hard, detach_reset, step_mode, -0.1)
    ours = neuron.EIFNode(tau=tau, delta_T=delta_T, theta_rh=theta_rh, **_kw(surrogate, *args))
    theirs = sj_neuron.EIFNode(tau=tau, delta_T=delta_T, theta_rh=theta_rh, **_kw(sj_surrogate, *args))
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode)


@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), tau_w=st.floats(1.0, 4.0), a=st.floats(-0.5, 0.5), b=st.floats(0.0, 1.0),
       w_rest=st.floats(-0.2, 0.2), **COMMON)
def test_izhikevich_parity(tau, tau_w, a, b, w_rest, sg, hard, detach_reset, step_mode, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    args = (sg, hard, detach_reset, step_mode, 0.0)
    kw = dict(tau=tau, tau_w=tau_w, a=a, b=b, w_rest=w_rest)
    ours = neuron.IzhikevichNode(**kw, **_kw(surrogate, *args))
    theirs = sj_neuron.IzhikevichNode(**kw, **_kw(sj_surrogate, *args))
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode, memories=("v", "w"))


@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), k=st.floats(0.5, 2.0), scale_reset=st.booleans(), decay_input=st.booleans(),
       **COMMON)
def test_klif_parity(tau, k, scale_reset, decay_input, sg, hard, detach_reset, step_mode, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    args = (sg, hard, detach_reset, step_mode, 0.0)
    ours = neuron.KLIFNode(scale_reset, tau, decay_input, **_kw(surrogate, *args)).to(dtype)
    theirs = sj_neuron.KLIFNode(scale_reset, tau, decay_input, **_kw(sj_surrogate, *args)).to(dtype)
    with torch.no_grad():
        ours.k.fill_(k)
        theirs.k.fill_(k)
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode, params=("k",))


@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), act=st.sampled_from(["relu", "sigmoid", "tanh"]), threshold_related=st.booleans(),
       decay_input=st.booleans(), **COMMON)
def test_liaf_parity(tau, act, threshold_related, decay_input, sg, hard, detach_reset, step_mode, dtype, shape, T,
                     seed):
    sj_neuron, sj_surrogate = _sj()
    args = (sg, hard, detach_reset, step_mode, 0.0)
    fn = getattr(torch, act)
    ours = neuron.LIAFNode(fn, threshold_related, tau, decay_input, **_kw(surrogate, *args))
    theirs = sj_neuron.LIAFNode(fn, threshold_related, tau, decay_input, **_kw(sj_surrogate, *args))
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode, exact_output=act == "relu")


def test_liaf_output_is_analog_in_both_step_modes():
    # SpikingJelly 2.0.0 returns spikes from LIAFNode in 'm' mode unless store_v_seq=True; here it is analog.
    x = _input(5, (3, 4), 0, torch.float32)
    m = neuron.LIAFNode(torch.sigmoid, False, step_mode="m")
    s = neuron.LIAFNode(torch.sigmoid, False, step_mode="s")
    y = m(x)
    # the multi-step call runs the generated scan, whose sigmoid agrees with torch's to rounding
    torch.testing.assert_close(y, _forward(s, x, "s"), rtol=2e-7, atol=1e-7)
    assert ((y > 0) & (y < 1)).any()
    assert isinstance(m, neuron.LIFNode)


@pytest.mark.parity
@settings(max_examples=20)
@given(c_decay=st.floats(0.0, 1.0), v_decay=st.floats(0.0, 1.0), v_threshold=st.floats(0.3, 1.5), **COMMON)
def test_cuba_lif_parity(c_decay, v_decay, v_threshold, sg, hard, detach_reset, step_mode, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    kw_ours = _kw(surrogate, sg, hard, detach_reset, step_mode, 0.0)
    kw_sj = _kw(sj_surrogate, sg, hard, detach_reset, step_mode, 0.0)
    ours = neuron.CUBALIFNode(c_decay, v_decay, v_threshold, kw_ours.pop("v_reset"), kw_ours.pop("surrogate_function"),
                              **kw_ours)
    theirs = sj_neuron.CUBALIFNode(c_decay, v_decay, v_threshold, kw_sj.pop("v_reset"), kw_sj.pop("surrogate_function"))
    for name, value in kw_sj.items():
        setattr(theirs, name, value)
    _compare(ours, theirs, _input(T, shape, seed, dtype), step_mode, memories=("v", "c"))


def test_cuba_lif_defaults_follow_spikingjelly():
    m = neuron.CUBALIFNode()
    assert (m.c_decay, m.v_decay, m.v_threshold, m.v_reset) == (0.5, 0.75, 0.5, 0.0)
    assert isinstance(m.surrogate_function, surrogate.Rect) and m.surrogate_function.alpha == 1.0
    assert [n for n, _ in m.named_memories()] == ["v", "c"]


# -- CLIF -------------------------------------------------------------------------------------------------

@pytest.mark.parity
@settings(max_examples=20)
@given(tau=st.floats(1.5, 4.0), v_threshold=st.floats(0.5, 1.5), sg=st.sampled_from(sorted(SURROGATES)),
       step_mode=st.sampled_from(["s", "m"]), training=st.booleans(), store=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), shape=st.lists(st.integers(1, 4), min_size=1,
                                                                              max_size=3),
       T=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_clif_parity(tau, v_threshold, sg, step_mode, training, store, dtype, shape, T, seed):
    sj_neuron, sj_surrogate = _sj()
    ours = neuron.ComplementaryLIFNode(tau, v_threshold, getattr(surrogate, sg)(**SURROGATES[sg]), step_mode,
                                       store).train(training)
    theirs = sj_neuron.ComplementaryLIFNode(tau, v_threshold, getattr(sj_surrogate, sg)(**SURROGATES[sg]), step_mode,
                                            store).train(training)
    x = _input(T, shape, seed, dtype)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = _forward(ours, xa, step_mode), _forward(theirs, xb, step_mode)
    _close(ya, yb, dtype, exact=True)
    _close(ours.v, theirs.v, dtype)
    _close(ours.m, theirs.m, dtype)
    if store and step_mode == "m":
        for a, b in zip(ours.state_seqs, theirs.state_seqs):
            _close(a, b, dtype)
    else:
        assert ours.state_seqs is None and theirs.state_seqs is None
    loss_a, loss_b = (ya.sum() + ours.v.square().sum() + ours.m.sum()), (yb.sum() + theirs.v.square().sum()
                                                                        + theirs.m.sum())
    _close(torch.autograd.grad(loss_a, xa)[0], torch.autograd.grad(loss_b, xb)[0], dtype)


def test_clif_defaults_and_eval_mode():
    m = neuron.ComplementaryLIFNode(step_mode="m")
    assert isinstance(m.surrogate_function, surrogate.Rect) and m.surrogate_function.alpha == 1.0
    assert m.v_reset is None and [n for n, _ in m.named_memories()] == ["v", "m"]
    x = _input(4, (2, 3), 0, torch.float32).requires_grad_(True)
    assert m(x).requires_grad
    m.reset()
    assert not m.eval()(x).requires_grad


# -- GatedLIF ---------------------------------------------------------------------------------------------

GATED_PARAMS = ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset", "conduct")


@pytest.mark.parity
@settings(max_examples=15)
@given(T=st.integers(1, 5), channels=st.integers(1, 3), per_channel=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), sg=st.sampled_from(sorted(SURROGATES)),
       init_tau=st.floats(0.1, 0.9), init_conduct=st.floats(0.1, 0.9), seed=st.integers(0, 2**16))
def test_gated_lif_parity(T, channels, per_channel, dtype, sg, init_tau, init_conduct, seed):
    sj_neuron, sj_surrogate = _sj()
    inplane = channels if per_channel else None
    kw = dict(inplane=inplane, init_tau=init_tau, init_conduct=init_conduct)
    theirs = sj_neuron.GatedLIFNode(T, surrogate_function=getattr(sj_surrogate, sg)(**SURROGATES[sg]), **kw)
    ours = neuron.GatedLIFNode(T, surrogate_function=getattr(surrogate, sg)(**SURROGATES[sg]), **kw)
    with torch.no_grad():
        for name in GATED_PARAMS:
            assert getattr(ours, name).shape == getattr(theirs, name).shape
            getattr(ours, name).copy_(getattr(theirs, name))
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    x = _input(T, (2, channels, 3, 2), seed, dtype)
    for _ in range(2):  # a second sequence after reset_net starts from rest again
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = ours(xa), theirs(xb)
        _close(ya, yb, dtype, exact=True)
        _close(ours.v, theirs.v, dtype)
        wrt_a = [xa, *[getattr(ours, p) for p in GATED_PARAMS]]
        wrt_b = [xb, *[getattr(theirs, p) for p in GATED_PARAMS]]
        loss_a, loss_b = ya.sum() + ours.v.square().sum(), yb.sum() + theirs.v.square().sum()
        for u, v in zip(torch.autograd.grad(loss_a, wrt_a), torch.autograd.grad(loss_b, wrt_b)):
            _close(u, v, dtype)
        reset_net(ours)
        reset_net(theirs)


def _gated_cfg(T):
    g = torch.Generator().manual_seed(3)
    cfg = {n: float(torch.randn((), generator=g)) for n in GATED_PARAMS if n != "conduct"}
    return dict(cfg, conduct=torch.randn(T, generator=g))


def test_gated_lif_per_step_conduct_equals_stepping():
    x = _input(5, (3, 4), 0, torch.float32)
    cfg = _gated_cfg(5)
    y_seq, final, v_seq = fnsnn.gated_lif_multi_step(x, **cfg, return_v_seq=True)
    state, ys = None, []
    for t, x_t in enumerate(x.unbind(0)):
        y, state = fnsnn.gated_lif_step(x_t, state, **dict(cfg, conduct=cfg["conduct"][t]))
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq, rtol=0, atol=0)
    torch.testing.assert_close(state.v, final.v)
    torch.testing.assert_close(v_seq[-1], final.v)
    assert torch.equal(final.spike, y_seq[-1])


def test_gated_lif_transforms_over_per_step_conduct():
    x = _input(4, (2, 3), 1, torch.float32)
    cfg = _gated_cfg(4)
    conducts = torch.stack([cfg["conduct"] + d for d in (0.0, 0.5, -1.0)])
    run = lambda c, x=x: fnsnn.gated_lif_multi_step(x, **dict(cfg, conduct=c))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = vmap(lambda c: run(c)[0])(conducts)
    torch.testing.assert_close(batched, torch.stack([run(c)[0] for c in conducts]), rtol=0, atol=0)
    g = grad(lambda c: run(c)[1].v.sum())(cfg["conduct"])
    cr = cfg["conduct"].clone().requires_grad_(True)
    (g_auto,) = torch.autograd.grad(run(cr)[1].v.sum(), cr)
    torch.testing.assert_close(g, g_auto)
    assert g.abs().sum() > 0
    jac = jacrev(lambda x: fnsnn.gated_lif_multi_step(x, **cfg)[1].v)(x)
    assert jac.shape == (2, 3, 4, 2, 3)


def test_gated_lif_shell_memories_and_door():
    m = neuron.GatedLIFNode(T=3, inplane=2)
    assert m.step_mode == "m" and [n for n, _ in m.named_memories()] == ["v", "spike"]
    x = _input(3, (4, 2, 5), 2, torch.float32)
    state = fnsnn_nn.init_state(m, x)
    y, new_state = fnsnn_nn.apply(m, x, state)
    torch.testing.assert_close(y, m(x), rtol=0, atol=0)
    torch.testing.assert_close(new_state[""]["v"], m.v)
    assert m.conduct.shape == (3, 2) and m.tau.shape == (2,)
    torch.testing.assert_close(torch.sigmoid(m.linear_decay), torch.full((2,), 0.5 / 6))


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["tensor", "float"])
def test_gated_lif_uses_a_user_set_v_without_spike(kind):
    # A v set by hand (spike left at its reset value) is the starting potential, as in SpikingJelly 2.0.0.
    sj_neuron, _ = _sj()
    T = 3
    theirs = sj_neuron.GatedLIFNode(T, inplane=2)
    ours = neuron.GatedLIFNode(T, inplane=2)
    with torch.no_grad():
        for name in GATED_PARAMS:
            getattr(ours, name).copy_(getattr(theirs, name))
    x = _input(T, (4, 2, 3, 2), 5, torch.float32)
    v0 = torch.linspace(-0.5, 1.5, x[0].numel()).view_as(x[0]) if kind == "tensor" else 0.75
    ours.v, theirs.v = v0, v0
    assert not isinstance(ours.spike, torch.Tensor)
    want, final = fnsnn.gated_lif_multi_step(
        x, fnsnn.GatedLIFState(torch.as_tensor(v0).expand_as(x[0]).clone(), torch.zeros_like(x[0])),
        **ours.core_config(x))
    y = ours(x)
    torch.testing.assert_close(y, want, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, final.v)
    torch.testing.assert_close(y, theirs(x))
    torch.testing.assert_close(ours.v, theirs.v)
    rest = neuron.GatedLIFNode(T, inplane=2)
    rest.load_state_dict(ours.state_dict())
    assert not torch.equal(rest(x), y) or not torch.equal(rest.v, ours.v)  # the set v made a difference


# -- non-spiking integrators ------------------------------------------------------------------------------

DECODES = [None, "max-mem", "max-abs-mem", "mean-mem", "last_mem"]


@pytest.mark.parity
@pytest.mark.parametrize("decode", DECODES)
@pytest.mark.parametrize("kind", ["IF", "LIF"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nonspiking_parity(kind, decode, dtype):
    sj_neuron, _ = _sj()
    if kind == "IF":
        ours, theirs = neuron.NonSpikingIFNode(decode), sj_neuron.NonSpikingIFNode(decode)
    else:
        ours, theirs = neuron.NonSpikingLIFNode(3.0, decode), sj_neuron.NonSpikingLIFNode(3.0, decode)
    x = _input(6, (3, 4), 7, dtype)
    x[2, 0, 0] = -9.0  # a clear negative extreme for max-abs-mem
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    assert type(ya) is type(yb)
    if decode is None:
        ya, yb = torch.stack(ya), torch.stack(yb)
    _close(ya, yb, dtype)
    _close(ours.v, theirs.v, dtype)
    w = torch.randn(ya.shape, dtype=dtype)
    _close(torch.autograd.grad((ya * w).sum(), xa)[0], torch.autograd.grad((yb * w).sum(), xb)[0], dtype)


def test_nonspiking_max_abs_tie_picks_minimum():
    v_seq = torch.tensor([[2.0], [-2.0], [1.0]])
    assert fnsnn.decode_potentials(v_seq, "max-abs-mem").item() == -2.0
    assert fnsnn.decode_potentials(v_seq, "max-mem").item() == 2.0


@pytest.mark.parametrize("kind", ["if", "lif"])
def test_nonspiking_core_contract(kind):
    step = getattr(fnsnn, f"nonspiking_{kind}_step")
    multi = getattr(fnsnn, f"nonspiking_{kind}_multi_step")
    cfg = {} if kind == "if" else dict(tau=2.5)
    x = _input(5, (3, 4), 4, torch.float32)
    y_seq, final, v_seq = multi(x, **cfg, return_v_seq=True)
    torch.testing.assert_close(y_seq, v_seq)
    state, ys = None, []
    for x_t in x.unbind(0):
        y, state = step(x_t, state, **cfg)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq)
    half, mid = multi(x[:2], **cfg)
    rest, end = multi(x[2:], mid, **cfg)
    torch.testing.assert_close(torch.cat([half, rest]), y_seq)
    torch.testing.assert_close(end.v, final.v)
    for decode in DECODES[1:]:
        f = lambda x, d=decode: multi(x, **cfg, decode=d)[0]  # noqa: E731
        xs = torch.stack([x, x * 0.5, -x])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            torch.testing.assert_close(vmap(f)(xs), torch.stack([f(t) for t in xs]))
            gv = vmap(grad(lambda x: f(x).square().sum()))(xs)
        xr = x.clone().requires_grad_(True)
        (g_auto,) = torch.autograd.grad(f(xr).square().sum(), xr)
        torch.testing.assert_close(gv[0], g_auto)
        torch.testing.assert_close(jacrev(f)(x), torch.autograd.functional.jacobian(f, x))
    xd = x[:3, :2, :2].double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: multi(x, **cfg, decode="mean-mem")[0], (xd,))
    if kind == "lif":
        taus = torch.tensor([1.5, 2.0, 4.0])
        batched = vmap(lambda t: multi(x, tau=t, decode="last_mem")[0])(taus)
        torch.testing.assert_close(batched, torch.stack([multi(x, tau=float(t), decode="last_mem")[0] for t in taus]))
    assert multi(x.double(), **cfg)[0].dtype == torch.float64


# -- Izhikevich second state variable ---------------------------------------------------------------------

def test_izhikevich_w_state_rest_reset_and_door():
    m = neuron.IzhikevichNode(a=0.2, b=0.4, w_rest=0.3, step_mode="m")
    assert m.w == 0.3 and m.v == 0.0
    x = _input(5, (2, 3), 5, torch.float32)
    m(x)
    assert m.w.shape == (2, 3) and not torch.allclose(m.w, torch.full_like(m.w, 0.3))
    m.reset()
    assert m.w == 0.3
    state = fnsnn_nn.init_state(m, x)
    torch.testing.assert_close(state[""]["w"], torch.full((2, 3), 0.3))
    _, final = fnsnn.izhikevich_multi_step(x, a=0.2, b=0.4, w_rest=0.3)
    _, new_state = fnsnn_nn.apply(m, x, state)
    torch.testing.assert_close(new_state[""]["w"], final.w)
    rest = fnsnn.izhikevich_init_state(x[0], v_reset=None, w_rest=0.3)
    assert torch.equal(rest.v, torch.zeros(2, 3)) and torch.equal(rest.w, torch.full((2, 3), 0.3))


def test_init_state_helpers():
    x = torch.zeros(2, 3)
    assert torch.equal(fnsnn.qif_init_state(x).v, torch.full((2, 3), -0.1))
    assert torch.equal(fnsnn.eif_init_state(x, v_reset=None).v, x)
    assert torch.equal(fnsnn.klif_init_state(x, v_reset=0.2).v, torch.full((2, 3), 0.2))
    assert torch.equal(fnsnn.liaf_init_state(x).v, x)
    assert fnsnn.cuba_lif_init_state(x)._fields == ("v", "c")
    assert fnsnn.clif_init_state(x)._fields == ("v", "m")
    assert fnsnn.gated_lif_init_state(x)._fields == ("v", "spike")
    assert torch.equal(fnsnn.nonspiking_if_init_state(x).v, x)
    assert torch.equal(fnsnn.nonspiking_lif_init_state(x).v, x)


# -- documented errors ------------------------------------------------------------------------------------

X = torch.zeros(3, 2, 4)

CORE_ERRORS = [
    (fnsnn.qif_multi_step, dict(tau=1.0), ValueError, r"qif_multi_step: `tau` must be > 1"),
    (fnsnn.qif_step, dict(a0=0.0), ValueError, r"qif_step: `a0` must be > 0"),
    (fnsnn.qif_multi_step, dict(v_reset=1.0), ValueError, r"`v_reset` must be < `v_threshold`"),
    (fnsnn.qif_multi_step, dict(v_reset=0.2, v_rest=0.1), ValueError, r"`v_reset` must be <= `v_rest`"),
    (fnsnn.qif_multi_step, dict(tau="2"), TypeError, r"`tau` must be a real number or a tensor"),
    (fnsnn.eif_multi_step, dict(delta_T=0.0), ValueError, r"eif_multi_step: `delta_T` must be > 0"),
    (fnsnn.eif_step, dict(tau=0.5), ValueError, r"eif_step: `tau` must be > 1"),
    (fnsnn.eif_multi_step, dict(theta_rh=None), TypeError, r"`theta_rh` must be a real number"),
    (fnsnn.izhikevich_multi_step, dict(tau_w=0.0), ValueError, r"`tau_w` must be > 0"),
    (fnsnn.izhikevich_multi_step, dict(a0=-1.0), ValueError, r"`a0` must be > 0"),
    (fnsnn.izhikevich_step, dict(detach_reset=1), TypeError, r"`detach_reset` must be a bool"),
    (fnsnn.klif_multi_step, dict(k=0.0), ValueError, r"klif_multi_step: `k` must be > 0"),
    (fnsnn.klif_multi_step, dict(scale_reset="yes"), TypeError, r"`scale_reset` must be a bool"),
    (fnsnn.klif_step, dict(tau=1.0), ValueError, r"`tau` must be > 1"),
    (fnsnn.liaf_multi_step, dict(act=3, threshold_related=True), TypeError, r"liaf_multi_step: `act` must be callable"),
    (fnsnn.liaf_step, dict(act=torch.relu, threshold_related=1), TypeError, r"`threshold_related` must be a bool"),
    (fnsnn.cuba_lif_multi_step, dict(c_decay=1.5), ValueError, r"`c_decay` must lie in \[0, 1\]"),
    (fnsnn.cuba_lif_step, dict(v_decay=-0.1), ValueError, r"cuba_lif_step: `v_decay` must lie in \[0, 1\]"),
    (fnsnn.clif_multi_step, dict(tau=1.0), ValueError, r"clif_multi_step: `tau` must be > 1"),
    (fnsnn.clif_step, dict(surrogate_function=1.0), TypeError, r"`surrogate_function` must be callable"),
    (fnsnn.gated_lif_multi_step, dict(conduct=torch.zeros(5)), ValueError,
     r"`conduct` holds 5 per-step gates .* `x_seq` has T=3"),
    (fnsnn.gated_lif_step, dict(alpha="0"), TypeError, r"gated_lif_step: `alpha` must be a real number"),
    (fnsnn.nonspiking_lif_multi_step, dict(tau=1.0), ValueError, r"`tau` must be > 1"),
    (fnsnn.nonspiking_if_multi_step, dict(decode="max"), ValueError, r"`decode` must be one of"),
    (fnsnn.nonspiking_if_multi_step, dict(decode=1), TypeError, r"`decode` must be None or one of"),
]


@pytest.mark.parametrize("fn,kw,exc,match", CORE_ERRORS,
                         ids=[f"{f.__name__}-{next(iter(k))}" for f, k, _, _ in CORE_ERRORS])
def test_core_errors(fn, kw, exc, match):
    x = X[0] if fn.__name__.endswith("_step") and "multi" not in fn.__name__ else X
    with pytest.raises(exc, match=match):
        fn(x, **kw)


@pytest.mark.triton
@pytest.mark.parametrize("fn", [fnsnn.ilif_multi_step, fnsnn.nonspiking_if_multi_step,
                                fnsnn.nonspiking_lif_multi_step])
def test_triton_backend_equals_reference(fn):
    # every family's step is traced into the generated Triton scan (run here under TRITON_INTERPRET=1)
    y, state = fn(X, backend="triton")
    y_ref, state_ref = fn(X, backend="torch")
    assert torch.equal(y, y_ref) and all(torch.equal(a, b) for a, b in zip(state, state_ref))


def test_gated_lif_per_step_backend_and_state_errors():
    with pytest.raises(ValueError, match="backend='triton' cannot run per-step `conduct` gates"):
        fnsnn.gated_lif_multi_step(X, conduct=torch.zeros(3), backend="triton")
    with pytest.raises(ValueError, match="state.v` has shape"):
        fnsnn.gated_lif_multi_step(X, fnsnn.gated_lif_init_state(X[0, :1]), conduct=torch.zeros(3))
    with pytest.raises(TypeError, match="return_v_seq"):
        fnsnn.gated_lif_multi_step(X, conduct=torch.zeros(3), return_v_seq=None)
    with pytest.raises(ValueError, match="empty time dimension"):
        fnsnn.gated_lif_multi_step(X[:0], conduct=torch.zeros(0))


def test_decode_potentials_errors():
    with pytest.raises(ValueError, match="decode_potentials: `decode` must be one of"):
        fnsnn.decode_potentials(X, "min-mem")
    with pytest.raises(TypeError, match="decode_potentials: `v_seq` must be a torch.Tensor"):
        fnsnn.decode_potentials([1.0], "max-mem")


SHELL_ERRORS = [
    (lambda: neuron.QIFNode(tau=1.0), ValueError, r"QIFNode: `tau` must be > 1"),
    (lambda: neuron.QIFNode(a0=0.0), ValueError, r"QIFNode: `a0` must be > 0"),
    (lambda: neuron.QIFNode(v_reset=0.5, v_rest=0.0), ValueError, r"QIFNode: `v_reset` must be <= `v_rest`"),
    (lambda: neuron.EIFNode(delta_T=-1.0), ValueError, r"EIFNode: `delta_T` must be > 0"),
    (lambda: neuron.EIFNode(v_reset=2.0), ValueError, r"EIFNode: `v_reset` must be < `v_threshold`"),
    (lambda: neuron.IzhikevichNode(tau_w=0.0), ValueError, r"IzhikevichNode: `tau_w` must be > 0"),
    (lambda: neuron.IzhikevichNode(backend="cupy"), ValueError, r"`backend` must be one of"),
    (lambda: neuron.KLIFNode(scale_reset=None), TypeError, r"KLIFNode: `scale_reset` must be a bool"),
    (lambda: neuron.LIAFNode(None, True), TypeError, r"LIAFNode: `act` must be callable"),
    (lambda: neuron.LIAFNode(torch.relu, "yes"), TypeError, r"LIAFNode: `threshold_related` must be a bool"),
    (lambda: neuron.LIAFNode(torch.relu, True, tau=0.9), ValueError, r"`tau` must be > 1"),
    (lambda: neuron.CUBALIFNode(c_decay=2.0), ValueError, r"CUBALIFNode: `c_decay` must lie in \[0, 1\]"),
    (lambda: neuron.ComplementaryLIFNode(tau=1.0), ValueError, r"ComplementaryLIFNode: `tau` must be > 1"),
    (lambda: neuron.ComplementaryLIFNode(store_state_seqs=1), TypeError, r"`store_state_seqs` must be a bool"),
    (lambda: neuron.GatedLIFNode(T=0), ValueError, r"GatedLIFNode: `T` must be a positive int"),
    (lambda: neuron.GatedLIFNode(T=4.0), ValueError, r"GatedLIFNode: `T` must be a positive int"),
    (lambda: neuron.GatedLIFNode(T=4, inplane=0), ValueError, r"`inplane` must be None or a positive int"),
    (lambda: neuron.GatedLIFNode(T=4, init_tau=1.0), ValueError, r"`init_tau` must lie in \(0, 1\)"),
    (lambda: neuron.GatedLIFNode(T=4, init_linear_decay=0.0), ValueError, r"`init_linear_decay` must lie in \(0, 1\)"),
    (lambda: neuron.GatedLIFNode(T=4, step_mode="s"), ValueError, r"step_mode: expected one of \('m',\)"),
    (lambda: neuron.GatedLIFNode(T=4, surrogate_function=2), TypeError, r"`surrogate_function` must be callable"),
    (lambda: neuron.GatedLIFNode(T=3)(torch.zeros(4, 2, 5)), ValueError,
     r"GatedLIFNode: was built for T=3 time steps.*got shape \(4, 2, 5\)"),
    (lambda: neuron.GatedLIFNode(T=3, inplane=2)(torch.zeros(3, 2, 5, 1)), ValueError,
     r"inplane=2 needs input \[T, N, C=2, \*\]"),
    (lambda: neuron.GatedLIFNode(T=3)([0.0]), TypeError, r"GatedLIFNode: input must be a tensor"),
    (lambda: neuron.NonSpikingBaseNode(), TypeError, r"NonSpikingBaseNode is a base class"),
    (lambda: neuron.NonSpikingIFNode("sum"), ValueError, r"NonSpikingIFNode: `decode` must be one of"),
    (lambda: neuron.NonSpikingLIFNode(tau=1.0), ValueError, r"NonSpikingLIFNode: `tau` must be > 1"),
    (lambda: neuron.NonSpikingLIFNode()(torch.zeros(0, 3)), ValueError, r"empty time dimension"),
]


@pytest.mark.parametrize("build,exc,match", SHELL_ERRORS, ids=[str(i) for i in range(len(SHELL_ERRORS))])
def test_shell_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_gated_lif_shell_names_reset_net_on_batch_change():
    m = neuron.GatedLIFNode(T=2)
    m(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="reset_net"):
        m(torch.zeros(2, 4))


def test_shell_defaults_follow_spikingjelly():
    q, e, i, k = neuron.QIFNode(), neuron.EIFNode(), neuron.IzhikevichNode(), neuron.KLIFNode()
    assert (q.tau, q.v_c, q.a0, q.v_threshold, q.v_rest, q.v_reset) == (2.0, 0.8, 1.0, 1.0, 0.0, -0.1)
    assert (e.tau, e.delta_T, e.theta_rh, e.v_rest, e.v_reset) == (2.0, 1.0, 0.8, 0.0, -0.1)
    assert (i.v_reset, i.v_rest, i.w_rest, i.tau_w, i.a, i.b) == (0.0, -0.1, 0.0, 2.0, 0.0, 0.0)
    assert [n for n, _ in i.named_memories()] == ["v", "w"]
    assert [n for n, _ in k.named_parameters()] == ["k"] and k.k.item() == 1.0 and k.scale_reset is False
    g = neuron.GatedLIFNode(T=4)
    assert {n for n, _ in g.named_parameters()} == set(GATED_PARAMS)
    assert math.isclose(torch.sigmoid(g.tau).item(), 0.25, rel_tol=1e-6)
