"""Containers that set how their children see time, and recurrent wrappers."""

from __future__ import annotations

from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

from fnsnn._checks import check_bool, check_callable

from ..base import MemoryModule, MultiStepModule, StepModule
from ..functional import multi_step_forward, seq_to_ann_forward
from ._common import step_input


def _check_single_step(owner: str, modules) -> None:
    for m in modules:
        mode = getattr(m, "step_mode", "s")
        if mode != "s":
            raise ValueError(f"{owner}: the contained {type(m).__name__} has step_mode={mode!r}; modules inside "
                             f"{owner} must be in single-step mode 's' (the container handles time).")


class MultiStepContainer(nn.Sequential, MultiStepModule):
    """Run single-step children one time step at a time over ``[T, N, *]`` and stack the outputs."""

    def __init__(self, *args):
        super().__init__(*args)
        _check_single_step("MultiStepContainer", self)
        self.step_mode = "m"

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return multi_step_forward(x_seq, lambda x: nn.Sequential.forward(self, x))


class SeqToANNContainer(nn.Sequential, MultiStepModule):
    """Run stateless children once on ``[T*N, *]`` (time folded into the batch) and unfold the output."""

    def __init__(self, *args):
        super().__init__(*args)
        _check_single_step("SeqToANNContainer", self)
        self.step_mode = "m"

    def forward(self, x_seq: torch.Tensor):
        return seq_to_ann_forward(x_seq, lambda x: nn.Sequential.forward(self, x))


class StepModeContainer(nn.Sequential, StepModule):
    """Give single-step children a step mode: ``'m'`` loops time (``stateful``) or folds it into the batch.

    Two call forms are accepted: the seed's ``StepModeContainer(stateful, *modules)``
    (step mode ``'s'``) and SpikingJelly 2.0.0's ``StepModeContainer(stateful, step_mode, *modules)``;
    ``step_mode`` may also be given by keyword.

    Args:
        stateful: True if a child keeps state across steps (loop), False to fold ``[T, N]`` into one batch.
        *args: an optional step mode (``'s'`` or ``'m'``) followed by the child modules, in single-step mode.
        step_mode: ``'s'`` or ``'m'`` (keyword form); default ``'s'``.
    """

    def __init__(self, stateful: bool, *args, step_mode: Optional[str] = None):
        check_bool("StepModeContainer", "stateful", stateful)
        if args and isinstance(args[0], str):
            if step_mode is not None:
                raise TypeError(f"StepModeContainer: the step mode was given twice, as the second positional "
                                f"argument {args[0]!r} and as step_mode={step_mode!r}; give it once.")
            step_mode, args = args[0], args[1:]
            if step_mode not in ("s", "m"):
                raise ValueError(f"StepModeContainer: the second positional argument {step_mode!r} is neither a "
                                 f"step mode ('s' or 'm') nor a module; call StepModeContainer(stateful, *modules) "
                                 f"or StepModeContainer(stateful, step_mode, *modules).")
        for i, m in enumerate(args):
            if isinstance(m, str):
                raise TypeError(f"StepModeContainer: argument {i + 2} is the string {m!r} after the modules began; "
                                f"the step mode can only come right after `stateful` (or as step_mode=...).")
        super().__init__(*args)
        _check_single_step("StepModeContainer", self)
        self.stateful = stateful
        self.step_mode = "s" if step_mode is None else step_mode

    def forward(self, x: torch.Tensor):
        run = lambda z: nn.Sequential.forward(self, z)  # noqa: E731
        if self.step_mode == "s":
            return run(x)
        if self.stateful:
            return multi_step_forward(x, run)
        return seq_to_ann_forward(x, run)

    def extra_repr(self) -> str:
        return f"stateful={self.stateful}, step_mode={self.step_mode}"


class ElementWiseRecurrentContainer(MemoryModule):
    """Element-wise self connection: ``i[t] = f(x[t], y[t-1])``, ``y[t] = sub_module(i[t])``, ``y[-1] = 0``.

    Args:
        sub_module: single-step module whose output has the input's shape.
        element_wise_function: ``f(x, y)``, e.g. ``lambda x, y: x + y``.
        step_mode: ``'s'`` or ``'m'`` (the sub-module stays in ``'s'``).
    """

    def __init__(self, sub_module: nn.Module, element_wise_function: Callable, step_mode="s"):
        super().__init__()
        _check_single_step("ElementWiseRecurrentContainer", [sub_module])
        check_callable("ElementWiseRecurrentContainer", "element_wise_function", element_wise_function)
        self.step_mode = step_mode
        self.sub_module = sub_module
        self.element_wise_function = element_wise_function
        self.register_memory("y", None)

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"y": torch.zeros_like(self.single_step_input(x))}

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        y = self.y
        if isinstance(y, torch.Tensor):
            self.check_memory("y", y, x)
        else:
            y = torch.zeros_like(x)
        self.y = self.sub_module(self.element_wise_function(x, y))
        return self.y

    def extra_repr(self) -> str:
        return f"element_wise_function={self.element_wise_function}, step_mode={self.step_mode}"


class LinearRecurrentContainer(MemoryModule):
    """Linear self connection: ``i[t] = [x[t], y[t-1]] W^T + b``, ``y[t] = sub_module(i[t])``, ``y[-1] = 0``.

    Args:
        sub_module: single-step module mapping ``[N, *, in_features]`` to ``[N, *, out_features]``.
        in_features: features of ``x[t]`` (and of the sub-module's input).
        out_features: features of ``y[t]``.
        bias: learn the bias ``b`` of the connection ``rc = nn.Linear(in + out, in)``.
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(self, sub_module: nn.Module, in_features: int, out_features: int, bias: bool = True,
                 step_mode="s") -> None:
        super().__init__()
        _check_single_step("LinearRecurrentContainer", [sub_module])
        self.step_mode = step_mode
        self.in_features = in_features
        self.sub_module_out_features = out_features
        self.rc = nn.Linear(in_features + out_features, in_features, bias)
        self.sub_module = sub_module
        self.register_memory("y", None)

    def _rest(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((*x.shape[:-1], self.sub_module_out_features))

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"y": self._rest(self.single_step_input(x))}

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        step_input(self, x, False)
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"LinearRecurrentContainer: the input must be [N, *, in_features] with "
                             f"in_features={self.in_features}, got shape {tuple(x.shape)}.")
        y = self.y
        if isinstance(y, torch.Tensor):
            self.check_memory("y", y, x, (*x.shape[:-1], self.sub_module_out_features))
        else:
            y = self._rest(x)
        self.y = self.sub_module(self.rc(torch.cat((x, y), dim=-1)))
        return self.y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.sub_module_out_features}, "
                f"step_mode={self.step_mode}")
