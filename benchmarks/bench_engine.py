"""The neuron engine on the path users take: default fnsnn_nn modules against SpikingJelly 2.0.0's.

Run from the repository root::

    python benchmarks/bench_engine.py            # all three tables
    python benchmarks/bench_engine.py --only lif # one of: lif, families, declared

Tables (every ratio from implementations timed interleaved, rep by rep, in one process; medians):

* ``lif``: ``fnsnn_nn.neuron.LIFNode(step_mode="m", surrogate_function=fnsnn_nn.surrogate.Sigmoid())``
  with no backend argument, against SpikingJelly 2.0.0's ``LIFNode`` built the same way, at T=8 and
  T=64, N=256K, float32: forward+backward time, the ratio, the multiple of the bandwidth floor and
  peak memory. The floor is the least a scan can move, ``x`` read and the spikes written forward, the
  spikes' gradient read and the input's written backward (4 ``[T, N]`` passes), at the copy bandwidth
  measured here. Peak memory is the most allocated at once during forward+backward beyond ``x`` and
  the incoming gradient (torch.profiler allocation events, each implementation in a fresh process).
  The table also times the same 4 passes done by two plain copies into new tensors (``x`` into the
  output, the incoming gradient into the input's gradient), allocated the way the engine allocates
  its outputs: what any scan returning new tensors pays before its arithmetic, including the page
  faults of fresh memory, which the floor leaves out.
* ``families``: every neuron class both libraries ship, default construction, ``step_mode="m"``,
  T=64, N=64K: SpikingJelly's forward+backward time over fnsnn's, and the backend fnsnn ran.
* ``declared``: a LIF declared with :class:`fnsnn.Neuron` against the built-in LIF, and an
  adaptive-threshold LIF declared the same way against a plain PyTorch loop of the same step.

The first line names the processor and the measured copy bandwidth: ratios depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fnsnn  # noqa: E402
import fnsnn_nn  # noqa: E402
from bench_neurons import copy_bandwidth, peak_bytes, time_once  # noqa: E402
from fnsnn.kernels import cpu as cpu_kernels  # noqa: E402


def processor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def interleaved(impls: dict, x, grad_out, reps: int) -> dict:
    """Median forward+backward seconds of each implementation, run rep by rep in turn."""
    for run in impls.values():  # warm-up: compiling, thread pools, allocator
        time_once(run, x, grad_out)
        x.grad = None
    times = {name: [] for name in impls}
    for _ in range(reps):
        for name, run in impls.items():
            times[name].append(time_once(run, x, grad_out))
            x.grad = None
    return {name: statistics.median(t) for name, t in times.items()}


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out  # OTTT returns (spikes, traces) in training


def _module_runner(module):
    def run(x):
        fnsnn_nn.functional.reset_net(module) if hasattr(module, "_memories") else module.reset()
        return _first(module(x))

    return run


def _sj_runner(module):
    def run(x):
        module.reset()
        return _first(module(x))

    return run


def lif_modules():
    from spikingjelly.activation_based import neuron as sjn
    from spikingjelly.activation_based import surrogate as sjs

    ours = fnsnn_nn.neuron.LIFNode(step_mode="m", surrogate_function=fnsnn_nn.surrogate.Sigmoid())
    theirs = sjn.LIFNode(step_mode="m", surrogate_function=sjs.Sigmoid())
    return {"fnsnn_nn LIFNode (defaults)": _module_runner(ours), "SpikingJelly 2.0.0 LIFNode": _sj_runner(theirs)}


class _FreshCopies(torch.autograd.Function):
    """Forward: ``x`` copied into a new tensor; backward: the incoming gradient copied into a new tensor."""

    @staticmethod
    def forward(ctx, x):
        return cpu_kernels.empty(x.shape, x).copy_(x)

    @staticmethod
    def backward(ctx, g):
        return cpu_kernels.empty(g.shape, g).copy_(g)


def memory_child(name: str, T: int, N: int) -> None:
    run = lif_modules()[name]
    x = (torch.randn(T, N) * 1.5 + 0.5).requires_grad_()
    grad_out = torch.ones_like(x)
    for _ in range(2):
        time_once(run, x, grad_out)
        x.grad = None
    print(peak_bytes(run, x, grad_out) / 2**20)


def table_lif(reps: int, bandwidth: float) -> None:
    print("\n## Default LIF module: fnsnn_nn against SpikingJelly 2.0.0 (float32, forward+backward)")
    print("| T | N | fnsnn ms | SJ ms | SJ/fnsnn | fnsnn x floor | copies ms | copies x floor | fnsnn x copies | "
          "fnsnn backend | fnsnn peak MiB | SJ peak MiB | fnsnn/SJ peak |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for T in (8, 64):
        N = 256 * 1024
        impls = lif_modules()
        x = (torch.randn(T, N) * 1.5 + 0.5).requires_grad_()
        grad_out = torch.ones_like(x)
        # short calls get more reps (as many element-steps per row): a burst of noise then moves the median less
        med = interleaved({**impls, "copies": _FreshCopies.apply}, x, grad_out, reps * 64 // T)
        ours, theirs, copies = med["fnsnn_nn LIFNode (defaults)"], med["SpikingJelly 2.0.0 LIFNode"], med["copies"]
        floor = 4 * T * N * 4 / bandwidth
        peaks = {}
        for name in impls:
            cmd = [sys.executable, __file__, "--memory-child", name, str(T), str(N)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
            peaks[name] = float(out[-1])
        p_ours, p_sj = peaks["fnsnn_nn LIFNode (defaults)"], peaks["SpikingJelly 2.0.0 LIFNode"]
        print(f"| {T} | {N} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | {theirs / ours:.2f} | {ours / floor:.2f} | "
              f"{copies * 1e3:.1f} | {copies / floor:.2f} | {ours / copies:.2f} | "
              f"{fnsnn.last_backend() or '?'} | {p_ours:.0f} | {p_sj:.0f} | {p_ours / p_sj:.2f} |", flush=True)
    print(f"Floor: 4 passes over [T, N] float32 at the measured copy bandwidth ({bandwidth / 1e9:.1f} GB/s), into "
          f"memory already written. Copies: the same 4 passes as two copies into new tensors, timed with the others. "
          f"The peak counts the output spikes and the input gradient (2 [T, N] tensors) as well.")


FAMILY_ARGS = {  # classes whose constructors need arguments
    "LIAFNode": lambda: dict(act=torch.relu, threshold_related=False),
    "GatedLIFNode": lambda: dict(T=64),
    "STBIFNode": lambda: dict(q_threshold=0.5, level=8),
    "SimpleLIFNode": lambda: dict(tau=2.0, decay_input=True),
    "MPBNLIFNode": lambda: dict(out_features=1024),
}
STEP_SHAPE = {"MPBNLIFNode": (64, 1024)}  # a batch of features for the batch norm; others [N]
SKIP = {"BaseNode", "AdaptBaseNode", "SimpleBaseNode", "NonSpikingBaseNode", "MPBNBaseNode"}
# Classes that are not a per-element scan over [T, N]: they compute over a whole sequence, a population or a
# decoding at once, with inputs of their own shape, and keep their own torch implementations.
NOT_A_SCAN = ("DSR", "FewSpike", "HGNode", "OutlierAware", "ILC", "Noisy", "NonSpiking")
NOT_COMPARED = {  # classes the table cannot time against 2.0.0 with the same call, and why
    "GatedLIFNode": "2.0.0 broadcasts a [T, N] input to a [T, 1, 1, 1, N] output",
    "STBIFNode": "2.0.0's STBIF has no backward (inference only)",
    "OTTTLIFNode": "2.0.0's multi-step call in training mode raises (it returns fewer states than memories)",
}


def _build(lib, name: str):
    """``name`` from ``lib`` in multi-step mode (built in single-step mode where the class insists)."""
    cls, kw = getattr(lib, name), FAMILY_ARGS.get(name, dict)()
    try:
        return cls(step_mode="m", **kw)
    except (TypeError, ValueError, AssertionError):  # no step_mode keyword, or single-step construction only
        module = cls(**kw)
        module.step_mode = "m"
        return module


def table_families(reps: int) -> None:
    from spikingjelly.activation_based import neuron as sjn

    T, N = 64, 64 * 1024
    print(f"\n## Every neuron class both libraries ship: default modules, step_mode='m', T={T}, N={N}, float32")
    print("| class | fnsnn ms | SJ ms | SJ/fnsnn | fnsnn backend |")
    print("|---|---:|---:|---:|---|")
    names = sorted(n for n in dir(fnsnn_nn.neuron) if n.endswith("Node") and hasattr(sjn, n) and n not in SKIP)
    for name in names:
        if name.startswith(NOT_A_SCAN):
            print(f"| {name} | - | - | - | not a per-element scan (whole-sequence or population computation) |")
            continue
        if name in NOT_COMPARED:
            print(f"| {name} | - | - | - | not compared: {NOT_COMPARED[name]} |")
            continue
        try:
            ours, theirs = _build(fnsnn_nn.neuron, name), _build(sjn, name)
        except Exception as exc:  # report and go on: one class must not stop the table
            print(f"| {name} | - | - | - | not built: {type(exc).__name__}: {str(exc)[:80]} |")
            continue
        x = (torch.randn(T, *STEP_SHAPE.get(name, (N,))) * 1.5 + 0.5).requires_grad_()
        grad_out = torch.ones_like(x)
        impls = {"fnsnn": _module_runner(ours), "sj": _sj_runner(theirs)}
        try:
            med = interleaved(impls, x, grad_out, reps)
        except Exception as exc:
            print(f"| {name} | - | - | - | failed: {type(exc).__name__}: {str(exc)[:80]} |")
            continue
        print(f"| {name} | {med['fnsnn'] * 1e3:.1f} | {med['sj'] * 1e3:.1f} | {med['sj'] / med['fnsnn']:.2f} | "
              f"{getattr(ours, 'last_backend', None) or 'reference (own forward)'} |", flush=True)


def _declared_lif(x, state, *, tau, v_threshold, surrogate_function):
    h = state.v + (x - state.v) / tau
    spike = surrogate_function(h - v_threshold)
    return spike, state._replace(v=h * (1.0 - spike))


def _adaptive_lif(x, state, *, tau, tau_a, beta, surrogate_function):
    h = state.v + (x - state.v) / tau
    threshold = 1.0 + beta * state.a
    spike = surrogate_function(h - threshold)
    return spike, state._replace(v=h - spike * threshold, a=state.a + (spike - state.a) / tau_a)


def table_declared(reps: int) -> None:
    T, N = 64, 256 * 1024
    sg = fnsnn.surrogate.Sigmoid()
    user_lif = fnsnn.Neuron("user_lif", ("v",), _declared_lif)
    adaptive = fnsnn.Neuron("adaptive_lif", ("v", "a"), _adaptive_lif)
    cfg = dict(tau=2.0, tau_a=20.0, beta=0.5, surrogate_function=sg)

    def plain_loop(x):
        v, a = torch.zeros_like(x[0]), torch.zeros_like(x[0])
        out = []
        for xt in x.unbind(0):
            h = v + (xt - v) / 2.0
            threshold = 1.0 + 0.5 * a
            spike = sg(h - threshold)
            v, a = h - spike * threshold, a + (spike - a) / 20.0
            out.append(spike)
        return torch.stack(out)

    impls = {
        "built-in LIF": lambda x: fnsnn.lif_multi_step(x, tau=2.0, surrogate_function=sg)[0],
        "user-declared LIF": lambda x: user_lif.multi_step(x, tau=2.0, v_threshold=1.0, surrogate_function=sg)[0],
        "user-declared adaptive LIF": lambda x: adaptive.multi_step(x, **cfg)[0],
        "plain PyTorch loop, adaptive LIF": plain_loop,
    }
    x = (torch.randn(T, N) * 1.5 + 0.5).requires_grad_()
    med = interleaved(impls, x, torch.ones_like(x), reps)
    print(f"\n## User-declared neurons (fnsnn.Neuron), T={T}, N={N}, float32, forward+backward")
    print("| implementation | ms |")
    print("|---|---:|")
    for name, t in med.items():
        print(f"| {name} | {t * 1e3:.1f} |")
    print(f"user-declared LIF / built-in LIF: {med['user-declared LIF'] / med['built-in LIF']:.2f}x the time; "
          f"plain loop / user-declared adaptive LIF: "
          f"{med['plain PyTorch loop, adaptive LIF'] / med['user-declared adaptive LIF']:.2f}x faster")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("lif", "families", "declared"))
    parser.add_argument("--reps", type=int, default=5, help="reps per row (the lif table at T=8: 8 times as many)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        name, T, N = args.memory_child
        memory_child(name, int(T), int(N))
        return
    torch.manual_seed(0)
    bandwidth = copy_bandwidth(torch.device("cpu"))
    print(f"# fnsnn engine benchmark\n{processor()}, torch {torch.__version__}, {args.threads} threads; "
          f"copy bandwidth {bandwidth / 1e9:.1f} GB/s; {time.strftime('%Y-%m-%d')}", flush=True)
    if args.only in (None, "lif"):
        table_lif(args.reps, bandwidth)
    if args.only in (None, "families"):
        table_families(max(3, args.reps // 2))
    if args.only in (None, "declared"):
        table_declared(args.reps)


if __name__ == "__main__":
    main()
