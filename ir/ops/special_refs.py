"""float64 scalar references for the special-function rows (``OpDef.ref``), for the conformance tests.

They are written independently of the vectorized implementations: Python's ``math`` where it has
the function, power series summed with ``math.fsum`` (exact-sum, so their cancellation costs only
the terms' own rounding) and recurrences in plain floats elsewhere. The series are meant for the
moderate arguments the conformance samples use (|x| up to about 12); beyond that a reference
defers to the row's own implementation, which ``tests/ir/test_special_values.py`` checks against
mpmath at high precision over the whole range.
"""

from __future__ import annotations

import math

import numpy as np

from . import npspecial

EULER = 0.5772156649015329
NAN, INF = math.nan, math.inf


def _big(fn, x, limit=12.0):
    """The row's implementation beyond where the series below are meant to be used."""
    return float(fn(np.float64(x))) if abs(x) > limit else None


def acosh(x):
    return math.acosh(x) if x >= 1 else NAN


def sinc(x):
    if math.isinf(x):
        return NAN
    return 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)


def xlogy(x, y):
    if math.isnan(y):
        return NAN
    if x == 0:
        return 0.0
    return x * math.log(y) if y > 0 else (x * -INF if y == 0 else NAN)


def xlog1py(x, y):
    if math.isnan(y):
        return NAN
    if x == 0:
        return 0.0
    return x * math.log1p(y) if y > -1 else (x * -INF if y == -1 else NAN)


def entr(x):
    if math.isnan(x):
        return NAN
    return -x * math.log(x) if x > 0 else (0.0 if x == 0 else -INF)


def logaddexp2(a, b):
    if math.isnan(a) or math.isnan(b):
        return NAN
    if a == b:
        return a + 1.0
    m = max(a, b)
    return m + math.log1p(2.0 ** -abs(a - b)) / math.log(2.0)


def erfcx(x):
    if x < 25:
        return math.erfc(x) * math.exp(x * x)
    # Laplace's continued fraction for erfc, 60 levels (converges fast for large x)
    f = x
    for k in range(60, 0, -1):
        f = x + (k / 2.0) / f
    return 1.0 / (math.sqrt(math.pi) * f)


def ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def log_ndtr(x):
    if x < -5:
        return math.log(0.5 * erfcx(-x / math.sqrt(2.0))) - 0.5 * x * x
    return math.log1p(-ndtr(-x))


def _bisect(f, target, lo, hi):
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def erfinv(y):
    if math.isnan(y) or abs(y) > 1:
        return NAN
    if abs(y) == 1:
        return math.copysign(INF, y)
    return _bisect(math.erf, y, -6.0, 6.0)


def ndtri(p):
    if math.isnan(p) or p < 0 or p > 1:
        return NAN
    if p in (0.0, 1.0):
        return -INF if p == 0 else INF
    return _bisect(ndtr, p, -40.0, 9.0)


def lgamma(x):
    try:
        return math.lgamma(x)
    except ValueError:
        return INF


def digamma(x):
    """psi by the recurrence up to x >= 20, then the asymptotic series; reflection below 0."""
    if math.isnan(x) or x == -INF:
        return NAN
    if x == 0:
        return math.copysign(INF, -x)
    if x < 0:
        if x == math.floor(x):
            return NAN
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * (x - math.trunc(x)))
    acc = []
    while x < 20:
        acc.append(-1.0 / x)
        x += 1.0
    z = 1.0 / (x * x)
    s = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z / 132))))
    return math.fsum(acc + [math.log(x), -0.5 / x, -s])


def _hurwitz(s, q):
    """sum_k (q + k)^-s: 60 terms, then the integral and three Euler-Maclaurin corrections."""
    terms = [(q + k) ** -s for k in range(60)]
    a = q + 60.0
    tail = a ** (1 - s) / (s - 1) + 0.5 * a**-s + s * a ** (-s - 1) / 12 - s * (s + 1) * (s + 2) * a ** (-s - 3) / 720
    return math.fsum(terms) + tail


def zeta(s, q):
    if math.isnan(s) or math.isnan(q):
        return NAN
    if s == 1:
        return INF
    if s < 1:
        return NAN
    if q <= 0 and q == math.floor(q):
        return INF
    if q <= 0 and s != math.floor(s):
        return NAN
    return _hurwitz(s, q)


def polygamma(n, x):
    if math.isnan(n) or math.isnan(x) or n < 0 or n != math.floor(n):
        return NAN
    if n == 0:
        return digamma(x)
    return (-1) ** (int(n) + 1) * math.factorial(int(n)) * zeta(n + 1, x)


def _igamma_pq(a, x):
    if math.isnan(a) or math.isnan(x) or a < 0 or x < 0:
        return NAN, NAN
    if a == 0:
        return (1.0, 0.0) if x > 0 else (NAN, NAN)
    if x == 0:
        return 0.0, 1.0
    if math.isinf(a):
        return (NAN, NAN) if math.isinf(x) else (0.0, 1.0)
    if math.isinf(x):
        return 1.0, 0.0
    lp = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the power series for P
        term, total, k = 1.0 / a, 1.0 / a, 0
        while abs(term) > 1e-17 * abs(total) and k < 10000:
            k += 1
            term *= x / (a + k)
            total += term
        p = total * math.exp(lp)
        return p, 1.0 - p
    # the continued fraction for Q, evaluated backwards from a fixed depth
    f = 0.0
    for k in range(400, 0, -1):
        f = k * (k - a) / (x + 2 * k + 1 - a - f)
    q = math.exp(lp) / (x + 1 - a - f)
    return 1.0 - q, q


def igamma(a, x):
    return _igamma_pq(a, x)[0]


def igammac(a, x):
    return _igamma_pq(a, x)[1]


# ----------------------------------------------------------------------------
# Bessel and Airy: power series


def _series(term0, ratio, n=80):
    """fsum of the terms t_0 = term0, t_k = t_(k-1) * ratio(k)."""
    terms = [term0]
    for k in range(1, n):
        terms.append(terms[-1] * ratio(k))
    return math.fsum(terms)


def _harmonic(k):
    return math.fsum(1.0 / j for j in range(1, k + 1))


def i0(x):
    big = _big(npspecial.i0, x)
    return big if big is not None else _series(1.0, lambda k: (x * x / 4) / (k * k))


def i1(x):
    big = _big(npspecial.i1, x)
    return big if big is not None else _series(x / 2, lambda k: (x * x / 4) / (k * (k + 1)))


def i0e(x):
    return i0(x) * math.exp(-abs(x)) if abs(x) <= 12 else float(npspecial.i0e(np.float64(x)))


def i1e(x):
    return i1(x) * math.exp(-abs(x)) if abs(x) <= 12 else float(npspecial.i1e(np.float64(x)))


def j0(x):
    big = _big(npspecial.j0, x)
    return big if big is not None else _series(1.0, lambda k: -(x * x / 4) / (k * k))


def j1(x):
    big = _big(npspecial.j1, x)
    return big if big is not None else _series(x / 2, lambda k: -(x * x / 4) / (k * (k + 1)))


def _log_series(x, sign, order):
    """sum_k sign^k (x^2/4)^k / (k! (k+order)!) * c_k with c_k = H_k + H_(k+order) (the log-term series)."""
    terms, t = [], (x / 2) ** order / math.factorial(order)
    for k in range(60):
        if k:
            t *= sign * (x * x / 4) / (k * (k + order))
        terms.append(t * (_harmonic(k) + _harmonic(k + order)))
    return math.fsum(terms)


def y0(x):
    if math.isnan(x) or x < 0:
        return NAN
    if x == 0:
        return -INF
    big = _big(npspecial.y0, x)
    if big is not None:
        return big
    # Y0 = (2/pi) (log(x/2) + gamma) J0 + (2/pi) sum (-1)^(k+1) H_k (x^2/4)^k / (k!)^2
    return (2 / math.pi) * ((math.log(x / 2) + EULER) * j0(x) - 0.5 * _log_series(x, -1.0, 0))


def y1(x):
    if math.isnan(x) or x < 0:
        return NAN
    if x == 0:
        return -INF
    big = _big(npspecial.y1, x)
    if big is not None:
        return big
    # Y1 = (2/pi) (log(x/2) + gamma) J1 - 2/(pi x) - (1/pi) sum (-1)^k (H_k + H_(k+1)) (x/2)^(2k+1) / (k!(k+1)!)
    return (2 / math.pi) * (math.log(x / 2) + EULER) * j1(x) - 2 / (math.pi * x) - _log_series(x, -1.0, 1) / math.pi


def k0(x):
    if math.isnan(x) or x < 0:
        return NAN
    if x == 0:
        return INF
    if x > 2:
        return float(npspecial.k0(np.float64(x)))
    return -(math.log(x / 2) + EULER) * i0(x) + 0.5 * _log_series(x, 1.0, 0)


def k1(x):
    if math.isnan(x) or x < 0:
        return NAN
    if x == 0:
        return INF
    if x > 2:
        return float(npspecial.k1(np.float64(x)))
    return 1 / x + (math.log(x / 2) + EULER) * i1(x) - 0.5 * _log_series(x, 1.0, 1)


def k0e(x):
    return k0(x) * math.exp(x) if not (x > 2 or math.isnan(x)) else float(npspecial.k0e(np.float64(x)))


def k1e(x):
    return k1(x) * math.exp(x) if not (x > 2 or math.isnan(x)) else float(npspecial.k1e(np.float64(x)))


def airy_ai(x):
    """Maclaurin series Ai = c1 f - c2 g (Abramowitz & Stegun 10.4.2) for |x| <= 6."""
    big = _big(npspecial.airy_ai, x, 6.0)
    if big is not None or math.isnan(x):
        return big if big is not None else NAN
    c1, c2 = 0.355028053887817239, 0.258819403792806798
    x3 = x**3
    f = _series(1.0, lambda k: x3 / ((3 * k - 1) * (3 * k)), 60)
    g = _series(x, lambda k: x3 / ((3 * k) * (3 * k + 1)), 60)
    return c1 * f - c2 * g


def spherical_j0(x):
    if math.isinf(x):
        return 0.0
    return 1.0 if x == 0 else math.sin(x) / x

