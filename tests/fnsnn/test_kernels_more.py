"""Triton scans of QIF, EIF, KLIF, CUBA-LIF, Izhikevich and CLIF (interpreter on CPU) against the reference loop."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fnsnn
from fnsnn import surrogate as sg

pytestmark = pytest.mark.triton

kernels = pytest.importorskip("fnsnn.kernels")
from fnsnn.kernels import charge  # noqa: E402

# family -> (multi_step, state type, learnable numeric keywords and values, state fields)
FAMILIES = {
    "qif": (fnsnn.qif_multi_step, fnsnn.QIFState, dict(tau=2.5, v_c=0.7, a0=0.8, v_rest=0.05), ("v",)),
    "eif": (fnsnn.eif_multi_step, fnsnn.EIFState, dict(tau=2.5, delta_T=0.9, theta_rh=0.7, v_rest=0.05), ("v",)),
    "klif": (fnsnn.klif_multi_step, fnsnn.KLIFState, dict(tau=2.5, k=1.3), ("v",)),
    "cuba_lif": (fnsnn.cuba_lif_multi_step, fnsnn.CUBALIFState, dict(c_decay=0.6, v_decay=0.7), ("v", "c")),
    "izhikevich": (fnsnn.izhikevich_multi_step, fnsnn.IzhikevichState,
                   dict(tau=2.5, v_c=0.7, a0=0.8, v_rest=-0.05, tau_w=3.0, a=0.3, b=0.2), ("v", "w")),
    "clif": (fnsnn.clif_multi_step, fnsnn.CLIFState, dict(tau=2.5), ("v", "m")),
}
HARD_RESET = {"qif": -0.1, "eif": -0.1, "klif": 0.0, "cuba_lif": 0.0, "izhikevich": 0.0, "clif": None}


def _firing(family, hard, detach_reset=False):
    """Reset keywords; CLIF has its own reset and takes none."""
    if family == "clif":
        return {}
    return dict(v_reset=HARD_RESET[family] if hard else None, detach_reset=detach_reset)


def _outputs(family, x, backend, params=None, state=None, ref_dtype=None, **kw):
    """Spikes, v_seq, final state and gradients w.r.t. (x, state fields, tensor params) for one backend."""
    fn, state_type, defaults, fields = FAMILIES[family]
    xi = x.detach().clone().requires_grad_()
    if state is None:
        v_reset = kw.get("v_reset", HARD_RESET[family])
        rest = torch.zeros_like(x[0]) + (0.0 if v_reset is None else v_reset)
        state = [rest] + [torch.zeros_like(x[0])] * (len(fields) - 1)
    state = [s.detach().clone().requires_grad_() for s in state]
    wrt = [xi] + state
    params = {k: torch.tensor(v) for k, v in defaults.items()} if params is None else params
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().clone().requires_grad_()
            wrt.append(value)
        kw[name] = value
    xin, sin = xi, state
    if ref_dtype is not None:
        xin, sin = xi.to(ref_dtype), [s.to(ref_dtype) for s in state]
    s, final, v = fn(xin, state_type(*sin), backend=backend, return_v_seq=True, **kw)
    g = torch.Generator().manual_seed(7)
    w1, w2 = torch.randn(v.shape, generator=g), torch.randn(v.shape, generator=g)
    loss = (s.float() * w1).sum() + (v.float() * w2).sum() + sum((f.float() ** 2).sum() for f in final)
    return s, v, final, torch.autograd.grad(loss, wrt)


def _compare(family, x, rtol=1e-5, atol=1e-5, **kw):
    k = _outputs(family, x, "triton", **kw)
    r = _outputs(family, x, "torch", **kw)
    assert k[0].dtype == x.dtype and torch.equal(k[0], r[0])
    torch.testing.assert_close(k[1], r[1], rtol=rtol, atol=atol)
    for a, b in zip(k[2], r[2]):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    for a, b in zip(k[3], r[3]):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    return k


def _input(*shape, dtype=torch.float32):
    return (torch.randn(*shape) * 1.5 + 0.5).to(dtype)


def _options(family):
    if family == "klif":
        return [dict(scale_reset=s, decay_input=d) for s in (False, True) for d in (False, True)]
    return [dict()]


@pytest.mark.parametrize("family, hard, detach_reset",
                         [(f, h, d) for f in FAMILIES if f != "clif" for h in (True, False) for d in (False, True)]
                         + [("clif", False, False)])
def test_kernel_matches_reference(family, hard, detach_reset):
    x = _input(4, 2, 75)  # 150 elements: 2 blocks of 128, the last one partial
    for extra in _options(family):
        k = _compare(family, x, **_firing(family, hard, detach_reset), **extra)
        assert 0 < k[0].sum() < k[0].numel()  # both spikes and silence occur


@pytest.mark.parametrize("family", list(FAMILIES))
def test_kernel_per_element_params_and_initial_state(family):
    x = _input(3, 2, 5)
    _, _, defaults, fields = FAMILIES[family]
    params = {name: value + 0.2 * torch.rand(5) for name, value in defaults.items()}
    state = [torch.rand(2, 5) * 0.3 - 0.05 for _ in fields]
    _compare(family, x, params=params, state=state)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_kernel_float_params(family):
    _compare(family, _input(3, 9), params=dict(FAMILIES[family][2]))


_SURROGATES = [c() for c in sg.SURROGATES if c is not sg.PoissonPass] + [
    sg.SquarewaveFourierSeries(n=4), sg.LeakyKReLU(leak=0.1, k=2.0)]


@pytest.mark.parametrize("family, surrogate",
                         [(list(FAMILIES)[i % len(FAMILIES)], s) for i, s in enumerate(_SURROGATES)],
                         ids=lambda a: a if isinstance(a, str) else type(a).__name__)
def test_kernel_every_surrogate(family, surrogate):
    _compare(family, _input(3, 11), surrogate_function=surrogate, rtol=1e-4, atol=1e-5)


@settings(max_examples=8, deadline=None)
@given(family=st.sampled_from(list(FAMILIES)), T=st.integers(1, 4),
       shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), v_threshold=st.floats(0.3, 1.2),
       soft=st.booleans())
def test_kernel_random_shapes(family, T, shape, v_threshold, soft):
    _compare(family, _input(T, *shape), v_threshold=v_threshold, **_firing(family, not soft))


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_kernel_half_precision_accumulates_in_float32(family, dtype):
    x = _input(4, 30, dtype=dtype)
    k = _outputs(family, x, "triton")
    r = _outputs(family, x, "torch", ref_dtype=torch.float32)  # the float32 reference on the same inputs
    assert k[0].dtype == dtype and torch.equal(k[0].float(), r[0])
    torch.testing.assert_close(k[1].float(), r[1].to(dtype).float(), rtol=1e-2, atol=1e-2)
    # the loss reads the final state, rounded to ``dtype`` by the kernel: a few units in the last place
    rtol = 3e-2 if dtype == torch.bfloat16 else 1e-2
    for a, b in zip(k[3], r[3]):
        torch.testing.assert_close(a.float(), b.float(), rtol=rtol, atol=1e-2)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_kernel_float64(family):
    params = {k: torch.tensor(v, dtype=torch.float64) for k, v in FAMILIES[family][2].items()}
    _compare(family, _input(4, 20, dtype=torch.float64), params=params, rtol=1e-12, atol=1e-12)


def test_klif_vmap_over_k_and_grad():
    x = _input(4, 2, 6)
    ks = torch.linspace(0.5, 2.0, 5)

    def loss(k, backend):
        s, final = fnsnn.klif_multi_step(x, k=k, scale_reset=True, backend=backend)
        return (s * x).sum() + (final.v ** 2).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.func.vmap(lambda k: loss(k, "triton"))(ks)
        grads = torch.func.vmap(torch.func.grad(lambda k: loss(k, "triton")))(ks)
    torch.testing.assert_close(out, torch.stack([loss(k, "torch") for k in ks]))
    ref = torch.stack([torch.func.grad(lambda k: loss(k, "torch"))(k) for k in ks])
    torch.testing.assert_close(grads, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_vmap_over_batched_input_and_state(family):
    fn, state_type, _, fields = FAMILIES[family]
    x = _input(3, 4, 6)  # vmapped dim first
    state = [torch.rand(3, 6) * 0.3 for _ in fields]

    def run(backend):
        def f(x, *s):
            spikes, final = fn(x, state_type(*s), backend=backend)
            return spikes, tuple(final)
        return torch.func.vmap(f)(x, *state)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk, fk = run("triton")
    sr, fr = run("torch")
    assert torch.equal(sk, sr)
    for a, b in zip(fk, fr):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("neuron", [charge.CUBA, charge.IZHIKEVICH])
def test_opcheck_charge_ops(neuron):
    T, M = 3, 10
    x, v0, c0 = _input(T, M), torch.zeros(M), torch.rand(M)
    params = [torch.tensor(2.0), torch.rand(M) * 0.5 + 0.3] + [torch.tensor(v) for v in (0.8, -0.05, 3.0, 0.3, 0.2)]
    static = (0.5, 0.0, True, neuron, True, False, 8, 1.0, 0.0, 0, False)
    torch.library.opcheck(charge.charge_scan_fwd,
                          (x.requires_grad_(), v0, c0.requires_grad_(), params[0].requires_grad_(), *params[1:],
                           True) + static)
    s, v_seq, h, aux, vT, cT = charge.charge_scan_fwd(x.detach(), v0, c0.detach(), params[0].detach(),
                                                      *params[1:], True, *static)
    torch.library.opcheck(charge.charge_scan_bwd,
                          (torch.randn_like(x), torch.randn_like(x), torch.randn_like(v0), torch.randn_like(c0),
                           x.detach(), h, aux, v0, c0.detach(), params[0].detach(), *params[1:], True) + static)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="`tau` has shape"):
        fnsnn.qif_multi_step(x, tau=torch.full((3, 4), 2.0), backend="triton")
    with pytest.raises(ValueError, match="v_threshold"):
        fnsnn.eif_multi_step(x, v_threshold=torch.tensor(1.0), backend="triton")
    with pytest.raises(ValueError, match="PoissonPass"):
        fnsnn.klif_multi_step(x, surrogate_function=sg.PoissonPass(), backend="triton")
    with pytest.raises(ValueError, match="spiking=False"):
        fnsnn.cuba_lif_multi_step(x, surrogate_function=sg.Rect(spiking=False), backend="triton")
    with pytest.raises(ValueError, match="`b` has shape"):
        fnsnn.izhikevich_multi_step(x, b=torch.ones(2, 3, 4), backend="triton")
    with pytest.raises(ValueError, match="closed-form kernel derivative"):
        fnsnn.clif_multi_step(x, surrogate_function=lambda z: (z >= 0).float(), backend="triton")
