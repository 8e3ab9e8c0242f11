"""numpy implementations of the elementwise rows numpy has no ufunc for.

Each takes and returns numpy arrays (the eager kernels and generated numpy code call them
through the row's ``numpy`` field; generated code names them ``O.<op>``). They are written for
every float dtype the backends store (float16, float32 for bfloat16 too, float64).
"""

from __future__ import annotations

import math

import numpy as np

# erf(a) / a as a polynomial in u = a^2 on [0, 1/4] (|a| < 0.5): least squares at 200 Chebyshev
# nodes in float64, relative error 1.4e-9 -- two terms fewer than the Maclaurin series needs.
_ERF_SMALL = (0.004719505354200619, -0.026757944332666154, 0.11282834739151898, -0.376126091733408, 1.128379165614794)
# Abramowitz & Stegun 7.1.26: erf(a) = 1 - t * P(t) * exp(-a^2), t = 1 / (1 + 0.3275911 a)
_ERF_AS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def _horner(coeffs, v, work):
    """``sum(c * v**k)`` (highest power first) into ``work``, in place: one pass per operation."""
    np.multiply(v, np.float32(coeffs[0]), out=work)
    for c in coeffs[1:-1]:
        work += np.float32(c)
        work *= v
    work += np.float32(coeffs[-1])
    return work


def erf(x: np.ndarray) -> np.ndarray:
    """The error function: exact (math.erf) in float64; in float32, Abramowitz & Stegun 7.1.26
    (|error| < 1.5e-7) and, below |x| = 0.5 where its 1 - ... cancels (erf(1e-7) came out 0),
    an odd polynomial fitted to erf. In place, one array pass per operation."""
    x = np.asarray(x)
    if x.dtype == np.float64:
        return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.copy()
    if x.ndim == 0:  # (numpy's ufuncs return scalars for 0-d arrays: no out= to write into)
        return erf(x.reshape(1)).reshape(())
    xf = x.astype(np.float32, copy=False)
    a = np.abs(xf)
    u = a * a
    t = np.multiply(a, np.float32(0.3275911))
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    r = _horner(_ERF_AS, t, np.empty_like(t))
    r *= t
    np.negative(u, out=t)
    np.exp(t, out=t)
    r *= t
    np.subtract(np.float32(1.0), r, out=r)
    small = a < 0.5
    if small.any():
        near0 = _horner(_ERF_SMALL, u, t)
        near0 *= a
        r = where(small, near0, r)
    # x's sign bit OR-ed into r (never negative, its NaNs those of |x|): copysign's result, so
    # erf(-0.0) is -0.0, in two integer passes where numpy's copysign loop takes ~6x as long
    r.view(np.int32)[...] |= np.bitwise_and(xf.view(np.int32), np.int32(-(2**31)))
    return r.astype(x.dtype, copy=False)


def copy(x):
    """A C-contiguous copy (``np.copy`` keeps a transposed input's strides): the layout the
    ``copy`` row promises, the one generated code writes into fresh buffers."""
    return np.array(x, order="C", copy=True)


# float32 and float16 division remainders through double. For |a / b| < 2^28 the double
# quotient truncates to the exact integer quotient q (a / b is at least 2^-53 relative away from
# any other integer), q * b is exact in double (28 + 24 bits) and so is a - q * b (the true
# remainder is a float32 value): fmod exactly, in vector passes, where numpy calls libm's fmodf
# per element (131072 float32: 2.0 ms). Larger quotients, infinities and NaNs take numpy's fmod.
_FMOD_EXACT_QUOTIENT = 2.0**28
_SINGLE_OR_HALF = (np.dtype(np.float32), np.dtype(np.float16))
_VIA_DOUBLE_MIN = 1 << 10


def _fast_fmod(a, b):
    """fmod(a, b) for float32/float16 arrays of one dtype (see above), or None where it does not apply."""
    if not (isinstance(a, (np.ndarray, np.generic)) and isinstance(b, (np.ndarray, np.generic))):
        return None  # (generated code passes constants as numpy scalars)
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.dtype not in _SINGLE_OR_HALF or max(a.size, b.size) < _VIA_DOUBLE_MIN:
        return None
    ad, bd = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        q = ad / bd
        slow = ~(np.abs(q) < _FMOD_EXACT_QUOTIENT) | np.isinf(bd)  # (NaN quotients too)
        np.trunc(q, out=q)
        q *= bd
        r = np.subtract(ad, q, out=q)
    r = np.copysign(r, ad, out=r).astype(a.dtype)  # a zero remainder takes a's sign
    if slow.any():
        shape = r.shape
        a_full, b_full = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
        slow = np.broadcast_to(slow, shape)
        r[slow] = np.fmod(a_full[slow], b_full[slow])
    return r


def fmod(a, b):
    """numpy's ``fmod`` (C's: the remainder with a's sign), float32 and float16 through double."""
    r = _fast_fmod(a, b)
    return np.fmod(a, b) if r is None else r


def _single_fmod(a, b):
    """The fast fmod for float32 operands, else None: remainder and floor_divide run numpy's
    divmod steps in the operands' precision, and numpy's half precision takes them in float32."""
    return _fast_fmod(a, b) if getattr(a, "dtype", None) == np.float32 else None


def _signs_differ(mod, b):
    """Where numpy's divmod moves a nonzero fmod result to b's side (and the quotient down one)."""
    return (mod != 0) & ((b < 0) != (mod < 0))


def remainder(a, b):
    """PyTorch's ``remainder`` (Python's ``%``: the remainder with b's sign) by its kernel's steps:
    fmod, then ``+ b`` where the signs differ, in the operands' precision (the fast fmod for
    float32). A zero result keeps fmod's sign, a's, as PyTorch's does (remainder(-5., 2.5) is
    -0.0, remainder(5., -2.5) is 0.0); numpy's remainder gives a zero b's sign instead."""
    mod = _single_fmod(a, b)
    if mod is None:
        mod = np.remainder(a, b)
        if mod.dtype.kind != "f":
            return mod
        # numpy's zeros have b's sign, fmod's have a's (a nonzero fmod plus b is never 0)
        return where(mod == 0, np.copysign(mod, a), mod)
    with np.errstate(all="ignore"):
        return where(_signs_differ(mod, b), mod + b, mod)


def floor_divide(a, b):
    """numpy's ``floor_divide`` of floats: numpy's own steps (``(a - fmod(a, b)) / b``, corrected by
    one where the signs differ, floored and rounded to the nearest integer) over the fast fmod."""
    mod = _single_fmod(a, b)
    if mod is None:
        return np.floor_divide(a, b)
    with np.errstate(all="ignore"):
        div = (a - mod) / b
        div -= _signs_differ(mod, b)  # one less there (x - 0 is x, -0.0 too)
        floor = np.floor(div)
        floor += div - floor > 0.5  # (a floor of -0.0 comes from a zero div, replaced below)
        zero, by_zero = div == 0, b == 0
        if zero.any() or by_zero.any():
            quotient = a / b
            floor = where(zero, np.copysign(np.zeros_like(div), quotient), floor)
            floor = where(np.broadcast_to(by_zero, floor.shape), quotient, floor)
        return floor


def power(x, y, out=None):
    """``x ** y`` with PyTorch's integer rule for negative exponents, where numpy raises:
    ``1 ** -n == 1``, ``(-1) ** -n == ±1`` by parity, any other base gives 0 (the integer
    part of ``1 / x ** n``). Floats are numpy's ``power``."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype in _SINGLE_OR_HALF and y.dtype.kind == "f":
        r = _single_power(x, y)
        if out is None:
            return r
        np.copyto(out, r, casting="unsafe")
        return out
    if x.dtype.kind not in "iu" or y.dtype.kind not in "iu" or not (y < 0).any():
        return np.power(x, y, out=out)
    neg = y < 0
    r = np.power(x, where(neg, 0, y))
    odd = (y % 2) != 0
    small = where(x == 1, 1, where(x == -1, where(odd, -1, 1), 0))
    r = where(neg, small, r).astype(np.result_type(x, y), copy=False)
    if out is None:
        return r
    np.copyto(out, r, casting="unsafe")
    return out


_INT_OF_SIZE = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}
# Below this many elements numpy's where is kept: its branch per element costs little there,
# and the blend's extra calls would cost more.
_BLEND_MIN = 1 << 12


def where(cond, a, b):
    """``where(cond, a, b)`` as numpy gives it; a blend of bit patterns (:func:`where_into`) for
    arrays of 4096+ elements of one dtype, since numpy's where branches per element: on a
    random mask 15x slower than a multiply (131072 float32: 467 vs 30 us)."""
    if isinstance(cond, np.ndarray) and cond.dtype == np.bool_:
        x, y = _blend_operand(a, b), _blend_operand(b, a)
        if (
            x is not None and y is not None and x.dtype == y.dtype and x.dtype.itemsize in _INT_OF_SIZE
            and x.dtype != np.bool_ and max(cond.size, x.size, y.size) >= _BLEND_MIN
        ):
            out = np.empty(np.broadcast_shapes(cond.shape, x.shape, y.shape), dtype=x.dtype)
            where_into(cond, x, y, out)
            return out
    return np.where(cond, a, b)


def _blend_operand(v, other):
    """``v`` as an array for the blend: a Python number beside a float array takes its dtype, as
    numpy 2's promotion gives it (a weak scalar); None where the blend does not apply."""
    if isinstance(v, np.ndarray):
        return v
    if type(v) in (float, int) and isinstance(other, np.ndarray) and other.dtype.kind == "f":
        return np.asarray(v, dtype=other.dtype)
    return None


def _fresh(shape, dtype):
    return np.empty(shape, dtype=dtype)


def where_into(cond, a, b, out, scratch=_fresh) -> None:
    """``out[...] = where(cond, a, b)``, exactly, as a bitwise blend.

    numpy's ``where`` and ``copyto(..., where=)`` branch per element (about 15x slower than a
    multiply on a random mask); selecting through the bit patterns is exact for every value, NaN
    and -0.0 included, and runs at ufunc speed. ``scratch(shape, dtype)`` gives the mask's
    buffer (generated kernels pass a per-thread one)."""
    it = _INT_OF_SIZE.get(out.dtype.itemsize)
    if out.size < _BLEND_MIN or it is None or out.dtype == np.bool_:
        np.copyto(out, np.where(cond, a, b), casting="unsafe")  # (few elements: one call is cheaper)
        return
    c = np.asarray(cond)
    if c.dtype == np.bool_:
        # a uniform mask (no NaN to replace, no padded position) takes one side whole: any() and
        # all() stop at the first element that decides them, so a mixed mask costs next to nothing
        if not c.any():
            np.copyto(out, b, casting="unsafe")
            return
        if c.all():
            np.copyto(out, a, casting="unsafe")
            return
    av = np.asarray(a, dtype=out.dtype).view(it)
    bv = np.asarray(b, dtype=out.dtype).view(it)
    zero_b = bv.ndim == 0 and int(bv) == 0
    if c.dtype == np.bool_ and (zero_b or (av.ndim == 0 and int(av) == 0)):
        # where(c, a, 0) or where(c, 0, b) (a ReLU's backward): an int8 mask of -1 where the
        # kept side is taken (c, or not c: c - 1), which the AND widens with sign extension to
        # all-ones -- a quarter of the int-wide mask's traffic
        mask8 = scratch(c.shape, np.int8)
        if zero_b:
            np.negative(c.view(np.int8), out=mask8)
        else:
            np.subtract(c.view(np.int8), np.int8(1), out=mask8)
        np.bitwise_and(av if zero_b else bv, mask8, out=out.view(it))
        return
    mask = scratch(out.shape, it)
    np.subtract(0, c.view(np.uint8) if c.dtype == np.bool_ else c, out=mask, dtype=it, casting="unsafe")  # -1 where true
    ov = out.view(it)
    np.bitwise_and(av, mask, out=ov)
    if not (bv.ndim == 0 and int(bv) == 0):  # (b all zero bits, +0.0 included: nothing to add)
        np.invert(mask, out=mask)
        np.bitwise_and(bv, mask, out=mask)
        np.bitwise_or(ov, mask, out=ov)


try:  # numpy's clip ufunc itself (numpy 2); np.clip wraps it in Python
    _clip = np._core.umath.clip
except AttributeError:  # pragma: no cover - numpy 1
    _clip = np.clip


def clamp(x, lo, hi, out=None):
    """``min(max(x, lo), hi)``, x itself on a tie or NaN: numpy's clip ufunc (its Python wrapper
    costs a microsecond more on small arrays). ``tests/ir/test_clamp_row.py`` pins numpy's tie
    and NaN behaviour, which its documentation leaves open."""
    return _clip(x, lo, hi, out=out)


def leaky_relu(x, slope):
    """``where(x > 0, x, x * slope)``. For a slope in (0, 1] that is ``maximum(x, x * slope)``, one
    vector pass where the select takes four: x * slope lies between 0 and x, so the maximum picks
    x above zero and x * slope below, is x * slope (the same signed zero) at zero, NaN at NaN."""
    s = np.asarray(slope)
    if s.ndim == 0 < x.ndim and 0 < s <= 1 and s.dtype == x.dtype:  # (0-d: a numpy scalar takes no out=)
        scaled = np.multiply(x, s)
        return np.maximum(x, scaled, out=scaled)
    return where(x > 0, x, x * s)


def fma(x, y, z, out=None):
    """``x * y + z`` rounded once, as C's ``fma`` (PyTorch's CPU kernels fuse ``add`` with
    ``alpha``, ``addcmul``, ``lerp``... into one): single precision through double, where the
    product is exact and the sum's double rounding differs from one rounding only when it lands
    exactly on a single-precision midpoint; half precision as PyTorch's float32 opmath, rounded
    to float32 and then to half. float64 rounds the product and the sum apart (numpy has no
    exact double fma; BLAS axpy, which ``R.fma_into`` takes for a scalar factor, does fuse)."""
    x, y, z = np.asarray(x), np.asarray(y), np.asarray(z)
    dtype = x.dtype if x.dtype == y.dtype == z.dtype else np.result_type(x, y, z)
    if dtype in _SINGLE_OR_HALF:
        if x.shape == z.shape and (y.ndim == 0 or y.shape == x.shape):  # the common case, in place
            wide = x.astype(np.float64)
            np.multiply(wide, float(y) if y.ndim == 0 else y, out=wide)  # (a Python float: the fast loop)
            np.add(wide, z, out=wide)
        else:  # operands that broadcast
            wide = np.add(np.multiply(x, y, dtype=np.float64), z)
        if out is not None and dtype == np.float32:
            np.copyto(out, wide, casting="unsafe")
            return out
        r = wide.astype(np.float32)
        if dtype == np.float16:
            r = r.astype(np.float16)
    else:
        r = x * y + z
    if out is None:
        return r
    np.copyto(out, r, casting="unsafe")
    return out


def _single_power(x, y):
    """float32/float16 ``x ** y`` as PyTorch's CPU kernel: the exponents it special-cases are the
    same products (``x ** 3`` is ``x * x * x``, ``x ** -2`` is ``1 / (x * x)``, ``x ** -0.5`` is
    ``1 / sqrt(x)``), the rest a double-precision power rounded once, within an ulp of PyTorch's
    single-precision pow (numpy's own float32 power differs from both in a fifth of the results)."""
    wide = x.astype(np.float32) if x.dtype == np.float16 else x
    if y.ndim == 0:
        e = float(y)
        special = _POWER_SPECIAL.get(e)
        if special is not None:
            return special(wide).astype(x.dtype, copy=False)
    return np.power(wide.astype(np.float64), y.astype(np.float64)).astype(x.dtype)


_POWER_SPECIAL = {
    1.0: lambda v: v.copy(),
    2.0: lambda v: v * v,
    3.0: lambda v: v * v * v,
    0.5: np.sqrt,
    -0.5: lambda v: 1 / np.sqrt(v),
    -1.0: lambda v: 1 / v,
    -2.0: lambda v: 1 / (v * v),
}


def sigmoid(x):
    """1 / (1 + exp(-x)); float16 through float32 (exp(12) overflows float16), as PyTorch."""
    if getattr(x, "dtype", None) == np.float16:
        return sigmoid(x.astype(np.float32)).astype(np.float16)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def sign(x):
    """PyTorch's sign, ``(x > 0) - (x < 0)``: 0 (not numpy's NaN) for NaN, +0.0 for -0.0.

    The two masks are subtracted as int8 and converted once: a subtract of two bool arrays
    into a float dtype casts both through numpy's buffered loop (256x512 float32: 60 -> 38 us,
    float16 3.97 -> 1.56 ms)."""
    if x.dtype.kind == "f":
        if x.ndim == 0:
            return np.subtract(np.greater(x, 0), np.less(x, 0), dtype=x.dtype)
        return np.subtract(np.greater(x, 0).view(np.int8), np.less(x, 0).view(np.int8)).astype(x.dtype)
    return np.sign(x)


def relu(x, out=None):
    """``max(x, 0)`` with PyTorch's ties: x itself at -0.0 and NaN (its ``clamp_min(0)``), as
    numpy's clip ufunc gives it in one vectorized pass; ``maximum`` returns +0.0 for -0.0, and
    against a scalar runs numpy's scalar loop (131072 float32: 50 us against clip's 15)."""
    if x.dtype.kind == "f":
        return clamp(x, 0.0, math.inf, out=out)
    return np.maximum(x, 0, out=out)  # a Python 0 takes x.dtype (numpy 2 promotion)


def rsqrt(x):
    return 1.0 / np.sqrt(x)


# ----------------------------------------------------------------------------
# float64 references for the conformance tests: scalar functions written from the definitions
# (independent of the numpy code the rows run), defined on the whole extended real line.


def ref_logaddexp(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b:  # equal infinities stay themselves; finite ties are a + log 2
        return a + math.log(2.0)
    m = a if a > b else b
    return m + math.log1p(math.exp(-abs(a - b)))
