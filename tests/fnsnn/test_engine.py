"""The neuron engine: every family on every generated backend equals the reference loop, under every transform.

Backends: ``eager`` (graph-free scan), ``cpu`` (the traced step printed as C) and ``triton`` (the same
program printed as Triton, run under ``TRITON_INTERPRET=1``), each against ``torch`` (the reference).
Forward results are bit-identical where the traced program uses exactly rounded operations only
(always for ``eager``); spikes are compared exactly everywhere.
"""

from __future__ import annotations

import ast
import logging
import math
import pathlib

import pytest
import torch
from torch.func import grad, hessian, jacfwd, jacrev, jvp, vmap

import fnsnn
import fnsnn_nn
from fnsnn.kernels import cpu as cpu_kernels
from fnsnn.neurons import _engine
from tests.neuron_cases import CASES as ALL_CASES

CASES = [c for c in ALL_CASES if c.generated]  # families that run on the generated scans

IDS = [c.name for c in CASES]
GENERATED = ["eager", "cpu", pytest.param("triton", marks=pytest.mark.triton)]


def make_input(case, T=None, shape=None, dtype=torch.float32):
    x = torch.randn((case.T if T is None else T, *(case.shape if shape is None else shape)), dtype=dtype)
    return x * case.input_scale + case.input_shift


def run(case, x, state=None, **over):
    return case.multi_step(x, state, **{**case.config, **over})


def exact_forward() -> bool:
    """Whether the last call's backend reproduces the reference bit for bit by construction."""
    return _engine._last.exact


def smooth():
    return fnsnn.surrogate.Sigmoid(alpha=4.0, spiking=False)


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    return request.param


@pytest.fixture(params=GENERATED)
def backend(request):
    return request.param


# -- outputs and gradients ------------------------------------------------------


def _everything(case, x, backend, param=None):
    """Outputs, final state, v_seq and the gradients of a loss that uses all of them."""
    x = x.clone().requires_grad_(True)
    over = {} if param is None else {case.tensor_param: param}
    y, final, v = run(case, x, return_v_seq=True, backend=backend, **over)
    w = torch.linspace(-1.0, 1.0, y.numel()).reshape(y.shape)
    loss = (y * w).sum() + sum(t.square().sum() for t in final) + v.sin().sum()
    inputs = [x] + ([param] if param is not None and param.requires_grad else [])
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return y, final, v, grads


def test_backend_equals_reference(case, backend):
    x = make_input(case)
    param = None
    if case.tensor_param is not None:
        param = torch.tensor(float(case.config.get(case.tensor_param, 0.0)), requires_grad=True)
    ref = _everything(case, x, "torch", param)
    got = _everything(case, x, backend, param)
    assert fnsnn.last_backend() == backend
    exact = exact_forward()
    assert torch.equal(got[0], ref[0]) or not exact and torch.allclose(got[0], ref[0], atol=1e-5)
    if exact:
        assert all(torch.equal(a, b) for a, b in zip(got[1], ref[1]))
        assert torch.equal(got[2], ref[2])
    else:
        for a, b in zip([*got[1], got[2]], [*ref[1], ref[2]]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(got[3], ref[3]):
        if b is None:
            assert a is None or not a.any()
        else:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_backward_keeping_forward_values_equals_recomputing_them(case, monkeypatch):
    """The C backward keeps the forward values its vjp needs from the block's rerun; where they would not
    fit, it computes them again from the state. Both give the same bits."""
    x = make_input(case)
    param = None
    if case.tensor_param is not None:
        param = torch.tensor(float(case.config.get(case.tensor_param, 0.0)), requires_grad=True)
    monkeypatch.setattr(_engine, "_libraries", {})
    kept = _everything(case, x, "cpu", param)
    monkeypatch.setattr(cpu_kernels, "BLOCK_BYTES", 0)
    monkeypatch.setattr(_engine, "_libraries", {})
    again = _everything(case, x, "cpu", param)
    for a, b in zip(kept[3], again[3]):
        assert (a is None and b is None) or torch.equal(a, b)


def test_backward_keeps_the_lif_charge():
    plan, _ = _engine.make_plan(fnsnn.neurons.lif.LIF, dict(tau=2.0, decay_input=True, v_threshold=1.0,
                                                             v_reset=0.0, detach_reset=False,
                                                             surrogate_function=fnsnn.surrogate.Sigmoid()),
                                torch.float32)
    program = _engine.program_of(plan)
    shared = fnsnn.kernels.ir.recomputed(program)
    assert len(shared) >= 5  # the charge, the distance to the threshold and the spike are the forward's
    source = cpu_kernels.generate(program, plan.trace_field, "float", only="bwd")
    assert "kv0[t - t0][i] = " in source and "bf0" not in source  # kept from the rerun, state not re-read


@pytest.mark.parametrize("per_element", ["none", "v_threshold", "tau", "both"])
def test_per_element_parameters_equal_reference(per_element):
    """Numbers run the C scan's scalar branch; a parameter with a value per element, its buffered branch."""
    torch.manual_seed(0)
    x = torch.randn(21, 3, 37) * 2  # more steps than a checkpoint block
    th = (torch.rand(37) + 0.5).requires_grad_()
    tau = (torch.rand(3, 37) + 1.5).requires_grad_()
    cfg = dict(tau=tau if per_element in ("tau", "both") else 2.0, surrogate_function=fnsnn.surrogate.Sigmoid(),
               v_threshold=th if per_element in ("v_threshold", "both") else 0.8)
    results = []
    for backend in ("torch", "cpu"):
        xr = x.clone().requires_grad_()
        y, s, v = fnsnn.lif_multi_step(xr, return_v_seq=True, backend=backend, **cfg)
        assert fnsnn.last_backend() == backend
        loss = (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum() + s.v.square().sum() + v.sin().sum()
        results.append((y, s.v, v, torch.autograd.grad(loss, (xr, th, tau), allow_unused=True)))
    (y0, s0, v0, g0), (y1, s1, v1, g1) = results
    assert torch.equal(y0, y1) and torch.equal(s0, s1) and torch.equal(v0, v1)
    for a, b in zip(g1, g0):
        assert (a is None) == (b is None)
        if b is not None:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_default_backend_is_generated(case):
    run(case, make_input(case))
    assert fnsnn.last_backend() == "cpu"


def test_auto_keeps_mixed_parameter_arithmetic_exact():
    """exp(b dt) from a Python b and a tensor dt rounds as torch does only on the graph-free scan."""
    x = torch.randn(8, 3, 4) * 2
    dt = torch.tensor(0.7)
    y, s = fnsnn.raf_multi_step(x, b=-0.3, dt=dt)
    assert fnsnn.last_backend() == "eager"
    y_ref, s_ref = fnsnn.raf_multi_step(x, b=-0.3, dt=dt, backend="torch")
    assert torch.equal(y, y_ref) and all(torch.equal(a, b) for a, b in zip(s, s_ref))
    fnsnn.raf_multi_step(x, b=-0.3, dt=0.7)
    assert fnsnn.last_backend() == "cpu"


# -- transforms -----------------------------------------------------------------


def _loss(case, backend, surrogate=None):
    over = {} if surrogate is None else {"surrogate_function": surrogate}

    def f(x):
        y, final = run(case, x, backend=backend, **over)
        w = torch.linspace(-1.0, 1.0, y.numel()).reshape(y.shape)
        return (y * w).sum() + final[0].square().sum()

    return f


def test_transforms_equal_reference(case, backend):
    """grad, vmap, jacrev, vmap(grad) and a double backward on the generated backend."""
    x = make_input(case, T=4, shape=(2, 3))
    f, ref = _loss(case, backend), _loss(case, "torch")
    torch.testing.assert_close(grad(f)(x), grad(ref)(x), rtol=1e-4, atol=1e-5)
    xs = torch.stack([x, x * 0.5, x - 0.25])
    torch.testing.assert_close(vmap(f)(xs), vmap(ref)(xs), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(jacrev(f)(x), jacrev(ref)(x), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(vmap(grad(f))(xs), vmap(grad(ref))(xs), rtol=1e-4, atol=1e-5)
    if case.gradcheck:
        fs, rs = _loss(case, backend, smooth()), _loss(case, "torch", smooth())
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        (ga,) = torch.autograd.grad(fs(xa), xa, create_graph=True)
        (gb,) = torch.autograd.grad(rs(xb), xb, create_graph=True)
        torch.testing.assert_close(torch.autograd.grad(ga.square().sum(), xa)[0],
                                   torch.autograd.grad(gb.square().sum(), xb)[0], rtol=1e-4, atol=1e-5)


def test_forward_mode_transforms_run_the_reference(case):
    """jvp, jacfwd and hessian work with backend='auto' (the reference runs there)."""
    x = make_input(case, T=3, shape=(2,))
    f, ref = _loss(case, "auto"), _loss(case, "torch")
    t = torch.ones_like(x)
    torch.testing.assert_close(jvp(f, (x,), (t,)), jvp(ref, (x,), (t,)))
    torch.testing.assert_close(jacfwd(f)(x), jacfwd(ref)(x))
    if case.gradcheck:
        fs, rs = _loss(case, "auto", smooth()), _loss(case, "torch", smooth())
        torch.testing.assert_close(hessian(fs)(x), hessian(rs)(x))


@pytest.mark.parametrize("name", ["eager", "cpu"])
def test_forward_mode_with_explicit_backend_raises(name):
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match=rf"lif_multi_step: backend='{name}'.*backend='auto' or 'torch'"):
        jvp(lambda x: fnsnn.lif_multi_step(x, backend=name)[0], (x,), (torch.ones_like(x),))


def test_gradcheck_float64_generated(case, backend):
    if not case.gradcheck:
        pytest.skip("outputs of this neuron are not a smooth function of the input")
    x = make_input(case, T=3, shape=(2, 2), dtype=torch.float64).requires_grad_(True)
    over = {"detach_reset": False} if "detach_reset" in case.config else {}

    def f(x):
        y, final = run(case, x, surrogate_function=smooth(), backend=backend, **over)
        return y, final[0]

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)
    assert fnsnn.last_backend() == backend


@pytest.mark.parametrize("make", ["no_grad", "inference_mode"])
def test_state_made_without_grad_trains(case, backend, make):
    x = make_input(case)
    with getattr(torch, make)():
        _, state = run(case, x, backend=backend)
    xr = x.clone().requires_grad_(True)
    y, final = run(case, xr, state, backend=backend)
    (y.sum() + final[0].sum()).backward()
    ref_x = x.clone().requires_grad_(True)
    _, ref_state = run(case, x, backend="torch")
    y2, final2 = run(case, ref_x, ref_state, backend="torch")
    (y2.sum() + final2[0].sum()).backward()
    torch.testing.assert_close(xr.grad, ref_x.grad, rtol=1e-4, atol=1e-5)


def test_compiled_grad_equals_eager_grad():
    """torch.compile(grad(f)) on the default backend gives the eager gradient (the README's first example)."""
    x_seq = torch.randn(16, 32, 100, generator=torch.Generator().manual_seed(0))

    def loss(tau):
        s, final = fnsnn.lif_multi_step(x_seq, tau=tau, surrogate_function=fnsnn.surrogate.ATan())
        return s.mean() + final.v.square().mean()

    tau = torch.tensor(2.0)
    eager = grad(loss)(tau)
    compiled = torch.compile(grad(loss), fullgraph=True)(tau)
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled, grad(lambda t: loss.__wrapped__(t) if hasattr(loss, "__wrapped__")
                                              else loss(t))(tau), rtol=1e-5, atol=1e-6)


def test_explicit_backend_under_compile_raises():
    def f(x):
        return fnsnn.lif_multi_step(x, backend="cpu")[0]

    with pytest.raises(Exception, match="cannot run under torch.compile"):
        torch.compile(f, fullgraph=True, backend="eager")(torch.randn(3, 4))


# -- non-finite inputs, dtypes --------------------------------------------------


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("v_reset", [0.0, None])
@pytest.mark.parametrize("name", ["if_multi_step", "lif_multi_step", "izhikevich_multi_step"])
def test_non_finite_inputs_agree(backend, value, v_reset, name):
    fn = getattr(fnsnn, name)
    x = torch.randn(6, 4)
    x[2, 1] = value
    x[4, 3] = value
    y_ref, s_ref = fn(x, v_reset=v_reset, backend="torch")
    y, s = fn(x, v_reset=v_reset, backend=backend)
    torch.testing.assert_close(y, y_ref, equal_nan=True, rtol=0, atol=0)
    for a, b in zip(s, s_ref):
        torch.testing.assert_close(a, b, equal_nan=True, rtol=0, atol=0)


def test_half_precision_runs_graph_free_and_exact():
    x = torch.randn(10, 3, 7, dtype=torch.bfloat16)
    y, s = fnsnn.lif_multi_step(x)
    assert fnsnn.last_backend() == "eager"
    y_ref, s_ref = fnsnn.lif_multi_step(x, backend="torch")
    assert torch.equal(y, y_ref) and torch.equal(s.v, s_ref.v)


# -- compile cost -----------------------------------------------------------------


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FNSNN_CACHE_DIR", str(tmp_path))
    cpu_kernels._load.cache_clear()
    _engine.program_of.cache_clear()
    monkeypatch.setattr(_engine, "_libraries", {})
    yield tmp_path / "cpu"
    cpu_kernels._load.cache_clear()
    _engine.program_of.cache_clear()


def _layouts():
    g = torch.Generator().manual_seed(1)
    shapes = [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5), (1,), (7, 1), (4, 1, 3), (2, 2, 2, 2, 2)]
    out = []
    for i in range(50):
        shape = shapes[i % len(shapes)]
        shape = tuple(d + (i // len(shapes)) for d in shape)
        x = torch.randn((4 + i % 5, *shape), generator=g)
        if i % 3 == 1 and x.dim() > 2:
            x = x.transpose(1, 2)  # a non-contiguous layout
        if i % 3 == 2:
            x = x[:, ..., ::1] * 1.0
        out.append(x)
    return out


def test_fifty_layouts_and_ten_thresholds_compile_once(fresh_cache):
    for x in _layouts():
        y, s = fnsnn.lif_multi_step(x, tau=2.0)
        assert fnsnn.last_backend() == "cpu"
        y_ref, s_ref = fnsnn.lif_multi_step(x, tau=2.0, backend="torch")
        assert torch.equal(y, y_ref) and torch.equal(s.v, s_ref.v)
    x = torch.randn(8, 4, 6)
    for i in range(10):
        kw = dict(tau=1.5 + i, v_threshold=0.5 + 0.1 * i, surrogate_function=fnsnn.surrogate.Sigmoid(alpha=2.0 + i))
        y, _ = fnsnn.lif_multi_step(x, **kw)
        assert torch.equal(y, fnsnn.lif_multi_step(x, backend="torch", **kw)[0])
    assert len(list(fresh_cache.glob("*.so"))) == 1  # one library for this configuration
    assert _engine.program_of.cache_info().misses == 1


def test_second_process_loads_from_disk(fresh_cache):
    x = torch.randn(5, 3)
    fnsnn.lif_multi_step(x)
    built = sorted(fresh_cache.glob("*.so"))
    cpu_kernels._load.cache_clear()
    _engine.program_of.cache_clear()
    _engine._libraries.clear()
    fnsnn.lif_multi_step(x)
    assert sorted(fresh_cache.glob("*.so")) == built


def test_a_long_compile_says_so_once(fresh_cache, monkeypatch, caplog):
    monkeypatch.setattr(cpu_kernels, "SLOW_COMPILE_S", 0.0)  # every compile counts as long here
    x = torch.randn(5, 3)
    with caplog.at_level(logging.WARNING, logger="fnsnn"):
        fnsnn.lif_multi_step(x)
        fnsnn.lif_multi_step(x * 2)
    lines = [r.getMessage() for r in caplog.records if "compiling a CPU neuron scan took" in r.getMessage()]
    assert len(lines) == 1 and str(fresh_cache) in lines[0]


def test_compiler_failure_runs_graph_free_scan(fresh_cache, monkeypatch, caplog):
    monkeypatch.setenv("FNSNN_CC", "false")
    monkeypatch.setattr(_engine, "_failed", {})
    cpu_kernels._toolchain_key.cache_clear()
    try:
        x = torch.randn(6, 3, 5)
        with caplog.at_level(logging.WARNING, logger="fnsnn"):
            y, s = fnsnn.lif_multi_step(x)
            y2, _ = fnsnn.lif_multi_step(x)
        assert fnsnn.last_backend() == "eager"
        assert torch.equal(y, fnsnn.lif_multi_step(x, backend="torch")[0])
        assert sum("could not be built" in r.message for r in caplog.records) == 1
        with pytest.raises(ValueError, match="backend='cpu' cannot run this call: building the C scan failed"):
            fnsnn.lif_multi_step(x, backend="cpu")
    finally:
        cpu_kernels._toolchain_key.cache_clear()


# -- threads ------------------------------------------------------------------------


def _gomp_libraries():
    with open("/proc/self/maps") as maps:
        return {line.split()[-1] for line in maps if "libgomp" in line}


@pytest.mark.parametrize("openmp", [True, False], ids=["torch-openmp-team", "split-in-python"])
def test_threaded_scan_equals_one_thread_and_reference(openmp, monkeypatch):
    x = (torch.randn(6, 3, cpu_kernels.PARALLEL_MIN) * 1.5 + 0.5).requires_grad_()  # large enough to split
    tau = torch.tensor(2.0, requires_grad=True)
    if not openmp:
        real = cpu_kernels.kernel
        monkeypatch.setattr(cpu_kernels, "kernel", lambda lib, name: real(lib, name)._replace(openmp=False))
        monkeypatch.setattr(_engine, "_libraries", {})
    threads = torch.get_num_threads()
    results = []
    try:
        for n, backend in ((2, "cpu"), (1, "cpu"), (1, "torch")):
            torch.set_num_threads(n)
            y, s = fnsnn.lif_multi_step(x, tau=tau, backend=backend)
            gx, gtau = torch.autograd.grad((y * torch.linspace(0, 1, y.shape[-1])).sum() + s.v.sum(), (x, tau))
            results.append((y, s.v, gx, gtau))
    finally:
        torch.set_num_threads(threads)
    (y2, v2, gx2, gt2), (y1, v1, gx1, gt1), (yr, vr, gxr, gtr) = results
    assert torch.equal(y2, y1) and torch.equal(v2, v1) and torch.equal(gx2, gx1) and torch.equal(gt2, gt1)
    assert torch.equal(y1, yr) and torch.equal(v1, vr)
    torch.testing.assert_close(gx1, gxr, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gt1, gtr, rtol=1e-4, atol=1e-5)


def test_toolchain_without_openmp_splits_in_python(fresh_cache, tmp_path, monkeypatch):
    real = cpu_kernels.compiler()
    calls = tmp_path / "calls"
    wrapper = tmp_path / "cc-without-openmp"
    wrapper.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
for a in "$@"; do [ "$a" = "-fopenmp" ] && exit 1; done
exec {real} "$@"
""")
    wrapper.chmod(0o755)
    monkeypatch.setenv("FNSNN_CC", str(wrapper))
    cpu_kernels._toolchain_key.cache_clear()
    try:
        x = (torch.randn(4, 2, cpu_kernels.PARALLEL_MIN) * 1.5 + 0.5).requires_grad_()
        y, s = fnsnn.lif_multi_step(x)
        assert fnsnn.last_backend() == "cpu"
        kernels = [k for k in _engine._libraries.values() if k is not None]
        assert kernels and not any(k.openmp for k in kernels)
        y_ref, s_ref = fnsnn.lif_multi_step(x, backend="torch")
        assert torch.equal(y, y_ref) and torch.equal(s.v, s_ref.v)
        tries = calls.read_text().count("-fopenmp")
        cpu_kernels._load.cache_clear()  # a second process: the serial library on disk is taken at once
        _engine._libraries.clear()
        fnsnn.lif_multi_step(x)
        assert calls.read_text().count("-fopenmp") == tries
    finally:
        cpu_kernels._toolchain_key.cache_clear()


@pytest.mark.skipif(not cpu_kernels.torch_uses_openmp() or not pathlib.Path("/proc/self/maps").exists(),
                    reason="torch's threads are not an OpenMP team here")
def test_scan_runs_on_torchs_own_openmp_runtime(fresh_cache):
    before = _gomp_libraries()
    assert any("torch" in path for path in before)
    fnsnn.lif_multi_step(torch.randn(3, 5))  # compiles and loads a new library
    assert fnsnn.last_backend() == "cpu"
    kernels = [k for k in _engine._libraries.values() if k is not None]
    assert kernels and all(k.openmp for k in kernels)
    assert _gomp_libraries() == before  # it linked the runtime torch loaded, not a second one


# -- surrogates, shells, user-declared neurons ------------------------------------


SURROGATE_NAMES = [n for n in fnsnn.surrogate.__all__ if n[0].isupper() and n not in (
    "SurrogateFunction", "SURROGATES", "PoissonPass")]


@pytest.mark.parametrize("name", SURROGATE_NAMES)
@pytest.mark.parametrize("where", ["core", "shell"])
def test_every_surrogate_reaches_the_generated_scan(name, where):
    sg = getattr(fnsnn.surrogate if where == "core" else fnsnn_nn.surrogate, name)()
    x = torch.randn(6, 3, 4) * 1.5
    xr, xt = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y, s = fnsnn.lif_multi_step(xr, surrogate_function=sg)
    assert fnsnn.last_backend() == "cpu"
    y_ref, s_ref = fnsnn.lif_multi_step(xt, surrogate_function=sg, backend="torch")
    assert torch.equal(y, y_ref) and torch.equal(s.v, s_ref.v)
    (y.sum() + s.v.sum()).backward()
    (y_ref.sum() + s_ref.v.sum()).backward()
    torch.testing.assert_close(xr.grad, xt.grad, rtol=1e-4, atol=1e-5)


def test_user_surrogate_subclass_reaches_the_generated_scan():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Triangle(fnsnn.surrogate.SurrogateFunction):
        width: float = 1.0
        spiking: bool = True

        def primitive(self, x):
            return torch.clamp(x / self.width + 0.5, 0.0, 1.0)

        def derivative(self, x):
            return torch.clamp(1.0 - x.abs() / self.width, min=0.0) / self.width

    x = torch.randn(6, 5).requires_grad_(True)
    y, _ = fnsnn.lif_multi_step(x, surrogate_function=Triangle(0.7))
    assert fnsnn.last_backend() == "cpu"
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_ref,) = torch.autograd.grad(fnsnn.lif_multi_step(x, surrogate_function=Triangle(0.7), backend="torch")[0].sum(), x)
    torch.testing.assert_close(g, g_ref)


SHELLS = [name for name in dir(fnsnn_nn.neuron) if name.endswith("Node") and name not in (
    "BaseNode", "NonSpikingBaseNode")]


# Constructor arguments for shells that have required ones; every other shell is built with none.
REQUIRED = {"LIAFNode": dict(act=torch.sigmoid, threshold_related=True), "STBIFNode": dict(q_threshold=0.5, level=8),
            "SimpleLIFNode": dict(tau=2.0, decay_input=True), "MPBNLIFNode": dict(out_channels=3),
            "MPBNBaseNode": dict(out_channels=3)}
# Shells whose update mixes the samples of a batch (batch statistics): auto runs the MPBN LIF's default
# configuration as one fused node around the C scan, and a user's own charge on the reference loop.
BATCH_COUPLED = {"MPBNBaseNode": "torch", "MPBNLIFNode": "cpu"}


@pytest.mark.parametrize("name", [n for n in SHELLS if issubclass(getattr(fnsnn_nn.neuron, n), fnsnn_nn.neuron.BaseNode)])
def test_shells_default_to_auto_and_reach_the_fast_scan(name):
    cls = getattr(fnsnn_nn.neuron, name)
    if name == "AdaptBaseNode":  # a base class: the user's subclass gives the charge
        cls = type("AdaptIF", (cls,), {"neuronal_charge": lambda self, x, v, w: v + x - w})
    if name == "MPBNBaseNode":
        cls = type("MPBNIF", (cls,), {"neuronal_charge": lambda self, x, v: v + x})
    node = cls(**REQUIRED.get(name, {}))
    assert node.backend == "auto"
    node.step_mode = "m"
    node(torch.rand(4, 2, 3, 5))
    assert node.last_backend == BATCH_COUPLED.get(name, "cpu")


def test_default_module_reports_its_backend():
    node = fnsnn_nn.neuron.LIFNode(step_mode="m", surrogate_function=fnsnn_nn.surrogate.Sigmoid())
    assert node.last_backend is None
    node(torch.randn(4, 2, 8))
    assert node.last_backend == "cpu"
    node.reset()
    node.backend = "torch"
    node(torch.randn(4, 2, 8))
    assert node.last_backend == "torch"


def test_debug_log_names_the_backend(caplog):
    with caplog.at_level(logging.DEBUG, logger="fnsnn"):
        fnsnn.if_multi_step(torch.randn(3, 2))
    assert any("if_multi_step ran backend 'cpu'" in r.getMessage() for r in caplog.records)


def _user_lif(x, state, *, tau, v_threshold, surrogate_function):
    h = state.v + (x - state.v) / tau
    spike = surrogate_function(h - v_threshold)
    return spike, state._replace(v=h * (1.0 - spike))


def _adaptive_lif(x, state, *, tau, tau_a, beta, surrogate_function):
    h = state.v + (x - state.v) / tau
    threshold = 1.0 + beta * state.a
    spike = surrogate_function(h - threshold)
    return spike, state._replace(v=h - spike * threshold, a=state.a + (spike - state.a) / tau_a)


def _constant_lif(x, state, *, tau, v_threshold, surrogate_function):
    k = tau * torch.tensor(1.0) + torch.tensor(0.0)  # constants made inside the step, next to a parameter
    h = state.v + (x - state.v) / k
    spike = surrogate_function(h - v_threshold)
    return spike, state._replace(v=h * (1.0 - spike) * torch.tensor(0.9))


USER = [
    (fnsnn.Neuron("user_lif", ("v",), _user_lif), dict(tau=2.0, v_threshold=1.0)),
    (fnsnn.Neuron("adaptive_lif", ("v", "a"), _adaptive_lif), dict(tau=2.0, tau_a=8.0, beta=0.4)),
    (fnsnn.Neuron("constant_lif", ("v",), _constant_lif), dict(tau=2.0, v_threshold=1.0)),
]


@pytest.mark.parametrize("neuron,config", USER, ids=["user_lif", "adaptive_lif", "constant_lif"])
def test_user_declared_neuron_on_every_backend(neuron, config, backend):
    x = torch.randn(12, 3, 4) * 1.5 + 0.5
    sg = fnsnn.surrogate.ATan()
    tau = torch.tensor(config["tau"], requires_grad=True)
    cfg = dict(config, tau=tau, surrogate_function=sg)

    def everything(b):
        xr = x.clone().requires_grad_(True)
        y, s, v = neuron.multi_step(xr, return_v_seq=True, backend=b, **cfg)
        loss = (y * torch.linspace(0, 1, y.numel()).reshape(y.shape)).sum() + s.v.square().sum() + v.sum()
        return y, s, v, torch.autograd.grad(loss, [xr, tau])

    ref, got = everything("torch"), everything(backend)
    assert fnsnn.last_backend() == backend
    assert torch.equal(got[0], ref[0]) and all(torch.equal(a, b) for a, b in zip(got[1], ref[1]))
    for a, b in zip(got[3], ref[3]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    f = lambda x: neuron.multi_step(x, backend=backend, **dict(cfg, tau=2.0))[1].v.sum()  # noqa: E731
    r = lambda x: neuron.multi_step(x, backend="torch", **dict(cfg, tau=2.0))[1].v.sum()  # noqa: E731
    torch.testing.assert_close(grad(f)(x), grad(r)(x), rtol=1e-4, atol=1e-5)
    xs = torch.stack([x, -x])
    torch.testing.assert_close(vmap(f)(xs), vmap(r)(xs))
    a = lambda x: neuron.multi_step(x, **dict(cfg, tau=2.0))[1].v.sum()  # noqa: E731
    torch.testing.assert_close(jvp(a, (x,), (x,)), jvp(r, (x,), (x,)))


@pytest.mark.parametrize("neuron,config", USER, ids=["user_lif", "adaptive_lif", "constant_lif"])
def test_user_declared_neuron_streams_like_multi_step(neuron, config):
    x = torch.randn(7, 2, 3)
    cfg = dict(config, surrogate_function=fnsnn.surrogate.Sigmoid())
    y_seq, final = neuron.multi_step(x, **cfg)
    state, ys = None, []
    for xt in x.unbind(0):
        y, state = neuron.step(xt, state, **cfg)
        ys.append(y)
    assert torch.equal(torch.stack(ys), y_seq)
    assert all(torch.equal(a, b) for a, b in zip(state, final))


def test_user_declared_neuron_errors():
    with pytest.raises(TypeError, match="fnsnn.Neuron: `state`"):
        fnsnn.Neuron("n", "v", _user_lif)
    with pytest.raises(ValueError, match="`trace` must be one of"):
        fnsnn.Neuron("n", ("v",), _user_lif, trace="w")
    bad = fnsnn.Neuron("bad", ("v",), lambda x, s, **kw: x)
    with pytest.raises(TypeError, match=r"bad: the step must return \(y, new_state\)"):
        bad.multi_step(torch.randn(3, 2))
    lif = USER[0][0]
    with pytest.raises(ValueError, match="user_lif.multi_step: `tau` must be a finite number"):
        lif.multi_step(torch.randn(3, 2), tau=math.nan, v_threshold=1.0,
                       surrogate_function=fnsnn.surrogate.Sigmoid())


def test_non_elementwise_user_step_runs_graph_free():
    def mean_field(x, state, *, surrogate_function):
        h = state.v + x - x.mean(-1, keepdim=True)
        spike = surrogate_function(h - 1.0)
        return spike, state._replace(v=h * (1.0 - spike))

    neuron = fnsnn.Neuron("mean_field", ("v",), mean_field)
    x = torch.randn(5, 2, 4)
    y, _ = neuron.multi_step(x, surrogate_function=fnsnn.surrogate.Sigmoid())
    assert fnsnn.last_backend() == "eager"
    assert torch.equal(y, neuron.multi_step(x, backend="torch", surrogate_function=fnsnn.surrogate.Sigmoid())[0])
    with pytest.raises(ValueError, match="not an elementwise recurrence"):
        neuron.multi_step(x, backend="cpu", surrogate_function=fnsnn.surrogate.Sigmoid())


# -- architecture -----------------------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _imports(package: str):
    """Module -> the modules of the same package it imports (at any depth of the file)."""
    graph = {}
    for path in (ROOT / package).rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        pkg = parts if path.name == "__init__.py" else parts[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = pkg[:len(pkg) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{mod}.{alias.name}"
                    target = full if (ROOT / full.replace(".", "/")).with_suffix(".py").exists() or (
                        ROOT / full.replace(".", "/")).is_dir() else mod
                    deps.add(target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d.split(".")[0] == package and d != name}
    return graph


@pytest.mark.parametrize("package", ["fnsnn", "fnsnn_nn", "bridge"])
def test_no_import_cycle(package):
    graph = _imports(package)
    # a package's __init__ importing its own submodules is how packages are built; ignore those edges
    edges = {m: {d for d in deps if not m == package and not (d == m.rsplit(".", 1)[0])} for m, deps in graph.items()}
    state, cycle = {}, []

    def visit(m, path):
        state[m] = 1
        for d in edges.get(m, ()):
            if d == package or d.startswith(m + "."):
                continue
            if state.get(d) == 1:
                cycle.append(path + [d])
            elif d in edges and not state.get(d):
                visit(d, path + [d])
        state[m] = 2

    for m in edges:
        if not state.get(m):
            visit(m, [m])
    assert not cycle, cycle


def test_kernels_depend_on_nothing_above_them():
    for m, deps in _imports("fnsnn").items():
        if m.startswith("fnsnn.kernels"):
            assert all(d.startswith("fnsnn.kernels") for d in deps), (m, deps)


def test_engine_files_name_no_family():
    names = ["lif", "izhikevich", "klif", "clif", "cuba", "qif", "eif"]
    for path in [ROOT / "fnsnn/neurons/_engine.py", *sorted((ROOT / "fnsnn/kernels").glob("*.py"))]:
        code = "\n".join(line for line in path.read_text().lower().splitlines()
                         if not line.strip().startswith("#"))
        tree = ast.parse(path.read_text())
        idents = {n.id.lower() for n in ast.walk(tree) if isinstance(n, ast.Name)}
        idents |= {n.attr.lower() for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not idents & set(names), (path.name, idents & set(names))
        assert "neuron ==" not in code


@pytest.mark.parametrize("store_v_seq", [False, True])
def test_ottt_training_sequences_match_the_reference(store_v_seq):
    x = torch.randn(6, 3, 5, requires_grad=True)
    outs = {}
    for backend in ("torch", "auto"):
        node = fnsnn_nn.neuron.OTTTLIFNode(store_v_seq=store_v_seq, backend=backend)
        node.step_mode = "m"
        spike_seq, trace_seq = node(x)
        (g,) = torch.autograd.grad(spike_seq.sum(), x)
        outs[backend] = (spike_seq, trace_seq, g, node.v, node.trace, trace_seq.requires_grad)
        expected = "torch" if backend == "torch" or store_v_seq else "cpu"
        assert node.last_backend == expected
    for i, (a, b) in enumerate(zip(outs["torch"], outs["auto"])):
        if i == 2:  # gradients agree to rounding
            torch.testing.assert_close(a, b)
        elif isinstance(a, torch.Tensor):  # spikes and states bit-identical
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        else:
            assert a == b


def test_first_neuron_call_does_not_import_the_compiler():
    """Tracing a step must not pull in torch._dynamo or sympy (seconds of import in every fresh process)."""
    code = ("import sys, torch, fnsnn_nn\n"
            "node = fnsnn_nn.neuron.LIFNode(step_mode='m', surrogate_function=fnsnn_nn.surrogate.ATan())\n"
            "x = torch.randn(4, 3, requires_grad=True)\n"
            "node(x).sum().backward()\n"
            "assert node.last_backend == 'cpu', node.last_backend\n"
            "print('torch._dynamo' in sys.modules, 'sympy' in sys.modules)\n")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"
