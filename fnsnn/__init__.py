"""fnsnn: spiking neural networks as pure functions over explicit state.

Every neuron is a pair ``<name>_step(x, state, **config) -> (y, new_state)``
and ``<name>_multi_step(x_seq, state, **config) -> (y_seq, final_state)`` over
time-major ``[T, N, *]`` inputs. States are NamedTuples of tensors, so
``optree`` and ``torch.func`` handle them directly. Library notices go to the
standard logger ``logging.getLogger("fnsnn")``.
"""

from . import _logging  # noqa: F401  (installs a NullHandler on the "fnsnn" logger)
from . import surrogate
from . import synapses
from .neurons import *  # noqa: F401,F403
from .scan import scan
from .neurons._engine import last_backend
from . import td  # noqa: E402
from . import attention  # noqa: E402
from . import encoding  # noqa: E402
from . import plasticity  # noqa: E402
from . import spike_packing  # noqa: E402

__version__ = "0.1.0"
