"""Step-mode wrappers of torch layers: 'm' folds time into the batch and equals the per-step loop."""

import pytest
import torch
from spikingjelly.activation_based import layer as sj_layer

from fnsnn_nn import layer
from fnsnn_nn.base import StepModule

T, N = 3, 2


def _loop(module, x_seq):
    module.step_mode = "s"
    try:
        return torch.stack([module(x) for x in x_seq.unbind(0)])
    finally:
        module.step_mode = "m"


@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_linear_parity(step_mode):
    ours = layer.Linear(5, 4, step_mode=step_mode)
    ref = sj_layer.Linear(5, 4, step_mode=step_mode)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn((T, N, 5) if step_mode == "m" else (N, 5), requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    g = torch.autograd.grad(y.square().sum(), [x, ours.weight, ours.bias])
    g_ref = torch.autograd.grad(y_ref.square().sum(), [x, ref.weight, ref.bias])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parity
def test_flatten_parity():
    ours, ref = layer.Flatten(step_mode="m"), sj_layer.Flatten(step_mode="m")
    x = torch.randn(T, N, 2, 3, 4)
    torch.testing.assert_close(ours(x), ref(x))
    assert ours(x).shape == (T, N, 24)
    ours.step_mode = ref.step_mode = "s"
    torch.testing.assert_close(ours(x[0]), ref(x[0]))


def test_linear_flatten_are_torch_layers():
    assert isinstance(layer.Linear(2, 3), torch.nn.Linear) and isinstance(layer.Linear(2, 3), StepModule)
    assert isinstance(layer.Flatten(), torch.nn.Flatten) and isinstance(layer.Flatten(), StepModule)
    assert "step_mode=s" in repr(layer.Linear(2, 3))


def test_linear_multi_step_equals_loop():
    m = layer.Linear(5, 4, step_mode="m")
    x = torch.randn(T, N, 5)
    torch.testing.assert_close(m(x), _loop(m, x))


def test_linear_wrong_rank_for_step_mode():
    m = layer.Linear(5, 4, step_mode="m")
    with pytest.raises(ValueError, match=r"Linear: step_mode='m' expects a sequence \[T, N"):
        m(torch.randn(N, 5))
    with pytest.raises(ValueError, match="step_mode"):
        m.step_mode = "x"
