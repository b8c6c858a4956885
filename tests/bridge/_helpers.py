"""Helpers of the bridge tests: small digit classifiers, training, ANN and SNN accuracy."""

import torch
import torch.nn as nn

from fnsnn_nn.functional import reset_net

T_STEPS = 64


def batches(x, y, size=200):
    """A list of (input, label) batches, the shape the Converter's dataloader yields."""
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def make_mlp():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 10))


def make_cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(128, 10),
    )


def train(net, x, y, epochs=15, seed=0):
    """Adam on cross-entropy, mini-batches of 100; returns ``net`` in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 100):
            idx = order[i:i + 100]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def accuracy(net, x, y):
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


def snn_accuracy(snn, x, y, steps=T_STEPS):
    """Accuracy of the summed output of ``steps`` single-step calls on the same (analog) input."""
    reset_net(snn)
    with torch.no_grad():
        out = sum(snn(x) for _ in range(steps))
    reset_net(snn)
    return (out.argmax(1) == y).float().mean().item()
