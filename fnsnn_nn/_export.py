"""Export a network with its state as explicit inputs and outputs (``torch.export``, ONNX).

``export(net, example_x)`` gives a ``torch.export.ExportedProgram`` of one time
step, ``(x, state) -> (y, new_state)``; ``export(net, example_x, steps=k)`` gives
one of a chunk, ``(x_seq, state) -> (y_seq, new_state)`` with ``x_seq`` of shape
``[T, N, *]`` and ``T`` dynamic (the step runs inside ``torch.scan``'s higher-order
op, so one program serves every chunk length). ``state`` is the pytree of
:func:`fnsnn_nn.init_state`: ``{module_name: {memory_name: tensor}}``. A runtime
that streams keeps ``new_state`` and feeds it back with the next input.

The traced step is :func:`fnsnn_nn.apply` on a private copy of ``net`` in
single-step mode with every neuron on ``backend="torch"``: the plain reference,
whose results the faster backends equal; ``net`` itself is not modified.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from . import functional
from ._state import State, _private_copy, apply, init_state


class _StepProgram(nn.Module):
    """``forward(x, state) -> (y, new_state)``: one step of ``net`` from an explicit state."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, state: State):
        return apply(self.net, x, state)


class _ChunkProgram(nn.Module):
    """``forward(x_seq, state) -> (y_seq, new_state)``: a scan of the step over the leading dimension."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x_seq: torch.Tensor, state: State):
        from torch._higher_order_ops.scan import scan

        def body(carry, x):
            y, new = apply(self.net, x, carry)
            return new, y

        final, y_seq = scan(body, state, x_seq)
        return y_seq, final


def _reference_copy(net: nn.Module) -> nn.Module:
    """A private copy of ``net`` (sharing parameters) in single-step mode on the reference backend."""
    run = _private_copy(net, own_buffers=False)
    functional.set_step_mode(run, "s")
    for m in run.modules():
        if "_backend" in m.__dict__:
            m.__dict__["_backend"] = "torch"
        elif isinstance(m.__dict__.get("backend"), str):
            m.__dict__["backend"] = "torch"
    return run


def _check(fn: str, net: Any, example_x: Any, steps: Any) -> None:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{fn}: `net` must be an nn.Module, got {type(net).__name__}.")
    if not isinstance(example_x, torch.Tensor):
        raise TypeError(f"{fn}: `example_x` must be a tensor (one time step, [N, *]), got {type(example_x).__name__}.")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise ValueError(f"{fn}: `steps` must be None (one step) or an int >= 1 (a chunk), got {steps!r}.")


def _example(net: nn.Module, example_x: torch.Tensor, steps: Optional[int]) -> Tuple[Any, State]:
    state = init_state(net, example_x)
    if steps is None:
        return example_x, state
    # A chunk of at least two steps: a traced length of 1 would be specialised by torch.export.
    return example_x.unsqueeze(0).expand(max(steps, 2), *example_x.shape).clone(), state


def export(net: nn.Module, example_x: torch.Tensor, *, steps: Optional[int] = None) -> torch.export.ExportedProgram:
    """Export ``net`` as a program with explicit state, for one step or a chunk of steps.

    Args:
        net: a module tree of fnsnn_nn modules (any step mode; the program
            runs it step by step).
        example_x: one time step's input ``[N, *]``; fixes the shapes (the
            batch size included) and builds the example state.
        steps: ``None`` exports one step ``(x, state) -> (y, new_state)``; an
            int exports a chunk ``(x_seq, state) -> (y_seq, new_state)`` with
            ``x_seq`` ``[T, N, *]`` and ``T`` dynamic (traced with
            ``max(steps, 2)`` steps).

    Returns:
        A ``torch.export.ExportedProgram``; ``program.module()(x, state)``
        runs it, ``torch.onnx.export(program, ..., dynamo=True)`` (or
        :func:`export_onnx`) writes it as ONNX.
    """
    _check("export", net, example_x, steps)
    run = _reference_copy(net)
    x, state = _example(run, example_x, steps)
    if steps is None:
        return torch.export.export(_StepProgram(run), (x, state))
    none = {name: {key: None for key in entry} for name, entry in state.items()}
    T = torch.export.Dim("T", min=1)
    return torch.export.export(_ChunkProgram(run), (x, state), dynamic_shapes=({0: T}, none))


def state_names(state: State, prefix: str = "state") -> List[str]:
    """Flat names ``prefix.module.memory`` of ``state``'s tensors, in the order of the program's inputs."""
    return [f"{prefix}.{name}.{key}" for name, entry in state.items() for key in entry]


def export_onnx(net: nn.Module, example_x: torch.Tensor, path, *, steps: Optional[int] = None) -> Dict[str, List[str]]:
    """Write :func:`export`'s program as an ONNX file (``torch.onnx.export(..., dynamo=True)``).

    The ONNX inputs are ``x`` (or ``x_seq``) followed by the state tensors
    named ``state.<module>.<memory>``; the outputs are ``y`` (or ``y_seq``)
    followed by ``new_state.<module>.<memory>``, in the same order, so a
    runtime feeds each ``new_state.*`` output back as the ``state.*`` input.
    Needs the packages ``onnx`` and ``onnxscript``.

    Returns:
        ``{"inputs": [...], "outputs": [...]}``, the names in order.
    """
    _check("export_onnx", net, example_x, steps)
    program = export(net, example_x, steps=steps)
    run = _reference_copy(net)
    x, state = _example(run, example_x, steps)
    data = "x" if steps is None else "x_seq"
    inputs = [data, *state_names(state)]
    outputs = ["y" if steps is None else "y_seq", *state_names(state, "new_state")]
    torch.onnx.export(program, (x, state), str(path), dynamo=True, input_names=inputs, output_names=outputs,
                      verbose=False)
    return {"inputs": inputs, "outputs": outputs}
