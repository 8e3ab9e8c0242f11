"""Inverses, solves and determinants: ``inv``/``inv_ex``, ``solve``/``solve_ex``,
``solve_triangular``, ``lu_solve``, ``det``/``slogdet``, ``lstsq``, ``pinv``, ``matrix_power``,
``matrix_exp``, ``tensorinv``/``tensorsolve``.

The single-call operations are rows; the rest are PyTorch's composites of them (``pinv`` through
``svd``, ``lu_solve`` through two triangular solves), so gradients come from the rows' rules.
"""

from __future__ import annotations

import builtins

import numpy as np

from ir import dtypes as dt
from ir.ops import lapack_np as LNP

from .. import _functional as F
from .._dispatch import apply
from .._factories import empty
from .._tensor import Tensor
from ._core import (
    batch_eye,
    gather_rows,
    inverse_order,
    matrix,
    real_part,
    require,
    return_types,
    same_dtype,
    tensor_arg,
    vector_rhs,
    write_out,
)
from .decompositions import eigh, svd

__all__ = [
    "inv", "inv_ex", "solve", "solve_ex", "solve_triangular", "lu_solve", "det", "slogdet", "lstsq", "pinv",
    "matrix_power", "matrix_exp", "tensorinv", "tensorsolve",
]


def inv(A, *, out=None):
    """The inverse of square matrices; ``LinAlgError`` for a singular one (naming the zero pivot)."""
    A = matrix(A, "linalg.inv")
    return write_out(out, apply("linalg_inv", [A], check=True))


def inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: ``info`` > 0 marks a singular matrix (its inverse is NaN)."""
    A = matrix(A, "linalg.inv_ex")
    info = apply("linalg_info", [A], of="lu")
    if check_errors:
        info._need_data("linalg.inv_ex")
        LNP.raise_singular("linalg.inv_ex", info._host())
    return write_out(out, return_types.linalg_inv_ex(apply("linalg_inv", [A], check=False), info))


def _solve(A, B, left, check, name):
    A = matrix(A, name)
    B = tensor_arg(B, name, "B")
    same_dtype(name, A, B)
    if vector_rhs(A, B):
        x = apply("linalg_solve", [A if left else A.mT, F.unsqueeze(B, -1)], check=check)
        return F.squeeze(x, -1)
    if left:
        return apply("linalg_solve", [A, B], check=check)
    return apply("linalg_solve", [A.mT, B.mT], check=check).mT  # X A = B  <=>  A^T X^T = B^T


def solve(A, B, *, left=True, out=None):
    """The solution X of ``A X = B`` (``X A = B`` when ``left=False``); B may be a batch of
    vectors (1-d, or A's shape without its last dim). Batch dims broadcast."""
    return write_out(out, _solve(A, B, left, True, "linalg.solve"))


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    A = matrix(A, "linalg.solve_ex")
    info = apply("linalg_info", [A], of="lu")
    if check_errors:
        info._need_data("linalg.solve_ex")
        LNP.raise_singular("linalg.solve_ex", info._host(), "solve")
    return write_out(out, return_types.linalg_solve_ex(_solve(A, B, left, False, "linalg.solve_ex"), info))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """The solution of ``A X = B`` (or ``X A = B``) for triangular A; only A's triangle (and not
    its diagonal when ``unitriangular``) is read."""
    name = "linalg.solve_triangular"
    A = matrix(A, name)
    B = matrix(B, name, square=False, what="B")
    same_dtype(name, A, B)
    return write_out(out, apply("linalg_solve_triangular", [A, B], upper=bool(upper), left=bool(left),
                                unitriangular=bool(unitriangular)))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """Solve ``A X = B`` from ``lu_factor``'s ``(LU, pivots)`` (``A^H X = B`` with ``adjoint``,
    ``X A = B`` with ``left=False``)."""
    name = "linalg.lu_solve"
    LU = matrix(LU, name, what="LU")
    B = matrix(B, name, square=False, what="B")
    same_dtype(name, LU, B, ("LU", "B"))
    if not left:  # X A = B  <=>  A^H X^H = B^H; X A^H = B  <=>  A X^H = B^H
        return write_out(out, lu_solve(LU, pivots, B.mH, left=True, adjoint=not adjoint).mH)
    m = LU.shape[-1]
    order = apply("lu_pivots_to_perm", [tensor_arg(pivots, name, "pivots")], m=m)
    order = F.expand(order, tuple(LU.shape[:-2]) + (m,))
    batch = F.broadcast_shapes(LU.shape[:-2], B.shape[:-2])
    LUb = F.expand(LU, tuple(batch) + (m, m))
    B = F.expand(B, tuple(batch) + tuple(B.shape[-2:]))
    order = F.expand(order, tuple(batch) + (m,))
    if not adjoint:  # A = P L U:  X = U^{-1} L^{-1} P^T B,  (P^T B) = B[order]
        y = solve_triangular(LUb, gather_rows(B, order), upper=False, unitriangular=True)
        x = solve_triangular(LUb, y, upper=True)
    else:  # A^H = U^H L^H P^T:  X = P L^{-H} U^{-H} B
        y = solve_triangular(LUb.mH, B, upper=False)
        z = solve_triangular(LUb.mH, y, upper=True, unitriangular=True)
        x = gather_rows(z, inverse_order(order))
    return write_out(out, x)


def det(A, *, out=None):
    """The determinant (its gradient is defined for singular matrices too)."""
    A = matrix(A, "linalg.det")
    return write_out(out, apply("linalg_det", [A]))


def slogdet(A, *, out=None):
    """``(sign, logabsdet)``: ``det = sign * exp(logabsdet)``; sign is 0 and logabsdet -inf for a
    singular matrix (sign is complex of modulus 1 for complex matrices)."""
    A = matrix(A, "linalg.slogdet")
    packed = apply("linalg_slogdet", [A])
    return write_out(out, return_types.linalg_slogdet(packed[..., 0], real_part(packed[..., 1], True)))


def _svd_parts(A):
    return svd(A, full_matrices=False)


def default_rtol(A, atol, rtol):
    """PyTorch's rule: ``rtol`` as given; else 0 when ``atol`` is given (> 0), else
    ``eps * max(m, n)`` of A's real dtype."""
    if rtol is not None:
        return rtol
    if atol is not None and (isinstance(atol, Tensor) or atol > 0):
        return 0.0
    return float(np.finfo(dt.to_real(A._dtype).numpy_dtype).eps) * builtins.max(A.shape[-2:])


def tolerance(A, S, atol, rtol):
    """PyTorch's cut-off: max(atol, rtol * largest singular value), per matrix (kept dim)."""
    rtol = default_rtol(A, atol, rtol)
    smax = F.amax(S, -1, keepdim=True) if S.shape[-1] else F.zeros_like(S[..., :1])
    tol = F.mul(smax, rtol)
    if atol is not None:
        tol = F.maximum(tol, F.unsqueeze(atol, -1) if isinstance(atol, Tensor) and atol.ndim else F._operand(atol, tol._dtype, tol._device))
    return tol


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore-Penrose pseudo-inverse through the SVD (or ``eigh`` when ``hermitian``): singular
    values at or below max(atol, rtol * max(S)) are treated as zero."""
    A = matrix(A, "linalg.pinv", square=bool(hermitian))
    if hermitian:
        w, V = eigh(A)
        S = F.abs(w)
        tol = tolerance(A, S, atol, rtol)
        inv_w = F.where(F.gt(S, tol), F.reciprocal(F.where(F.gt(S, tol), w, 1.0)), 0.0)
        return write_out(out, F.matmul(F.mul(V, F.unsqueeze(F._to(inv_w, A._dtype), -2)), V.mH))
    U, S, Vh = _svd_parts(A)
    tol = tolerance(A, S, atol, rtol)
    inv_s = F.where(F.gt(S, tol), F.reciprocal(F.where(F.gt(S, tol), S, 1.0)), 0.0)
    return write_out(out, F.matmul(F.mul(Vh.mH, F.unsqueeze(F._to(inv_s, A._dtype), -2)), U.mH))


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of ``A X = B`` (minimum norm when A is rank-deficient), with
    PyTorch's CPU results per driver: ``gelsy`` (default) returns the rank; ``gelsd``/``gelss``
    also the singular values, and the squared residuals when m > n and A has full rank; ``gels``
    the residuals when m > n. The solution is ``pinv(A) @ B`` (differentiable)."""
    name = "linalg.lstsq"
    A = matrix(A, name, square=False)
    B = tensor_arg(B, name, "B")
    same_dtype(name, A, B, ("input", "b"))
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ValueError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), but got {driver}")
    vector = B.ndim == A.ndim - 1
    B2 = F.unsqueeze(B, -1) if vector else B
    m, n = A.shape[-2:]
    require(B2.shape[-2] == m, f"{name}: input.size(-2) should match other.size(-2), got {m} and {B2.shape[-2]}")
    eps = float(np.finfo(dt.to_real(A._dtype).numpy_dtype).eps)
    r = eps * builtins.max(m, n) if rcond is None else rcond
    U, S, Vh = _svd_parts(A)
    smax = F.amax(S, -1, keepdim=True) if S.shape[-1] else F.zeros_like(S[..., :1])
    keep = F.gt(S, F.mul(smax, r))
    inv_s = F.where(keep, F.reciprocal(F.where(keep, S, 1.0)), 0.0)
    X = F.matmul(F.mul(Vh.mH, F.unsqueeze(F._to(inv_s, A._dtype), -2)), F.matmul(U.mH, B2))
    rank = F.sum(keep, -1)
    real = dt.to_real(A._dtype)
    nothing = empty(0, dtype=real, device=A._device)
    residuals = nothing
    if m > n and driver != "gelsy":
        full_rank = driver == "gels" or (rank._data is not None and bool(F.all(F.eq(rank, n))))
        if full_rank:
            res = F.sub(F.matmul(A, X), B2)
            residuals = F.sum(real_part(F.mul(res, F.conj(res)), True), -2)
    X = F.squeeze(X, -1) if vector else X
    if vector and residuals.numel():
        residuals = F.squeeze(residuals, -1)
    sv = S if driver in ("gelsd", "gelss") else nothing
    rk = rank if driver != "gels" else empty(0, dtype=dt.int64, device=A._device)
    return return_types.linalg_lstsq(X, residuals, rk, sv)


def matrix_power(A, n, *, out=None):
    """``A`` to the integer power ``n`` by repeated squaring (``n < 0`` inverts first; ``n == 0``
    gives identities)."""
    A = tensor_arg(A, "linalg.matrix_power")
    require(A.ndim >= 2 and A.shape[-1] == A.shape[-2],
            f"linalg.matrix_power: A must be batches of square matrices, got {list(A.shape)}")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        return write_out(out, F.clone(batch_eye(A, A.shape[-1])))
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else F.matmul(result, base)
        n >>= 1
        if n:
            base = F.matmul(base, base)
    if result is A:  # n == 1: a fresh copy, as PyTorch
        result = F.contiguous(F.clone(A))
    return write_out(out, result)


def matrix_exp(A):
    """The matrix exponential (Padé 13 with scaling and squaring)."""
    A = matrix(A, "linalg.matrix_exp")
    return apply("linalg_matrix_exp", [A])


def tensorinv(A, ind=2, *, out=None):
    """The inverse of A seen as a matrix of shape (prod(A.shape[:ind]), prod(A.shape[ind:]))."""
    A = tensor_arg(A, "linalg.tensorinv")
    require(ind > 0, f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows = int(np.prod(A.shape[:ind]))
    cols = int(np.prod(A.shape[ind:]))
    require(rows == cols, "Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), "
            f"but got {cols} != {rows}")
    return write_out(out, F.reshape(inv(F.reshape(A, (rows, cols))), tuple(A.shape[ind:]) + tuple(A.shape[:ind])))


def tensorsolve(A, B, dims=None, *, out=None):
    """X with ``tensordot(A, X, X.ndim) == B``; ``dims`` of A move to the end first."""
    A = tensor_arg(A, "linalg.tensorsolve")
    B = tensor_arg(B, "linalg.tensorsolve", "B")
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = F.permute(A, rest + dims)
    result_shape = tuple(A.shape[B.ndim:])
    rows = int(np.prod(B.shape))
    cols = int(np.prod(result_shape))
    require(rows == cols, "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
            f"but got {cols} != {rows}")
    x = solve(F.reshape(A, (rows, cols)), F.reshape(B, (rows,)))
    return write_out(out, F.reshape(x, result_shape))
