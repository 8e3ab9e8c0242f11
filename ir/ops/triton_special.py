"""``@triton.jit`` helpers for the special-function rows (merged into :data:`ir.ops.triton_math.HELPERS`).

They follow the numpy implementations (:mod:`ir.ops.npspecial`, :mod:`ir.ops.npgamma`) step by
step — the same Chebyshev series (generated here as unrolled Clenshaw recurrences from
:mod:`ir.ops.cheb_coeffs`), the same special values — with ``tl.where`` for branches and fixed
iteration counts where numpy loops until convergence (noted per helper). They run in float32
for float32/float16/bfloat16 values and in float64 for float64. A GPU build calls libdevice
instead wherever the row names a libdevice function.
"""

from __future__ import annotations

import math

from . import cheb_coeffs as C
from .npspecial import AI_Z2, AI_Z8, BERNOULLI
from .polynomials import POLY_HELPERS


def _cheb(name: str, coeffs) -> str:
    lines = [f"@triton.jit\ndef _cheb_{name.lower()}(t):", "    t2 = t + t", "    b1 = t * 0.0", "    b2 = t * 0.0"]
    for c in coeffs[:0:-1]:
        lines += [f"    b0 = t2 * b1 - b2 + ({c!r})", "    b2 = b1", "    b1 = b0"]
    lines.append(f"    return t * b1 - b2 + ({coeffs[0]!r})")
    return "\n".join(lines)


_FITS = ("LGAMMA_MID ERFCX I0E_A I1E_A I0E_B I1E_B K0_A K1_A K0E_B K1E_B J0_A J1_A Y0_A Y1_A P0 Q0 P1 Q1 AI_MID AI_POS "
         "AI_NEG_F AI_NEG_G PSI_ROOT").split()

PI = repr(math.pi)
SQRT_HALF = repr(math.sqrt(0.5))
INV_SQRT_PI = repr(1 / math.sqrt(math.pi))
SQRT_2PI = repr(math.sqrt(2 * math.pi))


def _poly(var: str, coeffs) -> str:
    """Horner's form of sum coeffs[k] var^k as one expression."""
    expr = repr(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        expr = f"({expr}) * {var} + ({c!r})"
    return expr


_ERF_SERIES = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(17)]
_SPH_SERIES = [(-1) ** n / math.factorial(2 * n + 1) for n in range(9)]
_PSI_ASYM = [0.0] + [BERNOULLI[k - 1] / (2 * k) for k in range(1, 9)]  # sum_k B_2k / (2k) z^k
_LGAMMA_ASYM = [BERNOULLI[k - 1] / (2 * k * (2 * k - 1)) for k in range(1, 9)]  # in 1/z^2, times 1/z

SPECIAL_HELPERS: dict[str, str] = {f"_cheb_{n.lower()}": _cheb(n, getattr(C, n)) for n in _FITS}

SPECIAL_HELPERS.update({
    "_exp_msq": '''@triton.jit
def _exp_msq(a):
    """exp(-a * a) without the rounding error of a * a (hi on a 1/16 grid: hi * hi is exact)."""
    hi = tl.floor(a * 16.0) / 16.0
    lo = a - hi
    r = tl.exp(-(hi * hi)) * tl.exp(-(lo * (hi + a)))
    return tl.where(tl.abs(a) == float("inf"), 0.0, r)''',
    "_exp_psq": """@triton.jit
def _exp_psq(a):
    hi = tl.floor(a * 16.0) / 16.0
    lo = a - hi
    r = tl.exp(hi * hi) * tl.exp(lo * (hi + a))
    return tl.where(tl.abs(a) == float("inf"), float("inf"), r)""",
    "_exp_mhsq": """@triton.jit
def _exp_mhsq(a):
    hi = tl.floor(a * 16.0) / 16.0
    lo = a - hi
    r = tl.exp(-0.5 * (hi * hi)) * tl.exp(-0.5 * (lo * (hi + a)))
    return tl.where(tl.abs(a) == float("inf"), 0.0, r)""",
    "_erfcx_pos": """@triton.jit
def _erfcx_pos(a):
    r = _cheb_erfcx((a - 4.0) / (a + 4.0)) / (a + 4.0)
    return tl.where(a == float("inf"), 0.0, r)""",
    "_erfcx": """@triton.jit
def _erfcx(x):
    a = tl.abs(x)
    pos = _erfcx_pos(a)
    return tl.where(x < 0, 2.0 * _exp_psq(a) - pos, pos)""",
    "_erfc": """@triton.jit
def _erfc(x):
    a = tl.abs(x)
    pos = _exp_msq(a) * _erfcx_pos(a)
    return tl.where(x < 0, 2.0 - pos, pos)""",
    "_ndtr": f"""@triton.jit
def _ndtr(x):
    a = tl.abs(x)
    tail = 0.5 * _exp_mhsq(a) * _erfcx_pos(a * {SQRT_HALF})
    return tl.where(x < 0, tail, 1.0 - tail)""",
    "_log_ndtr": f"""@triton.jit
def _log_ndtr(x):
    a = tl.abs(x)
    low = tl.log(0.5 * _erfcx_pos(a * {SQRT_HALF})) - 0.5 * x * x
    return tl.where(x < -1.0, low, _log1p(-_ndtr(-x)))""",
    "_ndtri_lower": f'''@triton.jit
def _ndtri_lower(p):
    """ndtri for 0 < p <= 0.5: Abramowitz & Stegun 26.2.23, then three Halley steps."""
    s = tl.sqrt(-2.0 * tl.log(p))
    z = -(s - (2.515517 + s * (0.802853 + s * 0.010328)) / (1.0 + s * (1.432788 + s * (0.189269 + s * 0.001308))))
    for _ in tl.static_range(3):
        pdf = _exp_mhsq(z) / {SQRT_2PI}
        d = (_ndtr(z) - p) / pdf
        z = z - d / (1.0 + 0.5 * z * d)
    return z''',
    "_ndtri": """@triton.jit
def _ndtri(p):
    q = tl.where(p > 0.5, 1.0 - p, p)
    z = _ndtri_lower(tl.where(q > 0, tl.minimum(q, 0.5), 0.5))
    z = tl.where(p > 0.5, -z, z)
    z = tl.where(p == 0, -float("inf"), tl.where(p == 1, float("inf"), tl.where(p == 0.5, 0.0, z)))
    return tl.where((p < 0) | (p > 1) | (p != p), float("nan"), z)""",
    "_erfinv": f"""@triton.jit
def _erfinv(y):
    a = tl.abs(y)
    x = a * 0.886226925452758 * (1.0 + a * a * 0.2617993877991494)
    for _ in tl.static_range(3):
        z = x * x
        erf = 2.0 * {INV_SQRT_PI} * x * ({_poly("z", _ERF_SERIES)})
        d = (erf - a) / (2.0 * {INV_SQRT_PI} * tl.exp(-z))
        x = x - d / (1.0 + x * d)
    w = 0.5 * (1.0 - a)
    tail = -_ndtri_lower(tl.where(w > 0, tl.minimum(w, 0.5), 0.5)) * {SQRT_HALF}
    r = tl.where(a <= 0.5, x, tail)
    r = tl.where(a == 1, float("inf"), r)
    r = tl.where(y < 0, -r, tl.where(y == 0, y, r))
    return tl.where((a > 1) | (y != y), float("nan"), r)""",
    # ---- Bessel functions
    "_i0e_abs": """@triton.jit
def _i0e_abs(a):
    return tl.where(a <= 8.0, _cheb_i0e_a(a * 0.25 - 1.0), _cheb_i0e_b(16.0 / a - 1.0) / tl.sqrt(a))""",
    "_i1e": """@triton.jit
def _i1e(x):
    a = tl.abs(x)
    large = _cheb_i1e_b(16.0 / a - 1.0) / tl.sqrt(a)
    return tl.where(a <= 8.0, x * _cheb_i1e_a(a * 0.25 - 1.0), tl.where(x < 0, -large, large))""",
    "_i0e": """@triton.jit
def _i0e(x):
    return _i0e_abs(tl.abs(x))""",
    "_i0": """@triton.jit
def _i0(x):
    a = tl.abs(x)
    h = tl.exp(0.5 * a)
    return tl.where(a == float("inf"), a, (_i0e_abs(a) * h) * h)""",
    "_i1": """@triton.jit
def _i1(x):
    h = tl.exp(0.5 * tl.abs(x))
    return tl.where(tl.abs(x) == float("inf"), x, (_i1e(x) * h) * h)""",
    "_k0e": """@triton.jit
def _k0e(x):
    small = (_cheb_k0_a(x * x * 0.5 - 1.0) - tl.log(0.5 * x) * _i0(x)) * tl.exp(x)
    r = tl.where(x <= 2.0, small, _cheb_k0e_b(4.0 / x - 1.0) / tl.sqrt(x))
    return tl.where(x < 0, float("nan"), tl.where(x == 0, float("inf"), r))""",
    "_k1e": """@triton.jit
def _k1e(x):
    term = x * tl.log(0.5 * x) * _i1(x)
    term = tl.where(term != term, 0.0, term)
    small = (_cheb_k1_a(x * x * 0.5 - 1.0) + term) / x * tl.exp(x)
    r = tl.where(x <= 2.0, small, _cheb_k1e_b(4.0 / x - 1.0) / tl.sqrt(x))
    return tl.where(x < 0, float("nan"), tl.where(x == 0, float("inf"), r))""",
    "_k0": """@triton.jit
def _k0(x):
    return tl.where(x == float("inf"), 0.0, _k0e(x) * tl.exp(-x))""",
    "_k1": """@triton.jit
def _k1(x):
    return tl.where(x == float("inf"), 0.0, _k1e(x) * tl.exp(-x))""",
    "_j0_abs": f"""@triton.jit
def _j0_abs(a):
    c = tl.cos(a)
    s = tl.sin(a)
    t = 16.0 / a - 1.0
    large = (_cheb_p0(t) * (c + s) - _cheb_q0(t) / a * (s - c)) / tl.sqrt({PI} * a)
    large = tl.where(a == float("inf"), 0.0, large)
    return tl.where(a == 0, 1.0, tl.where(a <= 8.0, _cheb_j0_a(a * a / 32.0 - 1.0), large))""",
    "_j0": """@triton.jit
def _j0(x):
    return _j0_abs(tl.abs(x))""",
    "_j1": f"""@triton.jit
def _j1(x):
    a = tl.abs(x)
    c = tl.cos(a)
    s = tl.sin(a)
    t = 16.0 / a - 1.0
    large = (_cheb_p1(t) * (s - c) + _cheb_q1(t) / a * (s + c)) / tl.sqrt({PI} * a)
    large = tl.where(a == float("inf"), 0.0, large)
    large = tl.where(x < 0, -large, large)
    return tl.where(a <= 8.0, x * _cheb_j1_a(a * a / 32.0 - 1.0), large)""",
    "_y0": f"""@triton.jit
def _y0(x):
    c = tl.cos(x)
    s = tl.sin(x)
    t = 16.0 / x - 1.0
    large = (_cheb_p0(t) * (s - c) + _cheb_q0(t) / x * (c + s)) / tl.sqrt({PI} * x)
    large = tl.where(x == float("inf"), 0.0, large)
    small = _cheb_y0_a(x * x / 32.0 - 1.0) + {2 / math.pi!r} * tl.log(x) * _j0_abs(x)
    return tl.where(x < 0, float("nan"), tl.where(x <= 8.0, small, large))""",
    "_y1": f"""@triton.jit
def _y1(x):
    c = tl.cos(x)
    s = tl.sin(x)
    t = 16.0 / x - 1.0
    large = (_cheb_q1(t) / x * (s - c) - _cheb_p1(t) * (s + c)) / tl.sqrt({PI} * x)
    large = tl.where(x == float("inf"), 0.0, large)
    small = (_cheb_y1_a(x * x / 32.0 - 1.0) + {2 / math.pi!r} * x * tl.log(x) * _j1(x)) / x
    small = tl.where(x == 0, -float("inf"), small)
    return tl.where(x < 0, float("nan"), tl.where(x <= 8.0, small, large))""",
    "_airy_ai": f"""@triton.jit
def _airy_ai(x):
    a = tl.abs(x)
    z = 0.6666666666666666 * a * tl.sqrt(a)
    q = tl.sqrt(tl.sqrt(a))
    pos = _cheb_ai_pos(2.0 * {AI_Z2!r} / z - 1.0) * tl.exp(-z) / (2.0 * {math.sqrt(math.pi)!r} * q)
    t = 2.0 * {AI_Z8!r} / z - 1.0
    sz = tl.sin(z)
    cz = tl.cos(z)
    neg = (_cheb_ai_neg_f(t) * (sz + cz) - _cheb_ai_neg_g(t) * (cz - sz)) * {SQRT_HALF} / ({math.sqrt(math.pi)!r} * q)
    mid = _cheb_ai_mid((x + 3.0) / 5.0)
    r = tl.where(x >= 2.0, tl.where(x == float("inf"), 0.0, pos), tl.where(x > -8.0, mid, neg))
    return tl.where(x == -float("inf"), float("nan"), r)""",
    "_sph_j0": f"""@triton.jit
def _sph_j0(x):
    z = x * x
    r = tl.where(tl.abs(x) < 0.5, {_poly("z", _SPH_SERIES)}, tl.sin(x) / x)
    return tl.where(tl.abs(x) == float("inf"), 0.0, r)""",
    # ---- gamma family
    "_sinpi": '''@triton.jit
def _sinpi(x):
    """sin(pi x) with exact argument reduction (as numpy's sinpi in ir/ops/npspecial.py)."""
    r = x - 2.0 * tl.floor(0.5 * x + 0.5)
    r = tl.where(r > 0.5, 1.0 - r, tl.where(r < -0.5, -1.0 - r, r))
    return tl.sin(3.141592653589793 * r)''',
    "_lgamma_pos": f'''@triton.jit
def _lgamma_pos(y):
    """lgamma for y >= 0.5, as numpy's (ir/ops/npgamma.py): (y - 1)(y - 2) h(y) on [0.5, 3], the
    recurrence down to [2, 3) below 10, Stirling's series from 10."""
    m = tl.minimum(tl.maximum(tl.floor(y) - 2.0, 0.0), 7.0)
    prod = y * 0.0 + 1.0
    for k in tl.static_range(1, 8):
        prod = prod * tl.where(k <= m, y - k, 1.0)
    base = tl.where(y <= 3.0, y, y - m)
    mid = (base - 1.0) * (base - 2.0) * _cheb_lgamma_mid((base - 1.75) * 0.8)
    mid = tl.where(y <= 3.0, mid, mid + tl.log(prod)) + 0.0
    z = tl.maximum(y, 10.0)
    w = 1.0 / (z * z)
    s = ({_poly("w", _LGAMMA_ASYM)}) / z
    big = z * (tl.log(z) - 1.0) - 0.5 * tl.log(z) + {0.5 * math.log(2 * math.pi)!r} + s
    return tl.where(y >= 10.0, big, mid)''',
    "_lgamma": f"""@triton.jit
def _lgamma(x):
    low = x < 0.5
    lg = _lgamma_pos(tl.where(low, 1.0 - x, x))
    r = tl.where(low, tl.log({PI} / tl.abs(_sinpi(x))) - lg, lg)
    r = tl.where(tl.abs(x) < {2.0**-100!r}, -tl.log(tl.abs(x)), r)  # (pi / sin overflows at denormals)
    r = tl.where((x <= 0) & (x == tl.floor(x)), float("inf"), r)
    return tl.where(tl.abs(x) == float("inf"), float("inf"), r)""",
    "_digamma": f"""@triton.jit
def _digamma(x):
    neg = x < 0
    y = tl.where(neg, 1.0 - x, x)
    z = 1.0 / (y * y)
    big = tl.log(y) - 0.5 / y - ({_poly("z", _PSI_ASYM)})
    m = tl.minimum(tl.maximum(tl.floor(y) - 1.0, 0.0), 8.0)
    acc = y * 0.0
    for k in tl.static_range(1, 9):
        acc = acc + tl.where(k <= m, 1.0 / (y - k), 0.0)
    base = tl.where(y < 1.0, y + 1.0, y - m)
    mid = (base - {C.PSI_X0[0]!r} - {C.PSI_X0[1]!r} - {C.PSI_X0[2]!r}) * _cheb_psi_root(2.0 * base - 3.0) + acc
    mid = tl.where(y < 1.0, mid - 1.0 / y, mid)
    r = tl.where(y >= 10.0, big, mid)
    frac = x - tl.where(x < 0, tl.ceil(x), tl.floor(x))
    r = tl.where(neg, r - {PI} / _tan({PI} * frac), r)
    r = tl.where(neg & (frac == 0), float("nan"), r)
    return tl.where(x == 0, tl.where(1.0 / x < 0, float("inf"), -float("inf")), r)""",
    "_zeta": '''@triton.jit
def _zeta(s, q):
    """Hurwitz zeta: 16 direct terms, then Euler-Maclaurin with 12 Bernoulli terms (numpy sums
    until q + k >= 10; here q below -6 loses accuracy)."""
    s, q = tl.broadcast(s, q)  # (a 0-d order: Triton's interpreter cannot AND it with a block)
    total = tl.zeros_like(q)  # (not q * 0.0: NaN at q = inf)
    for k in tl.static_range(16):
        total = total + tl.exp(-s * tl.log(tl.abs(q + k))) * tl.where((q + k < 0) & (tl.floor(s * 0.5) * 2.0 != s), -1.0, 1.0)
    a = q + 16.0
    b = tl.exp(-s * tl.log(a))
    total = total + tl.exp((1.0 - s) * tl.log(a)) / (s - 1.0) + 0.5 * b  # (a * b underflows first)
    tp = b / a
    fac = s * 0.5
'''
    + "\n".join(
        f"    total = total + ({BERNOULLI[j - 1]!r}) * fac * tp\n    tp = tp / (a * a)\n"
        f"    fac = fac * (s + {2 * j - 1}.0) * (s + {2 * j}.0) / {float((2 * j + 1) * (2 * j + 2))!r}"
        for j in range(1, 13)
    )
    + """
    r = tl.where(s == 1.0, float("inf"), tl.where(s < 1.0, float("nan"), total))
    qint = q == tl.floor(q)
    r = tl.where((q <= 0) & qint, float("inf"), tl.where((q <= 0) & (s != tl.floor(s)), float("nan"), r))
    return tl.where((s != s) | (q != q) | (q == float("inf")), float("nan"), r)""",
    "_polygamma": """@triton.jit
def _polygamma(n, x):
    n, x = tl.broadcast(n, x)  # (a 0-d operand: Triton's interpreter cannot AND it with a block)
    fac = tl.exp(_lgamma_pos(tl.maximum(n + 1.0, 1.0)))
    fac = tl.where(n <= 12, tl.floor(fac + 0.5), fac)
    sign = tl.where(tl.floor(n * 0.5) * 2.0 != n, 1.0, -1.0)
    r = sign * fac * _zeta(n + 1.0, x)
    r = tl.where(n == 1, tl.where(x == float("inf"), 0.0, tl.where(x == -float("inf"), float("nan"), r)), r)
    r = tl.where(n == 0, _digamma(x), r)
    return tl.where((n < 0) | (n != tl.floor(n)), float("nan"), r)""",
    "_igamma_pq": '''@triton.jit
def _igamma_pq(a, x, upper: tl.constexpr):
    """P(a, x) (upper=False) or Q(a, x): the series, the small-x series for Q and Legendre's
    continued fraction as in numpy, each with a fixed 200 iterations (numpy: to convergence)."""
    a, x = tl.broadcast(a, x)  # (a 0-d operand: Triton's interpreter cannot AND it with a block)
    ok = (a > 0) & (x > 0) & (a != float("inf")) & (x != float("inf"))
    aa = tl.where(ok, a, 1.0)
    xx = tl.where(ok, x, 1.0)
    logx = tl.log(xx)
    pref = tl.exp(aa * logx - xx - _lgamma(aa))
    term = xx * 0.0 + 1.0
    total = xx * 0.0 + 1.0
    r = aa
    for _ in range(200):
        r = r + 1.0
        term = term * xx / r
        total = total + term
    p_ser = total * pref / aa
    fac = xx * 0.0 + 1.0
    qs = xx * 0.0
    for n in range(1, 60):
        fac = fac * -xx / n
        qs = qs + fac / (aa + n)
    q_ser = -_expm1(aa * logx - _lgamma(aa + 1.0)) - tl.exp(aa * logx - _lgamma(aa)) * qs
    b = xx + 1.0 - aa
    c = xx * 0.0 + 1e30
    d = 1.0 / tl.where(b == 0, 1e-30, b)
    h = d
    for i in range(1, 200):
        an = -i * (i - aa)
        b = b + 2.0
        d = an * d + b
        d = tl.where(d == 0, 1e-30, d)
        c = b + an / c
        c = tl.where(c == 0, 1e-30, c)
        d = 1.0 / d
        h = h * d * c
    q_cf = pref * h
    use_cf = (xx > 1.1) & (xx >= aa)
    use_p = tl.where(xx > 1.1, xx < aa, tl.where(xx <= 0.5, -0.4 / tl.log(tl.minimum(xx, 0.5)) < aa, xx * 1.1 < aa))
    q = tl.where(use_cf, q_cf, tl.where(use_p, 1.0 - p_ser, q_ser))
    p = tl.where(use_cf, 1.0 - q_cf, tl.where(use_p, p_ser, 1.0 - q_ser))
    if upper:
        v = q
        v = tl.where(a == 0, tl.where(x > 0, 0.0, float("nan")), v)
        v = tl.where((x == 0) & (a > 0), 1.0, v)
        v = tl.where(a == float("inf"), tl.where(x == float("inf"), float("nan"), 1.0), tl.where((x == float("inf")) & (a > 0), 0.0, v))
    else:
        v = p
        v = tl.where(a == 0, tl.where(x > 0, 1.0, float("nan")), v)
        v = tl.where((x == 0) & (a > 0), 0.0, v)
        v = tl.where(a == float("inf"), tl.where(x == float("inf"), float("nan"), 0.0), tl.where((x == float("inf")) & (a > 0), 1.0, v))
    return tl.where((a < 0) | (x < 0) | (a != a) | (x != x), float("nan"), v)''',
    "_igamma": """@triton.jit
def _igamma(a, x):
    return _igamma_pq(a, x, False)""",
    "_igammac": """@triton.jit
def _igammac(a, x):
    return _igamma_pq(a, x, True)""",
})
SPECIAL_HELPERS.update(POLY_HELPERS)

SPECIAL_HELPERS.update({
    "_asinh": '''@triton.jit
def _asinh(x):
    """asinh |x| = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), log(2|x|) beyond 2^28; odd."""
    a = tl.abs(x)
    big = a > 268435456.0
    s = tl.where(big, 1.0, a)
    r = _log1p(s + s * s / (1.0 + tl.sqrt(1.0 + s * s)))
    r = tl.where(big, tl.log(a) + 0.6931471805599453, r)
    return tl.where(x < 0, -r, tl.where(x == 0, x, r))''',
    "_acosh": '''@triton.jit
def _acosh(x):
    """acosh x = log1p(t + sqrt(2t + t^2)), t = x - 1 (accurate near 1); log(2x) beyond 2^28."""
    big = x > 268435456.0
    t = tl.where(big, 1.0, x - 1.0)
    r = _log1p(t + tl.sqrt(2.0 * t + t * t))
    r = tl.where(big, tl.log(x) + 0.6931471805599453, r)
    return tl.where(x < 1.0, float("nan"), r)''',
    "_logaddexp2": '''@triton.jit
def _logaddexp2(a, b):
    """log2(2^a + 2^b) = max + log1p(2^-|a - b|) / ln 2; equal infinities stay themselves."""
    m = tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)
    r = m + _log1p(tl.exp2(-tl.abs(a - b))) * 1.4426950408889634
    return tl.where(a == b, a + 1.0, r)''',
    "_sinc": f"""@triton.jit
def _sinc(x):
    return tl.where(x == 0, 1.0, _sinpi(x) / ({PI} * x))""",
    "_xlogy": """@triton.jit
def _xlogy(x, y):
    return tl.where(y != y, float("nan"), tl.where(x == 0, 0.0, x * tl.log(y)))""",
    "_xlog1py": """@triton.jit
def _xlog1py(x, y):
    return tl.where(y != y, float("nan"), tl.where(x == 0, 0.0, x * _log1p(y)))""",
    "_entr": """@triton.jit
def _entr(x):
    r = tl.where(x > 0, -x * tl.log(x), tl.where(x == 0, 0.0, -float("inf")))
    return tl.where(x != x, x, r)""",
    "_frexp_parts": '''@triton.jit
def _frexp_parts(x):
    """(mantissa in [0.5, 1), exponent as a float): e from log2, m = x 2^-e in two exact steps
    (so 2^-e never overflows), then one correction for log2's rounding at powers of two."""
    a = tl.abs(x)
    special = (a == 0) | (a == float("inf")) | (x != x)
    a1 = tl.where(special, 1.0, a)
    e = tl.floor(tl.log2(a1)) + 1.0
    h = tl.floor(e * 0.5)
    m = tl.where(special, 1.0, x) * tl.exp2(-h) * tl.exp2(-(e - h))
    up = tl.abs(m) >= 1.0
    m = tl.where(up, m * 0.5, m)
    e = tl.where(up, e + 1.0, e)
    down = tl.abs(m) < 0.5
    m = tl.where(down, m * 2.0, m)
    e = tl.where(down, e - 1.0, e)
    return tl.where(special, x, m), tl.where(special, 0.0, e)''',
    "_frexp_m": """@triton.jit
def _frexp_m(x):
    m, e = _frexp_parts(x)
    return m""",
    "_frexp_e": """@triton.jit
def _frexp_e(x):
    m, e = _frexp_parts(x)
    return e.to(tl.int32)""",
    "_nextafter_f32": '''@triton.jit
def _nextafter_f32(x, y):
    """One float32 ulp from x toward y, on the bits (sign-magnitude: +1 moves away from 0)."""
    ix = x.to(tl.int32, bitcast=True)
    step = tl.where((y > x) == (x > 0), 1, -1)
    r = (ix + step).to(tl.float32, bitcast=True)
    tiny = tl.where(y > 0, 1, -2147483647).to(tl.float32, bitcast=True)
    r = tl.where(x == 0, tiny, r)
    r = tl.where(x == y, y, r)
    return tl.where((x != x) | (y != y), x + y, r)''',
    "_nextafter_f64": '''@triton.jit
def _nextafter_f64(x, y):
    ix = x.to(tl.int64, bitcast=True)
    step = tl.where((y > x) == (x > 0), 1, -1).to(tl.int64)
    r = (ix + step).to(tl.float64, bitcast=True)
    tiny = tl.where(y > 0, 1, -9223372036854775807).to(tl.int64).to(tl.float64, bitcast=True)
    r = tl.where(x == 0, tiny, r)
    r = tl.where(x == y, y, r)
    return tl.where((x != x) | (y != y), x + y, r)''',
    "_gcd": '''@triton.jit
def _gcd(a, b):
    """Euclid's algorithm on |a|, |b|: 93 steps cover any pair of 64-bit integers (the Fibonacci worst case)."""
    a = tl.abs(a)
    b = tl.abs(b)
    for _ in range(93):
        nz = b != 0
        r = a % tl.where(nz, b, 1)
        a = tl.where(nz, b, a)
        b = tl.where(nz, r, 0)
    return a''',
    "_lcm": """@triton.jit
def _lcm(a, b):
    g = _gcd(a, b)
    return tl.abs((a // tl.where(g == 0, 1, g)) * b)""",
})
