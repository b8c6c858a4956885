"""Time and memory of multi-step neurons: fnsnn against SpikingJelly 2.0.0, snnTorch and a plain loop.

Run from the repository root::

    python benchmarks/bench_neurons.py --quick          # T=64, N=256K only
    python benchmarks/bench_neurons.py                  # T in {8, 64, 256} x N in {64K, 1M}

All implementations run in one process, interleaved (rep by rep), and the
median of ``--reps`` runs is reported. Times are also given as a multiple of the
memory-bandwidth floor: the bytes the scan must move (read ``x``, write the
spikes, save for backward what is needed, then read that and the incoming
gradient and write the input gradient), divided by the copy bandwidth measured
here by a large ``Tensor.copy_``.

Memory: ``saved MiB`` is the size of the tensors autograd keeps between the
forward and the backward pass, counted with
``torch.autograd.graph.saved_tensors_hooks`` (each storage once, leaving out the
input ``x`` itself). tracemalloc does not see torch's CPU allocations, and RSS
deltas in one process are blurred by the allocator's reuse, so this count is the
comparable figure; it is the memory a training step holds per layer.
SpikingJelly 2.0.0 picks its own multi-step implementation (no backend
argument). fnsnn's CPU fast path compiles its fused steps with ``torch.compile``
on first use; that one-time cost is printed apart ("first call") and left out
of the timings (every implementation gets a warm-up run).

``--no-mmap`` sets glibc's ``M_MMAP_MAX=0`` and a high ``M_TRIM_THRESHOLD``
(``mallopt``) before anything is allocated, so that large tensors come from the
heap and are reused instead of being mapped afresh (and page-faulted in) on
every call. It applies to every implementation in the process alike; on this
kind of machine page faults of fresh ``[T, N]`` buffers cost about as much as
the arithmetic. On CUDA fnsnn's Triton kernels run and ``torch.cuda.max_memory_allocated``
gives the peak instead.
"""

from __future__ import annotations

import argparse
import ctypes
import platform
import statistics
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


def lif_impls(device):
    from snntorch import Leaky
    from spikingjelly.activation_based import neuron, surrogate

    sj = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.Sigmoid(), step_mode="m")
    snn = Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero")

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
        "SpikingJelly 2.0.0": run_sj,
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
        "SpikingJelly 2.0.0": run_sj,
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


def time_once(run, x, backward: bool) -> float:
    device = x.device
    _sync(device)
    t0 = time.perf_counter()
    if backward:
        out = run(x)
        out.backward(torch.ones_like(out))
    else:
        with torch.no_grad():
            run(x)
    _sync(device)
    return time.perf_counter() - t0


def bench(title, impls, T, N, reps, device, bandwidth, state_words):
    x = (torch.randn(T, N, device=device) * 1.5 + 0.5).requires_grad_()
    elem = T * N * 4
    floor_fwd = 2 * elem / bandwidth                      # read x, write spikes
    # forward: read x, write spikes, save the state sequences; backward: read gS and them, write gX
    floor_train = 2 * (2 + state_words) * elem / bandwidth
    times = {name: {"fwd": [], "train": []} for name in impls}
    for name, run in impls.items():  # warm-up (fnsnn compiles its fused steps here)
        first = time_once(run, x, True)
        time_once(run, x, False)
        x.grad = None
        if name == "fnsnn (auto)":
            print(f"\n{name}: first forward+backward (includes compiling the fused steps) {first:.1f} s")
    for _ in range(reps):
        for name, run in impls.items():
            times[name]["fwd"].append(time_once(run, x, False))
            times[name]["train"].append(time_once(run, x, True))
            x.grad = None
    memory = {}
    for name, run in impls.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            time_once(run, x, True)
            memory[name] = (torch.cuda.max_memory_allocated() - base) / 2**20
        else:
            memory[name] = saved_bytes(run, x) / 2**20
        x.grad = None
    ref = next(n for n in impls if n.startswith("SpikingJelly"))
    med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in times.items()}
    mem_label = "peak MiB" if device.type == "cuda" else "saved MiB"
    print(f"\n## {title}  T={T}  N={N}  ({reps} reps, median)")
    print(f"| implementation | forward ms | x floor | fwd+bwd ms | x floor | SJ/this fwd+bwd | {mem_label} | "
          f"this/SJ memory |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in impls:
        m = med[name]
        print(f"| {name} | {m['fwd'] * 1e3:.1f} | {m['fwd'] / floor_fwd:.1f} | {m['train'] * 1e3:.1f} | "
              f"{m['train'] / floor_train:.1f} | {med[ref]['train'] / m['train']:.2f} | {memory[name]:.0f} | "
              f"{memory[name] / max(memory[ref], 1e-9):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only T=64, N=256K (LIF) and a small Izhikevich run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-mmap", action="store_true",
                        help="glibc mallopt: serve large tensors from the reused heap (see the docstring)")
    parser.add_argument("--no-reference-loop", action="store_true", help="leave out fnsnn's (slow) reference loop")
    args = parser.parse_args()
    if args.no_mmap:
        libc = ctypes.CDLL("libc.so.6")
        if not (libc.mallopt(-4, 0) and libc.mallopt(-1, 2**31 - 1)):  # M_MMAP_MAX, M_TRIM_THRESHOLD
            raise SystemExit("mallopt failed")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    bandwidth = copy_bandwidth(device)
    print(f"# fnsnn neuron benchmark\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads, device {device}; copy bandwidth {bandwidth / 1e9:.1f} GB/s"
          f"{'; glibc mmap off (--no-mmap)' if args.no_mmap else ''}")
    if args.quick:
        grid = [(64, 256 * 1024)]
        izh = [(64, 64 * 1024)]
    else:
        grid = [(T, N) for T in (8, 64, 256) for N in (64 * 1024, 1024 * 1024)]
        izh = [(64, 64 * 1024), (64, 1024 * 1024)]
    for T, N in grid:
        impls = lif_impls(device)
        if args.no_reference_loop:
            del impls["fnsnn (reference loop)"]
        bench("LIF (tau=2, hard reset, Sigmoid surrogate)", impls, T, N, args.reps, device, bandwidth, 1)
    for T, N in izh:
        bench("Izhikevich (two states)", izhikevich_impls(device), T, N, args.reps, device, bandwidth, 2)


if __name__ == "__main__":
    main()
