"""The special-function rows against mpmath at 50 significant digits, on numpy and Triton.

Every function is evaluated at many points — grids, log-spaced magnitudes over the whole range,
points next to zeros, poles and branch switches — in float64 and float32, on the numpy backend
(the row's implementation) and on the Triton backend (generated kernels, under the interpreter
without a GPU), and compared with mpmath evaluated at the exact (rounded) input values.

The error measure is relative, ``|got - ref| / max(|ref|, env(x))``: ``env`` is 0 for functions
that are well conditioned everywhere and the function's envelope for the oscillating ones
(Bessel J/Y, Airy, the polynomials), whose values near a zero are only determined to an
absolute accuracy. Stated tolerances (``TOL``) are per function and dtype; the aim is 1e-13 in
float64 and 2e-6 in float32 where the function is well conditioned, looser only where the
comment says why. NaN, infinite and zero references must be met exactly (a NaN for a NaN, the
same infinity, a result below the dtype's tiniest normal for a zero or an underflow).

``python tests/ir/test_special_values.py`` prints the measured maximum errors as a table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

mp = pytest.importorskip("mpmath")

import backends.triton._env  # noqa: F401  (sets TRITON_INTERPRET before triton is imported)
from ir import dtypes as dt
from ir.graph import Graph
from ir.ops import OPS
from ir.passes.fusion import fuse

mp.mp.dps = 50
RNG = np.random.default_rng(2024)
INF, NAN = math.inf, math.nan


def grid(a, b, n=70):
    return list(np.linspace(a, b, n)) + list(RNG.uniform(a, b, n))


def logs(a, b, n=60, sign=1):
    return list(sign * 10 ** RNG.uniform(a, b, n))


def _ref_erfinv(y):
    """erfinv by Newton's method on log erfc in the tails (well scaled however small 1 - |y| is)."""
    if abs(y) < 0.5:
        return mp.erfinv(y)
    if abs(y) >= 1:
        return mp.nan if abs(y) > 1 else mp.inf * mp.sign(y)
    w = 1 - abs(mp.mpf(y))
    x = mp.findroot(lambda t: mp.log(mp.erfc(t)) - mp.log(w), mp.sqrt(-mp.log(w)))
    return x if y > 0 else -x


def _ref_ndtri(p):
    if p == 0.5:
        return mp.mpf(0)
    if p in (0, 1):
        return -mp.inf if p == 0 else mp.inf
    q = min(mp.mpf(p), 1 - mp.mpf(p))
    z = mp.findroot(lambda t: mp.log(mp.ncdf(t)) - mp.log(q), -mp.sqrt(-2 * mp.log(q)))
    return z if p < 0.5 else -z


def _ref_zeta(s, q):
    with mp.workdps(100):  # mpmath's zeta(s, q) loses digits for large q at 50 digits
        return +mp.zeta(s, q)


def _ref_log_ndtr(x):
    return mp.log1p(-mp.ncdf(-x)) if x > 0 else mp.log(mp.ncdf(x))


def _lgamma(x):
    if x <= 0 and x == int(x):
        return mp.inf
    return mp.re(mp.loggamma(x))


def _poly_rec(first, step):
    def ref(x, n):
        n = int(n)
        if n < 0:
            return mp.mpf(0)
        p, q = mp.mpf(1), first(mp.mpf(x))
        if n == 0:
            return p
        for k in range(1, n):
            p, q = q, step(mp.mpf(x), k, q, p)
        return q

    return ref


def _bessel_env(x):
    return min(1.0, math.sqrt(2 / (math.pi * abs(x)))) if x else 1.0


def _airy_env(x):
    return 0.6 * abs(x) ** -0.25 if x < -1 else 0.0


# name -> (mpmath reference, float64 points, envelope or None)
UNARY = {
    "asinh": (mp.asinh, grid(-5, 5) + logs(-300, 300) + logs(-300, 300, sign=-1), None),
    "acosh": (mp.acosh, grid(1, 5) + list(1 + 10 ** RNG.uniform(-15, 0, 80)) + logs(0.5, 300), None),
    "sinc": (lambda x: mp.sinpi(x) / (mp.pi * x) if x else mp.mpf(1), grid(-20, 20) + logs(-10, 1), None),
    "entr": (lambda x: -x * mp.log(x) if x > 0 else (0 if x == 0 else -mp.inf), grid(-1, 5) + logs(-300, 300), None),
    "erfc": (mp.erfc, grid(-6, 27) + logs(-10, 1.4), None),
    "erfcx": (lambda x: mp.erfc(x) * mp.exp(x * x) if x < 1e6 else (1 - 1 / (2 * x * x)) / (mp.sqrt(mp.pi) * x), grid(-26, 30) + logs(-10, 300), None),
    "erfinv": (_ref_erfinv, grid(-0.999, 0.999) + logs(-300, -0.01) + list(1 - 10 ** RNG.uniform(-15.9, -1, 60)), None),
    "ndtr": (mp.ncdf, grid(-37, 9) + logs(-10, 0), None),
    # ndtri(p) near p = 1/2 is fixed only to ulp(p) / pdf(z) absolutely (p's own rounding): absolute there
    "ndtri": (_ref_ndtri, list(RNG.uniform(0, 1, 200)) + logs(-300, -0.31) + list(1 - 10 ** RNG.uniform(-15.9, -1, 60)),
              lambda p: 1.0),
    "log_ndtr": (_ref_log_ndtr, grid(-100, 38), None),
    "lgamma": (_lgamma, grid(-30.5, 30) + logs(-300, 300) + list(RNG.uniform(0.9, 2.1, 100)), None),
    "digamma": (lambda x: mp.digamma(x) if not (x <= 0 and x == int(x)) else (-mp.inf if x == 0 else mp.nan),
                grid(-30.3, 30) + logs(-300, 300) + list(RNG.uniform(1.4, 1.5, 100)), None),
    "i0": (lambda x: mp.besseli(0, x), grid(-713, 713) + logs(-300, 2), None),
    "i0e": (lambda x: mp.besseli(0, x) * mp.exp(-abs(x)), grid(-30, 30) + logs(-300, 300), None),
    "i1": (lambda x: mp.besseli(1, x), grid(-713, 713) + logs(-300, 2), None),
    "i1e": (lambda x: mp.besseli(1, x) * mp.exp(-abs(x)), grid(-30, 30) + logs(-300, 300), None),
    "bessel_j0": (lambda x: mp.besselj(0, x), grid(-60, 60) + logs(-10, 3), _bessel_env),
    "bessel_j1": (lambda x: mp.besselj(1, x), grid(-60, 60) + logs(-300, 3), _bessel_env),
    "bessel_y0": (lambda x: mp.bessely(0, x), grid(1e-3, 60) + logs(-300, 3), _bessel_env),
    "bessel_y1": (lambda x: mp.bessely(1, x), grid(1e-3, 60) + logs(-300, 3), _bessel_env),
    "modified_bessel_k0": (lambda x: mp.besselk(0, x), grid(1e-3, 700) + logs(-300, 2), None),
    "modified_bessel_k1": (lambda x: mp.besselk(1, x), grid(1e-3, 700) + logs(-300, 2), None),
    "scaled_modified_bessel_k0": (lambda x: mp.besselk(0, x) * mp.exp(x), grid(1e-3, 50) + logs(-300, 300), None),
    "scaled_modified_bessel_k1": (lambda x: mp.besselk(1, x) * mp.exp(x), grid(1e-3, 50) + logs(-300, 300), None),
    "airy_ai": (mp.airyai, grid(-40, 30) + logs(-10, 1), _airy_env),
    "spherical_bessel_j0": (lambda x: mp.sin(x) / x if x else mp.mpf(1), grid(-50, 50) + logs(-10, 3), _bessel_env),
}

_CHEB = {"t": (lambda x: x), "u": (lambda x: 2 * x), "v": (lambda x: 2 * x - 1), "w": (lambda x: 2 * x + 1)}
_ORDERS = [0, 1, 2, 3, 5, 8, 13, 20]


def _poly_refs():
    refs = {}
    for c, first in _CHEB.items():
        rec = _poly_rec(first, lambda x, k, q, p: 2 * x * q - p)
        refs[f"chebyshev_polynomial_{c}"] = (rec, (-1.2, 1.2))
        refs[f"shifted_chebyshev_polynomial_{c}"] = ((lambda rec: lambda x, n: rec(2 * mp.mpf(x) - 1, n))(rec), (-0.1, 1.1))
    refs["hermite_polynomial_h"] = (lambda x, n: mp.hermite(int(n), x) if n >= 0 else mp.mpf(0), (-4, 4))
    refs["hermite_polynomial_he"] = (lambda x, n: mp.hermite(int(n), x / mp.sqrt(2)) / mp.sqrt(2) ** int(n)
                                     if n >= 0 else mp.mpf(0), (-4, 4))
    refs["laguerre_polynomial_l"] = (lambda x, n: mp.laguerre(int(n), 0, x) if n >= 0 else mp.mpf(0), (-2, 10))
    refs["legendre_polynomial_p"] = (lambda x, n: mp.legendre(int(n), x) if n >= 0 else mp.mpf(0), (-1.2, 1.2))
    return refs


POLY = _poly_refs()


def _binary_points():
    """name -> (reference, [(a, b) pairs], envelope)."""
    a = 10 ** RNG.uniform(-3, 2.5, 250)
    x = a * 10 ** RNG.uniform(-1.5, 1.5, 250)
    pairs = {
        "xlogy": (lambda x, y: x * mp.log(y) if x else mp.mpf(0), list(zip(grid(-3, 3, 100), logs(-300, 300, 200)))),
        "xlog1py": (lambda x, y: x * mp.log1p(y) if x else mp.mpf(0),
                    list(zip(grid(-3, 3, 100), list(RNG.uniform(-0.999, 3, 100)) + logs(-300, 300, 100)))),
        "logaddexp2": (lambda a, b: mp.log(2**a + 2**b, 2), list(zip(grid(-50, 50), grid(-50, 50)[::-1]))),
        "polygamma": (lambda n, x: mp.polygamma(int(n), x),
                      [(float(n), float(v)) for n in (1, 2, 3, 4, 6) for v in grid(-8.3, 30, 25) + logs(-3, 4, 15)]),
        "zeta": (_ref_zeta, [(float(s), float(q)) for s in (1.5, 2.0, 3.5, 7.0, 20.0)
                                              for q in grid(0.01, 30, 20) + logs(-3, 5, 15)]),
        "igamma": (lambda a, x: mp.gammainc(a, 0, x, regularized=True), list(zip(a, x))),
        "igammac": (lambda a, x: mp.gammainc(a, x, mp.inf, regularized=True), list(zip(a, x))),
    }
    for name, (ref, (lo, hi)) in POLY.items():
        pts = [(float(v), float(n)) for n in _ORDERS + [-1, -3] for v in grid(lo, hi, 8)]
        pairs[name] = (ref, pts)
    return pairs


BINARY = _binary_points()

# (float64 tolerance, float32 tolerance) per function, default (1e-13, 2e-6); looser entries say why.
DEFAULT_TOL = (1e-13, 2e-6)
TOL = {
    # Ai's condition number x Ai'(x) / Ai(x) grows like |x|^(3/2): the argument's own rounding.
    "airy_ai": (5e-13, 2e-5),
    # near the poles at negative integers psi is ill conditioned (cond ~ |x| / distance).
    "digamma": (2e-12, 5e-6),
    # libm's lgamma near its roots 1 and 2 (numpy calls math.lgamma); Triton: the shift-and-Stirling
    # form keeps only absolute accuracy there.
    "lgamma": (5e-13, 5e-6),
    # the direct sum over negative q alternates in sign (cancellation in the terms' rounding).
    "polygamma": (5e-13, 1e-5),
    # log(x) of large x times the exact prefactor: a log x - x - lgamma(a) rounds like a log a.
    "igamma": (5e-12, 2e-5),
    "igammac": (5e-12, 2e-5),
    # the recurrences lose about n ulps (as PyTorch's own), relative to the values' scale.
    "laguerre_polynomial_l": (1e-12, 2e-5),
    "legendre_polynomial_p": (1e-12, 2e-5),
    "hermite_polynomial_h": (1e-12, 2e-5),
    "hermite_polynomial_he": (1e-12, 2e-5),
    **{f"{s}chebyshev_polynomial_{c}": (1e-12, 2e-5) for s in ("", "shifted_") for c in "tuvw"},
    # exp(x) with x near 700 rounds x's own ulp into the result (cond = x).
    "i0": (3e-13, 2e-6),
    "i1": (3e-13, 2e-6),
    "modified_bessel_k0": (3e-13, 2e-6),
    "modified_bessel_k1": (3e-13, 2e-6),
    # erfcx below 0 is 2 exp(x^2) - ...: exp(x^2) carries x^2's conditioning (2 x^2).
    "erfcx": (3e-13, 2e-6),
}
# Triton computes float32 values in float32 (numpy computes them in float64 and rounds once): where
# an intermediate quantity is large (z in exp(-z), s log(q + k) in zeta's powers, the tangent in
# digamma's reflection, ndtri near p = 1/2 where z is small) its float32 rounding shows.
TRITON_F32_TOL = {"digamma": 1e-5, "lgamma": 2e-5, "zeta": 1e-5, "ndtri": 1e-5, "airy_ai": 5e-5, "igamma": 1e-4, "igammac": 1e-4, "polygamma": 5e-5}
# Triton helpers that iterate a fixed number of times cover a narrower range (see ir/ops/triton_special.py).
TRITON_RANGE = {"igamma": 50.0, "igammac": 50.0, "polygamma": -6.0, "zeta": -6.0}


# ----------------------------------------------------------------------------
# running a row


def _numpy(name, arrays):
    with np.errstate(all="ignore"):
        return np.asarray(OPS[name].numpy(*arrays))


_TRITON_CACHE: dict = {}


def _triton(name, arrays):
    import backends.triton as BT  # optional dependency: skipped without triton

    d = dt.from_numpy(arrays[0].dtype)
    key = (name, d, tuple(a.shape for a in arrays))
    if key not in _TRITON_CACHE:
        g = Graph(name)
        ins = [g.add_input(a.shape, d) for a in arrays]
        g.outputs.append(g.add(name, ins))
        _TRITON_CACHE[key] = BT.compile_schedule(fuse(g), name, quiet=True)
    with np.errstate(all="ignore"):
        return np.asarray(_TRITON_CACHE[key]([np.ascontiguousarray(a) for a in arrays])[0])


BACKENDS = {"numpy": _numpy, "triton": _triton}


def _points(name, dtype):
    if name in UNARY:
        ref, xs, env = UNARY[name]
        cols = [np.array(xs, dtype=np.float64)]
    else:
        ref, pairs = BINARY[name]
        env = (lambda x: 1.0) if name in POLY else None
        cols = [np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])]
    with np.errstate(over="ignore"):
        cols = [c.astype(dtype) for c in cols]
    if dtype == np.float32:  # keep float32 inputs in float32's range
        ok = np.all([np.isfinite(c) for c in cols], axis=0)
        cols = [c[ok] for c in cols]
    return ref, cols, env


def _poly_scale(name, x, n):
    """The size the recurrence's rounding scales with: the polynomial's magnitude bound near x."""
    ref = POLY[name][0]
    return max(1.0, float(abs(ref(max(abs(x), 1.0) + 1.0, abs(n)))))


_REFS: dict = {}


def _reference(name, ref, args):
    """mpmath's value at ``args`` (cached: both backends and both dtypes share points)."""
    key = (name, args)
    if key not in _REFS:
        _REFS[key] = ref(*[mp.mpf(a) for a in args])
    return _REFS[key]


def max_error(name, backend, dtype):
    """The largest error (see the module docstring) over the points, and where it occurs."""
    ref, cols, env = _points(name, dtype)
    if backend == "triton" and name in TRITON_RANGE:
        lim = TRITON_RANGE[name]
        keep = (cols[0] <= lim) if lim > 0 else (cols[1] >= lim)
        if lim > 0:
            keep &= cols[1] <= lim
        cols = [c[keep] for c in cols]
    if backend == "triton" and dtype == np.float32:
        # float32 kernels: no subnormal inputs (a GPU may flush them), and the inverse-CDF tails stop
        # where exp(-z^2/2) becomes subnormal (p < 1e-30)
        keep = np.all([(c == 0) | (np.abs(c) >= np.finfo(np.float32).tiny) for c in cols], axis=0)
        if name in ("ndtri", "erfinv"):
            keep &= (np.minimum(cols[0], 1 - cols[0]) > 1e-30) if name == "ndtri" else (1 - np.abs(cols[0]) > 1e-30)
        cols = [c[keep] for c in cols]
    got = BACKENDS[backend](name, cols).astype(np.float64)
    finfo = np.finfo(dtype)
    worst, where_ = 0.0, None
    for i in range(len(got)):
        args = [float(c[i]) for c in cols]
        r = _reference(name, ref, tuple(args))
        g = got[i]
        r = complex(r).real if isinstance(r, mp.mpc) else r
        if mp.isnan(r):
            assert np.isnan(g), f"{name}{tuple(args)} on {backend}: {g}, expected NaN"
            continue
        rf = float(r)
        if abs(rf) > float(finfo.max):
            assert g == math.copysign(INF, rf), f"{name}{tuple(args)} on {backend}: {g}, expected {rf}"
            continue
        if abs(rf) < finfo.tiny:  # zero or underflow: the result must be at most subnormal
            assert abs(g) < 2 * finfo.tiny, f"{name}{tuple(args)} on {backend}: {g}, expected {rf}"
            continue
        scale = abs(rf)
        if env is not None:
            scale = max(scale, env(args[0]) if name not in POLY else _poly_scale(name, args[0], args[1]))
        err = abs(g - rf) / scale
        if not err <= worst:
            worst, where_ = err, tuple(args)
    return worst, where_


def tolerance(name, backend, dtype):
    f64, f32 = TOL.get(name, DEFAULT_TOL)
    if dtype == np.float64:
        return f64
    return TRITON_F32_TOL.get(name, f32) if backend == "triton" else f32


NAMES = sorted(UNARY) + sorted(BINARY)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("name", NAMES)
def test_against_mpmath(name, backend, dtype):
    if backend == "triton":
        pytest.importorskip("triton")
    err, at = max_error(name, backend, dtype)
    tol = tolerance(name, backend, dtype)
    assert err <= tol, f"{name} on {backend} ({np.dtype(dtype).name}): max error {err:.3g} at {at}, tolerance {tol:g}"


# ----------------------------------------------------------------------------
# special values, exactly (PyTorch's)

EXACT = {
    "erfc": [((INF,), 0.0), ((-INF,), 2.0), ((0.0,), 1.0), ((NAN,), NAN)],
    "erfcx": [((INF,), 0.0), ((-INF,), INF), ((0.0,), 1.0), ((-30.0,), INF)],
    "erfinv": [((1.0,), INF), ((-1.0,), -INF), ((0.0,), 0.0), ((1.5,), NAN), ((-0.0,), -0.0)],
    "ndtri": [((0.0,), -INF), ((1.0,), INF), ((0.5,), 0.0), ((-0.1,), NAN), ((1.1,), NAN)],
    "ndtr": [((INF,), 1.0), ((-INF,), 0.0), ((0.0,), 0.5)],
    "log_ndtr": [((INF,), -0.0), ((-INF,), -INF)],  # log1p(-0.0), as PyTorch
    "lgamma": [((0.0,), INF), ((-2.0,), INF), ((1.0,), 0.0), ((2.0,), 0.0), ((INF,), INF), ((-INF,), INF)],
    "digamma": [((0.0,), -INF), ((-0.0,), INF), ((-3.0,), NAN), ((INF,), INF), ((-INF,), NAN)],
    "sinc": [((0.0,), 1.0), ((1.0,), 0.0), ((-2.0,), -0.0), ((INF,), NAN)],
    "entr": [((0.0,), 0.0), ((-1.0,), -INF), ((1.0,), -0.0), ((INF,), -INF), ((NAN,), NAN)],
    "xlogy": [((0.0, 0.0), 0.0), ((0.0, -1.0), 0.0), ((0.0, NAN), NAN), ((1.0, 0.0), -INF), ((2.0, -1.0), NAN)],
    "xlog1py": [((0.0, -1.0), 0.0), ((0.0, NAN), NAN), ((1.0, -1.0), -INF)],
    "logaddexp2": [((INF, INF), INF), ((-INF, -INF), -INF), ((1.0, 1.0), 2.0), ((NAN, 1.0), NAN)],
    "asinh": [((-0.0,), -0.0), ((INF,), INF), ((-INF,), -INF)],
    "acosh": [((1.0,), 0.0), ((0.5,), NAN), ((INF,), INF)],
    "i0": [((0.0,), 1.0), ((INF,), INF), ((-INF,), INF)],
    "i0e": [((0.0,), 1.0), ((INF,), 0.0)],
    "i1": [((0.0,), 0.0), ((INF,), INF), ((-INF,), -INF)],
    "i1e": [((0.0,), 0.0), ((INF,), 0.0), ((-INF,), -0.0)],
    "bessel_j0": [((0.0,), 1.0), ((INF,), 0.0), ((-INF,), 0.0)],
    "bessel_j1": [((0.0,), 0.0), ((INF,), 0.0)],
    "bessel_y0": [((0.0,), -INF), ((-1.0,), NAN), ((INF,), 0.0)],
    "bessel_y1": [((0.0,), -INF), ((-1.0,), NAN), ((INF,), 0.0)],
    "modified_bessel_k0": [((0.0,), INF), ((-1.0,), NAN), ((INF,), 0.0)],
    "modified_bessel_k1": [((0.0,), INF), ((-1.0,), NAN), ((INF,), 0.0)],
    "scaled_modified_bessel_k0": [((0.0,), INF), ((-1.0,), NAN)],
    "scaled_modified_bessel_k1": [((0.0,), INF), ((-1.0,), NAN)],
    "airy_ai": [((INF,), 0.0), ((NAN,), NAN)],
    "spherical_bessel_j0": [((0.0,), 1.0), ((INF,), 0.0), ((-INF,), 0.0)],
    "zeta": [((1.0, 2.0), INF), ((0.5, 2.0), NAN), ((2.0, 0.0), INF), ((2.0, -2.0), INF), ((2.5, -1.5), NAN)],
    "polygamma": [((1.0, 0.0), INF), ((2.0, -1.0), -INF)],  # (-1)^(n+1) n! zeta(n+1, x), zeta = inf
    "igamma": [((0.0, 1.0), 1.0), ((1.0, 0.0), 0.0), ((-1.0, 1.0), NAN), ((1.0, -1.0), NAN), ((1.0, INF), 1.0),
               ((INF, 1.0), 0.0), ((INF, INF), NAN), ((0.0, 0.0), NAN)],
    "igammac": [((0.0, 1.0), 0.0), ((1.0, 0.0), 1.0), ((-1.0, 1.0), NAN), ((1.0, INF), 0.0), ((INF, 1.0), 1.0),
                ((INF, INF), NAN)],
    "chebyshev_polynomial_t": [((NAN, 0.0), 1.0), ((0.3, -1.0), 0.0), ((0.3, 2.9), 2 * 0.09 - 1), ((-1.0, 3.0), -1.0)],
    "hermite_polynomial_h": [((2.0, 0.0), 1.0), ((2.0, -2.0), 0.0), ((0.5, 1.0), 1.0)],
    "laguerre_polynomial_l": [((0.0, 7.0), 1.0), ((3.0, -1.0), 0.0)],
    "legendre_polynomial_p": [((1.0, 9.0), 1.0), ((-1.0, 9.0), -1.0)],
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("name", sorted(EXACT))
def test_special_values(name, backend):
    if backend == "triton":
        pytest.importorskip("triton")
    for dtype in (np.float64, np.float32):
        for args, want in EXACT[name]:
            got = float(BACKENDS[backend](name, [np.array([a], dtype=dtype) for a in args])[0])
            want = float(np.asarray(want, dtype=dtype))
            ok = (np.isnan(got) and np.isnan(want)) or (got == want and math.copysign(1, got) == math.copysign(1, want))
            assert ok, f"{name}{args} on {backend} ({np.dtype(dtype).name}): {got}, expected {want}"


if __name__ == "__main__":  # the table of measured errors (for the notes)
    print(f"{'function':32s} {'numpy f64':>10s} {'numpy f32':>10s} {'triton f64':>10s} {'triton f32':>10s}")
    for n in NAMES:
        cells = []
        for b in ("numpy", "triton"):
            for d in (np.float64, np.float32):
                try:
                    err, at = max_error(n, b, d)
                    cells.append(f"{err:10.2e}" + ("*" if err > tolerance(n, b, d) else " "))
                except AssertionError as e:
                    cells.append(f"{'FAIL':>10s}!")
                    print("   ", e)
        print(f"{n:32s} " + " ".join(cells), flush=True)
