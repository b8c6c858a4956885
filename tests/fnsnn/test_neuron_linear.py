"""lif_linear / if_linear: neuron then Linear with the spikes recomputed in the backward."""

from __future__ import annotations

import pytest
import torch

import fnsnn
from fnsnn_nn import functional as F, surrogate


def _inputs(T, dtype=torch.float64):
    x = (torch.randn(T, 3, 4, dtype=dtype) * 2).requires_grad_(True)
    v = (torch.rand(3, 4, dtype=dtype) * 0.5).requires_grad_(True)
    w = torch.randn(4, 6, dtype=dtype, requires_grad=True)
    b = torch.randn(6, dtype=dtype, requires_grad=True)
    return x, v, w, b


CONFIGS = [
    ("lif", dict(tau=2.0)),
    ("lif", dict(tau=3.0, decay_input=False, v_reset=None, detach_reset=True)),
    ("lif", dict(tau=1.5, v_threshold=0.7, v_reset=-0.1, surrogate_function=surrogate.ATan())),
    ("if", dict()),
    ("if", dict(v_reset=None, detach_reset=True)),
]


@pytest.mark.parametrize("T", [1, 2, 7, 16])
@pytest.mark.parametrize("kind,cfg", CONFIGS)
def test_equals_neuron_then_linear_outputs_and_gradients(kind, cfg, T):
    x, v, w, b = _inputs(T)
    fused = fnsnn.lif_linear if kind == "lif" else fnsnn.if_linear
    scan = fnsnn.lif_multi_step if kind == "lif" else fnsnn.if_multi_step
    state = fnsnn.LIFState(v) if kind == "lif" else fnsnn.IFState(v)
    y, v_final = fused(x, v, w, b, **cfg)
    spikes, st = scan(x, state, **cfg, backend="torch")
    y_ref = spikes @ w + b
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(v_final, st.v, rtol=0, atol=0)
    cy, cv = torch.randn_like(y), torch.randn_like(v_final)
    got = torch.autograd.grad((y * cy).sum() + (v_final * cv).sum(), (x, v, w, b))
    want = torch.autograd.grad((y_ref * cy).sum() + (st.v * cv).sum(), (x, v, w, b))
    for name, a, c in zip("xvwb", got, want):
        torch.testing.assert_close(a, c, rtol=1e-10, atol=1e-12, msg=name)


def test_single_step_form_and_no_bias():
    x, v, w, _ = _inputs(1)
    y, vf = fnsnn.lif_linear(x[0], v, w, None, time_major=False)
    s, st = fnsnn.lif_step(x[0], fnsnn.LIFState(v))
    torch.testing.assert_close(y, s @ w)
    torch.testing.assert_close(vf, st.v)
    gx, gw = torch.autograd.grad(y.sum(), (x, w))
    hx, hw = torch.autograd.grad((s @ w).sum(), (x, w))
    torch.testing.assert_close(gx, hx)
    torch.testing.assert_close(gw, hw)


def test_inputs_not_modified_and_nothing_kept_but_inputs():
    x, v, w, b = _inputs(32, torch.float32)
    x0, v0 = x.detach().clone(), v.detach().clone()
    seen, total = {x.untyped_storage().data_ptr()}, [0]

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            total[0] += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y, _ = fnsnn.lif_linear(x, v, w, b)
    fused_saved = total[0]
    seen, total[0] = {x.untyped_storage().data_ptr()}, 0
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        s, _ = fnsnn.lif_multi_step(x, fnsnn.LIFState(v), backend="torch")
        s @ w + b
    pair_saved = total[0]
    assert fused_saved <= v.numel() * 4 + w.numel() * 4 + 64
    assert pair_saved >= x.numel() * 4  # the pair keeps at least the spike sequence
    y.sum().backward()
    assert torch.equal(x.detach(), x0) and torch.equal(v.detach(), v0)


@pytest.mark.parity
def test_sj_signature_matches_2_0_0_neuron_then_linear():
    # 2.0.0's own lif_linear/if_linear run on CUDA only; its documented meaning is the neuron then Linear.
    from spikingjelly.activation_based import functional as SF, surrogate as SS

    x = torch.randn(6, 3, 4) * 2
    v = torch.rand(3, 4) * 0.5
    w, b = torch.randn(4, 5), torch.randn(5)
    y, vf = F.lif_linear(x, v, w, b, tau=2.5, v_reset=None)
    s, v_sj, _ = SF.lif_multi_step(x, v, 2.5, True, 1.0, None, SS.Sigmoid())
    torch.testing.assert_close(y, s @ w + b)
    torch.testing.assert_close(vf, v_sj)
    y, vf = F.if_linear(x[0], v, w, b)
    s, v_sj = SF.if_step(x[0], v, 1.0, 0.0, SS.Sigmoid())
    torch.testing.assert_close(y, s @ w + b)
    torch.testing.assert_close(vf, v_sj)


def test_errors():
    x, v, w, b = _inputs(3)
    with pytest.raises(ValueError, match=r"lif_linear: `weight_t` must be the transposed weight \[K, N\] with K = "
                                         r"x.shape\[-1\] = 4, got shape \(6, 4\)"):
        fnsnn.lif_linear(x, v, w.t(), b)
    with pytest.raises(ValueError, match=r"if_linear: `bias` must have shape \[N\] = \(6,\), got \(5,\)"):
        fnsnn.if_linear(x, v, w, b[:5])
    with pytest.raises(ValueError, match=r"lif_linear: `weight_t` is torch.float32 on cpu but `x` is torch.float64"):
        fnsnn.lif_linear(x, v, w.float(), b)
    with pytest.raises(ValueError, match=r"lif_linear: `v` has shape \(4,\) but one time step of `x` is \(3, 4\)"):
        fnsnn.lif_linear(x, v[0], w, b)
    with pytest.raises(ValueError, match=r"lif_linear: `tau` must be > 1"):
        fnsnn.lif_linear(x, v, w, b, tau=0.5)
    with pytest.raises(ValueError, match=r"lif_linear: `threads` must be one of \(128, 256, 512\), got 64"):
        F.lif_linear(x, v, w, b, threads=64)
    with pytest.raises(ValueError, match=r"if_linear: `x` must be \[M, K\] or \[T, M, K\] with `v` \[M, K\]"):
        F.if_linear(x[None], v, w, b)
