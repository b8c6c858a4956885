"""Stateful layer shells: parity with SpikingJelly 2.0.0 (outputs, state, gradients; statistics and mask
persistence for random layers), the explicit-state door, torch.func, streaming == whole sequence, errors."""

import warnings

import pytest
import torch
from spikingjelly.activation_based import layer as sj_layer

import fnsnn_nn
from fnsnn_nn import functional, layer

T, N = 5, 3


def _run(module, x, step_mode):
    module.step_mode = step_mode
    if step_mode == "m":
        return module(x)
    return torch.stack([module(xt) for xt in x.unbind(0)])


def _close_grads(ys, inputs_a, inputs_b):
    (ya, yb) = ys
    w = torch.linspace(-1, 1, ya.numel()).view_as(ya)
    ga = torch.autograd.grad((ya * w).sum(), inputs_a)
    gb = torch.autograd.grad((yb * w).sum(), inputs_b)
    for a, b in zip(ga, gb):
        torch.testing.assert_close(a, b)


# ----------------------------------------------------------------------------- SynapseFilter
@pytest.mark.parity
@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_synapse_filter_parity(learnable, step_mode):
    ours, ref = layer.SynapseFilter(10.0, learnable), sj_layer.SynapseFilter(10.0, learnable)
    ref.load_state_dict(ours.state_dict())
    x = (torch.rand(T, N, 4) > 0.6).float().requires_grad_()
    y, y_ref = _run(ours, x, step_mode), _run(ref, x, step_mode)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.out_i, ref.out_i)
    params = [x] + ([ours.w] if learnable else [])
    params_ref = [x] + ([ref.w] if learnable else [])
    _close_grads((y, y_ref), params, params_ref)
    assert f"learnable={learnable}" in repr(ours) and "tau=" in repr(ours)


def test_synapse_filter_errors():
    with pytest.raises(ValueError, match=r"SynapseFilter: `tau` must be > 1"):
        layer.SynapseFilter(tau=0.5)
    m = layer.SynapseFilter()
    m(torch.rand(N, 4))
    with pytest.raises(ValueError, match=r"SynapseFilter: stored memory `out_i` has shape \(3, 4\).*reset_net"):
        m(torch.rand(N + 1, 4))


# ----------------------------------------------------------------------------- Delay
@pytest.mark.parity
@pytest.mark.parametrize("delay_steps", [0, 1, 3, 7])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_delay_parity(delay_steps, step_mode):
    ours, ref = layer.Delay(delay_steps), sj_layer.Delay(delay_steps)
    x = torch.randn(T, N, requires_grad=True)
    y, y_ref = _run(ours, x, step_mode), _run(ref, x, step_mode)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(y, functional.delay(x, delay_steps))
    # The queue holds the pending inputs, oldest first (SpikingJelly keeps a list of them).
    pending = list(ref.queue)
    assert ours.queue.shape == (delay_steps, N)
    if pending:
        torch.testing.assert_close(ours.queue[-len(pending):], torch.stack(pending))
    if delay_steps < T:
        _close_grads((y, y_ref), [x], [x])
    else:  # nothing arrives within T steps: SpikingJelly's output has no graph, ours a zero gradient
        assert torch.equal(torch.autograd.grad(y.sum(), x)[0], torch.zeros_like(x))
    assert ours.delay_steps == delay_steps


def test_delay_errors():
    with pytest.raises(ValueError, match=r"Delay: `delay_steps` must be >= 0, got -1"):
        layer.Delay(-1)
    with pytest.raises(TypeError, match=r"Delay: `delay_steps` must be an int, got float"):
        layer.Delay(1.5)
    with pytest.raises(AttributeError):
        layer.Delay(1).delay_steps = 2


# ----------------------------------------------------------------------------- NeuNorm
@pytest.mark.parity
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_neunorm_parity(shared, step_mode):
    ours = layer.NeuNorm(3, 4, 5, k=0.8, shared_across_channels=shared)
    ref = sj_layer.NeuNorm(3, 4, 5, k=0.8, shared_across_channels=shared)
    ref.load_state_dict(ours.state_dict())
    x = (torch.rand(T, N, 3, 4, 5) > 0.5).float().requires_grad_()
    y, y_ref = _run(ours, x, step_mode), _run(ref, x, step_mode)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.x, ref.x)
    _close_grads((y, y_ref), [x, ours.w], [x, ref.w])


def test_neunorm_errors():
    m = layer.NeuNorm(3, 4, 4)
    with pytest.raises(ValueError, match=r"NeuNorm: the input has 2 channels but the layer was built with "
                                         r"in_channels=3"):
        m(torch.rand(N, 2, 4, 4))
    with pytest.raises(ValueError, match=r"neunorm_step: `weight` must have shape \[C, H, W\]"):
        m(torch.rand(N, 3, 5, 5))
    m.step_mode = "m"
    with pytest.raises(ValueError, match=r"NeuNorm: step_mode='m' needs a \[T, N, \*\] tensor"):
        m(torch.rand(3, 4, 4)[:0])
    with pytest.raises(ValueError, match=r"NeuNorm: `k` must lie in \[0, 1\]"):
        layer.NeuNorm(3, 4, 4, k=1.5)


# ----------------------------------------------------------------------------- Dropout / Dropout2d
@pytest.mark.parity
@pytest.mark.parametrize("cls,p", [("Dropout", 0.5), ("Dropout", 0.25), ("Dropout2d", 0.2)])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_dropout_parity_same_seed_same_mask(cls, p, step_mode):
    ours, ref = getattr(layer, cls)(p), getattr(sj_layer, cls)(p)
    x = torch.randn(T, N, 4, 3, 3, requires_grad=True)
    torch.manual_seed(7)
    y = _run(ours, x, step_mode)
    torch.manual_seed(7)
    y_ref = _run(ref, x, step_mode)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.mask, ref.mask)
    _close_grads((y, y_ref), [x], [x])


@pytest.mark.parametrize("cls", ["Dropout", "Dropout2d"])
def test_dropout_mask_persists_until_reset(cls):
    m = getattr(layer, cls)(0.5)
    x = torch.ones(N, 8, 4, 4)
    y0 = m(x)
    for _ in range(3):
        assert torch.equal(m(x), y0)
    first = m.mask.clone()
    m.reset()
    assert m.mask is None
    m(x)
    assert not torch.equal(m.mask, first)  # renewed (2**384 masks; equal with negligible probability)


def test_dropout_statistics():
    p = 0.3
    m = layer.Dropout(p, step_mode="m")
    y = m(torch.ones(4, 200, 500))
    kept = (y[0] != 0).float().mean().item()
    assert abs(kept - (1 - p)) < 0.01
    torch.testing.assert_close(y[0][y[0] != 0], torch.full_like(y[0][y[0] != 0], 1 / (1 - p)))
    assert torch.equal(y[0], y[3])  # the same mask at every step
    m2 = layer.Dropout2d(p, step_mode="m")
    y2 = m2(torch.ones(2, 100, 100, 3, 3))
    per_channel = y2[0].flatten(2)
    assert torch.all(per_channel.amax(-1) == per_channel.amin(-1))  # whole channels dropped
    assert abs((per_channel[..., 0] != 0).float().mean().item() - (1 - p)) < 0.02


def test_dropout_eval_is_identity_and_generator_attribute():
    m = layer.Dropout(0.5).eval()
    x = torch.randn(N, 6)
    assert torch.equal(m(x), x)
    m.train()
    m.reset()
    m.generator = torch.Generator().manual_seed(3)
    a = m(x)
    m.reset()
    m.generator = torch.Generator().manual_seed(3)
    torch.testing.assert_close(m(x), a)


def test_dropout_errors():
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"Dropout: `p` must be in \[0, 1\)"):
            layer.Dropout(bad)
    with pytest.raises(ValueError, match=r"Dropout2d: `p` must be in \[0, 1\)"):
        layer.Dropout2d(1.0)
    with pytest.raises(ValueError, match=r"dropout2d_step: channel-wise dropout needs inputs \[N, C, \*spatial\]"):
        layer.Dropout2d()(torch.rand(N, 4))
    m = layer.Dropout(0.5)
    m(torch.rand(N, 4))
    with pytest.raises(ValueError, match=r"Dropout: stored memory `mask` has shape"):
        m(torch.rand(N, 5))


# ----------------------------------------------------------------------------- DropConnectLinear
@pytest.mark.parity
@pytest.mark.parametrize("invariant", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_drop_connect_training_parity(invariant, bias):
    ours = layer.DropConnectLinear(6, 4, bias=bias, p=0.4, invariant=invariant)
    ref = sj_layer.DropConnectLinear(6, 4, bias=bias, p=0.4, invariant=invariant)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(T, N, 6, requires_grad=True)
    torch.manual_seed(11)
    y = _run(ours, x, "s")
    torch.manual_seed(11)
    y_ref = _run(ref, x, "s")
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.weight * ours.mask_w, ref.dropped_w)
    if bias:
        torch.testing.assert_close(ours.bias * ours.mask_b, ref.dropped_b)
    params = [x, ours.weight] + ([ours.bias] if bias else [])
    params_ref = [x, ref.weight] + ([ref.bias] if bias else [])
    _close_grads((y, y_ref), params, params_ref)


@pytest.mark.parity
def test_drop_connect_inference_parity():
    ours = layer.DropConnectLinear(6, 4, p=0.3, samples_num=64).eval()
    ref = sj_layer.DropConnectLinear(6, 4, p=0.3, samples_num=64).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(N, 6)
    torch.manual_seed(5)
    y = ours(x)
    torch.manual_seed(5)
    torch.testing.assert_close(y, ref(x))


def test_drop_connect_statistics_and_persistence():
    m = layer.DropConnectLinear(50, 40, p=0.25, invariant=True, activation=None)
    x = torch.randn(8, 50)
    y0 = m(x)
    assert abs(m.mask_w.mean().item() - 0.75) < 0.02
    assert torch.equal(m(x), y0)  # invariant: same connections until reset
    first = m.mask_w.clone()
    functional.reset_net(m)
    m(x)
    assert not torch.equal(m.mask_w, first)
    m2 = layer.DropConnectLinear(50, 40, p=0.25, invariant=False, activation=None)
    a, b = m2(x), m2(x)
    assert not torch.equal(a, b)  # redrawn every step
    # Inference: the sample mean approaches (1 - p) (W x + b) without activation.
    m.eval()
    m.samples_num = 4096
    mean = (1 - 0.25) * torch.nn.functional.linear(x, m.weight, m.bias)
    torch.testing.assert_close(m(x), mean, atol=0.1, rtol=0)


def test_drop_connect_errors_and_alias():
    with pytest.raises(ValueError, match=r"DropConnectLinear: `p` must be in \[0, 1\)"):
        layer.DropConnectLinear(3, 2, p=1.0)
    with pytest.raises(ValueError, match=r"drop_connect_linear_step: `x` must be \[N, in_features\] = \[N, 3\]"):
        layer.DropConnectLinear(3, 2)(torch.rand(N, 4))
    assert layer.DropConnectLinear(3, 2, state_mode="m").step_mode == "m"


# ----------------------------------------------------------------------------- tdBN and TEBN
@pytest.mark.parity
@pytest.mark.parametrize("d,shape", [(1, (N, 3)), (1, (N, 3, 4)), (2, (N, 3, 4, 4)), (3, (N, 3, 2, 3, 3))])
def test_threshold_dependent_bn_parity(d, shape):
    ours = getattr(layer, f"ThresholdDependentBatchNorm{d}d")(0.5, 2.0, 3)
    ref = getattr(sj_layer, f"ThresholdDependentBatchNorm{d}d")(0.5, 2.0, 3)
    torch.testing.assert_close(ours.weight, torch.full((3,), 1.0))
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(T, *shape, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    _close_grads((y, y_ref), [x, ours.weight, ours.bias], [x, ref.weight, ref.bias])
    assert ours.step_mode == "m"
    functional.set_step_mode(ours, "s")  # multi-step only: left as it is
    assert ours.step_mode == "m"


def test_threshold_dependent_bn_errors():
    with pytest.raises(ValueError, match="ThresholdDependentBatchNorm2d: tdBN needs affine=True"):
        layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3, affine=False)
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d: step_mode='m' expects a sequence "
                                         r"\[T, N, C, H, W\]"):
        layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3)(torch.rand(N, 3, 4, 4))


@pytest.mark.parity
@pytest.mark.parametrize("d,shape", [(1, (N, 3, 4)), (2, (N, 3, 4, 4)), (3, (N, 3, 2, 3, 3))])
def test_temporal_effective_bn_parity_multi_step(d, shape):
    # The seed documents TEBN as a MemoryModule holding `bn` (bn_instance) and `scale`; SpikingJelly 2.0.0
    # makes it a BatchNorm subclass. Ours keeps the seed's structure and saves 2.0.0's flat keys.
    ours = getattr(layer, f"TemporalEffectiveBatchNorm{d}d")(T, 3, step_mode="m")
    ref = getattr(sj_layer, f"TemporalEffectiveBatchNorm{d}d")(T, 3)
    with torch.no_grad():
        ours.scale.copy_(torch.linspace(0.5, 1.5, T))
        ours.bn.weight.normal_()
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(T, *shape, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.bn.running_var, ref.running_var)
    _close_grads((y, y_ref), [x, ours.scale, ours.bn.weight], [x, ref.scale, ref.weight])


@pytest.mark.parity
@pytest.mark.parametrize("d,shape", [(1, (2, 3)), (1, (N, 3, 4)), (2, (N, 3, 4, 4)), (3, (N, 3, 2, 3, 3))])
def test_temporal_effective_bn_built_as_2_0_0_builds_it(d, shape):
    # 2.0.0 code: TemporalEffectiveBatchNorm*d(T, C) with no step mode, fed whole [T, N, C, ...] sequences.
    # The seed's default step mode is 's'; an input that can only be a sequence runs as one.
    ours = getattr(layer, f"TemporalEffectiveBatchNorm{d}d")(T, 3)
    ref = getattr(sj_layer, f"TemporalEffectiveBatchNorm{d}d")(T, 3)
    assert ours.step_mode == "s"
    with torch.no_grad():
        ref.scale.copy_(torch.linspace(0.5, 1.5, T))
        ref.weight.normal_()
        ref.bias.normal_()
    ours.load_state_dict(ref.state_dict(), strict=True)
    torch.testing.assert_close(ours.weight, ref.weight)  # 2.0.0's attribute names read through to `bn`
    x = torch.randn(T, *shape, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert ours.t is None  # a whole sequence leaves the single-step counter alone
    _close_grads((y, y_ref), [x, ours.scale, ours.bn.weight], [x, ref.scale, ref.weight])
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x))


def test_temporal_effective_bn_1d_three_dim_inputs():
    m = layer.TemporalEffectiveBatchNorm1d(4, 3)
    # [T, N, C] = [4, 2, 3]: dim 1 is not C, so it is a sequence (as 2.0.0 reads it), never a BatchNorm error.
    y = m(torch.randn(4, 2, 3))
    assert y.shape == (4, 2, 3) and m.t is None and int(m.bn.num_batches_tracked) == 1
    # [N, C, L] = [4, 3, 5]: a single step, as the seed's 's' mode reads it.
    m(torch.randn(4, 3, 5))
    assert int(m.t) == 1
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: got a whole sequence of shape \(4, 2, 3\) "
                                         r"after single steps; call fnsnn_nn.functional.reset_net"):
        m(torch.randn(4, 2, 3))
    m.reset()
    # (T, C, C) = (4, 3, 3) reads both ways: a named error at the start, a single step mid-sequence.
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: an input of shape \(4, 3, 3\) reads both "
                                         r"as a sequence \[T, N, C\] with N = C and as one step .* Set "
                                         r"step_mode='m' for whole sequences"):
        m(torch.randn(4, 3, 3))
    assert m.t is None
    m.single_step_forward(torch.randn(4, 3, 3))  # the way out for a single step of that shape
    m(torch.randn(4, 3, 3))
    assert int(m.t) == 2
    m.reset()
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: expected one time step \[N, C, \.\.\.\] "
                                         r"with C=3 \(step_mode='s'\), got shape \(4, 2, 5\)"):
        m(torch.randn(4, 2, 5))
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: the input has T=2 steps but the layer was "
                                         r"built with T=4"):
        m(torch.randn(2, 5, 3))
    m2 = layer.TemporalEffectiveBatchNorm2d(4, 3)  # a sequence with the wrong C: named, before BN statistics move
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d: expected a sequence \[T, N, C, \.\.\.\] "
                                         r"with C=3 \(step_mode='s'\), got shape \(4, 2, 5, 2, 2\)"):
        m2(torch.randn(4, 2, 5, 2, 2))
    with pytest.raises(ValueError, match=r"the input has T=3 steps but the layer was built with T=4"):
        m2(torch.randn(3, 2, 3, 2, 2))
    assert int(m2.num_batches_tracked) == 0 and torch.equal(m2.running_mean, torch.zeros(3))
    m.step_mode = "m"
    assert m(torch.randn(4, 2, 3)).shape == (4, 2, 3)
    tracked = int(m.num_batches_tracked)
    with pytest.raises(ValueError, match=r"the input has T=2 steps but the layer was built with T=4"):
        m(torch.randn(2, 2, 3))
    assert int(m.num_batches_tracked) == tracked  # the failed call did not touch the statistics
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: expected a sequence \[T, N, C, \.\.\.\] "
                                         r"with C=3 \(step_mode='m'\), got shape \(4, 2, 5\)"):
        m(torch.randn(4, 2, 5))


def test_temporal_effective_bn_2_0_0_style_through_the_state_door():
    # Built without a step mode and fed a whole sequence, under init_state/apply and torch.func.grad.
    net = torch.nn.Sequential(layer.Linear(4, 3, step_mode="m"), layer.TemporalEffectiveBatchNorm1d(T, 3)).eval()
    with torch.no_grad():
        net[1].scale.copy_(torch.linspace(0.5, 1.5, T))
    x = torch.randn(T, 2, 4)  # N=2 differs from C=3, so the 1d layer reads [T, N, C] as a sequence
    state = fnsnn_nn.init_state(net, x)
    y, new_state = fnsnn_nn.apply(net, x, state)
    torch.testing.assert_close(y, net(x))
    assert int(new_state["1"]["t"]) == 0  # a whole sequence does not advance the single-step counter
    params = dict(net.named_parameters())
    g = torch.func.grad(lambda p: torch.func.functional_call(net, p, (x,)).square().sum())(params)
    assert g["1.scale"].shape == (T,) and g["1.scale"].abs().sum() > 0


def test_temporal_effective_bn_checkpoint_keys_both_layouts():
    m = layer.TemporalEffectiveBatchNorm2d(3, 2)
    net = torch.nn.Sequential(torch.nn.Identity(), m)
    keys = ["scale", "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(net.state_dict()) == [f"1.{k}" for k in keys]
    assert [n for n, _ in m.named_parameters()] == ["scale", "bn.weight", "bn.bias"]  # the module tree is the seed's
    sd = {k: v + 1 if v.is_floating_point() else v + 2 for k, v in net.state_dict().items()}
    nested = {(k if k == "1.scale" else k.replace("1.", "1.bn.")): v for k, v in sd.items()}
    for checkpoint in (sd, nested):  # 2.0.0's flat keys and fnsnn's earlier `bn.*` keys both load strictly
        fresh = torch.nn.Sequential(torch.nn.Identity(), layer.TemporalEffectiveBatchNorm2d(3, 2))
        fresh.load_state_dict(checkpoint, strict=True)
        for k, v in sd.items():
            torch.testing.assert_close(fresh.state_dict()[k], v)
    with pytest.raises(RuntimeError, match=r"TemporalEffectiveBatchNorm2d: the checkpoint holds both '1.weight' and "
                                           r"'1.bn.weight'"):
        net.load_state_dict({**sd, "1.bn.weight": sd["1.weight"]})


def test_temporal_effective_bn_single_step_counts_time():
    m = layer.TemporalEffectiveBatchNorm2d(3, 2).eval()
    with torch.no_grad():
        m.scale.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x = torch.randn(N, 2, 3, 3)
    z = m.bn(x)
    for k in (1.0, 2.0, 3.0):
        torch.testing.assert_close(m(x), k * z)
    assert int(m.t) == 3
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d: step 4 of a sequence but the layer was "
                                         r"built with T=3; call fnsnn_nn.functional.reset_net"):
        m(x)
    assert int(m.t) == 3  # the failed call changed nothing
    m.reset()
    torch.testing.assert_close(m(x), z)
    functional.set_step_mode(m, "m")
    assert m.bn.step_mode == "m"
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d: the input has T=2 steps but the layer "
                                         r"was built with T=3"):
        m(torch.randn(2, N, 2, 3, 3))
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm1d: `T` must be a positive int"):
        layer.TemporalEffectiveBatchNorm1d(0, 2)


# ----------------------------------------------------------------------------- explicit state, torch.func
def _stateful_net(step_mode):
    net = torch.nn.Sequential(
        layer.Linear(4, 6), layer.SynapseFilter(5.0, learnable=True), layer.Delay(2),
        layer.Dropout(0.3), layer.Linear(6, 3 * 2 * 2), layer.Flatten(), layer.Linear(12, 2 * 2 * 2),
    )
    functional.set_step_mode(net, step_mode)
    return net


def _neunorm_net(step_mode):
    net = torch.nn.Sequential(layer.Conv2d(2, 3, 3, padding=1), layer.NeuNorm(3, 4, 4),
                              layer.Dropout2d(0.2), layer.Delay(1))
    functional.set_step_mode(net, step_mode)
    return net


NETS = [(_stateful_net, (T, N, 4)), (_neunorm_net, (T, N, 2, 4, 4))]


@pytest.mark.parametrize("make,shape", NETS, ids=["synapse", "neunorm"])
def test_streaming_equals_whole_sequence_under_apply(make, shape):
    net_m, net_s = make("m"), make("s")
    net_s.load_state_dict(net_m.state_dict())
    x_seq = torch.randn(shape)
    state = fnsnn_nn.init_state(net_m, x_seq)
    y_m, final_m = fnsnn_nn.apply(net_m, x_seq, state)
    s_state = fnsnn_nn.init_state(net_s, x_seq[0])
    assert {k: {a: b.shape for a, b in v.items()} for k, v in s_state.items()} == \
        {k: {a: b.shape for a, b in v.items()} for k, v in state.items()}
    for name, entry in state.items():
        if "mask" in entry:  # the same dropout mask in both runs
            s_state[name]["mask"] = entry["mask"]
    ys = []
    for x in x_seq.unbind(0):
        y, s_state = fnsnn_nn.apply(net_s, x, s_state)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys), y_m)
    for name in final_m:
        for key in final_m[name]:
            torch.testing.assert_close(s_state[name][key], final_m[name][key])


def test_apply_leaves_memories_and_reuses_mask():
    net = _stateful_net("m")
    x = torch.randn(T, N, 4)
    state = fnsnn_nn.init_state(net, x)
    y1, _ = fnsnn_nn.apply(net, x, state)
    y2, _ = fnsnn_nn.apply(net, x, state)
    torch.testing.assert_close(y1, y2)  # the mask travels in the state
    assert all(m.memories_are_rest() for m in fnsnn_nn.memory_modules(net).values())


def test_grad_and_vmap_through_apply():
    net = _stateful_net("m")
    x = torch.randn(T, N, 4)
    state = fnsnn_nn.init_state(net, x)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, xs, st):
        y, _ = fnsnn_nn.apply(net, xs, st, p)
        return y.square().mean()

    g = torch.func.grad(loss)(params, x, state)
    net.zero_grad()
    y, _ = fnsnn_nn.apply(net, x, state)
    y.square().mean().backward()
    for k, p in net.named_parameters():
        torch.testing.assert_close(g[k], p.grad)
    assert g["1.w"].abs() > 0  # the learnable synapse time constant gets a gradient

    xb = torch.randn(4, T, N, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.vmap(loss, in_dims=(None, 0, None))(params, xb, state)
    torch.testing.assert_close(batched, torch.stack([loss(params, xi, state) for xi in xb]))


def test_reset_net_detach_net_and_repr():
    net = _stateful_net("s")
    net(torch.randn(N, 4, requires_grad=True))
    functional.detach_net(net)
    assert not net[1].out_i.requires_grad
    functional.reset_net(net)
    assert net[2].queue is None and net[3].mask is None and net[1].out_i == 0.0
    assert "delay_steps=2" in repr(net[2]) and "p=0.3" in repr(net[3])


def test_drop_connect_and_tebn_under_apply():
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.DropConnectLinear(4, 3, p=0.5, invariant=True, activation=None),
                              layer.TemporalEffectiveBatchNorm1d(T, 3).eval())
    x_seq = torch.randn(T, N, 4)
    state = fnsnn_nn.init_state(net, x_seq[0])
    assert state["0"]["mask_w"].shape == (N, 3, 4) and state["1"]["t"].dtype == torch.long
    ys, s = [], state
    for x in x_seq.unbind(0):
        y, s = fnsnn_nn.apply(net, x, s)
        ys.append(y)
    assert int(s["1"]["t"]) == T
    torch.testing.assert_close(s["0"]["mask_w"], state["0"]["mask_w"])  # invariant: kept for the whole run
    # the same run by hand from the state's masks
    lin = net[0]
    z = torch.einsum("noi,tni->tno", lin.weight * state["0"]["mask_w"], x_seq) + lin.bias * state["0"]["mask_b"]
    expected = net[1].bn(z.flatten(0, 1)).unflatten(0, (T, N)) * net[1].scale.view(-1, 1, 1)
    torch.testing.assert_close(torch.stack(ys), expected)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, x):
        return fnsnn_nn.apply(net, x, state, p)[0].sum()

    g = torch.func.grad(loss)(params, x_seq[0])
    assert g["1.scale"][0] != 0 and g["1.scale"][1:].eq(0).all()  # step 0 uses scale[0] only
