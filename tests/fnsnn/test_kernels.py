"""Triton scan kernels (run by the interpreter on CPU) against the reference loop."""

import os
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fnsnn
from fnsnn import surrogate as sg

pytestmark = pytest.mark.triton

kernels = pytest.importorskip("fnsnn.kernels")
from fnsnn.kernels import leaky  # noqa: E402

FAMILIES = {
    "if": (fnsnn.if_multi_step, None, None),
    "lif": (fnsnn.lif_multi_step, "tau", 3.0),
    "plif": (fnsnn.plif_multi_step, "w", 0.3),
}
STATES = {"if": fnsnn.IFState, "lif": fnsnn.LIFState, "plif": fnsnn.PLIFState}


def _outputs(family, x, backend, param=None, v0=None, ref_dtype=None, **kw):
    """Spikes, v_seq, final v and gradients w.r.t. (x, v0, param) for one backend."""
    fn, name, value = FAMILIES[family]
    xi = x.detach().clone().requires_grad_()
    base = 0.0 if kw.get("v_reset", 0.0) is None else kw.get("v_reset", 0.0)
    v0 = (torch.zeros_like(x[0]) + base if v0 is None else v0).detach().clone().requires_grad_()
    xin, vin = (xi, v0) if ref_dtype is None else (xi.to(ref_dtype), v0.to(ref_dtype))
    wrt = [xi, v0]
    if name is not None:
        p = torch.tensor(value) if param is None else param.detach().clone()
        p.requires_grad_()
        kw[name] = p
        wrt.append(p)
    s, final, v = fn(xin, STATES[family](vin), backend=backend, return_v_seq=True, **kw)
    g = torch.Generator().manual_seed(7)
    w1, w2 = torch.randn(v.shape, generator=g), torch.randn(v.shape, generator=g)
    loss = (s.float() * w1).sum() + (v.float() * w2).sum() + (final.v.float() ** 2).sum()
    return s, v, final.v, torch.autograd.grad(loss, wrt)


def _compare(family, x, rtol=1e-5, atol=1e-5, **kw):
    k = _outputs(family, x, "triton", **kw)
    r = _outputs(family, x, "torch", **kw)
    assert k[0].dtype == x.dtype and torch.equal(k[0], r[0])
    torch.testing.assert_close(k[1], r[1], rtol=rtol, atol=atol)
    torch.testing.assert_close(k[2], r[2], rtol=rtol, atol=atol)
    for a, b in zip(k[3], r[3]):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("v_reset", [0.0, -0.2, None])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_kernel_matches_reference(family, v_reset, detach_reset):
    x = torch.randn(5, 2, 150) * 1.5 + 0.5  # 300 elements: 3 blocks of 128, the last one partial
    configs = [dict()] if family == "if" else [dict(decay_input=True), dict(decay_input=False)]
    for extra in configs:
        _compare(family, x, v_reset=v_reset, detach_reset=detach_reset, **extra)


@pytest.mark.parametrize("surrogate", [c() for c in sg.SURROGATES if c is not sg.PoissonPass]
                         + [sg.SquarewaveFourierSeries(n=4), sg.PiecewiseLeakyReLU(w=0.5, c=0.1),
                            sg.LeakyKReLU(leak=0.1, k=2.0), sg.S2NN(alpha=3.0, beta=0.5)],
                         ids=lambda s: repr(s))
def test_kernel_every_surrogate(surrogate):
    x = torch.randn(4, 37) * 1.5 + 0.5
    _compare("lif", x, surrogate_function=surrogate, rtol=1e-4, atol=1e-5)


@settings(max_examples=8, deadline=None)
@given(T=st.integers(1, 6), shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       tau=st.floats(1.1, 8.0), v_threshold=st.floats(0.3, 1.5), soft=st.booleans())
def test_kernel_random_shapes(T, shape, tau, v_threshold, soft):
    x = torch.randn(T, *shape) * 1.5 + 0.5
    _compare("lif", x, param=torch.tensor(tau), v_threshold=v_threshold, v_reset=None if soft else 0.0)


def test_kernel_per_neuron_tau_and_initial_state():
    x = torch.randn(4, 3, 5) * 1.5 + 0.5
    _compare("lif", x, param=torch.rand(5) * 3 + 1.5, v0=torch.rand(3, 5) * 0.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_kernel_half_precision_accumulates_in_float32(dtype):
    x = (torch.randn(6, 70) * 1.5 + 0.5).to(dtype)
    k = _outputs("lif", x, "triton")
    r = _outputs("lif", x, "torch", ref_dtype=torch.float32)  # the float32 reference on the same inputs
    assert k[0].dtype == dtype and torch.equal(k[0].float(), r[0])
    # one unit in the last place: the interpreter's float32 -> bfloat16 cast truncates
    torch.testing.assert_close(k[1].float(), r[1].to(dtype).float(), rtol=1e-2, atol=0)
    for a, b in zip(k[3], r[3]):
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-2, atol=1e-2)


def test_kernel_float64():
    x = torch.randn(5, 40, dtype=torch.float64) * 1.5 + 0.5
    _compare("plif", x, param=torch.tensor(0.3, dtype=torch.float64), v_threshold=0.7, rtol=1e-12, atol=1e-12)


def _op_args(M=20, T=4, store_v=True):
    x = torch.randn(T, M) * 1.5 + 0.5
    static = (1.0, 0.0, True, leaky.PARAM_DIV, True, False, 0, 4.0, 0.0, 0)
    return x, torch.zeros(M), torch.tensor(3.0), store_v, static


@pytest.mark.parametrize("store_v", [True, False])
def test_opcheck(store_v):
    x, v0, tau, store_v, static = _op_args(store_v=store_v)
    torch.library.opcheck(leaky.leaky_scan_fwd, (x.requires_grad_(), v0, tau.requires_grad_(), store_v) + static)
    s, v_seq, h, vT = leaky.leaky_scan_fwd(x.detach(), v0, tau.detach(), store_v, *static)
    gvs = torch.randn_like(x) if store_v else x.new_empty(0)
    torch.library.opcheck(leaky.leaky_scan_bwd,
                          (torch.randn_like(x), gvs, torch.randn_like(v0), x.detach(), h, v0, tau.detach(), True)
                          + static)


class _Counter:
    """Counts launches of a jitted kernel (``kernel[grid](...)``)."""

    def __init__(self, kernel):
        self.kernel, self.calls = kernel, 0

    def __getitem__(self, grid):
        self.calls += 1
        return self.kernel[grid]


def test_vmap_over_tau_is_one_batched_launch(monkeypatch):
    fwd, bwd = _Counter(leaky._leaky_fwd_kernel), _Counter(leaky._leaky_bwd_kernel)
    monkeypatch.setattr(leaky, "_leaky_fwd_kernel", fwd)
    monkeypatch.setattr(leaky, "_leaky_bwd_kernel", bwd)
    x = torch.randn(5, 2, 9) * 1.5 + 0.5
    taus = torch.linspace(1.5, 6.0, 8)

    def loss(tau, backend):
        s, final = fnsnn.lif_multi_step(x, tau=tau, backend=backend)
        return (s * x).sum() + final.v.sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.func.vmap(lambda t: loss(t, "triton"))(taus)
        assert fwd.calls == 1
        grads = torch.func.vmap(torch.func.grad(lambda t: loss(t, "triton")))(taus)
        assert fwd.calls == 2 and bwd.calls == 1
    torch.testing.assert_close(out, torch.stack([loss(t, "torch") for t in taus]))
    ref = torch.stack([torch.func.grad(lambda t: loss(t, "torch"))(t) for t in taus])
    torch.testing.assert_close(grads, ref, rtol=1e-5, atol=1e-4)


def test_vmap_over_batched_input_and_state():
    x = torch.randn(3, 4, 6) * 1.5 + 0.5  # vmapped dim first
    v0 = torch.rand(3, 6) * 0.3
    fk = torch.func.vmap(lambda x, v: fnsnn.lif_multi_step(x, fnsnn.LIFState(v), backend="triton")[0])
    fr = torch.func.vmap(lambda x, v: fnsnn.lif_multi_step(x, fnsnn.LIFState(v), backend="torch")[0])
    assert torch.equal(fk(x, v0), fr(x, v0))


def test_compile_two_layer_mlp_fullgraph():
    torch._dynamo.reset()
    torch.manual_seed(0)
    w1, w2 = torch.randn(6, 12) * 0.6, torch.randn(12, 3) * 0.6
    tau = torch.tensor(2.0, requires_grad=True)

    def net(x, tau):
        s1, _ = fnsnn.lif_multi_step(x @ w1, tau=tau, backend="triton")
        s2, _ = fnsnn.plif_multi_step(s1 @ w2, w=0.1, v_reset=None, backend="triton")
        return s2.mean(0)

    x = torch.randn(4, 2, 6) + 0.5
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    out_c = compiled(x, tau)
    out_e = net(x, tau)
    assert torch.equal(out_c, out_e)
    g_c = torch.autograd.grad(compiled(x, tau).sum(), tau)
    g_e = torch.autograd.grad(net(x, tau).sum(), tau)
    torch.testing.assert_close(g_c, g_e)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="PoissonPass"):
        fnsnn.lif_multi_step(x, surrogate_function=sg.PoissonPass(), backend="triton")
    with pytest.raises(ValueError, match="closed-form kernel derivative"):
        fnsnn.lif_multi_step(x, surrogate_function=lambda z: (z >= 0).float(), backend="triton")
    with pytest.raises(ValueError, match="spiking=False"):
        fnsnn.lif_multi_step(x, surrogate_function=sg.Sigmoid(spiking=False), backend="triton")
    with pytest.raises(ValueError, match="v_threshold"):
        fnsnn.if_multi_step(x, v_threshold=torch.tensor(1.0), backend="triton")


def test_cpu_without_interpreter_raises(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        fnsnn.lif_multi_step(torch.randn(3, 4), backend="triton")


def test_auto_never_picks_triton_on_cpu(monkeypatch):
    fwd = _Counter(leaky._leaky_fwd_kernel)
    monkeypatch.setattr(leaky, "_leaky_fwd_kernel", fwd)
    fnsnn.lif_multi_step(torch.randn(3, 4), backend="auto")
    assert fwd.calls == 0 and os.environ["TRITON_INTERPRET"] == "1"
