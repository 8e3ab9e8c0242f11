"""``graphc.distributions``: probability distributions with PyTorch's ``torch.distributions`` API.

Each family has ``sample``/``rsample`` (reparameterized where there is one), ``log_prob``,
``entropy``, moments, ``cdf``/``icdf`` where they have closed forms, ``expand`` and parameter
and sample validation; ``kl_divergence`` dispatches on registered pairs.

>>> import graphc
>>> from graphc import distributions as D
>>> D.Normal(0.0, 1.0).log_prob(graphc.tensor(0.0))
tensor(-0.9189)
"""

from __future__ import annotations

from . import constraints, transforms
from .continuous import Beta, Cauchy, Chi2, Exponential, Gamma, Laplace, Normal, StudentT, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution, ExponentialFamily
from .kl import kl_divergence, register_kl
from .multivariate import Dirichlet, LowRankMultivariateNormal, MixtureSameFamily, MultivariateNormal
from .transformed import (
    Gumbel,
    HalfNormal,
    Independent,
    LogNormal,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    TransformedDistribution,
)
from .transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2",
    "ComposeTransform", "Dirichlet", "Distribution", "ExpTransform", "Exponential", "ExponentialFamily", "Gamma",
    "Geometric", "Gumbel", "HalfNormal", "Independent", "Laplace", "LogNormal", "LowRankMultivariateNormal",
    "MixtureSameFamily", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "PowerTransform",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform",
    "StickBreakingTransform", "StudentT", "TanhTransform", "Transform", "TransformedDistribution", "Uniform",
    "constraints", "identity_transform", "kl_divergence", "register_kl", "transforms",
]
