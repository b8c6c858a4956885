"""vmap over 8 time constants against one call on 8x the data (LIF, CPU, interleaved in one process).

A real batching rule makes ``vmap(lif over tau)`` cost about one call on 8x the
elements; the per-sample fallback would cost 8 separate calls. Forward alone and
forward+backward (gradient to the time constants, taken outside ``vmap``) are
timed. The script also fails if any vmap fallback warning is raised.

Usage: PYTHONPATH=. python benchmarks/bench_vmap.py [--T 64] [--N 32768] [--reps 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch.func import vmap

import fnsnn


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, default=64)
    p.add_argument("--N", type=int, default=32768)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.T, args.N)
    x8 = torch.randn(args.T, 8 * args.N)
    taus = torch.linspace(1.5, 8.0, 8)
    print(f"LIF, T={args.T}, N={args.N} per tau, 8 taus, {args.threads} threads, median of {args.reps}")
    print("| backend | pass | vmap over 8 taus (ms) | one call on 8x data (ms) | ratio |")
    print("|---|---|---:|---:|---:|")
    for backend in ("torch", "auto"):
        for train in (False, True):
            def batched():
                t = taus.detach().requires_grad_(train)
                s = vmap(lambda tau: fnsnn.lif_multi_step(x, tau=tau, backend=backend)[0])(t)
                if train:
                    s.backward(torch.ones_like(s))

            def single():
                t = torch.tensor(2.0, requires_grad=train)
                s = fnsnn.lif_multi_step(x8, tau=t, backend=backend)[0]
                if train:
                    s.backward(torch.ones_like(s))

            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                batched(), single()  # warm up (and compile, where the backend compiles)
                tb, ts = [], []
                for _ in range(args.reps):
                    tb.append(timed(batched))
                    ts.append(timed(single))
            mb, ms = statistics.median(tb) * 1e3, statistics.median(ts) * 1e3
            label = "forward+backward" if train else "forward"
            print(f"| {backend} | {label} | {mb:.1f} | {ms:.1f} | {mb / ms:.2f} |")

if __name__ == "__main__":
    main()
