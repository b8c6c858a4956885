"""One prepared GPU check of the Triton scans: correctness, bandwidth, SpikingJelly's GPU path, peak memory.

    python benchmarks/gpu_check.py OUT_DIR            # on a CUDA machine (fits in a few minutes on one GPU)
    TRITON_INTERPRET=1 python benchmarks/gpu_check.py OUT_DIR --tiny    # on a CPU: tiny sizes, no timings

Writes ``OUT_DIR/log.txt`` (one line per case), ``OUT_DIR/results.json`` and ``OUT_DIR/results.md``.
Correctness compares every neuron family that has a Triton kernel, both reset modes, three surrogates
and float32/bfloat16 against ``backend="torch"`` on the same tensors (spikes, final state and input
gradients); then the ``fnsnn_nn`` modules, ``vmap`` over ``tau`` and, on CUDA, ``torch.compile`` of a
two-layer spiking MLP. Speed (CUDA only) times LIF forward and forward+backward with CUDA events
against a device-to-device copy, SpikingJelly 2.0.0 (when importable) and a plain PyTorch loop,
interleaved, with ``torch.cuda.max_memory_allocated`` of each forward+backward.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fnsnn  # noqa: E402
import fnsnn_nn  # noqa: E402
from fnsnn import surrogate as sg  # noqa: E402

# family -> (function, extra keywords, whether it takes v_reset)
FAMILIES = {
    "if": (fnsnn.if_multi_step, {}, True),
    "lif": (fnsnn.lif_multi_step, {"tau": 2.0}, True),
    "plif": (fnsnn.plif_multi_step, {"w": torch.tensor(0.3)}, True),
    "qif": (fnsnn.qif_multi_step, {}, True),
    "eif": (fnsnn.eif_multi_step, {}, True),
    "klif": (fnsnn.klif_multi_step, {"k": torch.tensor(1.2)}, True),
    "cuba_lif": (fnsnn.cuba_lif_multi_step, {}, True),
    "izhikevich": (fnsnn.izhikevich_multi_step, {}, True),
    "clif": (fnsnn.clif_multi_step, {}, False),
}
SURROGATES = (sg.Sigmoid(), sg.ATan(), sg.Erf())
DTYPES = (torch.float32, torch.bfloat16)
TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 5e-2}  # float32: max relative error; bfloat16: mean


class Report:
    def __init__(self, out: Path):
        self.out = out
        self.cases = []
        self.timings = []
        self.log = open(out / "log.txt", "w")

    def line(self, text: str) -> None:
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def case(self, name: str, ok: bool, detail: str) -> None:
        self.cases.append({"case": name, "ok": bool(ok), "detail": detail})
        self.line(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    finite = torch.isfinite(a) & torch.isfinite(b)
    same_nonfinite = bool(((~torch.isfinite(a)) == (~torch.isfinite(b))).all())
    if not same_nonfinite:
        return float("inf")
    if not finite.any():
        return 0.0
    return float((a[finite] - b[finite]).abs().max() / b[finite].abs().max().clamp_min(1.0))


def _rel_mean(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    if not bool((torch.isfinite(a) == torch.isfinite(b)).all()):
        return float("inf")
    finite = torch.isfinite(a)
    return float((a[finite] - b[finite]).abs().mean() / b[finite].abs().mean().clamp_min(1e-3)) if finite.any() else 0.0


def _run(fn, x, kwargs, backend):
    x = x.detach().requires_grad_(True)
    spikes, state = fn(x, **kwargs, backend=backend)
    weights = torch.linspace(-1.0, 1.0, spikes.numel(), device=x.device, dtype=torch.float32).view(spikes.shape)
    loss = (spikes.float() * weights).sum() + sum(s.float().square().sum() for s in state)
    (grad,) = torch.autograd.grad(loss, x)
    return spikes.detach(), [s.detach() for s in state], grad


def check_kernels(rep: Report, device: torch.device, T: int, N: int) -> None:
    gen = torch.Generator(device="cpu").manual_seed(0)
    for name, (fn, extra, has_reset) in FAMILIES.items():
        resets = (0.0, None) if has_reset else ("own",)
        for v_reset in resets:
            for surrogate in SURROGATES:
                for dtype in DTYPES:
                    kwargs = {k: (v.to(device=device, dtype=dtype) if isinstance(v, torch.Tensor) else v)
                              for k, v in extra.items()}
                    kwargs["surrogate_function"] = surrogate
                    if has_reset:
                        kwargs["v_reset"] = v_reset
                    x = (torch.rand(T, N, generator=gen) * 2.0).to(device=device, dtype=dtype)
                    label = f"{name} v_reset={v_reset} {type(surrogate).__name__} {str(dtype)[6:]}"
                    try:
                        # the kernels compute in float32 whatever the storage type, so a bfloat16 case
                        # is held against the reference loop run in float32 on the same (bfloat16) values
                        ref_kwargs = {k: (v.float() if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
                        ref = _run(fn, x.float(), ref_kwargs, "torch")
                        got = _run(fn, x, kwargs, "triton")
                    except Exception as exc:  # noqa: BLE001 - a failing case is reported, not fatal
                        rep.case(label, False, f"{type(exc).__name__}: {exc}")
                        continue
                    mismatch = float((ref[0].to(got[0].dtype) != got[0]).float().mean())
                    err = _rel if dtype == torch.float32 else _rel_mean
                    state_err = max(err(g, r) for g, r in zip(got[1], ref[1]))
                    grad_err = err(got[2], ref[2])
                    # bfloat16 rounds parameters and stored values: a charge within rounding of the threshold
                    # may flip a spike (and the rest of that neuron's trace), so bfloat16 is judged on the
                    # share of flipped spikes and on mean errors
                    spike_ok = mismatch == 0.0 if dtype == torch.float32 else mismatch <= 2e-2
                    ok = spike_ok and state_err <= TOLERANCE[dtype] and grad_err <= TOLERANCE[dtype]
                    rep.case(label, ok, f"spike mismatch {mismatch:.2e}, state rel err {state_err:.2e}, "
                                        f"grad rel err {grad_err:.2e}")


def check_modules(rep: Report, device: torch.device, T: int, N: int) -> None:
    x = torch.rand(T, 2, N, device=device) * 2.0
    for backend in ("auto", None):
        kwargs = {} if backend is None else {"backend": backend}
        node = fnsnn_nn.neuron.LIFNode(step_mode="m", surrogate_function=fnsnn_nn.surrogate.Sigmoid(), **kwargs)
        out = node(x)
        explicit = fnsnn.lif_multi_step(x, backend="triton", surrogate_function=sg.Sigmoid())[0]
        ref = fnsnn.lif_multi_step(x, backend="torch", surrogate_function=sg.Sigmoid())[0]
        rep.case(f"fnsnn_nn.LIFNode(step_mode='m'{'' if backend is None else f', backend={backend!r}'})",
                 bool(torch.equal(out, ref)),
                 f"module backend attribute {node.backend!r}; output equals the reference loop: "
                 f"{torch.equal(out, ref)}; equals an explicit backend='triton' call: {torch.equal(out, explicit)}")


def check_vmap(rep: Report, device: torch.device, T: int, N: int) -> None:
    x = torch.rand(T, N, device=device) * 2.0
    taus = torch.linspace(1.5, 8.0, 4, device=device)

    def rate(backend):
        return torch.func.vmap(lambda tau: fnsnn.lif_multi_step(x, tau=tau, backend=backend)[0].mean(0))(taus)

    try:
        got, ref = rate("triton"), rate("torch")
        rep.case("vmap over tau (triton vs torch)", bool(torch.equal(got, ref)), f"max diff {float((got - ref).abs().max()):.2e}")
    except Exception as exc:  # noqa: BLE001
        rep.case("vmap over tau (triton vs torch)", False, f"{type(exc).__name__}: {exc}")


def check_compile(rep: Report, device: torch.device) -> None:
    from fnsnn_nn import layer, neuron

    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Linear(16, 32), neuron.LIFNode(backend="triton"),
                              layer.Linear(32, 4), neuron.LIFNode(backend="triton")).to(device)
    fnsnn_nn.functional.set_step_mode(net, "m")
    x = torch.rand(8, 4, 16, device=device)
    try:
        eager = net(x)
        fnsnn_nn.functional.reset_net(net)
        compiled = torch.compile(net, fullgraph=True)(x)
        rep.case("torch.compile(fullgraph=True) two-layer spiking MLP", bool(torch.equal(eager, compiled)),
                 f"max diff {float((eager - compiled).abs().max()):.2e}")
    except Exception as exc:  # noqa: BLE001
        rep.case("torch.compile(fullgraph=True) two-layer spiking MLP", False, f"{type(exc).__name__}: {exc}")


def _cuda_time(fn, repeats: int) -> float:
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(repeats):
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(stop) / 1e3)
    return best


def _peak(fn) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def _plain_loop(x_seq, tau=2.0):
    v = torch.zeros_like(x_seq[0])
    out = []
    for x in x_seq.unbind(0):
        h = v + (x - v) / tau
        s = sg.Sigmoid()(h - 1.0)
        v = h * (1.0 - s)
        out.append(s)
    return torch.stack(out)


def _spikingjelly_lif():
    try:
        from spikingjelly.activation_based import neuron as sj_neuron, surrogate as sj_surrogate
    except Exception as exc:  # noqa: BLE001 - the peer is optional
        return None, f"not importable ({type(exc).__name__}: {exc})"
    return (lambda: sj_neuron.LIFNode(step_mode="m", surrogate_function=sj_surrogate.Sigmoid()).cuda()), "ok"


def check_speed(rep: Report, repeats: int, deadline: float) -> None:
    big = torch.empty(1 << 28, device="cuda")  # 1 GiB
    copy_s = _cuda_time(lambda: big.clone(), repeats)
    copy_bw = 2 * big.numel() * 4 / copy_s / 1e9
    del big
    rep.line(f"device {torch.cuda.get_device_name()}: copy bandwidth {copy_bw:.0f} GB/s")
    make_sj, sj_status = _spikingjelly_lif()
    rep.line(f"SpikingJelly 2.0.0: {sj_status}")
    for dtype in (torch.float32, torch.bfloat16):
        for T in (8, 64):
            for N in (1 << 20, 1 << 24):
                if time.perf_counter() > deadline:
                    rep.line(f"time budget spent: skipping the speed case {str(dtype)[6:]} T={T} N={N}")
                    continue
                x = torch.rand(T, N, device="cuda", dtype=dtype) * 2.0
                size = x.element_size() * x.numel()
                peers = {"fnsnn triton": lambda x: fnsnn.lif_multi_step(x, backend="triton")[0],
                         "plain loop": _plain_loop}
                if make_sj is not None and dtype == torch.float32:
                    sj_node = make_sj()

                    def sj_run(x, node=sj_node):
                        node.reset()
                        return node(x)

                    peers["SpikingJelly"] = sj_run
                for peer, run in peers.items():
                    xg = x.detach().requires_grad_(True)

                    def fwd():
                        with torch.no_grad():
                            run(x)

                    def fwd_bwd():
                        run(xg).sum().backward()

                    t_f = _cuda_time(fwd, repeats)
                    t_fb = _cuda_time(fwd_bwd, repeats)
                    peak = _peak(fwd_bwd)
                    row = dict(peer=peer, dtype=str(dtype)[6:], T=T, N=N, fwd_ms=t_f * 1e3, fwd_bwd_ms=t_fb * 1e3,
                               fwd_gbs=2 * size / t_f / 1e9, fwd_pct_copy=100 * 2 * size / t_f / 1e9 / copy_bw,
                               fwd_bwd_gbs=5 * size / t_fb / 1e9, peak_mib=peak / 2**20)
                    rep.timings.append(row)
                    rep.line(f"{peer:13s} {row['dtype']:8s} T={T:3d} N={N:9d} fwd {row['fwd_ms']:8.3f} ms "
                             f"({row['fwd_gbs']:6.0f} GB/s, {row['fwd_pct_copy']:5.1f}% of copy) fwd+bwd "
                             f"{row['fwd_bwd_ms']:8.3f} ms peak {row['peak_mib']:8.1f} MiB")
                del x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for log.txt, results.json and results.md")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, no timings (CPU under TRITON_INTERPRET=1)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds after which the remaining speed cases are skipped (kernel compiles come first)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    if not cuda and os.environ.get("TRITON_INTERPRET") != "1":
        parser.error("needs a CUDA device, or TRITON_INTERPRET=1 (set before starting) with --tiny")
    device = torch.device("cuda" if cuda else "cpu")
    rep = Report(args.out)
    rep.line(f"torch {torch.__version__}, python {platform.python_version()}, device "
             f"{torch.cuda.get_device_name() if cuda else platform.processor() or 'cpu'}")
    started = time.perf_counter()
    T, N = (4, 37) if args.tiny else (16, 4099)
    check_kernels(rep, device, T, N)
    check_modules(rep, device, T, N)
    check_vmap(rep, device, T, N)
    if cuda:
        check_compile(rep, device)
        if not args.tiny:
            check_speed(rep, args.repeats, started + args.budget)
    failed = [c for c in rep.cases if not c["ok"]]
    rep.line(f"{len(rep.cases) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - started:.1f} s")
    summary = dict(device=str(device), torch=torch.__version__, cases=rep.cases, timings=rep.timings,
                   passed=len(rep.cases) - len(failed), failed=len(failed))
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    lines = ["| case | ok | detail |", "|---|---|---|"] + [
        f"| {c['case']} | {'yes' if c['ok'] else 'NO'} | {c['detail']} |" for c in rep.cases]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
