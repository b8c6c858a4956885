"""Shared fixtures of the bridge tests: scikit-learn's digits and two small networks trained on them.

The digits (1797 8x8 images) ship with scikit-learn, so nothing is downloaded;
each network trains in about a second on two CPU cores.
"""

import pytest
import torch
from sklearn.datasets import load_digits

from tests.bridge._helpers import make_cnn, make_mlp, train


@pytest.fixture(scope="session")
def digits():
    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.tensor(data.target)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    tr, te = perm[:1400], perm[1400:]
    return x[tr], y[tr], x[te], y[te]


@pytest.fixture(scope="session")
def trained_mlp(digits):
    torch.manual_seed(1)
    x, y, _, _ = digits
    return train(make_mlp(), x, y)


@pytest.fixture(scope="session")
def trained_cnn(digits):
    torch.manual_seed(2)
    x, y, _, _ = digits
    return train(make_cnn(), x, y)
