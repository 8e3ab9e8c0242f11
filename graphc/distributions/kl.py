"""KL divergences ``KL(p || q) = E_p[log p(X) - log q(X)]`` (``torch.distributions.kl``).

Implementations are registered per pair of types with :func:`register_kl`; ``kl_divergence``
calls the one registered for the most specific pair of base classes of ``type(p)`` and
``type(q)``. Every closed form below follows from the definition by taking expectations of the
two log densities under ``p`` (``E log X``, ``E X``, second moments), written out at each rule.
"""

from __future__ import annotations

import math
import warnings

from .. import _functional as _F
from .. import linalg as _linalg
from .. import special as _special
from .._factories import full as _full
from .._tensor import Tensor
from .continuous import Beta, Exponential, Gamma, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, Geometric, OneHotCategorical, Poisson, softplus
from .distribution import Distribution
from .multivariate import Dirichlet, MultivariateNormal
from .transformed import Independent

__all__ = ["register_kl", "kl_divergence"]

_REGISTRY: dict = {}
_CACHE: dict = {}
_EULER = 0.57721566490153286061
_LOG_2PI = math.log(2 * math.pi)


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for ``p`` an instance of ``type_p`` and
    ``q`` of ``type_q`` (subclasses included, unless a more specific pair is registered)."""
    if not isinstance(type_p, type) or not issubclass(type_p, Distribution):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not isinstance(type_q, type) or not issubclass(type_q, Distribution):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fn):
        _REGISTRY[type_p, type_q] = fn
        _CACHE.clear()
        return fn

    return decorator


def _dispatch(tp, tq):
    matches = [(tp.__mro__.index(a), tq.__mro__.index(b), a, b) for a, b in _REGISTRY
               if issubclass(tp, a) and issubclass(tq, b)]
    if not matches:
        return None
    left = min(matches, key=lambda m: (m[0], m[1]))
    right = min(matches, key=lambda m: (m[1], m[0]))
    if left[2:] != right[2:]:
        warnings.warn(f"Ambiguous kl_divergence({tp.__name__}, {tq.__name__}). Please register_kl"
                      f"({left[2].__name__}, {right[3].__name__})", RuntimeWarning)
    return _REGISTRY[left[2], left[3]]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), batched over the two distributions' broadcast batch shapes."""
    key = (type(p), type(q))
    if key not in _CACHE:
        _CACHE[key] = _dispatch(*key)
    fn = _CACHE[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and "
                                  f"q type {type(q).__name__}")
    return fn(p, q)


def _inf_like(t):
    return _full(tuple(t.shape), math.inf, dtype=t.dtype)


def _lbeta(a, b):
    return a.lgamma() + b.lgamma() - (a + b).lgamma()


@register_kl(Normal, Normal)
def _normal_normal(p, q):
    # E_p[(x - m2)^2] = s1^2 + (m1 - m2)^2
    return (q.scale / p.scale).log() + (p.scale.pow(2) + (p.loc - q.loc).pow(2)) / (2 * q.scale.pow(2)) - 0.5


@register_kl(Bernoulli, Bernoulli)
def _bernoulli_bernoulli(p, q):
    # p (log p1 - log q1) + (1 - p)(log(1 - p1) - log(1 - q1)), logs from the logits
    a = p.probs
    t1 = a * (softplus(-q.logits) - softplus(-p.logits))
    t2 = (1 - a) * (softplus(q.logits) - softplus(p.logits))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = _F.where(q.probs == 0, _inf_like(t), t)
    t = _F.where(p.probs == 0, t * 0, t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _onehot_onehot(p, q):
    return _categorical_categorical(p._categorical, q._categorical)


@register_kl(Beta, Beta)
def _beta_beta(p, q):
    # E log x = psi(a) - psi(a + b), E log(1 - x) = psi(b) - psi(a + b)
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (_lbeta(a2, b2) - _lbeta(a1, b1) + (a1 - a2) * a1.digamma() + (b1 - b2) * b1.digamma()
            + (a2 - a1 + b2 - b1) * (a1 + b1).digamma())


@register_kl(Gamma, Gamma)
def _gamma_gamma(p, q):
    # E log x = psi(a1) - log r1, E x = a1 / r1
    a1, r1, a2, r2 = p.concentration, p.rate, q.concentration, q.rate
    return (a1 - a2) * a1.digamma() - a1.lgamma() + a2.lgamma() + a2 * (r1.log() - r2.log()) + a1 * (r2 - r1) / r1


@register_kl(Dirichlet, Dirichlet)
def _dirichlet_dirichlet(p, q):
    # E log x_i = psi(a_i) - psi(sum a)
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    e_log = a.digamma() - a0.digamma().unsqueeze(-1)
    return a0.lgamma() - a.lgamma().sum(-1) - b0.lgamma() + b.lgamma().sum(-1) + ((a - b) * e_log).sum(-1)


@register_kl(Exponential, Exponential)
def _exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return -ratio.log() + ratio - 1


@register_kl(Laplace, Laplace)
def _laplace_laplace(p, q):
    # E_p |x - m2| = d + s1 exp(-d / s1), d = |m1 - m2|
    d = (p.loc - q.loc).abs()
    return (q.scale / p.scale).log() + d / q.scale + p.scale / q.scale * (-d / p.scale).exp() - 1


@register_kl(Uniform, Uniform)
def _uniform_uniform(p, q):
    out = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return _F.where(outside, _inf_like(out), out)


@register_kl(Poisson, Poisson)
def _poisson_poisson(p, q):
    a, b = p.rate, q.rate
    return _special.xlogy(a, a) - _special.xlogy(a, b) - a + b


@register_kl(Geometric, Geometric)
def _geometric_geometric(p, q):
    # E_p x = (1 - p1) / p1
    a, b = p.probs, q.probs
    return a.log() - b.log() + (1 - a) / a * ((-a).log1p() - (-b).log1p())


@register_kl(MultivariateNormal, MultivariateNormal)
def _mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    L1, L2 = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    batch = tuple(_F.broadcast_shapes(tuple(L1.shape[:-2]), tuple(L2.shape[:-2]), tuple(p.batch_shape),
                                      tuple(q.batch_shape)))
    L1e, L2e = L1.expand(batch + (n, n)), L2.expand(batch + (n, n))
    trace = _linalg.solve_triangular(L2e, L1e, upper=False).pow(2).sum((-2, -1))  # tr(S2^-1 S1)
    diff = (q.loc - p.loc).expand(batch + (n,))
    maha = _linalg.solve_triangular(L2e, diff.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)
    half_logdet = (L2e.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1e.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return half_logdet + 0.5 * (trace + maha - n)


@register_kl(Independent, Independent)
def _independent_independent(p, q):
    n = p.reinterpreted_batch_ndims
    if n != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    kl = kl_divergence(p.base_dist, q.base_dist)
    return kl.reshape(tuple(kl.shape[: kl.dim() - n]) + (-1,)).sum(-1) if n else kl


# -- pairs across families ------------------------------------------------------------------------
def _normal_log_q_mean(mean, var, q):
    """E[log q(X)] for q Normal and X with the given mean and variance."""
    return -q.scale.log() - 0.5 * _LOG_2PI - (var + (mean - q.loc).pow(2)) / (2 * q.scale.pow(2))


@register_kl(Exponential, Normal)
def _exponential_normal(p, q):
    return -p.entropy() - _normal_log_q_mean(p.mean, p.variance, q)


@register_kl(Gamma, Normal)
def _gamma_normal(p, q):
    return -p.entropy() - _normal_log_q_mean(p.mean, p.variance, q)


@register_kl(Uniform, Normal)
def _uniform_normal(p, q):
    return -p.entropy() - _normal_log_q_mean(p.mean, p.variance, q)


@register_kl(Beta, Normal)
def _beta_normal(p, q):
    return -p.entropy() - _normal_log_q_mean(p.mean, p.variance, q)


@register_kl(Exponential, Gamma)
def _exponential_gamma(p, q):
    # E log x = -euler - log rate, E x = 1 / rate
    a, r, lam = q.concentration, q.rate, p.rate
    log_q = _special.xlogy(a, r) + (a - 1) * (-_EULER - lam.log()) - r / lam - a.lgamma()
    return -p.entropy() - log_q


@register_kl(Gamma, Exponential)
def _gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Uniform, Gamma)
def _uniform_gamma(p, q):
    # E log x over [l, h] = (h log h - l log l) / (h - l) - 1; infinite when l < 0
    lo, hi, a, r = p.low, p.high, q.concentration, q.rate
    e_log = (_special.xlogy(hi, hi) - _special.xlogy(lo, lo)) / (hi - lo) - 1
    out = -p.entropy() - (_special.xlogy(a, r) + (a - 1) * e_log - r * p.mean - a.lgamma())
    return _F.where(lo < 0, _inf_like(out), out)


@register_kl(Uniform, Exponential)
def _uniform_exponential(p, q):
    out = -p.entropy() - q.rate.log() + q.rate * p.mean
    return _F.where(p.low < 0, _inf_like(out), out)


def _infinite(p, q):
    shape = tuple(_F.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape)))
    return _full(shape, math.inf, dtype=_param_dtype(p))


def _param_dtype(d):
    for v in d.__dict__.values():
        if isinstance(v, Tensor) and v.is_floating_point():
            return v.dtype
    return None


for _p in (Normal, Laplace):  # unbounded support against a bounded one
    for _q in (Beta, Exponential, Gamma, Uniform):
        register_kl(_p, _q)(_infinite)
for _p in (Exponential, Gamma):
    for _q in (Beta, Uniform):
        register_kl(_p, _q)(_infinite)
