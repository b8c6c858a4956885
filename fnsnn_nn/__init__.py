"""fnsnn_nn: stateful nn.Module shells with SpikingJelly's names over the pure fnsnn core.

Port SpikingJelly code by changing ``spikingjelly.activation_based`` to
``fnsnn_nn``; use :func:`init_state` and :func:`apply` to run a whole network
on explicit state.
"""

from . import base, functional, neuron, surrogate
from . import td  # noqa: E402
from ._state import apply, init_state, memory_modules
from ._checkpoint import checkpoint
from ._explicit import flat_from_state, state_from_flat
from ._export import export, export_onnx, state_names

__all__ = ["base", "functional", "neuron", "surrogate", "layer", "td", "nir", "encoding", "monitor", "init_state",
           "apply", "memory_modules", "export", "export_onnx", "state_names", "checkpoint", "state_from_flat",
           "flat_from_state"]


def __getattr__(name):
    # layer imports neuron and functional (encoding imports layer); load them on first use.
    if name in ("layer", "nir", "encoding", "monitor"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fnsnn_nn' has no attribute {name!r}")
