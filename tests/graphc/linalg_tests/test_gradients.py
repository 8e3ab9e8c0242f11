"""Gradients of graphc.linalg (float64 and complex128 gradchecks: central differences in the real
and imaginary parts of every input), the delicate points (det of a singular matrix, the norm at
zero), compiled == eager, and the Triton backend's labelled host calls.

Functions of eigenvectors and singular vectors are checked through losses invariant to their
sign/phase convention (as PyTorch's own tests do): a vector times the conjugate of one of its
entries, or reconstructions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import backends.triton._env  # noqa: F401  (without a GPU: Triton's interpreter, set before triton is imported)
import graphc
from graphc import linalg as LA
from graphc.autograd import gradcheck, gradgradcheck

from ._helpers import T, mats


def leaf(a):
    t = T(a)
    t.requires_grad_()
    return t


def pd(x):
    return x @ x.mH + graphc.eye(x.shape[-1], dtype=graphc.float64)


def gauge_free(v):
    """Eigen/singular vectors times the conjugate phase of their first entry: invariant to the
    phase (sign) each column carries."""
    first = v[..., :1, :]
    return v * (first.conj() / first.abs())


SQ, SQC = mats((2, 3, 3)), mats((2, 3, 3), True)
TALL, WIDE = mats((4, 3), seed=1), mats((3, 5), seed=2)
CASES = {
    "cholesky": (lambda a: LA.cholesky(pd(a)), [SQ]),
    "cholesky_upper_c": (lambda a: LA.cholesky(pd(a), upper=True), [SQC]),
    "inv": (LA.inv, [SQ]),
    "inv_c": (LA.inv, [SQC]),
    "solve_broadcast": (LA.solve, [SQ, mats((3, 2), seed=3)]),
    "solve_vector_c": (LA.solve, [SQC[0], mats(3, True, seed=4)]),
    "solve_left_false": (lambda a, b: LA.solve(a, b, left=False), [SQ, mats((2, 3), seed=5)]),
    "solve_triangular": (lambda a, b: LA.solve_triangular(a + 3 * graphc.eye(3, dtype=a.dtype), b, upper=True),
                         [SQ, mats((2, 3, 2), seed=6)]),
    "solve_triangular_right_unit_c": (lambda a, b: LA.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
                                      [SQC, mats((2, 2, 3), True, seed=7)]),
    "det": (LA.det, [SQ]),
    "det_c": (LA.det, [SQC]),
    "slogdet": (LA.slogdet, [SQ]),
    "slogdet_c": (LA.slogdet, [SQC]),
    "qr_tall": (LA.qr, [TALL]),
    "qr_wide": (LA.qr, [WIDE]),
    "qr_c": (LA.qr, [SQC]),
    "eigh": (lambda a: (lambda w, v: (w, gauge_free(v)))(*LA.eigh(a + a.mT)), [SQ]),
    "eigh_c": (lambda a: (lambda w, v: (w, gauge_free(v)))(*LA.eigh(a + a.mH)), [SQC]),
    "eigvalsh": (lambda a: LA.eigvalsh(a + a.mT), [SQ]),
    "eig": (lambda a: (lambda w, v: (w, gauge_free(v)))(*LA.eig(a)), [SQ]),
    "eig_c": (lambda a: (lambda w, v: (w, gauge_free(v)))(*LA.eig(a)), [SQC]),
    "svd_tall": (lambda a: (lambda u, s, vh: (gauge_free(u), s, gauge_free(vh.mH)))(*LA.svd(a, full_matrices=False)), [TALL]),
    "svd_wide": (lambda a: (lambda u, s, vh: (gauge_free(u), s, gauge_free(vh.mH)))(*LA.svd(a, full_matrices=False)), [WIDE]),
    "svd_full_reconstruct_c": (lambda a: (lambda u, s, vh: u[..., :, :3] @ (s[..., :, None] * vh[..., :3, :]))(*LA.svd(a)),
                               [mats((3, 4), True, seed=8)]),
    "svdvals_c": (LA.svdvals, [SQC]),
    "lu_factor": (lambda a: LA.lu_factor(a).LU, [SQ]),
    "lu_wide": (lambda a: LA.lu(a)[1:], [WIDE]),
    "lu_tall_c": (lambda a: LA.lu(a)[1:], [mats((4, 3), True, seed=9)]),
    "lu_solve_adjoint": (lambda a, b: LA.lu_solve(*LA.lu_factor(a), b, adjoint=True), [SQ, mats((2, 3, 2), seed=10)]),
    "matrix_exp": (LA.matrix_exp, [SQ * 0.7]),
    "matrix_exp_c": (LA.matrix_exp, [SQC * 0.7]),
    "pinv": (LA.pinv, [WIDE]),
    "lstsq": (lambda a, b: LA.lstsq(a, b).solution, [TALL, mats((4, 2), seed=11)]),
    "matrix_power": (lambda a: LA.matrix_power(a, -2), [SQ]),
    "householder_product": (LA.householder_product, [TALL, mats(3, seed=12)]),
    "multi_dot": (lambda a, b, c: LA.multi_dot([a, b, c]), [mats(4, seed=13), TALL, WIDE]),
    "cross": (LA.cross, [mats((2, 3), seed=14), mats((1, 3), seed=15)]),
    "vecdot_c": (LA.vecdot, [mats((2, 3), True, seed=16), mats(3, True, seed=17)]),
    "vander": (LA.vander, [mats(4, seed=18)]),
    "cond": (LA.cond, [SQ]),
    "cond_fro": (lambda a: LA.cond(a, "fro"), [SQ]),
    "tensorinv": (lambda a: LA.tensorinv(a, 1), [SQ[0]]),
    "cholesky_solve": (lambda a, b: graphc.cholesky_solve(b, LA.cholesky(pd(a))), [SQ, mats((3, 2), seed=19)]),
    "cholesky_inverse_c": (lambda a: graphc.cholesky_inverse(LA.cholesky(pd(a))), [SQC]),
    "logdet": (lambda a: graphc.logdet(pd(a)), [SQ]),
    "triangular_solve": (lambda a, b: graphc.triangular_solve(b, a + 3 * graphc.eye(3, dtype=a.dtype), transpose=True)[0],
                         [SQ, mats((2, 3, 2), seed=20)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, arrays = CASES[name]
    assert gradcheck(fn, [leaf(a) for a in arrays], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("norm_fn", [
    lambda x: LA.vector_norm(x, 2, dim=-1), lambda x: LA.vector_norm(x, 3.5, dim=-1), lambda x: LA.vector_norm(x, 1, dim=-1),
    lambda x: LA.vector_norm(x, float("inf"), dim=-1), lambda x: LA.matrix_norm(x, "nuc"), lambda x: LA.matrix_norm(x, -2),
    lambda x: LA.matrix_norm(x, float("inf")), lambda x: LA.norm(x),
], ids=["l2", "l3.5", "l1", "linf", "nuc", "spec-2", "inf", "fro"])
@pytest.mark.parametrize("complex_", [False, True])
def test_norm_gradcheck(norm_fn, complex_):
    assert gradcheck(norm_fn, [leaf(mats((2, 3, 3), complex_, seed=21))])


def test_norm_subgradient_at_zero_is_zero():
    """PyTorch's 'subgradients at zero': the 2-norm and p-norms have gradient 0 at the zero vector."""
    for p in (2, 3.0):
        x = graphc.zeros(3, dtype=graphc.float64, requires_grad=True)
        LA.vector_norm(x, p).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x = graphc.zeros(2, 2, dtype=graphc.complex128, requires_grad=True)
    LA.norm(x).backward()
    assert not np.isnan(x.grad.numpy()).any()


def test_det_gradient_of_a_singular_matrix_is_the_adjugate():
    """d det(A)/dA = adj(A)^T exists at singular A; by cofactors for a rank-2 3x3 matrix."""
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    cof = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)] for i in range(3)])
    x = leaf(a)
    LA.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-12)
    assert gradcheck(LA.det, [leaf(a)])


def test_second_order_gradients():
    assert gradgradcheck(LA.inv, [leaf(SQ[0] + 3 * np.eye(3))])
    assert gradgradcheck(lambda a: LA.cholesky(pd(a)), [leaf(SQ[0])])


def test_compiled_equals_eager_with_backward():
    def step(a, b):
        U, S, Vh = LA.svd(a, full_matrices=False)
        x = LA.solve(a, b)
        loss = S.sum() + LA.slogdet(a)[1].sum() + x.pow(2).sum() + LA.qr(a).R.abs().sum() + LA.inv(a).sum()
        loss.backward()
        return loss

    a, b = leaf(SQ + 3 * np.eye(3)), leaf(mats((2, 3, 2), seed=22))
    eager = step(a, b).item()
    ga, gb = a.grad.numpy().copy(), b.grad.numpy().copy()
    compiled = graphc.compile(step)
    for _ in range(3):
        a.grad = b.grad = None
        out = compiled(a, b)
    assert out.item() == pytest.approx(eager, rel=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-10)
    assert any(k.kind == "single" and "linalg_svd" in " ".join(k.node_text) for k in compiled.explain(a, b).kernels)


def test_triton_backend_runs_library_rows_as_labelled_host_calls():
    pytest.importorskip("triton")

    def f(a):
        return LA.inv(a) @ a + LA.det(a)[:, None, None]

    a = T(SQ + 3 * np.eye(3))
    cf = graphc.compile(f, backend="triton", warmup=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cf(a)
        report = cf.explain(a)
    np.testing.assert_allclose(got.numpy(), f(a).numpy(), rtol=1e-12)
    hosts = [k for k in report.kernels if k.kind == "host"]
    assert {k.name.split("_", 2)[2] for k in hosts} == {"linalg_inv_host", "linalg_det_host"}
    assert all("HOST CALL (library row)" in k.source for k in hosts)
    assert "HOST CALL (library row): %" in report.program_source
