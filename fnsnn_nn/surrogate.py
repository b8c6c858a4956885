"""Module shells of the surrogate spike functions in :mod:`fnsnn.surrogate`.

Each class keeps SpikingJelly's name and constructor, holds one frozen core
surrogate in ``self.core`` and calls it in ``forward``. Parameters and
``spiking`` read and write through to the core (a write builds a new,
validated core). The maths and the docs of each function live in
:mod:`fnsnn.surrogate`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from fnsnn import surrogate as _core
from fnsnn.neurons import ilif as _ilif
from fnsnn._checks import _describe, check_tensor

__all__ = [
    "SurrogateFunctionBase",
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
    "MultiLevelSpikeCount",
    "SquarewaveFourierSeries",
    "heaviside",
    "sigmoid",
    "atan",
    "piecewise_quadratic",
    "piecewise_exp",
    "soft_sign",
    "erf",
    "piecewise_leaky_relu",
    "super_spike",
    "rect",
    "q_pseudo_spike",
    "leaky_k_relu",
    "s2nn",
    "log_tailed_relu",
    "nonzero_sign_log_abs",
    "fake_numerical_gradient",
    "squarewave_fourier_series",
    "deterministic_pass",
    "poisson_pass",
    "sigmoid_backward",
    "atan_backward",
    "piecewise_quadratic_backward",
    "piecewise_exp_backward",
    "soft_sign_backward",
    "erf_backward",
    "piecewise_leaky_relu_backward",
    "super_spike_backward",
    "rect_backward",
    "leaky_k_relu_backward",
    "log_tailed_relu_backward",
    "nonzero_sign_log_abs_backward",
    "fake_numerical_gradient_backward",
]


def _field_property(name: str) -> property:
    def get(self):
        return getattr(self.core, name)

    def set_(self, value):
        self.core = dataclasses.replace(self.core, **{name: value})

    return property(get, set_, doc=f"``{name}`` of the core surrogate (writing it re-validates).")


class SurrogateFunctionBase(nn.Module):
    """Base of the shells: a module wrapping one :class:`fnsnn.surrogate.SurrogateFunction`."""

    core_type: type = _core.SurrogateFunction

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if dataclasses.is_dataclass(cls.core_type):
            for f in dataclasses.fields(cls.core_type):
                setattr(cls, f.name, _field_property(f.name))

    def __init__(self, core: _core.SurrogateFunction):
        super().__init__()
        if not isinstance(core, self.core_type):
            raise TypeError(
                f"{type(self).__name__}: `core` must be a {self.core_type.__name__}, got {_describe(core)}."
            )
        self.core = core

    def set_spiking_mode(self, spiking: bool) -> None:
        """Switch between spikes with surrogate gradient (True) and the smooth primitive (False)."""
        self.spiking = spiking

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return self.core.primitive(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.core.derivative(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.core(x)

    def extra_repr(self) -> str:
        parts = [f"{k}={v}" for k, v in self.core.params.items()]
        parts.append(f"spiking={self.core.spiking}")
        return ", ".join(parts)


class Sigmoid(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.Sigmoid`."""

    core_type = _core.Sigmoid

    def __init__(self, alpha: float = 4.0, spiking: bool = True):
        super().__init__(_core.Sigmoid(alpha, spiking))


class ATan(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.ATan`."""

    core_type = _core.ATan

    def __init__(self, alpha: float = 2.0, spiking: bool = True):
        super().__init__(_core.ATan(alpha, spiking))


class PiecewiseQuadratic(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.PiecewiseQuadratic`."""

    core_type = _core.PiecewiseQuadratic

    def __init__(self, alpha: float = 1.0, spiking: bool = True):
        super().__init__(_core.PiecewiseQuadratic(alpha, spiking))


class PiecewiseExp(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.PiecewiseExp`."""

    core_type = _core.PiecewiseExp

    def __init__(self, alpha: float = 1.0, spiking: bool = True):
        super().__init__(_core.PiecewiseExp(alpha, spiking))


class SoftSign(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.SoftSign`."""

    core_type = _core.SoftSign

    def __init__(self, alpha: float = 2.0, spiking: bool = True):
        super().__init__(_core.SoftSign(alpha, spiking))


class Erf(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.Erf`."""

    core_type = _core.Erf

    def __init__(self, alpha: float = 2.0, spiking: bool = True):
        super().__init__(_core.Erf(alpha, spiking))


class PiecewiseLeakyReLU(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.PiecewiseLeakyReLU`."""

    core_type = _core.PiecewiseLeakyReLU

    def __init__(self, w: float = 1.0, c: float = 0.01, spiking: bool = True):
        super().__init__(_core.PiecewiseLeakyReLU(w, c, spiking))


class SuperSpike(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.SuperSpike`."""

    core_type = _core.SuperSpike

    def __init__(self, alpha: float = 1.0, spiking: bool = True):
        super().__init__(_core.SuperSpike(alpha, spiking))


class Rect(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.Rect`."""

    core_type = _core.Rect

    def __init__(self, alpha: float = 1.0, spiking: bool = True):
        super().__init__(_core.Rect(alpha, spiking))


class QPseudoSpike(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.QPseudoSpike`."""

    core_type = _core.QPseudoSpike

    def __init__(self, alpha: float = 2.0, spiking: bool = True):
        super().__init__(_core.QPseudoSpike(alpha, spiking))


class LeakyKReLU(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.LeakyKReLU`."""

    core_type = _core.LeakyKReLU

    def __init__(self, leak: float = 0.0, k: float = 1.0, spiking: bool = True):
        super().__init__(_core.LeakyKReLU(leak, k, spiking))


class S2NN(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.S2NN`."""

    core_type = _core.S2NN

    def __init__(self, alpha: float = 4.0, beta: float = 1.0, spiking: bool = True):
        super().__init__(_core.S2NN(alpha, beta, spiking))


class LogTailedReLU(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.LogTailedReLU`."""

    core_type = _core.LogTailedReLU

    def __init__(self, alpha: float = 0.0, spiking: bool = True):
        super().__init__(_core.LogTailedReLU(alpha, spiking))


class NonzeroSignLogAbs(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.NonzeroSignLogAbs`."""

    core_type = _core.NonzeroSignLogAbs

    def __init__(self, alpha: float = 1.0, spiking: bool = True):
        super().__init__(_core.NonzeroSignLogAbs(alpha, spiking))


class FakeNumericalGradient(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.FakeNumericalGradient`."""

    core_type = _core.FakeNumericalGradient

    def __init__(self, alpha: float = 0.3, spiking: bool = True):
        super().__init__(_core.FakeNumericalGradient(alpha, spiking))


class SquarewaveFourierSeries(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.SquarewaveFourierSeries`."""

    core_type = _core.SquarewaveFourierSeries

    def __init__(self, n: int = 2, T_period: float = 8, spiking: bool = True):
        super().__init__(_core.SquarewaveFourierSeries(n, T_period, spiking))


class DeterministicPass(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.DeterministicPass`."""

    core_type = _core.DeterministicPass

    def __init__(self, spiking: bool = True):
        super().__init__(_core.DeterministicPass(spiking))


class PoissonPass(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.surrogate.PoissonPass` that owns its random generators.

    The shell keeps one ``torch.Generator`` per device, seeded with ``seed``
    (or, when ``seed`` is None, with a number drawn from torch's global RNG at
    construction, so ``torch.manual_seed`` makes runs reproducible).
    ``manual_seed`` reseeds.
    ``forward(x, generator=None)`` uses ``generator`` when given.
    """

    core_type = _core.PoissonPass

    def __init__(self, spiking: bool = True, *, seed: Optional[int] = None):
        super().__init__(_core.PoissonPass(spiking))
        self.manual_seed(seed)

    def manual_seed(self, seed: Optional[int]) -> None:
        """Forget the generators; new ones start from ``seed`` (None: drawn from the global RNG)."""
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"PoissonPass: `seed` must be an int or None, got {_describe(seed)}.")
        self.seed = seed
        self._seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else seed
        self._generators: Dict[torch.device, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator:
        gen = self._generators.get(device)
        if gen is None:
            gen = torch.Generator(device=device)
            gen.manual_seed(self._seed)
            self._generators[device] = gen
        return gen

    def forward(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if not self.core.spiking:
            return self.core(x)
        if generator is None and isinstance(x, torch.Tensor):
            generator = self._generator(x.device)
        return self.core(x, generator)


class MultiLevelSpikeCount(SurrogateFunctionBase):
    """Shell of :class:`fnsnn.MultiLevelSpikeCount`, ILIFNode's spike-count function.

    Args:
        max_spike_count: largest count ``D`` (int >= 1).
        spiking: counts with straight-through gradient (True) or ``clamp(x, 0, D)`` (False).
        grad_window: ``(grad_min, grad_max)`` where the gradient is 1; default ``(0, D)``.
    """

    core_type = _ilif.MultiLevelSpikeCount

    def __init__(self, max_spike_count: int, spiking: bool = True,
                 grad_window: Optional[Tuple[float, float]] = None):
        if grad_window is None:
            grad_min, grad_max = 0.0, None
        else:
            if not isinstance(grad_window, (tuple, list)) or len(grad_window) != 2:
                raise TypeError(f"MultiLevelSpikeCount: `grad_window` must be a (grad_min, grad_max) pair or None, "
                                f"got {_describe(grad_window)}.")
            grad_min, grad_max = grad_window
        super().__init__(_ilif.MultiLevelSpikeCount(max_spike_count, grad_min, grad_max, spiking))



# --------------------------------------------------------------------------- #
# functional forms (SpikingJelly 2.0.0's lower-case names)
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=256)
def _core_of(core_type: type, params: tuple) -> _core.SurrogateFunction:
    return core_type(*params)


class _SpikeFunction:
    """A surrogate spike as a function: ``f(x, *params)`` or ``f.apply(x, *params)``.

    ``Θ(x)`` forward and ``grad * σ'(x)`` backward, computed by the core
    surrogate ``core_type(*params)``; parameters are positional as in
    SpikingJelly 2.0.0 and defaults apply where it has them.
    """

    def __init__(self, name: str, core_type: type, names: tuple, defaults: tuple = ()):
        self.__name__ = name
        self.__qualname__ = name
        self.core_type = core_type
        self.names = names
        self.defaults = defaults
        self.__doc__ = (f"{name}(x, {', '.join(names)}): spike with the surrogate gradient of "
                        f":class:`fnsnn.surrogate.{core_type.__name__}`.")

    def _params(self, params: tuple) -> tuple:
        n, d = len(self.names), len(self.defaults)
        if not n - d <= len(params) <= n:
            raise TypeError(f"{self.__name__}: expected the parameters ({', '.join(self.names)}) after `x`, "
                            f"got {len(params)} value(s).")
        params = params + self.defaults[len(params) - (n - d):]
        for name, value in zip(self.names, params):
            if isinstance(value, torch.Tensor):
                raise TypeError(f"{self.__name__}: `{name}` must be a Python number, got {_describe(value)}.")
        return tuple(params)

    def core(self, *params) -> _core.SurrogateFunction:
        """The core surrogate for these parameters."""
        return _core_of(self.core_type, self._params(params))

    def apply(self, x: torch.Tensor, *params) -> torch.Tensor:
        return self(x, *params)

    def __call__(self, x: torch.Tensor, *params) -> torch.Tensor:
        core = self.core(*params)
        check_tensor(self.__name__, "x", x)
        return core.spike(x)

    def __repr__(self) -> str:
        return f"<surrogate function {self.__name__}>"


class _PoissonFunction:
    """``poisson_pass(x, generator)``: Bernoulli spikes ``rand < x``, identity gradient.

    SpikingJelly 2.0.0 draws from the global RNG; here the generator is explicit.
    """

    __name__ = "poisson_pass"

    def apply(self, x: torch.Tensor, generator: Optional[torch.Generator] = None, *,
              noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self(x, generator, noise=noise)

    def __call__(self, x: torch.Tensor, generator: Optional[torch.Generator] = None, *,
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        return _core.PoissonPass()(x, generator, noise=noise)

    def __repr__(self) -> str:
        return "<surrogate function poisson_pass>"


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``Θ(x) = 1`` where ``x >= 0`` else ``0`` (no gradient); see :func:`fnsnn.surrogate.heaviside`."""
    check_tensor("heaviside", "x", x)
    return _core.heaviside(x)


sigmoid = _SpikeFunction("sigmoid", _core.Sigmoid, ("alpha",))
atan = _SpikeFunction("atan", _core.ATan, ("alpha",))
piecewise_quadratic = _SpikeFunction("piecewise_quadratic", _core.PiecewiseQuadratic, ("alpha",))
piecewise_exp = _SpikeFunction("piecewise_exp", _core.PiecewiseExp, ("alpha",))
soft_sign = _SpikeFunction("soft_sign", _core.SoftSign, ("alpha",))
erf = _SpikeFunction("erf", _core.Erf, ("alpha",))
piecewise_leaky_relu = _SpikeFunction("piecewise_leaky_relu", _core.PiecewiseLeakyReLU, ("w", "c"), (1.0, 0.01))
super_spike = _SpikeFunction("super_spike", _core.SuperSpike, ("alpha",))
rect = _SpikeFunction("rect", _core.Rect, ("alpha",))
q_pseudo_spike = _SpikeFunction("q_pseudo_spike", _core.QPseudoSpike, ("alpha",))
leaky_k_relu = _SpikeFunction("leaky_k_relu", _core.LeakyKReLU, ("leak", "k"))
s2nn = _SpikeFunction("s2nn", _core.S2NN, ("alpha", "beta"))
log_tailed_relu = _SpikeFunction("log_tailed_relu", _core.LogTailedReLU, ("alpha",))
nonzero_sign_log_abs = _SpikeFunction("nonzero_sign_log_abs", _core.NonzeroSignLogAbs, ("alpha",))
fake_numerical_gradient = _SpikeFunction("fake_numerical_gradient", _core.FakeNumericalGradient, ("alpha",))
squarewave_fourier_series = _SpikeFunction("squarewave_fourier_series", _core.SquarewaveFourierSeries,
                                           ("n", "T_period"))
deterministic_pass = _SpikeFunction("deterministic_pass", _core.DeterministicPass, ())
poisson_pass = _PoissonFunction()


def _backward_of(form: _SpikeFunction):
    nparams = len(form.names)

    def backward(grad_output: torch.Tensor, x: torch.Tensor, *params):
        name = f"{form.__name__}_backward"
        check_tensor(name, "grad_output", grad_output)
        check_tensor(name, "x", x)
        if len(params) != nparams:
            raise TypeError(f"{name}: expected (grad_output, x, {', '.join(form.names)}), "
                            f"got {len(params)} parameter(s) after `x`.")
        return (grad_output * form.core(*params).derivative(x),) + (None,) * nparams

    backward.__name__ = backward.__qualname__ = f"{form.__name__}_backward"
    backward.__doc__ = (f"``(grad_output * σ'(x), None, ...)``: the backward of :data:`{form.__name__}` "
                        f"as a plain function.")
    return backward


sigmoid_backward = _backward_of(sigmoid)
atan_backward = _backward_of(atan)
piecewise_quadratic_backward = _backward_of(piecewise_quadratic)
piecewise_exp_backward = _backward_of(piecewise_exp)
soft_sign_backward = _backward_of(soft_sign)
erf_backward = _backward_of(erf)
piecewise_leaky_relu_backward = _backward_of(piecewise_leaky_relu)
super_spike_backward = _backward_of(super_spike)
rect_backward = _backward_of(rect)
leaky_k_relu_backward = _backward_of(leaky_k_relu)
log_tailed_relu_backward = _backward_of(log_tailed_relu)
nonzero_sign_log_abs_backward = _backward_of(nonzero_sign_log_abs)
fake_numerical_gradient_backward = _backward_of(fake_numerical_gradient)
