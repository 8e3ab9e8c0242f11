"""Distributions built from others: Independent, TransformedDistribution, and the families
PyTorch defines as transformed ones (LogNormal, Gumbel, HalfNormal, RelaxedBernoulli,
RelaxedOneHotCategorical).

A TransformedDistribution draws ``x`` from the base and returns ``y = t_n(...t_1(x))``; its
density follows from the change of variables,
``log p(y) = log p_base(x) - sum_i log|det J_{t_i}|``.
"""

from __future__ import annotations

import math

from .. import _functional as _F
from .._factories import full_like as _full_like
from .._factories import rand as _rand
from .._factories import zeros_like as _zeros_like
from .._tensor import Size, Tensor
from ..autograd.grad_mode import no_grad
from . import constraints
from .continuous import Normal, Uniform
from .discrete import _Binary, _one_of, softplus
from .distribution import Distribution, _eps, _tiny, broadcast_all, lazy_property, logits_to_probs, probs_to_logits
from .transforms import AbsTransform, AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform, Transform

__all__ = ["Independent", "TransformedDistribution", "LogNormal", "Gumbel", "HalfNormal", "RelaxedBernoulli",
           "RelaxedOneHotCategorical"]

_EULER = 0.57721566490153286061


def _sum_rightmost(x, n):
    if n <= 0:
        return x
    return x.reshape(tuple(x.shape[: x.dim() - n]) + (-1,)).sum(-1)


class Independent(Distribution):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` batch dimensions of
    ``base_distribution`` as event dimensions (log_prob and entropy are summed over them)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        if n > len(base_distribution.batch_shape):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                             f"actual {n} vs {len(base_distribution.batch_shape)}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        cut = len(shape) - n - len(base_distribution.event_shape)
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        n = self.reinterpreted_batch_ndims
        tail = tuple(self.base_dist.batch_shape)[len(self.base_dist.batch_shape) - n:]
        new = Independent(self.base_dist.expand(tuple(batch_shape) + tail), n, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims else self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        s = self.base_dist.support
        return constraints.independent(s, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims else s

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=Size()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=Size()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand=True):
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class TransformedDistribution(Distribution):
    """``base_distribution`` pushed through ``transforms`` (one Transform or a list, applied in order)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        chain = ComposeTransform(self.transforms)
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        domain_event_dim = chain.domain.event_dim
        if len(base_shape) < domain_event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least {domain_event_dim}, "
                             f"but got {base_shape}.")
        if domain_event_dim > base_event_dim:
            base_distribution = Independent(base_distribution, domain_event_dim - base_event_dim)
        self.base_dist = base_distribution
        shape = tuple(chain.forward_shape(base_shape))
        event_dim = chain.codomain.event_dim + max(base_event_dim - domain_event_dim, 0)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        shape = tuple(batch_shape) + tuple(self._event_shape)
        base_shape = tuple(ComposeTransform(self.transforms).inverse_shape(shape))
        base_batch = base_shape[: len(base_shape) - len(self.base_dist.event_shape)]
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(base_batch)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        s = self.transforms[-1].codomain
        n = len(self._event_shape) - s.event_dim
        return constraints.independent(s, n) if n > 0 else s

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape=Size()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=Size()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        self._check(value)
        event_dim = len(self._event_shape)
        lp = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _sign(self):
        s = 1
        for t in self.transforms:
            s = s * t.sign
        return s

    def _flip(self, p):
        s = self._sign()
        if isinstance(s, int):
            return p if s == 1 else 1 - p
        return s * (p - 0.5) + 0.5

    def cdf(self, value):
        """The base CDF at the preimage (the transforms must be monotone: ``sign`` defined)."""
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._flip(self.base_dist.cdf(value))

    def icdf(self, value):
        x = self.base_dist.icdf(self._flip(value))
        for t in self.transforms:
            x = t(x)
        return x


class _FromParams:
    """expand() for the transformed families: rebuild from expanded parameters."""

    def expand(self, batch_shape, _instance=None):
        params = {k: getattr(self, k).expand(tuple(batch_shape)) for k in self._rebuild}
        new = type(self)(**params, validate_args=False)
        new._validate_args = self._validate_args
        return new


class LogNormal(_FromParams, TransformedDistribution):
    """exp(X) for X ~ Normal(loc, scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True
    _rebuild = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class HalfNormal(_FromParams, TransformedDistribution):
    """|X| for X ~ Normal(0, scale)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _rebuild = ("scale",)

    def __init__(self, scale, validate_args=None):
        super().__init__(Normal(0, scale, validate_args=False), AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return _zeros_like(self.scale)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def log_prob(self, value):
        self._check(value)
        return self.base_dist.log_prob(value) + math.log(2)

    def cdf(self, value):
        self._check(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class Gumbel(_FromParams, TransformedDistribution):
    """Gumbel (type-I extreme value) distribution: CDF ``exp(-exp(-(x - loc) / scale))``.

    Built as ``loc - scale * log(-log U)`` for U uniform, as PyTorch does."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _rebuild = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        dt = self.loc.dtype
        base = Uniform(_full_like(self.loc, _tiny(dt)), _full_like(self.loc, 1 - _eps(dt)), validate_args=validate_args)
        chain = [ExpTransform().inv, AffineTransform(0, -1), ExpTransform().inv,
                 AffineTransform(self.loc, -self.scale)]
        super().__init__(base, chain, validate_args=validate_args)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def log_prob(self, value):
        self._check(value)
        z = self._z(value)
        return -(z + (-z).exp()) - self.scale.log()

    def cdf(self, value):
        self._check(value)
        return (-(-self._z(value)).exp()).exp()

    def icdf(self, value):
        return self.loc - self.scale * (-value.log()).log()

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class _LogitRelaxedBernoulli(_Binary):
    """The logit of a RelaxedBernoulli draw: ``(logits + L) / temperature`` for logistic L."""

    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        (p,) = self._set_params(probs, logits)
        super().__init__(p.shape, validate_args=validate_args)

    _no_expand = ("temperature",)

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        lg = self.logits.expand(shape)
        u = _rand(shape, dtype=lg.dtype).clamp(min=_tiny(lg.dtype), max=1 - _eps(lg.dtype))
        return (lg + u.log() - (-u).log1p()) / self.temperature

    def log_prob(self, value):
        self._check(value)
        d = self.logits - self.temperature * value
        return self.temperature.log() + d - 2 * softplus(d)


class _Relaxed(TransformedDistribution):
    """A relaxed family: a base distribution over an unconstrained value (``_base``) pushed
    through one fixed transform (``_transform``); temperature, logits and probs are the base's."""

    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = self._base(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, self._transform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        TransformedDistribution.__init__(new, self.base_dist.expand(batch_shape), self._transform(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class RelaxedBernoulli(_Relaxed):
    """Concrete relaxation of Bernoulli on (0, 1): ``sigmoid((logits + L) / temperature)``,
    L logistic noise; reparameterized."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _base, _transform = _LogitRelaxedBernoulli, SigmoidTransform


class _ExpRelaxedCategorical(Distribution):
    """Log of a RelaxedOneHotCategorical draw: ``log_softmax((logits + G) / temperature)`` for
    Gumbel noise G. Its density (derived from the Concrete density by ``y = log x``) is
    ``lgamma(K) + (K - 1) log t + sum(s) - K logsumexp(s)``, ``s = logits - t y``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True
    _no_expand = ("temperature",)

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        self.temperature = temperature
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        param = self.__dict__.get("probs", self.__dict__.get("logits"))
        super().__init__(param.shape[:-1], param.shape[-1:], validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        lg = self.logits.expand(shape)
        u = _rand(shape, dtype=lg.dtype).clamp(min=_tiny(lg.dtype), max=1 - _eps(lg.dtype))
        g = -(-u.log()).log()
        return _F.log_softmax((lg + g) / self.temperature, -1)

    def log_prob(self, value):
        self._check(value)
        k = self._event_shape[0]
        t = self.temperature
        s = self.logits - t * value
        norm = math.lgamma(k) + (k - 1) * t.log() if isinstance(t, Tensor) else math.lgamma(k) + (k - 1) * math.log(t)
        return norm + s.sum(-1) - k * s.logsumexp(-1)


class RelaxedOneHotCategorical(_Relaxed):
    """Concrete (Gumbel-softmax) relaxation of OneHotCategorical on the simplex; reparameterized."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    _base, _transform = _ExpRelaxedCategorical, ExpTransform
