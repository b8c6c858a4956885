"""Explicit randomness: every random draw takes a ``torch.Generator`` or an integer seed."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Optional

import torch


def resolve_generator(fn: str, generator: Optional[torch.Generator], seed: Optional[int],
                      device: torch.device) -> torch.Generator:
    """The generator to draw from: ``generator`` itself, or a fresh one seeded with ``seed`` on ``device``."""
    if generator is not None and seed is not None:
        raise ValueError(f"{fn}: pass either `generator` or `seed`, not both.")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"{fn}: `generator` must be a torch.Generator, got {type(generator).__name__}.")
        if generator.device.type != torch.device(device).type:
            raise ValueError(f"{fn}: `generator` is on {generator.device} but the input is on {device}; "
                             f"create it with torch.Generator(device=x.device).")
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise TypeError(f"{fn}: `seed` must be an int, got {type(seed).__name__} {seed!r}.")
        return torch.Generator(device=device).manual_seed(int(seed))
    raise ValueError(
        f"{fn}: drawing a new random mask needs an explicit `generator` (torch.Generator) or `seed` (int); "
        f"or pass the `state` holding the mask drawn earlier."
    )


def check_probability(fn: str, p) -> float:
    """``p`` must be a Python number in ``[0, 1)``."""
    if isinstance(p, bool) or not isinstance(p, Real):
        raise TypeError(f"{fn}: `p` must be a float in [0, 1), got {type(p).__name__} {p!r}.")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{fn}: `p` must be in [0, 1), got {p!r}.")
    return float(p)
