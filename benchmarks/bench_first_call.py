"""The first call of a ported network: a spiking ResNet-18 built from fnsnn_nn layers, default arguments.

Run from the repository root::

    python benchmarks/bench_first_call.py            # T=16, N=4, 3x64x64, IF neurons, ATan surrogate

Each measurement runs in a fresh process. The first uses an empty compiled-code cache
(``FNSNN_CACHE_DIR`` pointed at a new folder: "cold"), the second the cache the first one left
("warm"). Each process builds the network as SpikingJelly code would (``functional.set_step_mode(net,
"m")``, no backend argument), times its first forward+backward, then three more (the steady state),
and reports which backend every neuron module ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn


def basic_block(cin, cout, stride, layer, neuron, surrogate):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = layer.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = layer.BatchNorm2d(cout)
            self.sn1 = neuron.IFNode(surrogate_function=surrogate.ATan(), detach_reset=True)
            self.conv2 = layer.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = layer.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(layer.Conv2d(cin, cout, 1, stride, bias=False), layer.BatchNorm2d(cout))
            self.sn2 = neuron.IFNode(surrogate_function=surrogate.ATan(), detach_reset=True)

        def forward(self, x):
            out = self.bn2(self.conv2(self.sn1(self.bn1(self.conv1(x)))))
            return self.sn2(out + (x if self.down is None else self.down(x)))

    return Block()


def spiking_resnet18(num_classes=10):
    from fnsnn_nn import functional, layer, neuron, surrogate

    blocks = [layer.Conv2d(3, 64, 7, 2, 3, bias=False), layer.BatchNorm2d(64),
              neuron.IFNode(surrogate_function=surrogate.ATan(), detach_reset=True), layer.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        blocks += [basic_block(cin, cout, stride, layer, neuron, surrogate),
                   basic_block(cout, cout, 1, layer, neuron, surrogate)]
        cin = cout
    blocks += [layer.AdaptiveAvgPool2d((1, 1)), layer.Flatten(), layer.Linear(512, num_classes)]
    net = nn.Sequential(*blocks)
    functional.set_step_mode(net, "m")
    return net


def child(T: int, N: int, size: int) -> None:
    from fnsnn_nn import functional

    torch.manual_seed(0)
    started = time.perf_counter()
    net = spiking_resnet18()
    x = torch.rand(T, N, 3, size, size)
    times = []
    for _ in range(4):
        functional.reset_net(net)
        t0 = time.perf_counter()
        out = net(x).mean(0)
        out.sum().backward()
        times.append(time.perf_counter() - t0)
    backends = {}
    for name, module in net.named_modules():
        if hasattr(module, "last_backend"):
            backends[str(module.last_backend)] = backends.get(str(module.last_backend), 0) + 1
    print(json.dumps(dict(first=times[0], steady=statistics.median(times[1:]), backends=backends,
                          build=started)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=16)
    parser.add_argument("--N", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        child(args.T, args.N, args.size)
        return
    cache = tempfile.mkdtemp(prefix="fnsnn-cache-")
    env = dict(os.environ, FNSNN_CACHE_DIR=cache)
    print(f"# Spiking ResNet-18 (fnsnn_nn layers, IFNode with ATan, default backend), T={args.T}, N={args.N}, "
          f"3x{args.size}x{args.size}, {args.threads} threads, torch {torch.__version__}")
    print("| process | first forward+backward s | steady s | first/steady | neuron backends |")
    print("|---|---:|---:|---:|---|")
    for label in ("fresh process, cold cache", "fresh process, warm cache"):
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", "--T", str(args.T), "--N", str(args.N), "--size",
               str(args.size), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {label} | {r['first']:.2f} | {r['steady']:.2f} | {r['first'] / r['steady']:.2f} | "
              f"{', '.join(f'{k}: {v}' for k, v in r['backends'].items())} |", flush=True)
        del t0


if __name__ == "__main__":
    main()
