"""numpy implementations of the special-function rows (:mod:`ir.ops.special`).

Every function computes in float64 and returns the input's dtype, so float32 and float16
inputs get float64 accuracy rounded once. Smooth pieces are Chebyshev series in a variable
that makes them smooth and bounded (coefficients: :mod:`ir.ops.cheb_coeffs`, generated with
mpmath by :mod:`ir.ops.chebfit`); the rest are series, recurrences, Euler-Maclaurin sums,
continued fractions and Halley iterations written out below, each with its source named.
Special values follow PyTorch (its CPU kernels), which follow C's math library and Cephes.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import cheb_coeffs as C
from .npmath import where

INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
SQRT_HALF = math.sqrt(0.5)
SQRT_2PI = math.sqrt(2.0 * math.pi)
# Bernoulli numbers B_2 .. B_26 (exact rationals, as floats).
BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
             -174611 / 330, 854513 / 138, -236364091 / 2730, 8553103 / 6)
FACTORIALS = np.array([float(math.factorial(k)) for k in range(171)])


def in_float64(fn):
    """Run ``fn`` on float64 copies of its arrays, under numpy's quiet error state, and give the
    result the first argument's dtype (float16/float32 inputs are rounded once, at the end)."""

    @functools.wraps(fn)
    def run(*args):
        dtype = np.asarray(args[0]).dtype
        wide = [np.asarray(a, dtype=np.float64) for a in args]
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*wide), dtype=np.float64)
        return out.astype(dtype if dtype.kind == "f" else np.float64, copy=False)

    return run


def cheb(coeffs, t):
    """Clenshaw's recurrence for sum' c_k T_k(t) (the first coefficient is stored halved)."""
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    t2 = t + t
    for c in coeffs[:0:-1]:
        b1, b2 = t2 * b1 - b2 + c, b1
    return t * b1 - b2 + coeffs[0]


def exp_sq(a, scale=-1.0):
    """exp(scale * a * a) without the rounding error of forming a * a (scale is -1, 1 or -0.5):
    a = hi + lo with hi on a 1/16 grid, so hi * hi is exact and the rest is a small correction."""
    hi = np.floor(a * 16.0) / 16.0
    lo = a - hi
    r = np.exp(scale * (hi * hi)) * np.exp(scale * (lo * (hi + a)))
    return where(np.isinf(a), np.exp(scale * np.abs(a)), r)


# ----------------------------------------------------------------------------
# the error-function family: everything from erfcx on x >= 0, one Chebyshev series


def _erfcx_pos(a):
    r = cheb(C.ERFCX, (a - 4.0) / (a + 4.0)) / (a + 4.0)
    return where(a == np.inf, 0.0, r)


@in_float64
def erfcx(x):
    """exp(x^2) erfc(x); for x < 0, 2 exp(x^2) - erfcx(-x) (overflows to inf below about -26.6)."""
    a = np.abs(x)
    pos = _erfcx_pos(a)
    return where(x < 0, 2.0 * exp_sq(a, 1.0) - pos, pos)


def _erfc(x):
    a = np.abs(x)
    pos = exp_sq(a) * _erfcx_pos(a)
    return where(x < 0, 2.0 - pos, pos)


erfc = in_float64(_erfc)


def _ndtr(x):
    """The standard normal CDF; the lower tail as 0.5 exp(-x^2/2) erfcx(-x/sqrt 2), so it keeps
    full relative accuracy down to underflow."""
    a = np.abs(x)
    tail = 0.5 * exp_sq(a, -0.5) * _erfcx_pos(a * SQRT_HALF)
    return where(x < 0, tail, 1.0 - tail)


ndtr = in_float64(_ndtr)


@in_float64
def log_ndtr(x):
    a = np.abs(x)
    low = np.log(0.5 * _erfcx_pos(a * SQRT_HALF)) - 0.5 * x * x
    return where(x < -1.0, low, np.log1p(-_ndtr(-x)))


def _ndtri_lower(p):
    """ndtri for 0 < p <= 0.5: Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the start,
    then Halley's iteration on ndtr(z) = p (cubic: three steps reach full precision)."""
    s = np.sqrt(-2.0 * np.log(p))
    z = -(s - (2.515517 + s * (0.802853 + s * 0.010328)) / (1.0 + s * (1.432788 + s * (0.189269 + s * 0.001308))))
    for _ in range(3):
        pdf = exp_sq(z, -0.5) / SQRT_2PI
        d = (_ndtr(z) - p) / pdf
        z = z - d / (1.0 + 0.5 * z * d)
    return z


@in_float64
def ndtri(p):
    """The inverse normal CDF: -inf at 0, inf at 1, NaN outside [0, 1]."""
    q = where(p > 0.5, 1.0 - p, p)  # exact for p >= 0.5 (Sterbenz)
    z = _ndtri_lower(np.clip(q, 1e-320, 0.5))
    z = where(p > 0.5, -z, z)
    z = where(p == 0, -np.inf, where(p == 1, np.inf, where(p == 0.5, 0.0, z)))
    return where((p < 0) | (p > 1) | np.isnan(p), np.nan, z)


def _erf_series(x):
    """erf(x) for |x| <= 0.5: 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)), 16 terms."""
    z = x * x
    s = np.zeros_like(x)
    for n in range(16, -1, -1):
        s = s * z + (-1) ** n / (math.factorial(n) * (2 * n + 1))
    return 2.0 * INV_SQRT_PI * x * s


@in_float64
def erfinv(y):
    """Inverse of erf: Halley's iteration on the series for |y| <= 0.5, and through ndtri
    (erfinv(y) = -ndtri((1 - |y|) / 2) / sqrt 2, exact arguments) in the tails."""
    a = np.abs(y)
    x = a * (0.5 * math.sqrt(math.pi)) * (1.0 + a * a * (math.pi / 12.0))
    for _ in range(3):
        d = (_erf_series(x) - a) / (2.0 * INV_SQRT_PI * np.exp(-x * x))
        x = x - d / (1.0 + x * d)
    tail = -_ndtri_lower(np.clip(0.5 * (1.0 - a), 1e-320, 0.5)) * SQRT_HALF
    r = np.copysign(where(a <= 0.5, x, tail), y)
    r = where(a == 1, np.copysign(np.inf, y), r)
    return where((a > 1) | np.isnan(y), np.nan, r)


# ----------------------------------------------------------------------------
# Bessel functions


def _i0e(a):
    small = cheb(C.I0E_A, a * 0.25 - 1.0)
    large = cheb(C.I0E_B, 16.0 / a - 1.0) / np.sqrt(a)
    return where(a <= 8.0, small, large)


def _i1e(x):
    a = np.abs(x)
    small = x * cheb(C.I1E_A, a * 0.25 - 1.0)
    large = np.copysign(cheb(C.I1E_B, 16.0 / a - 1.0) / np.sqrt(a), x)
    return where(a <= 8.0, small, large)


def _scale_exp(v, a):
    """v * exp(a), as two half-exponentials so that v * exp(a) does not overflow early."""
    h = np.exp(0.5 * a)
    return (v * h) * h


i0e = in_float64(lambda x: _i0e(np.abs(x)))
i1e = in_float64(_i1e)
i0 = in_float64(lambda x: where(np.isinf(x), np.inf, _scale_exp(_i0e(np.abs(x)), np.abs(x))))
i1 = in_float64(lambda x: where(np.isinf(x), x, _scale_exp(_i1e(x), np.abs(x))))


def _k0e(x):
    small = (cheb(C.K0_A, x * x * 0.5 - 1.0) - np.log(0.5 * x) * _scale_exp(_i0e(x), x)) * np.exp(x)
    large = cheb(C.K0E_B, 4.0 / x - 1.0) / np.sqrt(x)
    r = where(x <= 2.0, small, large)
    return where(x < 0, np.nan, where(x == 0, np.inf, r))


def _k1e(x):
    term = x * np.log(0.5 * x) * _scale_exp(_i1e(x), x)
    term = where(np.isnan(term), 0.0, term)  # x so small that I1(x) underflows: the term is 0
    small = (cheb(C.K1_A, x * x * 0.5 - 1.0) + term) / x * np.exp(x)
    large = cheb(C.K1E_B, 4.0 / x - 1.0) / np.sqrt(x)
    r = where(x <= 2.0, small, large)
    return where(x < 0, np.nan, where(x == 0, np.inf, r))


k0e = in_float64(_k0e)
k1e = in_float64(_k1e)
k0 = in_float64(lambda x: where(x == np.inf, 0.0, _k0e(x) * np.exp(-x)))
k1 = in_float64(lambda x: where(x == np.inf, 0.0, _k1e(x) * np.exp(-x)))


def _hankel(a):
    """(1/sqrt(pi a), cos a, sin a) for the large-argument forms of J and Y (a >= 8)."""
    return 1.0 / np.sqrt(math.pi * a), np.cos(a), np.sin(a)


def _j0(a):
    f, c, s = _hankel(a)
    t = 16.0 / a - 1.0
    p, q = cheb(C.P0, t), cheb(C.Q0, t) / a
    large = where(a == np.inf, 0.0, f * (p * (c + s) - q * (s - c)))
    return where(a == 0, 1.0, where(a <= 8.0, cheb(C.J0_A, a * a / 32.0 - 1.0), large))


def _j1(x):
    a = np.abs(x)
    f, c, s = _hankel(a)
    t = 16.0 / a - 1.0
    p, q = cheb(C.P1, t), cheb(C.Q1, t) / a
    large = where(a == np.inf, 0.0, f * (p * (s - c) + q * (s + c)))
    large = where(x < 0, -large, large)
    return where(a <= 8.0, x * cheb(C.J1_A, a * a / 32.0 - 1.0), large)


@in_float64
def y0(x):
    f, c, s = _hankel(x)
    t = 16.0 / x - 1.0
    p, q = cheb(C.P0, t), cheb(C.Q0, t) / x
    large = where(x == np.inf, 0.0, f * (p * (s - c) + q * (c + s)))
    small = cheb(C.Y0_A, x * x / 32.0 - 1.0) + (2.0 / math.pi) * np.log(x) * _j0(x)
    return where(x < 0, np.nan, where(x <= 8.0, small, large))


@in_float64
def y1(x):
    f, c, s = _hankel(x)
    t = 16.0 / x - 1.0
    p, q = cheb(C.P1, t), cheb(C.Q1, t) / x
    large = where(x == np.inf, 0.0, f * (q * (s - c) - p * (s + c)))
    small = (cheb(C.Y1_A, x * x / 32.0 - 1.0) + (2.0 / math.pi) * x * np.log(x) * _j1(x)) / x
    small = where(x == 0, -np.inf, small)
    return where(x < 0, np.nan, where(x <= 8.0, small, large))


j0 = in_float64(lambda x: _j0(np.abs(x)))
j1 = in_float64(_j1)

AI_Z2 = 2.0 / 3.0 * 2.0**1.5  # zeta at x = 2
AI_Z8 = 2.0 / 3.0 * 8.0**1.5  # zeta at x = -8


@in_float64
def airy_ai(x):
    """Ai: a Chebyshev series on [-8, 2]; beyond, the asymptotic forms' smooth factors (in
    1/zeta, zeta = (2/3)|x|^(3/2)) times exp(-zeta) or the oscillating sin/cos(zeta + pi/4)."""
    a = np.abs(x)
    z = (2.0 / 3.0) * a * np.sqrt(a)
    t = 2.0 * AI_Z2 / z - 1.0
    pos = cheb(C.AI_POS, t) * np.exp(-z) / (2.0 * math.sqrt(math.pi) * np.sqrt(np.sqrt(a)))
    t = 2.0 * AI_Z8 / z - 1.0
    f, g = cheb(C.AI_NEG_F, t), cheb(C.AI_NEG_G, t)
    sz, cz = np.sin(z), np.cos(z)
    neg = (f * (sz + cz) - g * (cz - sz)) * SQRT_HALF / (math.sqrt(math.pi) * np.sqrt(np.sqrt(a)))
    mid = cheb(C.AI_MID, (x + 3.0) / 5.0)
    r = where(x >= 2.0, where(x == np.inf, 0.0, pos), where(x > -8.0, mid, neg))
    return where(np.isinf(x) & (x < 0), np.nan, r)


@in_float64
def spherical_j0(x):
    """sin(x) / x, with its Taylor series below 0.5 (exact 1 at 0) and 0 at +-inf."""
    z = x * x
    s = np.zeros_like(x)
    for n in range(8, -1, -1):
        s = s * z + (-1) ** n / math.factorial(2 * n + 1)
    r = where(np.abs(x) < 0.5, s, np.sin(x) / x)
    return where(np.isinf(x), 0.0, r)


# ----------------------------------------------------------------------------
# elementary maps numpy has no ufunc for (PyTorch's special values)


@in_float64
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0, NaN at +-inf (see :func:`sinpi`)."""
    return where(x == 0, 1.0, sinpi(x) / (math.pi * x))


def sinpi(x):
    """sin(pi x) with exact argument reduction: r = x - 2 round(x / 2) in [-1, 1), then folded
    into [-1/2, 1/2] by sin(pi r) = sin(pi (+-1 - r)) (exact subtractions), so that pi * r is
    rounded only relative to r and sin(pi x) keeps its relative accuracy next to the integers."""
    r = x - 2.0 * np.floor(0.5 * x + 0.5)
    r = where(r > 0.5, 1.0 - r, where(r < -0.5, -1.0 - r, r))
    return np.sin(math.pi * r)


@in_float64
def xlogy(x, y):
    """x * log(y), 0 where x == 0 (unless y is NaN)."""
    return where(np.isnan(y), np.nan, where(x == 0, 0.0, x * np.log(y)))


@in_float64
def xlog1py(x, y):
    return where(np.isnan(y), np.nan, where(x == 0, 0.0, x * np.log1p(y)))


@in_float64
def entr(x):
    """-x log x for x > 0, 0 at 0, -inf below 0."""
    return where(x > 0, -x * np.log(x), where(x == 0, 0.0, where(np.isnan(x), np.nan, -np.inf)))


def heaviside(x, v):
    """v where x == 0, else (x > 0) (a NaN x gives 0, as PyTorch's kernel)."""
    return where(x == 0, v, (x > 0).astype(x.dtype))


def frexp_mantissa(x):
    return np.frexp(x)[0]


def frexp_exponent(x):
    return np.frexp(x)[1].astype(np.int32)


def signbit(x):
    x = np.asarray(x)
    return np.zeros(x.shape, dtype=bool) if x.dtype == np.bool_ else np.signbit(x)


def left_shift(a, b):
    """a << b; 0 when b < 0 or b >= the width (PyTorch)."""
    bits = a.dtype.itemsize * 8
    return where((b < 0) | (b >= bits), 0, np.left_shift(a, np.clip(b, 0, bits - 1))).astype(a.dtype)


def right_shift(a, b):
    """a >> b (arithmetic); b < 0 or b >= the width gives the sign fill (0 for unsigned)."""
    bits = a.dtype.itemsize * 8
    fill = np.right_shift(a, bits - 1) if a.dtype.kind == "i" else np.zeros_like(a)
    return where((b < 0) | (b >= bits), fill, np.right_shift(a, np.clip(b, 0, bits - 1))).astype(a.dtype)
