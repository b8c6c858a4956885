"""Peak memory and time of a LIF neuron followed by a Linear layer: fused ``lif_linear`` against the pair.

``fnsnn.lif_linear`` keeps no spikes for the backward (it recomputes them, see
``fnsnn/neurons/neuron_linear.py``); the unfused pair ``LIFNode(step_mode='m')``
then ``layer.Linear`` keeps the spike sequence for the Linear's weight gradient
and the neuron's own saved tensors. Figures per implementation, one
forward+backward call on ``x`` ``[T, M, K]`` float32 with a random output
gradient:

- peak MiB: most bytes allocated at once during the call beyond what existed
  before it (CUDA: ``torch.cuda.max_memory_allocated``; CPU: ``torch.profiler``
  allocation events), via :func:`bench_neurons.peak_bytes`;
- saved MiB: tensors autograd keeps for backward (``x`` excluded);
- fwd+bwd ms: median of ``--reps`` calls.

Run: ``PYTHONPATH=. python benchmarks/bench_lif_linear.py [--T 64 --M 256 --K 512 --N 512]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_neurons import peak_bytes, saved_bytes  # noqa: E402

import fnsnn  # noqa: E402
from fnsnn_nn import layer, neuron  # noqa: E402


def impls(K: int, N: int, device):
    torch.manual_seed(0)
    lin = layer.Linear(K, N, step_mode="m").to(device)
    w_t, b = lin.weight.detach().t().contiguous().requires_grad_(True), lin.bias.detach().clone().requires_grad_(True)

    def pair(backend):
        node = neuron.LIFNode(tau=2.0, step_mode="m", backend=backend)

        def run(x):
            node.reset()
            return lin(node(x))
        return run

    def fused(x):
        v0 = x.new_zeros(x.shape[1:])
        return fnsnn.lif_linear(x, v0, w_t, b, tau=2.0)[0]

    out = {"fnsnn.lif_linear": fused, "LIFNode(backend='torch') + Linear": pair("torch"),
           "LIFNode(backend='auto') + Linear": pair("auto")}
    try:
        from spikingjelly.activation_based import layer as sl, neuron as sn

        sj_lin = sl.Linear(K, N, step_mode="m").to(device)
        sj_lin.load_state_dict(lin.state_dict())
        sj_node = sn.LIFNode(tau=2.0, step_mode="m")

        def run_sj(x):
            sj_node.reset()
            return sj_lin(sj_node(x))
        out["SpikingJelly 2.0.0 LIFNode + Linear"] = run_sj
    except ImportError:
        pass
    return out


def measure(T: int, M: int, K: int, N: int, reps: int, device) -> list:
    rows = []
    x = (torch.randn(T, M, K, device=device) * 2).requires_grad_(True)
    g = torch.randn(T, M, N, device=device)
    for name, run in impls(K, N, device).items():
        run(x).backward(g)  # warm-up (compiles the fast scan where it is used)
        peak = peak_bytes(run, x, g)
        saved = saved_bytes(run, x)
        times = []
        for _ in range(reps):
            x.grad = None
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            run(x).backward(g)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        rows.append((name, peak / 2**20, saved / 2**20, 1e3 * statistics.median(times)))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, default=64)
    p.add_argument("--M", type=int, default=256)
    p.add_argument("--K", type=int, default=512)
    p.add_argument("--N", type=int, default=512)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    rows = measure(args.T, args.M, args.K, args.N, args.reps, device)
    spikes = args.T * args.M * args.K * 4 / 2**20
    print(f"LIF(tau=2) -> Linear({args.K}, {args.N}); x [T={args.T}, M={args.M}, K={args.K}] float32 on {device}, "
          f"torch {torch.__version__}; one spike sequence = {spikes:.0f} MiB")
    print("| implementation | peak MiB | saved MiB | fwd+bwd ms |")
    print("|---|---:|---:|---:|")
    for name, peak, saved, ms in rows:
        print(f"| {name} | {peak:.0f} | {saved:.0f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
