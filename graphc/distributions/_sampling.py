"""Samplers graphc has no random op for: gamma (with its reparameterization gradient), Poisson
and binomial. They draw on the host with a numpy generator seeded from graphc's default
generator, so ``graphc.manual_seed`` makes them repeat.

Gamma's pathwise gradient is implicit: a draw ``x`` of Gamma(a, 1) is ``F_a^{-1}(u)`` for a
uniform ``u`` (``F_a`` the regularized lower incomplete gamma function ``P(a, x)``), and holding
``u`` fixed while ``a`` moves gives ``dx/da = -(dP/da)(a, x) / p(x; a)`` with ``p`` the density.
``dP/da`` is evaluated by a Richardson-extrapolated central difference of ``P`` (or of
``Q = 1 - P`` in the upper tail, where ``P`` has lost its relative precision) with a step of a
thousandth of ``min(a, sqrt(a))``, the scale on which ``P`` varies with ``a``: against 40-digit
references the result is within ~1e-10 relative for a in [0.05, 1000], quantiles 1e-6 to 1 - 1e-9.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as _dt
from ir.ops import npgamma

from .._factories import tensor as _tensor
from .._grad_mode import is_grad_enabled
from .._tensor import Tensor
from ..random import default_generator


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach().numpy(), dtype=np.float64)


def _tiny(dtype) -> float:
    return np.finfo(np.float64 if dtype == _dt.float64 else np.float32).tiny


def _dP_da(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d P(a, x) / d a at fixed x, by a 4th-order (Richardson) central difference."""
    upper = npgamma.igamma(a, x) > 0.5
    sign = np.where(upper, -1.0, 1.0)

    def f(aa):
        return np.where(upper, npgamma.igammac(aa, x), npgamma.igamma(aa, x))

    h = 1e-3 * np.minimum(a, np.sqrt(a))  # P varies in a on a scale of min(a, sqrt(a))
    d1 = (f(a + h) - f(a - h)) / (2 * h)
    d2 = (f(a + h / 2) - f(a - h / 2)) / h
    return sign * (4 * d2 - d1) / 3


def standard_gamma_grad(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/da for x ~ Gamma(a, 1) at fixed CDF level (float64 numpy)."""
    log_pdf = (a - 1) * np.log(x) - x - npgamma.lgamma(a)
    return -_dP_da(a, x) / np.exp(log_pdf)


def standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) draws of ``alpha``'s shape; differentiable in ``alpha`` (implicit gradient).

    The result is ``x + (alpha - alpha.detach()) * dx/da``: its value is the draw ``x`` and its
    derivative in ``alpha`` is ``dx/da``.
    """
    a = _host(alpha)
    rng = default_generator.numpy_rng()
    x = np.maximum(rng.standard_gamma(a), _tiny(alpha.dtype))
    out = _tensor(x, dtype=alpha.dtype)
    if alpha.requires_grad and is_grad_enabled():
        g = _tensor(standard_gamma_grad(a, x), dtype=alpha.dtype)
        out = out + (alpha - alpha.detach()) * g
    return out


def poisson(rate: Tensor) -> Tensor:
    rng = default_generator.numpy_rng()
    return _tensor(rng.poisson(_host(rate)).astype(np.float64), dtype=rate.dtype)


def binomial(count: Tensor, probs: Tensor) -> Tensor:
    rng = default_generator.numpy_rng()
    n = np.round(_host(count)).astype(np.int64)
    p = np.clip(_host(probs), 0.0, 1.0)
    return _tensor(rng.binomial(n, p).astype(np.float64), dtype=probs.dtype)
