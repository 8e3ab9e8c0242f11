"""Univariate continuous families with closed forms: Normal, Uniform, Exponential, Laplace,
Cauchy, Gamma, Chi2, Beta and StudentT.

Every formula is written with graphc tensor ops, so ``log_prob``, ``entropy``, ``cdf`` and
``rsample`` are differentiable by graphc's autograd. Sampling by inversion uses graphc's own
uniform and normal draws; the gamma-based families draw through :mod:`._sampling`.
"""

from __future__ import annotations

import math
import numbers

from .. import _functional as _F
from .. import special as _special
from .._factories import full as _full
from .._factories import full_like as _full_like
from .._factories import rand as _rand
from .._factories import randn as _randn
from .._factories import zeros_like as _zeros_like
from .._tensor import Size, Tensor
from . import _sampling, constraints
from .distribution import Distribution, ExponentialFamily, _eps, _tiny, broadcast_all

__all__ = ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy", "Gamma", "Chi2", "Beta", "StudentT"]

_LOG_2PI = math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)


def _uniform(shape, like: Tensor, low_eps=False):
    """Uniform draws in [0, 1) of ``like``'s dtype; in (0, 1) when ``low_eps`` (clamped off 0)."""
    u = _rand(tuple(shape), dtype=like.dtype)
    return u.clamp(min=_tiny(like.dtype)) if low_eps else u


def _nan_like(t: Tensor):
    return _full(tuple(t.shape), math.nan, dtype=t.dtype)


def _lbeta(a, b):
    return a.lgamma() + b.lgamma() - (a + b).lgamma()


def _all_numbers(*xs):
    return all(isinstance(x, numbers.Number) for x in xs)


class _LocScale(Distribution):
    """Shared constructor of the location-scale families."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(Size() if _all_numbers(loc, scale) else self.loc.shape, validate_args=validate_args)

    @property
    def mode(self):
        return self.loc

    def _z(self, value):
        return (value - self.loc) / self.scale


class Normal(_LocScale, ExponentialFamily):
    """Normal (Gaussian) distribution with mean ``loc`` and standard deviation ``scale``."""

    @property
    def mean(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        return self.loc.expand(shape) + self.scale.expand(shape) * _randn(tuple(shape), dtype=self.loc.dtype)

    def sample(self, sample_shape=Size()):
        return self.rsample(sample_shape).detach()

    def log_prob(self, value):
        self._check(value)
        return -((value - self.loc) ** 2) / (2 * self.scale**2) - self.scale.log() - 0.5 * _LOG_2PI

    def cdf(self, value):
        self._check(value)
        return 0.5 * (1 + _F.erf(self._z(value) / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * _F.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * _LOG_2PI + self.scale.log()


class Uniform(Distribution):
    """Uniform distribution on the half-open interval ``[low, high)``."""

    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(Size() if _all_numbers(low, high) else self.low.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return _nan_like(self.high)

    @property
    def stddev(self):
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        return self.low + _uniform(shape, self.low) * (self.high - self.low)

    def log_prob(self, value):
        self._check(value)
        inside = ((self.low <= value) & (value < self.high)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value):
        self._check(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Exponential(ExponentialFamily):
    """Exponential distribution with rate ``rate`` (mean ``1 / rate``)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(Size() if _all_numbers(rate) else self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=Size()):
        u = _uniform(self._extended_shape(sample_shape), self.rate)
        return -(-u).log1p() / self.rate  # -log(1 - u) is a standard exponential draw

    def log_prob(self, value):
        self._check(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        self._check(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(_LocScale):
    """Laplace (double exponential) distribution: density ``exp(-|x - loc| / scale) / (2 scale)``."""

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = _eps(self.loc.dtype)
        u = (2 * _rand(tuple(shape), dtype=self.loc.dtype) - 1).clamp(min=eps - 1)  # in (-1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        self._check(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        self._check(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def icdf(self, value):
        t = value - 0.5
        return self.loc - self.scale * t.sign() * (-2 * t.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


class Cauchy(_LocScale):
    """Cauchy (Lorentz) distribution: no mean or variance (NaN and infinity)."""

    @property
    def mean(self):
        return _nan_like(self.loc)

    @property
    def variance(self):
        return _full(tuple(self.loc.shape), math.inf, dtype=self.loc.dtype)

    def rsample(self, sample_shape=Size()):
        u = _uniform(self._extended_shape(sample_shape), self.loc)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value):
        self._check(value)
        return -_LOG_PI - self.scale.log() - (self._z(value) ** 2).log1p()

    def cdf(self, value):
        self._check(value)
        return self._z(value).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    ``rsample`` is reparameterized: its gradient in ``concentration`` is the implicit one of
    :func:`._sampling.standard_gamma`.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        shape = Size() if _all_numbers(concentration, rate) else self.concentration.shape
        super().__init__(shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        x = _sampling.standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return x.clamp(min=_tiny(x.dtype))

    def log_prob(self, value):
        self._check(value)
        a, r = self.concentration, self.rate
        return _special.xlogy(a, r) + _special.xlogy(a - 1, value) - r * value - a.lgamma()

    def cdf(self, value):
        self._check(value)
        return _special.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1 - a) * a.digamma()


class Chi2(Gamma):
    """Chi-squared distribution with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df_t,) = broadcast_all(df)
        super().__init__(0.5 * df_t, _full_like(df_t, 0.5), validate_args=validate_args)
        if isinstance(df, numbers.Number):
            self._batch_shape = Size()

    @property
    def df(self):
        return self.concentration * 2


class Beta(ExponentialFamily):
    """Beta distribution on [0, 1]: density proportional to
    ``x ** (concentration1 - 1) * (1 - x) ** (concentration0 - 1)``."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self._c1, self._c0 = broadcast_all(concentration1, concentration0)
        shape = Size() if _all_numbers(concentration1, concentration0) else self._c1.shape
        super().__init__(shape, validate_args=validate_args)

    @property
    def concentration1(self):
        return self._c1

    @property
    def concentration0(self):
        return self._c0

    @property
    def mean(self):
        return self._c1 / (self._c1 + self._c0)

    @property
    def mode(self):
        a, b = (self._c1 - 1).clamp(min=0), (self._c0 - 1).clamp(min=0)
        m = a / (a + b)
        # both concentrations below one: the density is largest at the end of the larger one
        both_small = (self._c1 < 1) & (self._c0 < 1)
        return _F.where(both_small, (self._c1 >= self._c0).to(m.dtype), m)

    @property
    def variance(self):
        t = self._c1 + self._c0
        return self._c1 * self._c0 / (t.pow(2) * (t + 1))

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        g1 = _sampling.standard_gamma(self._c1.expand(shape))
        g0 = _sampling.standard_gamma(self._c0.expand(shape))
        eps = _eps(g1.dtype)
        return (g1 / (g1 + g0)).clamp(min=_tiny(g1.dtype), max=1 - eps)

    def log_prob(self, value):
        self._check(value)
        a, b = self._c1, self._c0
        return _special.xlogy(a - 1, value) + _special.xlog1py(b - 1, -value) - _lbeta(a, b)

    def entropy(self):
        a, b = self._c1, self._c0
        return _lbeta(a, b) - (a - 1) * a.digamma() - (b - 1) * b.digamma() + (a + b - 2) * (a + b).digamma()


class StudentT(Distribution):
    """Student's t distribution with ``df`` degrees of freedom, location ``loc`` and scale ``scale``."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        shape = Size() if _all_numbers(df, loc, scale) else self.df.shape
        super().__init__(shape, validate_args=validate_args)

    @property
    def mean(self):
        return _F.where(self.df > 1, self.loc, _nan_like(self.loc))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale.pow(2) * df / (df - 2)
        inf = _full(tuple(df.shape), math.inf, dtype=df.dtype)
        return _F.where(df > 2, finite, _F.where(df > 1, inf, _nan_like(df)))

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        df = self.df.expand(shape)
        z = _randn(shape, dtype=df.dtype)
        chi2 = 2 * _sampling.standard_gamma(0.5 * df)
        return self.loc + self.scale * z * (df / chi2).sqrt()

    def log_prob(self, value):
        self._check(value)
        df = self.df
        z = (value - self.loc) / self.scale
        norm = ((df + 1) / 2).lgamma() - (df / 2).lgamma() - 0.5 * (df * math.pi).log() - self.scale.log()
        return norm - (df + 1) / 2 * (z.pow(2) / df).log1p()

    def entropy(self):
        df = self.df
        half = _full_like(df, 0.5)
        return ((df + 1) / 2 * (((df + 1) / 2).digamma() - (df / 2).digamma()) + 0.5 * df.log()
                + _lbeta(df / 2, half) + self.scale.log())
