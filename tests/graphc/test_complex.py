"""Complex dtypes: promotion, printing, the complex functions, autograd in PyTorch's convention.

References: PyTorch's promotion table and printed forms (written out here as PyTorch 2.x gives
them), numpy complex128 arithmetic, and float64 central differences in the real and imaginary
parts of every complex input (``gradcheck``), which checks the convention ``grad = dL/dRe +
i dL/dIm`` independently of graphc's rules.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import backends.triton._env  # noqa: F401  (without a GPU: Triton's interpreter, set before triton is imported)
import graphc
from graphc.autograd import gradcheck
from ir import dtypes as dt
from ir.errors import AutogradError, DTypeError, UnsupportedError

C64, C128, F32, F64 = graphc.complex64, graphc.complex128, graphc.float32, graphc.float64
RNG = np.random.default_rng(3)


def c128(shape, requires_grad=True, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return graphc.tensor(a, dtype=C128, requires_grad=requires_grad)


# ----------------------------------------------------------------------------
# dtypes and promotion


@pytest.mark.parametrize("a,b,want", [
    (dt.float32, dt.complex64, dt.complex64), (dt.float64, dt.complex64, dt.complex128),
    (dt.complex64, dt.complex128, dt.complex128), (dt.int64, dt.complex64, dt.complex64),
    (dt.bool_, dt.complex128, dt.complex128), (dt.float16, dt.complex64, dt.complex64),
])
def test_promote_types_matches_pytorch(a, b, want):
    assert dt.promote_types(a, b) is want and dt.promote_types(b, a) is want


def test_result_type_with_weak_complex_scalars():
    f64 = graphc.zeros(2, dtype=F64)
    assert (graphc.zeros(2) + 1j).dtype is C64
    assert (f64 + 1j).dtype is C128  # the float group's precision is kept
    assert (graphc.zeros(2, dtype=graphc.int32) + 1j).dtype is C64
    assert (graphc.zeros(2) * graphc.tensor(1j, dtype=C128)).dtype is C64  # 0-d complex128: lower priority
    assert (graphc.zeros(2, dtype=C64) + graphc.zeros(2, dtype=F64)).dtype is C128


def test_dtype_attributes_and_names():
    assert C64.is_complex and not C64.is_floating_point and C64.is_differentiable
    assert dt.to_real(C128) is F64 and dt.to_complex(F32) is C64
    assert graphc.cfloat is C64 and graphc.cdouble is C128 and dt.by_name("cdouble") is C128
    assert graphc.tensor([1 + 2j]).dtype is C64 and graphc.tensor([1j], dtype=complex).dtype is C128
    assert graphc.is_complex(graphc.zeros(1, dtype=C64)) and graphc.zeros(1).cdouble().dtype is C128
    with pytest.raises(UnsupportedError, match="complex32"):
        graphc.zeros(1).chalf()


@pytest.mark.parametrize("make,want", [
    (lambda: graphc.tensor([1 + 2j, 3.5 - 1j, 0j]), "tensor([1.0000+2.j, 3.5000-1.j, 0.0000+0.j])"),
    (lambda: graphc.tensor(1 + 2j), "tensor(1.+2.j)"),
    (lambda: graphc.tensor([1 + 2j], dtype=C128), "tensor([1.+2.j], dtype=graphc.complex128)"),
    (lambda: graphc.tensor([[1.5e-5 + 2j, -3 - 4.25j], [complex(float("nan"), 1), complex(float("inf"), -1)]]),
     "tensor([[ 1.5000e-05+2.0000j, -3.0000e+00-4.2500j],\n        [        nan+1.0000j,         inf-1.0000j]])"),
    (lambda: graphc.zeros(2, 0, dtype=C64), "tensor([], size=(2, 0), dtype=graphc.complex64)"),
    (lambda: graphc.tensor([123456.5 + 1.5j]), "tensor([123456.5000+1.5000j])"),
])
def test_printing_matches_pytorch(make, want):
    assert repr(make()) == want


# ----------------------------------------------------------------------------
# values


def test_parts_conj_angle_sgn_polar_against_numpy():
    z = RNG.standard_normal(6) + 1j * RNG.standard_normal(6)
    z[2] = 0
    t = graphc.tensor(z, dtype=C128)
    np.testing.assert_allclose(t.real.numpy(), z.real)
    np.testing.assert_allclose(t.imag.numpy(), z.imag)
    np.testing.assert_allclose(t.conj().numpy(), np.conj(z))
    np.testing.assert_allclose(graphc.conj_physical(t).numpy(), np.conj(z))
    np.testing.assert_allclose(t.angle().numpy(), np.angle(z))
    np.testing.assert_allclose(t.abs().numpy(), np.abs(z))
    np.testing.assert_allclose(t.sgn().numpy(), np.where(z == 0, 0, z / np.where(z == 0, 1, np.abs(z))))
    r, th = graphc.tensor(np.abs(z), dtype=F64), graphc.tensor(np.angle(z), dtype=F64)
    np.testing.assert_allclose(graphc.polar(r, th).numpy(), z, atol=1e-15)
    np.testing.assert_allclose(graphc.complex(t.real, t.imag).numpy(), z)
    np.testing.assert_allclose(graphc.view_as_real(t).numpy(), np.stack([z.real, z.imag], -1))
    np.testing.assert_allclose(graphc.view_as_complex(graphc.view_as_real(t)).numpy(), z)
    assert graphc.isreal(graphc.tensor([1 + 0j, 1j])).tolist() == [True, False]
    x = graphc.tensor([-1.0, 2.0, float("nan")])
    assert graphc.angle(x).tolist()[:2] == [pytest.approx(np.pi), 0.0] and np.isnan(graphc.angle(x).tolist()[2])
    assert graphc.real(x) is x and x.conj() is x and graphc.resolve_conj(t) is t and not t.is_conj()


def test_elementwise_math_on_complex_against_numpy():
    z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
    w = RNG.standard_normal((4,)) + 1j * RNG.standard_normal((4,))
    t, u = graphc.tensor(z, dtype=C128), graphc.tensor(w, dtype=C128)
    for fn, ref in ((graphc.exp, np.exp), (graphc.log, np.log), (graphc.sqrt, np.sqrt), (graphc.sin, np.sin),
                    (graphc.tanh, np.tanh), (graphc.reciprocal, np.reciprocal), (graphc.asin, np.arcsin)):
        np.testing.assert_allclose(fn(t).numpy(), ref(z), rtol=1e-12)
    np.testing.assert_allclose((t * u + t / u - u).numpy(), z * w + z / w - w, rtol=1e-12)
    np.testing.assert_allclose((t ** u).numpy(), z ** w, rtol=1e-12)
    np.testing.assert_allclose((t @ graphc.tensor(np.conj(z.T), dtype=C128)).numpy(), z @ np.conj(z.T), rtol=1e-12)
    np.testing.assert_allclose(t.sum(0).numpy(), z.sum(0))
    np.testing.assert_allclose(t.mean().numpy(), z.mean())
    np.testing.assert_allclose(t.var(1).numpy(), z.var(1, ddof=1))
    np.testing.assert_allclose(t.cumsum(1).numpy(), z.cumsum(1))
    np.testing.assert_allclose(t.mH.numpy(), np.conj(z.T))
    assert (t == t).all() and not (t != t).any()


def test_real_only_ops_refuse_complex_naming_the_op():
    t = graphc.tensor([1 + 1j])
    with pytest.raises(DTypeError, match="maximum: not implemented for complex"):
        graphc.maximum(t, t)
    with pytest.raises(DTypeError, match="lt: not implemented for complex"):
        t < t  # noqa: B015
    with pytest.raises(DTypeError, match="imag is not implemented"):
        graphc.imag(graphc.tensor([1.0]))


# ----------------------------------------------------------------------------
# autograd: PyTorch's convention, checked by central differences in Re and Im


GRADCHECKS = {
    "exp": lambda z: z.exp(),
    "log": lambda z: z.log(),
    "sqrt": lambda z: z.sqrt(),
    "mul_conj": lambda z: z * z.conj() * z,
    "div": lambda z: 1 / z,
    "pow_complex_exponent": lambda z: z ** (0.5 + 1j),
    "pow_complex_base": lambda z: (1.5 + 0.5j) ** z,
    "tanh": lambda z: z.tanh(),
    "sigmoid": lambda z: z.sigmoid(),
    "abs": lambda z: z.abs(),
    "angle": lambda z: z.angle(),
    "sgn": lambda z: z.sgn(),
    "real_imag": lambda z: z.real * 2 + z.imag,
    "prod": lambda z: z.prod(),
    "cumsum": lambda z: z.cumsum(0),
    "matmul": lambda z: z.reshape(3, 1) @ z.reshape(1, 3),
    "var": lambda z: z.var(),
    "view_as_real": lambda z: graphc.view_as_real(z * z),
    "cast_mix": lambda z: z.real.to(C128) * z,
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_complex_gradcheck(name):
    z = c128((3,), seed=sum(map(ord, name)))
    assert gradcheck(GRADCHECKS[name], (z,))


def test_gradcheck_real_to_complex_functions():
    a = graphc.tensor([0.3, -1.2], dtype=F64, requires_grad=True)
    b = graphc.tensor([0.7, 2.2], dtype=F64, requires_grad=True)
    assert gradcheck(lambda r, t: graphc.polar(r, t), (a, b))
    assert gradcheck(lambda r, t: graphc.complex(r, t) ** 2, (a, b))
    assert gradcheck(lambda r: graphc.view_as_complex(r.reshape(1, 2)) ** 3, (a,))


def test_grad_of_abs_squared_is_2z():
    """d|z|^2 = 2 Re(conj(z) dz): PyTorch's gradient is 2z (not 2 conj(z))."""
    z = c128((4,))
    (z.abs() ** 2).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * z.detach().numpy(), rtol=1e-12)


def test_complex_leaves_and_errors():
    z = graphc.zeros(2, dtype=C64, requires_grad=True)
    assert z.requires_grad
    with pytest.raises(AutogradError, match="floating point and complex"):
        graphc.zeros(2, dtype=graphc.int64).requires_grad_()
    with pytest.raises(AutogradError, match="real scalar outputs"):
        (z * 1j).sum().backward()


def test_compiled_equals_eager_with_gradients():
    def step(z):
        loss = ((z * z + 1j).exp().abs().sum() + (z.conj() * 2).real.sum())
        loss.backward()
        return loss

    z = c128((5,))
    eager = step(z)
    g_eager = z.grad.numpy().copy()
    compiled = graphc.compile(step)
    for _ in range(3):
        z.grad = None
        out = compiled(z)
    np.testing.assert_allclose(out.numpy(), eager.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), g_eager, rtol=1e-12)


def test_triton_backend_refuses_complex_by_op():
    pytest.importorskip("triton")
    f = graphc.compile(lambda z: (z * z).sum(), backend="triton", warmup=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnsupportedError, match=r"complex dtypes yet: %\d+ = mul"):
            f(c128((3,), requires_grad=False))
