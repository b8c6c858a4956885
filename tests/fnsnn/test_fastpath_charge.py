"""The graph-free scans of QIF, EIF, KLIF, CUBA-LIF, Izhikevich and CLIF (backend="auto" off CUDA) against the
reference loop (backend="torch")."""

import dataclasses
import re
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fnsnn
from fnsnn import surrogate as sg
from fnsnn.neurons import _fastpath
from fnsnn.neurons import _fastpath_charge as fc
from fnsnn.neurons._base import resolve_backend
from fnsnn.neurons.lif_variants import CLIF, CUBALIF, KLIF
from fnsnn.neurons.nonlinear_if import EIF, IZHIKEVICH, QIF

# family -> (multi_step, state type, numeric parameters, hard-reset value, number of state fields)
FAMILIES = {
    "qif": (fnsnn.qif_multi_step, fnsnn.QIFState, dict(tau=2.5, v_c=0.7, a0=0.8, v_rest=0.05), -0.1, 1),
    "eif": (fnsnn.eif_multi_step, fnsnn.EIFState, dict(tau=2.5, delta_T=0.9, theta_rh=0.7, v_rest=0.05), -0.1, 1),
    "klif": (fnsnn.klif_multi_step, fnsnn.KLIFState, dict(tau=2.5, k=1.3), 0.0, 1),
    "cuba_lif": (fnsnn.cuba_lif_multi_step, fnsnn.CUBALIFState, dict(c_decay=0.6, v_decay=0.7), 0.0, 2),
    "izhikevich": (fnsnn.izhikevich_multi_step, fnsnn.IzhikevichState,
                   dict(tau=2.5, v_c=0.7, a0=0.8, v_rest=-0.05, tau_w=3.0, a=0.3, b=0.2), 0.0, 2),
    "clif": (fnsnn.clif_multi_step, fnsnn.CLIFState, dict(tau=2.5), None, 2),
}
FAMILY_OBJECTS = {"qif": QIF, "eif": EIF, "klif": KLIF, "cuba_lif": CUBALIF, "izhikevich": IZHIKEVICH,
                  "clif": CLIF}
SPIKING = [c() for c in sg.SURROGATES if c is not sg.PoissonPass]


def _firing(family, hard, detach_reset=False):
    """Reset keywords; CLIF has its own reset and takes none."""
    if family == "clif":
        return {}
    return dict(v_reset=FAMILIES[family][3] if hard else None, detach_reset=detach_reset)


def _input(*shape, dtype=torch.float32, seed=0):
    # small drive: the quadratic and exponential neurons stay bounded under a soft reset
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * 0.6 + 0.3).to(dtype)


def _run(family, x, backend, params=None, state=None, **kw):
    """Spikes, v_seq, final state and the gradients w.r.t. (x, state fields, tensor params)."""
    fn, state_type, defaults, _, n_state = FAMILIES[family]
    xi = x.detach().clone().requires_grad_()
    if state is None:
        g = torch.Generator().manual_seed(5)
        state = [torch.rand(x.shape[1:], generator=g, dtype=torch.float64).to(x.dtype) * 0.5
                 for _ in range(n_state)]
    state = [s.detach().clone().requires_grad_() for s in state]
    params = {k: torch.tensor(v, dtype=x.dtype) for k, v in defaults.items()} if params is None else params
    wrt = [xi] + state
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().clone().requires_grad_()
            wrt.append(value)
        kw[name] = value
    s, final, v = fn(xi, state_type(*state), backend=backend, return_v_seq=True, **kw)
    g = torch.Generator().manual_seed(7)
    w1 = torch.randn(v.shape, generator=g, dtype=torch.float64).to(x.dtype)
    w2 = torch.randn(v.shape, generator=g, dtype=torch.float64).to(x.dtype)
    loss = (s * w1).sum() + (v * w2).sum() + sum((f ** 2).sum() for f in final)
    return s, v, tuple(final), torch.autograd.grad(loss, wrt)


def _compare(family, x, rtol=1e-5, atol=1e-4, **kw):
    fast, ref = _run(family, x, "auto", **kw), _run(family, x, "torch", **kw)
    assert torch.equal(fast[0], ref[0])
    torch.testing.assert_close(fast[1], ref[1], rtol=0, atol=0)
    for a, b in zip(fast[2], ref[2]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(fast[3]) == len(ref[3])
    for a, b in zip(fast[3], ref[3]):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    return fast


def _options():
    out = []
    for family in FAMILIES:
        if family == "clif":
            out.append((family, True, False, {}))
            continue
        extras = ([dict(decay_input=d, scale_reset=s) for d in (True, False) for s in (False, True)]
                  if family == "klif" else [{}])
        out += [(family, hard, detach, extra) for hard in (True, False) for detach in (False, True)
                for extra in extras]
    return out


@pytest.mark.parametrize("family,hard,detach_reset,extra", _options(),
                         ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else str(v))
def test_fast_matches_reference(family, hard, detach_reset, extra):
    # T=37 spans more than two backward chunks; every numeric parameter is a tensor with a gradient
    fast = _compare(family, _input(37, 3, 11), **_firing(family, hard, detach_reset), **extra)
    assert 0 < fast[0].mean() < 1  # some spikes, some silence: resets took part


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fast_float64_gradients_tight(family):
    _compare(family, _input(20, 2, 7, dtype=torch.float64), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fast_float_params_get_no_gradient(family):
    # Python-number parameters: same outputs, gradients for the input and state only
    fast = _compare(family, _input(9, 4, 5), params=dict(FAMILIES[family][2]))
    assert len(fast[3]) == 1 + FAMILIES[family][4]


@pytest.mark.parametrize("surrogate", SPIKING, ids=lambda s: type(s).__name__)
def test_fast_every_surrogate(surrogate):
    _compare("izhikevich", _input(8, 30), surrogate_function=surrogate)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fast_per_element_params(family):
    # one parameter per feature ([5], broadcast over the batch) and one per element ([3, 5])
    x = _input(11, 3, 5)
    g = torch.Generator().manual_seed(2)
    params = {}
    for i, (name, value) in enumerate(FAMILIES[family][2].items()):
        shape = (5,) if i % 2 == 0 else (3, 5)
        jitter = (torch.rand(shape, generator=g) - 0.5) * 0.2
        params[name] = torch.full(shape, float(value)) + jitter
    _compare(family, x, params=params, **_firing(family, True))


@settings(max_examples=15, deadline=None)
@given(family=st.sampled_from(sorted(FAMILIES)), T=st.integers(1, 20),
       shape=st.lists(st.integers(1, 5), min_size=0, max_size=3), scale=st.floats(0.8, 1.25),
       v_threshold=st.floats(0.5, 1.5), hard=st.booleans(), detach_reset=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fast_random_shapes_and_params(family, T, shape, scale, v_threshold, hard, detach_reset, seed):
    x = _input(T, *shape, seed=seed)
    params = {name: torch.tensor(value * scale if name not in ("v_rest", "v_c", "theta_rh", "a", "b")
                                 else value) for name, value in FAMILIES[family][2].items()}
    if family == "cuba_lif":
        params = {name: p.clamp(max=1.0) for name, p in params.items()}
    kw = dict(_firing(family, hard, detach_reset), v_threshold=v_threshold)
    _compare(family, x, params=params, **kw)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fast_half_precision_equals_reference(family, dtype):
    x = _input(12, 64, dtype=dtype)
    params = dict(FAMILIES[family][2])
    out = {}
    for backend in ("auto", "torch"):
        xi = x.clone().requires_grad_()
        s, final, v = FAMILIES[family][0](xi, backend=backend, return_v_seq=True, **params, **_firing(family, True))
        (gx,) = torch.autograd.grad((s.float() * torch.cos(x.float())).sum() + v.float().sum(), xi)
        out[backend] = (s, v, final, gx)
    (s_a, v_a, f_a, g_a), (s_r, v_r, f_r, g_r) = out["auto"], out["torch"]
    assert s_a.dtype == dtype and torch.equal(s_a, s_r) and torch.equal(v_a, v_r)
    assert all(torch.equal(a, b) for a, b in zip(f_a, f_r))
    assert g_a.dtype == dtype and torch.isfinite(g_a).all()
    torch.testing.assert_close(g_a.float(), g_r.float(), rtol=0.05, atol=0.05)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fast_gradcheck_float64(family):
    # A surrogate whose support (|z| < 1e-4) no input reaches makes the surrogate gradient the true
    # derivative of the piecewise-smooth scan, so gradcheck checks charge, reset, state and parameter terms.
    fn, state_type, defaults, _, n_state = FAMILIES[family]
    x = (_input(6, 5, dtype=torch.float64, seed=3) * 2.0).requires_grad_()
    state = [(torch.rand(5, dtype=torch.float64) * 0.5).requires_grad_() for _ in range(n_state)]
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in defaults.values()]

    def f(x, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        s, final, v = fn(x, state_type(*st), surrogate_function=sg.PiecewiseQuadratic(alpha=1e4),
                         return_v_seq=True, backend="auto", **dict(zip(defaults, ps)), **_firing(family, True))
        return (s, v) + tuple(final)

    assert torch.autograd.gradcheck(f, (x, *state, *params), atol=1e-6)
    assert f(x, *state, *params)[0].sum() > 0  # spikes and resets took part


@pytest.mark.parametrize("family,name", [("izhikevich", "a"), ("klif", "k"), ("clif", "tau"),
                                         ("cuba_lif", "v_decay"), ("eif", "delta_T"), ("qif", "a0")])
def test_fast_func_grad_vmap_and_vmap_grad_over_a_parameter(family, name):
    fn, _, defaults, _, _ = FAMILIES[family]
    x = _input(7, 3, 4)
    base = defaults[name]
    values = torch.linspace(0.8, 1.2, 5) * base

    def loss(p, backend):
        s, final = fn(x, backend=backend, **dict(defaults, **{name: p}))
        return (s * torch.cos(x)).sum() + sum((f ** 2).sum() for f in final)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.func.vmap(lambda p: loss(p, "auto"))(values)
        grads = torch.func.vmap(torch.func.grad(lambda p: loss(p, "auto")))(values)
        single = torch.func.grad(lambda p: loss(p, "auto"))(values[1])
    looped = torch.stack([loss(p, "torch") for p in values])
    looped_g = torch.stack([torch.func.grad(lambda p: loss(p, "torch"))(p) for p in values])
    torch.testing.assert_close(batched, looped)
    torch.testing.assert_close(grads, looped_g, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(single, looped_g[1], rtol=1e-5, atol=1e-4)


def test_fast_vmap_over_input_and_state():
    x = _input(6, 4, 3)
    w0 = torch.rand(4, 3) * 0.2

    def f(backend):
        def run(x, w):
            s, final = fnsnn.izhikevich_multi_step(x, fnsnn.IzhikevichState(torch.zeros_like(w), w), a=0.3, b=0.2,
                                                   backend=backend)
            return s, final.w
        return run

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.func.vmap(f("auto"), in_dims=(2, 1))(x, w0)
    ref = torch.func.vmap(f("torch"), in_dims=(2, 1))(x, w0)
    assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_selection(family):
    fn_family = FAMILY_OBJECTS[family]
    x = torch.randn(3, 2, 4)
    cfg = dict(FAMILIES[family][2], v_threshold=1.0, v_reset=0.0, detach_reset=False,
               surrogate_function=sg.Sigmoid(), decay_input=True, scale_reset=False)
    if family == "clif":
        del cfg["v_reset"], cfg["detach_reset"]
    assert resolve_backend("f", fn_family, "auto", x, cfg) == "fast"
    name = next(iter(FAMILIES[family][2]))
    for shape in ((), (4,), (2, 4), (1, 4)):  # tensors that broadcast to one step [2, 4]
        assert resolve_backend("f", fn_family, "auto", x, dict(cfg, **{name: torch.full(shape, 0.5)})) == "fast"
    assert resolve_backend("f", fn_family, "torch", x, cfg) == "torch"
    unsupported = [
        (dict(cfg, v_threshold=torch.tensor(1.0)), "`v_threshold` is not a Python number"),
        (dict(cfg, surrogate_function=sg.Sigmoid(spiking=False)), "closed-form derivative"),
        (dict(cfg, surrogate_function=lambda z: (z >= 0).float()), "closed-form derivative"),
        (dict(cfg, **{name: torch.full((3,), 0.5)}), r"does not broadcast to one time step's shape \(2, 4\)"),
        (dict(cfg, **{name: torch.full((2, 2, 4), 0.5)}), "does not broadcast"),
        (dict(cfg, **{name: torch.tensor(0.5, dtype=torch.float64)}), "is a torch.float64 tensor"),
    ]
    for bad, match in unsupported:
        reason = fn_family.kernels["fast"].unsupported(x, bad)
        assert reason is not None and re.search(match, reason), reason
        assert resolve_backend("f", fn_family, "auto", x, bad) == "torch"


def test_fast_unsupported_falls_back_to_reference_without_error():
    x = _input(5, 3, 4)
    kw = dict(b=torch.full((4,), 0.2), v_threshold=torch.tensor(0.9))  # a tensor threshold: the reference loop runs
    s_a, f_a = fnsnn.izhikevich_multi_step(x, **kw)
    s_r, f_r = fnsnn.izhikevich_multi_step(x, backend="torch", **kw)
    assert torch.equal(s_a, s_r) and torch.equal(f_a.w, f_r.w)


def test_fast_second_derivative_raises():
    x = (_input(4, 5)).requires_grad_()
    s, _ = fnsnn.izhikevich_multi_step(x, backend="auto")
    (g,) = torch.autograd.grad(s.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(g.sum(), x)


@pytest.mark.parity
def test_fast_izhikevich_parity_with_spikingjelly():
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    x = _input(16, 4, 6) * 2.0
    kw = dict(tau=2.5, tau_w=3.0, a=0.3, b=0.2, v_reset=0.0)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    s_a, final, v_a = fnsnn.izhikevich_multi_step(xa, surrogate_function=sg.ATan(), return_v_seq=True,
                                                  backend="auto", **kw)
    theirs = sj_neuron.IzhikevichNode(surrogate_function=sj_surrogate.ATan(), step_mode="m", store_v_seq=True, **kw)
    s_b = theirs(xb)
    assert torch.equal(s_a, s_b)
    torch.testing.assert_close(v_a, theirs.v_seq, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(final.w, theirs.w, rtol=1e-5, atol=1e-6)
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    ga = torch.autograd.grad((s_a * w).sum() + final.v.square().sum(), xa)[0]
    gb = torch.autograd.grad((s_b * w).sum() + theirs.v.square().sum(), xb)[0]
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- #
# compiled fused blocks (COMPILE_MODE="always" forces them on small inputs)
# --------------------------------------------------------------------------- #


def test_compiled_izhikevich_matches_reference(monkeypatch):
    # T=21: two full blocks and a shorter last one; per-element and 0-d tensor parameters with gradients
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", "always")
    fc._compiled_block.cache_clear()
    params = {k: torch.tensor(v) for k, v in FAMILIES["izhikevich"][2].items()}
    params["a"] = torch.full((11,), 0.3) + torch.linspace(-0.1, 0.1, 11)
    params["v_c"] = 0.7
    _compare("izhikevich", _input(21, 3, 11), params=params, v_reset=0.0)
    assert fc._compiled_block.cache_info().currsize == 2  # the forward and the backward block


def test_compiled_forward_eager_backward(monkeypatch):
    # a backward that may not compile recomputes from the same checkpoints with the eager block
    x = _input(11, 2, 5)
    grads = []
    for mode in ("never", "always"):
        xi, c = x.clone().requires_grad_(), torch.tensor(0.6, requires_grad=True)
        monkeypatch.setattr(_fastpath, "COMPILE_MODE", mode)
        s, final, v = fnsnn.cuba_lif_multi_step(xi, c_decay=c, return_v_seq=True)
        monkeypatch.setattr(_fastpath, "COMPILE_MODE", "never")
        loss = (s * torch.cos(xi)).sum() + (v * xi).sum() + final.c.sum()
        grads.append((s, torch.autograd.grad(loss, (xi, c))))
    assert torch.equal(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_compiled_blocks_skip_inexact_configurations():
    spec = fc._Spec(fc.KLIF, 1.0, 0.0, False, sg.Sigmoid(), True, True, False)
    assert not fc._compilable(spec, (2.0, 1.3))  # v_th / k of two Python numbers rounds in double
    assert fc._compilable(spec, (2.0, torch.tensor(1.3)))
    assert fc._compilable(dataclasses.replace(spec, scale_reset=False), (2.0, 1.3))
    assert not fc._compilable(dataclasses.replace(spec, neuron=fc.EIF), (2.0, 0.9, 0.7, 0.05))


@pytest.mark.parametrize("mode", ["never", "always"])
def test_vmap_rule_one_scan_over_the_batch(monkeypatch, mode):
    # input, second state and a per-element parameter batched along different dimensions: one scan of
    # the whole batch (compiled blocks where a single call compiles), equal to the per-sample loop,
    # with gradients taken outside vmap
    monkeypatch.setattr(_fastpath, "COMPILE_MODE", mode)
    calls = []
    real = fc._forward_compiled
    monkeypatch.setattr(fc, "_forward_compiled", lambda spec, x, *a: calls.append(x.shape) or real(spec, x, *a))
    B = 3
    x = _input(10, 4, B, 5).requires_grad_()
    w0 = (torch.rand(B, 4, 5) * 0.2).requires_grad_()
    a = (torch.rand(5, B) * 0.2 + 0.2).requires_grad_()

    def run(backend):
        def f(xi, wi, ai):
            s, final = fnsnn.izhikevich_multi_step(xi, fnsnn.IzhikevichState(torch.zeros_like(wi), wi), a=ai,
                                                   b=0.2, backend=backend)
            return s, final.v, final.w
        return f

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        out = torch.func.vmap(run("auto"), in_dims=(2, 0, 1))(x, w0, a)
    assert calls == ([torch.Size([10, B, 4, 5])] if mode == "always" else [])
    ref = [run("torch")(x[:, :, i], w0[i], a[:, i]) for i in range(B)]
    ref = [torch.stack(r) for r in zip(*ref)]
    assert torch.equal(out[0], ref[0])
    for o, r in zip(out[1:], ref[1:]):
        torch.testing.assert_close(o, r, rtol=0, atol=0)
    weights = torch.randn(out[0].shape)
    grads = [torch.autograd.grad((o[0] * weights).sum() + (o[1] ** 2).sum() + o[2].sum(), (x, w0, a))
             for o in (out, ref)]
    for g, r in zip(*grads):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-4)

