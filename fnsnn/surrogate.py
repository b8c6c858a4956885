"""Surrogate-gradient spike functions.

A spike is the Heaviside step ``Θ(x) = 1 if x >= 0 else 0``; its derivative is
zero almost everywhere, so training replaces it in the backward pass by the
derivative ``σ'(x)`` of a smooth primitive ``σ``. Each surrogate here is a frozen
(hashable) dataclass holding its static parameters:

* ``surrogate(x)`` with ``spiking=True`` returns ``Θ(x)`` in the forward pass and
  ``grad * σ'(x)`` in the backward pass (forward-mode AD: ``tangent * σ'(x)``);
* with ``spiking=False`` it returns the smooth primitive ``σ(x)`` built from
  plain differentiable torch ops;
* ``.primitive(x)`` and ``.derivative(x)`` expose ``σ`` and ``σ'`` directly.

Names, parameters and defaults follow SpikingJelly 2.0.0's
``activation_based.surrogate``. Outputs keep the input's dtype and device.
Every function works under ``torch.func`` (``grad``, ``vmap`` with a real
batching rule, ``jacrev``, ``jvp``/``jacfwd``) and ``torch.compile``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Optional

import torch

from ._checks import _describe, check_bool, check_number, check_tensor

__all__ = [
    "heaviside",
    "SurrogateFunction",
    "Sigmoid",
    "ATan",
    "PiecewiseQuadratic",
    "PiecewiseExp",
    "SoftSign",
    "Erf",
    "PiecewiseLeakyReLU",
    "SuperSpike",
    "Rect",
    "QPseudoSpike",
    "LeakyKReLU",
    "S2NN",
    "LogTailedReLU",
    "NonzeroSignLogAbs",
    "FakeNumericalGradient",
    "DeterministicPass",
    "PoissonPass",
    "SquarewaveFourierSeries",
    "SURROGATES",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``Θ(x) = 1`` where ``x >= 0`` else ``0``, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


# --------------------------------------------------------------------------- #
# autograd Functions
# --------------------------------------------------------------------------- #
# Dynamo cannot trace an autograd.Function that defines ``jvp``, so each
# Function has a twin without it that is used while torch.compile traces.
# Forward-mode AD is not available under torch.compile anyway.


def _spike_forward(x, surrogate):
    return heaviside(x)


def _spike_setup_context(ctx, inputs, output):
    x, surrogate = inputs
    ctx.save_for_backward(x)
    ctx.save_for_forward(x)
    ctx.surrogate = surrogate


def _spike_backward(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * ctx.surrogate.derivative(x), None


def _spike_jvp(ctx, x_tangent, surrogate_tangent):
    (x,) = ctx.saved_tensors
    return x_tangent * ctx.surrogate.derivative(x)


class _SpikeCompiled(torch.autograd.Function):
    """``Θ(x)`` forward, ``grad * surrogate.derivative(x)`` backward."""

    generate_vmap_rule = True
    forward = staticmethod(_spike_forward)
    setup_context = staticmethod(_spike_setup_context)
    backward = staticmethod(_spike_backward)


class _Spike(_SpikeCompiled):
    """As :class:`_SpikeCompiled`, plus forward-mode AD."""

    jvp = staticmethod(_spike_jvp)


def _poisson_forward(x, noise):
    return (noise < x).to(x.dtype)


def _poisson_setup_context(ctx, inputs, output):
    """Nothing to save: the straight-through backward needs no inputs."""


def _poisson_backward(ctx, grad_output):
    return grad_output, None


def _poisson_jvp(ctx, x_tangent, noise_tangent):
    return x_tangent


class _PoissonCompiled(torch.autograd.Function):
    """Bernoulli draw ``noise < x`` forward, identity (straight-through) backward."""

    generate_vmap_rule = True
    forward = staticmethod(_poisson_forward)
    setup_context = staticmethod(_poisson_setup_context)
    backward = staticmethod(_poisson_backward)


class _Poisson(_PoissonCompiled):
    jvp = staticmethod(_poisson_jvp)


def _apply(eager: type, compiled: type, *args):
    if torch.compiler.is_compiling():
        return compiled.apply(*args)
    return eager.apply(*args)


# --------------------------------------------------------------------------- #
# parameter checks
# --------------------------------------------------------------------------- #


def _real(fn: str, name: str, value: Any, *, above: Optional[float] = None) -> float:
    """A finite Python real number (strictly greater than ``above`` when given), as float."""
    check_number(fn, name, value, allow_tensor=False)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{fn}: `{name}` must be finite, got {value!r}.")
    if above is not None and not value > above:
        raise ValueError(f"{fn}: `{name}` must be > {above}, got {value!r}.")
    return value


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------- #
# base class
# --------------------------------------------------------------------------- #


class SurrogateFunction:
    """Base of every surrogate: a frozen dataclass with ``spiking`` as its last field.

    Subclasses define ``primitive(x)`` (the smooth function ``σ``) and
    ``derivative(x)`` (the surrogate gradient ``σ'`` used in the backward pass).
    """

    spiking: bool
    fnsnn_spike_function = True  # what fnsnn._checks.check_surrogate trusts as a spike function

    @property
    def params(self) -> Dict[str, Any]:
        """The static parameters, without ``spiking``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "spiking"}

    def with_spiking(self, spiking: bool):
        """A copy with ``spiking`` replaced."""
        return dataclasses.replace(self, spiking=spiking)

    def _check_spiking(self) -> None:
        check_bool(type(self).__name__, "spiking", self.spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__}.primitive: a SurrogateFunction subclass must define the smooth "
                        f"primitive it stands for.")

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__}.derivative: a SurrogateFunction subclass must define the "
                        f"surrogate derivative.")

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """``Θ(x)`` with the surrogate gradient, whatever ``spiking`` says."""
        return _apply(_Spike, _SpikeCompiled, x, self)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``Θ(x)`` with surrogate gradient if ``spiking`` else ``primitive(x)``.

        Args:
            x: floating tensor of any shape (typically ``v - v_threshold``).

        Returns:
            A tensor shaped and typed like ``x``.
        """
        check_tensor(type(self).__name__, "x", x)
        if self.spiking:
            return self.spike(x)
        return self.primitive(x)


def _surrogate(cls):
    return dataclasses.dataclass(frozen=True)(cls)


# --------------------------------------------------------------------------- #
# the surrogates
# --------------------------------------------------------------------------- #


@_surrogate
class Sigmoid(SurrogateFunction):
    """Logistic sigmoid: ``σ(x) = sigmoid(αx)``, ``σ'(x) = α s (1 - s)`` with ``s = sigmoid(αx)``."""

    alpha: float = 4.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("Sigmoid", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x):
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)


@_surrogate
class ATan(SurrogateFunction):
    """Arctangent: ``σ(x) = atan(παx/2)/π + 1/2``, ``σ'(x) = (α/2) / (1 + (παx/2)²)``."""

    alpha: float = 2.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("ATan", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        return torch.atan((math.pi / 2.0 * self.alpha) * x) / math.pi + 0.5

    def derivative(self, x):
        ax = (math.pi / 2.0 * self.alpha) * x
        return (self.alpha / 2.0) / (1.0 + ax * ax)


@_surrogate
class PiecewiseQuadratic(SurrogateFunction):
    """Piecewise quadratic: ``σ'(x) = α - α²|x|`` for ``|x| <= 1/α``, else ``0``.

    ``σ(x)`` is ``0`` below ``-1/α``, ``1`` above ``1/α`` and
    ``-α²x|x|/2 + αx + 1/2`` in between.
    """

    alpha: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("PiecewiseQuadratic", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        a = self.alpha
        inner = (-a * a / 2.0) * x * x.abs() + a * x + 0.5
        return torch.where(x > 1.0 / a, 1.0, torch.where(x < -1.0 / a, 0.0, inner))

    def derivative(self, x):
        a = self.alpha
        return torch.where(x.abs() > 1.0 / a, 0.0, a - a * a * x.abs())


@_surrogate
class PiecewiseExp(SurrogateFunction):
    """Piecewise exponential: ``σ'(x) = (α/2) exp(-α|x|)``.

    ``σ(x) = exp(αx)/2`` for ``x < 0`` and ``1 - exp(-αx)/2`` for ``x >= 0``.
    """

    alpha: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("PiecewiseExp", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        half_e = torch.exp(-self.alpha * x.abs()) / 2.0
        return torch.where(x >= 0, 1.0 - half_e, half_e)

    def derivative(self, x):
        return (self.alpha / 2.0) * torch.exp(-self.alpha * x.abs())


@_surrogate
class SoftSign(SurrogateFunction):
    """Soft sign: ``σ(x) = (softsign(αx) + 1)/2``, ``σ'(x) = α / (2 (1 + α|x|)²)``."""

    alpha: float = 2.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("SoftSign", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        ax = self.alpha * x
        return 0.5 * ax / (1.0 + ax.abs()) + 0.5

    def derivative(self, x):
        d = 1.0 + self.alpha * x.abs()
        return (self.alpha / 2.0) / (d * d)


@_surrogate
class Erf(SurrogateFunction):
    """Gaussian error function: ``σ(x) = erfc(-αx)/2``, ``σ'(x) = (α/√π) exp(-(αx)²)``."""

    alpha: float = 2.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("Erf", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        return torch.special.erfc(-self.alpha * x) / 2.0

    def derivative(self, x):
        ax = self.alpha * x
        return (self.alpha / math.sqrt(math.pi)) * torch.exp(-(ax * ax))


@_surrogate
class PiecewiseLeakyReLU(SurrogateFunction):
    """Piecewise leaky ReLU: ``σ'(x) = 1/(2w)`` for ``|x| < w``, else ``c``.

    ``σ(x) = x/(2w) + 1/2`` on ``[-w, w]``, ``c(x + w)`` below, ``c(x - w) + 1`` above.
    """

    w: float = 1.0
    c: float = 0.01
    spiking: bool = True

    def __post_init__(self):
        _set(self, "w", _real("PiecewiseLeakyReLU", "w", self.w, above=0.0))
        _set(self, "c", _real("PiecewiseLeakyReLU", "c", self.c))
        self._check_spiking()

    def primitive(self, x):
        w, c = self.w, self.c
        middle = x / (2.0 * w) + 0.5
        return torch.where(x < -w, c * (x + w), torch.where(x > w, c * (x - w) + 1.0, middle))

    def derivative(self, x):
        return torch.where(x.abs() < self.w, torch.zeros_like(x) + 1.0 / (2.0 * self.w), torch.zeros_like(x) + self.c)


@_surrogate
class SuperSpike(SurrogateFunction):
    """SuperSpike (Zenke & Ganguli 2018): ``σ'(x) = α / (1 + |x|)²``.

    SpikingJelly defines no primitive; here ``σ(x) = αx / (1 + |x|)`` (the fast
    sigmoid, whose derivative is exactly ``σ'``).
    """

    alpha: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("SuperSpike", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        return self.alpha * x / (1.0 + x.abs())

    def derivative(self, x):
        d = 1.0 + x.abs()
        return self.alpha / (d * d)


@_surrogate
class Rect(SurrogateFunction):
    """Rectangle: ``σ(x) = clamp(αx + 1/2, 0, 1)``, ``σ'(x) = α`` for ``|x| < 1/(2α)``, else ``0``."""

    alpha: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("Rect", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        return torch.clamp(self.alpha * x + 0.5, 0.0, 1.0)

    def derivative(self, x):
        return self.alpha * (x.abs() < 0.5 / self.alpha).to(x.dtype)


@_surrogate
class QPseudoSpike(SurrogateFunction):
    """q-PseudoSpike: ``σ'(x) = (1 + 2|x|/(α-1))^(-α)``, tail heaviness ``α > 1``.

    ``σ(x) = q/2`` for ``x < 0`` and ``1 - q/2`` for ``x >= 0``, with
    ``q = (1 + 2|x|/(α-1))^(1-α)``.
    """

    alpha: float = 2.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("QPseudoSpike", "alpha", self.alpha, above=1.0))
        self._check_spiking()

    def primitive(self, x):
        a = self.alpha
        half_q = 0.5 * torch.pow(1.0 + (2.0 / (a - 1.0)) * x.abs(), 1.0 - a)
        return torch.where(x >= 0, 1.0 - half_q, half_q)

    def derivative(self, x):
        a = self.alpha
        return torch.pow(1.0 + (2.0 / (a - 1.0)) * x.abs(), -a)


@_surrogate
class LeakyKReLU(SurrogateFunction):
    """Leaky k-ReLU: ``σ(x) = kx`` for ``x >= 0`` else ``leak·x``; ``σ'(x) = k`` or ``leak``."""

    leak: float = 0.0
    k: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "leak", _real("LeakyKReLU", "leak", self.leak))
        _set(self, "k", _real("LeakyKReLU", "k", self.k))
        self._check_spiking()

    def primitive(self, x):
        return torch.where(x >= 0, self.k * x, self.leak * x)

    def derivative(self, x):
        return torch.where(x >= 0, torch.zeros_like(x) + self.k, torch.zeros_like(x) + self.leak)


@_surrogate
class S2NN(SurrogateFunction):
    """S2NN: sigmoid left of zero, logarithm right of it.

    ``σ(x) = sigmoid(αx)`` for ``x < 0`` and ``β log(|x + 1| + 1e-5) + 1/2``
    for ``x >= 0``; ``σ'(x) = α s (1 - s)`` (``s = sigmoid(αx)``) for ``x < 0``
    and ``β / (x + 1)`` for ``x >= 0``.
    """

    alpha: float = 4.0
    beta: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("S2NN", "alpha", self.alpha, above=0.0))
        _set(self, "beta", _real("S2NN", "beta", self.beta, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        right = self.beta * torch.log((x + 1.0).abs() + 1e-5) + 0.5
        return torch.where(x < 0, torch.sigmoid(self.alpha * x), right)

    def derivative(self, x):
        # As SpikingJelly's backward: ``β/(x+1)`` on the right, not the exact
        # derivative ``β/(x+1+1e-5)`` of the primitive (relative gap ~1e-5).
        s = torch.sigmoid(self.alpha * x)
        return torch.where(x < 0, self.alpha * s * (1.0 - s), self.beta / (x.clamp_min(0.0) + 1.0))


@_surrogate
class LogTailedReLU(SurrogateFunction):
    """Log-tailed ReLU: ``σ(x) = αx`` (x <= 0), ``x`` (0 < x <= 1), ``log(x) + 1`` (x > 1).

    ``σ'(x) = α``, ``1`` and ``1/x`` on those pieces.
    """

    alpha: float = 0.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("LogTailedReLU", "alpha", self.alpha))
        self._check_spiking()

    def primitive(self, x):
        tail = torch.log(x.clamp_min(1.0)) + 1.0
        return torch.where(x > 1.0, tail, torch.where(x > 0, x, self.alpha * x))

    def derivative(self, x):
        inner = torch.where(x > 0, torch.ones_like(x), self.alpha)
        return torch.where(x > 1.0, x.clamp_min(1.0).reciprocal(), inner)


@_surrogate
class NonzeroSignLogAbs(SurrogateFunction):
    """Signed log: ``σ(x) = s log(1 + α|x|)`` with ``s = 1`` for ``x >= 0`` else ``-1``.

    ``σ'(x) = 1 / (1/α + |x|)``.
    """

    alpha: float = 1.0
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("NonzeroSignLogAbs", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        magnitude = torch.log1p(self.alpha * x.abs())
        return torch.where(x >= 0, magnitude, -magnitude)

    def derivative(self, x):
        return 1.0 / (1.0 / self.alpha + x.abs())


@_surrogate
class FakeNumericalGradient(SurrogateFunction):
    """Fake numerical gradient: ``σ'(x) = min(1/|x|, α)``, the slope of the secant from 0.

    SpikingJelly defines no primitive (and no ``spiking`` argument); here
    ``σ(x) = αx`` for ``|x| <= 1/α`` and ``sign(x)(1 + log(α|x|))`` beyond, whose
    derivative is exactly ``σ'``. At ``x = -0.0`` the gradient is ``α`` (SpikingJelly
    gives ``-inf`` there).
    """

    alpha: float = 0.3
    spiking: bool = True

    def __post_init__(self):
        _set(self, "alpha", _real("FakeNumericalGradient", "alpha", self.alpha, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        a = self.alpha
        mag = x.abs()
        outer = 1.0 + torch.log(a * mag.clamp_min(1.0 / a))
        return torch.where(mag <= 1.0 / a, a * x, torch.where(x >= 0, outer, -outer))

    def derivative(self, x):
        return torch.clamp(x.abs().reciprocal(), max=self.alpha)


@_surrogate
class SquarewaveFourierSeries(SurrogateFunction):
    """Fourier series of a square wave of period ``T_period`` with ``n - 1`` odd harmonics.

    With ``ω = 2π/T_period`` and ``k = 2i - 1`` for ``i = 1..n-1``:
    ``σ(x) = 1/2 + (2/π) Σ sin(kωx)/k`` and ``σ'(x) = (4/T_period) Σ cos(kωx)``.
    """

    n: int = 2
    T_period: float = 8.0
    spiking: bool = True

    def __post_init__(self):
        fn = "SquarewaveFourierSeries"
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise TypeError(f"{fn}: `n` must be an int (number of terms + 1), got {_describe(self.n)}.")
        if self.n < 1:
            raise ValueError(f"{fn}: `n` must be >= 1, got {self.n!r}.")
        _set(self, "T_period", _real(fn, "T_period", self.T_period, above=0.0))
        self._check_spiking()

    def primitive(self, x):
        omega = 2.0 * math.pi / self.T_period
        total = 0.0 * x  # kept on the graph, so n = 1 still has a (zero) gradient
        for i in range(1, self.n):
            k = 2.0 * i - 1.0
            total = total + torch.sin((k * omega) * x) / k
        return 0.5 + (2.0 / math.pi) * total

    def derivative(self, x):
        omega = 2.0 * math.pi / self.T_period
        total = torch.zeros_like(x)
        for i in range(1, self.n):
            total = total + torch.cos(((2.0 * i - 1.0) * omega) * x)
        return (4.0 / self.T_period) * total


@_surrogate
class DeterministicPass(SurrogateFunction):
    """Straight-through step: forward ``Θ(x)``, backward identity; ``σ(x) = x``, ``σ'(x) = 1``."""

    spiking: bool = True

    def __post_init__(self):
        self._check_spiking()

    def primitive(self, x):
        return x.clone()

    def derivative(self, x):
        return torch.ones_like(x)


@_surrogate
class PoissonPass(SurrogateFunction):
    """Straight-through Bernoulli draw: forward ``1`` with probability ``x``, backward identity.

    The randomness is explicit: call ``PoissonPass()(x, generator)`` with a
    ``torch.Generator`` on ``x``'s device, or pass ``noise=``, a tensor of
    uniform ``[0, 1)`` samples shaped like ``x`` (the spike is ``noise < x``).
    The global RNG is never used. With ``spiking=False`` the call returns ``x``
    and needs no randomness. Under ``torch.func.vmap`` use
    ``randomness="different"`` (or pass batched ``noise``).
    """

    spiking: bool = True

    def __post_init__(self):
        self._check_spiking()

    def primitive(self, x):
        return x.clone()

    def derivative(self, x):
        return torch.ones_like(x)

    def spike(self, x: torch.Tensor, generator: Optional[torch.Generator] = None, *,
              noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Bernoulli spikes with identity gradient, whatever ``spiking`` says."""
        fn = "PoissonPass"
        if noise is not None:
            if generator is not None:
                raise ValueError(f"{fn}: pass either `generator` or `noise`, not both.")
            check_tensor(fn, "noise", noise)
            if noise.shape != x.shape:
                raise ValueError(
                    f"{fn}: `noise` must have the shape of `x` {tuple(x.shape)}, got {tuple(noise.shape)}."
                )
            if noise.device != x.device:
                raise ValueError(f"{fn}: `noise` is on {noise.device} but `x` is on {x.device}.")
            noise = noise.to(x.dtype)
        elif generator is not None:
            if not isinstance(generator, torch.Generator):
                raise TypeError(f"{fn}: `generator` must be a torch.Generator, got {_describe(generator)}.")
            if generator.device.type != x.device.type:
                raise ValueError(
                    f"{fn}: `generator` is on {generator.device} but `x` is on {x.device}; "
                    f"create it with torch.Generator(device=x.device)."
                )
            noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        else:
            raise ValueError(
                f"{fn}: spiking mode draws random spikes and needs explicit randomness; "
                f"call it as PoissonPass()(x, generator) with a torch.Generator on {x.device}, "
                f"or pass noise=torch.rand_like(x, ...). The global RNG is never used."
            )
        return _apply(_Poisson, _PoissonCompiled, x, noise)

    def __call__(self, x: torch.Tensor, generator: Optional[torch.Generator] = None, *,
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Bernoulli spikes ``noise < x`` if ``spiking`` else ``x``.

        Args:
            x: firing probabilities, floating tensor of any shape.
            generator: ``torch.Generator`` on ``x``'s device for the uniform draw.
            noise: alternatively, uniform ``[0, 1)`` samples shaped like ``x``.

        Returns:
            A tensor shaped and typed like ``x``.
        """
        check_tensor("PoissonPass", "x", x)
        if self.spiking:
            return self.spike(x, generator, noise=noise)
        return self.primitive(x)


# Every surrogate class, in the order of SpikingJelly's inventory.
SURROGATES = (
    Sigmoid, ATan, PiecewiseQuadratic, PiecewiseExp, SoftSign, Erf, PiecewiseLeakyReLU,
    SuperSpike, Rect, QPseudoSpike, LeakyKReLU, S2NN, LogTailedReLU, NonzeroSignLogAbs,
    FakeNumericalGradient, DeterministicPass, PoissonPass, SquarewaveFourierSeries,
)
