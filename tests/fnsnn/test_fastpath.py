"""The graph-free scans (backend="auto" off CUDA) against the reference loop (backend="torch")."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fnsnn
from fnsnn import surrogate as sg
from fnsnn.neurons import _fastpath
from fnsnn.neurons._base import resolve_backend
from fnsnn.neurons.lif import LIF

FAMILIES = {
    "if": (fnsnn.if_multi_step, None, 0.0),
    "lif": (fnsnn.lif_multi_step, "tau", 3.0),
    "plif": (fnsnn.plif_multi_step, "w", 0.3),
}
RESETS = [0.0, -0.2, None]


def _run(family, x, backend, param=None, **kw):
    fn, name, value = FAMILIES[family]
    if name is not None:
        kw[name] = value if param is None else param
    return fn(x, backend=backend, return_v_seq=True, **kw)


def _both(family, x, param=None, weights=None, **kw):
    """Outputs and gradients (input, initial state, parameter) of both backends."""
    out = {}
    for backend in ("auto", "torch"):
        xi = x.detach().clone().requires_grad_()
        v0 = torch.zeros_like(x[0]).requires_grad_()
        state = type(_run(family, x[:1], "torch", **kw)[1])(v0 + (0.0 if kw.get("v_reset", 0.0) is None
                                                                   else kw.get("v_reset", 0.0)))
        p = None if param is None else param.detach().clone().requires_grad_()
        fn, name, value = FAMILIES[family]
        if name is not None:
            kw2 = dict(kw, **{name: value if p is None else p})
        else:
            kw2 = kw
        s, final, v = fn(xi, state, backend=backend, return_v_seq=True, **kw2)
        w = torch.randn(v.shape, generator=torch.Generator().manual_seed(3), dtype=x.dtype)
        loss = (s * torch.cos(xi)).sum() + (v * w).sum() + (final.v ** 2).sum()
        wrt = [xi, v0] + ([p] if p is not None else [])
        out[backend] = (s, v, final.v, torch.autograd.grad(loss, wrt))
    return out["auto"], out["torch"]


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("v_reset", RESETS)
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("decay_input", [True, False])
def test_fast_matches_reference(family, v_reset, detach_reset, decay_input):
    if family == "if" and not decay_input:
        pytest.skip("IF has no decay_input")
    kw = dict(v_reset=v_reset, detach_reset=detach_reset)
    if family != "if":
        kw["decay_input"] = decay_input
    param = None if family == "if" else torch.tensor(FAMILIES[family][2])
    x = torch.randn(9, 4, 33) * 1.5 + 0.5
    fast, ref = _both(family, x, param=param, **kw)
    assert torch.equal(fast[0], ref[0])
    torch.testing.assert_close(fast[1], ref[1], rtol=0, atol=0)
    torch.testing.assert_close(fast[2], ref[2], rtol=0, atol=0)
    for a, b in zip(fast[3], ref[3]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("surrogate", [c() for c in sg.SURROGATES if c is not sg.PoissonPass],
                         ids=lambda s: type(s).__name__)
def test_fast_every_surrogate(surrogate):
    x = torch.randn(6, 40) * 1.5 + 0.5
    fast, ref = _both("lif", x, param=torch.tensor(2.5), surrogate_function=surrogate)
    assert torch.equal(fast[0], ref[0])
    for a, b in zip(fast[3], ref[3]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


@settings(max_examples=12, deadline=None)
@given(T=st.integers(1, 7), shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       tau=st.floats(1.1, 8.0), v_threshold=st.floats(0.3, 1.5), soft=st.booleans())
def test_fast_random_shapes(T, shape, tau, v_threshold, soft):
    x = torch.randn(T, *shape) * 1.5 + 0.5
    kw = dict(tau=tau, v_threshold=v_threshold, v_reset=None if soft else 0.0)
    s_a, f_a, v_a = fnsnn.lif_multi_step(x, backend="auto", return_v_seq=True, **kw)
    s_r, f_r, v_r = fnsnn.lif_multi_step(x, backend="torch", return_v_seq=True, **kw)
    assert torch.equal(s_a, s_r) and torch.equal(v_a, v_r) and torch.equal(f_a.v, f_r.v)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fast_half_precision_equals_reference(dtype):
    x = (torch.randn(8, 64) * 1.5 + 0.5).to(dtype)
    s_a, f_a, v_a = fnsnn.lif_multi_step(x, tau=3.0, backend="auto", return_v_seq=True)
    s_r, f_r, v_r = fnsnn.lif_multi_step(x, tau=3.0, backend="torch", return_v_seq=True)
    assert s_a.dtype == dtype and torch.equal(s_a, s_r) and torch.equal(v_a, v_r)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_fast_gradcheck_float64(family, v_reset):
    # A surrogate whose support (|z| < 1e-4) no input reaches makes the surrogate gradient the true
    # derivative of the piecewise-smooth scan, so gradcheck checks leak, reset, state and parameter terms.
    fn, name, value = FAMILIES[family]
    x = (torch.randn(5, 6, dtype=torch.float64) * 1.5 + 0.5).requires_grad_()
    v0 = (torch.rand(6, dtype=torch.float64) * 0.5).requires_grad_()
    params = [x, v0]
    if name is not None:
        params.append(torch.tensor(value, dtype=torch.float64, requires_grad=True))

    def f(x, v0, *p):
        kw = {name: p[0]} if p else {}
        state = {"if": fnsnn.IFState, "lif": fnsnn.LIFState, "plif": fnsnn.PLIFState}[family](v0)
        s, final, v = fn(x, state, v_reset=v_reset, surrogate_function=sg.PiecewiseQuadratic(alpha=1e4),
                         return_v_seq=True, backend="auto", **kw)
        return s, final.v, v

    assert torch.autograd.gradcheck(f, tuple(params), atol=1e-6)
    assert f(*params)[0].sum() > 0  # spikes and resets took part


def test_fast_vmap_and_vmap_grad_without_fallback():
    x = torch.randn(6, 3, 7) * 1.5 + 0.5
    taus = torch.linspace(1.5, 6.0, 8)

    def loss(tau, backend):
        s, final = fnsnn.lif_multi_step(x, tau=tau, backend=backend)
        return (s * x).sum() + final.v.sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.func.vmap(lambda t: loss(t, "auto"))(taus)
        grads = torch.func.vmap(torch.func.grad(lambda t: loss(t, "auto")))(taus)
    looped = torch.stack([loss(t, "torch") for t in taus])
    looped_g = torch.stack([torch.func.grad(lambda t: loss(t, "torch"))(t) for t in taus])
    torch.testing.assert_close(batched, looped)
    torch.testing.assert_close(grads, looped_g, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("in_dims", [(0, None, None), (2, 0, None), (None, None, 0), (1, 0, 0)])
def test_fast_vmap_rule_matches_loop(family, in_dims):
    # the batching rule moves each vmapped dimension next to time: any input dimension, any mix of
    # batched inputs, and autograd through the vmapped call (the gradient is taken outside vmap)
    fn, name, value = FAMILIES[family]
    B = 3
    x = (torch.randn(B, 5, 2, 4) * 1.5 + 0.5).movedim(0, in_dims[0] or 0)
    x = x if in_dims[0] is not None else x.select(0, 0).contiguous()
    v0 = torch.rand(B, 2, 4) * 0.5 if in_dims[1] is not None else torch.rand(2, 4) * 0.5
    p = (torch.rand(B, 4) + 1.5 if family == "lif" else torch.randn(B, 4)) if in_dims[2] is not None \
        else torch.tensor(value)
    x, v0, p = (t.detach().requires_grad_() for t in (x, v0, p))
    state = type(fn(x.select(in_dims[0], 0) if in_dims[0] is not None else x, backend="torch")[1])

    def call(xi, vi, pi, backend):
        kw = {name: pi} if name is not None else {}
        s, final, v = fn(xi, state(vi), backend=backend, return_v_seq=True, **kw)
        return s, final.v, v

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.func.vmap(lambda a, b, c: call(a, b, c, "auto"), in_dims=in_dims)(x, v0, p)
    ref = [call(*(t if d is None else t.select(d, i) for t, d in zip((x, v0, p), in_dims)), "torch")
           for i in range(B)]
    ref = [torch.stack(r) for r in zip(*ref)]
    assert torch.equal(out[0], ref[0])
    for a, b in zip(out[1:], ref[1:]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    wrt = (x, v0, p) if name is not None else (x, v0)
    w = torch.randn(ref[2].shape)
    grads = [torch.autograd.grad((o[0] * w).sum() + (o[2] * w).sum() + o[1].square().sum(), wrt)
             for o in (out, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_fast_vmap_runs_the_compiled_blocks(compiled, monkeypatch):
    # under vmap the batching rule calls the scan on plain tensors, so the compiled blocks serve it
    calls = []
    real = _fastpath._forward_compiled
    monkeypatch.setattr(_fastpath, "_forward_compiled", lambda *a: calls.append(a[0].shape) or real(*a))
    x = torch.randn(10, 6) * 1.5 + 0.5
    taus = torch.linspace(1.5, 4.0, 4).requires_grad_()
    _fastpath._compiled_block.cache_clear()
    with warnings.catch_warnings():  # the batched tau is not a leaf: nothing may warn while compiling
        warnings.simplefilter("error", UserWarning)  # (inductor itself raises a DeprecationWarning)
        out = torch.func.vmap(lambda t: fnsnn.lif_multi_step(x, tau=t)[0])(taus)
    assert calls == [torch.Size([10, 4, 6])]
    ref = torch.stack([fnsnn.lif_multi_step(x, tau=t, backend="torch")[0] for t in taus])
    assert torch.equal(out, ref)
    g = torch.autograd.grad((out * x).sum(), taus)[0]
    g_ref = torch.autograd.grad(sum((fnsnn.lif_multi_step(x, tau=t, backend="torch")[0] * x).sum()
                                    for t in taus), taus)[0]
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)


def test_fast_per_neuron_tau_grad():
    x = torch.randn(5, 2, 4) * 1.5 + 0.5
    tau = (torch.rand(4) * 3 + 1.5).requires_grad_()
    g = [torch.autograd.grad(fnsnn.lif_multi_step(x, tau=tau, backend=b)[1].v.sum() +
                             fnsnn.lif_multi_step(x, tau=tau, backend=b)[0].sum(), tau)[0] for b in ("auto", "torch")]
    torch.testing.assert_close(g[0], g[1], rtol=1e-5, atol=1e-5)


def test_selection():
    x = torch.randn(3, 4)
    cfg = dict(v_threshold=1.0, v_reset=0.0, detach_reset=False, surrogate_function=sg.Sigmoid(), tau=2.0,
               decay_input=True)
    assert resolve_backend("f", LIF, "auto", x, cfg) == "fast"
    assert resolve_backend("f", LIF, "torch", x, cfg) == "torch"
    assert resolve_backend("f", LIF, "auto", x, dict(cfg, v_threshold=torch.tensor(1.0))) == "torch"
    assert resolve_backend("f", LIF, "auto", x, dict(cfg, surrogate_function=sg.Sigmoid(spiking=False))) == "torch"
    assert resolve_backend("f", LIF, "auto", x, dict(cfg, surrogate_function=lambda z: (z >= 0).float())) == "torch"


def test_fast_second_derivative_raises():
    x = (torch.randn(4, 5) + 0.5).requires_grad_()
    s, _ = fnsnn.lif_multi_step(x, backend="auto")
    (g,) = torch.autograd.grad(s.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(g.sum(), x)


# --------------------------------------------------------------------------- #
# the compiled per-step kernels (COMPILE_MODE="always" forces them on small inputs)
# --------------------------------------------------------------------------- #


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "always")


@pytest.mark.parametrize("family,v_reset,detach_reset,decay_input", [
    ("lif", 0.0, False, True),
    ("plif", None, True, False),
])
def test_compiled_matches_reference(compiled, family, v_reset, detach_reset, decay_input):
    # T=21: two full blocks and a shorter last one; gradients flow into x, v0 and the parameter
    x = torch.randn(21, 3, 11) * 1.5 + 0.5
    param = torch.tensor(FAMILIES[family][2])
    _fastpath._compiled_block.cache_clear()
    fast, ref = _both(family, x, param=param, v_reset=v_reset, detach_reset=detach_reset,
                      decay_input=decay_input)
    assert _fastpath._compiled_block.cache_info().currsize == 2  # the forward and the backward block
    assert torch.equal(fast[0], ref[0])
    torch.testing.assert_close(fast[1], ref[1], rtol=0, atol=0)
    torch.testing.assert_close(fast[2], ref[2], rtol=0, atol=0)
    for a, b in zip(fast[3], ref[3]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_compiled_if_spikes_only_loss(compiled):
    # no v_seq requested and only the spikes reach the loss: the backward gets no state gradients
    x = (torch.randn(5, 40) * 1.5 + 0.5).requires_grad_()
    grads = []
    for backend in ("auto", "torch"):
        s, _ = fnsnn.if_multi_step(x, backend=backend)
        grads.append((s, torch.autograd.grad((s * torch.sin(x)).sum(), x)[0]))
    assert torch.equal(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-5)


def test_compiled_used_and_eager_fallback_when_mode_never(monkeypatch):
    x = torch.randn(4, 8)
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "always")
    assert _fastpath._use_compiled(x[0])
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "auto")
    assert not _fastpath._use_compiled(x[0])  # below COMPILE_MIN_NUMEL
    assert not _fastpath._use_compiled(x[0].half())
    monkeypatch.setattr(_fastpath, "COMPILE_MIN_NUMEL", 8)
    assert _fastpath._use_compiled(x[0])
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "never")
    assert not _fastpath._use_compiled(x[0])
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "sometimes")
    with pytest.raises(ValueError, match="COMPILE_MODE .* must be 'auto', 'always' or 'never'"):
        _fastpath._use_compiled(x[0])


def _failing_compile(*args, **kwargs):
    import torch._inductor.exc as inductor_exc

    def step(*a):
        raise inductor_exc.InvalidCxxCompiler()

    return step


def test_compile_failure_warns_in_auto_and_raises_in_always(monkeypatch):
    monkeypatch.setattr(_fastpath, "_compiled", _failing_compile)
    monkeypatch.setattr(_fastpath, "COMPILE_MIN_NUMEL", 1)
    _fastpath._warn_build_failed.cache_clear()
    x = torch.randn(4, 8) * 1.5 + 0.5
    ref = fnsnn.lif_multi_step(x, backend="torch")[0]
    with pytest.warns(RuntimeWarning, match="could not build the fused step .*InvalidCxxCompiler"):
        out = fnsnn.lif_multi_step(x)[0]
    assert torch.equal(out, ref)
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "always")
    with pytest.raises(RuntimeError, match="'always' but torch.compile could not build"):
        fnsnn.lif_multi_step(x)
    _fastpath._warn_build_failed.cache_clear()


def test_compiled_forward_eager_backward(monkeypatch):
    # a backward that may not compile recomputes from the same checkpoints with the eager block
    x = torch.randn(11, 2, 5) * 1.5 + 0.5
    tau = torch.tensor(2.5)
    grads = []
    for mode in ("never", "always"):
        xi, t = x.clone().requires_grad_(), tau.clone().requires_grad_()
        monkeypatch.setattr(_fastpath, "COMPILE_MODE", mode)
        s, final, v = fnsnn.lif_multi_step(xi, tau=t, return_v_seq=True)
        monkeypatch.setattr(_fastpath, "COMPILE_MODE", "never")
        loss = (s * torch.cos(xi)).sum() + (v * xi).sum() + final.v.sum()
        grads.append((s, torch.autograd.grad(loss, (xi, t))))
    assert torch.equal(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn,name,values,kw", [
    (fnsnn.lif_multi_step, "tau", torch.linspace(2.4, 3.6, 4), {}),
    (fnsnn.plif_multi_step, "w", torch.linspace(0.24, 0.36, 4), {}),
    (fnsnn.izhikevich_multi_step, "a", torch.linspace(0.2, 0.4, 4), {"b": 0.2}),
], ids=["lif", "plif", "izhikevich"])
def test_compiled_forward_under_vmap_grad(compiled, fn, name, values, kw):
    # vmap(grad): the batching rule runs the compiled forward on plain tensors, then the backward runs
    # under vmap with batched gradients and an unbatched input; its eager blocks must not write in place
    x = torch.randn(20, 3, 7) * 0.8 + 0.4

    def loss(xx, p, backend):
        s, final = fn(xx, backend=backend, **kw, **{name: p})
        return (s * torch.cos(xx)).sum() + sum(f.sum() for f in final)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        g = torch.func.vmap(torch.func.grad(lambda xx, p: loss(xx, p, "auto"), argnums=(0, 1)),
                            in_dims=(None, 0))(x, values)
    ref = [torch.func.grad(lambda xx, p: loss(xx, p, "torch"), argnums=(0, 1))(x, p) for p in values]
    assert torch.isfinite(g[0]).all() and g[0].abs().sum() > 0
    for got, want in zip(g, (torch.stack(r) for r in zip(*ref))):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)


def test_torch_compile_fullgraph_two_layer_mlp_on_the_fast_scans():
    # the CPU fast scans (an autograd.Function with a vmap rule) trace without a graph break
    x = torch.randn(10, 4, 16)
    w1 = torch.randn(16, 32, requires_grad=True)
    w2 = (torch.randn(32, 8) * 0.5).requires_grad_()

    def net(x, backend):
        s1, _ = fnsnn.lif_multi_step(x @ w1, tau=2.0, backend=backend)
        s2, _ = fnsnn.izhikevich_multi_step(s1 @ w2, a=0.3, b=0.2, backend=backend)
        return s2

    compiled = torch.compile(lambda x: net(x, "auto"), fullgraph=True, backend="aot_eager")
    out, ref = compiled(x), net(x, "torch")
    assert torch.equal(out, ref) and ref.sum() > 0
    weights = torch.arange(8.0)
    grads = [torch.autograd.grad((o * weights).sum(), (w1, w2)) for o in (out, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
