"""fnsnn end to end on scikit-learn's 8x8 digits (ships with the package; no download).

1. Trains a spiking conv net with surrogate gradients through the functional
   API: ``torch.func.grad`` of a loss written with ``fnsnn_nn.apply``.
2. Trains a ReLU ANN on the same data, converts it with ``bridge.Converter`` and
   reports the SNN's accuracy against T beside the ANN's.
3. Runs the trained SNN online, one time step at a time on explicit state,
   showing accuracy as evidence accumulates.
4. Writes a figure (spike raster, membrane traces, accuracy against T) and a
   text summary to ``--out``.

Run from the repository root:  python examples/digits_demo.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.func import grad  # noqa: E402

import bridge  # noqa: E402
import fnsnn_nn  # noqa: E402
from fnsnn_nn import functional, layer, neuron, surrogate  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Train, convert and stream spiking networks on the 8x8 digits data set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=12, help="training epochs of the spiking net and the ANN")
    p.add_argument("--T", type=int, default=6, help="time steps per example when training the spiking net")
    p.add_argument("--seed", type=int, default=0, help="seed of the data split, initialisation and batching")
    p.add_argument("--out", type=str, default="demo_out", help="folder for figure.png and summary.txt")
    p.add_argument("--convert-T", type=int, nargs="+", default=[8, 16, 32, 64],
                   help="time steps at which the converted SNN is evaluated")
    p.add_argument("--batch-size", type=int, default=64, help="mini-batch size")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


# -- data ---------------------------------------------------------------------------

def load_digits(seed: int, device):
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [1797, 1, 8, 8] in [0, 1]
    y = torch.tensor(data.target, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = len(x) // 5
    test, train = perm[:n_test], perm[n_test:]
    return (x[train].to(device), y[train].to(device)), (x[test].to(device), y[test].to(device))


def batches(x, y, batch_size, generator):
    order = torch.randperm(len(x), generator=generator).to(x.device)
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]


def progress(iterable, total, desc, quiet):
    if quiet:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, ncols=80)


# -- 1. a spiking conv net trained with torch.func.grad -------------------------------

def spiking_convnet() -> nn.Module:
    sg = surrogate.ATan()
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1),
        neuron.LIFNode(tau=2.0, surrogate_function=sg, detach_reset=True),
        layer.MaxPool2d(2),                       # 16 x 4 x 4
        layer.Conv2d(16, 32, 3, padding=1),
        neuron.LIFNode(tau=2.0, surrogate_function=sg, detach_reset=True),
        layer.MaxPool2d(2),                       # 32 x 2 x 2
        layer.Flatten(),
        layer.Linear(128, 10),                    # read out: the logits are averaged over time
    )
    functional.set_step_mode(net, "m")
    return net


INPUT_GAIN = 4.0


def encode(x, T):
    """Direct coding: the scaled image is the input current at every step, ``[T, N, 1, 8, 8]``."""
    return (x * INPUT_GAIN).unsqueeze(0).expand(T, *x.shape)


def train_snn(net, train, test, args, device):
    params = dict(net.named_parameters())
    opt = torch.optim.Adam(params.values(), lr=3e-3)
    gen = torch.Generator().manual_seed(args.seed)

    def loss_fn(p, x, y):
        logits, _ = fnsnn_nn.apply(net, encode(x, args.T), None, p)
        logits = logits.mean(0)
        return nn.functional.cross_entropy(logits, y), logits

    grad_fn = grad(loss_fn, has_aux=True)
    history = []
    n_batches = (len(train[0]) + args.batch_size - 1) // args.batch_size
    for epoch in range(1, args.epochs + 1):
        net.train()
        t0 = time.time()
        for x, y in progress(batches(*train, args.batch_size, gen), n_batches, f"snn epoch {epoch}", args.quiet):
            grads, _ = grad_fn({k: v.detach() for k, v in params.items()}, x, y)
            for k, p in params.items():
                p.grad = grads[k]
            opt.step()
        acc = evaluate_snn(net, test, args.T)
        history.append(acc)
        print(f"[snn] epoch {epoch:2d}/{args.epochs}  test accuracy {acc:6.2%}  ({time.time() - t0:.1f}s)")
    return history


@torch.no_grad()
def evaluate_snn(net, data, T):
    net.eval()
    x, y = data
    logits, _ = fnsnn_nn.apply(net, encode(x, T), None)
    return (logits.mean(0).argmax(1) == y).float().mean().item()


# -- 2. an ANN converted with bridge.Converter -----------------------------------------

def relu_ann() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def train_ann(ann, train, test, args):
    opt = torch.optim.Adam(ann.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(args.seed + 1)
    for epoch in range(1, args.epochs + 1):
        ann.train()
        for x, y in batches(*train, args.batch_size, gen):
            opt.zero_grad()
            nn.functional.cross_entropy(ann(x), y).backward()
            opt.step()
    ann.eval()
    with torch.no_grad():
        acc = (ann(test[0]).argmax(1) == test[1]).float().mean().item()
    print(f"[ann] {args.epochs} epochs  test accuracy {acc:6.2%}")
    return acc


@torch.no_grad()
def evaluate_converted(snn, data, T_list):
    """Accuracy of the converted SNN after each T in ``T_list`` (one run of max(T) steps)."""
    x, y = data
    functional.reset_net(snn)
    total, acc = 0.0, {}
    for t in range(1, max(T_list) + 1):
        total = total + snn(x)
        if t in T_list:
            acc[t] = (total.argmax(1) == y).float().mean().item()
    functional.reset_net(snn)
    return acc


# -- 3. online inference on explicit state ---------------------------------------------

@torch.no_grad()
def online_accuracy(net, data, T):
    """Feed one step at a time through ``fnsnn_nn.apply``; accuracy of the running sum of logits."""
    net.eval()
    functional.set_step_mode(net, "s")
    x, y = data
    state = fnsnn_nn.init_state(net, x)
    first, last = list(state)[0], list(state)[-1]
    # Record the first spiking layer's output for the figure (64 neurons of example 0).
    spikes = []
    hook = net.get_submodule(first).register_forward_hook(lambda m, i, o: spikes.append(o[0].flatten()[:64]))
    counts = torch.zeros(len(x), 10, device=x.device)
    acc, trace = [], {"v_last": []}
    try:
        for _ in range(T):
            out, state = fnsnn_nn.apply(net, encode(x, 1)[0], state)
            counts = counts + out
            acc.append((counts.argmax(1) == y).float().mean().item())
            trace["v_last"].append(state[last]["v"][0].flatten().clone())
    finally:
        hook.remove()
        functional.set_step_mode(net, "m")
    trace["spikes1"] = spikes
    return acc, trace


# -- 4. figure and summary -------------------------------------------------------------

def write_report(out: Path, summary: dict, trace, raster_seq):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    t_idx, n_idx = torch.nonzero(raster_seq.cpu(), as_tuple=True)
    ax.scatter(t_idx.numpy() + 1, n_idx.numpy(), s=12, marker="|", color="k")
    ax.set(title="spike raster: 64 first-layer neurons, one digit", xlabel="time step", ylabel="neuron")
    ax = axes[1]
    v = torch.stack(trace["v_last"]).cpu()
    busiest = v.amax(0).argsort(descending=True)[:5]  # the five neurons that come closest to threshold
    for k in busiest.tolist():
        ax.plot(range(1, len(v) + 1), v[:, k].numpy(), label=f"neuron {k}")
    ax.axhline(1.0, color="gray", ls="--", lw=0.8)
    ax.set(title="membrane, last spiking layer (online run)", xlabel="time step", ylabel="v")
    ax.legend(fontsize=7)
    ax = axes[2]
    conv = summary["converted_snn_accuracy"]
    ts = sorted(int(t) for t in conv)
    ax.plot(ts, [conv[str(t)] * 100 for t in ts], "o-", label="converted SNN")
    ax.axhline(summary["ann_accuracy"] * 100, color="C1", ls="--", label="ANN")
    online = summary["online_accuracy_by_step"]
    ax.plot(range(1, len(online) + 1), [a * 100 for a in online], ".-", label="trained SNN, online")
    ax.set(title="accuracy against time steps", xlabel="T", ylabel="test accuracy (%)", xscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=110)
    plt.close(fig)
    lines = [
        "fnsnn digits demo",
        f"seed {summary['seed']}, epochs {summary['epochs']}, training T {summary['T']}, device {summary['device']}",
        f"spiking conv net (torch.func.grad, surrogate gradients): test accuracy {summary['snn_accuracy']:.2%}",
        f"ReLU ANN: test accuracy {summary['ann_accuracy']:.2%}",
    ]
    lines += [f"converted SNN, T={t}: {conv[str(t)]:.2%}" for t in ts]
    lines += [f"online run, accuracy after step {i + 1}: {a:.2%}" for i, a in enumerate(online)]
    lines.append(f"elapsed {summary['seconds']:.1f}s")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def main(argv=None):
    args = parse_args(argv)
    if args.epochs < 1 or args.T < 1 or args.batch_size < 1 or min(args.convert_T) < 1:
        raise SystemExit("digits_demo: --epochs, --T, --batch-size and --convert-T must be positive")
    t_start = time.time()
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train, test = load_digits(args.seed, device)
    print(f"digits: {len(train[0])} train / {len(test[0])} test images, device {device}")

    net = spiking_convnet().to(device)
    history = train_snn(net, train, test, args, device)

    ann = relu_ann().to(device)
    ann_acc = train_ann(ann, train, test, args)
    calib = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train), batch_size=256)
    converter = bridge.Converter(calib, device=device, mode="99.9%")
    snn = converter.convert_to_spiking_neurons(ann)
    conv_acc = evaluate_converted(snn, test, args.convert_T)
    for t in args.convert_T:
        print(f"[convert] T={t:3d}  SNN accuracy {conv_acc[t]:6.2%}   (ANN {ann_acc:6.2%})")

    online, trace = online_accuracy(net, test, 2 * args.T)
    print("[online] accuracy after each step: " + "  ".join(f"{a:.1%}" for a in online))

    summary = {
        "seed": args.seed, "epochs": args.epochs, "T": args.T, "device": str(device),
        "snn_accuracy": history[-1], "snn_accuracy_by_epoch": history, "ann_accuracy": ann_acc,
        "converted_snn_accuracy": {str(t): a for t, a in conv_acc.items()},
        "online_accuracy_by_step": online, "seconds": time.time() - t_start,
    }
    out = Path(args.out)
    write_report(out, summary, trace, torch.stack(trace["spikes1"]))
    print(f"wrote {out / 'figure.png'} and {out / 'summary.txt'} in {summary['seconds']:.1f}s")
    return summary


if __name__ == "__main__":
    main()
