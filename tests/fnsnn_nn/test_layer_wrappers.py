"""Step-mode wrappers of torch layers: parity with SpikingJelly 2.0.0, 'm' (one folded call) == per-step loop,
rank errors per step mode, and the weight-standardised layers."""

import warnings

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import layer as sj_layer

from fnsnn_nn import layer
from fnsnn_nn.base import StepModule

T, N = 3, 2

# (name, constructor args, single-step input shape)
CASES = [
    ("Linear", (5, 4), (N, 5)),
    ("Flatten", (), (N, 2, 3, 4)),
    ("Conv1d", (2, 3, 3), (N, 2, 7)),
    ("Conv2d", (2, 3, 3), (N, 2, 6, 6)),
    ("Conv3d", (2, 3, 2), (N, 2, 4, 4, 4)),
    ("ConvTranspose1d", (2, 3, 3), (N, 2, 5)),
    ("ConvTranspose2d", (2, 3, 3), (N, 2, 4, 4)),
    ("ConvTranspose3d", (2, 3, 2), (N, 2, 3, 3, 3)),
    ("Upsample", (None, 2.0), (N, 2, 3, 3)),
    ("BatchNorm1d", (3,), (N, 3, 5)),
    ("BatchNorm2d", (3,), (N, 3, 4, 4)),
    ("BatchNorm3d", (3,), (N, 3, 2, 3, 3)),
    ("GroupNorm", (2, 4), (N, 4, 3, 3)),
    ("MaxPool1d", (2,), (N, 2, 6)),
    ("MaxPool2d", (2,), (N, 2, 6, 6)),
    ("MaxPool3d", (2,), (N, 2, 4, 4, 4)),
    ("AvgPool1d", (2,), (N, 2, 6)),
    ("AvgPool2d", (2,), (N, 2, 6, 6)),
    ("AvgPool3d", (2,), (N, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (3,), (N, 2, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), (N, 2, 5, 7)),
    ("AdaptiveAvgPool3d", (2,), (N, 2, 5, 5, 5)),
    ("WSConv2d", (2, 3, 3), (N, 2, 6, 6)),
    ("WSLinear", (5, 4), (N, 5)),
]
IDS = [c[0] for c in CASES]


def _pair(name, args, step_mode):
    torch.manual_seed(0)
    ours = getattr(layer, name)(*args, step_mode=step_mode)
    ref = getattr(sj_layer, name)(*args, step_mode=step_mode)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _grads(module, x, y):
    params = [p for p in module.parameters()]
    out = torch.autograd.grad((y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum(), [x, *params],
                              allow_unused=True)
    return out


@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_parity_with_spikingjelly(name, args, shape, step_mode):
    ours, ref = _pair(name, args, step_mode)
    x = torch.randn((T, *shape) if step_mode == "m" else shape, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    for a, b in zip(_grads(ours, x, y), _grads(ref, x, y_ref)):
        if a is None or b is None:
            assert a is None and b is None
        else:
            torch.testing.assert_close(a, b)
    for (k, a), (k2, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(a, b)  # BatchNorm running statistics included


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_multi_step_equals_per_step_loop(name, args, shape):
    torch.manual_seed(0)
    m = getattr(layer, name)(*args, step_mode="m")
    if "BatchNorm" in name:
        m.eval()  # in training the folded call normalises over T*N samples, the loop over N
    x_seq = torch.randn(T, *shape)
    y_seq = m(x_seq)
    m.step_mode = "s"
    loop = torch.stack([m(x) for x in x_seq.unbind(0)])
    torch.testing.assert_close(y_seq, loop)


def test_batchnorm_training_folds_time_into_batch():
    m = layer.BatchNorm2d(3, step_mode="m")
    x_seq = torch.randn(T, N, 3, 4, 4) * 3 + 1
    y = m(x_seq)
    torch.testing.assert_close(y.mean(dim=(0, 1, 3, 4)), torch.zeros(3), atol=1e-5, rtol=0)
    ref = nn.BatchNorm2d(3)
    ref(x_seq.flatten(0, 1))
    torch.testing.assert_close(m.running_var, ref.running_var)


def test_folded_call_runs_the_layer_once():
    m = layer.Conv2d(2, 3, 3, step_mode="m")
    calls = []
    m.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape))
    m(torch.randn(T, N, 2, 5, 5))
    assert calls == [torch.Size([T, N, 2, 5, 5])]
    seen = []
    orig = nn.Conv2d._conv_forward
    try:
        nn.Conv2d._conv_forward = lambda self, x, w, b: (seen.append(tuple(x.shape)), orig(self, x, w, b))[1]
        m(torch.randn(T, N, 2, 5, 5))
    finally:
        nn.Conv2d._conv_forward = orig
    assert seen == [(T * N, 2, 5, 5)]


def test_maxpool_return_indices_in_multi_step():
    m = layer.MaxPool2d(2, return_indices=True, step_mode="m")
    x = torch.randn(T, N, 2, 4, 4)
    y, idx = m(x)
    assert y.shape == idx.shape == (T, N, 2, 2, 2)
    y0, idx0 = nn.MaxPool2d(2, return_indices=True)(x[1])
    torch.testing.assert_close(y[1], y0)
    assert torch.equal(idx[1], idx0)


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_is_torch_layer_and_step_module(name, args, shape):
    m = getattr(layer, name)(*args)
    assert isinstance(m, StepModule) and m.step_mode == "s"
    torch_cls = getattr(nn, name.replace("WS", ""))
    assert isinstance(m, torch_cls)
    assert "step_mode=s" in repr(m)


# Ranks of these overlap between the modes (any leading dims, or 1-3 spatial dims), so only
# their lower bounds are checked (below).
_OPEN_RANK = ("Linear", "WSLinear", "Flatten", "GroupNorm", "Upsample", "BatchNorm1d")


@pytest.mark.parametrize("name,args,shape", [c for c in CASES if c[0] not in _OPEN_RANK],
                         ids=[i for i in IDS if i not in _OPEN_RANK])
def test_wrong_rank_for_step_mode(name, args, shape):
    m = getattr(layer, name)(*args, step_mode="m")
    with pytest.raises(ValueError, match=rf"{name}: step_mode='m' expects a sequence \[T, .*use step_mode='s'"):
        m(torch.randn(*shape))
    m.step_mode = "s"
    with pytest.raises(ValueError, match=rf"{name}: step_mode='s' expects one time step .*use step_mode='m'"):
        m(torch.randn(T, *shape))


def test_wrong_rank_linear_and_type_errors():
    m = layer.Linear(5, 4, step_mode="m")
    with pytest.raises(ValueError, match=r"Linear: step_mode='m' expects a sequence \[T, N, \*, in_features\] "
                                         r"\(at least 3 dims\)"):
        m(torch.randn(N, 5))
    with pytest.raises(ValueError, match=r"Upsample: step_mode='m' expects a sequence \[T, N, C, \*spatial\]"):
        layer.Upsample(scale_factor=2.0, step_mode="m")(torch.randn(N, 2, 3))
    with pytest.raises(ValueError, match=r"GroupNorm: step_mode='m' expects .*at least 3 dims"):
        layer.GroupNorm(2, 4, step_mode="m")(torch.randn(N, 4))
    bn = layer.BatchNorm1d(3, step_mode="m")
    with pytest.raises(ValueError,
                       match=r"BatchNorm1d: step_mode='m' expects a sequence \[T, N, C\] or \[T, N, C, L\]"):
        bn(torch.randn(N, 3))
    bn.step_mode = "s"
    with pytest.raises(ValueError, match=r"BatchNorm1d: step_mode='s' expects one time step .*use step_mode='m'"):
        bn(torch.randn(T, N, 3, 5))
    with pytest.raises(TypeError, match="Linear: input must be a torch.Tensor"):
        m([1.0, 2.0])
    with pytest.raises(ValueError, match="step_mode: expected one of"):
        layer.Conv2d(1, 1, 1, step_mode="x")


def test_channel_mismatch_is_reported_by_torch_layer():
    m = layer.Conv2d(3, 4, 3, step_mode="m")
    with pytest.raises(RuntimeError, match="expected input.*to have 3 channels"):
        m(torch.randn(T, N, 2, 5, 5))


@pytest.mark.parity
def test_ws_conv_without_gain_and_get_weight():
    torch.manual_seed(0)
    ours = layer.WSConv2d(2, 3, 3, gain=False, eps=1e-3)
    ref = sj_layer.WSConv2d(2, 3, 3, gain=False, eps=1e-3)
    ref.load_state_dict(ours.state_dict())
    assert ours.gain is None
    torch.testing.assert_close(ours.get_weight(), ref.get_weight())
    w = ours.get_weight()
    torch.testing.assert_close(w.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-6, rtol=0)


def test_ws_linear_multi_step_computes_weight_once():
    m = layer.WSLinear(5, 4, step_mode="m")
    calls = []
    orig = m.get_weight
    m.get_weight = lambda: (calls.append(1), orig())[1]
    m(torch.randn(T, N, 5))
    assert calls == [1]


def test_wrappers_under_vmap_and_grad():
    m = layer.Conv2d(2, 3, 3, step_mode="m")
    params = dict(m.named_parameters())
    x = torch.randn(4, T, N, 2, 5, 5)

    def f(p, xb):
        return torch.func.functional_call(m, p, (xb,)).square().sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.vmap(f, in_dims=(None, 0))(params, x)
    torch.testing.assert_close(batched, torch.stack([f(params, xb) for xb in x]))
    g = torch.func.grad(f)(params, x[0])
    m.zero_grad()
    f(params, x[0]).backward()
    torch.testing.assert_close(g["weight"], m.weight.grad)
