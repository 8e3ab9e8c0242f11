"""Distances: ``pairwise_distance`` and ``pdist``."""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt

from ... import _functional as _F
from ..._dispatch import apply, constant
from ..._factories import zeros
from ..._functional.reductions import _abs_pow
from ._common import _arg

__all__ = ["pairwise_distance", "pdist"]


def _pnorm(d, p: float, dim: int, keepdim: bool = False):
    """The p-norm along ``dim`` whose gradient is 0 (not NaN) where the difference is 0, as PyTorch's."""
    if p == 0:
        # The count of nonzeros has gradient 0 (PyTorch's NormBackward), not none: a where that
        # never picks ``d`` keeps ``d`` in the graph without touching the value (0 * d is NaN at inf).
        count = _F.sum(_F._to(_F.ne(d, 0), d._dtype), dim, keepdim=keepdim)
        return _F.add(count, _F.sum(_F.where(False, d, 0.0), dim, keepdim=keepdim))
    if p == float("inf"):
        return _F.amax(_F.abs(d), dim, keepdim=keepdim)
    if p == float("-inf"):
        return _F.amin(_F.abs(d), dim, keepdim=keepdim)
    if p == 1:
        return _F.sum(_F.abs(d), dim, keepdim=keepdim)
    s = _F.sum(_abs_pow(d, p), dim, keepdim=keepdim)  # (gradient 0 at d == 0 for p < 1, as PyTorch)
    zero = _F.eq(s, 0)
    safe = _F.where(zero, constant(1.0, s._dtype, s._device), s)
    return _F.where(zero, constant(0.0, s._dtype, s._device), _F.pow(safe, 1.0 / p))


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """||x1 - x2 + eps||_p along the last dim (broadcasting), as ``torch.nn.functional.pairwise_distance``."""
    a = _arg(x1, "pairwise_distance")
    nd = max(a.ndim, x2.ndim)
    d = _F.add(_F.sub(a, x2), eps)
    if nd == 0:
        return _F.abs(d)
    return _pnorm(d, float(p), -1, keepdim)


def pdist(input, p: float = 2.0):
    """The p-norm distances between all pairs of rows of (N, M) ``input``: the upper triangle, row by row."""
    x = _arg(input, "pdist")
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    if len(i) == 0:
        return zeros((0,), dtype=x._dtype, device=x._device)
    xi = apply("index_select", [x, constant(i.astype(np.int64), dt.int64, x._device)], axis=0)
    xj = apply("index_select", [x, constant(j.astype(np.int64), dt.int64, x._device)], axis=0)
    return _pnorm(_F.sub(xi, xj), float(p), 1)
