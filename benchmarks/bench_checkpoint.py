"""Memory saved by fnsnn_nn.checkpoint on a multi-step spiking MLP (T=64 by default).

Each configuration runs forward+backward once (after a small warm-up) in a
fresh child process, which reports
- the peak of live tensor memory during the pass, from torch.profiler's
  allocation and free events (measured);
- the rise of the process's peak resident memory (``ru_maxrss`` after the pass
  minus before it), with glibc's mmap threshold fixed at 64 KiB so that freed
  activations go back to the system instead of staying in the heap;
- the bytes autograd kept for backward when the forward pass ended (counted
  through saved-tensor hooks), and the wall time.
The parent prints one table with each run's largest gradient difference from
the plain run, relative to the gradient's largest entry. ``chunk=k`` splits the
time axis, so the Linear layers multiply other matrix shapes: its gradients
equal plain calls on the same chunks bit for bit (tests/fnsnn_nn/test_checkpoint_grad.py)
and the whole-sequence call to float rounding. torch.utils.checkpoint is shown
for contrast: it recomputes from the final state and its gradients are wrong.

    python benchmarks/bench_checkpoint.py [--T 64] [--N 32] [--width 1024] [--layers 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

CONFIGS = ["plain", "checkpoint", "checkpoint chunk=16", "checkpoint chunk=8", "checkpoint chunk=4",
           "torch.utils.checkpoint (wrong)"]


def _child(args) -> None:
    import torch
    import torch.nn as nn
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    import fnsnn_nn
    from fnsnn_nn import functional, layer, neuron

    torch.set_num_threads(1)
    torch.manual_seed(0)
    mods = []
    width_in = args.width
    for _ in range(args.layers):
        mods += [layer.Linear(width_in, args.width), neuron.LIFNode(tau=2.0)]
    net = nn.Sequential(*mods)
    functional.set_step_mode(net, "m")
    x = (torch.rand(args.T, args.N, args.width) < 0.3).float().requires_grad_(True)

    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    def run():
        if args.config == "plain":
            return net(x)
        if args.config == "checkpoint":
            return fnsnn_nn.checkpoint(net, x)
        if args.config.startswith("checkpoint chunk="):
            return fnsnn_nn.checkpoint(net, x, chunk=int(args.config.split("=")[1]))
        return torch_checkpoint(net, x, use_reentrant=False, determinism_check="none")

    # warm-up on two steps (first-call costs of autograd and checkpoint), then the measured pass
    warm = x[:2].detach().requires_grad_(True)
    fnsnn_nn.checkpoint(net, warm).sum().backward() if args.config != "plain" else net(warm).sum().backward()
    functional.reset_net(net)
    net.zero_grad()

    def measured():
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = run()
        kept = sum(saved.values())
        y.sum().backward()
        return kept

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    kept = measured()
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grads = [p.grad.clone() for p in net.parameters()] + [x.grad.clone()]
    # the same pass again under the profiler, for the live-tensor peak
    functional.reset_net(net)
    net.zero_grad()
    x.grad = None
    saved.clear()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        measured()
    from torch._C._profiler import _EventType  # the allocation events of the profiler's event tree

    events = []

    def walk(e):
        if e.tag == _EventType.Allocation:
            events.append((e.start_time_ns, e.extra_fields.alloc_size))
        for child in e.children:
            walk(child)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root)
    live = top = 0
    for _, delta in sorted(events):
        live += delta
        top = max(top, live)
    torch.save(grads, args.grads)
    print(json.dumps({"rss_rise_kib": peak - before, "kept_bytes": kept, "seconds": elapsed, "live_peak": top}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=64)
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--child", dest="config", default=None)
    ap.add_argument("--grads", default=None)
    args = ap.parse_args()
    if args.config is not None:
        _child(args)
        return
    import torch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(CONFIGS):
            grads = os.path.join(tmp, f"g{i}.pt")
            cmd = [sys.executable, __file__, "--child", config, "--grads", grads, "--T", str(args.T),
                   "--N", str(args.N), "--width", str(args.width), "--layers", str(args.layers)]
            env = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="65536")
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            rows.append((config, json.loads(out.strip().splitlines()[-1]), torch.load(grads)))
    base = rows[0][1]
    print(f"fnsnn_nn.checkpoint, {args.layers}-layer spiking MLP (Linear {args.width} + LIFNode, backend='torch'), "
          f"T={args.T}, N={args.N}, float32, forward+backward, one fresh process per row")
    print(f"| {'configuration':<31} | {'peak live tensors (MiB)':>23} | {'saved vs plain':>14} "
          f"| {'peak RSS rise (MiB)':>19} | {'kept for backward (MiB)':>23} | {'time (s)':>8} "
          f"| {'max rel. grad diff':>18} |")
    print(f"|{'-' * 33}|{'-' * 25}|{'-' * 16}|{'-' * 21}|{'-' * 25}|{'-' * 10}|{'-' * 20}|")
    for config, r, g in rows:
        diff = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(g, rows[0][2]))
        saved = 100.0 * (1 - r["live_peak"] / base["live_peak"])
        print(f"| {config:<31} | {r['live_peak'] / 2**20:>23.1f} | {saved:>13.1f}% "
              f"| {r['rss_rise_kib'] / 1024:>19.1f} | {r['kept_bytes'] / 2**20:>23.1f} | {r['seconds']:>8.2f} "
              f"| {diff:>18.1e} |")


if __name__ == "__main__":
    main()
