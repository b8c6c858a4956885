"""The contract every neuron family keeps, run over tests/neuron_cases.py.

module == core; streaming == multi-step; single-step shell == multi-step shell;
vmap == loop without fallback warnings; grad == autograd; jacrev; vmap(grad);
float64 gradcheck of the smooth (non-spiking) neuron; shell state lifecycle;
documented errors; parity with SpikingJelly 2.0.0.
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import grad, jacrev, vmap

import fnsnn
import fnsnn_nn
from fnsnn_nn.functional import reset_net
from tests.neuron_cases import (
    CASES,
    build_shell,
    core_bounds,
    core_numeric_params,
    shell_bounds,
    shell_class,
    shell_numeric_params,
)

IDS = [c.name for c in CASES]
STEP_CASES = [c for c in CASES if not c.multi_step_only and c.step is not None]


def make_input(case, T=None, shape=None, dtype=torch.float32, generator=None):
    T = case.T if T is None else T
    shape = case.shape if shape is None else shape
    x = torch.randn((T, *shape), dtype=dtype, generator=generator)
    return x * case.input_scale + case.input_shift


def run(case, x_seq, state=None, **over):
    return case.multi_step(x_seq, state, **{**case.config, **over})


def smooth_surrogate():
    return fnsnn.surrogate.Sigmoid(alpha=4.0, spiking=False)


def assert_tree_close(a, b, **kw):
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, **kw)


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    return request.param


@pytest.fixture(params=STEP_CASES, ids=[c.name for c in STEP_CASES])
def step_case(request):
    return request.param


def test_module_equals_core(case):
    x = make_input(case)
    y_core, s_core = run(case, x)
    m = case.shell(step_mode="m")
    y_mod = m(x)
    torch.testing.assert_close(y_mod, y_core, rtol=0, atol=0)
    for field, value in zip(s_core._fields, s_core):
        torch.testing.assert_close(getattr(m, field), value)


def test_streaming_equals_multi_step(step_case):
    case = step_case
    x = make_input(case)
    y_seq, final = run(case, x)
    state, ys = None, []
    for x_t in x.unbind(0):
        y, state = case.step(x_t, state, **case.config)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_seq, rtol=0, atol=0)
    assert_tree_close(state, final)


@pytest.mark.parametrize("training", [True, False])
def test_single_step_shell_equals_multi_step_shell(step_case, training):
    case = step_case
    x = make_input(case)
    s_mod = case.shell(step_mode="s", store_v_seq=True).train(training)
    m_mod = case.shell(step_mode="m", store_v_seq=True).train(training)
    ys = torch.stack([s_mod(x_t) for x_t in x.unbind(0)])
    torch.testing.assert_close(ys, m_mod(x), rtol=0, atol=0)
    for name, value in m_mod.named_memories():
        torch.testing.assert_close(getattr(s_mod, name), value)
    torch.testing.assert_close(s_mod.v_seq, m_mod.v_seq)


def test_return_v_seq_matches_states(case):
    x = make_input(case)
    y, final, v_seq = run(case, x, return_v_seq=True)
    assert v_seq.shape == x.shape
    torch.testing.assert_close(v_seq[-1], final.v)
    y2, _ = run(case, x[:1])
    torch.testing.assert_close(y[:1], y2)


def test_vmap_over_batch_equals_loop(case):
    xs = torch.stack([make_input(case) for _ in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = vmap(lambda x: run(case, x)[0])(xs)
    looped = torch.stack([run(case, x)[0] for x in xs])
    torch.testing.assert_close(batched, looped, rtol=0, atol=0)


def test_vmap_over_parameter_equals_loop(case):
    if case.tensor_param is None:
        pytest.skip("this configuration has no numeric parameter to batch over")
    base = float(case.config.get(case.tensor_param, 0.0))
    values = torch.tensor([base, base + 0.25, base + 0.5, base + 1.0])
    x = make_input(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = vmap(lambda p: run(case, x, **{case.tensor_param: p})[0])(values)
    looped = torch.stack([run(case, x, **{case.tensor_param: float(p)})[0] for p in values])
    torch.testing.assert_close(batched, looped)


def _loss(case, x, weights, **over):
    y, final = run(case, x, **over)
    return (y * weights).sum() + final.v.square().sum()


def test_func_grad_equals_autograd(case):
    x = make_input(case)
    w = torch.randn_like(x)
    g_func = grad(lambda x: _loss(case, x, w))(x)
    xr = x.clone().requires_grad_(True)
    (g_auto,) = torch.autograd.grad(_loss(case, xr, w), xr)
    torch.testing.assert_close(g_func, g_auto)
    assert g_func.abs().sum() > 0


def test_grad_reaches_parameter(case):
    if case.tensor_param is None:
        pytest.skip("this configuration has no numeric parameter")
    x = make_input(case)
    p0 = torch.tensor(float(case.config.get(case.tensor_param, 0.0)))
    g = grad(lambda p: run(case, x, **{case.tensor_param: p}, surrogate_function=smooth_surrogate())[1].v.sum())(p0)
    pr = p0.clone().requires_grad_(True)
    (g_auto,) = torch.autograd.grad(
        run(case, x, **{case.tensor_param: pr}, surrogate_function=smooth_surrogate())[1].v.sum(), pr)
    torch.testing.assert_close(g, g_auto)


def test_jacrev_matches_autograd_jacobian(case):
    x = make_input(case, T=3, shape=(2,))
    f = lambda x: run(case, x)[1].v  # noqa: E731
    jac = jacrev(f)(x)
    ref = torch.autograd.functional.jacobian(f, x)
    torch.testing.assert_close(jac, ref)


def test_vmap_of_grad_equals_per_example_grad(case):
    xs = torch.stack([make_input(case) for _ in range(3)])
    w = torch.randn_like(xs[0])
    f = lambda x: _loss(case, x, w)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = vmap(grad(f))(xs)
    looped = torch.stack([grad(f)(x) for x in xs])
    torch.testing.assert_close(batched, looped)


def test_gradcheck_float64_smooth(case):
    if not case.gradcheck:
        pytest.skip("outputs of this neuron are not a smooth function of the input")
    x = make_input(case, T=3, shape=(2, 2), dtype=torch.float64).requires_grad_(True)

    # detach_reset deliberately drops a gradient path, so check the undetached neuron.
    over = {"detach_reset": False} if "detach_reset" in case.config else {}

    def f(x):
        y, final = run(case, x, surrogate_function=smooth_surrogate(), **over)
        return y, final.v

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)


def test_output_keeps_dtype(case):
    for dtype in (torch.float64, torch.bfloat16):
        x = make_input(case, dtype=dtype)
        y, final = run(case, x)
        assert y.dtype == dtype and final.v.dtype == dtype


def test_torch_and_auto_backends_agree(case):
    x = make_input(case)
    y_t, s_t = run(case, x, backend="torch")
    y_a, s_a = run(case, x, backend="auto")
    torch.testing.assert_close(y_a, y_t, rtol=0, atol=0)
    assert_tree_close(s_a, s_t)


def test_core_leaves_its_arguments_untouched(case):
    """Purity: input, state and tensor parameters keep their values and versions; a repeat call is identical."""
    x = make_input(case)
    _, state = run(case, x[:2])
    params = {k: torch.tensor(v) for k, v in case.config.items() if isinstance(v, float) and k != "conduct"}
    args = [x, *state, *params.values()]
    before = [(t.clone(), t._version) for t in args]
    first = run(case, x, state, **params)
    second = run(case, x, state, **params)
    for t, (value, version) in zip(args, before):
        assert t._version == version
        torch.testing.assert_close(t, value, rtol=0, atol=0)
    torch.testing.assert_close(first[0], second[0], rtol=0, atol=0)
    assert_tree_close(first[1], second[1], rtol=0, atol=0)


# -- errors -------------------------------------------------------------------

def test_error_empty_time_dim(case):
    with pytest.raises(ValueError, match="empty time dimension"):
        run(case, torch.zeros(0, *case.shape))


def test_error_non_float_input(case):
    with pytest.raises(TypeError, match="floating-point"):
        run(case, torch.zeros(case.T, *case.shape, dtype=torch.int64))


def test_error_unknown_backend(case):
    with pytest.raises(ValueError, match="backend"):
        run(case, make_input(case), backend="cupy")


def test_error_state_mismatch(case):
    x = make_input(case)
    _, state = run(case, x)
    wrong_shape = type(state)(*[torch.cat([t, t], 0) for t in state])
    with pytest.raises(ValueError, match="shape"):
        run(case, x, wrong_shape)
    wrong_dtype = type(state)(*[t.double() for t in state])
    with pytest.raises(ValueError, match="dtype"):
        run(case, x, wrong_dtype)
    with pytest.raises(TypeError, match="state"):
        run(case, x, tuple(state))


def test_error_state_on_other_device(case):
    x = make_input(case)
    _, state = run(case, x)
    meta = type(state)(*[torch.empty_like(t, device="meta") for t in state])
    with pytest.raises(ValueError, match="device"):
        run(case, x, meta)


# -- shell lifecycle ----------------------------------------------------------

def test_shell_forgotten_reset_names_reset_net(case):
    m = case.shell(step_mode="m")
    m(make_input(case))
    other = make_input(case, shape=(case.shape[0] + 1, *case.shape[1:]))
    with pytest.raises(ValueError, match="reset_net"):
        m(other)
    reset_net(m)
    assert m(other).shape == other.shape


def test_shell_to_dtype_and_reset(case):
    m = case.shell(step_mode="m")
    x = make_input(case)
    m(x)
    m.to(torch.float64)
    assert m.v.dtype == torch.float64
    m.reset()
    assert not isinstance(m.v, torch.Tensor)
    y = m(x.double())
    assert y.dtype == torch.float64 and m.v.dtype == torch.float64


def test_shell_under_apply_and_grad(case):
    m = case.shell(step_mode="m")
    x = make_input(case)
    state = fnsnn_nn.init_state(m, x)
    y, new_state = fnsnn_nn.apply(m, x, state)
    torch.testing.assert_close(y, run(case, x)[0])
    assert m.memories_are_rest()
    g = grad(lambda x: fnsnn_nn.apply(m, x, state)[0].sum())(x)
    assert g.shape == x.shape


def test_reset_net_touches_only_given_tree(case):
    a, b = case.shell(step_mode="m"), case.shell(step_mode="m")
    x = make_input(case)
    a(x), b(x)
    v_b = b.v.clone()
    reset_net(a)
    assert not isinstance(a.v, torch.Tensor)
    torch.testing.assert_close(b.v, v_b)


# -- parity with SpikingJelly 2.0.0 -------------------------------------------

def _compare_with_sj(case, x, step_mode):
    ours = case.shell(step_mode=step_mode, store_v_seq=True)
    theirs = case.sj(step_mode=step_mode, store_v_seq=True)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    if step_mode == "m":
        ya, yb = ours(xa), theirs(xb)
    else:
        ya = torch.stack([ours(t) for t in xa.unbind(0)])
        yb = torch.stack([theirs(t) for t in xb.unbind(0)])
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    for name, value in ours.named_memories():
        torch.testing.assert_close(value, getattr(theirs, name), rtol=1e-6, atol=1e-6)
    if step_mode == "m" or case.sj_v_seq_single_step:
        torch.testing.assert_close(ours.v_seq, theirs.v_seq, rtol=1e-6, atol=1e-6)
    else:
        assert theirs.v_seq is None and ours.v_seq.shape == ya.shape
    w = torch.randn_like(ya)
    loss_a = (ya * w).sum() + ours.v.square().sum()
    loss_b = (yb * w).sum() + theirs.v.square().sum()
    params_a = [getattr(ours, p) for p in case.extra_shell_params]
    params_b = [getattr(theirs, p) for p in case.extra_shell_params]
    assert loss_a.requires_grad == loss_b.requires_grad
    if not loss_a.requires_grad:  # e.g. a single step whose outputs do not depend on the input yet
        return
    ga = torch.autograd.grad(loss_a, [xa, *params_a], allow_unused=True)
    gb = torch.autograd.grad(loss_b, [xb, *params_b], allow_unused=True)
    for u, v, ref in zip(ga, gb, [xa, *params_a]):
        u = torch.zeros_like(ref) if u is None else u
        v = torch.zeros_like(ref) if v is None else v
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("step_mode", ["s", "m"])
@settings(max_examples=4)
@given(n=st.integers(1, 4), f=st.integers(1, 6), T=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_parity_with_spikingjelly(case, step_mode, n, f, T, seed):
    if case.sj is None:
        pytest.skip("SpikingJelly 2.0.0 has no such neuron")
    if step_mode == "s" and case.multi_step_only:
        pytest.skip("multi-step only")
    g = torch.Generator().manual_seed(seed)
    x = make_input(case, T=T, shape=(n, f), generator=g)
    _compare_with_sj(case, x, step_mode)


# -- shell memories are reset one at a time -----------------------------------

@pytest.mark.parametrize("fresh", [False, True], ids=["after_a_step", "fresh"])
def test_assigning_one_memory_keeps_the_others(case, fresh):
    """``node.<memory> = number`` broadcasts that number on the next call and leaves every other memory be.

    The reference module gets the same memories as tensors, which a shell keeps as they are.
    """
    x = make_input(case)
    names = [n for n, _ in case.shell(step_mode="m").named_memories()]
    for name in names:
        m, ref = case.shell(step_mode="m"), case.shell(step_mode="m")
        if fresh:
            rest = fnsnn_nn.init_state(ref, x)[""]  # every memory at rest, as tensors
            for n, value in rest.items():
                setattr(ref, n, value)
        else:
            m(x), ref(x)
        setattr(m, name, 0.25)
        setattr(ref, name, torch.full_like(x[0], 0.25))
        torch.testing.assert_close(m(x), ref(x), rtol=0, atol=0)
        for n, value in ref.named_memories():
            torch.testing.assert_close(getattr(m, n), value, rtol=0, atol=0)


@pytest.mark.parity
@pytest.mark.parametrize("case", [c for c in CASES if c.sj is not None], ids=[c.name for c in CASES if c.sj])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_assigning_one_memory_matches_spikingjelly(case, step_mode):
    if step_mode == "s" and case.multi_step_only:
        pytest.skip("multi-step only")
    if step_mode == "m" and case.name.startswith("liaf"):
        # SpikingJelly 2.0.0's LIAFNode multi-step disagrees with its own single step whenever v does
        # not start at rest (float or tensor alike), so it is no reference for this; 's' is compared.
        pytest.skip("SpikingJelly's LIAF multi-step differs from its single step away from rest")
    x = make_input(case, generator=torch.Generator().manual_seed(1))
    for name, _ in case.shell(step_mode=step_mode).named_memories():
        ours, theirs = case.shell(step_mode=step_mode), case.sj(step_mode=step_mode)
        if name not in theirs._memories:
            continue
        feed = (lambda mod, xs: mod(xs)) if step_mode == "m" else \
            (lambda mod, xs: torch.stack([mod(t) for t in xs.unbind(0)]))
        feed(ours, x), feed(theirs, x)
        setattr(ours, name, 0.25)
        setattr(theirs, name, 0.25)
        torch.testing.assert_close(feed(ours, x), feed(theirs, x), rtol=0, atol=0)
        for n, value in ours.named_memories():
            if n in theirs._memories:
                torch.testing.assert_close(value, getattr(theirs, n), rtol=1e-6, atol=1e-6)


# -- one validation rule for every numeric parameter (hypothesis) --------------
# Every numeric keyword of every family: NaN and +-inf, values outside the documented range (as numbers
# and inside CPU tensors), tensors that do not broadcast to one time step or broadcast beyond it, and
# values of the wrong type each raise an error naming the function and the parameter.

VALIDATION = settings(max_examples=15, deadline=None)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
WRONG_TYPES = st.sampled_from(["1.0", [1.0], True, 1j, torch.tensor(1), object()])


def _valid(value):
    return 0.0 if value is None else value


def _as_tensor(draw, case, name, bad, valid):
    """``bad`` as a number, a 0-dim tensor, or one entry of a per-feature tensor holding ``valid`` elsewhere."""
    kind = draw(st.sampled_from(["number", "scalar_tensor", "feature_tensor"]))
    if kind == "number":
        return bad
    if kind == "scalar_tensor" or name == "conduct":  # a 1-d conduct means one gate per time step
        return torch.tensor(bad)
    values = torch.full(case.shape[-1:], float(valid))
    values[draw(st.integers(0, case.shape[-1] - 1))] = bad
    return values


def _outside(bounds):
    """A strategy for finite values outside ``bounds`` (keywords of fnsnn._checks.check_param)."""
    sides = []
    if "gt" in bounds:
        sides.append(st.floats(bounds["gt"] - 100.0, bounds["gt"]))
    if "ge" in bounds:  # clear of the bound, so that a float32 tensor does not round onto it
        sides.append(st.floats(bounds["ge"] - 100.0, bounds["ge"] - 1e-3))
    if "lt" in bounds:
        sides.append(st.floats(bounds["lt"], bounds["lt"] + 100.0))
    if "le" in bounds:
        sides.append(st.floats(bounds["le"] + 1e-3, bounds["le"] + 100.0))
    return st.one_of(*sides)


def _inside(bounds):
    low = bounds.get("gt", bounds.get("ge"))
    high = bounds.get("lt", bounds.get("le"))
    if low is not None and high is not None:
        return st.floats(low, high, exclude_min="gt" in bounds, exclude_max="lt" in bounds)
    # One-sided: clear of the bound (a ternary neuron's hard v_reset=0.2 must also lie below v_threshold).
    if low is not None:
        return st.floats(low + 0.5, low + 5.0)
    return st.floats(high - 5.0, high - 0.5)


BOUNDED = [c for c in CASES if core_bounds(c)]
SHELL_BOUNDED = [c for c in CASES if shell_bounds(c)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@VALIDATION
@given(data=st.data())
def test_param_rejects_non_finite(case, data):
    params = core_numeric_params(case)
    name = data.draw(st.sampled_from(sorted(params)))
    value = _as_tensor(data.draw, case, name, data.draw(NON_FINITE), _valid(params[name]))
    with pytest.raises(ValueError, match=rf"{case.multi_step.__name__}: (every value of )?`{name}` must .*finite"):
        run(case, make_input(case), **{name: value})


@pytest.mark.parametrize("case", BOUNDED, ids=[c.name for c in BOUNDED])
@VALIDATION
@given(data=st.data())
def test_param_rejects_out_of_range(case, data):
    bounds = core_bounds(case)
    name = data.draw(st.sampled_from(sorted(bounds)))
    valid = _valid(core_numeric_params(case)[name])
    value = _as_tensor(data.draw, case, name, data.draw(_outside(bounds[name])), valid)
    with pytest.raises(ValueError, match=rf"{case.multi_step.__name__}: (every value of )?`{name}` must (be|lie)"):
        run(case, make_input(case), **{name: value})


@pytest.mark.parametrize("case", BOUNDED, ids=[c.name for c in BOUNDED])
@VALIDATION
@given(data=st.data())
def test_param_accepts_its_range(case, data):
    bounds = core_bounds(case)
    name = data.draw(st.sampled_from(sorted(bounds)))
    value = _as_tensor(data.draw, case, name, data.draw(_inside(bounds[name])),
                       _valid(core_numeric_params(case)[name]))
    y, _ = run(case, make_input(case), **{name: value})
    assert y.shape == make_input(case).shape


@pytest.mark.parametrize("case", CASES, ids=IDS)
@VALIDATION
@given(data=st.data())
def test_param_rejects_wrong_shape(case, data):
    params = core_numeric_params(case)
    name = data.draw(st.sampled_from(sorted(params)))
    n, f = case.shape[0], case.shape[-1]
    shapes = [(f + 1,), (n + 1, f), (2, *case.shape), (1, *case.shape)]
    if name == "conduct":  # one gate per time step: [T, *step]
        shapes = [(case.T, f + 1), (case.T, 2, *case.shape)]
    shape = data.draw(st.sampled_from(shapes))
    value = torch.full(shape, float(_valid(params[name])))
    with pytest.raises(ValueError, match=rf"{case.multi_step.__name__}: the tensor `{name}` has shape"):
        run(case, make_input(case), **{name: value})


@pytest.mark.parametrize("case", CASES, ids=IDS)
@VALIDATION
@given(data=st.data())
def test_param_rejects_wrong_type(case, data):
    name = data.draw(st.sampled_from(sorted(core_numeric_params(case))))
    value = data.draw(WRONG_TYPES)
    with pytest.raises(TypeError, match=rf"{case.multi_step.__name__}: `{name}` must be"):
        run(case, make_input(case), **{name: value})


def test_param_tensor_of_one_step_shape_is_accepted(case):
    """The whole step shape, one value per feature, and a scalar tensor all broadcast without growing."""
    x = make_input(case)
    params = core_numeric_params(case)
    name = sorted(params)[0]
    if name == "conduct":
        name = sorted(params)[1]
    valid = float(_valid(params[name]))
    ref, _ = run(case, x, **{name: valid})
    for shape in [(), case.shape[-1:], case.shape, (1, case.shape[-1])]:
        y, _ = run(case, x, **{name: torch.full(shape, valid)})
        torch.testing.assert_close(y, ref)


def test_surrogate_class_instead_of_instance(case):
    with pytest.raises(TypeError, match=r"`surrogate_function` must be a spike-function instance, got the class "
                                        r"Sigmoid; instantiate it"):
        run(case, make_input(case), surrogate_function=fnsnn.surrogate.Sigmoid)


def test_surrogate_returning_a_non_tensor(case):
    over = {"training": True} if "training" in case.config else {}  # evaluation mode fires without it
    with pytest.raises(TypeError, match=rf"{case.multi_step.__name__}: `surrogate_function` returned float 1.0"):
        run(case, make_input(case), surrogate_function=lambda x: 1.0, **over)


# The shells' constructors follow the same rule.

@pytest.mark.parametrize("case", CASES, ids=IDS)
@VALIDATION
@given(data=st.data())
def test_shell_rejects_non_finite(case, data):
    cls = shell_class(case)
    name = data.draw(st.sampled_from(sorted(shell_numeric_params(cls))))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: `{name}` must .*finite"):
        build_shell(case, **{name: data.draw(NON_FINITE)})


@pytest.mark.parametrize("case", SHELL_BOUNDED, ids=[c.name for c in SHELL_BOUNDED])
@VALIDATION
@given(data=st.data())
def test_shell_rejects_out_of_range(case, data):
    cls, bounds = shell_class(case), shell_bounds(case)
    name = data.draw(st.sampled_from(sorted(bounds)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: `{name}` must (be|lie)"):
        build_shell(case, **{name: data.draw(_outside(bounds[name]))})


@pytest.mark.parametrize("case", CASES, ids=IDS)
@VALIDATION
@given(data=st.data())
def test_shell_rejects_wrong_type(case, data):
    cls = shell_class(case)
    name = data.draw(st.sampled_from(sorted(shell_numeric_params(cls))))
    with pytest.raises(TypeError, match=rf"{cls.__name__}: `{name}` must be"):
        build_shell(case, **{name: data.draw(WRONG_TYPES)})


def test_shell_surrogate_class_instead_of_instance(case):
    cls = shell_class(case)
    with pytest.raises(TypeError, match=rf"{cls.__name__}: `surrogate_function` must be a spike-function "
                                        rf"instance, got the class Sigmoid; instantiate it"):
        build_shell(case, surrogate_function=fnsnn_nn.surrogate.Sigmoid)


def test_shell_wrong_shape_threshold_names_the_parameter(case):
    """A tensor ``v_threshold`` that does not fit the input raises a ValueError, not a broadcasting error."""
    m = case.shell(step_mode="m")
    x = make_input(case)
    if isinstance(m.v_threshold, torch.nn.Parameter):
        with torch.no_grad():
            m.v_threshold = torch.nn.Parameter(torch.zeros(2, *case.shape))
    else:
        m.v_threshold = torch.ones(case.shape[-1] + 1)
    with pytest.raises(ValueError, match=r"`v_threshold` has shape"):
        m(x)
