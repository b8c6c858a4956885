"""The parameter rule of fnsnn/_checks.py outside the neuron contract suite.

Synapses and PSN follow the same rule as the neurons; tensor values are read
only from plain CPU tensors, so transforms and compilation keep working (the
documented decision in ``values_readable``).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import grad, vmap

import fnsnn
import fnsnn_nn
from fnsnn import synapses as S
from fnsnn._checks import check_param, check_param_shapes, check_surrogate, values_readable
from fnsnn_nn import layer, neuron

X = torch.rand(4, 3, 5)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("call", [
    lambda bad: S.synapse_filter_multi_step(X, tau=bad),
    lambda bad: S.synapse_filter_step(X[0], tau=bad),
    lambda bad: S.synapse_filter_multi_step(X, tau=torch.tensor([2.0, bad, 2.0, 2.0, 2.0])),
    lambda bad: S.synapse_filter_multi_step(X, w=bad),
    lambda bad: layer.SynapseFilter(tau=bad),
    lambda bad: neuron.LIFNode(tau=bad),
    lambda bad: fnsnn.lif_multi_step(X, tau=bad),
    lambda bad: layer.NeuNorm(3, 4, 4, k=bad),
    lambda bad: fnsnn.masked_psn_weight(torch.eye(4), k=2, lambda_=bad),
    lambda bad: neuron.MaskedPSN(k=2, T=4, lambda_init=bad),
], ids=["filter_m", "filter_s", "filter_tensor", "filter_w", "SynapseFilter", "LIFNode", "lif", "NeuNorm",
        "masked_psn_weight", "MaskedPSN"])
def test_non_finite_parameters_raise(call, bad):
    """The `> 1` checks used to let NaN through (``nan <= 1`` is False)."""
    with pytest.raises(ValueError, match="finite"):
        call(bad)


def test_synapse_filter_tau_beyond_the_step_shape():
    with pytest.raises(ValueError, match=r"synapse_filter_multi_step: the tensor `tau` has shape \(2, 3, 5\)"):
        S.synapse_filter_multi_step(X, tau=torch.full((2, 3, 5), 2.0))
    y, _ = S.synapse_filter_multi_step(X, tau=torch.full((5,), 2.0))
    torch.testing.assert_close(y, S.synapse_filter_multi_step(X, tau=2.0)[0])


def test_per_feature_tau_beyond_the_step_raises_before_the_backward():
    """Used to run forward and then fail (or mis-shape the state) in the backward."""
    tau = torch.full((2, 3, 5), 2.0, requires_grad=True)
    with pytest.raises(ValueError, match=r"lif_multi_step: the tensor `tau` has shape \(2, 3, 5\).*\(3, 5\)"):
        fnsnn.lif_multi_step(X, tau=tau)


def test_wrong_shape_threshold_is_a_named_value_error():
    with pytest.raises(ValueError, match=r"if_multi_step: the tensor `v_threshold` has shape \(4,\)"):
        fnsnn.if_multi_step(X, v_threshold=torch.ones(4))
    m = neuron.IFNode(v_threshold=torch.ones(4))
    with pytest.raises(ValueError, match=r"IFNode: the tensor `v_threshold` has shape \(4,\)"):
        m(X[0])


def test_surrogates_of_psn_and_the_shells():
    with pytest.raises(TypeError, match=r"psn_multi_step: `surrogate_function` must be a spike-function instance, "
                                        r"got the class ATan; instantiate it"):
        fnsnn.psn_multi_step(X, weight=torch.eye(4), bias=0.0, surrogate_function=fnsnn.surrogate.ATan)
    with pytest.raises(TypeError, match=r"PSN: `surrogate_function` must be a spike-function instance"):
        neuron.PSN(T=4, surrogate_function=fnsnn_nn.surrogate.ATan)
    with pytest.raises(TypeError, match=r"psn_multi_step: `surrogate_function` returned int 0"):
        fnsnn.psn_multi_step(X, weight=torch.eye(4), bias=0.0, surrogate_function=lambda h: 0)


def test_check_surrogate_keeps_library_surrogates_and_wraps_others():
    core = fnsnn.surrogate.Sigmoid()
    shell = fnsnn_nn.surrogate.ATan()
    assert check_surrogate("f", "s", core) is core
    assert check_surrogate("f", "s", shell) is shell
    wrapped = check_surrogate("f", "s", fnsnn.surrogate.heaviside)
    torch.testing.assert_close(wrapped(torch.tensor([-1.0, 1.0])), torch.tensor([0.0, 1.0]))
    assert check_surrogate("f", "s", wrapped) is wrapped
    assert isinstance(check_surrogate("f", "s", None, fnsnn.surrogate.Rect), fnsnn.surrogate.Rect)


def test_check_param_messages():
    with pytest.raises(ValueError, match=r"^f: `tau` must be > 1 \(and finite\), got nan\.$"):
        check_param("f", "tau", math.nan, gt=1.0)
    with pytest.raises(ValueError, match=r"^f: `c` must lie in \[0, 1\] \(and finite\), got 1\.5\.$"):
        check_param("f", "c", 1.5, ge=0.0, le=1.0)
    with pytest.raises(ValueError, match=r"^f: every value of `g` must lie in \(0, 1\) \(and finite\); the tensor "
                                         r"of shape \(3,\) holds 2 that are not, e.g. \[0\.0, 1\.0\]\.$"):
        check_param("f", "g", torch.tensor([0.0, 0.5, 1.0]), gt=0.0, lt=1.0)
    with pytest.raises(TypeError, match=r"^f: `b` must be a real number or a tensor, got bool True\.$"):
        check_param("f", "b", True)
    assert check_param("f", "v_reset", None, allow_none=True) is None


def test_check_param_shapes_allows_broadcasting_to_the_step_only():
    like = torch.zeros(2, 3, 4)
    for shape in [(), (4,), (3, 1), (1, 3, 4), (2, 3, 4)]:
        check_param_shapes("f", {"p": torch.zeros(shape), "q": 2.0, "act": torch.relu}, like)
    for shape in [(5,), (1, 2, 3, 4), (2, 2, 3, 4), (3, 3, 4)]:
        with pytest.raises(ValueError, match=rf"f: the tensor `p` has shape {re_shape(shape)}"):
            check_param_shapes("f", {"p": torch.zeros(shape)}, like)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


# -- the values of a tensor are read only where that is safe ------------------

def test_values_readable_only_for_plain_cpu_tensors():
    assert values_readable(torch.ones(2))
    assert values_readable(torch.nn.Parameter(torch.ones(2)))
    assert not values_readable(torch.ones(2, device="meta"))
    seen = []
    vmap(lambda t: seen.append(values_readable(t)) or t)(torch.ones(3, 2))
    grad(lambda t: seen.append(values_readable(t)) or t.sum())(torch.ones(2))
    assert seen == [False, False]


def test_batched_parameters_are_checked_for_shape_not_values():
    """Under vmap a value check would need .item() on a batched tensor; the shape check still runs."""
    taus = torch.tensor([2.0, 3.0, 4.0])
    y = vmap(lambda tau: fnsnn.lif_multi_step(X, tau=tau)[0])(taus)
    torch.testing.assert_close(y[1], fnsnn.lif_multi_step(X, tau=3.0)[0])
    with pytest.raises(ValueError, match="the tensor `tau` has shape"):
        vmap(lambda tau: fnsnn.lif_multi_step(X, tau=tau)[0])(torch.full((3, 2, 3, 5), 2.0))
    with pytest.raises(ValueError, match="every value of `tau`"):  # the same values, outside the transform
        fnsnn.lif_multi_step(X, tau=torch.tensor(0.5))


def test_tensor_parameters_compile_without_graph_breaks():
    tau = torch.full((5,), 2.0)
    f = torch.compile(lambda x, tau: fnsnn.lif_multi_step(x, tau=tau, backend="torch")[0], fullgraph=True)
    torch.testing.assert_close(f(X, tau), fnsnn.lif_multi_step(X, tau=tau, backend="torch")[0])


def test_lower_bounds_of_other_layers_reject_nan():
    """check_greater (eps, momentum of norms and attention) used to let NaN through as the neurons did."""
    from fnsnn._checks import check_greater

    for strict in (True, False):
        with pytest.raises(ValueError, match=r"f: `eps` must be >=? 0, got nan"):
            check_greater("f", "eps", math.nan, 0, strict=strict)
        check_greater("f", "eps", 1e-5, 0, strict=strict)


@pytest.mark.parametrize("kw", [dict(alpha=math.nan, v_th=1.0), dict(alpha=1.0, v_th=math.inf)])
def test_threshold_dependent_batchnorm_rejects_non_finite(kw):
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d: `(alpha|v_th)` must be finite"):
        layer.ThresholdDependentBatchNorm2d(num_features=3, **kw)
