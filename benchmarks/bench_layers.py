"""Folded multi-step call vs per-step loop for the step-mode wrappers (Conv2d, BatchNorm2d, Linear) at T=16.

Both variants run in one process, interleaved round by round, so machine load affects them alike.
Usage: python benchmarks/bench_layers.py [--rounds 5] [--batch 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from fnsnn_nn import layer  # noqa: E402


def _cases(batch: int):
    return {
        "Conv2d": (lambda: layer.Conv2d(16, 32, 3, padding=1), (batch, 16, 32, 32)),
        "BatchNorm2d": (lambda: layer.BatchNorm2d(32).eval(), (batch, 32, 32, 32)),
        "Linear": (lambda: layer.Linear(512, 512), (batch, 512)),
    }


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device, reps: int) -> float:
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, T={args.T}, "
          f"batch={args.batch}, rounds={args.rounds} x {args.reps} reps (median of rounds)")
    print(f"{'layer':<12} {'folded (ms)':>12} {'loop (ms)':>10} {'loop/folded':>12}")
    for name, (make, shape) in _cases(args.batch).items():
        m = make().to(device)
        x_seq = torch.randn(args.T, *shape, device=device)

        def folded():
            m.step_mode = "m"
            return m(x_seq)

        def loop():
            m.step_mode = "s"
            return torch.stack([m(x) for x in x_seq.unbind(0)])

        with torch.no_grad():
            torch.testing.assert_close(folded(), loop(), rtol=1e-4, atol=1e-4)
            folded(), loop()  # warm-up
            tf, tl = [], []
            for _ in range(args.rounds):
                tf.append(_time(folded, device, args.reps))
                tl.append(_time(loop, device, args.reps))
        f, lo = statistics.median(tf) * 1e3, statistics.median(tl) * 1e3
        print(f"{name:<12} {f:>12.3f} {lo:>10.3f} {lo / f:>11.2f}x")


if __name__ == "__main__":
    main()
