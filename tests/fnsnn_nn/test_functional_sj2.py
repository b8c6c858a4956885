"""SpikingJelly 2.0.0's pure neuron/layer functions and net helpers in fnsnn_nn.functional, against 2.0.0."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.func import grad, vmap

import fnsnn
from fnsnn_nn import functional as F, neuron, surrogate


def _sj():
    from spikingjelly.activation_based import functional as SF, surrogate as SS

    return SF, SS


def _t(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape) * scale + shift).requires_grad_(True)


# name -> builder(sur) returning (tensors requiring grad, positional args given those tensors, kwargs)
def _specs():
    N = (3, 4)
    return {
        "if_step": lambda s: ([_t(*N, scale=1.5), _t(*N, scale=0.3)],
                              lambda x, v: (x, v, 1.0, 0.0, s), {}),
        "if_step_soft": lambda s: ([_t(*N, scale=1.5), _t(*N, scale=0.3)],
                                   lambda x, v: (x, v, 0.8, None, s, True), {}),
        "lif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                               lambda x, v: (x, v, 2.5, True, 1.0, 0.0, s), {}),
        "lif_step_nodecay": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                                       lambda x, v: (x, v, 3.0, False, 1.0, None, s, True), {}),
        "lif_charge": lambda s: ([_t(*N), _t(*N)], lambda x, v: (x, v, 2.0, True, 0.0), {}),
        "plif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), torch.tensor(0.3, requires_grad=True)],
                                lambda x, v, w: (x, v, w, True, 1.0, 0.0, s), {}),
        "qif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                               lambda x, v: (x, v, 2.0, 1.0, 0.0, 0.8, 1.0, -0.1, s), {}),
        "eif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                               lambda x, v: (x, v, 2.0, 1.0, 0.8, 0.0, 1.0, -0.1, s), {}),
        "izhikevich_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), _t(*N, scale=0.2)],
                                      lambda x, v, w: (x, v, w, 2.0, 1.0, -0.1, 0.8, 2.0, 0.1, 0.2, 1.0, 0.0, s),
                                      {}),
        "klif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), torch.tensor(1.3, requires_grad=True)],
                                lambda x, v, k: (x, v, k, 2.0, True, False, 1.0, 0.0, s), {}),
        "cuba_lif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), _t(*N, scale=0.3)],
                                    lambda x, c, v: (x, c, v, 0.5, 0.75, 0.5, 0.0, s), {}),
        "clif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), _t(*N, scale=0.3)],
                                lambda x, v, m: (x, v, m, 2.0, 1.0, s), {}),
        "ilif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                                lambda x, v: (x, v, 2.0, 1.0, s), {}),
        "ternary_if_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                                      lambda x, v: (x, v, 1.0, 0.0, s), {}),
        "ternary_lif_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                                       lambda x, v: (x, v, 2.0, True, 1.0, 0.0, s), {}),
        "raf_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3), _t(*N, scale=0.3)],
                               lambda x, u, v: (x, u, v, -0.2, 1.0, 1.0, 1.0, 0.0, s), {}),
        "liaf_step": lambda s: ([_t(*N, scale=2.0), _t(*N, scale=0.3)],
                                lambda x, v: (x, v, 2.0, True, 1.0, 0.0, torch.tanh, True, s), {}),
        "voltage_reset": lambda s: ([_t(*N), (torch.rand(*N) > 0.5).float().requires_grad_(True)],
                                    lambda v, sp: (v, sp, 1.0, 0.0, False), {}),
        "if_multi_step": lambda s: ([_t(6, *N, scale=1.5), _t(*N, scale=0.3)],
                                    lambda x, v: (x, v, 1.0, 0.0, s, False, True), {}),
        "lif_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3)],
                                     lambda x, v: (x, v, 2.0, True, 1.0, 0.0, s, False, True), {}),
        "plif_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3),
                                       torch.tensor(-0.2, requires_grad=True)],
                                      lambda x, v, w: (x, v, w, True, 1.0, None, s, False, True), {}),
        "qif_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3)],
                                     lambda x, v: (x, v), dict(surrogate_function=s, store_v_seq=True)),
        "eif_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3)],
                                     lambda x, v: (x, v), dict(surrogate_function=s, store_v_seq=True)),
        "ilif_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3)],
                                      lambda x, v: (x, v), dict(store_v_seq=True)),
        "izhikevich_multi_step": lambda s: ([_t(6, *N, scale=2.0), _t(*N, scale=0.3), _t(*N, scale=0.2)],
                                            lambda x, v, w: (x, v, w),
                                            dict(surrogate_function=s, store_state_seq=True)),
        "synapse_filter_step": lambda s: ([_t(*N), _t(*N)], lambda x, o: (x, o, 0.1), {}),
        "neunorm_step": lambda s: ([(torch.rand(2, 3, 4, 4) > 0.5).float().requires_grad_(True),
                                    _t(2, 1, 4, 4), _t(1, 4, 4)],
                                   lambda x, st, w: (x, st, w, 0.9, 0.05), {}),
    }


SPECS = _specs()


def _flatten(out):
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(_flatten(o) if isinstance(o, (tuple, list)) else ([o] if o is not None else []))
    return flat


@pytest.mark.parity
@pytest.mark.parametrize("name", list(SPECS))
def test_outputs_and_gradients_match_2_0_0(name):
    SF, SS = _sj()
    fn_name = name.replace("_soft", "").replace("_nodecay", "")
    torch.manual_seed(1)
    tensors, args, kwargs = SPECS[name](surrogate.Sigmoid())
    ours_in = [t.detach().clone().requires_grad_(True) for t in tensors]
    theirs_in = [t.detach().clone().requires_grad_(True) for t in tensors]
    _, _, kw_sj = SPECS[name](SS.Sigmoid())
    a = _flatten(getattr(F, fn_name)(*args(*ours_in), **kwargs))
    b = _flatten(getattr(SF, fn_name)(*SPECS[name](SS.Sigmoid())[1](*theirs_in), **kw_sj))
    assert len(a) == len(b)
    for u, w in zip(a, b):
        torch.testing.assert_close(u, w, rtol=1e-5, atol=1e-6)
    weights = [torch.randn_like(u) for u in a]
    ga = torch.autograd.grad(sum((u * c).sum() for u, c in zip(a, weights)), ours_in, allow_unused=True)
    gb = torch.autograd.grad(sum((u * c).sum() for u, c in zip(b, weights)), theirs_in, allow_unused=True)
    for i, (u, w) in enumerate(zip(ga, gb)):
        if u is None or w is None:
            assert (u is None or not u.any()) and (w is None or not w.any()), (name, i)
            continue
        torch.testing.assert_close(u, w, rtol=1e-4, atol=1e-5, msg=f"{name}: grad of input {i}")


@pytest.mark.parity
def test_gated_lif_step_matches_2_0_0():
    SF, SS = _sj()
    torch.manual_seed(2)
    x, v, sp = torch.randn(3, 4) * 2, torch.randn(3, 4) * 0.3, (torch.rand(3, 4) > 0.5).float()
    # alpha, beta, gamma, tau, v_th, linear_decay, v_subreset, conduct: gated values in (0, 1)
    params = [torch.rand(4).mul(0.9).add(0.05).requires_grad_(True) for _ in range(8)]
    ours = _flatten(F.gated_lif_step(x, v, sp, *params, surrogate.Sigmoid()))
    theirs = _flatten(SF.gated_lif_step(x, v, sp, *params, SS.Sigmoid()))
    for u, w in zip(ours, theirs):
        torch.testing.assert_close(u, w)
    ga = torch.autograd.grad(ours[1].sum() + ours[0].sum(), params)
    gb = torch.autograd.grad(theirs[1].sum() + theirs[0].sum(), params)
    for u, w in zip(ga, gb):
        torch.testing.assert_close(u, w, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"gated_lif_step: `alpha` must be a gated value in \(0, 1\)"):
        F.gated_lif_step(x, v, sp, 1.5, *params[1:], surrogate.Sigmoid())


@pytest.mark.parity
@pytest.mark.parametrize("d,n", [(2, 0), (2, 1), (2, 2), (3, 3), (0, 0)])
def test_delay_step_matches_2_0_0(d, n):
    SF, _ = _sj()
    q = tuple(torch.randn(3) for _ in range(n))
    x = torch.randn(3)
    y_a, q_a = F.delay_step(x, q, d)
    y_b, q_b = SF.delay_step(x, q, d)
    torch.testing.assert_close(y_a, y_b)
    assert len(q_a) == len(q_b)
    for u, w in zip(q_a, q_b):
        torch.testing.assert_close(u, w)


def test_step_adapters_compose_with_torch_func():
    x, v = torch.randn(5, 3, 4) * 2, torch.zeros(5, 3, 4)
    sur = surrogate.ATan()
    ys, vs = vmap(lambda a, b: F.lif_step(a, b, 2.0, True, 1.0, 0.0, sur))(x, v)
    for i in range(5):
        y, vv = F.lif_step(x[i], v[i], 2.0, True, 1.0, 0.0, sur)
        torch.testing.assert_close(ys[i], y)
        torch.testing.assert_close(vs[i], vv)
    g = grad(lambda a: F.lif_multi_step(a, v[0], 2.0, True, 1.0, 0.0, sur)[0].sum())(x)
    xr = x.clone().requires_grad_(True)
    F.lif_multi_step(xr, v[0], 2.0, True, 1.0, 0.0, sur)[0].sum().backward()
    torch.testing.assert_close(g, xr.grad)


def test_adapter_errors():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"lif_step: `state.v` has shape \(4,\) but the input needs \(3, 4\)"):
        F.lif_step(x, torch.zeros(4), 2.0, True, 1.0, 0.0, surrogate.Sigmoid())
    with pytest.raises(ValueError, match=r"lif_multi_step: `neuron_fwd` must be 'fp32'.*got 'bf16'"):
        F.lif_multi_step(x[None], torch.zeros(3, 4), neuron_fwd="bf16")
    with pytest.raises(ValueError, match=r"if_multi_step: `neuron_storage` must be None"):
        F.if_multi_step(x[None], torch.zeros(3, 4), neuron_storage=torch.float16)
    with pytest.raises(ValueError, match=r"delay_step: `queue` must be a tuple of at most delay_steps=1 "
                                         r"tensors, got 2"):
        F.delay_step(x, (x, x), 1)
    with pytest.raises(ValueError, match=r"synapse_filter_step: `reciprocal_tau` must be in \(0, 1\)"):
        F.synapse_filter_step(x, x, 1.5)
    with pytest.raises(TypeError, match=r"synapse_filter_step: `reciprocal_tau` must be a number or a tensor"):
        F.synapse_filter_step(x, x, "0.1")


# -- reset collection, time-last and chunked forwards --------------------------------------------

@pytest.mark.parity
def test_reset_collection_matches_2_0_0():
    from spikingjelly.activation_based import functional as SF, neuron as sn

    ours = nn.Sequential(nn.Linear(3, 3), neuron.IFNode(), nn.Sequential(neuron.LIFNode()))
    theirs = nn.Sequential(nn.Linear(3, 3), sn.IFNode(), nn.Sequential(sn.LIFNode()))
    a, b = F.collect_reset_modules(ours), SF.collect_reset_modules(theirs)
    assert [type(m).__name__ for m in a] == [type(m).__name__ for m in b]
    ours(torch.ones(2, 3) * 5)
    assert isinstance(ours[1].v, torch.Tensor)
    F.reset_collected_modules(a)
    assert ours[1].v == 0.0 and ours[2][0].v == 0.0
    ours[2] = neuron.IFNode()
    F.invalidate_reset_cache(ours)
    assert F.collect_reset_modules(ours)[-1] is ours[2]
    with pytest.raises(TypeError, match=r"reset_collected_modules: modules\[0\] must be a module with reset\(\)"):
        F.reset_collected_modules((3,))
    with pytest.raises(TypeError, match=r"invalidate_reset_cache: `net` must be an nn.Module"):
        F.invalidate_reset_cache("net")


@pytest.mark.parity
def test_t_last_and_chunk_forwards_match_2_0_0():
    from spikingjelly.activation_based import functional as SF, neuron as sn

    x = torch.randn(2, 3, 7) * 2  # [N, C, T]
    ours, theirs = neuron.LIFNode(), sn.LIFNode()
    torch.testing.assert_close(F.t_last_multi_step_forward(x, ours), SF.t_last_multi_step_forward(x, theirs))
    pool = nn.AdaptiveAvgPool1d(2)
    x4 = torch.randn(2, 3, 5, 4)  # [N, C, L, T]
    torch.testing.assert_close(F.t_last_seq_to_ann_forward(x4, pool), SF.t_last_seq_to_ann_forward(x4, pool))
    ours, theirs = neuron.LIFNode(step_mode="m"), sn.LIFNode(step_mode="m")
    x_seq = torch.randn(7, 2, 3) * 2
    a, b = F.chunk_multi_step_forward(3, x_seq, ours), SF.chunk_multi_step_forward(3, x_seq, theirs)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(ours.v, theirs.v)
    F.reset_net(ours)
    torch.testing.assert_close(a, ours(x_seq))
    with pytest.raises(ValueError, match=r"chunk_multi_step_forward: `split_size` must be a positive int"):
        F.chunk_multi_step_forward(0, x_seq, ours)
    with pytest.raises(ValueError, match=r"t_last_multi_step_forward: `x_seq` must be a \[N, \*, T\] tensor"):
        F.t_last_multi_step_forward(torch.randn(3), ours)


@pytest.mark.parity
def test_psn_step_functions_match_2_0_0():
    from spikingjelly.activation_based import functional as SF, neuron as sn, surrogate as SS

    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    b = torch.tensor(-0.2)
    xs = torch.randn(6, 2, 3)
    qa = qb = ()
    for t in range(6):
        ya, qa = F.sliding_psn_step(xs[t], qa, w, b, surrogate.Sigmoid())
        yb, qb = SF.sliding_psn_step(xs[t], qb, w, b, SS.Sigmoid())
        torch.testing.assert_close(ya, yb, rtol=0, atol=0)
        assert len(qa) == len(qb) == min(t + 1, 3)
        for u, v in zip(qa, qb):
            torch.testing.assert_close(u, v)
    ga = torch.autograd.grad(ya.sum(), w)[0]
    gb = torch.autograd.grad(yb.sum(), w)[0]
    torch.testing.assert_close(ga, gb)
    T, k = 5, 2
    masked = sn.MaskedPSN(k, T)
    mw, bias = masked.masked_weight().detach(), masked.bias.detach()
    qa = qb = ()
    ta = tb = 0
    for t in range(T):
        ya, ta, qa = F.masked_psn_step(xs[t], ta, qa, mw, bias, k, surrogate.ATan())
        yb, tb, qb = SF.masked_psn_step(xs[t], tb, qb, mw, bias, k, SS.ATan())
        torch.testing.assert_close(ya, yb, rtol=0, atol=0)
        assert ta == tb == t + 1 and len(qa) == len(qb)
    with pytest.raises(ValueError, match=r"sliding_psn_step: every queue entry must hold x.numel\(\)=6 values"):
        F.sliding_psn_step(xs[0], (torch.zeros(4),), w, b, surrogate.Sigmoid())
    with pytest.raises(ValueError, match=r"masked_psn_step: `time_step` must be an int >= 0, got -1"):
        F.masked_psn_step(xs[0], -1, (), mw, bias, k, surrogate.ATan())


# -- spike packing and small helpers -------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("shape", [(3, 5), (16,), (2, 3, 7), (0,)])
def test_bit_packing_matches_2_0_0(shape):
    SF, _ = _sj()
    s = (torch.rand(shape) > 0.5).float()
    packed = F.bit_spike_compress(s)
    torch.testing.assert_close(packed, SF.bit_spike_compress(s))
    for dtype in (torch.uint8, torch.float32):
        torch.testing.assert_close(F.bit_spike_decompress(packed, shape, dtype),
                                   SF.bit_spike_decompress(packed, shape, dtype))
    torch.testing.assert_close(F.bit_spike_decompress(packed, shape, torch.float32), s)


def test_row_packing_and_linear_layers():
    s = (torch.rand(4, 11) > 0.5).float()
    rows = F.bit_pack_spike_dense(s)
    assert rows.shape == (4, 2) and rows.dtype == torch.uint8
    for i in range(4):  # each row packs on its own
        torch.testing.assert_close(rows[i], F.bit_spike_compress(s[i]))
    w = torch.randn(3, 11, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    y = F.packed_spike_linear(rows, w, b)
    y_ref = torch.nn.functional.linear(s, w, b)
    torch.testing.assert_close(y, y_ref)
    g = torch.randn_like(y)
    for u, v in zip(torch.autograd.grad(y, (w, b), g), torch.autograd.grad(y_ref, (w, b), g)):
        torch.testing.assert_close(u, v)
    for strategy in ("torch", "sparse"):
        torch.testing.assert_close(F.sparse_linear(s, w, b, strategy), y_ref)
    with pytest.raises(ValueError, match=r"bit_spike_compress: `spike` must hold only 0 and 1"):
        F.bit_spike_compress(torch.tensor([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"bit_spike_decompress: shape \(3, 5\) holds 15 values, which pack into "
                                         r"2 bytes; got 3"):
        F.bit_spike_decompress(torch.zeros(3, dtype=torch.uint8), (3, 5))
    with pytest.raises(ValueError, match=r"packed_spike_linear: `packed` must be uint8 \[M, ceil\(K / 8\)\]"):
        F.packed_spike_linear(rows, torch.randn(3, 20))
    with pytest.raises(ValueError, match=r"sparse_linear: `strategy` must be 'torch' or 'sparse'"):
        F.sparse_linear(s, w, b, "cuda")


@pytest.mark.parity
def test_threshold_margin_and_kaiming_match_2_0_0():
    SF, _ = _sj()
    from spikingjelly.activation_based import neuron as sn

    labels = torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).float()
    ours, theirs = neuron.IFNode(), sn.IFNode()
    F.set_threshold_margin(ours, labels)
    SF.set_threshold_margin(theirs, labels)
    torch.testing.assert_close(ours.v_threshold, theirs.v_threshold)
    x = torch.tensor([[1.0, 1.0, 0.95], [1.0, 0.95, 1.05]])
    # 2.0.0's IFNode then fails (its kernel takes a float threshold); fnsnn's fires against each margin
    torch.testing.assert_close(ours(x), torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]))
    ours.eval()
    theirs.eval()
    F.set_threshold_margin(ours, labels)
    SF.set_threshold_margin(theirs, labels)
    assert ours.v_threshold == theirs.v_threshold == 1.0
    net_a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 5))
    net_b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 5))
    net_b.load_state_dict(net_a.state_dict())
    torch.manual_seed(5)
    F.kaiming_normal_conv_linear_weight(net_a)
    torch.manual_seed(5)
    SF.kaiming_normal_conv_linear_weight(net_b)
    for (k, u), (_, v) in zip(net_a.state_dict().items(), net_b.state_dict().items()):
        torch.testing.assert_close(u, v, msg=k)
    with pytest.raises(TypeError, match=r"set_threshold_margin: `output_layer` must be a neuron module"):
        F.set_threshold_margin(nn.Linear(2, 2), labels)


# -- STDP --------------------------------------------------------------------------------------------------

def _fpre(w):
    return w * 0.5


def _fpost(w):
    return w + 1.0


@pytest.mark.parity
def test_stdp_steps_match_2_0_0():
    SF, _ = _sj()
    torch.manual_seed(0)
    si, so = (torch.rand(3, 4) > 0.5).float(), (torch.rand(3, 2) > 0.5).float()
    tr = (torch.rand(3, 4), torch.rand(3, 2))
    w = torch.randn(2, 4)
    kw = dict(tau_pre=2.0, tau_post=4.0, f_pre=_fpre, f_post=_fpost)
    for name, args in (("stdp_linear_step", (si, so, tr, w)), ("mstdp_linear_step", (si, so, tr, w)),
                       ("mstdpet_linear_step", (si[0], so[0], (tr[0][0], tr[1][0]), w))):
        a, b = getattr(F, name)(*args, **kw), getattr(SF, name)(*args, **kw)
        torch.testing.assert_close(a[0], b[0], msg=name)
        for u, v in zip(a[1], b[1]):
            torch.testing.assert_close(u, v, msg=name)
    e = F.mstdpet_linear_step(si[0], so[0], (tr[0][0], tr[1][0]), w, **kw)[0]
    for u, v in zip(F.mstdpet_reward_step(0.7, e, torch.full((2, 4), 0.3), tau_trace=5.0),
                    SF.mstdpet_reward_step(0.7, e, torch.full((2, 4), 0.3), tau_trace=5.0)):
        torch.testing.assert_close(u, v)
    for d, stride in ((1, (2,)), (2, (2, 1))):
        x = (torch.rand((4, 2) + (7,) * d) > 0.5).float()
        wc = torch.randn((3, 2) + (3,) * d)
        conv = torch.nn.functional.conv1d if d == 1 else torch.nn.functional.conv2d
        y = (conv(x, wc, stride=stride) > 0).float()
        trc = (torch.rand_like(x), torch.rand_like(y))
        name = f"stdp_conv{d}d_step"
        a = getattr(F, name)(x, y, trc, wc, stride=stride, **kw)
        b = getattr(SF, name)(x, y, trc, wc, stride=stride, **kw)
        torch.testing.assert_close(a[0], b[0], rtol=1e-5, atol=1e-4)
        for u, v in zip(a[1], b[1]):
            torch.testing.assert_close(u, v)


def test_stdp_errors_and_vmap():
    si, so = torch.ones(3, 4), torch.ones(3, 2)
    w = torch.randn(2, 4)
    with pytest.raises(ValueError, match=r"stdp_linear_step: `tau_pre` must be a finite number >= 1, got 0.5"):
        F.stdp_linear_step(si, so, (torch.zeros(3, 4), torch.zeros(3, 2)), w, tau_pre=0.5, tau_post=2.0)
    with pytest.raises(ValueError, match=r"mstdp_linear_step: `trace_post` has shape \(3, 3\) but its spikes are"):
        F.mstdp_linear_step(si, so, (torch.zeros(3, 4), torch.zeros(3, 3)), w, tau_pre=2.0, tau_post=2.0)
    with pytest.raises(ValueError, match=r"mstdpet_reward_step: `tau_trace` must be a finite number > 0"):
        F.mstdpet_reward_step(1.0, w, w, tau_trace=0.0)
    xs, ys = (torch.rand(5, 3, 4) > 0.5).float(), (torch.rand(5, 3, 2) > 0.5).float()
    out = vmap(lambda a, b: F.stdp_linear_step(a, b, (torch.zeros(3, 4), torch.zeros(3, 2)), w, tau_pre=2.0,
                                               tau_post=2.0)[0])(xs, ys)
    for i in range(5):
        torch.testing.assert_close(out[i], F.stdp_linear_step(xs[i], ys[i], (torch.zeros(3, 4), torch.zeros(3, 2)),
                                                              w, tau_pre=2.0, tau_post=2.0)[0])


# -- lava_cuba_lif_step ------------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("v_reset,detach_reset,scale", [(0.0, False, 4096), (0.2, True, 4096), (0.0, False, 64)])
def test_lava_cuba_lif_step_matches_2_0_0(v_reset, detach_reset, scale):
    SF, SS = _sj()
    torch.manual_seed(6)
    x, c, v = torch.randn(3, 4) * 0.6, torch.randn(3, 4) * 0.4, torch.randn(3, 4) * 0.4 + 0.5
    decays = (torch.tensor(1024.3), torch.tensor(300.7))
    ins_a = [t.clone().requires_grad_(True) for t in (x, c, v, *decays)]
    ins_b = [t.clone().requires_grad_(True) for t in (x, c, v, *decays)]
    args = (scale, 1.0, 0.01 / scale, v_reset)
    a = F.lava_cuba_lif_step(*ins_a, *args, surrogate.Sigmoid(), detach_reset)
    b = SF.lava_cuba_lif_step(*ins_b, *args, SS.Sigmoid(), detach_reset)
    for u, w in zip(a, b):
        torch.testing.assert_close(u, w, rtol=0, atol=0)
    weights = [torch.randn_like(u) for u in a]
    ga = torch.autograd.grad(sum((u * k).sum() for u, k in zip(a, weights)), ins_a)
    gb = torch.autograd.grad(sum((u * k).sum() for u, k in zip(b, weights)), ins_b)
    for i, (u, w) in enumerate(zip(ga, gb)):
        torch.testing.assert_close(u, w, rtol=1e-5, atol=1e-6, msg=f"grad of input {i}")
    # a sequence, as 2.0.0's lava CubaLIFNode iterates it, equals fnsnn's scan
    xs = torch.randn(5, 3, 4) * 0.8
    cs, vs, ys = torch.zeros(3, 4), torch.zeros(3, 4), []
    for t in range(5):
        y, cs, vs = SF.lava_cuba_lif_step(xs[t], cs, vs, *decays, *args, SS.Sigmoid(), detach_reset)
        ys.append(y)
    y_seq, final = fnsnn.lava_cuba_lif_multi_step(xs, current_decay=decays[0], voltage_decay=decays[1],
                                                  s_scale=scale, v_threshold=1.0, v_threshold_eps=0.01 / scale,
                                                  v_reset=v_reset, detach_reset=detach_reset)
    torch.testing.assert_close(y_seq, torch.stack(ys), rtol=0, atol=0)
    torch.testing.assert_close(final.c, cs, rtol=0, atol=0)
    torch.testing.assert_close(final.v, vs, rtol=0, atol=0)


def test_lava_cuba_lif_core_contract_and_errors():
    xs = torch.randn(3, 5, 2, 4)
    kw = dict(current_decay=1000.0, voltage_decay=200.0)
    out = vmap(lambda a: fnsnn.lava_cuba_lif_multi_step(a, **kw)[0])(xs)
    for i in range(3):
        torch.testing.assert_close(out[i], fnsnn.lava_cuba_lif_multi_step(xs[i], **kw)[0])
    y, final = fnsnn.lava_cuba_lif_multi_step(xs[0], **kw)
    state, ys = None, []
    for x in xs[0].unbind(0):
        s, state = fnsnn.lava_cuba_lif_step(x, state, **kw)
        ys.append(s)
    torch.testing.assert_close(torch.stack(ys), y, rtol=0, atol=0)
    g = grad(lambda d: fnsnn.lava_cuba_lif_multi_step(xs[0], current_decay=d, voltage_decay=200.0)[1].v.sum())(
        torch.tensor(1000.0))
    d = torch.tensor(1000.0, requires_grad=True)
    ref = torch.autograd.grad(fnsnn.lava_cuba_lif_multi_step(xs[0], current_decay=d, voltage_decay=200.0)[1].v.sum(),
                              d)[0]
    torch.testing.assert_close(g, ref)
    x, c = torch.randn(2, 4), torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"lava_cuba_lif_step: every value of `current_decay` must lie in "
                                         r"\[0, 4096\]"):
        F.lava_cuba_lif_step(x, c, c, torch.tensor(float("nan")), torch.tensor(1.0), 4096, 1.0, 0.0, 0.0,
                             surrogate.Sigmoid())
    with pytest.raises(ValueError, match=r"lava_cuba_lif_step: `v_threshold` must be finite, got inf"):
        F.lava_cuba_lif_step(x, c, c, torch.tensor(1.0), torch.tensor(1.0), 4096, float("inf"), 0.0, 0.0,
                             surrogate.Sigmoid())
    with pytest.raises(ValueError, match=r"lava_cuba_lif_step: `s_scale` must be > 0"):
        F.lava_cuba_lif_step(x, c, c, torch.tensor(1.0), torch.tensor(1.0), 0, 1.0, 0.0, 0.0, surrogate.Sigmoid())
    with pytest.raises(ValueError, match=r"lava_cuba_lif_multi_step: `v_threshold_eps` must be finite"):
        fnsnn.lava_cuba_lif_multi_step(xs[0], current_decay=1.0, voltage_decay=1.0, v_threshold_eps=float("nan"))
    with pytest.raises(ValueError, match=r"lava_cuba_lif_step: `state.v` has shape \(4,\) but the input needs"):
        F.lava_cuba_lif_step(x, c, torch.zeros(4), torch.tensor(1.0), torch.tensor(1.0), 4096, 1.0, 0.0, 0.0,
                             surrogate.Sigmoid())


# -- activation_aware_if_multi_step and neuron_implementation ----------------------------------------

AA_LAYOUTS = [((4, 2, 3, 5), 3, 5, 3), ((4, 6), 6, 1, 6), ((3, 2, 4), 4, 1, 1), ((5, 2, 3, 2, 2), 3, 4, 3)]


@pytest.mark.parity
@pytest.mark.parametrize("shape,channels,inner,n_param", AA_LAYOUTS)
@pytest.mark.parametrize("v_reset", [0.0, None, -0.25])
@pytest.mark.parametrize("store_v_seq", [False, True])
def test_activation_aware_if_multi_step_matches_2_0_0(shape, channels, inner, n_param, v_reset, store_v_seq):
    SF = _sj()[0]
    g = torch.Generator().manual_seed(3)
    x_seq = torch.randn(shape, generator=g)
    v = torch.rand(shape[1:], generator=g) * 0.5
    thr = torch.rand(n_param, generator=g) + 0.5
    off = torch.randn(n_param, generator=g) * 0.1
    ours = F.activation_aware_if_multi_step(x_seq, v, thr, off, channels, inner, v_reset, store_v_seq)
    theirs = SF.activation_aware_if_multi_step(x_seq, v, thr, off, channels, inner, v_reset, store_v_seq)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert torch.equal(ours[0], theirs[0])


def test_activation_aware_if_multi_step_is_differentiable_and_checks_its_layout():
    x_seq, v = torch.randn(5, 2, 3), torch.zeros(2, 3)
    thr = torch.tensor([0.5, 1.0, 0.8])

    def loss(off):
        return F.activation_aware_if_multi_step(x_seq, v, thr, off, 3, 1, None)[0].sum()

    g = grad(loss)(torch.zeros(3))
    assert g.shape == (3,) and bool(g.abs().sum() > 0)
    with pytest.raises(ValueError, match=r"activation_aware_if_multi_step: `channel_size` must be a positive int"):
        F.activation_aware_if_multi_step(x_seq, v, thr, 0.0, 0, 1)
    with pytest.raises(ValueError, match=r"channel_size \* inner_size = 4 must divide the state's 6 elements"):
        F.activation_aware_if_multi_step(x_seq, v, 1.0, 0.0, 4, 1)
    with pytest.raises(ValueError, match=r"`v_threshold` must hold 1 or channel_size=3 values, got shape \(2,\)"):
        F.activation_aware_if_multi_step(x_seq, v, torch.ones(2), 0.0, 3, 1)
    with pytest.raises(TypeError, match=r"activation_aware_if_multi_step: `v` must be a tensor"):
        F.activation_aware_if_multi_step(x_seq, 0.0, 1.0, 0.0, 3, 1)


def test_neuron_implementation_names_what_auto_runs():
    got = F.neuron_implementation("lif", torch.device("cpu"))
    assert got["implementation"] == "cpu" and "triton" in got["unavailable"]
    fnsnn.lif_multi_step(torch.randn(3, 4))
    assert fnsnn.last_backend() == got["implementation"]
    assert F.neuron_implementation("clif", "cpu", execution="compile")["implementation"] == "torch"
    cuda = F.neuron_implementation("if", "cuda")
    assert cuda["implementation"] in ("triton", "eager") and "cpu" in cuda["unavailable"]
    with pytest.raises(ValueError, match=r"neuron_implementation: `neuron_type` must be one of"):
        F.neuron_implementation("hh", "cpu")
    with pytest.raises(ValueError, match=r"neuron_implementation: `execution` must be 'eager' or 'compile'"):
        F.neuron_implementation("lif", "cpu", execution="jit")
    with pytest.raises(ValueError, match=r"neuron_implementation: `device` must be a CPU or CUDA device"):
        F.neuron_implementation("lif", "meta")
