"""``@triton.jit`` helper functions that elementwise rows' Triton expressions call.

Triton's interpreter cannot call CUDA's libdevice, so ops without a ``tl`` primitive are
written here from ``tl`` primitives, accurately for float32 and float64 (they are the
expressions the interpreter runs and the CPU tests check). A GPU build calls libdevice instead
wherever the row names a ``libdevice`` function, and pastes none of these.

Each entry is the helper's source. A helper may call another: the backend finds the calls in
the source text and pastes the callees first. Scalar literals stay inline in helpers (a local
assigned a Python float would become a float32 tensor in a float64 computation).
"""

from __future__ import annotations

from .triton_special import SPECIAL_HELPERS


def _atan_series() -> str:
    # atan(a) for |a| <= tan(pi/16): a * sum_k (-1)^k a^(2k) / (2k+1), 12 terms (float64-exact).
    coeffs = [(-1) ** k / (2 * k + 1) for k in range(12)]
    lines = [f"    s = z * 0.0 + {coeffs[-1]!r}"]
    for c in reversed(coeffs[:-1]):
        lines.append(f"    s = s * z + {c!r}")
    return "\n".join(lines)


HELPERS: dict[str, str] = {
    "_expm1": '''@triton.jit
def _expm1(x):
    """exp(x) - 1 without cancellation near 0 (Kahan's trick)."""
    u = tl.exp(x)
    um1 = u - 1.0
    r = tl.where(u == 1.0, x, um1 * (x / tl.log(u)))  # x / log(u) first: um1 * x overflows near the top
    r = tl.where(um1 == -1.0, -1.0, r)
    return tl.where(u == float("inf"), u, r)''',
    "_log1p": '''@triton.jit
def _log1p(x):
    """log(1 + x) without cancellation near 0."""
    u = 1.0 + x
    r = tl.where(u == 1.0, x, tl.log(u) * (x / (u - 1.0)))  # x / (u - 1) first: log(u) * x overflows for huge x
    return tl.where(u == float("inf"), u, r)''',
    "_tanh": '''@triton.jit
def _tanh(x):
    """tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), signed; accurate near 0."""
    m = _expm1(-2.0 * tl.abs(x))
    t = -m / (m + 2.0)
    return tl.where(x < 0, -t, t)''',
    "_sinh": """@triton.jit
def _sinh(x):
    a = tl.abs(x)
    m = _expm1(a)
    r = tl.where(a > 20.0, tl.exp(a - 0.6931471805599453), 0.5 * (m + m / (m + 1.0)))
    return tl.where(x < 0, -r, r)""",
    "_cosh": """@triton.jit
def _cosh(x):
    e = tl.exp(tl.abs(x) - 0.6931471805599453)
    return e + 0.25 / e""",
    "_tan": """@triton.jit
def _tan(x):
    return tl.sin(x) / tl.cos(x)""",
    "_atan": '''@triton.jit
def _atan(x):
    """atan: two half-angle reductions, then a 12-term series."""
    a = tl.abs(x)
    inv = a > 1.0
    a = tl.where(inv, 1.0 / a, a)
    a = a / (1.0 + tl.sqrt(1.0 + a * a))
    a = a / (1.0 + tl.sqrt(1.0 + a * a))
    z = a * a
'''
    + _atan_series()
    + """
    r = 4.0 * a * s
    r = tl.where(inv, 1.5707963267948966 - r, r)
    r = tl.where(x != x, x, r)
    return tl.where(x < 0, -r, r)""",
    "_asin": """@triton.jit
def _asin(x):
    r = _atan(x / tl.sqrt((1.0 - x) * (1.0 + x)))
    return tl.where(tl.abs(x) > 1.0, float("nan"), r)""",
    "_acos": """@triton.jit
def _acos(x):
    r = 2.0 * _atan(tl.sqrt((1.0 - x) / (1.0 + x)))
    return tl.where(tl.abs(x) > 1.0, float("nan"), r)""",
    "_atan2": """@triton.jit
def _atan2(y, x):
    r = _atan(y / x)
    r = tl.where(x < 0, tl.where(y < 0, r - 3.141592653589793, r + 3.141592653589793), r)
    r = tl.where(x == 0, tl.where(y > 0, 1.5707963267948966, tl.where(y < 0, -1.5707963267948966, 0.0 * y)), r)
    return tl.where((x != x) | (y != y), x + y, r)""",
    "_pow": '''@triton.jit
def _pow(x, y):
    """x ** y for floats, with C's pow() special cases."""
    r = tl.exp2(y * tl.log2(tl.abs(x)))
    y_int = tl.floor(y) == y
    y_odd = y_int & (tl.floor(y * 0.5) * 2.0 != y)
    r = tl.where(x < 0, tl.where(y_int, tl.where(y_odd, -r, r), float("nan")), r)
    return tl.where((y == 0.0) | (x == 1.0), 1.0, r)''',
    "_ipow": '''@triton.jit
def _ipow(x, y):
    """x ** y for integers (square and multiply over the exponent's bits)."""
    r = x * 0 + 1 + y * 0
    base = x + y * 0
    e = y + x * 0
    for _ in tl.static_range(32):
        r = tl.where((e & 1) != 0, r * base, r)
        base = base * base
        e = e >> 1
    return r''',
    "_rint": '''@triton.jit
def _rint(x):
    """Round half to even, as numpy and PyTorch do."""
    r = tl.floor(x + 0.5)
    tie = (r - x) == 0.5
    odd = tl.floor(r * 0.5) * 2.0 != r
    r = tl.where(tie & odd, r - 1.0, r)
    return tl.where(tl.abs(x) >= 4503599627370496.0, x, r)''',
    "_trunc": """@triton.jit
def _trunc(x):
    return tl.where(x < 0, tl.ceil(x), tl.floor(x))""",
    "_floordiv_int": '''@triton.jit
def _floordiv_int(a, b):
    """Python's floor division for integers (Triton's // truncates, like C)."""
    q = a // b
    r = a - q * b
    return q - ((r != 0) & ((r < 0) != (b < 0))).to(q.dtype)''',
    "_mod_float": '''@triton.jit
def _mod_float(a, b):
    """Python's remainder for floats: the sign of the divisor."""
    r = a % b
    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)''',
    "_mod_int": '''@triton.jit
def _mod_int(a, b):
    """Python's remainder for integers (Triton's % follows C)."""
    r = a - (a // b) * b
    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)''',
    "_logaddexp": '''@triton.jit
def _logaddexp(a, b):
    """log(exp(a) + exp(b)) = max + log1p(exp(-|a - b|)); equal infinities stay themselves."""
    m = tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)
    r = m + _log1p(tl.exp(-tl.abs(a - b)))
    return tl.where(a == b, a + 0.6931471805599453, r)''',
    "_hypot": '''@triton.jit
def _hypot(a, b):
    """sqrt(a*a + b*b) without overflow: max * sqrt(1 + (min/max)^2); inf wins over nan, as in C."""
    x = tl.abs(a)
    y = tl.abs(b)
    m = tl.maximum(x, y, propagate_nan=tl.PropagateNan.ALL)
    n = tl.minimum(x, y, propagate_nan=tl.PropagateNan.ALL)
    q = n / tl.where(m == 0, 1.0, m)
    r = m * tl.sqrt(1.0 + q * q)
    return tl.where((x == float("inf")) | (y == float("inf")), float("inf"), r)''',
}
HELPERS.update(SPECIAL_HELPERS)  # the special-function rows' helpers (ir/ops/triton_special.py)
