"""numpy implementations of the gamma-function family: lgamma, digamma, polygamma, the Hurwitz
zeta function and the regularized incomplete gamma functions (float64 inside, the input's dtype
out; see :func:`ir.ops.npspecial.in_float64`). Special values follow PyTorch's CPU kernels.
"""

from __future__ import annotations

import math

import numpy as np

from . import cheb_coeffs as C
from .npmath import where
from .npspecial import BERNOULLI, FACTORIALS, cheb, in_float64, sinpi

EPS = 2.0**-53


def _lgamma_pos(y):
    """lgamma for y >= 0.5: (y - 1)(y - 2) h(y) on [0.5, 3] (h a Chebyshev series; the exact
    factors keep the roots 1 and 2 at full relative accuracy), the recurrence
    lgamma(y) = lgamma(y - m) + log((y-1)...(y-m)) down to [2, 3) below 10, and Stirling's series
    (Bernoulli coefficients) from 10."""
    m = np.clip(np.floor(y) - 2.0, 0.0, 7.0)
    prod = np.ones_like(y)
    for k in range(1, 8):
        prod = prod * where(k <= m, y - k, 1.0)
    base = where(y <= 3.0, y, y - m)
    mid = (base - 1.0) * (base - 2.0) * cheb(C.LGAMMA_MID, (base - 1.75) * 0.8)
    mid = where(y <= 3.0, mid, mid + np.log(prod)) + 0.0  # + 0.0: lgamma(1) is +0, not -0
    z = np.maximum(y, 10.0)
    w = 1.0 / (z * z)
    s = np.zeros_like(z)
    for k in range(8, 0, -1):
        s = s * w + BERNOULLI[k - 1] / (2 * k * (2 * k - 1))
    big = z * (np.log(z) - 1.0) - 0.5 * np.log(z) + 0.5 * math.log(2 * math.pi) + s / z
    return where(y >= 10.0, big, mid)


# Below this |x|, lgamma(x) is -log|x| to double precision (the next term, -0.577 x, is lost in
# rounding), and the reflection's pi / sin(pi x) overflows at float64's denormals.
_LGAMMA_TINY = 2.0**-100


def _lgamma(x):
    """log |Gamma(x)|; the reflection log(pi / |sin(pi x)|) - lgamma(1 - x) below 0.5, -log|x| for
    |x| below 2^-100; +inf at the poles 0, -1, -2, ... and at +-inf (C's lgamma)."""
    low = x < 0.5
    lg = _lgamma_pos(where(low, 1.0 - x, x))
    with np.errstate(divide="ignore"):
        r = where(low, np.log(math.pi / np.abs(sinpi(x))) - lg, lg)
        r = where(np.abs(x) < _LGAMMA_TINY, -np.log(np.abs(x)), r)
    r = where((x <= 0) & (x == np.floor(x)), np.inf, r)
    return where(np.isinf(x), np.inf, r)


lgamma = in_float64(_lgamma)


def _digamma(x):
    """psi(x): reflection psi(1 - x) - pi / tan(pi r) below 0 (r the fractional part, as PyTorch);
    on [1, 2] psi(x) = (x - x0) g(x) around the root x0 (a Chebyshev series for g, so psi keeps
    its relative accuracy at the root); (0, 1) and [2, 10) reduced to [1, 2) by the recurrence
    psi(x + 1) = psi(x) + 1 / x (adding positive terms only); x >= 10 the asymptotic series."""
    neg = x < 0
    y = where(neg, 1.0 - x, x)
    # x >= 10: log x - 1/(2x) - sum B_2k / (2k x^2k)
    z = 1.0 / (y * y)
    s = np.zeros_like(y)
    for k in range(8, 0, -1):
        s = (s + BERNOULLI[k - 1] / (2 * k)) * z
    big = np.log(y) - 0.5 / y - s
    # [1, 10): down to [1, 2)
    m = np.clip(np.floor(y) - 1.0, 0.0, 8.0)
    base = y - m
    acc = np.zeros_like(y)
    for k in range(1, 9):
        acc = acc + where(k <= m, 1.0 / (y - k), 0.0)
    base = where(y < 1.0, y + 1.0, base)
    mid = (base - C.PSI_X0[0] - C.PSI_X0[1] - C.PSI_X0[2]) * cheb(C.PSI_ROOT, 2.0 * base - 3.0) + acc
    mid = where(y < 1.0, mid - 1.0 / y, mid)
    r = where(y >= 10.0, big, mid)
    frac = x - np.trunc(x)
    r = where(neg, r - math.pi / np.tan(math.pi * frac), r)
    r = where(neg & (frac == 0), np.nan, r)
    return where(x == 0, np.copysign(np.inf, -x), r)


digamma = in_float64(_digamma)


def _zeta(s, q):
    """Hurwitz zeta sum_k (q + k)^-s: the first terms summed directly until q + k >= 10 (and at
    least 9 of them), then the Euler-Maclaurin tail with 12 Bernoulli terms (the method of
    Cephes' zeta; conventions: s == 1 -> inf, s < 1 -> NaN, q a non-positive integer -> inf, q < 0
    with s not an integer -> NaN)."""
    s, q = np.broadcast_arrays(s, q)
    m = 9.0 + where(q < 10.0, np.ceil(np.nan_to_num(10.0 - q, nan=0.0, posinf=0.0, neginf=0.0)), 0.0)
    m = np.minimum(m, 1e6)
    total = np.zeros_like(q, dtype=np.float64)
    for k in range(int(m.max()) if m.size else 0):
        total = total + where(k < m, (q + k) ** -s, 0.0)
    a = q + m
    b = a**-s
    # a^(1-s) / (s-1), not a * a^-s: a^-s underflows first (trigamma at 1e300 is 1e-300, not 0)
    total = total + a ** (1.0 - s) / (s - 1.0) + 0.5 * b
    fac = 1.0  # s (s+1) ... (s+2j-2) / (2j)!, built step by step
    term_pow = b / a
    for j in range(1, 13):
        fac = fac * (s + 2 * j - 2) / ((2 * j - 1) * (2 * j)) if j > 1 else s / 2.0
        total = total + BERNOULLI[j - 1] * fac * term_pow
        term_pow = term_pow / (a * a)
        fac = fac * (s + 2 * j - 1)
    r = where(s == 1.0, np.inf, where(s < 1.0, np.nan, total))
    qint = q == np.floor(q)
    r = where((q <= 0) & qint, np.inf, where((q <= 0) & (s != np.floor(s)), np.nan, r))
    # q = +inf: NaN, as PyTorch's (Cephes') zeta, though the limit is 0 (trigamma's is: below)
    return where(np.isnan(s) | np.isnan(q) | (q == np.inf), np.nan, r)


zeta = in_float64(_zeta)


def _polygamma(n, x):
    """psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1, digamma for n = 0 (n integral >= 0)."""
    n, x = np.broadcast_arrays(n, x)
    k = np.clip(np.nan_to_num(n, nan=0.0), 0, 170).astype(np.int64)
    sign = where(k % 2 == 1, 1.0, -1.0)
    r = sign * FACTORIALS[k] * _zeta(n + 1.0, x)
    # PyTorch's trigamma: 0 at +inf (digamma's gradient there), NaN at -inf (its reflection)
    r = where(n == 1, where(x == np.inf, 0.0, where(x == -np.inf, np.nan, r)), r)
    r = where(n == 0, _digamma(x), r)
    return where((n < 0) | (n != np.floor(n)), np.nan, r)


polygamma = in_float64(_polygamma)


# ----------------------------------------------------------------------------
# regularized incomplete gamma functions P(a, x) (igamma) and Q(a, x) (igammac)


def _log_prefactor(a, x):
    """log(x^a e^-x / Gamma(a))."""
    return a * np.log(x) - x - _lgamma(a)


def _p_series(a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) * sum_k x^k / ((a+1)...(a+k)) (DLMF 8.11.4)."""
    term = np.ones_like(x)
    total = np.ones_like(x)
    r = a.copy()
    for _ in range(2000):
        r = r + 1.0
        term = term * x / r
        total = total + term
        if not np.any(term > EPS * total):
            break
    return total * np.exp(_log_prefactor(a, x)) / a


def _q_series(a, x):
    """Q(a, x) for small x: -expm1(a log x - lgamma(a + 1)) - x^a / Gamma(a) sum_n>=1 (-x)^n / (n! (a + n))
    (DLMF 8.7.3, arranged to avoid cancellation as in SciPy's igamc)."""
    fac = np.ones_like(x)
    total = np.zeros_like(x)
    for n in range(1, 2000):
        fac = fac * -x / n
        term = fac / (a + n)
        total = total + term
        if not np.any(np.abs(term) > EPS * np.abs(total)):
            break
    logx = np.log(x)
    return -np.expm1(a * logx - _lgamma(a + 1.0)) - np.exp(a * logx - _lgamma(a)) * total


def _q_fraction(a, x):
    """Q(a, x) by Legendre's continued fraction (DLMF 8.9.2), with the modified Lentz method.

    Lanes leave the loop as they converge (a few ulps of rounding in the factor persist after
    convergence, hence the 1e-15), so the cost is that of each lane's own iteration count."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / where(b == 0, tiny, b)
    h = d.copy()
    out = np.empty_like(x)
    idx, aa = np.arange(x.size), a
    for i in range(1, 2000):
        an = -i * (i - aa)
        b = b + 2.0
        d = an * d + b
        d = where(d == 0, tiny, d)
        c = b + an / c
        c = where(c == 0, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        done = np.abs(delta - 1.0) <= 1e-15
        if done.any():
            out[idx[done]] = h[done]
            keep = ~done
            idx, aa, b, c, d, h = idx[keep], aa[keep], b[keep], c[keep], d[keep], h[keep]
            if not idx.size:
                break
    out[idx] = h
    return np.exp(_log_prefactor(a, x)) * out


def _igamma_pair(a, x):
    """(P, Q) choosing, per element, the method that computes the smaller of the two accurately
    (the regions SciPy uses): the continued fraction for x > 1.1 and x >= a, else a series."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    aa, xx = where(ok, a, 1.0), where(ok, x, 1.0)
    use_cf = (xx > 1.1) & (xx >= aa)
    use_p = where(xx > 1.1, xx < aa, where(xx <= 0.5, -0.4 / np.log(xx) < aa, xx * 1.1 < aa))
    p = np.full_like(xx, np.nan)
    q = np.full_like(xx, np.nan)
    for sel, fn, is_p in ((use_cf, _q_fraction, False), (use_p & ~use_cf, _p_series, True),
                          (~use_p & ~use_cf, _q_series, False)):
        if np.any(sel):
            v = fn(aa[sel], xx[sel])
            (p if is_p else q)[sel] = v
    p = where(np.isnan(p), 1.0 - q, p)
    q = where(np.isnan(q), 1.0 - p, q)
    # PyTorch's special values (its calc_igamma / calc_igammac)
    bad = (a < 0) | (x < 0) | np.isnan(a) | np.isnan(x)
    p = where(a == 0, where(x > 0, 1.0, np.nan), p)
    q = where(a == 0, where(x > 0, 0.0, np.nan), q)
    p = where((x == 0) & (a > 0), 0.0, p)
    q = where((x == 0) & (a > 0), 1.0, q)
    inf_a, inf_x = np.isinf(a) & (a > 0), np.isinf(x) & (x > 0)
    p = where(inf_a, where(inf_x, np.nan, 0.0), where(inf_x & (a > 0), 1.0, p))
    q = where(inf_a, where(inf_x, np.nan, 1.0), where(inf_x & (a > 0), 0.0, q))
    return where(bad, np.nan, p), where(bad, np.nan, q)


igamma = in_float64(lambda a, x: _igamma_pair(a, x)[0])
igammac = in_float64(lambda a, x: _igamma_pair(a, x)[1])
