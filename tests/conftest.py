"""Test configuration shared by the whole suite.

TRITON_INTERPRET must be set before any Triton kernel is defined (at import of
fnsnn.kernels), so it is set here, before the tests import fnsnn.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

torch.set_num_threads(2)

settings.register_profile(
    "fnsnn", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("fnsnn")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
