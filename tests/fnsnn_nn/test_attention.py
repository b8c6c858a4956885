"""Attention layers: fnsnn.attention (pure) and fnsnn_nn.layer.attention (shells).

Parity with SpikingJelly 2.0.0 (same state_dict) on outputs and gradients,
shells == pure functions (state carried over calls, BatchNorm statistics
included), torch.func transforms, the state door, and every documented error.
The seeds give SpikingSelfAttention/QKAttention a ``backend`` argument where
SpikingJelly 2.0.0 takes ``spiking_neuron``/``**kwargs``; both are accepted (the
seed's ``backend`` keeps its position), and with defaults both build the same
LIF neurons.
"""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based.layer import attention as sj_attention

import fnsnn_nn
from fnsnn import attention as core
from fnsnn.neurons.lif import LIFState
from fnsnn_nn.functional import reset_net
from fnsnn_nn.layer import (
    ChannelQKAttention,
    MultiDimensionalAttention,
    QKAttention,
    SpikingSelfAttention,
    TemporalWiseAttention,
    TokenQKAttention,
)


def _randomize_bn(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 1.5)


def _compare(ours, theirs, x, train, calls=2):
    """Same state_dict, ``calls`` forward passes (state carries over), outputs/input and weight grads equal."""
    _randomize_bn(theirs)
    ours.load_state_dict(theirs.state_dict())
    ours.train(train)
    theirs.train(train)
    for _ in range(calls):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        torch.testing.assert_close(ya, yb, atol=1e-5, rtol=1e-5)
        g = torch.randn_like(ya)
        (ya * g).sum().backward()
        (yb * g).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad, atol=1e-4, rtol=1e-4)
        fnsnn_nn.functional.detach_net(ours)
        sj_functional.detach_net(theirs)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-4, rtol=1e-4, msg=name)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        torch.testing.assert_close(b, c, msg=name)
    reset_net(ours)
    sj_functional.reset_net(theirs)


# ---------------------------------------------------------------------------------------------
# Parity with SpikingJelly 2.0.0
# ---------------------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("kind", ["ssa", "token", "channel"])
@pytest.mark.parametrize("train", [True, False])
@settings(max_examples=4, deadline=None)
@given(T=st.integers(1, 3), N=st.integers(1, 2), heads=st.sampled_from([1, 2, 4]), cph=st.integers(1, 3),
       L=st.integers(2, 6))
def test_spiking_transformer_parity(kind, train, T, N, heads, cph, L):
    dim = heads * cph
    if kind == "ssa":
        ours, theirs = SpikingSelfAttention(dim, heads), sj_attention.SpikingSelfAttention(dim, heads)
    else:
        ours, theirs = QKAttention(dim, heads, kind), sj_attention.QKAttention(dim, heads, kind)
    x = (torch.rand(T, N, dim, L) > 0.5).float()
    _compare(ours, theirs, x, train)


@pytest.mark.parity
def test_token_and_channel_subclasses_parity():
    x = (torch.rand(2, 2, 8, 5) > 0.5).float()
    _compare(TokenQKAttention(8, 2), sj_attention.TokenQKAttention(8, 2), x, True)
    _compare(ChannelQKAttention(8, 2), sj_attention.ChannelQKAttention(8, 2), x, True)
    assert TokenQKAttention(8, 2).qka_type == "token"
    assert ChannelQKAttention(8, 2).qka_type == "channel"


def _blocks(kind, ours_args, theirs_args, theirs_kw=None, **kw):
    """The same block from both libraries, built with the same seed (``theirs_kw`` replaces ``kw`` for 2.0.0)."""
    ours_cls = {"ssa": SpikingSelfAttention, "qk": QKAttention, "token": TokenQKAttention,
                "channel": ChannelQKAttention}[kind]
    torch.manual_seed(0)
    ours = ours_cls(8, 2, *ours_args, **kw)
    torch.manual_seed(0)
    theirs_kw = kw if theirs_kw is None else theirs_kw
    return ours, getattr(sj_attention, ours_cls.__name__)(8, 2, *theirs_args, **theirs_kw)


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["ssa", "qk", "token", "channel"])
@pytest.mark.parametrize("how", ["kwargs", "neuron_keyword", "neuron_positional"])
def test_spiking_neuron_arguments_of_2_0_0(kind, how):
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from fnsnn_nn import neuron, surrogate

    lead = ("channel",) if kind == "qk" else ()  # QKAttention takes qka_type before the neuron
    if how == "kwargs":  # neuron arguments only: each position's LIF defaults, overridden for all three
        ours, theirs = _blocks(kind, lead, lead, tau=3.0, v_threshold=0.7)
        want_type = neuron.LIFNode
    elif how == "neuron_keyword":
        theirs_kw = dict(spiking_neuron=sj_neuron.ParametricLIFNode, v_threshold=0.6,
                         surrogate_function=sj_surrogate.ATan())
        ours, theirs = _blocks(kind, lead, lead, theirs_kw, spiking_neuron=neuron.ParametricLIFNode,
                               v_threshold=0.6, surrogate_function=surrogate.ATan())
        want_type = neuron.ParametricLIFNode
    else:  # 2.0.0 takes the neuron class right after num_heads (after qka_type for QKAttention)
        ours, theirs = _blocks(kind, (*lead, neuron.IFNode), (*lead, sj_neuron.IFNode), v_threshold=0.5)
        want_type = neuron.IFNode
    lifs = [getattr(ours, n) for n in ours.lif_names]
    assert all(type(m) is want_type and m.step_mode == "m" for m in lifs)
    assert [float(m.v_threshold) for m in lifs] == [float(getattr(theirs, n).v_threshold) for n in ours.lif_names]
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    if how == "neuron_keyword":  # deep copies: the neurons do not share one surrogate module
        assert lifs[0].surrogate_function is not lifs[1].surrogate_function
    x = (torch.rand(3, 2, 8, 5) > 0.5).float()
    _compare(ours, theirs, x, True)


def test_spiking_neuron_argument_errors():
    from fnsnn_nn import neuron

    with pytest.raises(ValueError, match=r"SpikingSelfAttention: the inner neurons run whole \[T, N, \.\.\.\] "
                                         r"sequences, so step_mode must be 'm', got step_mode='s'"):
        SpikingSelfAttention(8, 2, step_mode="s")
    with pytest.raises(TypeError, match=r"QKAttention: got a neuron class both in place of `backend`"):
        QKAttention(8, 2, "token", neuron.IFNode, spiking_neuron=neuron.LIFNode)
    with pytest.raises(TypeError, match=r"TokenQKAttention: `spiking_neuron` must be a neuron class"):
        TokenQKAttention(8, 2, spiking_neuron="LIF")
    with pytest.raises(ValueError, match=r"ChannelQKAttention: backend='triton' was asked for but "
                                         r"spiking_neuron=.*NonSpikingIFNode.* takes no `backend` argument"):
        ChannelQKAttention(8, 2, backend="triton", spiking_neuron=neuron.NonSpikingIFNode)
    m = SpikingSelfAttention(8, 2, backend="auto", spiking_neuron=neuron.IFNode)
    assert all(getattr(m, n).backend == "auto" for n in m.lif_names)


@pytest.mark.parity
@settings(max_examples=8, deadline=None)
@given(T=st.integers(2, 8), r=st.integers(1, 2), N=st.integers(1, 2), dimension=st.sampled_from([2, 4]))
def test_temporal_wise_attention_parity(T, r, N, dimension):
    shape = (T, N, 3, 4, 4) if dimension == 4 else (T, N, 6)
    ours = TemporalWiseAttention(T, r, dimension)
    theirs = sj_attention.TemporalWiseAttention(T, r, dimension)
    _compare(ours, theirs, torch.randn(shape), True, calls=1)


@pytest.mark.parity
@settings(max_examples=8, deadline=None)
@given(T=st.integers(2, 5), C=st.integers(2, 6), rt=st.integers(1, 2), rc=st.integers(1, 2),
       k=st.sampled_from([3, 7]), HW=st.integers(1, 6))
def test_multi_dimensional_attention_parity(T, C, rt, rc, k, HW):
    ours = MultiDimensionalAttention(T, C, rt, rc, k)
    theirs = sj_attention.MultiDimensionalAttention(T, C, rt, rc, k)
    _compare(ours, theirs, torch.randn(T, 2, C, HW, HW), True, calls=1)


# ---------------------------------------------------------------------------------------------
# Shells == pure functions
# ---------------------------------------------------------------------------------------------

def _block_and_core(kind):
    if kind == "ssa":
        m = SpikingSelfAttention(8, 2)
        fn = core.spiking_self_attention_multi_step
        names, extra, state_type = ("qkv", "proj"), {}, core.SSAState
    else:
        m = QKAttention(8, 2, kind)
        fn = core.qk_attention_multi_step
        names, extra, state_type = ("qk", "proj"), {"qka_type": kind}, core.QKAttentionState
    _randomize_bn(m)
    params = {n: m.conv_bn_params(f"{n}_conv_bn") for n in names}
    return m, fn, params, extra, state_type


def _module_state(m, state_type, names):
    lifs = [LIFState(getattr(m, n).v) for n in m.lif_names]
    return state_type(*lifs, *(m.batch_norm_stats(f"{n}_conv_bn") for n in names))


@pytest.mark.parametrize("kind", ["ssa", "token", "channel"])
@pytest.mark.parametrize("train", [True, False])
def test_shell_equals_core_across_calls(kind, train):
    m, fn, params, extra, state_type = _block_and_core(kind)
    names = tuple(params)
    m.train(train)
    x1, x2 = (torch.rand(3, 2, 8, 5) > 0.5).float(), (torch.rand(3, 2, 8, 5) > 0.5).float()
    bn0 = [m.batch_norm_stats(f"{n}_conv_bn") for n in names]
    state = state_type(*(None,) * 3, *(core.BatchNormStats(s.running_mean.clone(), s.running_var.clone())
                                       for s in bn0))
    state = state._replace(**{f: None for f in state._fields[:3]})
    outs = []
    for x in (x1, x2):
        y, state = fn(x, state, **params, num_heads=2, training=train, **extra)
        outs.append(y)
    torch.testing.assert_close(m(x1), outs[0])
    torch.testing.assert_close(m(x2), outs[1])
    final = _module_state(m, state_type, names)
    for a, b in zip(torch.utils._pytree.tree_leaves(final), torch.utils._pytree.tree_leaves(state)):
        torch.testing.assert_close(a, b)


def test_chunks_continue_the_sequence():
    m, fn, params, extra, _ = _block_and_core("ssa")
    x = (torch.rand(6, 2, 8, 5) > 0.5).float()
    stats = (m.batch_norm_stats("qkv_conv_bn"), m.batch_norm_stats("proj_conv_bn"))
    s0 = core.SSAState(None, None, None, *stats)
    y, _ = fn(x, s0, **params, num_heads=2)
    y1, s1 = fn(x[:2], s0, **params, num_heads=2)
    y2, _ = fn(x[2:], s1, **params, num_heads=2)
    torch.testing.assert_close(torch.cat((y1, y2)), y)


@pytest.mark.parametrize("dimension", [2, 4])
def test_temporal_wise_shell_equals_core(dimension):
    m = TemporalWiseAttention(8, 2, dimension)
    x = torch.randn((8, 2, 3, 4, 4) if dimension == 4 else (8, 2, 5))
    y = core.temporal_wise_attention(x, squeeze_weight=m.sharedMLP[0].weight, excite_weight=m.sharedMLP[2].weight,
                                     dimension=dimension)
    torch.testing.assert_close(m(x), y)
    assert y.shape == x.shape


# ---------------------------------------------------------------------------------------------
# torch.func on the pure functions
# ---------------------------------------------------------------------------------------------

def _pure_calls():
    ssa, _, ssa_p, _, _ = _block_and_core("ssa")
    qka, _, qka_p, _, _ = _block_and_core("channel")
    twa = TemporalWiseAttention(4, 2, 2)
    mda = MultiDimensionalAttention(4, 4, 2, 2, 3)
    return {
        "ssa": lambda x: core.spiking_self_attention_multi_step(x.reshape(4, 2, 8, 3), **ssa_p, num_heads=2)[0],
        "qka": lambda x: core.qk_attention_multi_step(x.reshape(4, 2, 8, 3), **qka_p, num_heads=2,
                                                      qka_type="channel")[0],
        "twa": lambda x: core.temporal_wise_attention(x.reshape(4, 2, 24), squeeze_weight=twa.sharedMLP[0].weight,
                                                      excite_weight=twa.sharedMLP[2].weight, dimension=2),
        "mda": lambda x: core.multi_dimensional_attention(x.reshape(4, 2, 4, 3, 2), temporal_weights=mda.ta.weights(),
                                                          channel_weights=mda.ca.weights(),
                                                          spatial_weight=mda.sa.conv.weight),
    }


@pytest.mark.parametrize("name", ["ssa", "qka", "twa", "mda"])
def test_torch_func_grad_and_vmap(name):
    fn = _pure_calls()[name]
    x = torch.rand(4, 2, 24)
    xb = torch.rand(3, 4, 2, 24)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.testing.assert_close(torch.func.vmap(fn)(xb), torch.stack([fn(xi) for xi in xb]))
        loss = lambda z: (fn(z) * torch.linspace(-1, 1, fn(z).numel()).reshape(fn(z).shape)).sum()  # noqa: E731
        g = torch.func.grad(loss)(x)
        x_ = x.clone().requires_grad_()
        loss(x_).backward()
        torch.testing.assert_close(g, x_.grad)
        gb = torch.func.vmap(torch.func.grad(loss))(xb)
        torch.testing.assert_close(gb[0], torch.func.grad(loss)(xb[0]))


def test_grad_reaches_parameters_and_training_stats_move():
    m, fn, params, _, _ = _block_and_core("ssa")
    x = (torch.rand(3, 2, 8, 5) > 0.5).float()
    g = torch.func.grad(lambda p: fn(x, None, **p, num_heads=2, training=True)[0].sum())(params)
    assert all(t.shape == p.shape for t, p in zip(torch.utils._pytree.tree_leaves(g),
                                                  torch.utils._pytree.tree_leaves(params)))
    _, s = fn(x, None, **params, num_heads=2, training=True)
    assert not torch.equal(s.qkv_bn.running_mean, torch.zeros(24))


# ---------------------------------------------------------------------------------------------
# Module API: backend, qka_type, reset, state door
# ---------------------------------------------------------------------------------------------

def test_backend_propagates_and_validates():
    m = SpikingSelfAttention(8, 2)
    assert m.backend == "auto"
    m.backend = "torch"
    assert all(getattr(m, n).backend == "torch" for n in m.lif_names)
    with pytest.raises(ValueError, match="backend"):
        m.backend = "cupy"
    q = QKAttention(8, 2, backend="auto")
    assert q.qk_lif.backend == q.attn_lif.backend == q.proj_lif.backend == "auto"


def test_qka_type_is_read_only():
    q = QKAttention(8, 2, "channel")
    assert q.qka_type == "channel"
    with pytest.raises(AttributeError):
        q.qka_type = "token"


def test_reset_and_state_door():
    m = SpikingSelfAttention(8, 2).eval()
    x = (torch.rand(2, 2, 8, 5) > 0.5).float()
    y1 = m(x)
    assert isinstance(m.qkv_lif.v, torch.Tensor)
    reset_net(m)
    assert all(getattr(m, n).memories_are_rest() for n in m.lif_names)
    torch.testing.assert_close(m(x), y1)
    reset_net(m)
    state = fnsnn_nn.init_state(m, x)
    assert set(state) == {"qkv_lif", "attn_lif", "proj_lif"}
    out, state = fnsnn_nn.apply(m, x, state)
    torch.testing.assert_close(out, y1)
    out2, _ = fnsnn_nn.apply(m, x, state)
    reset_net(m)
    m(x)
    torch.testing.assert_close(out2, m(x))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

def test_documented_errors():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        SpikingSelfAttention(10, 4)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        QKAttention(10, 4)
    with pytest.raises(ValueError, match="qka_type"):
        QKAttention(8, 2, "pixel")
    with pytest.raises(ValueError, match=r"\[T, N, C, L\]"):
        SpikingSelfAttention(8, 2)(torch.rand(2, 2, 8))
    with pytest.raises(ValueError, match="dim=8"):
        QKAttention(8, 2)(torch.rand(2, 2, 6, 4))
    with pytest.raises(ValueError, match="cannot be greater than T"):
        TemporalWiseAttention(4, 16)
    with pytest.raises(ValueError, match="dimension"):
        TemporalWiseAttention(16, 4, 3)
    with pytest.raises(ValueError, match=r"\[T, N, L\]"):
        TemporalWiseAttention(8, 2, 2)(torch.rand(8, 2, 3, 4, 4))
    with pytest.raises(ValueError, match="input's size 4 along"):
        TemporalWiseAttention(8, 2)(torch.rand(4, 2, 3, 4, 4))
    with pytest.raises(ValueError, match="kernel_size"):
        MultiDimensionalAttention(4, 8, 2, 2, kernel_size=5)
    with pytest.raises(ValueError, match="cannot be greater than C"):
        MultiDimensionalAttention(16, 4, 4, 16)
    with pytest.raises(ValueError, match=r"\[T, N, C, H, W\]"):
        MultiDimensionalAttention(4, 8, 2, 2)(torch.rand(4, 2, 8, 5))
    p = core.ConvBNParams(torch.randn(24, 8, 1), torch.ones(24), torch.zeros(24))
    q = core.ConvBNParams(torch.randn(8, 8, 1), torch.ones(8), torch.zeros(8))
    x = torch.rand(2, 2, 8, 5)
    with pytest.raises(ValueError, match="output channels"):
        core.spiking_self_attention_multi_step(x, qkv=q, proj=q, num_heads=2)
    with pytest.raises(ValueError, match="input channels"):
        core.spiking_self_attention_multi_step(torch.rand(2, 2, 4, 5), qkv=p, proj=q, num_heads=2)
    with pytest.raises(TypeError, match="ConvBNParams"):
        core.spiking_self_attention_multi_step(x, qkv=(1, 2, 3), proj=q, num_heads=2)
    with pytest.raises(ValueError, match="backend"):
        core.spiking_self_attention_multi_step(x, qkv=p, proj=q, num_heads=2, backend="cupy")
    with pytest.raises(TypeError, match="SSAState"):
        core.spiking_self_attention_multi_step(x, (1, 2), qkv=p, proj=q, num_heads=2)
    _, s = core.spiking_self_attention_multi_step(x, qkv=p, proj=q, num_heads=2)
    with pytest.raises(ValueError, match="state.v"):
        core.spiking_self_attention_multi_step(torch.rand(2, 3, 8, 5), s, qkv=p, proj=q, num_heads=2)
    with pytest.raises(ValueError, match="qka_type"):
        core.qk_attention_multi_step(x, qk=p, proj=q, num_heads=2, qka_type="pixel")
    with pytest.raises(ValueError, match="empty time"):
        core.spiking_self_attention_multi_step(x[:0], qkv=p, proj=q, num_heads=2)
