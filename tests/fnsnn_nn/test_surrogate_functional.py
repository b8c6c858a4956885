"""The functional surrogate forms (fnsnn_nn.surrogate.sigmoid, ...) against SpikingJelly 2.0.0."""

import pytest
import torch
from torch.func import grad, vmap

from fnsnn_nn import surrogate as M

# name, parameters as 2.0.0 takes them after x
FORMS = [
    ("sigmoid", (4.0,)), ("atan", (2.0,)), ("piecewise_quadratic", (1.0,)), ("piecewise_exp", (1.0,)),
    ("soft_sign", (2.0,)), ("erf", (2.0,)), ("piecewise_leaky_relu", (1.0, 0.01)), ("super_spike", (1.0,)),
    ("rect", (1.0,)), ("q_pseudo_spike", (2.0,)), ("leaky_k_relu", (0.1, 1.5)), ("s2nn", (4.0, 1.0)),
    ("log_tailed_relu", (0.1,)), ("nonzero_sign_log_abs", (1.0,)), ("fake_numerical_gradient", (0.3,)),
    ("squarewave_fourier_series", (3, 8.0)), ("deterministic_pass", ()),
]
BACKWARDS = ["sigmoid", "atan", "piecewise_quadratic", "piecewise_exp", "soft_sign", "erf",
             "piecewise_leaky_relu", "super_spike", "rect", "leaky_k_relu", "log_tailed_relu",
             "nonzero_sign_log_abs", "fake_numerical_gradient"]
PARAMS = dict(FORMS)


def _x():
    # away from the kinks where the two sides may pick different one-sided values
    x = torch.linspace(-2.03, 2.01, 41, dtype=torch.float64)
    return x


@pytest.fixture(scope="module")
def sj():
    return pytest.importorskip("spikingjelly.activation_based.surrogate")


@pytest.mark.parity
@pytest.mark.parametrize("name,params", FORMS, ids=[f[0] for f in FORMS])
def test_forward_and_gradient_equal_spikingjelly(sj, name, params):
    x1 = _x().requires_grad_(True)
    x2 = _x().requires_grad_(True)
    ours = getattr(M, name).apply(x1, *params)
    theirs = getattr(sj, name).apply(x2, *params)
    torch.testing.assert_close(ours, theirs)
    w = torch.linspace(0.5, 1.5, x1.numel(), dtype=torch.float64)
    (ours * w).sum().backward()
    (theirs * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    # calling the form directly equals .apply
    torch.testing.assert_close(getattr(M, name)(x1.detach(), *params), ours.detach())


@pytest.mark.parity
@pytest.mark.parametrize("name", BACKWARDS)
def test_backward_functions_equal_spikingjelly(sj, name):
    x = _x()
    g = torch.linspace(-1.0, 1.0, x.numel(), dtype=torch.float64)
    params = PARAMS[name]
    ours = getattr(M, name + "_backward")(g, x, *params)
    theirs = getattr(sj, name + "_backward")(g, x, *params)
    assert len(ours) == len(theirs)
    torch.testing.assert_close(ours[0], theirs[0])
    assert all(o is None for o in ours[1:])


@pytest.mark.parity
def test_heaviside_equals_spikingjelly(sj):
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float32)
    torch.testing.assert_close(M.heaviside(x), sj.heaviside(x))


def test_default_parameters_of_piecewise_leaky_relu():
    x = _x()
    torch.testing.assert_close(M.piecewise_leaky_relu(x), M.piecewise_leaky_relu(x, 1.0, 0.01))


def test_forms_compose_with_torch_func():
    x = torch.randn(4, 7)
    g = vmap(grad(lambda r: M.atan(r, 2.0).sum()))(x)
    torch.testing.assert_close(g, M.atan_backward(torch.ones_like(x), x, 2.0)[0])


def test_poisson_pass_needs_explicit_randomness():
    p = torch.full((1000,), 0.3)
    with pytest.raises(ValueError, match="PoissonPass.*generator"):
        M.poisson_pass(p)
    gen = torch.Generator().manual_seed(0)
    out = M.poisson_pass.apply(p.requires_grad_(True), gen)
    assert set(out.unique().tolist()) <= {0.0, 1.0} and 0.2 < out.mean().item() < 0.4
    out.sum().backward()
    torch.testing.assert_close(p.grad, torch.ones_like(p))
    torch.testing.assert_close(M.poisson_pass(p.detach(), noise=torch.full_like(p, 0.5)), torch.zeros_like(p))


def test_errors_name_the_function():
    x = torch.randn(3)
    with pytest.raises(TypeError, match="sigmoid: expected the parameters \\(alpha\\)"):
        M.sigmoid(x)
    with pytest.raises(TypeError, match="atan: `alpha` must be a Python number"):
        M.atan(x, torch.tensor(2.0))
    with pytest.raises(ValueError, match="Sigmoid.*alpha.*> 0"):
        M.sigmoid(x, -1.0)
    with pytest.raises(TypeError, match="sigmoid.*x"):
        M.sigmoid([1.0], 4.0)
    with pytest.raises(TypeError, match="atan_backward: expected"):
        M.atan_backward(x, x)


@pytest.mark.parity
def test_multi_level_spike_count_lives_in_surrogate(sj):
    # 2.0.0 code spells ILIFNode's spike function surrogate.MultiLevelSpikeCount.
    from fnsnn_nn import neuron
    from fnsnn_nn.surrogate import MultiLevelSpikeCount

    assert "MultiLevelSpikeCount" in M.__all__ and MultiLevelSpikeCount is neuron.MultiLevelSpikeCount
    ours, theirs = MultiLevelSpikeCount(3, grad_window=(-0.5, 2.5)), sj.MultiLevelSpikeCount(3, grad_window=(-0.5, 2.5))
    x1, x2 = (torch.linspace(-1.3, 4.1, 37).requires_grad_(True) for _ in range(2))
    y1, y2 = ours(x1), theirs(x2)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    torch.testing.assert_close(torch.autograd.grad(y1.sum(), x1)[0], torch.autograd.grad(y2.sum(), x2)[0])
    from spikingjelly.activation_based import neuron as sj_neuron

    x = torch.linspace(-1.0, 5.0, 7)
    node, ref = neuron.ILIFNode(surrogate_function=MultiLevelSpikeCount(4)), sj_neuron.ILIFNode(
        surrogate_function=sj.MultiLevelSpikeCount(4))
    torch.testing.assert_close(node(x), ref(x), rtol=0, atol=0)
