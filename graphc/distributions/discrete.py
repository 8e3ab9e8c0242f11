"""Discrete families: Bernoulli, Categorical, OneHotCategorical, Poisson, Binomial, Geometric.

The probability families take ``probs`` or ``logits`` (exactly one); the other is derived on
first use. Log-probabilities from logits use the stable ``softplus`` forms
(``log p = -softplus(-l)``, ``log(1 - p) = -softplus(l)``).
"""

from __future__ import annotations

import math

from ir import dtypes as _dt

from .. import _functional as _F
from .. import special as _special
from .._factories import arange as _arange
from .._factories import eye as _eye
from .._factories import full as _full
from .._factories import rand as _rand
from .._factories import zeros_like as _zeros_like
from .._tensor import Size
from . import _sampling, constraints
from .distribution import (
    Distribution,
    ExponentialFamily,
    _tiny,
    broadcast_all,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical", "Poisson", "Binomial", "Geometric"]


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _Binary(Distribution):
    """probs/logits bookkeeping of the families with one success probability."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

    def _set_params(self, probs, logits, *others):
        _one_of(probs, logits)
        if probs is not None:
            out = broadcast_all(probs, *others)
            self.probs = out[0]
        else:
            out = broadcast_all(logits, *others)
            self.logits = out[0]
        return out

    @property
    def _param(self):
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    def _log_p_q(self):
        """(log p, log(1 - p)), from whichever parameter was given."""
        if "probs" in self.__dict__:
            p = self.probs
            return p.log(), (-p).log1p()
        lg = self.logits
        return -softplus(-lg), -softplus(lg)

    @property
    def param_shape(self):
        return self._param.shape


class Bernoulli(_Binary, ExponentialFamily):
    """Bernoulli distribution: 1 with probability ``probs`` (sigmoid of ``logits``), else 0."""

    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        (p,) = self._set_params(probs, logits)
        super().__init__(p.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        m = (self.probs > 0.5).to(self.probs.dtype)
        return _F.where(self.probs == 0.5, _full(tuple(m.shape), math.nan, dtype=m.dtype), m)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        p = self.probs.detach().expand(shape)
        return (_rand(shape, dtype=p.dtype) < p).to(p.dtype)

    def log_prob(self, value):
        self._check(value)
        lg = self.logits
        return value * lg - softplus(lg)

    def entropy(self):
        lg, p = self.logits, self.probs
        return p * softplus(-lg) + (1 - p) * softplus(lg)

    def enumerate_support(self, expand=True):
        v = _arange(2, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return v.expand((2,) + tuple(self._batch_shape)) if expand else v


class Geometric(_Binary):
    """Number of failures before the first success in Bernoulli(``probs``) trials: 0, 1, 2, ..."""

    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        (p,) = self._set_params(probs, logits)
        super().__init__(p.shape, validate_args=validate_args)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return _zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        p = self.probs.detach().expand(shape)
        u = _rand(shape, dtype=p.dtype).clamp(min=_tiny(p.dtype))
        return (u.log() / (-p).log1p()).floor()

    def log_prob(self, value):
        self._check(value)
        if "probs" in self.__dict__:
            p = self.probs
            return _special.xlog1py(value, -p) + p.log()
        lp, lq = self._log_p_q()
        return value * lq + lp

    def entropy(self):
        lp, lq = self._log_p_q()
        p = self.probs
        return -(p * lp + (1 - p) * lq) / p


class Binomial(_Binary):
    """Number of successes in ``total_count`` Bernoulli(``probs``) trials."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        p, n = self._set_params(probs, logits, total_count)
        self.total_count = n.to(p.dtype)
        super().__init__(p.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        return _sampling.binomial(self.total_count.expand(shape), self.probs.detach().expand(shape))

    def log_prob(self, value):
        self._check(value)
        n = self.total_count
        log_choose = (n + 1).lgamma() - (value + 1).lgamma() - (n - value + 1).lgamma()
        if "probs" in self.__dict__:
            p = self.probs
            return log_choose + _special.xlogy(value, p) + _special.xlog1py(n - value, -p)
        lg = self.logits
        return log_choose + value * lg - n * softplus(lg)

    def _homogeneous_count(self, what):
        n = int(self.total_count.max().item())
        if not self.total_count.min().item() == n:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return n

    def enumerate_support(self, expand=True):
        n = self._homogeneous_count("enumerate_support")
        v = _arange(1 + n, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return v.expand((n + 1,) + tuple(self._batch_shape)) if expand else v

    def entropy(self):
        self._homogeneous_count("entropy")
        support = self.enumerate_support(expand=False)
        lp = self.log_prob(support)
        return -(lp.exp() * lp).sum(0)


class Poisson(ExponentialFamily):
    """Poisson distribution with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=Size()):
        return _sampling.poisson(self.rate.expand(tuple(self._extended_shape(sample_shape))))

    def log_prob(self, value):
        self._check(value)
        return _special.xlogy(value, self.rate) - self.rate - (value + 1).lgamma()


class Categorical(Distribution):
    """Distribution over ``{0, ..., K - 1}`` with probabilities ``probs`` (normalized over the
    last dimension) or unnormalized log-probabilities ``logits``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    @property
    def _param(self):
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    @property
    def param_shape(self):
        return self._param.shape

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        return _full(tuple(self._batch_shape), math.nan, dtype=self._param.dtype)

    @property
    def variance(self):
        return self.mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=Size()):
        sample_shape = Size(sample_shape)
        n = max(1, sample_shape.numel())
        p2 = self.probs.detach().reshape(-1, self._num_events)
        draws = _F.multinomial(p2, n, True).T  # (n, batch numel)
        return draws.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        self._check(value)
        idx = value.long().unsqueeze(-1)
        idx, lp = _F.broadcast_tensors(idx, self.logits)
        return lp.gather(-1, idx[..., :1]).squeeze(-1)

    def entropy(self):
        lo = self.logits.clamp(min=-1.7976931348623157e308 if self.logits.dtype == _dt.float64 else -3.4e38)
        return -(lo * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        v = _arange(self._num_events, dtype=_dt.int64).reshape((-1,) + (1,) * len(self._batch_shape))
        return v.expand((self._num_events,) + tuple(self._batch_shape)) if expand else v


class OneHotCategorical(Distribution):
    """Categorical draws written as one-hot vectors of length K (``event_shape == (K,)``)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        param = self._categorical._param
        self._init_shapes(param.shape[:-1], param.shape[-1:], validate_args)

    def _init_shapes(self, batch_shape, event_shape, validate_args):
        Distribution.__init__(self, batch_shape, event_shape, validate_args=False)
        if validate_args is None:
            del self._validate_args
        else:
            self._validate_args = validate_args

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        new._categorical = self._categorical.expand(batch_shape)
        new._init_shapes(batch_shape, self._event_shape, self.__dict__.get("_validate_args"))
        return new

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def _param(self):
        return self._categorical._param

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return self._one_hot(self.probs.argmax(-1))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _one_hot(self, idx):
        k = self._event_shape[0]
        return (idx.unsqueeze(-1) == _arange(k, dtype=_dt.int64)).to(self._param.dtype)

    def sample(self, sample_shape=Size()):
        return self._one_hot(self._categorical.sample(sample_shape))

    def log_prob(self, value):
        self._check(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        k = self._event_shape[0]
        v = _eye(k, dtype=self._param.dtype).reshape((k,) + (1,) * len(self._batch_shape) + (k,))
        return v.expand((k,) + tuple(self._batch_shape) + (k,)) if expand else v
