"""Pure synapse functions: streaming == whole sequence, vmap == loop, grad == autograd, gradcheck,
reproducible randomness from explicit generators/seeds, purity, documented errors."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fnsnn import synapses as S

# (step, multi_step, config, input maker) for the deterministic stateful families
FAMILIES = {
    "filter": (S.synapse_filter_step, S.synapse_filter_multi_step, dict(tau=4.0),
               lambda g, T, N: (torch.rand(T, N, 3, generator=g) > 0.5).double()),
    "filter_w": (S.synapse_filter_step, S.synapse_filter_multi_step, dict(w=torch.tensor(0.3, dtype=torch.float64)),
                 lambda g, T, N: torch.rand(T, N, 3, generator=g, dtype=torch.float64)),
    "delay": (S.delay_step, S.delay_multi_step, dict(delay_steps=2),
              lambda g, T, N: torch.randn(T, N, 3, generator=g, dtype=torch.float64)),
    "neunorm": (S.neunorm_step, S.neunorm_multi_step,
                dict(weight=torch.linspace(-1, 1, 2 * 3 * 3, dtype=torch.float64).view(2, 3, 3), k=0.7),
                lambda g, T, N: (torch.rand(T, N, 2, 3, 3, generator=g) > 0.5).double()),
    "dropout": (S.dropout_step, S.dropout_multi_step, dict(p=0.4, seed=3),
                lambda g, T, N: torch.randn(T, N, 3, generator=g, dtype=torch.float64)),
}


def _stream(step, x_seq, state, cfg):
    ys = []
    for x in x_seq.unbind(0):
        y, state = step(x, state, **cfg)
        ys.append(y)
    return torch.stack(ys), state


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(FAMILIES)), T=st.integers(1, 6), N=st.integers(1, 3), split=st.integers(0, 6),
       seed=st.integers(0, 2 ** 16))
def test_streaming_equals_whole_sequence(name, T, N, split, seed):
    step, multi, cfg, make = FAMILIES[name]
    x_seq = make(torch.Generator().manual_seed(seed), T, N)
    y, final = multi(x_seq, None, **cfg)
    ys, state = _stream(step, x_seq, None, cfg)
    torch.testing.assert_close(ys, y)
    for a, b in zip(state, final):
        torch.testing.assert_close(a, b)
    # two chunks, state carried across
    k = min(split, T - 1) if T > 1 else 0
    if k > 0:
        y1, s1 = multi(x_seq[:k], None, **cfg)
        y2, s2 = multi(x_seq[k:], s1, **cfg)
        torch.testing.assert_close(torch.cat([y1, y2]), y)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_vmap_equals_loop_without_fallback(name):
    step, multi, cfg, make = FAMILIES[name]
    xb = torch.stack([make(torch.Generator().manual_seed(i), 4, 2) for i in range(3)])
    # random layers draw outside vmap; the mask then travels in the state
    state = multi(xb[0], None, **cfg)[1] if name == "dropout" else None
    f = lambda x: multi(x, state, **cfg)[0]  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.vmap(f)(xb)
    torch.testing.assert_close(out, torch.stack([f(x) for x in xb]))


@pytest.mark.parametrize("name", ["filter", "filter_w", "neunorm", "delay"])
def test_grad_and_gradcheck(name):
    step, multi, cfg, make = FAMILIES[name]
    x_seq = make(torch.Generator().manual_seed(0), 3, 2).requires_grad_()
    w = torch.linspace(-1, 1, x_seq.numel(), dtype=x_seq.dtype).view_as(x_seq)
    g = torch.func.grad(lambda x: (multi(x, None, **cfg)[0] * w).sum())(x_seq.detach())
    (ref,) = torch.autograd.grad((multi(x_seq, None, **cfg)[0] * w).sum(), x_seq)
    torch.testing.assert_close(g, ref)
    assert torch.autograd.gradcheck(lambda x: multi(x, None, **cfg)[0], (x_seq,))


def test_gradcheck_parameters():
    x_seq = torch.rand(3, 2, 4, dtype=torch.float64)
    w = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: S.synapse_filter_multi_step(x_seq, None, w=w)[0], (w,))
    tau = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: S.synapse_filter_multi_step(x_seq, None, tau=t)[0], (tau,))
    weight = torch.randn(1, 2, 2, dtype=torch.float64, requires_grad=True)
    xs = (torch.rand(3, 2, 3, 2, 2) > 0.5).double()
    assert torch.autograd.gradcheck(lambda w: S.neunorm_multi_step(xs, None, weight=w)[0], (weight,))
    gain = torch.rand(3, 1, dtype=torch.float64, requires_grad=True) + 0.5
    wt = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(S.weight_standardization, (wt, gain))


def test_synapse_filter_equation():
    x = torch.tensor([[1.0], [0.0], [0.0], [1.0]])
    y, state = S.synapse_filter_multi_step(x, None, tau=2.0)
    torch.testing.assert_close(y.flatten(), torch.tensor([1.0, 0.5, 0.25, 1.25]))
    torch.testing.assert_close(state.out_i, torch.tensor([1.25]))


def test_delay_line_contents():
    x = torch.arange(1.0, 5.0).view(4, 1)
    y, state = S.delay_multi_step(x, None, delay_steps=2)
    assert y.flatten().tolist() == [0.0, 0.0, 1.0, 2.0]
    assert state.queue.flatten().tolist() == [3.0, 4.0]
    y0, s0 = S.delay_step(x[0], None, delay_steps=0)
    assert torch.equal(y0, x[0]) and s0.queue.shape == (0, 1)
    assert S.delay_init_state(x[0], delay_steps=3).queue.shape == (3, 1)


def test_dropout_reproducible_and_pure():
    x = torch.ones(4, 6, 5)
    y1, s1 = S.dropout_multi_step(x, None, p=0.5, seed=11)
    y2, s2 = S.dropout_multi_step(x, None, p=0.5, generator=torch.Generator().manual_seed(11))
    assert torch.equal(y1, y2) and torch.equal(s1.mask, s2.mask)
    y3, _ = S.dropout_multi_step(x, None, p=0.5, seed=12)
    assert not torch.equal(y1, y3)
    assert torch.equal(x, torch.ones(4, 6, 5))  # input untouched
    assert torch.equal(y1[0], y1[-1])  # one mask for the whole sequence
    ye, se = S.dropout_step(x[0], None, p=0.5, training=False)
    assert torch.equal(ye, x[0]) and torch.equal(se.mask, torch.ones_like(x[0]))
    y2d, s2d = S.dropout2d_step(torch.ones(8, 16, 3, 3), None, p=0.5, seed=0)
    flat = s2d.mask.flatten(2)
    assert torch.equal(flat.amax(-1), flat.amin(-1))


def test_drop_connect_pure_reproducible():
    x = torch.randn(3, 5)
    w, b = torch.randn(4, 5), torch.randn(4)
    y1, s1 = S.drop_connect_linear_step(x, None, weight=w, bias=b, p=0.5, seed=1)
    y2, s2 = S.drop_connect_linear_step(x, None, weight=w, bias=b, p=0.5, seed=1)
    assert torch.equal(y1, y2) and s1.mask_w.shape == (3, 4, 5) and s1.mask_b.shape == (3, 4)
    manual = torch.einsum("noi,ni->no", w * s1.mask_w, x) + b * s1.mask_b
    torch.testing.assert_close(y1, manual)
    # invariant: a given state is reused without randomness
    y3, s3 = S.drop_connect_linear_step(x, s1, weight=w, bias=b, p=0.5, invariant=True)
    torch.testing.assert_close(y3, y1)
    ys, sf = S.drop_connect_linear_multi_step(torch.stack([x, x]), s1, weight=w, bias=b, invariant=True)
    torch.testing.assert_close(ys[1], y1)
    _, sn = S.drop_connect_linear_step(x, None, weight=w, p=0.5, seed=1)
    assert sn.mask_b.shape == (3, 0)
    full = S.drop_connect_init_state(x, weight=w, bias=b, training=False)
    assert torch.equal(full.mask_w, torch.ones(3, 4, 5))


def test_voting_and_temporal_scale():
    x = torch.arange(12.0).view(2, 6)
    torch.testing.assert_close(S.voting(x, 3), torch.tensor([[1.0, 4.0], [7.0, 10.0]]))
    assert S.voting(torch.rand(4, 2, 3, 6), 2).shape == (4, 2, 3, 3)
    scale = torch.tensor([1.0, 2.0, 3.0])
    z = torch.ones(3, 2)
    y, state = z, None
    outs = []
    for zt in z.unbind(0):
        yt, state = S.temporal_scale_step(zt, state, scale=scale)
        outs.append(yt)
    torch.testing.assert_close(torch.stack(outs), S.temporal_scale_multi_step(z, scale=scale))
    assert int(state.t) == 3


ERRORS = [
    (lambda: S.synapse_filter_step(torch.rand(2), None, tau=1.0), ValueError,
     r"synapse_filter_step: `tau` must be > 1"),
    (lambda: S.synapse_filter_step(torch.rand(2), S.SynapseFilterState(torch.rand(3))), ValueError,
     r"synapse_filter_step: `state.out_i` has shape \(3,\) but the input needs \(2,\)"),
    (lambda: S.synapse_filter_multi_step(torch.rand(0, 2)), ValueError, r"synapse_filter_multi_step: `x_seq` has an "
                                                                      r"empty time dimension"),
    (lambda: S.delay_step(torch.rand(2), None, delay_steps=-1), ValueError, r"delay_step: `delay_steps` must be >= 0"),
    (lambda: S.delay_multi_step(torch.rand(3, 2), None, delay_steps=True), TypeError,
     r"delay_multi_step: `delay_steps` must be an int"),
    (lambda: S.delay_step(torch.rand(2), S.DelayState(torch.zeros(1, 2)), delay_steps=2), ValueError,
     r"delay_step: `state.queue` has shape \(1, 2\) but the input needs \(2, 2\)"),
    (lambda: S.neunorm_step(torch.rand(2, 3, 4, 4), None, weight=torch.rand(2, 4, 4)), ValueError,
     r"neunorm_step: `weight` must have shape \[C, H, W\] = \(3, 4, 4\)"),
    (lambda: S.neunorm_step(torch.rand(2, 3, 4), None, weight=torch.rand(3, 4, 4)), ValueError,
     r"neunorm_step: the input must be \[N, C, H, W\]"),
    (lambda: S.dropout_step(torch.rand(2), None, p=1.0, seed=0), ValueError, r"dropout_step: `p` must be in \[0, 1\)"),
    (lambda: S.dropout_step(torch.rand(2), None, p=-0.5, seed=0), ValueError, r"dropout_step: `p` must be in \[0, 1\)"),
    (lambda: S.dropout_step(torch.rand(2), None, p=0.5), ValueError,
     r"dropout_step: drawing a new random mask needs an explicit `generator`"),
    (lambda: S.dropout_step(torch.rand(2), None, p=0.5, seed=1, generator=torch.Generator()), ValueError,
     r"dropout_step: pass either `generator` or `seed`"),
    (lambda: S.dropout_step(torch.rand(2), None, p=0.5, seed=1.5), TypeError, r"dropout_step: `seed` must be an int"),
    (lambda: S.dropout2d_step(torch.rand(2, 3), None, seed=0), ValueError,
     r"dropout2d_step: channel-wise dropout needs inputs"),
    (lambda: S.drop_connect_linear_step(torch.rand(2, 3), None, weight=torch.rand(4, 5), seed=0), ValueError,
     r"drop_connect_linear_step: `x` must be \[N, in_features\]"),
    (lambda: S.drop_connect_linear_step(torch.rand(2, 5), None, weight=torch.rand(4, 5), p=1.2, seed=0), ValueError,
     r"drop_connect_linear_step: `p` must be in \[0, 1\)"),
    (lambda: S.drop_connect_linear_step(torch.rand(2, 5), None, weight=torch.rand(4, 5), samples_num=0,
                                        training=False, seed=0), ValueError,
     r"drop_connect_linear_step: `samples_num` must be a positive int"),
    (lambda: S.voting(torch.rand(2, 7), 2), ValueError, r"voting: the last dim of `x` must be C \* voting_size"),
    (lambda: S.weight_standardization(torch.rand(4)), ValueError, r"weight_standardization: `weight` must have at "
                                                                  r"least 2 dims"),
    (lambda: S.temporal_scale_multi_step(torch.rand(3, 2), scale=torch.ones(4)), ValueError,
     r"temporal_scale_multi_step: `z_seq` has T=3 steps but `scale` has 4"),
    (lambda: S.replace_for_grad(torch.rand(2), torch.rand(3)), ValueError,
     r"replace_for_grad: `x` and `x_r` must have the same shape"),
    (lambda: S.synapse_filter_step([1.0], None), TypeError, r"synapse_filter_step: `x` must be a torch.Tensor"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS, ids=[e[2].split(":")[0] + str(i) for i, e in enumerate(ERRORS)])
def test_documented_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
