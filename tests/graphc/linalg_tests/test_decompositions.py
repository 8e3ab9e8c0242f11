"""graphc.linalg factorizations: reconstruction properties against float64/complex128 inputs,
batched and broadcast shapes, PyTorch's conventions (ascending eigenvalues, descending singular
values, LAPACK pivots), errors and ``info`` tensors, and the delicate cases (repeated
eigenvalues, rank deficiency). Independent references: the defining identities evaluated in
numpy, and numpy.linalg for values that are unique (eigenvalues, singular values, det)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import linalg as LA
from ir.errors import LinAlgError, ShapeError

from ._helpers import C128, F64, N, T, herm, mats, spd


@pytest.mark.parametrize("complex_", [False, True])
def test_qr_reconstructs_with_orthonormal_q(complex_):
    for shape, mode in (((3, 5, 3), "reduced"), ((2, 3, 5), "reduced"), ((4, 4), "complete"), ((5, 3), "complete")):
        a = mats(shape, complex_)
        Q, R = LA.qr(T(a), mode=mode)
        q, r = N(Q), N(R)
        np.testing.assert_allclose(q @ r, a, atol=1e-12)
        np.testing.assert_allclose(herm(q) @ q, np.eye(q.shape[-1]) + 0 * herm(q) @ q, atol=1e-12)
        np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-14)
    Q, R = LA.qr(T(mats((5, 3))), mode="r")
    assert Q.numel() == 0 and R.shape == (3, 3)


@pytest.mark.parametrize("complex_", [False, True])
def test_svd_reconstructs_and_orders(complex_):
    for shape, full in (((2, 4, 3), False), ((3, 5), True), ((2, 3, 3), True)):
        a = mats(shape, complex_)
        U, S, Vh = LA.svd(T(a), full_matrices=full)
        u, s, vh = N(U), N(S), N(Vh)
        k = min(shape[-2:])
        np.testing.assert_allclose((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :], a, atol=1e-12)
        np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-12)
        assert np.all(np.diff(s, axis=-1) <= 0) and s.dtype == np.float64
        np.testing.assert_allclose(herm(u) @ u, np.broadcast_to(np.eye(u.shape[-1]), herm(u).shape[:-1] + (u.shape[-1],)), atol=1e-12)
    np.testing.assert_allclose(N(LA.svdvals(T(mats((4, 6))))), np.linalg.svd(mats((4, 6)), compute_uv=False))


@pytest.mark.parametrize("complex_", [False, True])
def test_eigh_reconstructs_ascending(complex_):
    a = spd((2, 4, 4), complex_) - 3 * np.eye(4)
    w, V = LA.eigh(T(a))
    w, v = N(w), N(V)
    assert w.dtype == np.float64 and np.all(np.diff(w) >= 0)
    np.testing.assert_allclose((v * w[..., None, :]) @ herm(v), a, atol=1e-12)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-12)
    np.testing.assert_allclose(N(LA.eigvalsh(T(a), UPLO="U")), np.linalg.eigvalsh(a, UPLO="U"), atol=1e-12)


def test_eigh_reads_only_the_named_triangle():
    a = spd((4, 4))
    junk = a + np.triu(np.full((4, 4), 7.0), 1)
    np.testing.assert_allclose(N(LA.eigvalsh(T(junk))), np.linalg.eigvalsh(a), atol=1e-12)


def test_eigh_repeated_eigenvalues():
    """The identity and a matrix with a double eigenvalue: values exact, vectors orthonormal."""
    w, V = LA.eigh(graphc.eye(3, dtype=F64))
    np.testing.assert_allclose(N(w), [1, 1, 1])
    np.testing.assert_allclose(N(V) @ N(V).T, np.eye(3), atol=1e-15)
    q, _ = np.linalg.qr(mats((3, 3)))
    a = q @ np.diag([2.0, 2.0, 5.0]) @ q.T
    np.testing.assert_allclose(N(LA.eigvalsh(T(a))), [2, 2, 5], atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True])
def test_eig_reconstructs(complex_):
    a = mats((2, 4, 4), complex_)
    w, V = LA.eig(T(a))
    assert w.dtype is C128 and V.dtype is C128
    w, v = N(w), N(V)
    np.testing.assert_allclose(a @ v, v * w[..., None, :], atol=1e-11)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, atol=1e-12)
    np.testing.assert_allclose(np.sort_complex(N(LA.eigvals(T(a))).ravel()), np.sort_complex(np.linalg.eigvals(a).ravel()),
                               atol=1e-11)


@pytest.mark.parametrize("complex_", [False, True])
def test_cholesky_and_ex(complex_):
    a = spd((3, 4, 4), complex_)
    L = N(LA.cholesky(T(a)))
    np.testing.assert_allclose(L @ herm(L), a, atol=1e-12)
    np.testing.assert_allclose(np.triu(L, 1), 0)
    U = N(LA.cholesky(T(a), upper=True))
    np.testing.assert_allclose(herm(U) @ U, a, atol=1e-12)
    bad = a.copy()
    bad[1] = -np.eye(4)
    bad[1, 0, 0] = 1.0
    Lx, info = LA.cholesky_ex(T(bad))
    assert info.dtype is graphc.int32 and info.tolist() == [0, 2, 0]
    np.testing.assert_allclose(N(Lx)[0] @ herm(N(Lx)[0]), a[0], atol=1e-12)
    with pytest.raises(LinAlgError, match=r"\(Batch element 1\): .*not positive-definite \(the leading minor of order 2"):
        LA.cholesky(T(bad))
    with pytest.raises(LinAlgError, match="order 2"):
        LA.cholesky_ex(T(bad), check_errors=True)


def test_lu_factor_matches_partial_pivoting():
    """P L U == A, L unit lower with |L| <= 1 (partial pivoting), pivots 1-based int32."""
    for shape in ((3, 4, 4), (3, 5), (5, 3)):
        a = mats(shape)
        P, L, U = (N(t) for t in LA.lu(T(a)))
        np.testing.assert_allclose(P @ L @ U, a, atol=1e-12)
        assert np.all(np.abs(L) <= 1 + 1e-15) and np.allclose(np.diagonal(L, axis1=-2, axis2=-1), 1)
        np.testing.assert_allclose(np.tril(U, -1), 0)
        LU, piv = LA.lu_factor(T(a))
        assert piv.dtype is graphc.int32 and piv.shape == shape[:-2] + (min(shape[-2:]),)
        P2, L2, U2 = (N(t) for t in graphc.lu_unpack(LU, piv))
        np.testing.assert_allclose(P2 @ L2 @ U2, a, atol=1e-12)
    # a hand example: the first pivot is row 2 (largest |a|), LAPACK's ipiv = [2, 2]
    LU, piv = LA.lu_factor(T(np.array([[1.0, 2.0], [3.0, 4.0]])))
    assert piv.tolist() == [2, 2]
    np.testing.assert_allclose(N(LU), [[3, 4], [1 / 3, 2 - 4 / 3]])


def test_lu_errors_and_info():
    sing = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    LU, piv, info = LA.lu_factor_ex(T(sing))
    assert info.tolist() == [2, 0]
    with pytest.raises(LinAlgError, match=r"\(Batch element 0\): U\[2,2\] is zero"):
        LA.lu_factor(T(sing))
    with pytest.raises(ShapeError, match="without pivoting"):
        LA.lu_factor(T(sing), pivot=False)


def test_householder_product_and_geqrf_rebuild_q():
    a = mats((5, 3))
    h, tau = graphc.geqrf(T(a))
    Q = N(LA.householder_product(h, tau))
    R = np.triu(N(h))[:3]
    np.testing.assert_allclose(Q @ R, a, atol=1e-12)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-12)
    c = mats((5, 2), seed=1)
    full_q = np.linalg.qr(a, mode="complete")[0]  # the same LAPACK reflectors, accumulated by numpy
    np.testing.assert_allclose(N(graphc.ormqr(h, tau, T(c))), full_q @ c, atol=1e-12)
    np.testing.assert_allclose(N(graphc.ormqr(h, tau, T(c), transpose=True)), full_q.T @ c, atol=1e-12)
    np.testing.assert_allclose(N(graphc.ormqr(h, tau, T(c.T), left=False)), c.T @ full_q, atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True])
def test_ldl_factor_solves(complex_):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 5, 5)) + (1j * rng.standard_normal((2, 5, 5)) if complex_ else 0)
    for hermitian in ((False, True) if complex_ else (False,)):
        sym = a + (herm(a) if hermitian else np.swapaxes(a, -1, -2))
        LD, piv = LA.ldl_factor(T(sym), hermitian=hermitian)
        b = rng.standard_normal((2, 5, 3))
        x = N(LA.ldl_solve(LD, piv, T(b.astype(sym.dtype)), hermitian=hermitian))
        np.testing.assert_allclose(sym @ x, b, atol=1e-10)
        np.testing.assert_allclose(np.triu(N(LD), 1), 0)


def test_ldl_matches_lapack_layout():
    """A 2x2 pivot with an interchange, as LAPACK's sytrf (and PyTorch) lays it out."""
    LD, piv = LA.ldl_factor(T(np.array([[1.0, 2, 3], [2, -4, 5], [3, 5, 0.5]])))
    assert piv.tolist() == [-3, -3, 3]
    np.testing.assert_allclose(N(LD), [[1, 0, 0], [3, 0.5, 0], [28 / 17, 2 / 17, -134 / 17]], atol=1e-12)
