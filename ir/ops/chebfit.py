"""Generate the Chebyshev coefficients the special-function rows evaluate (``cheb_coeffs.py``).

Each fit approximates a smooth function ``g`` of a variable ``t`` in [-1, 1] by a Chebyshev
series ``sum' c_k T_k(t)`` (the first coefficient halved), from ``g`` sampled at Chebyshev
nodes with mpmath at 40 significant digits, truncated where the coefficients fall below
1e-17 of the largest. The functions and variables are chosen so that ``g`` is smooth and
bounded away from zero where relative accuracy matters (e.g. ``(x + 4) * erfcx(x)`` in
``t = (x - 4) / (x + 4)``, which covers all ``x >= 0`` at once). Nothing here runs at import
time of the op table: regenerate with ``python -m ir.ops.chebfit > ir/ops/cheb_coeffs.py``.
"""

from __future__ import annotations

import numpy as np


def _fits(mp):
    """name -> (g(t) as an mpmath function, note). Each g maps t in [-1, 1] to a value."""
    pi = mp.pi

    def x_inf(t, k):  # t = (x - k) / (x + k): x in [0, inf)
        return k * (1 + t) / (1 - t)

    def ai_pos(t):  # x >= 2, u = zeta0 / zeta in (0, 1]: t = 2u - 1
        z0 = mp.mpf(2) / 3 * mp.mpf(2) ** 1.5
        z = z0 / ((t + 1) / 2)
        x = (1.5 * z) ** (mp.mpf(2) / 3)
        return mp.airyai(x) * 2 * mp.sqrt(pi) * x ** 0.25 * mp.exp(z)

    def ai_neg(t, part):  # x <= -8 (|x| = y), u = zeta0 / zeta: t = 2u - 1
        z0 = mp.mpf(2) / 3 * mp.mpf(8) ** 1.5
        z = z0 / ((t + 1) / 2)
        y = (1.5 * z) ** (mp.mpf(2) / 3)
        phi = z + pi / 4
        a, b = mp.airyai(-y), mp.airybi(-y)
        s = mp.sqrt(pi) * y ** 0.25
        return s * (a * mp.sin(phi) + b * mp.cos(phi)) if part == "f" else s * (b * mp.sin(phi) - a * mp.cos(phi))

    def pq(t, nu, part):  # x >= 8: t = 16 / x - 1
        x = 16 / (t + 1)
        chi = x - (2 * nu + 1) * pi / 4
        j, y = mp.besselj(nu, x), mp.bessely(nu, x)
        s = mp.sqrt(pi * x / 2)
        if part == "p":
            return s * (j * mp.cos(chi) + y * mp.sin(chi))
        return x * s * (-j * mp.sin(chi) + y * mp.cos(chi))  # x * Q(x) tends to a constant

    def sq(t, lo, hi):  # x^2 = s in [lo, hi] linearly
        return mp.sqrt(lo + (hi - lo) * (t + 1) / 2)

    def k0r(t):
        x = sq(t, 0, 4)
        return mp.besselk(0, x) + mp.log(x / 2) * mp.besseli(0, x)

    def k1r(t):
        x = sq(t, 0, 4)
        return x * mp.besselk(1, x) - x * mp.log(x / 2) * mp.besseli(1, x)

    def y0r(t):
        x = sq(t, 0, 64)
        return mp.bessely(0, x) - 2 / pi * mp.log(x) * mp.besselj(0, x)

    def y1r(t):
        x = sq(t, 0, 64)
        return x * mp.bessely(1, x) - 2 / pi * x * mp.log(x) * mp.besselj(1, x)

    def psi_root(t):  # psi(x) / (x - x0) on [1, 2]
        x = (t + 3) / 2
        x0 = mp.findroot(mp.digamma, 1.46)
        return mp.digamma(x) / (x - x0)

    def lgamma_mid(t):  # the roots 1 and 2 are never nodes (the nodes are irrational)
        x = mp.mpf(7) / 4 + mp.mpf(5) / 4 * t
        return mp.loggamma(x) / ((x - 1) * (x - 2))

    return {
        "ERFCX": (lambda t: (x_inf(t, 4) + 4) * mp.erfc(x_inf(t, 4)) * mp.exp(x_inf(t, 4) ** 2),
                  "(x + 4) erfcx(x), t = (x - 4) / (x + 4), x >= 0"),
        "I0E_A": (lambda t: mp.besseli(0, 4 * (t + 1)) * mp.exp(-4 * (t + 1)), "i0e(x), x = 4 (t + 1) in [0, 8]"),
        "I1E_A": (lambda t: mp.besseli(1, 4 * (t + 1)) * mp.exp(-4 * (t + 1)) / (4 * (t + 1)) if t > -1 else mp.mpf(1) / 2,
                  "i1e(x) / x, x = 4 (t + 1) in [0, 8]"),
        "I0E_B": (lambda t: mp.besseli(0, 16 / (t + 1)) * mp.exp(-16 / (t + 1)) * mp.sqrt(16 / (t + 1)),
                  "sqrt(x) i0e(x), t = 16 / x - 1, x >= 8"),
        "I1E_B": (lambda t: mp.besseli(1, 16 / (t + 1)) * mp.exp(-16 / (t + 1)) * mp.sqrt(16 / (t + 1)),
                  "sqrt(x) i1e(x), t = 16 / x - 1, x >= 8"),
        "K0_A": (k0r, "K0(x) + log(x / 2) I0(x), x^2 = 2 (t + 1) in [0, 4]"),
        "K1_A": (k1r, "x K1(x) - x log(x / 2) I1(x), x^2 = 2 (t + 1) in [0, 4]"),
        "K0E_B": (lambda t: mp.besselk(0, 4 / (t + 1)) * mp.exp(4 / (t + 1)) * mp.sqrt(4 / (t + 1)),
                  "sqrt(x) e^x K0(x), t = 4 / x - 1, x >= 2"),
        "K1E_B": (lambda t: mp.besselk(1, 4 / (t + 1)) * mp.exp(4 / (t + 1)) * mp.sqrt(4 / (t + 1)),
                  "sqrt(x) e^x K1(x), t = 4 / x - 1, x >= 2"),
        "J0_A": (lambda t: mp.besselj(0, sq(t, 0, 64)), "J0(x), x^2 = 32 (t + 1) in [0, 64]"),
        "J1_A": (lambda t: mp.besselj(1, sq(t, 0, 64)) / sq(t, 0, 64), "J1(x) / x, x^2 = 32 (t + 1) in [0, 64]"),
        "Y0_A": (y0r, "Y0(x) - (2/pi) log(x) J0(x), x^2 = 32 (t + 1)"),
        "Y1_A": (y1r, "x Y1(x) - (2/pi) x log(x) J1(x), x^2 = 32 (t + 1)"),
        "P0": (lambda t: pq(t, 0, "p"), "P0(x) of J0/Y0 = sqrt(2/(pi x)) (P cos chi -/+ ...), t = 16 / x - 1"),
        "Q0": (lambda t: pq(t, 0, "q"), "x Q0(x), t = 16 / x - 1"),
        "P1": (lambda t: pq(t, 1, "p"), "P1(x), t = 16 / x - 1"),
        "Q1": (lambda t: pq(t, 1, "q"), "x Q1(x), t = 16 / x - 1"),
        "AI_MID": (lambda t: mp.airyai(5 * t - 3), "Ai(x), x = 5 t - 3 in [-8, 2]"),
        "AI_POS": (ai_pos, "2 sqrt(pi) x^(1/4) e^zeta Ai(x), zeta = (2/3) x^(3/2), t = 2 zeta(2) / zeta - 1"),
        "AI_NEG_F": (lambda t: ai_neg(t, "f"), "f of Ai(-y) = (f sin(zeta + pi/4) - g cos(zeta + pi/4)) / (sqrt(pi) y^(1/4))"),
        "AI_NEG_G": (lambda t: ai_neg(t, "g"), "g of the same, t = 2 zeta(8) / zeta - 1"),
        "PSI_ROOT": (psi_root, "digamma(x) / (x - x0) on [1, 2], x = (t + 3) / 2"),
        "LGAMMA_MID": (lgamma_mid, "lgamma(x) / ((x - 1)(x - 2)) on [0.5, 3], x = 1.75 + 1.25 t"),
    }


def chebyshev(mp, g, n=96, tol=1e-17):
    """Chebyshev coefficients of g on [-1, 1] (first one halved), truncated at ``tol``."""
    nodes = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / n) for j in range(n)]
    vals = [g(t) for t in nodes]
    cs = [2 * mp.fsum(v * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / n) for j, v in enumerate(vals)) / n for k in range(n)]
    cs[0] /= 2
    scale = max(abs(c) for c in cs)
    last = max(k for k, c in enumerate(cs) if abs(c) > tol * scale)
    return [float(c) for c in cs[: last + 1]]


def main() -> None:
    import mpmath as mp  # optional: only regenerating the coefficients needs it

    mp.mp.dps = 40
    print('"""Chebyshev coefficients for the special-function rows (generated by ir/ops/chebfit.py; do not edit)."""')
    print()
    x0 = mp.findroot(mp.digamma, 1.46)
    a = float(np.float32(float(x0)))
    b = float(np.float32(float(x0 - a)))
    print("# the root of digamma as a + b + c: a and b are exact float32 values, so x - a - b - c")
    print("# keeps its relative accuracy near the root in float32 and float64 alike")
    print(f"PSI_X0 = ({a!r}, {b!r}, {float(x0 - a - b)!r})")
    for name, (g, note) in _fits(mp).items():
        cs = chebyshev(mp, g)
        print(f"\n# {note}")
        print(f"{name} = (")
        for i in range(0, len(cs), 3):
            print("    " + " ".join(f"{c!r}," for c in cs[i : i + 3]))
        print(")")


if __name__ == "__main__":
    main()
