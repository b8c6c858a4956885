"""fnsnn_nn.nir: export to NIR, import from NIR, round trips and graphs written by snnTorch and read by Norse."""

import math

import pytest
import torch
import torch.nn as nn

nir = pytest.importorskip("nir")

from fnsnn_nn import functional, layer, neuron  # noqa: E402
from fnsnn_nn.nir import NEVER_FIRES, NIRGraphModule, Scale, Threshold, from_nir, to_nir  # noqa: E402

T = 12


def _run_steps(net, x_seq):
    functional.reset_net(net)
    return torch.stack([net(x) for x in x_seq])


def _louder(net, factor=3.0):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                m.weight.mul_(factor)
    return net


def _primitive_cases():
    """(name, builder of an fnsnn net ending in the primitive, input [T, N, *], NIR type of the primitive)."""
    g = torch.Generator().manual_seed(1)

    def rnd(*shape, scale=2.0):
        return torch.rand(*shape, generator=g) * scale

    return [
        ("Affine", lambda: layer.Linear(5, 4), rnd(T, 3, 5), "Affine"),
        ("Linear", lambda: layer.Linear(5, 4, bias=False), rnd(T, 3, 5), "Linear"),
        ("Conv1d", lambda: layer.Conv1d(2, 3, 3, stride=2, padding=1, dilation=1), rnd(T, 2, 2, 9), "Conv1d"),
        ("Conv2d", lambda: layer.Conv2d(2, 3, 3, stride=(1, 2), padding=(1, 0), dilation=(2, 1)), rnd(T, 2, 2, 6, 6),
         "Conv2d"),
        ("Conv2d_groups", lambda: layer.Conv2d(4, 4, 3, groups=2, bias=False), rnd(T, 2, 4, 5, 5), "Conv2d"),
        ("AvgPool2d", lambda: layer.AvgPool2d(2), rnd(T, 2, 3, 6, 6), "AvgPool2d"),
        ("SumPool2d", lambda: layer.AvgPool2d(3, stride=2, padding=1, divisor_override=1), rnd(T, 2, 3, 6, 6),
         "SumPool2d"),
        ("Flatten", lambda: layer.Flatten(), rnd(T, 2, 3, 4), "Flatten"),
        ("Delay", lambda: layer.Delay(3), rnd(T, 2, 4), "Delay"),
        ("Scale", lambda: Scale(torch.tensor([0.5, -2.0, 3.0])), rnd(T, 2, 3), "Scale"),
        ("Threshold", lambda: Threshold(torch.tensor([0.5, 1.0, 1.5])), rnd(T, 2, 3), "Threshold"),
        ("IF", lambda: neuron.IFNode(v_threshold=1.5, v_reset=-0.25), rnd(T, 2, 6), "IF"),
        ("LIF", lambda: neuron.LIFNode(tau=3.0, v_threshold=0.8, v_reset=0.1), rnd(T, 2, 6, scale=3.0), "LIF"),
        ("LIF_no_decay_input", lambda: neuron.LIFNode(tau=2.5, decay_input=False), rnd(T, 2, 6), "LIF"),
        ("LI", lambda: neuron.LIAFNode(nn.Identity(), False, tau=4.0, v_threshold=NEVER_FIRES, v_reset=0.2),
         rnd(T, 2, 6), "LI"),
        ("CubaLIF", lambda: neuron.CUBALIFNode(c_decay=0.6, v_decay=0.8, v_threshold=0.7), rnd(T, 2, 6), "CubaLIF"),
    ]


CASES = _primitive_cases()


@pytest.mark.parametrize("name,build,x,kind", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_round_trip_every_primitive(name, build, x, kind, step_mode):
    torch.manual_seed(0)
    net = nn.Sequential(build())
    functional.set_step_mode(net, step_mode)
    sample = x if step_mode == "m" else x[0]
    graph = to_nir(net, sample, dt=1e-3, step_mode=step_mode)
    assert type(graph.nodes["0"]).__name__ == kind
    back = from_nir(graph, dt=1e-3, step_mode=step_mode)
    if step_mode == "m":
        functional.reset_net(net)
        want, got = net(x), back(x)
    else:
        want, got = _run_steps(net, x), _run_steps(back, x)
    assert torch.equal(want, got)
    if kind in ("IF", "LIF", "CubaLIF", "Threshold"):
        assert 0 < want.sum() < want.numel(), "the case must both spike and stay silent somewhere"


def test_three_layer_conv_snn_round_trip_through_a_file(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1), neuron.LIFNode(tau=2.0), layer.AvgPool2d(2),
        layer.Conv2d(4, 6, 3, padding=1), neuron.IFNode(), layer.AvgPool2d(2, divisor_override=1),
        layer.Conv2d(6, 8, 3), neuron.CUBALIFNode(), layer.Flatten(), layer.Linear(8 * 2 * 2, 3),
        neuron.LIFNode(tau=3.0, decay_input=False))
    _louder(net, 2.0)
    functional.set_step_mode(net, "m")
    x = (torch.rand(16, 2, 2, 16, 16) < 0.4).float()
    graph = to_nir(net, x, dt=1e-4)
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    back = from_nir(path, dt=1e-4, step_mode="m")
    functional.reset_net(net)
    want = net(x)
    got = back(x)
    assert torch.equal(want, got)
    # every spiking layer fires somewhere and the output is not trivial
    for idx in (1, 4, 7, 10):
        functional.reset_net(net)
        assert net[: idx + 1](x).sum() > 0, f"layer {idx} is silent"
    # and the fnsnn -> NIR -> fnsnn -> NIR graph keeps the node types and parameters
    again = to_nir(back, x, dt=1e-4)
    assert [type(again.nodes[k]).__name__ for k in graph.nodes] == [type(n).__name__ for n in graph.nodes.values()]
    assert torch.equal(torch.as_tensor(again.nodes["1"].tau), torch.as_tensor(graph.nodes["1"].tau))


def test_parameters_map_with_dt():
    net = nn.Sequential(layer.Linear(3, 4), neuron.LIFNode(tau=4.0, decay_input=False, v_threshold=0.5, v_reset=0.0),
                        layer.Linear(4, 4), neuron.CUBALIFNode(c_decay=0.5, v_decay=0.75),
                        layer.Linear(4, 2), neuron.IFNode(v_threshold=2.0), layer.Delay(2))
    g = to_nir(net, torch.zeros(1, 3), dt=1e-3)
    lif, cuba, if_, delay = g.nodes["1"], g.nodes["3"], g.nodes["5"], g.nodes["6"]
    assert lif.tau == pytest.approx([4e-3] * 4) and lif.r == pytest.approx([4.0] * 4)
    assert lif.v_threshold == pytest.approx([0.5] * 4) and lif.v_leak == pytest.approx([0.0] * 4)
    assert cuba.tau_syn == pytest.approx([2e-3] * 4) and cuba.tau_mem == pytest.approx([4e-3] * 4)
    assert cuba.w_in == pytest.approx([2.0] * 4) and cuba.r == pytest.approx([4.0] * 4)
    assert if_.r == pytest.approx([1e3] * 2) and if_.v_threshold == pytest.approx([2.0] * 2)
    assert delay.delay == pytest.approx([2e-3] * 2)
    assert g.edges == [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "4"), ("4", "5"), ("5", "6"),
                       ("6", "output")]


def _euler(node, x_seq, dt):
    """NIR's equations integrated by forward Euler in float64, written from NIR's definitions."""
    kind = type(node).__name__
    f = {k: torch.as_tensor(getattr(node, k), dtype=torch.float64) for k in
         ("tau", "r", "v_leak", "v_threshold", "v_reset", "tau_syn", "tau_mem", "w_in") if hasattr(node, k)}
    v = torch.zeros_like(x_seq[0]) + (f["v_leak"] if "v_leak" in f and kind != "CubaLIF" else 0.0)
    i = torch.zeros_like(x_seq[0])
    out = []
    for x in x_seq:
        if kind == "IF":
            v = v + dt * f["r"] * x
        elif kind in ("LIF", "LI"):
            v = v + dt / f["tau"] * (f["v_leak"] - v + f["r"] * x)
        elif kind == "CubaLIF":
            i = i + dt / f["tau_syn"] * (-i + f["w_in"] * x)
            v = v + dt / f["tau_mem"] * (f["v_leak"] - v + f["r"] * i)
        if kind == "LI":
            out.append(v)
            continue
        z = (v >= f["v_threshold"]).to(v.dtype)
        v = z * f["v_reset"] + (1 - z) * v
        out.append(z)
    return torch.stack(out)


@pytest.mark.parametrize("node", [
    nir.LIF(tau=torch.full((5,), 2e-3).numpy(), r=torch.full((5,), 1.0).numpy(),
            v_leak=torch.zeros(5).numpy(), v_threshold=torch.full((5,), 0.6).numpy()),
    nir.LIF(tau=torch.full((5,), 3e-3).numpy(), r=torch.full((5,), 7.0).numpy(),
            v_leak=torch.full((5,), 0.2).numpy(), v_threshold=torch.full((5,), 1.0).numpy(),
            v_reset=torch.full((5,), 0.2).numpy()),
    nir.IF(r=torch.full((5,), 500.0).numpy(), v_threshold=torch.full((5,), 1.0).numpy()),
    nir.LI(tau=torch.full((5,), 4e-3).numpy(), r=torch.full((5,), 2.0).numpy(), v_leak=torch.full((5,), 0.1).numpy()),
    nir.CubaLIF(tau_syn=torch.full((5,), 2e-3).numpy(), tau_mem=torch.full((5,), 5e-3).numpy(),
                r=torch.full((5,), 3.0).numpy(), v_leak=torch.zeros(5).numpy(),
                v_threshold=torch.full((5,), 0.4).numpy(), w_in=torch.full((5,), 1.5).numpy()),
], ids=["LIF_r1", "LIF_r7_vleak", "IF_r500", "LI_r2", "CubaLIF_scaled"])
def test_import_follows_nir_equations_with_dt(node):
    dt = 1e-3
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=[5]), "n": node, "output": nir.Output(output_type=[5])},
                         edges=[("input", "n"), ("n", "output")])
    net = from_nir(graph, dt=dt).double()
    x = torch.rand(40, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2
    got = _run_steps(net, x)
    want = _euler(node, x, dt)
    if type(node).__name__ == "LI":
        # the input scale r / tau_s is held as a float32 buffer
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    else:
        assert torch.equal(got, want)
        assert 0 < want.sum() < want.numel()


def test_graph_with_a_merge_node_sums_its_inputs():
    w1, w2 = torch.randn(4, 3), torch.randn(4, 3)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=[3]), "a": nir.Linear(weight=w1.numpy()), "b": nir.Linear(weight=w2.numpy()),
        "lif": nir.LIF(tau=torch.full((4,), 2.0).numpy(), r=torch.ones(4).numpy(), v_leak=torch.zeros(4).numpy(),
                       v_threshold=torch.full((4,), 0.5).numpy()),
        "output": nir.Output(output_type=[4])},
        edges=[("input", "a"), ("input", "b"), ("a", "lif"), ("b", "lif"), ("lif", "output")])
    net = from_nir(graph, step_mode="m")
    x = torch.rand(10, 2, 3) * 2
    ref = neuron.LIFNode(tau=2.0, v_threshold=0.5, step_mode="m")
    assert torch.equal(net(x), ref(x @ w1.T + x @ w2.T))


def test_snntorch_written_graph_reproduces_snntorch_spikes():
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    kw = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    net = nn.Sequential(
        nn.Linear(8, 6), snn.Leaky(beta=torch.full((6,), 0.8), threshold=torch.ones(6), **kw),
        nn.Linear(6, 5), snn.Synaptic(alpha=torch.full((5,), 0.7), beta=torch.full((5,), 0.8),
                                      threshold=torch.full((5,), 0.9), **kw),
        nn.Linear(5, 3), snn.Leaky(beta=torch.full((3,), 0.9), threshold=torch.ones(3), **kw))
    _louder(net)
    x = torch.rand(30, 4, 8) * 3
    graph = export_to_nir(net, x[0, :1], ignore_dims=[0])
    assert [type(n).__name__ for n in graph.nodes.values()].count("CubaLIF") == 1
    ours = from_nir(graph, dt=1e-4)
    with torch.no_grad():
        want = torch.stack([net(xt) for xt in x])
    got = _run_steps(ours, x)
    assert want.sum() > 0
    assert torch.equal(want, got)


def test_norse_reads_our_graph_with_the_same_spikes():
    nt = pytest.importorskip("norse.torch")
    torch.manual_seed(0)
    net = _louder(nn.Sequential(layer.Linear(8, 6), neuron.LIFNode(tau=5.0), layer.Linear(6, 4),
                                neuron.LIFNode(tau=4.0, v_threshold=0.5)))
    x = torch.rand(30, 4, 8) * 3
    theirs = nt.from_nir(to_nir(net, x[0], dt=1e-3), dt=1e-3)
    state, outs = None, []
    with torch.no_grad():
        for xt in x:
            y, state = theirs(xt, state)
            outs.append(y)
        want = _run_steps(net, x)
    assert want.sum() > 0
    assert torch.equal(torch.stack(outs), want)


def test_state_door_works_on_imported_graphs():
    import fnsnn_nn

    net = _louder(nn.Sequential(layer.Linear(4, 5), neuron.LIFNode(tau=2.0), layer.Linear(5, 2), neuron.IFNode()))
    back = from_nir(to_nir(net, torch.zeros(1, 4)))
    x = torch.rand(6, 3, 4) * 2
    state = fnsnn_nn.init_state(back, x[0])
    outs = []
    for xt in x:
        y, state = fnsnn_nn.apply(back, xt, state)
        outs.append(y)
    assert torch.equal(torch.stack(outs), _run_steps(net, x))


def test_errors_name_the_node_or_module():
    def graph_of(node):
        return nir.NIRGraph(nodes={"input": nir.Input(input_type=[3]), "bad": node,
                                   "output": nir.Output(output_type=[3])},
                            edges=[("input", "bad"), ("bad", "output")])

    with pytest.raises(ValueError, match=r"from_nir: node 'bad' is a NIR I,.*no fnsnn counterpart"):
        from_nir(graph_of(nir.I(r=torch.ones(3).numpy())))
    cuba_li = nir.CubaLI(tau_syn=torch.ones(3).numpy(), tau_mem=torch.ones(3).numpy(), r=torch.ones(3).numpy(),
                         v_leak=torch.zeros(3).numpy())
    with pytest.raises(ValueError, match=r"node 'bad' is a NIR CubaLI"):
        from_nir(graph_of(cuba_li))
    uneven = nir.LIF(tau=torch.tensor([2.0, 3.0, 2.0]).numpy(), r=torch.ones(3).numpy(),
                     v_leak=torch.zeros(3).numpy(), v_threshold=torch.ones(3).numpy())
    with pytest.raises(ValueError, match=r"node 'bad' \(LIF\) has different `tau` values"):
        from_nir(graph_of(uneven))
    short = nir.LIF(tau=torch.full((3,), 0.5).numpy(), r=torch.ones(3).numpy(), v_leak=torch.zeros(3).numpy(),
                    v_threshold=torch.ones(3).numpy())
    with pytest.raises(ValueError, match=r"tau=0.5, which is 0.5 steps of dt=1.0"):
        from_nir(graph_of(short))
    leak = nir.LIF(tau=torch.full((3,), 2.0).numpy(), r=torch.ones(3).numpy(), v_leak=torch.full((3,), 0.3).numpy(),
                   v_threshold=torch.ones(3).numpy())
    with pytest.raises(ValueError, match=r"v_leak=0.3.* and v_reset=0.0"):
        from_nir(graph_of(leak))
    cyc = nir.NIRGraph(nodes={"input": nir.Input(input_type=[3]), "a": nir.Linear(weight=torch.eye(3).numpy()),
                              "b": nir.Linear(weight=torch.eye(3).numpy()), "output": nir.Output(output_type=[3])},
                       edges=[("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")])
    with pytest.raises(ValueError, match=r"cycle through the nodes \['a', 'b', 'output'\]"):
        from_nir(cyc)
    with pytest.raises(TypeError, match=r"from_nir: `graph` must be a nir.NIRGraph"):
        from_nir({"nodes": {}})
    with pytest.raises(ValueError, match=r"from_nir: `dt` must be a positive finite number, got 0"):
        from_nir(graph_of(nir.Scale(scale=torch.ones(3).numpy())), dt=0)

    with pytest.raises(ValueError, match=r"to_nir: module '1' \(LIFNode\) uses soft reset"):
        to_nir(nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(v_reset=None)), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"to_nir: module '0' is a MaxPool2d, which has no NIR counterpart"):
        to_nir(nn.Sequential(layer.MaxPool2d(2)), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"module '0' \(Conv2d\) has the kernel \(3, 2\).*only square kernels"):
        to_nir(nn.Sequential(layer.Conv2d(1, 1, (3, 2))), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"module '0' \(LIAFNode\) is exported as NIR LI only"):
        to_nir(nn.Sequential(neuron.LIAFNode(torch.relu, False)), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"to_nir: module '0' is a WSLinear, which has no NIR counterpart"):
        to_nir(nn.Sequential(layer.WSLinear(3, 3)), torch.zeros(1, 3))
    with pytest.raises(TypeError, match=r"to_nir: `sample` must be a tensor, got list"):
        to_nir(nn.Sequential(layer.Linear(3, 3)), [1.0])


def test_to_nir_leaves_the_network_untouched():
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode())
    x = torch.rand(2, 3)
    net(x)
    v = net[1].v.clone()
    to_nir(net, torch.rand(2, 3) * 5)
    assert torch.equal(net[1].v, v)
    assert isinstance(from_nir(to_nir(net, x)), NIRGraphModule)
