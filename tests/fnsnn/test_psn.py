"""Parallel spiking neurons: PSN, MaskedPSN, SlidingPSN (core functions and module shells).

Parity with SpikingJelly 2.0.0 (outputs and gradients, same weights through
state_dict), streaming == whole sequence, gemm == conv, torch.func transforms,
shell lifecycle and every documented error.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import grad, jacrev, vmap

import fnsnn
import fnsnn_nn
from fnsnn.neurons.psn import MaskedPSNOverflowError, MaskedPSNState, PSNState, SlidingPSNState
from fnsnn_nn.functional import reset_net, set_step_mode
from fnsnn_nn.neuron import PSN, MaskedPSN, SlidingPSN

SMOOTH = fnsnn.surrogate.Sigmoid(alpha=4.0, spiking=False)


def _sj():
    from spikingjelly.activation_based.neuron import psn

    return psn


def _input(T, n, f, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((T, n, *f), generator=g, dtype=dtype) * 1.5 + 0.5


def _params(T, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, T, generator=g, dtype=dtype) * 0.5, torch.randn(T, 1, generator=g, dtype=dtype) * 0.3


def _sliding_params(k, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, generator=g, dtype=dtype), torch.randn((), generator=g, dtype=dtype)


def _no_fallback():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    return ctx


# --------------------------------------------------------------------------- #
# parity with SpikingJelly 2.0.0
# --------------------------------------------------------------------------- #


def _run_with_grads(module, x, step_mode, cot):
    """Outputs and grads (input, weight, bias) of ``(module(x) * cot).sum()``."""
    x = x.clone().requires_grad_(True)
    if step_mode == "m":
        y = module(x)
    else:
        y = torch.stack([module(x_t) for x_t in x.unbind(0)])
    (y * cot).sum().backward()
    return y.detach(), x.grad, module.weight.grad, module.bias.grad


def _compare(ours, theirs, exact_output=True):
    y, *grads = ours
    y_sj, *grads_sj = theirs
    if exact_output:
        torch.testing.assert_close(y, y_sj, rtol=0, atol=0)
    else:
        torch.testing.assert_close(y, y_sj)
    for a, b in zip(grads, grads_sj):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


shapes = dict(T=st.integers(1, 6), n=st.integers(1, 3), f=st.sampled_from([(), (2,), (2, 3)]),
              seed=st.integers(0, 2**16))


@pytest.mark.parity
@settings(max_examples=12, deadline=None)
@given(**shapes)
def test_psn_parity(T, n, f, seed):
    sj = _sj().PSN(T)
    ours = PSN(T)
    ours.load_state_dict(sj.state_dict())
    x = _input(T, n, f, seed)
    cot = torch.randn_like(x)
    _compare(_run_with_grads(ours, x, "m", cot), _run_with_grads(sj, x, "m", cot))


@pytest.mark.parity
@settings(max_examples=15, deadline=None)
@given(**shapes, k=st.integers(1, 6), lam=st.sampled_from([0.0, 0.3, 1.0, 1.5]))
def test_masked_psn_parity_multi_step(T, n, f, seed, k, lam):
    k = min(k, T)
    sj = _sj().MaskedPSN(k, T, lambda_init=lam, step_mode="m")
    ours = MaskedPSN(k, T, step_mode="m")
    ours.load_state_dict(sj.state_dict())  # SpikingJelly's mask buffers are accepted and checked
    assert float(ours.lambda_) == pytest.approx(lam)
    x = _input(T, n, f, seed)
    cot = torch.randn_like(x)
    _compare(_run_with_grads(ours, x, "m", cot), _run_with_grads(sj, x, "m", cot))
    torch.testing.assert_close(ours.masked_weight(), sj.masked_weight(), rtol=0, atol=0)


@pytest.mark.parity
@settings(max_examples=12, deadline=None)
@given(**shapes, k=st.integers(1, 6))
def test_masked_psn_parity_single_step(T, n, f, seed, k):
    k = min(k, T)
    sj = _sj().MaskedPSN(k, T, lambda_init=1.0, step_mode="s")
    ours = MaskedPSN(k, T, lambda_init=1.0, step_mode="s")
    ours.load_state_dict(sj.state_dict())
    x = _input(T, n, f, seed)
    cot = torch.randn_like(x)
    _compare(_run_with_grads(ours, x, "s", cot), _run_with_grads(sj, x, "s", cot))
    assert ours.time_step == sj.time_step == T


@pytest.mark.parity
@settings(max_examples=15, deadline=None)
@given(**shapes, k=st.integers(1, 8), backend=st.sampled_from(["gemm", "conv"]), exp_init=st.booleans())
def test_sliding_psn_parity_multi_step(T, n, f, seed, k, backend, exp_init):
    # SpikingJelly 2.0.0's SlidingPSN has no `backend` argument (gemm only); the seed specifies
    # backend='gemm'|'conv', so the seed wins and both backends are compared with SJ's gemm.
    sj = _sj().SlidingPSN(k, exp_init=exp_init, step_mode="m")
    ours = SlidingPSN(k, exp_init=exp_init, step_mode="m", backend=backend)
    if exp_init:
        torch.testing.assert_close(ours.weight, sj.weight, rtol=0, atol=0)
    ours.load_state_dict(sj.state_dict())
    x = _input(T, n, f, seed)
    cot = torch.randn_like(x)
    _compare(_run_with_grads(ours, x, "m", cot), _run_with_grads(sj, x, "m", cot), exact_output=backend == "gemm")
    torch.testing.assert_close(ours.gen_gemm_weight(T), sj.gen_gemm_weight(T), rtol=0, atol=0)


@pytest.mark.parity
@settings(max_examples=12, deadline=None)
@given(**shapes, k=st.integers(1, 5))
def test_sliding_psn_parity_single_step(T, n, f, seed, k):
    sj = _sj().SlidingPSN(k, exp_init=False, step_mode="s")
    ours = SlidingPSN(k, step_mode="s")
    ours.load_state_dict(sj.state_dict())
    x = _input(T, n, f, seed)
    cot = torch.randn_like(x)
    # The zero-padded window sums the same products as SJ's shorter queue; only the order of
    # the floating-point sum may differ, so outputs are compared with a tolerance.
    _compare(_run_with_grads(ours, x, "s", cot), _run_with_grads(sj, x, "s", cot), exact_output=False)


# --------------------------------------------------------------------------- #
# streaming == whole sequence, gemm == conv
# --------------------------------------------------------------------------- #


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 7), k=st.integers(1, 7), split=st.integers(0, 7), seed=st.integers(0, 2**16))
def test_masked_psn_streaming_equals_multi_step(T, k, split, seed):
    k, split = min(k, T), min(split, T - 1)
    x = _input(T, 3, (2,), seed, torch.float64)
    w, b = _params(T, seed, torch.float64)
    cfg = dict(weight=w, bias=b, k=k)
    y_seq, final = fnsnn.masked_psn_multi_step(x, **cfg, lambda_=1.0)
    state, ys = None, []
    for x_t in x.unbind(0):
        y, state = fnsnn.masked_psn_step(x_t, state, **cfg)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq, rtol=0, atol=0)
    torch.testing.assert_close(state.history, final.history, rtol=0, atol=0)
    # A few single steps, then the rest of the sequence in one call (any lambda).
    for lam in (1.0, 0.4):
        y_full, _ = fnsnn.masked_psn_multi_step(x, **cfg, lambda_=lam, surrogate_function=SMOOTH)
        state = None
        for x_t in x[:split].unbind(0):
            _, state = fnsnn.masked_psn_step(x_t, state, **cfg, surrogate_function=SMOOTH)
        y_rest, final = fnsnn.masked_psn_multi_step(x[split:], state, **cfg, lambda_=lam, surrogate_function=SMOOTH)
        torch.testing.assert_close(y_rest, y_full[split:])
        assert final.history.shape == x.shape


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 8), k=st.integers(1, 6), cut=st.integers(0, 8), seed=st.integers(0, 2**16),
       backend=st.sampled_from(["gemm", "conv"]))
def test_sliding_psn_streaming_equals_multi_step(T, k, cut, seed, backend):
    cut = min(cut, T)
    x = _input(T, 2, (3,), seed, torch.float64)
    w, b = _sliding_params(k, seed, torch.float64)
    cfg = dict(weight=w, bias=b)
    y_seq, final = fnsnn.sliding_psn_multi_step(x, **cfg, backend=backend)
    state, ys = None, []
    for x_t in x.unbind(0):
        y, state = fnsnn.sliding_psn_step(x_t, state, **cfg)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq, rtol=0, atol=0)
    torch.testing.assert_close(state.history, final.history, rtol=0, atol=0)
    assert final.history.shape == (k - 1, 2, 3)
    # Two chunks (the first may be empty-free only when cut > 0).
    state = None
    parts = []
    for chunk in (x[:cut], x[cut:]):
        if chunk.shape[0]:
            y, state = fnsnn.sliding_psn_multi_step(chunk, state, **cfg, backend=backend, surrogate_function=SMOOTH)
            parts.append(y)
    y_smooth, final_smooth = fnsnn.sliding_psn_multi_step(x, **cfg, backend=backend, surrogate_function=SMOOTH)
    torch.testing.assert_close(torch.cat(parts), y_smooth)
    torch.testing.assert_close(state.history, final_smooth.history, rtol=0, atol=0)


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 8), k=st.integers(1, 6), hist=st.booleans(), seed=st.integers(0, 2**16))
def test_sliding_psn_gemm_equals_conv(T, k, hist, seed):
    x = _input(T, 2, (2,), seed, torch.float64).requires_grad_(True)
    w, b = _sliding_params(k, seed, torch.float64)
    w.requires_grad_(True)
    b.requires_grad_(True)
    state = SlidingPSNState(torch.randn(k - 1, 2, 2, dtype=torch.float64)) if hist else None
    out = {}
    for backend in ("gemm", "conv"):
        y, s = fnsnn.sliding_psn_multi_step(x, state, weight=w, bias=b, backend=backend, surrogate_function=SMOOTH)
        out[backend] = (y, s.history, *torch.autograd.grad((y * y).sum(), (x, w, b)))
    for a, c in zip(out["gemm"], out["conv"]):
        torch.testing.assert_close(a, c)


def test_sliding_psn_gemm_weight_is_banded():
    w = torch.tensor([1.0, 2.0, 3.0])
    g = fnsnn.sliding_psn_gemm_weight(w, 4)
    want = torch.tensor([[3.0, 0, 0, 0], [2, 3, 0, 0], [1, 2, 3, 0], [0, 1, 2, 3]])
    torch.testing.assert_close(g, want, rtol=0, atol=0)


def test_masked_psn_weight_schedule():
    w = torch.randn(4, 4)
    band = torch.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    torch.testing.assert_close(fnsnn.masked_psn_weight(w, k=2), w * band)
    torch.testing.assert_close(fnsnn.masked_psn_weight(w, k=2, lambda_=0.0), w)
    torch.testing.assert_close(fnsnn.masked_psn_weight(w, k=2, lambda_=0.25), w * (0.25 * band + 0.75))
    torch.testing.assert_close(fnsnn.masked_psn_weight(w, k=2, lambda_=torch.tensor(3.0)), w * band)
    torch.testing.assert_close(fnsnn.masked_psn_weight(w, k=2, lambda_=torch.tensor(0.25)),
                               w * (0.25 * band + 0.75))


def test_psn_is_stateless():
    x = _input(4, 2, (3,))
    w, b = _params(4)
    y1, s1 = fnsnn.psn_multi_step(x, weight=w, bias=b)
    y2, s2 = fnsnn.psn_multi_step(x, s1, weight=w, bias=b.reshape(4))
    assert s1 == s2 == PSNState()
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    # A scalar bias is the same for every step.
    y3, _ = fnsnn.psn_multi_step(x, weight=w, bias=-0.5)
    y4, _ = fnsnn.psn_multi_step(x, weight=w, bias=torch.full((4, 1), -0.5))
    torch.testing.assert_close(y3, y4, rtol=0, atol=0)


def test_inputs_are_not_modified():
    x = _input(4, 2, ())
    w, b = _params(4)
    x0, w0, b0 = x.clone(), w.clone(), b.clone()
    fnsnn.psn_multi_step(x, weight=w, bias=b)
    fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2, lambda_=0.5)
    _, state = fnsnn.masked_psn_step(x[0], weight=w, bias=b, k=2)
    h0 = state.history.clone()
    fnsnn.masked_psn_step(x[1], state, weight=w, bias=b, k=2)
    torch.testing.assert_close(state.history, h0, rtol=0, atol=0)
    sw, sb = _sliding_params(3)
    hist = SlidingPSNState(torch.randn(2, 2))
    h1 = hist.history.clone()
    fnsnn.sliding_psn_multi_step(x, hist, weight=sw, bias=sb, backend="conv")
    fnsnn.sliding_psn_step(x[0], hist, weight=sw, bias=sb)
    for a, c in ((x, x0), (w, w0), (b, b0), (hist.history, h1)):
        torch.testing.assert_close(a, c, rtol=0, atol=0)


# --------------------------------------------------------------------------- #
# torch.func: grad, vmap (no fallback), jacrev, gradcheck
# --------------------------------------------------------------------------- #

T0, K0 = 5, 3


def _families(dtype=torch.float32):
    """(name, f(x_seq, p) -> y_seq, params p) for every multi-step function."""
    w, b = _params(T0, 3, dtype)
    sw, sb = _sliding_params(K0, 3, dtype)
    return [
        ("psn", lambda x, p: fnsnn.psn_multi_step(x, weight=p[0], bias=p[1])[0], (w, b)),
        ("masked", lambda x, p: fnsnn.masked_psn_multi_step(x, weight=p[0], bias=p[1], k=K0, lambda_=p[2])[0],
         (w, b, torch.tensor(0.6, dtype=dtype))),
        ("sliding_gemm", lambda x, p: fnsnn.sliding_psn_multi_step(x, weight=p[0], bias=p[1])[0], (sw, sb)),
        ("sliding_conv", lambda x, p: fnsnn.sliding_psn_multi_step(x, weight=p[0], bias=p[1], backend="conv")[0],
         (sw, sb)),
    ]


FAMILIES = _families()


@pytest.mark.parametrize("name,f,p", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_grad_equals_autograd(name, f, p):
    x = _input(T0, 3, (2,))
    cot = torch.randn_like(x)

    def loss(x, p):
        return (f(x, p) * cot).sum()

    gx, gp = grad(loss, argnums=(0, 1))(x, p)
    xr = x.clone().requires_grad_(True)
    pr = tuple(t.clone().requires_grad_(True) for t in p)
    want = torch.autograd.grad(loss(xr, pr), (xr, *pr))
    torch.testing.assert_close(gx, want[0])
    for a, c in zip(gp, want[1:]):
        torch.testing.assert_close(a, c)
    assert gx.abs().sum() > 0 and gp[0].abs().sum() > 0


@pytest.mark.parametrize("name,f,p", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_vmap_over_batch_and_params(name, f, p):
    x = _input(T0, 4, (2,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_sample = vmap(lambda xi: f(xi, p), in_dims=1, out_dims=1)(x)
        stacked = tuple(torch.stack([t, t * 0.5 + 0.1]) for t in p)
        ensemble = vmap(lambda pi: f(x, pi))(stacked)
    torch.testing.assert_close(per_sample, f(x, p), rtol=0, atol=0)
    for i in range(2):
        torch.testing.assert_close(ensemble[i], f(x, tuple(t[i] for t in stacked)))


@pytest.mark.parametrize("name,f,p", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_jacrev_and_vmap_of_grad(name, f, p):
    x = _input(T0, 2, ())
    jac = jacrev(lambda xi: f(xi, p))(x)
    xr = x.clone().requires_grad_(True)
    y = f(xr, p)
    rows = [torch.autograd.grad(y.reshape(-1)[i], xr, retain_graph=True)[0] for i in range(y.numel())]
    torch.testing.assert_close(jac.reshape(y.numel(), -1), torch.stack(rows).reshape(y.numel(), -1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_sample = vmap(grad(lambda xi: f(xi, p).sum()), in_dims=1, out_dims=1)(x)
    whole = torch.autograd.grad(f(xr, p).sum(), xr)[0]
    torch.testing.assert_close(per_sample, whole)


def test_gradcheck_smooth_float64():
    x = _input(T0, 2, (), dtype=torch.float64).requires_grad_(True)
    w, b = (t.requires_grad_(True) for t in _params(T0, 2, torch.float64))
    sw, sb = (t.requires_grad_(True) for t in _sliding_params(K0, 2, torch.float64))
    lam = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    s = dict(surrogate_function=SMOOTH)
    assert torch.autograd.gradcheck(lambda x, w, b: fnsnn.psn_multi_step(x, weight=w, bias=b, **s)[0], (x, w, b))
    assert torch.autograd.gradcheck(
        lambda x, w, b, lam: fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2, lambda_=lam, **s)[0],
        (x, w, b, lam))
    for backend in ("gemm", "conv"):
        assert torch.autograd.gradcheck(
            lambda x, w, b: fnsnn.sliding_psn_multi_step(x, weight=w, bias=b, backend=backend, **s)[0], (x, sw, sb))
    assert torch.autograd.gradcheck(
        lambda x, w, b: fnsnn.masked_psn_step(x[2], MaskedPSNState(x[:2]), weight=w, bias=b, k=2, **s)[0],
        (x, w, b))
    assert torch.autograd.gradcheck(
        lambda x, w, b: fnsnn.sliding_psn_step(x[2], SlidingPSNState(x[:2]), weight=w, bias=b, **s)[0],
        (x, sw, sb))


def test_step_functions_under_vmap_and_grad():
    x = _input(T0, 4, (2,))
    w, b = _params(T0, 4)
    sw, sb = _sliding_params(K0, 4)

    def masked_stream(x_seq):
        state, ys = None, []
        for x_t in x_seq.unbind(0):
            y, state = fnsnn.masked_psn_step(x_t, state, weight=w, bias=b, k=K0)
            ys.append(y)
        return torch.stack(ys)

    def sliding_stream(x_seq, weight):
        state, ys = None, []
        for x_t in x_seq.unbind(0):
            y, state = fnsnn.sliding_psn_step(x_t, state, weight=weight, bias=sb)
            ys.append(y)
        return torch.stack(ys)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ym = vmap(masked_stream, in_dims=1, out_dims=1)(x)
        ys = vmap(lambda xi: sliding_stream(xi, sw), in_dims=1, out_dims=1)(x)
        # A batched state passed in explicitly: batch dim 1 of the time-major history.
        y1, s1 = vmap(lambda xi, si: fnsnn.sliding_psn_step(xi, si, weight=sw, bias=sb),
                      in_dims=(0, SlidingPSNState(1)), out_dims=(0, SlidingPSNState(1)))(
            x[2], SlidingPSNState(x[:2]))
        gw = grad(lambda wt: sliding_stream(x, wt).sum())(sw)
    torch.testing.assert_close(ym, fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=K0)[0], rtol=0, atol=0)
    torch.testing.assert_close(ys, fnsnn.sliding_psn_multi_step(x, weight=sw, bias=sb)[0])
    y_ref, s_ref = fnsnn.sliding_psn_step(x[2], SlidingPSNState(x[:2]), weight=sw, bias=sb)
    torch.testing.assert_close(y1, y_ref)
    torch.testing.assert_close(s1.history, s_ref.history)
    swr = sw.clone().requires_grad_(True)
    torch.testing.assert_close(gw, torch.autograd.grad(sliding_stream(x, swr).sum(), swr)[0])


# --------------------------------------------------------------------------- #
# module shells
# --------------------------------------------------------------------------- #


def test_shells_equal_core():
    x = _input(T0, 3, (2,))
    p = PSN(T0)
    torch.testing.assert_close(p(x), fnsnn.psn_multi_step(x, weight=p.weight, bias=p.bias)[0], rtol=0, atol=0)
    m = MaskedPSN(K0, T0, lambda_init=0.5, step_mode="m")
    want = fnsnn.masked_psn_multi_step(x, weight=m.weight, bias=m.bias, k=K0, lambda_=0.5)[0]
    torch.testing.assert_close(m(x), want, rtol=0, atol=0)
    for backend in ("gemm", "conv"):
        s = SlidingPSN(K0, step_mode="m", backend=backend)
        want = fnsnn.sliding_psn_multi_step(x, weight=s.weight, bias=s.bias, backend=backend)[0]
        torch.testing.assert_close(s(x), want, rtol=0, atol=0)
        assert s.queue is None  # multi-step mode reads and writes no memory, as in SpikingJelly


def test_shell_single_step_equals_multi_step_and_reset():
    x = _input(T0, 3, (2,))
    m = MaskedPSN(K0, T0, lambda_init=1.0)
    s = SlidingPSN(K0)
    for module in (m, s):
        ys = torch.stack([module(x_t) for x_t in x.unbind(0)])
        module.step_mode = "m"
        torch.testing.assert_close(ys, module(x), rtol=0, atol=0)
        module.step_mode = "s"
    assert m.time_step == T0 and m.queue.shape == x.shape
    assert s.queue.shape == (K0 - 1, 3, 2)
    reset_net(torch.nn.Sequential(m, s))
    assert m.queue is None and m.time_step == 0 and s.queue is None
    # After a reset a new batch size is fine.
    assert m(x[0, :1]).shape == (1, 2) and s(x[0, :1]).shape == (1, 2)


def test_shell_detach_cuts_history_graph():
    x = _input(T0, 2, ()).requires_grad_(True)
    s = SlidingPSN(K0)
    s(x[0])
    assert s.queue.requires_grad
    s.detach()
    assert not s.queue.requires_grad


def test_explicit_state_door_streams():
    x = _input(T0, 3, (2,))
    for module in (MaskedPSN(K0, T0, lambda_init=1.0), SlidingPSN(K0)):
        net = torch.nn.Sequential(torch.nn.Identity(), module)
        state = fnsnn_nn.init_state(net, x[0])
        key = [k for k in state if k][0]
        assert set(state[key]) == ({"time_step", "queue"} if isinstance(module, MaskedPSN) else {"queue"})
        ys = []
        for x_t in x.unbind(0):
            y, state = fnsnn_nn.apply(net, x_t, state)
            ys.append(y)
        assert module.queue is None  # apply leaves the module's own memory alone
        module.step_mode = "m"
        torch.testing.assert_close(torch.stack(ys), module(x), rtol=0, atol=0)


def test_psn_step_mode_and_set_step_mode():
    p = PSN(3)
    assert p.step_mode == "m" and p.supported_step_mode() == ("m",)
    set_step_mode(torch.nn.Sequential(p), "s")  # skipped: PSN has no single-step form
    assert p.step_mode == "m"
    with pytest.raises(ValueError, match=r"PSN.step_mode: expected one of \('m',\), got 's'"):
        p.step_mode = "s"
    s = SlidingPSN(2)
    set_step_mode(torch.nn.Sequential(s), "m")
    assert s.step_mode == "m"


def test_state_dict_round_trip_and_sj_masks():
    sj = _sj().MaskedPSN(2, 4, lambda_init=0.7)
    ours = MaskedPSN(2, 4)
    ours.load_state_dict(sj.state_dict(), strict=True)
    assert set(ours.state_dict()) == {"_lambda_", "weight", "bias", "mask0", "mask1"}
    torch.testing.assert_close(ours.weight, sj.weight, rtol=0, atol=0)
    sj.load_state_dict(ours.state_dict(), strict=True)  # the masks are stored as SpikingJelly stores them
    torch.testing.assert_close(ours.mask0, sj.mask0, rtol=0, atol=0)
    other = MaskedPSN(3, 4)
    with pytest.raises(RuntimeError, match=r"mask0 does not match this module's k=3, T=4"):
        other.load_state_dict(sj.state_dict())
    fresh = MaskedPSN(2, 4)
    fresh.load_state_dict(ours.state_dict())
    assert float(fresh.lambda_) == pytest.approx(0.7)
    fresh.lambda_ = 0.25
    assert float(fresh.lambda_) == 0.25


def test_shell_defaults_follow_spikingjelly():
    sj_p, p = _sj().PSN(4), PSN(4)
    assert p.weight.shape == sj_p.weight.shape == (4, 4) and p.bias.shape == sj_p.bias.shape == (4, 1)
    torch.testing.assert_close(p.bias, sj_p.bias)
    s, sj_s = SlidingPSN(4), _sj().SlidingPSN(4)
    assert s.bias.shape == sj_s.bias.shape == () and s.bias.detach().item() == -1.0
    assert s.step_mode == "s" and s.backend == "gemm" and s.supported_backends == ("gemm", "conv")
    m = MaskedPSN(2, 4)
    assert m.step_mode == "s" and float(m.lambda_) == 0.0
    for module in (p, s, m):
        assert isinstance(module.surrogate_function, fnsnn_nn.surrogate.ATan)
    bound = 1.0 / 4 ** 0.5  # kaiming_uniform(a=sqrt(5)) on fan_in = 4
    assert p.weight.abs().max() <= bound and SlidingPSN(4, exp_init=False).weight.abs().max() <= 1.0


# --------------------------------------------------------------------------- #
# documented errors
# --------------------------------------------------------------------------- #


def test_core_errors():
    x = _input(4, 2, ())
    w, b = _params(4)
    sw, sb = _sliding_params(3)
    with pytest.raises(ValueError, match=r"psn_multi_step: `x_seq` has 3 time steps but `weight` is 4x4"):
        fnsnn.psn_multi_step(x[:3], weight=w, bias=b)
    with pytest.raises(ValueError, match=r"psn_multi_step: `weight` must be a square \[T, T\]"):
        fnsnn.psn_multi_step(x, weight=w[:, :3], bias=b)
    with pytest.raises(TypeError, match=r"psn_multi_step: `state` must be None or PSNState\(\)"):
        fnsnn.psn_multi_step(x, MaskedPSNState(x), weight=w, bias=b)
    with pytest.raises(ValueError, match=r"psn_multi_step: `bias` must have shape \[\] or \[4\] or \[4, 1\]"):
        fnsnn.psn_multi_step(x, weight=w, bias=torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"psn_multi_step: `weight` has dtype torch.float64"):
        fnsnn.psn_multi_step(x, weight=w.double(), bias=b)
    with pytest.raises(ValueError, match=r"psn_multi_step: `x_seq` has an empty time dimension"):
        fnsnn.psn_multi_step(x[:0], weight=w, bias=b)
    with pytest.raises(TypeError, match=r"psn_multi_step: `x_seq` must be a torch.Tensor"):
        fnsnn.psn_multi_step([1.0], weight=w, bias=b)
    with pytest.raises(TypeError, match=r"psn_multi_step: `surrogate_function` must be callable"):
        fnsnn.psn_multi_step(x, weight=w, bias=b, surrogate_function=1.0)
    # MaskedPSN order and length.
    with pytest.raises(ValueError, match=r"masked_psn_multi_step: the order `k`=5 exceeds the number of time steps T=4"):
        fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=5)
    with pytest.raises(ValueError, match=r"masked_psn_step: `k` \(the order\) must be >= 1, got 0"):
        fnsnn.masked_psn_step(x[0], weight=w, bias=b, k=0)
    with pytest.raises(TypeError, match=r"masked_psn_multi_step: `k` \(the order\) must be an int, got float 2.0"):
        fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2.0)
    with pytest.raises(ValueError, match=r"masked_psn_weight: the order `k`=5 exceeds"):
        fnsnn.masked_psn_weight(w, k=5)
    with pytest.raises(ValueError, match=r"masked_psn_multi_step: `x_seq` has 4 time steps and the state 1"):
        fnsnn.masked_psn_multi_step(x, MaskedPSNState(x[:1]), weight=w, bias=b, k=2)
    with pytest.raises(ValueError, match=r"masked_psn_multi_step: `lambda_` must be a number or a 0-dim tensor"):
        fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2, lambda_=torch.ones(2))
    with pytest.raises(TypeError, match=r"masked_psn_multi_step: `lambda_` must be a real number or a tensor"):
        fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2, lambda_="1")
    with pytest.raises(ValueError, match=r"masked_psn_step: `state.history` has shape \(1, 3\) but the input needs"):
        fnsnn.masked_psn_step(x[0], MaskedPSNState(torch.zeros(1, 3)), weight=w, bias=b, k=2)
    with pytest.raises(TypeError, match=r"masked_psn_step: `state` must be a MaskedPSNState"):
        fnsnn.masked_psn_step(x[0], SlidingPSNState(x[:1]), weight=w, bias=b, k=2)
    # Past T: a ValueError that is also an OverflowError (SpikingJelly raises OverflowError).
    _, full = fnsnn.masked_psn_multi_step(x, weight=w, bias=b, k=2)
    with pytest.raises(MaskedPSNOverflowError, match=r"masked_psn_step: the state has already run 4 steps"):
        fnsnn.masked_psn_step(x[0], full, weight=w, bias=b, k=2)
    with pytest.raises(OverflowError):
        fnsnn.masked_psn_step(x[0], full, weight=w, bias=b, k=2)
    with pytest.raises(ValueError):
        fnsnn.masked_psn_step(x[0], full, weight=w, bias=b, k=2)
    # SlidingPSN.
    with pytest.raises(ValueError, match=r"sliding_psn_multi_step: `backend` must be one of \('gemm', 'conv'\)"):
        fnsnn.sliding_psn_multi_step(x, weight=sw, bias=sb, backend="cupy")
    with pytest.raises(TypeError, match=r"sliding_psn_multi_step: `backend` must be a str"):
        fnsnn.sliding_psn_multi_step(x, weight=sw, bias=sb, backend=None)
    with pytest.raises(ValueError, match=r"sliding_psn_step: `weight` must have shape \[k\] with the order k >= 1"):
        fnsnn.sliding_psn_step(x[0], weight=sw[:0], bias=sb)
    with pytest.raises(ValueError, match=r"sliding_psn_multi_step: `bias` must have shape \[\], got shape \(1,\)"):
        fnsnn.sliding_psn_multi_step(x, weight=sw, bias=sb.reshape(1))
    with pytest.raises(ValueError, match=r"sliding_psn_step: `state.history` has shape \(1, 2\) but the input needs"):
        fnsnn.sliding_psn_step(x[0], SlidingPSNState(torch.zeros(1, 2)), weight=sw, bias=sb)
    with pytest.raises(ValueError, match=r"sliding_psn_init_state: `k` \(the order\) must be >= 1, got 0"):
        fnsnn.sliding_psn_init_state(x[0], k=0)
    with pytest.raises(ValueError, match=r"sliding_psn_gemm_weight: `T` must be an int >= 1, got int 0"):
        fnsnn.sliding_psn_gemm_weight(sw, 0)
    with pytest.raises(TypeError, match=r"sliding_psn_step: `x` must be a floating-point tensor"):
        fnsnn.sliding_psn_step(torch.ones(2, dtype=torch.long), weight=sw, bias=sb)


def test_shell_errors():
    with pytest.raises(ValueError, match=r"MaskedPSN: the order `k`=5 exceeds the number of time steps T=4"):
        MaskedPSN(5, 4)
    with pytest.raises(ValueError, match=r"MaskedPSN: `k` must be >= 1, got 0"):
        MaskedPSN(0, 4)
    with pytest.raises(ValueError, match=r"SlidingPSN: `k` must be >= 1, got 0"):
        SlidingPSN(0)
    with pytest.raises(TypeError, match=r"PSN: `T` must be an int, got float 4.0"):
        PSN(4.0)
    with pytest.raises(TypeError, match=r"MaskedPSN: `surrogate_function` must be callable"):
        MaskedPSN(2, 4, surrogate_function="atan")
    with pytest.raises(TypeError, match=r"SlidingPSN: `exp_init` must be a bool"):
        SlidingPSN(2, exp_init=1)
    with pytest.raises(ValueError, match=r"SlidingPSN: `backend` must be one of \('gemm', 'conv'\), got 'cupy'"):
        SlidingPSN(2, backend="cupy")
    with pytest.raises(ValueError, match=r"MaskedPSN.step_mode: expected one of \('s', 'm'\), got 'x'"):
        MaskedPSN(2, 4, step_mode="x")
    with pytest.raises(ValueError, match=r"psn_multi_step: `x_seq` has 3 time steps but `weight` is 4x4"):
        PSN(4)(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"masked_psn_multi_step: `x_seq` has 3 time steps and the state 0"):
        MaskedPSN(2, 4, step_mode="m")(torch.zeros(3, 2))
    m = MaskedPSN(2, 4)
    with pytest.raises(ValueError, match=r"MaskedPSN: single-step mode needs lambda_ >= 1 .* got lambda_=0.0"):
        m(torch.zeros(2))
    m.lambda_ = 1.0
    for _ in range(4):
        m(torch.zeros(2))
    with pytest.raises(OverflowError, match=r"masked_psn_step: the state has already run 4 steps .* T=4"):
        m(torch.zeros(2))
    m.reset()
    m(torch.zeros(2))
    with pytest.raises(ValueError, match=r"MaskedPSN: stored memory `queue` has shape \(1, 2\) but this input "
                                         r"needs \(1, 3\).*reset_net"):
        m(torch.zeros(3))
    s = SlidingPSN(3)
    s(torch.zeros(2))
    with pytest.raises(ValueError, match=r"SlidingPSN: stored memory `queue` has shape \(2, 2\) but this input "
                                         r"needs \(2, 5\)"):
        s(torch.zeros(5))
    with pytest.raises(TypeError, match=r"SlidingPSN: input must be a tensor, got list"):
        s([0.0])
    with pytest.raises(TypeError, match=r"MaskedPSN: `lambda_` must be a real number or a tensor, got str"):
        m.lambda_ = "one"


@pytest.mark.parity
def test_psn_memories_carry_the_seed_names():
    # The PSN seed registers MaskedPSN's memories `time_step` (0) and `queue`, and SlidingPSN's `queue`.
    # The seed keeps `queue` as a list of flattened inputs; here it is one tensor (the core state's history).
    T, k = 4, 2
    pairs = ((MaskedPSN(k, T, lambda_init=1.0), _sj().MaskedPSN(k, T, lambda_init=1.0)),
             (SlidingPSN(k), _sj().SlidingPSN(k)))
    for ours, sj in pairs:
        assert [n for n, _ in ours.named_memories()] == list(sj._memories)
        ours.load_state_dict(sj.state_dict(), strict=True)
    m, ref = pairs[0]
    assert m.time_step == ref.time_step == 0
    x = _input(T, 3, (2,))
    for t, x_t in enumerate(x.unbind(0), 1):
        torch.testing.assert_close(m(x_t), ref(x_t))
        assert m.time_step == ref.time_step == t and m.time_step.dtype == torch.long
        torch.testing.assert_close(m.queue[-1], x_t, rtol=0, atol=0)
        torch.testing.assert_close(m.queue[-1].flatten(), ref.queue[-1], rtol=0, atol=0)
    s, sref = pairs[1]
    for x_t in x.unbind(0):
        torch.testing.assert_close(s(x_t), sref(x_t))
    torch.testing.assert_close(s.queue[-1].flatten(), sref.queue[-1], rtol=0, atol=0)
    m.reset(), s.reset()
    assert m.time_step == 0 and m.queue is None and s.queue is None


def test_masked_psn_time_step_must_match_queue():
    m = MaskedPSN(2, 4, lambda_init=1.0)
    m(torch.zeros(3))
    m.time_step = torch.tensor(3)
    with pytest.raises(ValueError, match=r"MaskedPSN: memory `time_step`=3 but `queue` holds 1 inputs"):
        m(torch.zeros(3))
