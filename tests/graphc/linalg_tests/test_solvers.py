"""graphc.linalg solves, inverses, determinants and composites against numpy float64/complex128
(batched and broadcast shapes), with PyTorch's errors for singular input and ``info`` tensors."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import linalg as LA
from ir.errors import DTypeError, LinAlgError, ShapeError

from ._helpers import N, T, herm, mats, spd


@pytest.mark.parametrize("complex_", [False, True])
def test_inverse_and_solves(complex_):
    a = mats((3, 4, 4), complex_) + 4 * np.eye(4)
    inv = N(LA.inv(T(a)))
    np.testing.assert_allclose(a @ inv, np.broadcast_to(np.eye(4), a.shape), atol=1e-12)
    b = mats((4, 2), complex_, seed=1)  # broadcast over A's batch
    np.testing.assert_allclose(N(LA.solve(T(a), T(b))), np.linalg.solve(a, b), atol=1e-12)
    v = mats((3, 4), complex_, seed=2)  # a batch of vectors (A's shape without the last dim)
    np.testing.assert_allclose(N(LA.solve(T(a), T(v))), np.linalg.solve(a, v[..., None])[..., 0], atol=1e-12)
    r = mats((2, 4), complex_, seed=3)
    np.testing.assert_allclose(N(LA.solve(T(a[0]), T(r), left=False)) @ a[0], r, atol=1e-12)
    x, info = LA.solve_ex(T(a), T(b))
    assert info.tolist() == [0, 0, 0]
    inv2, info = LA.inv_ex(T(a))
    np.testing.assert_allclose(N(inv2), inv)


def test_singular_matrices_raise_naming_the_batch_element():
    a = np.stack([np.eye(3), np.diag([1.0, 0.0, 2.0])])
    with pytest.raises(LinAlgError, match=r"linalg.inv: \(Batch element 1\): The diagonal element 2 is zero"):
        LA.inv(T(a))
    with pytest.raises(LinAlgError, match="The solver failed because the input matrix is singular"):
        LA.solve(T(a), T(np.ones((3, 1))))
    inv, info = LA.inv_ex(T(a))
    assert info.tolist() == [0, 2] and np.isnan(N(inv)[1]).all()
    with pytest.raises(LinAlgError):
        LA.inv_ex(T(a), check_errors=True)
    assert isinstance(LinAlgError("x"), RuntimeError) and LA.LinAlgError is LinAlgError


def test_argument_errors():
    with pytest.raises(ShapeError, match="square matrices, but they are 2 by 3"):
        LA.inv(T(np.ones((2, 3))))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        LA.det(T(np.ones(3)))
    with pytest.raises(DTypeError, match="Expected a floating point or complex tensor as input. Got graphc.int64"):
        LA.inv(graphc.eye(2, dtype=graphc.int64))
    with pytest.raises(DTypeError, match="Low precision"):
        LA.inv(graphc.eye(2, dtype=graphc.float16))
    with pytest.raises(DTypeError, match="same dtype"):
        LA.solve(T(np.eye(2)), graphc.ones(2, 1))


@pytest.mark.parametrize("upper,left,unit", [(True, True, False), (False, True, True), (True, False, False), (False, False, True)])
def test_solve_triangular_reads_only_its_triangle(upper, left, unit):
    a = mats((2, 4, 4)) + 4 * np.eye(4)
    tri = np.triu(a) if upper else np.tril(a)
    if unit:
        tri = tri.copy()
        tri[..., range(4), range(4)] = 1
    b = mats((2, 4, 3) if left else (2, 3, 4), seed=1)
    x = N(LA.solve_triangular(T(a), T(b), upper=upper, left=left, unitriangular=unit))
    np.testing.assert_allclose(tri @ x if left else x @ tri, b, atol=1e-12)


def test_lu_solve_all_forms():
    a = mats((2, 4, 4)) + 3 * np.eye(4)
    b = mats((2, 4, 3), seed=1)
    LU, piv = LA.lu_factor(T(a))
    np.testing.assert_allclose(N(LA.lu_solve(LU, piv, T(b))), np.linalg.solve(a, b), atol=1e-12)
    np.testing.assert_allclose(N(LA.lu_solve(LU, piv, T(b), adjoint=True)), np.linalg.solve(herm(a), b), atol=1e-12)
    bt = np.swapaxes(b, -1, -2)
    np.testing.assert_allclose(N(LA.lu_solve(LU, piv, T(bt), left=False)) @ a, bt, atol=1e-12)
    np.testing.assert_allclose(N(graphc.lu_solve(T(b), LU, piv)), np.linalg.solve(a, b), atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True])
def test_det_slogdet_logdet(complex_):
    a = mats((3, 4, 4), complex_)
    np.testing.assert_allclose(N(LA.det(T(a))), np.linalg.det(a), rtol=1e-12)
    sign, logabs = LA.slogdet(T(a))
    ref = np.linalg.slogdet(a)
    np.testing.assert_allclose(N(sign), ref.sign, rtol=1e-12)
    np.testing.assert_allclose(N(logabs), ref.logabsdet, rtol=1e-12)
    assert logabs.dtype is graphc.float64
    sign, logabs = LA.slogdet(T(np.zeros((2, 2))))
    assert sign.item() == 0 and logabs.item() == -np.inf
    p = spd((4, 4))
    np.testing.assert_allclose(graphc.logdet(T(p)).item(), np.log(np.linalg.det(p)), rtol=1e-12)
    assert np.isnan(graphc.logdet(T(np.diag([-1.0, 1.0]))).item())


def test_pinv_lstsq_rank_on_rank_deficient_input():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))  # rank 2
    np.testing.assert_allclose(N(LA.pinv(T(a))), np.linalg.pinv(a), atol=1e-12)
    assert LA.matrix_rank(T(a)).item() == 2 and LA.matrix_rank(T(a), atol=1e3).item() == 0
    b = rng.standard_normal((6, 3))
    sol = LA.lstsq(T(a), T(b))
    np.testing.assert_allclose(N(sol.solution), np.linalg.lstsq(a, b, rcond=None)[0], atol=1e-10)
    assert sol.rank.item() == 2 and sol.residuals.numel() == 0 and sol.singular_values.numel() == 0
    full = rng.standard_normal((6, 3))
    d = LA.lstsq(T(full), T(b), driver="gelsd")
    ref = np.linalg.lstsq(full, b, rcond=None)
    np.testing.assert_allclose(N(d.residuals), ref[1], rtol=1e-10)
    np.testing.assert_allclose(N(d.singular_values), ref[3], rtol=1e-12)
    h = spd((4, 4)) - 6 * np.eye(4)
    np.testing.assert_allclose(N(LA.pinv(T(h), hermitian=True)), np.linalg.pinv(h), atol=1e-10)
    np.testing.assert_allclose(N(graphc.pinverse(T(a))), np.linalg.pinv(a, rcond=1e-15), atol=1e-10)


def test_matrix_power_exp_tensorinv_tensorsolve():
    a = mats((2, 3, 3)) + 2 * np.eye(3)
    for n in (0, 1, 2, 5, -1, -3):
        np.testing.assert_allclose(N(LA.matrix_power(T(a), n)), np.linalg.matrix_power(a, n), rtol=1e-10, atol=1e-12)
    # exp of a rotation generator is the rotation; exp(A) exp(-A) = I; a diagonalizable matrix
    theta = 0.7
    np.testing.assert_allclose(N(LA.matrix_exp(T(np.array([[0, -theta], [theta, 0]])))),
                               [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], atol=1e-14)
    b = mats((4, 4))
    skew = 10 * (b - b.T)  # a norm far above theta_13 (scaling and squaring); exp(skew) is orthogonal
    e = N(LA.matrix_exp(T(skew)))
    np.testing.assert_allclose(e @ e.T, np.eye(4), atol=1e-12)
    w, v = np.linalg.eig(skew)
    np.testing.assert_allclose(e, ((v * np.exp(w)) @ np.linalg.inv(v)).real, atol=1e-11)
    w, v = np.linalg.eig(a[0])
    np.testing.assert_allclose(N(graphc.matrix_exp(T(a[0]))), (v * np.exp(w)) @ np.linalg.inv(v), rtol=1e-10, atol=1e-12)
    t = mats((4, 2, 2, 4)) + np.eye(8).reshape(4, 2, 2, 4) * 3
    m = t.reshape(8, 8)
    np.testing.assert_allclose(N(LA.tensorinv(T(t), 2)).reshape(8, 8), np.linalg.inv(m), atol=1e-12)
    b = mats((4, 2), seed=2)
    x = N(LA.tensorsolve(T(t), T(b)))
    np.testing.assert_allclose(np.tensordot(t, x, 2), b, atol=1e-12)
