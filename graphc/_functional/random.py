"""Sampling: ``multinomial``, ``bernoulli`` and the in-place random fills.

Everything here is written from the ``random_uniform`` primitive (whose seed is
a graph input, fresh per call under ``@graphc.compile``) and ordinary ops, so
it runs on every backend and traces like any other function:

* ``multinomial`` with replacement inverts the CDF: a sample is the number of
  cumulative weights at or below ``u * total`` (a compare and a sum, in float64
  so the CDF's rounding cannot pick a zero-weight category);
* without replacement it draws Gumbel keys ``log(w) - log(-log(u))`` once and
  takes the ``num_samples`` largest, which is sampling without replacement in
  proportion to the weights (the Gumbel-top-k identity); the largest are taken
  by repeated ``argmax`` under a trace and by one sort eagerly for many samples;
* the fills (``exponential_``, ``cauchy_``, ``geometric_``, ``log_normal_``)
  transform uniform numbers by the inverse CDF of their distribution.

The value checks PyTorch makes (negative or non-finite weights, an empty row)
need the values, so they run eagerly and are skipped on tracers.
"""

from __future__ import annotations

import math

import numpy as np

from ir import dtypes as dt

from .._factories import _from_array, arange, rand, randn
from .._grad_mode import no_grad
from .._inplace import _inplace_result
from ._common import _tensor_arg, _to, _write_out
from .elementwise import ceil, exp, log, log1p, lt, tan
from .joining import cat
from .pointwise import clamp, where
from .reductions import argmax, cumsum, sum
from .shape import narrow, reshape, unsqueeze

__all__ = ["multinomial", "bernoulli"]

# Eagerly, a compare-and-count CDF inversion larger than this (rows x samples x categories)
# searches the CDF on the host instead.
_HOST_SEARCH = 1 << 22


def _check_weights(x, num_samples: int, replacement: bool) -> None:
    w = np.asarray(x._host(), dtype=np.float64).reshape(-1, x.shape[-1])
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(w.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and np.any((w > 0).sum(axis=1) < num_samples):
        raise RuntimeError(
            "invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)"
        )


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices drawn from each row of ``input`` (non-negative weights, not necessarily summing to 1).

    >>> graphc.multinomial(graphc.tensor([0.1, 0.0, 0.9]), 4, replacement=True)
    tensor([2, 2, 0, 2])
    """
    x = _tensor_arg(input, "multinomial")
    if x.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got a tensor of {x.ndim} dims")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {x.dtype}")
    num_samples = int(num_samples)
    k = x.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > k:
        raise RuntimeError(
            f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
            f"(n_sample={num_samples}, prob_dist.size(-1)={k})"
        )
    if x._data is not None:
        _check_weights(x, num_samples, replacement)
    rows = 1 if x.ndim == 1 else x.shape[0]
    with no_grad():
        w = _to(reshape(x, (rows, k)), dt.float64)
        if replacement:
            idx = _sample_with_replacement(w, rows, k, num_samples, generator)
        else:
            idx = _sample_without_replacement(w, rows, k, num_samples, generator)
    result = reshape(idx, (num_samples,)) if x.ndim == 1 else idx
    return _write_out(out, result)


def _sample_with_replacement(w, rows, k, n, generator):
    cdf = cumsum(w, 1)
    total = narrow(cdf, 1, k - 1, 1)  # (rows, 1): the last cumulative weight
    u = rand((rows, n), dtype=dt.float64, generator=generator, device=w.device) * total
    if w._data is not None and rows * n * k > _HOST_SEARCH:
        c, uu = np.asarray(cdf._host()), np.asarray(u._host())
        found = np.stack([np.searchsorted(c[r], uu[r], side="right") for r in range(rows)])
        return _host_result(np.minimum(found, k - 1), w.device)
    below = unsqueeze(cdf, 1) <= unsqueeze(u, 2)  # (rows, n, k)
    return clamp(sum(below, 2), max=k - 1)


def _sample_without_replacement(w, rows, k, n, generator):
    u = rand((rows, k), dtype=dt.float64, generator=generator, device=w.device)
    keys = log(w) - log(-log(u))  # Gumbel keys: zero weights get -inf and come last
    if keys._data is not None and n > 8:
        order = np.argsort(-np.asarray(keys._host()), axis=1, kind="stable")[:, :n]
        return _host_result(order, w.device)
    iota = arange(k, device=w.device)
    picks = []
    for _ in range(n):
        i = argmax(keys, 1, keepdim=True)  # (rows, 1)
        picks.append(i)
        if len(picks) < n:
            keys = where(iota == i, -math.inf, keys)
    return picks[0] if n == 1 else cat(picks, 1)


def _host_result(arr, device):
    t = _from_array(np.ascontiguousarray(arr).astype(np.int64), dt.int64)
    return t if device.type == "cpu" else t.to(device)


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 draws: 1 with probability ``input`` (or ``p`` for every element), in ``input``'s dtype."""
    x = _tensor_arg(input, "bernoulli")
    if p is None:
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"bernoulli: expected a floating point tensor of probabilities, got {x.dtype}")
        if x._data is not None:
            v = np.asarray(x._host())
            if v.size and not (np.all(v >= 0) and np.all(v <= 1)):
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        prob = x
    else:
        if not 0 <= float(p) <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        prob = float(p)
    with no_grad():
        u = rand(tuple(x.shape), dtype=dt.float64, generator=generator, device=x.device)
        prob = _to(prob, dt.float64) if not isinstance(prob, float) else prob
        result = _to(lt(u, prob), x.dtype)
    return _write_out(out, result)


# -- in-place fills (Tensor methods) ----------------------------------------------------


def _uniform_like(self, generator):
    dtype = self.dtype if self.dtype.is_floating_point else dt.float32
    return rand(tuple(self.shape), dtype=dtype, generator=generator, device=self.device)


def _check_float(self, name):
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"{name} not implemented for '{self.dtype}'")


def _exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential numbers of rate ``lambd``: ``-log(1 - u) / lambd``."""
    _check_float(self, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    with no_grad():
        value = -log1p(-_uniform_like(self, generator)) / lambd
    return _inplace_result(self, value, "exponential_")


def _cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy numbers: ``median + sigma * tan(pi * (u - 1/2))``."""
    _check_float(self, "cauchy_")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    with no_grad():
        value = tan((_uniform_like(self, generator) - 0.5) * math.pi) * sigma + median
    return _inplace_result(self, value, "cauchy_")


def _geometric_(self, p, *, generator=None):
    """Fill with geometric numbers (trials to the first success, >= 1): ``ceil(log(u) / log(1 - p))``."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    with no_grad():
        u = rand(tuple(self.shape), dtype=dt.float64, generator=generator, device=self.device)
        u = clamp(u, min=np.finfo(np.float64).tiny)
        value = _to(clamp(ceil(log(u) / math.log1p(-p)), min=1), self.dtype)
    return _inplace_result(self, value, "geometric_")


def _log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with log-normal numbers: ``exp(mean + std * n)``."""
    _check_float(self, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    with no_grad():
        value = exp(randn(tuple(self.shape), dtype=self.dtype, generator=generator, device=self.device) * std + mean)
    return _inplace_result(self, value, "log_normal_")


def _bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws, 1 with probability ``p`` (a number or a tensor broadcast to self)."""
    if hasattr(p, "dtype"):
        if p._data is not None:
            v = np.asarray(p._host())
            if v.size and not (np.all(v >= 0) and np.all(v <= 1)):
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    with no_grad():
        u = rand(tuple(self.shape), dtype=dt.float64, generator=generator, device=self.device)
        prob = _to(p, dt.float64) if hasattr(p, "dtype") else float(p)
        value = _to(lt(u, prob), self.dtype)
    return _inplace_result(self, value, "bernoulli_")


METHODS = {
    "multinomial": multinomial,
    "bernoulli": bernoulli,
    "exponential_": _exponential_,
    "cauchy_": _cauchy_,
    "geometric_": _geometric_,
    "log_normal_": _log_normal_,
    "bernoulli_": _bernoulli_,
}
