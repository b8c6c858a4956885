"""Neurons added in SpikingJelly 2.0.0, beyond the shared contract suite (tests/neuron_cases.py)."""

from __future__ import annotations

import pytest
import torch
from torch.func import grad, vmap

import fnsnn
from fnsnn_nn import functional as F, neuron, surrogate


@pytest.mark.parity
@pytest.mark.parametrize("channel_dim,shape", [(1, (5, 2, 3, 4)), (-1, (5, 2, 4, 3)), (-2, (5, 2, 3, 4))])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_activation_aware_if_per_channel_matches_2_0_0(channel_dim, shape, step_mode):
    from spikingjelly.activation_based import neuron as sn

    kw = dict(v_threshold=torch.tensor([1.0, 0.5, 2.0]), v_offset=torch.tensor([0.0, 0.1, -0.2]),
              channel_dim=channel_dim, step_mode=step_mode)
    ours, theirs = neuron.ActivationAwareIFNode(**kw), sn.ActivationAwareIFNode(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["v_threshold", "v_offset"]
    x = torch.randn(shape) * 2
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    if step_mode == "m":
        ya, yb = ours(xa), theirs(xb)
    else:
        ya, yb = torch.stack([ours(t) for t in xa]), torch.stack([theirs(t) for t in xb])
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(ours.v, theirs.v)
    w = torch.randn_like(ya)
    torch.testing.assert_close(torch.autograd.grad((ya * w).sum() + ours.v.sum(), xa)[0],
                               torch.autograd.grad((yb * w).sum() + theirs.v.sum(), xb)[0])
    theirs.load_state_dict(ours.state_dict())
    ours.reset()
    assert ours.v == 0.0


@pytest.mark.parity
def test_activation_aware_if_step_function_matches_2_0_0():
    from spikingjelly.activation_based import functional as sf, surrogate as ss

    x, v = torch.randn(2, 3), torch.rand(2, 3)
    vth, off = torch.tensor([1.0, 0.5, 2.0]), torch.tensor([0.0, 0.1, -0.2])
    a = F.activation_aware_if_step(x, v, vth, off, None, surrogate.Sigmoid())
    b = sf.activation_aware_if_step(x, v, vth, off, None, ss.Sigmoid())
    for u, w in zip(a, b):
        torch.testing.assert_close(u, w)


def test_activation_aware_if_core_per_channel_under_vmap_and_grad():
    x = torch.randn(4, 6, 2, 3) * 2  # [B, T, N, C]
    vth = torch.tensor([1.0, 0.5, 2.0])
    run = lambda xs, t: fnsnn.activation_aware_if_multi_step(xs, v_threshold=t, channel_dim=-1)[0]  # noqa: E731
    out = vmap(run, in_dims=(0, None))(x, vth)
    for b in range(4):
        torch.testing.assert_close(out[b], run(x[b], vth))
    g = grad(lambda t: fnsnn.activation_aware_if_multi_step(
        x[0], v_threshold=t, surrogate_function=fnsnn.surrogate.Sigmoid(spiking=False))[1].v.sum())(vth)
    assert g.shape == (3,) and torch.isfinite(g).all() and g.abs().sum() > 0


def test_activation_aware_if_errors():
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_threshold` must hold finite positive values"):
        neuron.ActivationAwareIFNode(v_threshold=-1.0)
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_threshold` must be a scalar or a 1D "
                                         r"per-channel tensor, got shape \(2, 2\)"):
        neuron.ActivationAwareIFNode(v_threshold=torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"ActivationAwareIFNode: `v_offset` must hold finite values"):
        neuron.ActivationAwareIFNode(v_offset=float("nan"))
    node = neuron.ActivationAwareIFNode(v_threshold=torch.tensor([1.0, 0.5, 2.0]), channel_dim=1)
    with pytest.raises(ValueError, match=r"activation_aware_if_step: `v_threshold` has length 3 but the input has "
                                         r"4 channels at channel_dim=1"):
        node(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"activation_aware_if_multi_step: `channel_dim`=5 is out of range"):
        fnsnn.activation_aware_if_multi_step(torch.randn(3, 2, 3), v_threshold=torch.ones(3), channel_dim=5)
