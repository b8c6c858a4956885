"""Layers with SpikingJelly's names: step-mode wrappers, containers, synapses and SNN-specific layers.

Stateless wrappers run in ``'s'`` mode as their torch layer and fold time into
the batch in ``'m'`` mode; stateful layers are thin shells over the pure
functions of :mod:`fnsnn.synapses`.
"""

from ._wrappers import Flatten, Linear
