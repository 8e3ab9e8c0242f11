"""Multivariate families: Dirichlet, MultivariateNormal, LowRankMultivariateNormal and
MixtureSameFamily.

The normal families work with a lower Cholesky factor L of the covariance (``Sigma = L L^T``):
the Mahalanobis term is ``|L^{-1} (x - mu)|^2`` (one triangular solve) and
``log det Sigma = 2 sum(log diag L)``. The low-rank family uses the matrix determinant lemma and
Woodbury's identity with the ``r x r`` capacitance matrix ``C = I + W^T D^{-1} W``.
"""

from __future__ import annotations

import math

from .. import _functional as _F
from .. import linalg as _linalg
from .. import special as _special
from .._factories import eye as _eye
from .._factories import randn as _randn
from .._tensor import Size
from ..autograd.grad_mode import no_grad
from . import _sampling, constraints
from .discrete import Categorical
from .distribution import Distribution, ExponentialFamily, _eps, _tiny, lazy_property

__all__ = ["Dirichlet", "MultivariateNormal", "LowRankMultivariateNormal", "MixtureSameFamily"]

_LOG_2PI = math.log(2 * math.pi)


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution on the simplex with ``concentration`` alpha (last dimension = event)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def rsample(self, sample_shape=Size()):
        """Normalized Gamma(alpha_i, 1) draws; the gradient flows through each gamma's implicit one."""
        g = _sampling.standard_gamma(self.concentration.expand(tuple(self._extended_shape(sample_shape))))
        return (g / g.sum(-1, keepdim=True)).clamp(min=_tiny(g.dtype), max=1 - _eps(g.dtype))

    def log_prob(self, value):
        self._check(value)
        a = self.concentration
        return _special.xlogy(a - 1, value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        a = self.concentration
        m = (a - 1).clamp(min=0)
        m = m / m.sum(-1, keepdim=True)
        all_small = (a < 1).all(-1, keepdim=True)
        one_hot = (a == a.max(-1, keepdim=True).values).to(a.dtype)
        return _F.where(all_small, one_hot, m)

    @property
    def variance(self):
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0.pow(2) * (a0 + 1))

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return a.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((a - 1) * a.digamma()).sum(-1)


def _mahalanobis_sq(L, diff):
    """|L^{-1} diff|^2 over the last dimension, broadcasting L's batch dimensions with diff's."""
    n = L.shape[-1]
    shape = tuple(_F.broadcast_shapes(tuple(L.shape[:-2]), tuple(diff.shape[:-1])))
    z = _linalg.solve_triangular(L.expand(shape + (n, n)), diff.expand(shape + (n,)).unsqueeze(-1), upper=False)
    return z.squeeze(-1).pow(2).sum(-1)


def _check_matrix(m, name):
    if m.dim() < 2:
        raise ValueError(f"{name} must be at least two-dimensional, with optional leading batch dimensions")


class MultivariateNormal(Distribution):
    """Multivariate normal with mean ``loc`` and exactly one of ``covariance_matrix``,
    ``precision_matrix`` (its inverse) or ``scale_tril`` (its lower Cholesky factor)."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _no_expand = ("_unbroadcasted_scale_tril",)

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(k, m) for k, m in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, matrix), = given
        _check_matrix(matrix, name)
        batch = tuple(_F.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, matrix.expand(batch + tuple(matrix.shape[-2:])))
        self.loc = loc.expand(batch + (-1,))
        super().__init__(batch, self.loc.shape[-1:], validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _linalg.cholesky(_linalg.inv(matrix))

    @lazy_property
    def scale_tril(self):
        L = self._unbroadcasted_scale_tril
        return L.expand(tuple(self._batch_shape) + tuple(L.shape[-2:]))

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(tuple(self._batch_shape) + tuple(L.shape[-2:]))

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        n = L.shape[-1]
        eye = _eye(n, dtype=L.dtype).expand(tuple(L.shape))
        Linv = _linalg.solve_triangular(L, eye, upper=False)
        return (Linv.mT @ Linv).expand(tuple(self._batch_shape) + (n, n))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        eps = _randn(shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        self._check(value)
        m = _mahalanobis_sq(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + m) - self._half_log_det()

    def entropy(self):
        h = 0.5 * self._event_shape[0] * (1.0 + _LOG_2PI) + self._half_log_det()
        return h.expand(tuple(self._batch_shape)) if len(self._batch_shape) else h


class LowRankMultivariateNormal(Distribution):
    """Multivariate normal with covariance ``cov_factor @ cov_factor.mT + diag(cov_diag)``."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        _check_matrix(cov_factor, "cov_factor")
        if cov_factor.shape[-2:-1] != (n,):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if cov_diag.shape[-1:] != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {loc.shape[-1:]}")
        batch = tuple(_F.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                          tuple(cov_diag.shape[:-1])))
        self.loc = loc.expand(batch + (n,))
        self.cov_factor = cov_factor.expand(batch + tuple(cov_factor.shape[-2:]))
        self.cov_diag = cov_diag.expand(batch + (n,))
        super().__init__(batch, (n,), validate_args=validate_args)

    def _capacitance_tril(self):
        W, D = self.cov_factor, self.cov_diag
        r = W.shape[-1]
        C = _eye(r, dtype=W.dtype) + W.mT @ (W / D.unsqueeze(-1))
        return _linalg.cholesky(C)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        return self.cov_factor.pow(2).sum(-1) + self.cov_diag

    @lazy_property
    def covariance_matrix(self):
        return self.cov_factor @ self.cov_factor.mT + _F.diag_embed(self.cov_diag)

    @lazy_property
    def scale_tril(self):
        return _linalg.cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        W, D = self.cov_factor, self.cov_diag
        Lc = self._capacitance_tril()
        A = _linalg.solve_triangular(Lc, (W / D.unsqueeze(-1)).mT, upper=False)  # Lc^{-1} W^T D^{-1}
        return _F.diag_embed(D.reciprocal()) - A.mT @ A

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        r = self.cov_factor.shape[-1]
        e_w = _randn(shape[:-1] + (r,), dtype=self.loc.dtype)
        e_d = _randn(shape, dtype=self.loc.dtype)
        return self.loc + (self.cov_factor @ e_w.unsqueeze(-1)).squeeze(-1) + self.cov_diag.sqrt() * e_d

    def _log_det(self, Lc):
        return 2 * Lc.diagonal(dim1=-2, dim2=-1).log().sum(-1) + self.cov_diag.log().sum(-1)

    def log_prob(self, value):
        self._check(value)
        W, D = self.cov_factor, self.cov_diag
        diff = value - self.loc
        Lc = self._capacitance_tril()
        proj = (W.mT @ (diff / D).unsqueeze(-1)).squeeze(-1)  # W^T D^{-1} x
        m = (diff.pow(2) / D).sum(-1) - _mahalanobis_sq(Lc, proj)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + m + self._log_det(Lc))

    def entropy(self):
        return 0.5 * (self._event_shape[0] * (1.0 + _LOG_2PI) + self._log_det(self._capacitance_tril()))


class MixtureSameFamily(Distribution):
    """A mixture whose components are the rightmost batch dimension of ``component_distribution``,
    weighted by the Categorical ``mixture_distribution``."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of graphc.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of graphc.distributions.Distribution")
        mdbs = tuple(mixture_distribution.batch_shape)
        cdbs = tuple(component_distribution.batch_shape)[:-1]
        for s1, s2 in zip(reversed(mdbs), reversed(cdbs)):
            if s1 != 1 and s2 != 1 and s1 != s2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({Size(mdbs)}) is not compatible with "
                                 f"`component_distribution.batch_shape`({Size(cdbs)})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = MixtureSameFamily(self._mixture_distribution.expand(batch_shape),
                                self._component_distribution.expand(batch_shape + (self._num_component,)),
                                validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        return self._component_distribution.support

    def _pad(self, x):
        """Weights of shape batch + (K,) made to broadcast with component values (+ event dims)."""
        return x.reshape(tuple(x.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        p = self._pad(self._mixture_distribution.probs)
        return (p * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        p = self._pad(self._mixture_distribution.probs)
        d = -1 - self._event_ndims
        comp = self._component_distribution
        mean = (p * comp.mean).sum(d)
        return (p * comp.variance).sum(d) + (p * (comp.mean - mean.unsqueeze(d)).pow(2)).sum(d)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value.unsqueeze(-1 - self._event_ndims)
        lp = self._component_distribution.log_prob(x)
        return (lp + _F.log_softmax(self._mixture_distribution.logits, -1)).logsumexp(-1)

    def cdf(self, value):
        x = value.unsqueeze(-1 - self._event_ndims)
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape=Size()):
        with no_grad():
            sample_shape = tuple(sample_shape)
            idx = self._mixture_distribution.sample(sample_shape)  # sample + batch
            comps = self._component_distribution.sample(sample_shape)  # sample + batch + (K,) + event
            d = len(sample_shape) + len(self._batch_shape)
            es = tuple(self._event_shape)
            idx = idx.reshape(tuple(idx.shape) + (1,) + (1,) * len(es)).expand(tuple(idx.shape) + (1,) + es)
            return comps.gather(d, idx).squeeze(d)

    def __repr__(self):
        return (f"{type(self).__name__}(\n  {self._mixture_distribution!r},\n"
                f"  {self._component_distribution!r})")
