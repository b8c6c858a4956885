"""fnsnn_nn.export / export_onnx: programs with the state as inputs and outputs equal eager runs."""

import pytest
import torch
import torch.nn as nn

import fnsnn_nn
from fnsnn_nn import functional, layer, neuron


def _net():
    torch.manual_seed(0)
    net = nn.Sequential(layer.Conv2d(2, 4, 3, padding=1), neuron.LIFNode(tau=2.0), layer.Flatten(),
                        layer.Linear(4 * 5 * 5, 6), neuron.CUBALIFNode(), layer.Delay(1),
                        layer.Linear(6, 3), neuron.IFNode(v_reset=None))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(3.0)
    return net.eval()


def _eager(net, x_seq, state=None):
    """Step-by-step run of ``net`` itself from ``state`` (or rest), with the backend it is configured with."""
    ys = []
    for x in x_seq:
        y, state = fnsnn_nn.apply(net, x, state)
        ys.append(y)
    return torch.stack(ys), state


def _assert_state_equal(a, b, exact=True):
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            if exact:
                assert torch.equal(a[name][key], b[name][key]), (name, key)
            else:
                torch.testing.assert_close(a[name][key], b[name][key], rtol=1e-6, atol=1e-6)


def test_single_step_program_equals_eager_over_a_stream():
    net = _net()
    x_seq = (torch.rand(20, 2, 2, 5, 5) < 0.5).float()
    program = fnsnn_nn.export(net, x_seq[0])
    run = program.module()
    state = fnsnn_nn.init_state(net, x_seq[0])
    ys = []
    for x in x_seq:
        y, state = run(x, state)
        ys.append(y)
    want, want_state = _eager(net, x_seq)
    assert want.sum() > 0
    assert torch.equal(torch.stack(ys), want)
    _assert_state_equal(state, want_state)


def test_chunk_program_has_dynamic_length_and_equals_eager():
    net = _net()
    x_seq = (torch.rand(17, 2, 2, 5, 5) < 0.5).float()
    program = fnsnn_nn.export(net, x_seq[0], steps=4)
    run = program.module()
    want, want_state = _eager(net, x_seq)
    # chunks of 4, 6 and 7 steps through the one program, the state carried between them
    state, parts = fnsnn_nn.init_state(net, x_seq[0]), []
    for lo, hi in ((0, 4), (4, 10), (10, 17)):
        y, state = run(x_seq[lo:hi], state)
        parts.append(y)
    assert torch.equal(torch.cat(parts), want)
    # the scan body is a traced graph: potentials may differ from eager in the last bit
    _assert_state_equal(state, want_state, exact=False)
    # the multi-step module run gives the same spikes
    functional.reset_net(net)
    functional.set_step_mode(net, "m")
    assert torch.equal(net(x_seq), want)


def test_export_uses_the_reference_backend_and_leaves_net_alone():
    net = nn.Sequential(layer.Linear(3, 4), neuron.LIFNode(backend="auto"))
    fnsnn_nn.export(net, torch.rand(2, 3), steps=3)
    assert net[1].backend == "auto" and net[1].step_mode == "s"
    assert not isinstance(net[1].v, torch.Tensor)


def test_onnx_streams_fifty_steps_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    net = _net()
    x_seq = (torch.rand(50, 2, 2, 5, 5) < 0.5).float()
    path = tmp_path / "step.onnx"
    names = fnsnn_nn.export_onnx(net, x_seq[0], path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == names["inputs"]
    state = fnsnn_nn.init_state(net, x_seq[0])
    feed = {n: t.numpy() for n, t in zip(names["inputs"][1:], [t for e in state.values() for t in e.values()])}
    ys = []
    for x in x_seq:
        out = session.run(names["outputs"], {"x": x.numpy(), **feed})
        ys.append(torch.from_numpy(out[0]))
        feed = dict(zip(names["inputs"][1:], out[1:]))
    want, want_state = _eager(net, x_seq)
    assert want.sum() > 0
    assert torch.equal(torch.stack(ys), want)
    flat_want = [t for e in want_state.values() for t in e.values()]
    for n, t in zip(names["inputs"][1:], flat_want):
        torch.testing.assert_close(torch.from_numpy(feed[n]), t, rtol=1e-5, atol=1e-6)


def test_onnx_chunk_program_with_dynamic_length(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    net = _net()
    x_seq = (torch.rand(50, 2, 2, 5, 5) < 0.5).float()
    path = tmp_path / "chunk.onnx"
    names = fnsnn_nn.export_onnx(net, x_seq[0], path, steps=8)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    state = fnsnn_nn.init_state(net, x_seq[0])
    feed = dict(zip(names["inputs"][1:], [t.numpy() for e in state.values() for t in e.values()]))
    parts = []
    for lo in range(0, 50, 8):  # chunks of 8, the last one of 2
        out = session.run(names["outputs"], {"x_seq": x_seq[lo:lo + 8].numpy(), **feed})
        parts.append(torch.from_numpy(out[0]))
        feed = dict(zip(names["inputs"][1:], out[1:]))
    want, _ = _eager(net, x_seq)
    assert torch.equal(torch.cat(parts), want)


def test_export_errors():
    net = nn.Sequential(layer.Linear(3, 4), neuron.LIFNode())
    with pytest.raises(TypeError, match=r"export: `net` must be an nn.Module, got int"):
        fnsnn_nn.export(3, torch.rand(2, 3))
    with pytest.raises(TypeError, match=r"export: `example_x` must be a tensor \(one time step, \[N, \*\]\), got list"):
        fnsnn_nn.export(net, [1.0])
    with pytest.raises(ValueError, match=r"export: `steps` must be None \(one step\) or an int >= 1.*got 0"):
        fnsnn_nn.export(net, torch.rand(2, 3), steps=0)
