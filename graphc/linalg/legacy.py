"""PyTorch's older ``torch.*`` spellings of linear algebra (``torch.cholesky``, ``torch.qr``,
``torch.svd`` with ``V`` instead of ``Vh``, ``torch.lu``, ``torch.triangular_solve``...),
the randomized low-rank SVD and PCA, and the Tensor methods of all of them.

They are written on :mod:`graphc.linalg`; this module attaches the methods to
:class:`graphc.Tensor` (a higher layer attaching to a lower one, as ``graphc._methods`` does).
"""

from __future__ import annotations

from .. import _factories
from .. import _functional as F
from .._dispatch import apply
from .._tensor import Tensor
from . import decompositions as D
from . import solvers as S
from ._core import eye_like, matrix, perm_matrix, require, return_types, tensor_arg

__all__ = [
    "cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd", "pinverse", "det", "logdet", "slogdet", "inverse",
    "matrix_exp", "matrix_power", "triangular_solve", "lu", "lu_unpack", "lu_solve", "geqrf", "ormqr", "orgqr",
    "svd_lowrank", "pca_lowrank",
]


def cholesky(input, upper=False, *, out=None):
    return D.cholesky(input, upper=upper, out=out)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with ``A X = B`` where ``A = L L^H`` (``U^H U`` when ``upper``), from the factor."""
    L = matrix(L, "cholesky_solve", what="L")
    Lo = L.mH if upper else L
    y = S.solve_triangular(Lo, B, upper=False)
    return S.solve_triangular(Lo.mH, y, upper=True, out=out)


def cholesky_inverse(L, upper=False, *, out=None):
    """The inverse of ``A = L L^H`` (``U^H U`` when ``upper``) from its Cholesky factor."""
    L = matrix(L, "cholesky_inverse", what="L")
    eye = F.expand(eye_like(L, L.shape[-1]), tuple(L.shape))
    return cholesky_solve(eye, L, upper, out=out)


def qr(input, some=True, *, out=None):
    Q, R = D.qr(input, "reduced" if some else "complete")
    result = return_types.qr(Q, R)
    return result if out is None else S.write_out(out, result)


def svd(input, some=True, compute_uv=True, *, out=None):
    """``(U, S, V)`` with ``A = U diag(S) V^H`` (V, not Vh); with ``compute_uv=False``, U and V
    are zero matrices of shape (m, m) and (n, n), as in PyTorch."""
    A = matrix(input, "svd", square=False)
    if not compute_uv:
        m, n = A.shape[-2:]
        batch = tuple(A.shape[:-2])
        return return_types.svd(_factories.zeros(batch + (m, m), dtype=A._dtype), D.svdvals(A),
                                _factories.zeros(batch + (n, n), dtype=A._dtype))
    U, Sv, Vh = D.svd(A, full_matrices=not some)
    result = return_types.svd(U, Sv, Vh.mH)
    return result if out is None else S.write_out(out, result)


def pinverse(input, rcond=1e-15):
    return S.pinv(input, rtol=rcond)


def det(input):
    return S.det(input)


def slogdet(input):
    sign, logabs = S.slogdet(input)
    return return_types.slogdet(sign, logabs)


def logdet(input):
    """log(det(A)): NaN for a negative determinant of a real matrix, -inf for a singular one."""
    sign, logabs = S.slogdet(input)
    if sign._dtype.is_complex:
        return F.add(F._to(logabs, sign._dtype), F.log(sign))
    return F.where(F.lt(sign, 0), float("nan"), logabs)


def inverse(input, *, out=None):
    return S.inv(input, out=out)


def matrix_exp(input):
    return S.matrix_exp(input)


def matrix_power(input, n):
    return S.matrix_power(input, n)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """``(X, A.clone())`` with ``A X = b`` (``A^T X = b`` with ``transpose``), A triangular."""
    A = matrix(A, "triangular_solve")
    coeff = A.mT if transpose else A
    x = S.solve_triangular(coeff, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    result = return_types.triangular_solve(x, F.clone(A))
    return result if out is None else S.write_out(out, result)


def lu(A, pivot=True, get_infos=False, *, out=None):
    """``(A_LU, pivots)`` (and ``infos`` with ``get_infos``): ``linalg.lu_factor_ex``."""
    LU, piv, info = D.lu_factor_ex(A, pivot=pivot)
    return (LU, piv, info) if get_infos else (LU, piv)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """``(P, L, U)`` from ``lu``/``lu_factor`` results (empty tensors for what is not unpacked)."""
    LU = matrix(LU_data, "lu_unpack", square=False, what="LU_data")
    m, n = LU.shape[-2:]
    k = min(m, n)
    empty = _factories.empty(0, dtype=LU._dtype, device=LU._device)
    L, U = D.lu_parts(LU, k) if unpack_data else (empty, empty)
    P = empty
    if unpack_pivots:
        order = apply("lu_pivots_to_perm", [tensor_arg(LU_pivots, "lu_unpack", "LU_pivots")], m=m)
        P = perm_matrix(order, m, LU._dtype)
    return return_types.lu_unpack(P, L, U)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    return S.lu_solve(LU_data, LU_pivots, b, out=out)


def geqrf(input, *, out=None):
    """LAPACK's ``geqrf``: R on and above the diagonal, the Householder vectors below it, and
    their scales ``tau`` (not differentiable, as in PyTorch)."""
    A = matrix(input, "geqrf", square=False, what="input")
    m, n = A.shape[-2:]
    packed = apply("geqrf", [A])
    return return_types.geqrf(packed[..., :, :n], packed[..., : min(m, n), n])


def _full_q(A, tau):
    """The full m×m Q of ``geqrf``'s reflectors (an m×m identity reflected k times)."""
    m = A.shape[-2]
    X = F.expand(eye_like(A, m, m), tuple(A.shape[:-2]) + (m, m))
    for i in reversed(range(tau.shape[-1])):
        X = D._reflect(X, A, tau, i)
    return X


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    """``op(Q) @ other`` (``other @ op(Q)`` when not ``left``), Q from ``geqrf``'s reflectors,
    ``op`` the conjugate transpose when ``transpose``."""
    A = matrix(input, "ormqr", square=False, what="input")
    C = matrix(other, "ormqr", square=False, what="other")
    Q = _full_q(A, tensor_arg(tau, "ormqr", "tau"))
    if transpose:
        Q = Q.mH
    require(A.shape[-2] == (C.shape[-2] if left else C.shape[-1]),
            f"ormqr: input.shape[-2] must be equal to other.shape[{-2 if left else -1}]")
    r = F.matmul(Q, C) if left else F.matmul(C, Q)
    return r if out is None else S.write_out(out, r)


def orgqr(input, tau):
    return D.householder_product(input, tau)


def _approximate_basis(A, q, niter, M):
    """An orthonormal basis of A's range, by the randomized range finder (Halko et al. 2011,
    algorithm 4.4 with ``niter`` power iterations)."""
    n = A.shape[-1]
    R = _factories.randn(tuple(A.shape[:-2]) + (n, q), dtype=A._dtype, device=A._device)
    X = F.matmul(A, R)
    if M is not None:
        X = F.sub(X, F.matmul(M, R))
    Q = D.qr(X).Q
    for _ in range(niter):
        Y = F.matmul(A.mH, Q)
        if M is not None:
            Y = F.sub(Y, F.matmul(M.mH, Q))
        Q = D.qr(Y).Q
        Y = F.matmul(A, Q)
        if M is not None:
            Y = F.sub(Y, F.matmul(M, Q))
        Q = D.qr(Y).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """``(U, S, V)``, an approximate rank-``q`` SVD of ``A - M`` by randomized projection
    (PyTorch's ``svd_lowrank``: random, so results differ from PyTorch's draw by draw)."""
    A = tensor_arg(A, "svd_lowrank")
    m, n = A.shape[-2:]
    q = min(q if q is not None else 6, m, n)
    if m < n:  # work on the tall transpose
        U, Sv, V = svd_lowrank(A.mH, q, niter, None if M is None else M.mH)
        return V, Sv, U
    Q = _approximate_basis(A, q, niter, M)
    B = F.matmul(Q.mH, A if M is None else F.sub(A, M))
    U, Sv, Vh = D.svd(B, full_matrices=False)
    return F.matmul(Q, U), Sv, Vh.mH


def pca_lowrank(A, q=None, center=True, niter=2):
    """Principal components of the rows of A: ``svd_lowrank`` of A minus its column means."""
    A = tensor_arg(A, "pca_lowrank")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    require(0 <= q <= min(m, n), f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if center:
        return svd_lowrank(F.sub(A, F.mean(A, -2, keepdim=True)), q, niter)
    return svd_lowrank(A, q, niter)



# -- Tensor methods -------------------------------------------------------------------------------

for _name in ("cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd", "pinverse", "det", "logdet", "slogdet",
              "inverse", "matrix_exp", "matrix_power", "triangular_solve", "lu", "lu_solve", "geqrf", "ormqr", "orgqr"):
    setattr(Tensor, _name, globals()[_name])
Tensor.lu_solve = lambda self, LU_data, LU_pivots: lu_solve(self, LU_data, LU_pivots)
