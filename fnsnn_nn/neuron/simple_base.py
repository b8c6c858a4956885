"""SimpleBaseNode: SpikingJelly's teaching interface, charge / fire / reset as overridable methods.

A subclass writes its charge equation in :meth:`SimpleBaseNode.neuronal_charge` on ``self.v`` (as in
SpikingJelly); firing and resetting call the core functions :func:`fnsnn.fire` and
:func:`fnsnn.reset`. The state is the memory ``v`` (rest 0, whatever ``v_reset``), so the explicit-state
door (``fnsnn_nn.apply``, ``base.to_functional_forward``) runs such neurons under ``torch.func`` too.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from fnsnn.neurons._base import check_firing, fire, reset

from ..base import MemoryModule
from ._base import default_surrogate


class SimpleBaseNode(MemoryModule):
    """Spiking neuron whose dynamics are three methods; subclasses define :meth:`neuronal_charge`.

    Args:
        v_threshold: firing threshold.
        v_reset: hard-reset potential; ``None`` is soft reset (``v`` rests at 0 in both cases).
        surrogate_function: spike function with a surrogate gradient (default Sigmoid).
        detach_reset: stop gradients through the reset.
        step_mode: ``'s'`` or ``'m'`` (a loop of single steps).
    """

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Optional[Callable] = None, detach_reset: bool = False, step_mode: str = "s"):
        super().__init__()
        if surrogate_function is None:
            surrogate_function = default_surrogate()
        check_firing(type(self).__name__, v_threshold, v_reset, detach_reset, surrogate_function)
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.detach_reset = detach_reset
        self.surrogate_function = surrogate_function
        self.step_mode = step_mode
        self.register_memory("v", 0.0)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """Update ``self.v`` with one input step (e.g. ``self.v = self.v + x``)."""
        raise NotImplementedError(f"{type(self).__name__}.neuronal_charge: a SimpleBaseNode subclass defines its "
                                  f"charge on self.v, e.g. `self.v = self.v + x`.")

    def neuronal_fire(self) -> torch.Tensor:
        """Spikes of the charged ``self.v``; see :func:`fnsnn.fire`."""
        return fire(self.v, self.v_threshold, self.surrogate_function)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """Hard or soft reset of ``self.v`` by ``spike``; see :func:`fnsnn.reset`."""
        self.v = reset(self.v, spike, self.v_threshold, self.v_reset, self.detach_reset)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a tensor, got {type(x).__name__}.")
        if isinstance(self.v, torch.Tensor):
            self.check_memory("v", self.v, x)
        else:
            self.v = torch.full_like(x, float(self.v))
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}")
