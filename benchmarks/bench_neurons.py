"""Time and memory of multi-step neurons: fnsnn against SpikingJelly 2.0.0, snnTorch and a plain loop.

Run from the repository root::

    python benchmarks/bench_neurons.py --quick          # LIF T=64, N=256K; Izhikevich T=64, N=64K
    python benchmarks/bench_neurons.py                  # T in {8, 64, 256} x N in {64K, 1M}

Each configuration (neuron, T, N) runs in a process of its own, in which all
implementations run interleaved (rep by rep), and the median of ``--reps`` runs
is reported (a fresh process per configuration keeps one configuration's
allocator state out of the next). Times are also given as a multiple of the
memory-bandwidth floor: the bytes the scan must move (read ``x``, write the
spikes, save for backward what is needed, then read that and the incoming
gradient and write the input gradient), divided by the copy bandwidth measured
here by a large ``Tensor.copy_``.

Memory is measured apart from the timings, on the CPU in a fresh child process
per implementation (so that no other implementation's freed blocks, which glibc
keeps, sit in its address space), after two warm-up calls. ``peak MiB`` is the
most memory allocated at any moment of a forward+backward call beyond what
existed before it: the input ``x`` and the incoming gradient of the spikes (one
``[T, N]`` tensor, allocated once, as the next layer's backward would hand it
over) are there before the call and are not counted; the spikes, everything
saved for backward, temporaries and the input gradient are. On the CPU it is
read from the allocation and free events of ``torch.profiler``
(``profile_memory=True``: every tensor allocation, including those of compiled
code, in order); on CUDA from ``torch.cuda.max_memory_allocated``. ``peak RSS
rise MiB`` (CPU) checks that figure outside the profiler: the child fixes glibc's
mmap threshold at 128 KiB (large blocks are mapped on allocation and unmapped on
free, so the resident size follows the live bytes) and reports the rise of its
peak resident size (``VmHWM``, reset through ``/proc/self/clear_refs``) during
one call. ``saved MiB`` is the part autograd keeps between the passes, counted
with ``torch.autograd.graph.saved_tensors_hooks`` (each storage once, ``x``
excluded).
SpikingJelly 2.0.0 picks its own multi-step implementation (no backend
argument). fnsnn's CPU fast path compiles its fused steps with ``torch.compile``
on first use; that one-time cost is printed apart ("first call") and left out
of the timings (every implementation gets a warm-up run).

``--no-mmap`` sets glibc's ``M_MMAP_MAX=0`` and a high ``M_TRIM_THRESHOLD``
(``mallopt``) before anything is allocated, so that large tensors come from the
heap and are reused instead of being mapped afresh (and page-faulted in) on
every call. It applies to every implementation in the process alike; on this
kind of machine page faults of fresh ``[T, N]`` buffers cost about as much as
the arithmetic. On CUDA fnsnn's Triton kernels run.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

import fnsnn


# --------------------------------------------------------------------------- #
# implementations: name -> (make(x) -> run(x) returning the spike sequence)
# --------------------------------------------------------------------------- #


class _SigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        s = torch.sigmoid(4.0 * z)
        return grad * 4.0 * s * (1.0 - s)


def plain_lif(x_seq, tau=2.0):
    v = torch.zeros_like(x_seq[0])
    out = []
    for x in x_seq.unbind(0):
        h = v + (x - v) / tau
        s = _SigmoidSpike.apply(h - 1.0)
        v = h * (1.0 - s)
        out.append(s)
    return torch.stack(out)


_SJ_CUDA_VARIABLES = ("SJ_LIF_CUDA_IMPLEMENTATION", "SJ_IZHIKEVICH_CUDA_IMPLEMENTATION")


def _sj_label(device) -> str:
    if device.type != "cuda":
        return "SpikingJelly 2.0.0"
    return f"SpikingJelly 2.0.0 ({os.environ.get(_SJ_CUDA_VARIABLES[0], 'auto')})"


def lif_impls(device):
    from snntorch import Leaky
    from spikingjelly.activation_based import neuron, surrogate

    sj = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.Sigmoid(), step_mode="m")
    snn = Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero").to(device)

    def run_sj(x):
        sj.reset()
        return sj(x)

    def run_snntorch(x):
        mem = snn.init_leaky()
        out = []
        for xt in x.unbind(0):
            s, mem = snn(xt, mem)
            out.append(s)
        return torch.stack(out)

    return {
        "fnsnn (auto)": lambda x: fnsnn.lif_multi_step(x, tau=2.0)[0],
        "fnsnn (reference loop)": lambda x: fnsnn.lif_multi_step(x, tau=2.0, backend="torch")[0],
        _sj_label(device): run_sj,
        "snnTorch Leaky": run_snntorch,
        "plain PyTorch loop": plain_lif,
    }


def izhikevich_impls(device):
    from spikingjelly.activation_based import neuron, surrogate

    sj = neuron.IzhikevichNode(surrogate_function=surrogate.Sigmoid(), step_mode="m")

    def run_sj(x):
        sj.reset()
        return sj(x)

    return {
        "fnsnn (auto)": lambda x: fnsnn.izhikevich_multi_step(x)[0],
        "fnsnn (reference loop)": lambda x: fnsnn.izhikevich_multi_step(x, backend="torch")[0],
        _sj_label(device): run_sj,
    }


# --------------------------------------------------------------------------- #
# measurement
# --------------------------------------------------------------------------- #


def copy_bandwidth(device, nbytes=256 * 2**20, reps=5) -> float:
    """Bytes per second of a large copy (counting the read and the write)."""
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        dst.copy_(src)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * nbytes / best


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def saved_bytes(run, x) -> int:
    """Bytes autograd saves for backward, each storage counted once, the input ``x`` excluded."""
    seen = {x.untyped_storage().data_ptr()}
    total = [0]

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            total[0] += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = run(x)
    del out
    return total[0]


def time_once(run, x, grad_out) -> float:
    """Seconds of one call: forward only (``grad_out=None``, under ``no_grad``) or forward+backward."""
    device = x.device
    _sync(device)
    t0 = time.perf_counter()
    if grad_out is not None:
        run(x).backward(grad_out)
    else:
        with torch.no_grad():
            run(x)
    _sync(device)
    return time.perf_counter() - t0


def peak_bytes(run, x, grad_out) -> int:
    """Most bytes allocated at once during a forward+backward call, beyond what existed before it."""
    x.grad = None
    if x.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        time_once(run, x, grad_out)
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        time_once(run, x, grad_out)
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    if not events:
        raise RuntimeError("torch.profiler recorded no allocation events")
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()  # negative for a free
        peak = max(peak, live)
    return peak


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def memory_child(neuron: str, name: str, T: int, N: int) -> None:
    """Child process: peak, saved and peak-RSS-rise MiB of one implementation (printed on one line).

    Each implementation is measured in a fresh process so that no other implementation's freed
    blocks (which glibc keeps) sit in its address space. glibc's mmap threshold is fixed at 128 KiB,
    so that large blocks are mapped on allocation and unmapped on free and the resident size
    follows the live bytes (the profiler figure does not depend on this).
    """
    libc = ctypes.CDLL("libc.so.6")
    if not (libc.mallopt(-3, 128 * 1024) and libc.mallopt(-1, 128 * 1024)):  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        raise SystemExit("mallopt failed")
    run = (lif_impls if neuron == "lif" else izhikevich_impls)(torch.device("cpu"))[name]
    x = (torch.randn(T, N) * 1.5 + 0.5).requires_grad_()
    grad_out = torch.ones_like(x)
    for _ in range(2):  # warm-up: compiled code, thread pools, caches
        time_once(run, x, grad_out)
        x.grad = None
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current resident size
    base = _status_mib("VmRSS:")
    time_once(run, x, grad_out)
    rss = _status_mib("VmHWM:") - base
    x.grad = None
    peak = peak_bytes(run, x, grad_out) / 2**20
    x.grad = None
    saved = saved_bytes(run, x) / 2**20
    print(f"{peak:.3f} {saved:.3f} {rss:.3f}")


def memory(neuron: str, impls, T: int, N: int, threads: int, device) -> dict:
    """``name -> (peak, saved, RSS rise or None)`` in MiB: on the CPU from one child process per
    implementation (:func:`memory_child`), on CUDA in this process (no RSS figure)."""
    out = {}
    if device.type == "cuda":
        x = (torch.randn(T, N, device=device) * 1.5 + 0.5).requires_grad_()
        grad_out = torch.ones_like(x)
        for name, run in impls.items():
            time_once(run, x, grad_out)  # warm-up
            out[name] = (peak_bytes(run, x, grad_out) / 2**20, saved_bytes(run, x) / 2**20, None)
            x.grad = None
        return out
    for name in impls:
        cmd = [sys.executable, __file__, "--memory-child", neuron, name, str(T), str(N), "--threads", str(threads)]
        result = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[name] = tuple(float(v) for v in result.stdout.strip().splitlines()[-1].split())
    return out


def bench(title, impls, T, N, reps, device, bandwidth, state_words, mem):
    x = (torch.randn(T, N, device=device) * 1.5 + 0.5).requires_grad_()
    grad_out = torch.ones_like(x)
    elem = T * N * 4
    floor_fwd = 2 * elem / bandwidth                      # read x, write spikes
    # forward: read x, write spikes, save the state sequences; backward: read gS and them, write gX
    floor_train = 2 * (2 + state_words) * elem / bandwidth
    times = {name: {"fwd": [], "train": []} for name in impls}
    for name, run in impls.items():  # warm-up (fnsnn compiles its fused steps here)
        first = time_once(run, x, grad_out)
        time_once(run, x, None)
        x.grad = None
        if name == "fnsnn (auto)":
            print(f"\n{name}: first forward+backward (includes compiling the fused steps) {first:.1f} s")
    for _ in range(reps):
        for name, run in impls.items():
            times[name]["fwd"].append(time_once(run, x, None))
            times[name]["train"].append(time_once(run, x, grad_out))
            x.grad = None
    ref = next(n for n in impls if n.startswith("SpikingJelly"))
    percent = 100 * floor_fwd / statistics.median(times["fnsnn (auto)"]["fwd"])
    med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in times.items()}
    has_rss = all(m[2] is not None for m in mem.values())
    print(f"\n## {title}  T={T}  N={N}  ({reps} reps, median)")
    print(f"| implementation | forward ms | x floor | fwd+bwd ms | x floor | SJ/this fwd+bwd | peak MiB | "
          f"this/SJ peak | saved MiB{' | peak RSS rise MiB' if has_rss else ''} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if has_rss else ""))
    for name in impls:
        m, (peak, saved, rss) = med[name], mem[name]
        rss_cell = f" | {rss:.0f}" if has_rss else ""
        print(f"| {name} | {m['fwd'] * 1e3:.1f} | {m['fwd'] / floor_fwd:.1f} | {m['train'] * 1e3:.1f} | "
              f"{m['train'] / floor_train:.1f} | {med[ref]['train'] / m['train']:.2f} | {peak:.0f} | "
              f"{peak / max(mem[ref][0], 1e-9):.2f} | {saved:.0f}{rss_cell} |")
    print(f"fnsnn (auto) forward moves its bytes at {percent:.0f}% of the measured copy bandwidth.")
    sys.stdout.flush()


def _child_args(args) -> list:
    """The flags a per-configuration child process inherits."""
    out = ["--threads", str(args.threads), "--reps", str(args.reps), "--device", args.device, "--sj-cuda", args.sj_cuda]
    for flag in ("no_mmap", "no_reference_loop"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    return out


def run_config(args, neuron: str, T: int, N: int, bandwidth: float) -> None:
    device = torch.device(args.device)
    if neuron == "lif":
        impls = lif_impls(device)
        if args.no_reference_loop:
            del impls["fnsnn (reference loop)"]
        title, words = "LIF (tau=2, hard reset, Sigmoid surrogate)", 1
    else:
        impls, title, words = izhikevich_impls(device), "Izhikevich (two states)", 2
    mem = memory(neuron, impls, T, N, args.threads, device)
    bench(title, impls, T, N, args.reps, device, bandwidth, words, mem)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only T=64, N=256K (LIF) and a small Izhikevich run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-mmap", action="store_true",
                        help="glibc mallopt: serve large tensors from the reused heap (see the docstring)")
    parser.add_argument("--no-reference-loop", action="store_true", help="leave out fnsnn's (slow) reference loop")
    parser.add_argument("--sj-cuda", default="triton", choices=("auto", "cuda", "triton", "torch"),
                        help="SpikingJelly's CUDA implementation to compare with (default: its Triton backend)")
    parser.add_argument("--config", nargs=4, metavar=("NEURON", "T", "N", "BANDWIDTH"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=4, metavar=("NEURON", "NAME", "T", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        neuron, name, T, N = args.memory_child
        memory_child(neuron, name, int(T), int(N))
        return
    if args.no_mmap:
        libc = ctypes.CDLL("libc.so.6")
        if not (libc.mallopt(-4, 0) and libc.mallopt(-1, 2**31 - 1)):  # M_MMAP_MAX, M_TRIM_THRESHOLD
            raise SystemExit("mallopt failed")
    torch.manual_seed(0)
    device = torch.device(args.device)
    if device.type == "cuda":  # SpikingJelly reads its implementation choice when first imported
        for variable in _SJ_CUDA_VARIABLES:
            os.environ[variable] = args.sj_cuda
    if args.config:
        neuron, T, N, bandwidth = args.config
        run_config(args, neuron, int(T), int(N), float(bandwidth))
        return
    bandwidth = copy_bandwidth(device)
    print(f"# fnsnn neuron benchmark\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads, device {device}; copy bandwidth {bandwidth / 1e9:.1f} GB/s"
          f"{'; glibc mmap off (--no-mmap)' if args.no_mmap else ''}", flush=True)
    if args.quick:
        configs = [("lif", 64, 256 * 1024), ("izhikevich", 64, 64 * 1024)]
    else:
        configs = [("lif", T, N) for T in (8, 64, 256) for N in (64 * 1024, 1024 * 1024)]
        configs += [("izhikevich", 64, 64 * 1024), ("izhikevich", 64, 1024 * 1024)]
    if device.type == "cuda":
        configs.append(("lif", 64, 16 * 1024 * 1024))  # the bandwidth target: forward at T=64, N=16M
    for neuron, T, N in configs:  # one process per configuration, its implementations interleaved in it
        cmd = [sys.executable, __file__, "--config", neuron, str(T), str(N), repr(bandwidth), *_child_args(args)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
