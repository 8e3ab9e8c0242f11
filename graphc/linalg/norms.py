"""Norms and what is measured with them: ``vector_norm``, ``matrix_norm``, ``norm``, ``cond``,
``matrix_rank``.

All are composites, as in PyTorch. The 2- and p-norms take their root through a guard at zero
(``where(s == 0, 0, s_safe ** (1/p))``), so their gradient at the zero vector is the zero
subgradient PyTorch returns instead of ``0/0``.
"""

from __future__ import annotations

import math

from ir.errors import DTypeError

from .. import _functional as F
from .._args import norm_dims
from .._functional._common import _with_zero_grad
from .._functional.reductions import _abs_pow
from .._tensor import Tensor
from ._core import matrix, require, tensor_arg, write_out
from .decompositions import eigvalsh, svdvals
from .solvers import inv_ex, tolerance

__all__ = ["vector_norm", "matrix_norm", "norm", "cond", "matrix_rank"]

_INF = math.inf


def _float_input(x, name, dtype):
    x = tensor_arg(x, name, "x")
    if dtype is not None:
        x = F._to(x, dtype)
    if not x._dtype.is_differentiable:
        raise DTypeError(f"{name}: Expected a floating point or complex tensor as input. Got {x._dtype}")
    return x


def _root(s: Tensor, p: float) -> Tensor:
    """``s ** (1/p)`` with a zero gradient where ``s == 0`` (no 0/0)."""
    zero = F.eq(s, 0)
    safe = F.where(zero, 1.0, s)
    root = F.sqrt(safe) if p == 2 else F.pow(safe, 1.0 / p)
    return F.where(zero, 0.0, root)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """The ``ord``-norm of ``x`` over ``dim`` (all dims by default): ``inf``/``-inf`` (max/min of
    |x|), 0 (the number of non-zeros), or ``(sum |x|^ord)^(1/ord)``. Real result."""
    name = "linalg.vector_norm"
    x = _float_input(x, name, dtype)
    if isinstance(ord, str):
        raise TypeError(f"{name}: ord must be a number, got {ord!r}")
    axes = norm_dims(dim, x.ndim, name) if not (isinstance(dim, (tuple, list)) and len(dim) == 0) else tuple(range(x.ndim))
    a = F.abs(x)
    if ord in (_INF, -_INF):
        if x.ndim and any(x.shape[d] == 0 for d in axes):
            raise RuntimeError(f"{name} cannot compute the {ord} norm on an empty tensor because the operation "
                               "does not have an identity")
        r = (F.amax if ord > 0 else F.amin)(a, axes, keepdim=keepdim)
    elif ord == 0:  # a count, whose PyTorch gradient is zero (x still in the graph)
        r = F.sum(_with_zero_grad(F._to(F.ne(a, 0), a._dtype), a), axes, keepdim=keepdim)
    elif ord == 1:
        r = F.sum(a, axes, keepdim=keepdim)
    elif ord == 2:
        r = _root(F.sum(F.mul(a, a), axes, keepdim=keepdim), 2)
    elif ord < 0:
        r = F.pow(F.sum(_abs_pow(x, ord), axes, keepdim=keepdim), 1.0 / ord)
    else:
        r = _root(F.sum(_abs_pow(x, ord), axes, keepdim=keepdim), ord)
    return write_out(out, r)


def _matrix_dims(A, dim, name):
    require(isinstance(dim, (tuple, list)) and len(dim) == 2, f"{name}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (d % A.ndim for d in dim)
    require(d0 != d1, f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _svd_norm(A, d0, d1, keepdim, reduce):
    moved = F.movedim(A, (d0, d1), (-2, -1))
    r = reduce(svdvals(moved))
    if keepdim:
        for d in sorted((d0, d1)):
            r = F.unsqueeze(r, d)
    return r


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norms over the two dims ``dim``: ``'fro'``, ``'nuc'`` (sum of singular values),
    ±2 (largest/smallest singular value), ±1 (max/min column sum of |A|), ±inf (row sums)."""
    name = "linalg.matrix_norm"
    A = _float_input(A, name, dtype)
    require(A.ndim >= 2, f"{name}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = _matrix_dims(A, dim, name)
    if ord == "fro":
        return write_out(out, vector_norm(A, 2, (d0, d1), keepdim))
    if ord == "nuc":
        return write_out(out, _svd_norm(A, d0, d1, keepdim, lambda s: F.sum(s, -1)))
    if ord in (2, -2):
        return write_out(out, _svd_norm(A, d0, d1, keepdim, lambda s: (F.amax if ord > 0 else F.amin)(s, -1)))
    if ord in (1, -1, _INF, -_INF):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = F.sum(F.abs(A), summed, keepdim=True)
        r = (F.amax if ord > 0 else F.amin)(s, other, keepdim=True)
        if not keepdim:
            r = F.squeeze(F.squeeze(r, max(d0, d1)), min(d0, d1))
        return write_out(out, r)
    raise RuntimeError(f"{name}: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm (``dim`` an int, or a 1-d input) or a matrix norm (``dim`` a 2-tuple, or a
    2-d input); with neither ``ord`` nor ``dim``, the 2-norm of all elements."""
    name = "linalg.norm"
    A = tensor_arg(A, name)
    if dim is not None:
        if isinstance(dim, int) or len(dim) == 1:
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    require(A.ndim in (1, 2), f"{name}: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D.")
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)


def cond(A, p=None, *, out=None):
    """The condition number: ``S_max / S_min`` (p None or 2; inverted for -2), else
    ``norm(A, p) * norm(inv(A), p)``, infinite for a singular matrix."""
    name = "linalg.cond"
    if p in (None, 2, -2):
        A = matrix(A, name, square=False)
        s = svdvals(A)
        hi, lo = s[..., 0], s[..., -1]
        return write_out(out, F.div(hi, lo) if p in (None, 2) else F.div(lo, hi))
    A = matrix(A, name)
    if p not in ("fro", "nuc", 1, -1, _INF, -_INF):
        raise RuntimeError(f"{name} got an invalid norm type: {p}")
    inverse, info = inv_ex(A)
    value = F.mul(matrix_norm(A, p), matrix_norm(inverse, p))
    return write_out(out, F.where(F.gt(info, 0), _INF, value))


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The number of singular values (|eigenvalues| when ``hermitian``) above
    max(atol, rtol * largest); ``tol`` is the old spelling of ``atol`` with ``rtol=0``."""
    A = matrix(A, "linalg.matrix_rank", square=bool(hermitian))
    if tol is not None:
        atol, rtol = tol, 0.0 if rtol is None else rtol
    s = F.abs(eigvalsh(A)) if hermitian else svdvals(A)
    tol_ = tolerance(A, s, atol, rtol)
    return write_out(out, F.sum(F.gt(s, tol_), -1))

