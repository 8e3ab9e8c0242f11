"""The Bunch-Kaufman ``L D L^T`` (or ``L D L^H``) factorization and its solve, in LAPACK's
layout (``sytrf``/``hetrf`` and ``sytrs``/``hetrs`` with ``uplo='L'``), written with numpy.

numpy has no LDL; this follows the unblocked algorithm LAPACK's ``sytf2`` describes (Bunch and
Kaufman 1977, with alpha = (1 + sqrt(17)) / 8): at step k a 1x1 pivot is taken when the diagonal
is large enough against its column, else the row of the column's largest entry is examined and
a 1x1 pivot with an interchange, or a 2x2 pivot, is chosen. ``L`` is stored below the diagonal,
``D`` (1x1 and 2x2 blocks) on it and on the subdiagonal, and ``ipiv`` holds the 1-based
interchanges: positive for a 1x1 block, ``-p`` on both rows of a 2x2 block. Interchanges apply
to the trailing matrix only, as in LAPACK, so ``ldl_solve`` replays them in order.
"""

from __future__ import annotations

import math

import numpy as np

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0


def _adj(x, hermitian):
    return np.conj(x) if hermitian else x


def _mag(x):
    """LAPACK's pivot size: |x| for reals, |Re x| + |Im x| (``cabs1``) for complex numbers."""
    x = np.asarray(x)
    return np.abs(x.real) + np.abs(x.imag) if np.iscomplexobj(x) else np.abs(x)


def _swap_sym(W, a, b, start):
    """Interchange rows and columns a and b of the trailing block ``W[start:, start:]``."""
    if a == b:
        return
    W[[a, b], start:] = W[[b, a], start:]
    W[start:, [a, b]] = W[start:, [b, a]]


def ldl_factor_one(A: np.ndarray, hermitian: bool):
    """``(LD, ipiv, info)`` of one square matrix (its lower triangle is read)."""
    n = A.shape[-1]
    tri = np.tril(A)
    W = tri + _adj(np.tril(A, -1), hermitian).T  # the full symmetric/Hermitian matrix
    if hermitian:
        W[np.diag_indices(n)] = W.diagonal().real
    LD = np.zeros_like(W)
    ipiv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kstep, kp = 1, k
        absakk = abs(W[k, k].real) if hermitian else float(_mag(W[k, k]))
        if k < n - 1:
            col = _mag(W[k + 1:, k])
            imax = k + 1 + int(np.argmax(col))
            colmax = col.max()
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            if info == 0:
                info = k + 1
        elif absakk < _ALPHA * colmax:
            row = _mag(np.concatenate([W[imax, k:imax], W[imax + 1:, imax]]))
            rowmax = row.max() if row.size else 0.0
            diag_imax = abs(W[imax, imax].real) if hermitian else float(_mag(W[imax, imax]))
            if absakk >= _ALPHA * colmax * (colmax / rowmax):
                kp = k
            elif diag_imax >= _ALPHA * rowmax:
                kp = imax
            else:
                kp, kstep = imax, 2
        kk = k + kstep - 1
        _swap_sym(W, kk, kp, k)
        if kstep == 1:
            d = W[k, k]
            c = W[k + 1:, k].copy()
            if d != 0:
                W[k + 1:, k + 1:] -= np.outer(c, _adj(c, hermitian)) / d
                LD[k + 1:, k] = c / d
            else:
                LD[k + 1:, k] = c
            LD[k, k] = d
            ipiv[k] = kp + 1
        else:
            D = W[k:k + 2, k:k + 2].copy()
            C = W[k + 2:, k:k + 2].copy()
            LC = np.linalg.solve(D.T, C.T).T  # C D^{-1}
            W[k + 2:, k + 2:] -= LC @ _adj(C, hermitian).T
            LD[k + 2:, k:k + 2] = LC
            LD[k, k], LD[k + 1, k], LD[k + 1, k + 1] = D[0, 0], D[1, 0], D[1, 1]
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        if hermitian:  # the trailing matrix stays Hermitian: keep its diagonal exactly real
            W[np.diag_indices(n)] = W.diagonal().real
        k += kstep
    return LD, ipiv, info


def ldl_solve_one(LD: np.ndarray, ipiv: np.ndarray, B: np.ndarray, hermitian: bool) -> np.ndarray:
    """X with ``A X = B`` for ``A`` factored by :func:`ldl_factor_one` (LAPACK's ``sytrs``)."""
    n = LD.shape[-1]
    X = np.array(B, dtype=np.result_type(LD, B), copy=True)
    k = 0
    while k < n:  # solve L D Y = P B
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            X[[k, kp]] = X[[kp, k]]
            X[k + 1:] -= np.outer(LD[k + 1:, k], X[k])
            X[k] /= LD[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            X[[k + 1, kp]] = X[[kp, k + 1]]
            X[k + 2:] -= np.outer(LD[k + 2:, k], X[k]) + np.outer(LD[k + 2:, k + 1], X[k + 1])
            b = LD[k + 1, k]
            D = np.array([[LD[k, k], _adj(b, hermitian)], [b, LD[k + 1, k + 1]]])
            X[k:k + 2] = np.linalg.solve(D, X[k:k + 2])
            k += 2
    k = n - 1
    while k >= 0:  # solve L^T X = Y (L^H), undoing the interchanges
        if ipiv[k] > 0:
            X[k] -= _adj(LD[k + 1:, k], hermitian) @ X[k + 1:]
            kp = ipiv[k] - 1
            X[[k, kp]] = X[[kp, k]]
            k -= 1
        else:
            X[k] -= _adj(LD[k + 1:, k], hermitian) @ X[k + 1:]
            X[k - 1] -= _adj(LD[k + 1:, k - 1], hermitian) @ X[k + 1:]
            kp = -ipiv[k] - 1
            X[[k, kp]] = X[[kp, k]]
            k -= 2
    return X


def ldl_factor(A: np.ndarray, hermitian: bool):
    """Batched :func:`ldl_factor_one`: ``(LD, ipiv, info)`` over leading dims."""
    n = A.shape[-1]
    flat = A.reshape((-1, n, n))
    LD = np.zeros(flat.shape, dtype=A.dtype)
    piv = np.zeros(flat.shape[:-1], dtype=np.int32)
    info = np.zeros(flat.shape[0], dtype=np.int32)
    for b in range(flat.shape[0]):
        LD[b], piv[b], info[b] = ldl_factor_one(flat[b], hermitian)
    batch = A.shape[:-2]
    return LD.reshape(A.shape), piv.reshape(batch + (n,)), info.reshape(batch)


def ldl_solve(LD: np.ndarray, ipiv: np.ndarray, B: np.ndarray, hermitian: bool) -> np.ndarray:
    batch = np.broadcast_shapes(LD.shape[:-2], ipiv.shape[:-1], B.shape[:-2])
    n = LD.shape[-1]
    LDb = np.broadcast_to(LD, batch + (n, n)).reshape((-1, n, n))
    Pb = np.broadcast_to(ipiv, batch + (n,)).reshape((-1, n))
    Bb = np.broadcast_to(B, batch + B.shape[-2:]).reshape((-1,) + B.shape[-2:])
    out = np.stack([ldl_solve_one(LDb[i], Pb[i], Bb[i], hermitian) for i in range(Bb.shape[0])]) if Bb.shape[0] else (
        np.zeros(Bb.shape, dtype=np.result_type(LD, B)))
    return out.reshape(batch + B.shape[-2:])
