"""VotingLayer, PrintShapeModule, online-training helpers and the functional additions, against SpikingJelly 2.0.0."""

import warnings

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer

from fnsnn_nn import functional, layer

T, N = 4, 3


# ----------------------------------------------------------------------------- VotingLayer / PrintShapeModule
@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_voting_parity(step_mode):
    ours, ref = layer.VotingLayer(5, step_mode=step_mode), sj_layer.VotingLayer(5, step_mode=step_mode)
    x = torch.rand((T, N, 20) if step_mode == "m" else (N, 20), requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    assert y.shape[-1] == 4
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], torch.autograd.grad(y_ref.sum(), x)[0])
    torch.testing.assert_close(y, x.unflatten(-1, (4, 5)).mean(-1))


def test_voting_errors():
    with pytest.raises(ValueError, match=r"voting: the last dim of `x` must be C \* voting_size with voting_size=10"):
        layer.VotingLayer()(torch.rand(N, 25))
    with pytest.raises(ValueError, match=r"VotingLayer: `voting_size` must be a positive int"):
        layer.VotingLayer(0)
    with pytest.raises(ValueError, match=r"VotingLayer: step_mode='m' expects a sequence"):
        layer.VotingLayer(step_mode="m")(torch.rand(N, 20))


def test_print_shape_module(capsys):
    x = torch.rand(2, 3)
    assert layer.PrintShapeModule("here")(x) is x
    assert capsys.readouterr().out.strip() == "here torch.Size([2, 3])"


# ----------------------------------------------------------------------------- online training helpers
@pytest.mark.parity
def test_replace_for_grad_parity_and_vmap():
    x, xr = torch.randn(5, requires_grad=True), torch.randn(5, requires_grad=True)
    y = layer.ReplaceforGrad.apply(x, xr)
    torch.testing.assert_close(y, xr)
    gx, gxr = torch.autograd.grad((y * torch.arange(5.0)).sum(), [x, xr])
    torch.testing.assert_close(gx, torch.arange(5.0))
    torch.testing.assert_close(gxr, torch.arange(5.0))
    y_ref = sj_layer.ReplaceforGrad.apply(x, xr)
    torch.testing.assert_close(torch.autograd.grad(y_ref.sum(), x)[0], torch.autograd.grad(y.sum(), x)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.vmap(torch.func.grad(lambda a, b: layer.ReplaceforGrad.apply(a, b).square().sum()))(
            torch.randn(3, 4), torch.ones(3, 4))
    torch.testing.assert_close(out, torch.full((3, 4), 2.0))


class _SpikeTrace(nn.Module):
    """Stands in for an OTTT neuron in training: returns [spike, trace]."""

    def forward(self, x):
        return [(x > 0).float(), torch.sigmoid(x)]


@pytest.mark.parity
def test_ottt_sequential_parity():
    torch.manual_seed(0)
    body = [nn.Linear(4, 6), _SpikeTrace(), nn.Dropout(0.0), nn.Linear(6, 3)]
    ours = layer.OTTTSequential(*body)
    ref = sj_layer.OTTTSequential(*[m for m in body])
    x = torch.randn(N, 4)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    g = torch.autograd.grad(y.sum(), [body[0].weight, body[3].weight])
    g_ref = torch.autograd.grad(y_ref.sum(), [body[0].weight, body[3].weight])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)
    # value from spikes, weight gradient from traces
    spike, trace = _SpikeTrace()(body[0](x))
    torch.testing.assert_close(y, body[3](spike))
    torch.testing.assert_close(g[1], torch.ones(3, 1) * torch.sigmoid(body[0](x)).sum(0, keepdim=True))


def test_grad_with_trace_and_spike_trace_op():
    lin = nn.Linear(4, 2)
    spike, trace = (torch.rand(N, 4) > 0.5).float(), torch.rand(N, 4)
    y = layer.GradwithTrace(lin)([spike, trace])
    torch.testing.assert_close(y, lin(spike))
    torch.testing.assert_close(torch.autograd.grad(y.sum(), lin.weight)[0],
                               torch.autograd.grad(lin(trace).sum(), lin.weight)[0])
    pool = layer.SpikeTraceOp(nn.AvgPool1d(2))
    s2, t2 = pool([spike.unsqueeze(1), trace.unsqueeze(1)])
    torch.testing.assert_close(t2, nn.AvgPool1d(2)(trace.unsqueeze(1)))
    assert not t2.requires_grad
    with pytest.raises(TypeError, match=r"grad_with_trace: input must be a \[spike, trace\] pair"):
        layer.GradwithTrace(lin)(spike)
    with pytest.raises(ValueError, match=r"spike_trace_op: spike and trace must have the same shape"):
        pool([spike, trace[:, :2]])


# ----------------------------------------------------------------------------- functional additions
@pytest.mark.parity
def test_first_spike_index_and_redundant_one_hot():
    spikes = (torch.rand(N, 5, 8) > 0.6).float()
    assert torch.equal(functional.first_spike_index(spikes), sj_functional.first_spike_index(spikes))
    assert functional.first_spike_index(spikes).sum(-1).le(1).all()
    labels = torch.tensor([0, 2, 1])
    assert torch.equal(functional.redundant_one_hot(labels, 3, 4), sj_functional.redundant_one_hot(labels, 3, 4))
    with pytest.raises(TypeError, match="redundant_one_hot: `labels` must be an integer tensor"):
        functional.redundant_one_hot(labels.float(), 3, 4)
    with pytest.raises(ValueError, match=r"redundant_one_hot: `n` must be a positive int"):
        functional.redundant_one_hot(labels, 3, 0)


@pytest.mark.parity
@pytest.mark.parametrize("kernel,args", [("linear", ()), ("polynomial", (2,)), ("sigmoid", (0.5,)),
                                         ("gaussian", (1.5,))])
def test_kernel_dot_product_parity(kernel, args):
    x, y = torch.randn(4, 6), torch.randn(4, 6)
    torch.testing.assert_close(functional.kernel_dot_product(x, y, kernel, *args),
                               sj_functional.kernel_dot_product(x, y, kernel, *args))


def test_kernel_dot_product_errors():
    x = torch.randn(4, 6)
    with pytest.raises(ValueError, match=r"kernel_dot_product: `kernel` must be one of"):
        functional.kernel_dot_product(x, x, "rbf")
    with pytest.raises(TypeError, match=r"kernel_dot_product: kernel 'gaussian' needs its parameter `sigma`"):
        functional.kernel_dot_product(x, x, "gaussian")
    with pytest.raises(ValueError, match=r"kernel_dot_product: the Gaussian kernel needs sigma > 0"):
        functional.kernel_dot_product(x, x, "gaussian", 0.0)
    with pytest.raises(ValueError, match=r"kernel_dot_product: `x` and `y` must be \[N, M\] and \[K, M\]"):
        functional.kernel_dot_product(x, torch.randn(4, 5))


@pytest.mark.parity
@pytest.mark.parametrize("kernel,loss,args", [("linear", "mse", ()), ("linear", "l1", ()),
                                              ("sigmoid", "bce", (0.1,)), ("gaussian", "mse", (2.0,))])
def test_spike_similar_loss_parity(kernel, loss, args):
    spikes = (torch.rand(N, 2, 5) > 0.5).float().requires_grad_()
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 0]), 3)
    a = functional.spike_similar_loss(spikes, labels, kernel, loss, *args)
    b = sj_functional.spike_similar_loss(spikes, labels, kernel, loss, *args)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(torch.autograd.grad(a, spikes)[0], torch.autograd.grad(b, spikes)[0])
    with pytest.raises(ValueError, match=r"spike_similar_loss: `loss_type` must be one of"):
        functional.spike_similar_loss(spikes, labels, kernel, "huber", *args)


@pytest.mark.parity
@pytest.mark.parametrize("shape,tshape", [((T, N, 5), (N,)), ((T, N, 5, 2, 3), (N, 2, 3))])
def test_tet_cross_entropy_parity(shape, tshape):
    x = torch.randn(shape, requires_grad=True)
    target = torch.randint(0, 5, tshape)
    a = functional.temporal_efficient_training_cross_entropy(x, target)
    b = sj_functional.temporal_efficient_training_cross_entropy(x, target)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, torch.stack([nn.functional.cross_entropy(xt, target) for xt in x]).mean())
    torch.testing.assert_close(torch.autograd.grad(a, x)[0], torch.autograd.grad(b, x)[0])
    with pytest.raises(ValueError, match=r"temporal_efficient_training_cross_entropy: `target` must have shape"):
        functional.temporal_efficient_training_cross_entropy(x, target[:1])


@pytest.mark.parity
@pytest.mark.parametrize("d", [0, 1, 2, 6])
def test_functional_delay_parity(d):
    x = torch.randn(5, N)
    torch.testing.assert_close(functional.delay(x, d), sj_functional.delay(x, d))


def test_functional_delay_errors():
    with pytest.raises(ValueError, match=r"delay: `delay_steps` must be >= 0, got -2"):
        functional.delay(torch.randn(4, 2), -2)
    with pytest.raises(TypeError, match=r"delay: `delay_steps` must be an int"):
        functional.delay(torch.randn(4, 2), 1.0)
