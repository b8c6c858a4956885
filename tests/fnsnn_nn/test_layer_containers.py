"""Containers: parity with SpikingJelly 2.0.0, step-mode handling, recurrent state under init_state/apply."""

import warnings

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import neuron as sj_neuron

import fnsnn_nn
from fnsnn_nn import functional, layer, neuron

T, N = 4, 3


@pytest.mark.parity
def test_multi_step_container_parity():
    ours = layer.MultiStepContainer(nn.Linear(4, 5), neuron.LIFNode())
    ref = sj_layer.MultiStepContainer(nn.Linear(4, 5), sj_neuron.LIFNode())
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(T, N, 4, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours[1].v, ref[1].v)
    g = torch.autograd.grad(y.sum(), [x, ours[0].weight])
    g_ref = torch.autograd.grad(y_ref.sum(), [x, ref[0].weight])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)
    assert ours.step_mode == "m"


@pytest.mark.parity
def test_seq_to_ann_container_parity_and_single_call():
    ours = layer.SeqToANNContainer(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    ref = sj_layer.SeqToANNContainer(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    ref.load_state_dict(ours.state_dict())
    calls = []
    ours[0].register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    x = torch.randn(T, N, 2, 5, 5)
    torch.testing.assert_close(ours(x), ref(x))
    assert calls == [torch.Size([T * N, 2, 5, 5])]


@pytest.mark.parity
@pytest.mark.parametrize("stateful", [True, False])
def test_step_mode_container_parity(stateful):
    # The seed's signature is StepModeContainer(stateful, *args) (step mode set afterwards);
    # SpikingJelly 2.0.0 takes StepModeContainer(stateful, step_mode, *args).
    mods = (nn.Linear(4, 5), neuron.LIFNode()) if stateful else (nn.Linear(4, 5), nn.ReLU())
    ref_mods = (nn.Linear(4, 5), sj_neuron.LIFNode()) if stateful else (nn.Linear(4, 5), nn.ReLU())
    ours = layer.StepModeContainer(stateful, *mods)
    ref = sj_layer.StepModeContainer(stateful, "s", *ref_mods)
    ref.load_state_dict(ours.state_dict())
    assert ours.step_mode == "s"
    x = torch.randn(T, N, 4)
    torch.testing.assert_close(ours(x[0]), ref(x[0]))
    functional.reset_net(ours), sj_functional.reset_net(ref)
    functional.set_step_mode(ours, "m")
    assert ours.step_mode == "m" and getattr(ours[1], "step_mode", "s") == "s"  # children are left in 's'
    ref.step_mode = "m"
    torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parity
@pytest.mark.parametrize("stateful", [True, False])
@pytest.mark.parametrize("form", ["positional", "keyword"])
def test_step_mode_container_2_0_0_form(stateful, form):
    # SpikingJelly 2.0.0 spells StepModeContainer(stateful, step_mode, *modules); the keyword form is ours too.
    mods = (nn.Linear(4, 5), neuron.LIFNode()) if stateful else (nn.Linear(4, 5), nn.BatchNorm1d(5))
    ref_mods = (nn.Linear(4, 5), sj_neuron.LIFNode()) if stateful else (nn.Linear(4, 5), nn.BatchNorm1d(5))
    if form == "positional":
        ours = layer.StepModeContainer(stateful, "m", *mods)
    else:
        ours = layer.StepModeContainer(stateful, *mods, step_mode="m")
    ref = sj_layer.StepModeContainer(stateful, "m", *ref_mods)
    assert ours.step_mode == "m" and len(ours) == 2
    assert list(ours.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(T, N, 4)
    torch.testing.assert_close(ours(x), ref(x))
    # The seed form still builds a single-step container from modules alone.
    seed = layer.StepModeContainer(stateful, nn.Linear(4, 5))
    assert seed.step_mode == "s" and len(seed) == 1


def test_step_mode_container_ambiguous_calls_raise():
    with pytest.raises(ValueError, match=r"StepModeContainer: the second positional argument 'x' is neither a step "
                                         r"mode \('s' or 'm'\) nor a module"):
        layer.StepModeContainer(False, "x", nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"StepModeContainer: the step mode was given twice, as the second "
                                        r"positional argument 'm' and as step_mode='s'"):
        layer.StepModeContainer(False, "m", nn.Linear(2, 2), step_mode="s")
    with pytest.raises(TypeError, match=r"StepModeContainer: argument 3 is the string 'm' after the modules began"):
        layer.StepModeContainer(False, nn.Linear(2, 2), "m")
    with pytest.raises(ValueError, match=r"StepModeContainer.step_mode: expected one of \('s', 'm'\), got 'q'"):
        layer.StepModeContainer(False, nn.Linear(2, 2), step_mode="q")


def test_containers_reject_multi_step_children():
    for cls in (layer.MultiStepContainer, layer.SeqToANNContainer):
        with pytest.raises(ValueError, match=rf"{cls.__name__}: the contained Linear has step_mode='m'"):
            cls(layer.Linear(2, 2, step_mode="m"))
    with pytest.raises(ValueError, match=r"StepModeContainer: the contained LIFNode has step_mode='m'"):
        layer.StepModeContainer(True, neuron.LIFNode(step_mode="m"))
    with pytest.raises(TypeError, match=r"StepModeContainer: `stateful` must be a bool"):
        layer.StepModeContainer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"ElementWiseRecurrentContainer: the contained IFNode has step_mode='m'"):
        layer.ElementWiseRecurrentContainer(neuron.IFNode(step_mode="m"), lambda x, y: x + y)
    with pytest.raises(TypeError, match=r"ElementWiseRecurrentContainer: `element_wise_function` must be callable"):
        layer.ElementWiseRecurrentContainer(nn.Identity(), 3)
    with pytest.raises(ValueError, match=r"multi_step_forward: `x_seq` must be a \[T, N, \*\] tensor"):
        layer.MultiStepContainer(nn.ReLU())(torch.randn(3))


@pytest.mark.parity
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_element_wise_recurrent_parity(step_mode):
    # The seed defines i[t] = f(x[t], y[t-1]); SpikingJelly 2.0.0 calls f(y[t-1], x[t]). A symmetric f
    # agrees in both; the argument order is checked separately below.
    ours = layer.ElementWiseRecurrentContainer(neuron.IFNode(v_reset=None), lambda x, y: x + y)
    ref = sj_layer.ElementWiseRecurrentContainer(sj_neuron.IFNode(v_reset=None), lambda x, y: x + y)
    x = torch.zeros(8, 2)
    x[0] = 1.5
    x.requires_grad_()
    if step_mode == "m":
        ours.step_mode = ref.step_mode = "m"
        y, y_ref = ours(x), ref(x)
    else:
        y = torch.stack([ours(xt) for xt in x.unbind(0)])
        y_ref = torch.stack([ref(xt) for xt in x.unbind(0)])
    torch.testing.assert_close(y, y_ref)
    assert y[:, 0].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], torch.autograd.grad(y_ref.sum(), x)[0])


def test_element_wise_function_argument_order_follows_seed():
    net = layer.ElementWiseRecurrentContainer(nn.Identity(), lambda x, y: 2 * x + y)
    one = torch.ones(2)
    torch.testing.assert_close(net(one), 2 * one)  # f(x, 0)
    torch.testing.assert_close(net(one), 4 * one)  # f(x, y_prev) = 2 + 2


@pytest.mark.parity
@pytest.mark.parametrize("bias", [True, False])
def test_linear_recurrent_parity(bias):
    ours = layer.LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 2), neuron.LIFNode()), 4, 2, bias=bias)
    ref = sj_layer.LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 2), sj_neuron.LIFNode()), 4, 2, bias=bias)
    ref.load_state_dict(ours.state_dict())
    x = torch.rand(T, N, 4, requires_grad=True)
    ours.step_mode = ref.step_mode = "m"
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.y, ref.y)
    params = [x, ours.rc.weight, ours.sub_module[0].weight]
    params_ref = [x, ref.rc.weight, ref.sub_module[0].weight]
    w = torch.linspace(0, 1, y.numel()).view_as(y)
    for a, b in zip(torch.autograd.grad((y * w).sum(), params), torch.autograd.grad((y_ref * w).sum(), params_ref)):
        torch.testing.assert_close(a, b)


def test_linear_recurrent_errors():
    net = layer.LinearRecurrentContainer(nn.Linear(4, 2), 4, 2)
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer: the input must be \[N, \*, in_features\] "
                                         r"with in_features=4"):
        net(torch.rand(N, 3))
    net(torch.rand(N, 4))
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer: stored memory `y` has shape \(3, 2\)"):
        net(torch.rand(N + 1, 4))


@pytest.mark.parametrize("which", ["element_wise", "linear"])
def test_recurrent_containers_explicit_state(which):
    if which == "linear":
        make = lambda: layer.LinearRecurrentContainer(  # noqa: E731
            nn.Sequential(nn.Linear(4, 3), nn.Tanh()), 4, 3)
    else:
        make = lambda: layer.ElementWiseRecurrentContainer(nn.Tanh(), lambda x, y: x - 0.5 * y)  # noqa: E731
    torch.manual_seed(0)
    net_m = make()
    net_m.step_mode = "m"
    net_s = make()
    net_s.load_state_dict(net_m.state_dict())
    x_seq = torch.randn(T, N, 4)
    state = fnsnn_nn.init_state(net_m, x_seq)
    assert state[""]["y"].shape == ((N, 3) if which == "linear" else (N, 4))
    y_m, final = fnsnn_nn.apply(net_m, x_seq, state)
    s = fnsnn_nn.init_state(net_s, x_seq[0])
    ys = []
    for x in x_seq.unbind(0):
        y, s = fnsnn_nn.apply(net_s, x, s)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_m)
    torch.testing.assert_close(s[""]["y"], final[""]["y"])
    params = {k: v.detach() for k, v in net_m.named_parameters()}

    def loss(p, xs):
        return fnsnn_nn.apply(net_m, xs, state, p)[0].square().sum()

    gp, gx = torch.func.grad(loss, argnums=(0, 1))(params, x_seq)
    net_m.zero_grad()
    xs = x_seq.clone().requires_grad_()
    fnsnn_nn.apply(net_m, xs, state)[0].square().sum().backward()
    torch.testing.assert_close(gx, xs.grad)
    for k, p in net_m.named_parameters():
        torch.testing.assert_close(gp[k], p.grad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.vmap(loss, in_dims=(None, 0))(params, torch.stack([x_seq, -x_seq]))
    torch.testing.assert_close(batched, torch.stack([loss(params, x_seq), loss(params, -x_seq)]))
