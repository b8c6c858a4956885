"""Triton kernels that scan neurons over time (forward and backward), one launch per direction.

Importing this package needs Triton. The neuron families reach these kernels
through their ``backend`` argument; on CPU tensors they run only under
``TRITON_INTERPRET=1`` (set before the import).
"""

from ._surrogate import surrogate_code, surrogate_unsupported
from .charge import (
    charge_scan_bwd,
    charge_scan_fwd,
    clif_scan,
    clif_unsupported,
    cuba_lif_scan,
    cuba_lif_unsupported,
    eif_scan,
    eif_unsupported,
    izhikevich_scan,
    izhikevich_unsupported,
    klif_scan,
    klif_unsupported,
    qif_scan,
    qif_unsupported,
)
from .leaky import if_scan, leaky_scan_bwd, leaky_scan_fwd, lif_scan, plif_scan, unsupported

__all__ = ["surrogate_code", "surrogate_unsupported", "if_scan", "lif_scan", "plif_scan",
           "leaky_scan_fwd", "leaky_scan_bwd", "unsupported", "qif_scan", "eif_scan", "klif_scan",
           "cuba_lif_scan", "qif_unsupported", "eif_unsupported", "klif_unsupported", "cuba_lif_unsupported",
           "izhikevich_scan", "clif_scan", "izhikevich_unsupported", "clif_unsupported",
           "charge_scan_fwd", "charge_scan_bwd"]
