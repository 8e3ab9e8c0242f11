"""numpy implementations of the linear-algebra rows (``ir/ops/linalg_lapack.py``).

numpy's LAPACK bindings (``numpy.linalg``) do the heavy lifting where they exist (``inv``,
``solve``, ``cholesky``, ``qr``, ``eigh``, ``eig``, ``svd``, ``slogdet``, ``det``); what numpy
lacks is written here, vectorized over the batch: the LU factorization with partial pivoting
(LAPACK's ``getrf``: same pivot choice, 1-based pivots, ``info``), triangular solves, the
matrix exponential (Padé 13 with scaling and squaring, Higham 2005), the Bunch-Kaufman
``LDL^H`` factorization (LAPACK's ``sytrf`` layout) and the ``info`` values the ``_ex`` forms
return. Errors are :class:`ir.errors.LinAlgError` with PyTorch's messages, naming the batch
element.
"""

from __future__ import annotations

import numpy as np

from ..errors import LinAlgError


def _flat(a: np.ndarray, nd: int = 2):
    """``a`` as a stack of matrices (``(batch, m, n)``), and the batch shape to restore."""
    batch = a.shape[:-nd]
    return a.reshape((-1,) + a.shape[-nd:]), batch


def batch_prefix(i: int, batch) -> str:
    return f"(Batch element {i}): " if len(batch) else ""


# ----------------------------------------------------------------------------
# LU with partial pivoting (getrf)


def lu_factor(a: np.ndarray):
    """``(LU, pivots, perm, info)`` of matrices ``a[..., m, n]``: ``LU`` holds ``L`` (unit
    diagonal, below it) and ``U``; ``pivots`` are LAPACK's 1-based row interchanges (int32);
    ``perm`` the resulting row order (``a[perm] == L @ U``); ``info`` the 1-based index of the
    first zero pivot (0 when there is none). The pivot is the first entry of largest modulus,
    as in LAPACK, so the factors equal LAPACK's up to rounding."""
    a = np.array(a, copy=True)
    m, n = a.shape[-2:]
    A, batch = _flat(a)
    B, k = A.shape[0], min(m, n)
    piv = np.zeros((B, k), dtype=np.int32)
    perm = np.tile(np.arange(m), (B, 1))
    info = np.zeros(B, dtype=np.int32)
    rows = np.arange(B)
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(A[:, j:, j]), axis=1)
            piv[:, j] = p + 1
            top = A[rows, j, :].copy()
            A[rows, j, :] = A[rows, p, :]
            A[rows, p, :] = top
            pj = perm[rows, j].copy()
            perm[rows, j] = perm[rows, p]
            perm[rows, p] = pj
            d = A[:, j, j]
            zero = d == 0
            info[(info == 0) & zero] = j + 1
            A[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]  # a zero pivot leaves its (zero) column as LAPACK does
            A[:, j + 1:, j + 1:] -= A[:, j + 1:, j:j + 1] * A[:, j:j + 1, j + 1:]
    return (A.reshape(a.shape), piv.reshape(batch + (k,)), perm.reshape(batch + (m,)), info.reshape(batch))


def pivots_to_perm(piv: np.ndarray, m: int) -> np.ndarray:
    """The row order (``a[perm]``) that LAPACK's 1-based interchanges ``piv[..., k]`` make."""
    P, batch = _flat(np.asarray(piv), 1)
    perm = np.tile(np.arange(m), (P.shape[0], 1))
    rows = np.arange(P.shape[0])
    for j in range(P.shape[1]):
        p = P[:, j].astype(np.int64) - 1
        if np.any((p < 0) | (p >= m)):
            raise LinAlgError(f"lu_unpack: pivots must be in [1, {m}], got {int(P[:, j].min())}..{int(P[:, j].max())}")
        pj = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = pj
    return perm.reshape(batch + (m,))


# ----------------------------------------------------------------------------
# info values and the errors of the checking forms


def lu_info(a: np.ndarray) -> np.ndarray:
    return lu_factor(a)[3]


def _is_pd(a: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(a)
        return True
    except np.linalg.LinAlgError:
        return False


def cholesky_info(a: np.ndarray) -> np.ndarray:
    """The order of the first leading minor that is not positive-definite (0 when ``a`` is),
    per matrix: ``potrf``'s info. Leading minors of a positive-definite matrix are
    positive-definite, so the failing orders form a range and a bisection finds the first."""
    A, batch = _flat(np.asarray(a))
    info = np.zeros(A.shape[0], dtype=np.int32)
    for b in range(A.shape[0]):
        if _is_pd(A[b]):
            continue
        lo, hi = 1, A.shape[-1]  # minor hi fails; find the smallest failing order
        while lo < hi:
            mid = (lo + hi) // 2
            if _is_pd(A[b, :mid, :mid]):
                lo = mid + 1
            else:
                hi = mid
        info[b] = lo
    return info.reshape(batch)


def raise_cholesky(name: str, info: np.ndarray) -> None:
    flat = info.reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        i = int(bad[0])
        raise LinAlgError(
            f"{name}: {batch_prefix(i, info.shape)}The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {int(flat[i])} is not positive-definite)."
        )


def raise_singular(name: str, info: np.ndarray, what: str = "inv") -> None:
    flat = info.reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        i = int(bad[0])
        prefix = batch_prefix(i, info.shape)
        if what == "solve":
            raise LinAlgError(f"{name}: {prefix}The solver failed because the input matrix is singular.")
        if what == "lu":
            j = int(flat[i])
            raise LinAlgError(
                f"{name}: {prefix}U[{j},{j}] is zero and using it on lu_solve would result in a division by zero. "
                "If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
                "linalg.lu_factor_ex(A, pivot)"
            )
        raise LinAlgError(
            f"{name}: {prefix}The diagonal element {int(flat[i])} is zero, the inversion could not be completed "
            "because the input matrix is singular."
        )


# ----------------------------------------------------------------------------
# the factorizations and solves the rows call


def cholesky(a: np.ndarray, check: bool, name: str = "linalg.cholesky") -> np.ndarray:
    """The lower Cholesky factor (LAPACK reads the lower triangle); NaN where a matrix is not
    positive-definite and ``check`` is False."""
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        info = cholesky_info(a)
        if check:
            raise_cholesky(name, info)
    A, batch = _flat(np.asarray(a))
    out = np.full(A.shape, np.nan, dtype=A.dtype)
    good = info.reshape(-1) == 0
    if good.any():
        out[good] = np.linalg.cholesky(A[good])
    return out.reshape(a.shape)


def inv(a: np.ndarray, check: bool, name: str = "linalg.inv") -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        info = lu_info(a)
        if check:
            raise_singular(name, info)
            _raise_numerically_singular(name)
    return _per_matrix(np.linalg.inv, a, info)


def _raise_numerically_singular(name: str) -> None:
    """numpy's LAPACK met an exactly zero pivot where graphc's own LU (other rounding) did not:
    the matrix is singular to working precision. Raised as graphc's LinAlgError (a
    RuntimeError, as PyTorch's), never numpy's (a ValueError)."""
    raise LinAlgError(f"{name}: The input matrix is singular to working precision (a zero pivot in LAPACK's LU).")


def solve(a: np.ndarray, b: np.ndarray, check: bool, name: str = "linalg.solve") -> np.ndarray:
    """``a^{-1} b`` for matrices ``b[..., n, k]`` (batch dims broadcast)."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        info = lu_info(a)
        if check:
            raise_singular(name, info, "solve")
            _raise_numerically_singular(name)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    A, _ = _flat(a)
    Bm, _ = _flat(b)
    good = lu_info(A) == 0
    out = np.full(Bm.shape, np.nan, dtype=np.result_type(A, Bm))
    for i in np.flatnonzero(good):
        try:
            out[i] = np.linalg.solve(A[i], Bm[i])
        except np.linalg.LinAlgError:  # singular to numpy's LAPACK only: NaN, as info's others
            pass
    return out.reshape(batch + b.shape[-2:])


def _per_matrix(fn, a, info):
    """``fn`` on the matrices whose ``info`` is 0; NaN for the others (and for a matrix that
    numpy's LAPACK alone finds singular: its pivots round differently from graphc's LU)."""
    A, batch = _flat(np.asarray(a))
    out = np.full(A.shape, np.nan, dtype=A.dtype)
    for i in np.flatnonzero(info.reshape(-1) == 0):
        try:
            out[i] = fn(A[i])
        except np.linalg.LinAlgError:
            pass
    return out.reshape(a.shape)


def triangle(a: np.ndarray, upper: bool, unit: bool = False) -> np.ndarray:
    """The upper or lower triangle of ``a`` (the other set to 0), with a unit diagonal if asked."""
    m, n = a.shape[-2:]
    i, j = np.arange(m)[:, None], np.arange(n)[None, :]
    keep = (j > i) if (upper and unit) else (j >= i) if upper else (j < i) if unit else (j <= i)
    out = np.where(keep, a, np.zeros((), dtype=a.dtype))
    if unit:
        out = out + np.eye(m, n, dtype=a.dtype)
    return out


def solve_triangular(a: np.ndarray, b: np.ndarray, upper: bool, left: bool, unit: bool) -> np.ndarray:
    """``a^{-1} b`` (left) or ``b a^{-1}`` (right) for triangular ``a``; only its triangle is
    read. A zero on the diagonal gives inf/NaN, as LAPACK's ``trsm`` (it does not check)."""
    if not left:
        return np.swapaxes(solve_triangular(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), not upper, True, unit), -1, -2)
    t = triangle(a, upper, unit)
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    t = np.broadcast_to(t, batch + t.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    try:
        return np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        return _substitute(t, b, upper)


def _substitute(t, b, upper):
    """Forward or back substitution, vectorized over the batch and the right-hand sides."""
    n = t.shape[-1]
    x = np.zeros(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], dtype=np.result_type(t, b))
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(all="ignore"):
        for i in order:
            s = b[..., i, :] - np.einsum("...j,...jk->...k", t[..., i, :], x)
            x[..., i, :] = s / t[..., i, i][..., None]
    return x


# ----------------------------------------------------------------------------
# the matrix exponential: Padé approximant of degree 13 with scaling and squaring

_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def matrix_exp(a: np.ndarray) -> np.ndarray:
    """``exp(a)`` of square matrices: each is scaled by ``2**-s`` until its 1-norm is at most
    theta_13, the [13/13] Padé approximant is formed, and the result squared ``s`` times."""
    A, batch = _flat(np.asarray(a))
    n = A.shape[-1]
    if A.size == 0:
        return np.zeros(a.shape, dtype=a.dtype)
    norms = np.abs(A).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.where(norms > 0, norms, 1) / _THETA13))).astype(np.int64)
    s = np.where(np.isfinite(norms), s, 0)
    X = A / (2.0 ** s)[:, None, None]
    b = _PADE13
    eye = np.eye(n, dtype=A.dtype)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    R = np.linalg.solve(V - U, V + U)
    for step in range(int(s.max(initial=0))):
        squaring = (s > step)[:, None, None]
        R = np.where(squaring, R @ R, R)
    return R.reshape(a.shape)
