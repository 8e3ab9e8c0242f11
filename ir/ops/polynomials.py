"""Orthogonal-polynomial rows (``torch.special.*_polynomial_*``): binary maps of ``x`` and a degree ``n``.

Each is evaluated by its three-term recurrence ``P_{k+1} = A_k(x) P_k - B_k P_{k-1}`` up to the
element's own degree. PyTorch's conventions: ``n`` is truncated toward zero; ``n < 0`` gives 0;
``n == 0`` gives 1 (even for a NaN ``x``); integer inputs promote to the default float. PyTorch
has no gradients for these (its derivatives.yaml marks them non-differentiable), and neither do
these rows (declared in :mod:`ir.ops.special`). The reference (``ref``) runs the same recurrence in exact rational arithmetic.

On numpy the recurrence runs to the largest degree present, each element keeping its own
result; in a Triton kernel, to the largest degree in the block (a runtime loop, capped at 2^16).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .npmath import where
from .npspecial import in_float64

# name -> (P_1 as a function of x, step(x, k, P_k, P_{k-1}) -> P_{k+1}, Triton forms of both, shifted)
KINDS = {
    "chebyshev_polynomial_t": (lambda x: x, lambda x, k, q, p: 2 * x * q - p, "x", "2.0 * x * q - p"),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda x, k, q, p: 2 * x * q - p, "2.0 * x", "2.0 * x * q - p"),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda x, k, q, p: 2 * x * q - p, "2.0 * x - 1.0", "2.0 * x * q - p"),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda x, k, q, p: 2 * x * q - p, "2.0 * x + 1.0", "2.0 * x * q - p"),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda x, k, q, p: 2 * x * q - 2 * k * p, "2.0 * x",
                             "2.0 * x * q - 2.0 * k * p"),
    "hermite_polynomial_he": (lambda x: x, lambda x, k, q, p: x * q - k * p, "x", "x * q - k * p"),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda x, k, q, p: ((2 * k + 1 - x) * q - k * p) / (k + 1), "1.0 - x",
                              "((2.0 * k + 1.0 - x) * q - k * p) / (k + 1.0)"),
    "legendre_polynomial_p": (lambda x: x, lambda x, k, q, p: ((2 * k + 1) * x * q - k * p) / (k + 1), "x",
                              "((2.0 * k + 1.0) * x * q - k * p) / (k + 1.0)"),
}
for _c in "tuvw":
    _first, _step, _tf, _ts = KINDS[f"chebyshev_polynomial_{_c}"]
    KINDS[f"shifted_chebyshev_polynomial_{_c}"] = (_first, _step, _tf, _ts)
MAX_DEGREE = 1 << 16


def numpy_impl(name):
    first, step = KINDS[name][:2]
    shifted = name.startswith("shifted")

    def run(x, n):
        x, n = np.broadcast_arrays(x, n)
        if shifted:
            x = x + x - 1.0
        deg = np.trunc(np.nan_to_num(n, nan=-1.0, posinf=MAX_DEGREE, neginf=-1.0))
        q = first(x)
        p = np.ones_like(x)
        top = int(min(deg.max(), MAX_DEGREE)) if deg.size else 0
        for k in range(1, top):
            r = step(x, float(k), q, p)
            active = k < deg
            p, q = where(active, q, p), where(active, r, q)
        out = where(deg == 0, 1.0, q)
        return where(deg < 0, 0.0, where(np.isnan(n), np.nan, out))

    run.__name__ = name
    return in_float64(run)


def reference(name):
    first, step = KINDS[name][:2]
    shifted = name.startswith("shifted")

    def ref(x: float, n: float) -> float:
        if n != n:
            return float("nan")
        deg = int(n)
        if deg < 0:
            return 0.0
        if deg == 0:
            return 1.0
        if x != x or abs(x) == float("inf"):
            return numpy_impl(name)(np.float64(x), np.float64(n)).item()  # inf arithmetic: as evaluated
        xf = Fraction(x)
        if shifted:
            xf = 2 * xf - 1
        p, q = Fraction(1), first(xf)
        for k in range(1, deg):
            p, q = q, step(xf, k, q, p)
        return float(q)

    return ref


def _helper(name):
    _, _, first, step = KINDS[name]
    shift = "    x = x + x - 1.0\n" if name.startswith("shifted") else ""
    return f'''@triton.jit
def _{name}(x, n):
{shift}    deg = tl.where(n != n, -1.0, tl.where(n < 0, tl.ceil(n), tl.floor(n)))
    top = tl.minimum(tl.max(tl.where(deg > 0, deg, 0.0)), {float(MAX_DEGREE)!r}).to(tl.int32)
    p = x * 0.0 + 1.0
    q = {first}
    kk = 1
    while kk < top:  # not range(1, top): Triton 3.4's interpreter gives tl.max a shape (1,), not 0-d
        k = kk * 1.0
        r = {step}
        active = k < deg
        p_next = tl.where(active, q, p)
        q = tl.where(active, r, q)
        p = p_next
        kk += 1
    out = tl.where(deg == 0, 1.0, q)
    return tl.where(n != n, float("nan"), tl.where(deg < 0, 0.0, out))'''


POLY_HELPERS = {f"_{name}": _helper(name) for name in KINDS}

