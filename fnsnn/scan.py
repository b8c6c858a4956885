"""Scanning a step function over the leading time dimension."""

from __future__ import annotations

from typing import Any, Callable, Tuple

import torch

from ._checks import check_callable, check_seq, tree_stack


def _scan(step_fn: Callable, x_seq: torch.Tensor, state: Any, collect_states: bool = False, **config):
    """Unchecked loop behind :func:`scan`; iterates with ``unbind`` so backward stays O(T)."""
    ys, states = [], []
    for x in x_seq.unbind(0):
        y, state = step_fn(x, state, **config)
        ys.append(y)
        if collect_states:
            states.append(state)
    y_seq = tree_stack(ys)
    if collect_states:
        return y_seq, state, tree_stack(states)
    return y_seq, state


def scan(step_fn: Callable, x_seq: torch.Tensor, state: Any = None, *, return_states: bool = False,
         **config) -> Tuple[Any, ...]:
    """Run ``step_fn(x, state, **config) -> (y, new_state)`` over ``x_seq.unbind(0)``.

    Works for any step function, including user-written ones; ``y`` and the
    state may be tensors or pytrees of tensors.

    Args:
        step_fn: a single-step function, e.g. ``fnsnn.lif_step``.
        x_seq: input of shape ``[T, ...]`` with ``T > 0``.
        state: initial state passed to the first step (``None`` lets the step
            function build its rest state).
        return_states: also return the stacked state after every step.
        **config: keyword arguments forwarded to every call of ``step_fn``.

    Returns:
        ``(y_seq, final_state)``, or ``(y_seq, final_state, state_seq)`` with
        ``return_states=True``; stacked outputs have a leading ``T`` dim.
    """
    check_callable("fnsnn.scan", "step_fn", step_fn)
    check_seq("fnsnn.scan", "x_seq", x_seq, floating=False)
    return _scan(step_fn, x_seq, state, collect_states=return_states, **config)
