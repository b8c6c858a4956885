"""Surrogate derivatives inside Triton kernels.

Every surrogate of :mod:`fnsnn.surrogate` whose derivative ``σ'(x)`` has a
closed form maps to an integer code and up to two float parameters; the jitted
:func:`surrogate_derivative` evaluates the same expression as the class's
``derivative`` method. ``PoissonPass`` (random forward) and callables that are
not one of these classes have no kernel form.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import triton
import triton.language as tl

from .. import surrogate as sg

_PI = tl.constexpr(math.pi)
_INV_SQRT_PI = tl.constexpr(1.0 / math.sqrt(math.pi))

# class -> (code, params(sg) -> (a, b, n))
_CODES = {
    sg.Sigmoid: (0, lambda s: (s.alpha, 0.0, 0)),
    sg.ATan: (1, lambda s: (s.alpha, 0.0, 0)),
    sg.PiecewiseQuadratic: (2, lambda s: (s.alpha, 0.0, 0)),
    sg.PiecewiseExp: (3, lambda s: (s.alpha, 0.0, 0)),
    sg.SoftSign: (4, lambda s: (s.alpha, 0.0, 0)),
    sg.Erf: (5, lambda s: (s.alpha, 0.0, 0)),
    sg.PiecewiseLeakyReLU: (6, lambda s: (s.w, s.c, 0)),
    sg.SuperSpike: (7, lambda s: (s.alpha, 0.0, 0)),
    sg.Rect: (8, lambda s: (s.alpha, 0.0, 0)),
    sg.QPseudoSpike: (9, lambda s: (s.alpha, 0.0, 0)),
    sg.LeakyKReLU: (10, lambda s: (s.leak, s.k, 0)),
    sg.S2NN: (11, lambda s: (s.alpha, s.beta, 0)),
    sg.LogTailedReLU: (12, lambda s: (s.alpha, 0.0, 0)),
    sg.NonzeroSignLogAbs: (13, lambda s: (s.alpha, 0.0, 0)),
    sg.FakeNumericalGradient: (14, lambda s: (s.alpha, 0.0, 0)),
    sg.DeterministicPass: (15, lambda s: (0.0, 0.0, 0)),
    sg.SquarewaveFourierSeries: (16, lambda s: (s.T_period, 0.0, s.n)),
}


def surrogate_unsupported(surrogate_function: Any) -> Optional[str]:
    """``None`` if a kernel can evaluate ``surrogate_function``'s derivative, else the reason."""
    if type(surrogate_function) not in _CODES:
        name = type(surrogate_function).__name__
        if isinstance(surrogate_function, sg.PoissonPass):
            return "PoissonPass draws random spikes, which the scan kernels do not do"
        return (f"the surrogate {name} has no closed-form kernel derivative (supported: "
                f"{', '.join(c.__name__ for c in _CODES)})")
    if not surrogate_function.spiking:
        return "the surrogate has spiking=False (smooth outputs instead of spikes)"
    return None


def surrogate_code(surrogate_function: Any) -> Tuple[int, float, float, int]:
    """``(code, a, b, n)`` of a supported surrogate (see :func:`surrogate_unsupported`)."""
    code, params = _CODES[type(surrogate_function)]
    a, b, n = params(surrogate_function)
    return code, float(a), float(b), int(n)


@triton.jit
def _sigmoid_slope(x, a):
    s = 1.0 / (1.0 + tl.exp(-a * x))
    return a * s * (1.0 - s)


@triton.jit
def surrogate_derivative(x, a, b, KIND: tl.constexpr, N: tl.constexpr):
    """``σ'(x)`` of surrogate ``KIND`` (codes above) with parameters ``a``, ``b``, ``N``."""
    ax = tl.abs(x)
    if KIND == 0:
        d = _sigmoid_slope(x, a)
    elif KIND == 1:
        u = (_PI / 2.0) * a * x
        d = (a / 2.0) / (1.0 + u * u)
    elif KIND == 2:
        d = tl.where(ax > 1.0 / a, 0.0, a - a * a * ax)
    elif KIND == 3:
        d = (a / 2.0) * tl.exp(-a * ax)
    elif KIND == 4:
        q = 1.0 + a * ax
        d = (a / 2.0) / (q * q)
    elif KIND == 5:
        u = a * x
        d = (a * _INV_SQRT_PI) * tl.exp(-(u * u))
    elif KIND == 6:
        d = tl.where(ax < a, 1.0 / (2.0 * a), b + 0.0 * x)
    elif KIND == 7:
        q = 1.0 + ax
        d = a / (q * q)
    elif KIND == 8:
        d = tl.where(ax < 0.5 / a, a + 0.0 * x, 0.0)
    elif KIND == 9:
        d = tl.exp(-a * tl.log(1.0 + (2.0 / (a - 1.0)) * ax))
    elif KIND == 10:
        d = tl.where(x >= 0, b + 0.0 * x, a)
    elif KIND == 11:
        d = tl.where(x < 0, _sigmoid_slope(x, a), b / (tl.maximum(x, 0.0) + 1.0))
    elif KIND == 12:
        d = tl.where(x > 1.0, 1.0 / tl.maximum(x, 1.0), tl.where(x > 0, 1.0 + 0.0 * x, a))
    elif KIND == 13:
        d = 1.0 / (1.0 / a + ax)
    elif KIND == 14:
        d = tl.minimum(1.0 / ax, a)
    elif KIND == 15:
        d = 1.0 + 0.0 * x
    else:
        omega = 2.0 * _PI / a
        d = 0.0 * x
        for i in tl.static_range(1, N):
            d += tl.cos(((2.0 * i - 1.0) * omega) * x)
        d = (4.0 / a) * d
    return d
