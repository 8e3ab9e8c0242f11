"""The frontend over the special-function rows: ``graphc.special``, and the functions whose
PyTorch signature is hand-written (``polygamma(n, x)``, ``frexp``, ``ldexp``, ``logit``,
``mvlgamma``, the shift operators). Values against float64 references from ``math`` and
mpmath; gradients against finite differences (``graphc.autograd.gradcheck``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc.autograd import gradcheck

mpmath = pytest.importorskip("mpmath")

# torch.special's public names (PyTorch 2.13), all of which graphc.special must have.
TORCH_SPECIAL = """
airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t chebyshev_polynomial_u
chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc erfcx erfinv exp2 expit expm1
gammainc gammaincc gammaln hermite_polynomial_h hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l
legendre_polynomial_p log1p log_ndtr log_softmax logit logsumexp modified_bessel_i0 modified_bessel_i1
modified_bessel_k0 modified_bessel_k1 multigammaln ndtr ndtri polygamma psi round scaled_modified_bessel_k0
scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u
shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc softmax spherical_bessel_j0 xlog1py xlogy zeta
""".split()


def t64(*values):
    return graphc.tensor(np.array(values, dtype=np.float64))


def test_graphc_special_has_every_torch_special_name():
    missing = [n for n in TORCH_SPECIAL if not callable(getattr(graphc.special, n, None))]
    assert missing == []
    assert set(TORCH_SPECIAL) <= set(graphc.special.__all__)


@pytest.mark.parametrize(
    "name,ref,xs",
    [
        ("ndtr", lambda x: float(mpmath.ncdf(x)), [-3.0, -0.5, 0.0, 1.5, 6.0]),
        ("erfcx", lambda x: float(mpmath.exp(x * x) * mpmath.erfc(x)), [-1.0, 0.0, 2.0, 30.0]),
        ("gammaln", lambda x: float(mpmath.loggamma(x)), [0.1, 1.0, 2.5, 40.0]),
        ("psi", lambda x: float(mpmath.digamma(x)), [0.3, 1.0, 7.5]),
        ("i0e", lambda x: float(mpmath.besseli(0, x) * mpmath.exp(-abs(x))), [-2.0, 0.0, 3.0, 50.0]),
        ("bessel_j0", lambda x: float(mpmath.besselj(0, x)), [0.0, 1.0, 10.0]),
        ("expit", lambda x: 1 / (1 + math.exp(-x)), [-5.0, 0.0, 3.0]),
        ("sinc", lambda x: 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x), [0.0, 0.5, 2.25]),
    ],
)
def test_special_values(name, ref, xs):
    got = getattr(graphc.special, name)(t64(*xs)).numpy()
    np.testing.assert_allclose(got, [ref(x) for x in xs], rtol=1e-13, atol=1e-15)


def test_polygamma_takes_the_order_first_and_as_a_method():
    x = t64(0.5, 1.0, 3.0)
    for n in (0, 1, 3):
        want = [float(mpmath.polygamma(n, v)) for v in (0.5, 1.0, 3.0)]
        np.testing.assert_allclose(graphc.polygamma(n, x).numpy(), want, rtol=1e-13)
        np.testing.assert_allclose(x.polygamma(n).numpy(), want, rtol=1e-13)
        np.testing.assert_allclose(graphc.special.polygamma(n, x).numpy(), want, rtol=1e-13)
    with pytest.raises(RuntimeError, match="negative n"):
        graphc.polygamma(-1, x)
    with pytest.raises(TypeError, match="'n' must be int"):
        graphc.polygamma(1.5, x)
    assert gradcheck(lambda t: graphc.polygamma(1, t), (t64(0.7, 2.0).requires_grad_(),))


def test_frexp_splits_into_mantissa_and_int32_exponent():
    x = t64(8.0, -3.0, 0.1, 0.0, 1e300)
    m, e = graphc.frexp(x)
    want_m, want_e = np.frexp(x.numpy())
    np.testing.assert_array_equal(m.numpy(), want_m)
    np.testing.assert_array_equal(e.numpy(), want_e)
    assert e.dtype is graphc.int32 and m.dtype is graphc.float64
    assert graphc.frexp(x).mantissa is not None  # a named tuple, as torch.return_types.frexp
    with pytest.raises(RuntimeError, match="floating-point"):
        graphc.frexp(graphc.tensor([1, 2]))


def test_ldexp_logit_mvlgamma():
    np.testing.assert_array_equal(graphc.ldexp(t64(1.5, -2.0), graphc.tensor([3, -1])).numpy(), [12.0, -1.0])
    assert graphc.ldexp(graphc.tensor([1]), graphc.tensor([2])).dtype is graphc.float32  # ints promote
    p = t64(0.25, 0.5, 0.9)
    np.testing.assert_allclose(graphc.logit(p).numpy(), [math.log(v / (1 - v)) for v in (0.25, 0.5, 0.9)], rtol=1e-14)
    np.testing.assert_allclose(graphc.logit(t64(0.0, 1.0), eps=1e-3).numpy(), [math.log(1e-3 / (1 - 1e-3))] * 1 + [-math.log(1e-3 / (1 - 1e-3))])
    x = t64(2.5, 4.0)
    want = [float(mpmath.log(mpmath.pi) * 1.5 + sum(mpmath.loggamma(v - j / 2) for j in range(3))) for v in (2.5, 4.0)]
    np.testing.assert_allclose(graphc.mvlgamma(x, 3).numpy(), want, rtol=1e-13)
    np.testing.assert_allclose(graphc.special.multigammaln(x, 3).numpy(), want, rtol=1e-13)
    with pytest.raises(RuntimeError, match="greater than"):
        graphc.mvlgamma(t64(0.5), 3)
    assert gradcheck(lambda t: graphc.logit(t), (t64(0.3, 0.6).requires_grad_(),))
    assert gradcheck(lambda a: graphc.ldexp(a, graphc.tensor([2, -1])), (t64(0.3, 0.6).requires_grad_(),))
    assert gradcheck(lambda t: graphc.mvlgamma(t, 2), (t64(1.7, 3.2).requires_grad_(),))


def test_shift_operators_are_the_shift_rows():
    a = graphc.tensor([1, 2, -8], dtype=graphc.int32)
    np.testing.assert_array_equal((a << 2).numpy(), [4, 8, -32])
    np.testing.assert_array_equal((a >> graphc.tensor([0, 1, 2], dtype=graphc.int32)).numpy(), [1, 1, -2])
    np.testing.assert_array_equal((1 << graphc.tensor([3])).numpy(), [8])
    b = a.clone()
    b <<= 1
    np.testing.assert_array_equal(b.numpy(), [2, 4, -16])


def test_compiled_special_functions_equal_eager():
    def f(x):
        return graphc.special.ndtr(x) + graphc.lgamma(x.abs() + 1) * graphc.special.i0e(x) + graphc.logit(x.sigmoid())

    x = graphc.randn(64, dtype=graphc.float64)
    np.testing.assert_allclose(graphc.compile(f)(x).numpy(), f(x).numpy(), rtol=1e-12)
