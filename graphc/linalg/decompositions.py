"""Factorizations: ``cholesky``, ``qr``, ``eigh``/``eig``, ``svd``, ``lu``/``lu_factor``, and
the Householder products built on ``geqrf``'s reflectors.

Each factorization is one row (one LAPACK call); the results are slices of its packed output,
so differentiating any of them runs the row's one gradient rule (PyTorch's formula).
"""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import ShapeError
from ir.ops import lapack_np as LNP
from ir.ops.linalg_lapack import lu_layout, qr_layout, svd_layout

from .. import _functional as F
from .._dispatch import apply
from .._factories import arange, empty
from .._functional._singular import singular_values
from ._core import (
    eye_like,
    index_column,
    matrix,
    part,
    perm_matrix,
    real_part,
    require,
    return_types,
    tensor_arg,
    write_out,
)

__all__ = [
    "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals", "lu_factor",
    "lu_factor_ex", "lu", "householder_product",
]


def _raise_from_info(info, check, name, raiser, *args) -> None:
    """``check_errors=True`` of an ``_ex`` form: raise as the checking form would."""
    if check:
        info._need_data(name)
        raiser(name, info._host(), *args)


def cholesky(A, *, upper=False, out=None):
    """The Cholesky factor of Hermitian positive-definite matrices (A's lower triangle is read):
    lower ``L`` with ``A = L L^H``, or upper ``U = L^H``. Raises ``LinAlgError`` naming the first
    leading minor that is not positive-definite."""
    A = matrix(A, "linalg.cholesky")
    L = apply("linalg_cholesky", [A], check=True)
    return write_out(out, L.mH if upper else L)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: ``info`` is the order of the first leading minor that is not
    positive-definite (0 when A is), and ``L`` is NaN there instead of raising."""
    A = matrix(A, "linalg.cholesky_ex")
    info = apply("linalg_info", [A], of="cholesky")
    _raise_from_info(info, check_errors, "linalg.cholesky_ex", LNP.raise_cholesky)
    L = apply("linalg_cholesky", [A], check=False)
    return write_out(out, return_types.linalg_cholesky_ex(L.mH if upper else L, info))


def qr(A, mode="reduced", *, out=None):
    """``(Q, R)`` with ``A = Q R``: ``mode`` ``"reduced"`` (Q is m×k), ``"complete"`` (m×m) or
    ``"r"`` (Q empty). The signs are LAPACK's (R's diagonal may be negative)."""
    A = matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    layout, _ = qr_layout(m, n, mode)
    packed = apply("linalg_qr", [A], mode=mode)
    R = part(packed, *layout["R"])
    Q = empty(0, dtype=A._dtype, device=A._device) if mode == "r" else part(packed, *layout["Q"])
    return write_out(out, return_types.linalg_qr(Q, R))


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "U"


def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (real, ascending) and orthonormal eigenvectors (columns) of Hermitian
    matrices, reading the triangle ``UPLO`` names."""
    A = matrix(A, "linalg.eigh")
    packed = apply("linalg_eigh", [A], upper=_uplo(UPLO))
    return write_out(out, return_types.linalg_eigh(real_part(packed[..., 0, :], True), packed[..., 1:, :]))


def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues of Hermitian matrices (real, ascending)."""
    A = matrix(A, "linalg.eigvalsh")
    packed = apply("linalg_eigh", [A], upper=_uplo(UPLO))
    return write_out(out, real_part(packed[..., 0, :], True))


def eig(A, *, out=None):
    """Eigenvalues and eigenvectors (complex; columns of norm 1) of square matrices."""
    A = matrix(A, "linalg.eig")
    packed = apply("linalg_eig", [A])
    return write_out(out, return_types.linalg_eig(packed[..., 0, :], packed[..., 1:, :]))


def eigvals(A, *, out=None):
    A = matrix(A, "linalg.eigvals")
    return write_out(out, apply("linalg_eig", [A])[..., 0, :])


def svd(A, full_matrices=True, *, driver=None, out=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, singular values descending (LAPACK's gesdd)."""
    A = matrix(A, "linalg.svd", square=False)
    m, n = A.shape[-2:]
    layout, _ = svd_layout(m, n, bool(full_matrices))
    packed = apply("linalg_svd", [A], full_matrices=bool(full_matrices))
    U = part(packed, *layout["U"])
    S = real_part(part(packed, *layout["S"])[..., 0], True)
    Vh = part(packed, *layout["V"]).mH
    return write_out(out, return_types.linalg_svd(U, S, Vh))


def svdvals(A, *, driver=None, out=None):
    """The singular values (real, descending)."""
    return write_out(out, singular_values(matrix(A, "linalg.svdvals", square=False), "linalg.svdvals"))


# ----------------------------------------------------------------------------
# LU


def _lu_pack(A, name, pivot, check):
    A = matrix(A, name, square=False)
    if not pivot:
        raise ShapeError(f"{name}: LU without pivoting is not implemented on the CPU")
    return A, apply("linalg_lu_factor", [A], check=check)


def lu_factor(A, *, pivot=True, out=None):
    """``(LU, pivots)``: ``L`` (unit diagonal, below it) and ``U`` in one matrix, and LAPACK's
    1-based row interchanges (int32). Raises ``LinAlgError`` when U has a zero on its diagonal."""
    A, packed = _lu_pack(A, "linalg.lu_factor", pivot, True)
    m, n = A.shape[-2:]
    layout, _ = lu_layout(m, n)
    return write_out(out, return_types.linalg_lu_factor(part(packed, *layout["LU"]),
                                                        index_column(packed, layout["pivots"][0], n, dt.int32)))


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """``(LU, pivots, info)``; ``info`` is the 1-based index of the first zero on U's diagonal."""
    A, packed = _lu_pack(A, "linalg.lu_factor_ex", pivot, False)
    m, n = A.shape[-2:]
    layout, _ = lu_layout(m, n)
    info = apply("linalg_info", [A], of="lu")
    _raise_from_info(info, check_errors, "linalg.lu_factor_ex", LNP.raise_singular, "lu")
    return write_out(out, return_types.linalg_lu_factor_ex(part(packed, *layout["LU"]),
                                                           index_column(packed, layout["pivots"][0], n, dt.int32), info))


def lu_parts(LU, k):
    """``L`` (m×k, unit diagonal) and ``U`` (k×n) of a packed LU matrix."""
    m, n = LU.shape[-2:]
    L = F.add(F.tril(LU[..., :, :k], -1), eye_like(LU, m, k))
    U = F.triu(LU[..., :k, :])
    return L, U


def lu(A, *, pivot=True, out=None):
    """``(P, L, U)`` with ``A = P L U`` (partial pivoting; L unit lower, U upper)."""
    A, packed = _lu_pack(A, "linalg.lu", pivot, False)
    m, n = A.shape[-2:]
    layout, _ = lu_layout(m, n)
    L, U = lu_parts(part(packed, *layout["LU"]), min(m, n))
    P = perm_matrix(index_column(packed, m, n + 1), m, A._dtype)
    return write_out(out, return_types.linalg_lu(P, L, U))


# ----------------------------------------------------------------------------
# Householder products


def _reflect(X, A, tau, i):
    """``H_i X`` with ``H_i = I - tau_i v_i v_i^H`` and ``v_i = (0, ..., 0, 1, A[i+1:, i])``."""
    r = arange(A.shape[-2], device=A._device)
    v = F.where(F.gt(r, i), A[..., :, i], F._to(F.eq(r, i), A._dtype))
    v = F.unsqueeze(v, -1)  # (..., m, 1)
    t = F.unsqueeze(F.unsqueeze(tau[..., i], -1), -1)
    return F.sub(X, F.mul(t, F.matmul(v, F.matmul(v.mH, X))))


def householder_product(A, tau, *, out=None):
    """The first n columns of ``H_1 H_2 ... H_k`` (LAPACK's orgqr), from the reflectors below
    A's diagonal and their scales ``tau``; composed of graphc ops, so it differentiates."""
    name = "linalg.householder_product"
    A = matrix(A, name, square=False, what="input")
    tau = tensor_arg(tau, name, "tau")
    m, n = A.shape[-2:]
    k = tau.shape[-1] if tau.ndim else 0
    require(m >= n, f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    require(n >= k, f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    require(tau.ndim == A.ndim - 1 and tuple(tau.shape[:-1]) == tuple(A.shape[:-2]),
            f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got {list(tau.shape[:-1])}")
    X = F.expand(eye_like(A, m, n), tuple(A.shape))
    for i in reversed(range(k)):
        X = _reflect(X, A, tau, i)
    return write_out(out, X)
