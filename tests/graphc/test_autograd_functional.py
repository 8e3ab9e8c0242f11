"""graphc.autograd.functional against float64 central differences and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.autograd import functional as AF

F64 = graphc.float64
rng = np.random.default_rng(0)


def _t(*shape):
    return graphc.tensor(rng.standard_normal(shape), dtype=F64)


def _fd_jacobian(f, xs, i_out, j_in, eps=1e-6):
    """d f(xs)[i_out] / d xs[j_in] by central differences, shape out.shape + in.shape."""
    base = [x.numpy().copy() for x in xs]

    def val(arrs):
        out = f(*[graphc.tensor(a, dtype=F64) for a in arrs])
        out = out if isinstance(out, tuple) else (out,)
        return out[i_out].numpy()

    out_shape = val(base).shape
    jac = np.zeros(out_shape + base[j_in].shape)
    for idx in np.ndindex(base[j_in].shape):
        plus = [a.copy() for a in base]
        minus = [a.copy() for a in base]
        plus[j_in][idx] += eps
        minus[j_in][idx] -= eps
        jac[(...,) + idx] = (val(plus) - val(minus)) / (2 * eps)
    return jac


def two_in_two_out(a, b):
    return (a.sin() * b.sum(), (a @ b).exp())


def test_jacobian_nesting_and_values():
    a, b = _t(2, 3), _t(3)
    jac = AF.jacobian(two_in_two_out, (a, b))
    assert isinstance(jac, tuple) and len(jac) == 2 and all(len(r) == 2 for r in jac)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(jac[i][j].numpy(), _fd_jacobian(two_in_two_out, [a, b], i, j), atol=1e-7)
    assert tuple(jac[0][1].shape) == (2, 3, 3) and tuple(jac[1][0].shape) == (2, 2, 3)
    single = AF.jacobian(lambda x: x.tanh(), a)  # Tensor in, Tensor out: a Tensor
    assert isinstance(single, graphc.Tensor) and tuple(single.shape) == (2, 3, 2, 3)
    outs_only = AF.jacobian(lambda x: (x.exp(), x.sum()), a)  # tuple of outputs, one input
    assert len(outs_only) == 2 and tuple(outs_only[1].shape) == (2, 3)
    ins_only = AF.jacobian(lambda x, y: (x * y).sum(), (a[0], b))  # one output, tuple of inputs
    np.testing.assert_allclose(ins_only[0].numpy(), b.numpy())
    # vectorize / forward-mode give the same (computed by the same loop)
    same = AF.jacobian(two_in_two_out, (a, b), vectorize=True, strategy="forward-mode")
    np.testing.assert_allclose(same[1][1].numpy(), jac[1][1].numpy())


def test_unused_input_is_zero_or_strict_error():
    a, b = _t(2), _t(2)
    jac = AF.jacobian(lambda x, y: x * 2, (a, b))
    np.testing.assert_array_equal(jac[1].numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        AF.jacobian(lambda x, y: x * 2, (a, b), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1. This is not allowed in strict mode"):
        AF.vjp(lambda x, y: x * 2, (a, b), graphc.ones(2, dtype=F64), strict=True)
    with pytest.raises(RuntimeError, match="not supported together"):
        AF.jacobian(lambda x: x, a, strict=True, vectorize=True)


def test_hessian_against_closed_form_and_nesting():
    x = _t(3)
    h = AF.hessian(lambda x: (x**3).sum() + x[0] * x[1], x)
    expected = np.diag(6 * x.numpy())
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)
    a, b = _t(2), _t(2)
    hh = AF.hessian(lambda a, b: (a * a * b).sum(), (a, b))
    np.testing.assert_allclose(hh[0][0].numpy(), np.diag(2 * b.numpy()))
    np.testing.assert_allclose(hh[0][1].numpy(), np.diag(2 * a.numpy()))
    np.testing.assert_allclose(hh[1][1].numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        AF.hessian(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.hessian(lambda x: (x.sum(), x.sum()), x)


def test_vjp_jvp_vhp_hvp_against_the_jacobian_and_hessian():
    a, b = _t(2, 3), _t(3)
    jac = AF.jacobian(two_in_two_out, (a, b))
    v_out = (_t(2, 3), _t(2))
    v_in = (_t(2, 3), _t(3))
    out, vj = AF.vjp(two_in_two_out, (a, b), v_out)
    np.testing.assert_allclose(out[1].numpy(), np.exp(a.numpy() @ b.numpy()))
    for j in range(2):
        ref = sum(np.tensordot(v_out[i].numpy(), jac[i][j].numpy(), axes=v_out[i].dim()) for i in range(2))
        np.testing.assert_allclose(vj[j].numpy(), ref, rtol=1e-10)
    _, jv = AF.jvp(two_in_two_out, (a, b), v_in)
    for i in range(2):
        ref = sum(np.tensordot(jac[i][j].numpy(), v_in[j].numpy(), axes=v_in[j].dim()) for j in range(2))
        np.testing.assert_allclose(jv[i].numpy(), ref, rtol=1e-10)

    def f(x):
        return (x.sin() * x).sum()

    x, v = _t(4), _t(4)
    h = AF.hessian(f, x).numpy()
    val, hv = AF.hvp(f, x, v)
    _, vh = AF.vhp(f, x, v)
    np.testing.assert_allclose(hv.numpy(), h @ v.numpy(), rtol=1e-10)
    np.testing.assert_allclose(vh.numpy(), v.numpy() @ h, rtol=1e-10)
    assert float(val) == pytest.approx(float((np.sin(x.numpy()) * x.numpy()).sum()))


def test_create_graph_keeps_results_differentiable():
    x = graphc.tensor([0.5, 1.5], dtype=F64, requires_grad=True)
    _, vj = AF.vjp(lambda x: (x**3).sum(), x, create_graph=True)  # 3x^2
    assert vj.requires_grad
    (g,) = graphc.autograd.grad(vj.sum(), [x])
    np.testing.assert_allclose(g.numpy(), 6 * x.detach().numpy())
    _, plain = AF.vjp(lambda x: (x**3).sum(), x)
    assert not plain.requires_grad


def test_argument_errors():
    x = _t(2)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda x: x, [x])
    with pytest.raises(RuntimeError, match="v can only be None if the user-provided function returns"):
        AF.vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match=r"v has invalid size: should be"):
        AF.vjp(lambda x: x * 2, x, _t(3))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length"):
        AF.jvp(lambda a, b: a * b, (x, x), (x,))
    with pytest.raises(AssertionError, match="Expected strategy"):
        AF.jacobian(lambda x: x, x, strategy="sideways")
