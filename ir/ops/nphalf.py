"""float16 <-> float32 conversions in vector passes, bit for bit numpy's own.

numpy converts half precision one element at a time in C (no F16C/AVX-512 path for casts):
256x512 float32 -> float16 takes ~330 us and float16 -> float32 ~220 us, where PyTorch's
vectorized cast takes ~10 us. Every float16 op graphc runs computes in float32 between two
such casts (PyTorch's opmath), so the casts were nearly all of a half-precision op's time
(``x * 0.1``: 600 us, of which the multiply 12).

Both directions here are a few whole-array integer and float passes:

- **float16 -> float32**: the half's exponent and mantissa bits shifted into a float32's
  place (``bits << 13``) are the value times 2^-112 -- for normal halves a float32 normal,
  for subnormal halves (and zeros) a float32 subnormal holding the same integer mantissa --
  so one multiply by 2^112 (exact) gives the value; the sign is OR-ed back. Infinities and
  NaNs (an all-ones exponent) are taken by numpy itself, on just those elements.
- **float32 -> float16**: rounding to the nearest half, ties to even, is an addition: adding
  ``m = 2^(e + 13)`` (``e`` the value's exponent, at least half precision's smallest normal
  exponent -14) leaves a sum whose float32 spacing is 2^(e - 10), half precision's spacing at
  that exponent (2^-24 below 2^-14, its subnormal spacing); subtracting ``m`` again is exact.
  The rounded value times 2^-112 then holds the half's bits above bit 13 -- its exponent
  field rebased from 127 to 15, or for half subnormals a float32 subnormal with the half's
  mantissa -- and overflow (65520 and up, infinities) lands at or above the infinity pattern,
  which a clamp makes exact. NaNs (rare; numpy keeps their payload) go through numpy.

Both run with every floating-point exception masked (no FTZ/DAZ: numpy never sets them), and
in blocks that keep the work arrays in cache. ``tests/ir/test_nphalf.py`` checks every
float16 pattern and boundary and random float32 patterns against numpy's astype (all 2^32
float32 patterns were checked once, outside the suite: no difference).
"""

from __future__ import annotations

import numpy as np

from . import npmath

__all__ = ["astype", "cast_into", "half_to_single", "single_to_half"]

# Below this many elements numpy's own cast is cheaper than the passes' call overhead.
FAST_MIN_ELEMS = 1 << 12
# Elements converted per block: the three uint32 work arrays (and the input) stay in L2.
BLOCK_ELEMS = 1 << 16

_F32, _F16 = np.dtype(np.float32), np.dtype(np.float16)
_HALF_INF = 0x7C00


def half_to_single(h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``h.astype(np.float32)`` for a float16 array (into ``out`` when given), exactly."""
    h = np.ascontiguousarray(h)
    out = np.empty(h.shape, _F32) if out is None else out
    dst = out if out.flags.c_contiguous else np.empty(h.shape, _F32)
    hb, ob = h.reshape(-1).view(np.uint16), dst.reshape(-1).view(np.uint32)
    n = hb.size
    sign = np.empty(min(n, BLOCK_ELEMS), np.uint32)
    special = False
    with np.errstate(all="ignore"):
        for lo in range(0, n, BLOCK_ELEMS):
            hi = min(n, lo + BLOCK_ELEMS)
            bits, s = ob[lo:hi], sign[: hi - lo]
            np.copyto(bits, hb[lo:hi], casting="unsafe")  # widened to uint32
            np.bitwise_and(bits, np.uint32(0x8000), out=s)
            s <<= np.uint32(16)
            bits &= np.uint32(0x7FFF)
            special |= bool(bits.max() >= _HALF_INF) if bits.size else False
            bits <<= np.uint32(13)
            bits.view(np.float32)[...] *= np.float32(2.0**112)
            bits |= s
        if special:  # infinities and NaNs: numpy's own conversion (it keeps NaN payloads)
            odd = (hb & np.uint16(0x7C00)) == np.uint16(0x7C00)
            dst.reshape(-1)[odd] = h.reshape(-1)[odd].astype(_F32)
    if dst is not out:
        np.copyto(out, dst)
    return out


def single_to_half(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x.astype(np.float16)`` for a float32 array (into ``out`` when given), exactly:
    nearest, ties to even, overflow to infinity, NaN payloads as numpy keeps them."""
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, _F16) if out is None else out
    dst = out if out.flags.c_contiguous else np.empty(x.shape, _F16)
    u, ob = x.reshape(-1).view(np.uint32), dst.reshape(-1).view(np.uint16)
    n = u.size
    work = np.empty((2, min(n, BLOCK_ELEMS)), np.uint32)
    over = False
    with np.errstate(all="ignore"):
        for lo in range(0, n, BLOCK_ELEMS):
            hi = min(n, lo + BLOCK_ELEMS)
            a, m = work[0, : hi - lo], work[1, : hi - lo]
            np.bitwise_and(u[lo:hi], np.uint32(0x7FFFFFFF), out=a)  # |x|
            np.bitwise_and(a, np.uint32(0x7F800000), out=m)  # 2^e (0 for zeros and subnormals, inf)
            # at least 2^-14's, so subnormal halves round at 2^-24 (numpy's clip ufunc: its maximum
            # against a number is a scalar loop, 3x slower)
            npmath.clamp(m, np.uint32(0x38800000), np.uint32(0xFFFFFFFF), out=m)
            r, mf = a.view(np.float32), m.view(np.float32)
            m += np.uint32(13 << 23)  # 2^(e + 13), whose float32 spacing is 2^(e - 10)
            r += mf  # rounds |x| to half precision's spacing, ties to even
            r -= mf  # (exact)
            r *= np.float32(2.0**-112)  # the half's bits, above bit 13
            a >>= np.uint32(13)
            if a.size and a.max() >= _HALF_INF:  # overflow, infinities, NaNs
                over = True
                np.minimum(a, np.uint32(_HALF_INF), out=a)
            np.right_shift(u[lo:hi], np.uint32(16), out=m)  # the sign, to bit 15
            m &= np.uint32(0x8000)
            a |= m
            np.copyto(ob[lo:hi], a, casting="unsafe")  # narrowed to uint16
        if over:
            nan = np.isnan(x)
            if nan.any():
                dst[nan] = x[nan].astype(_F16)
    if dst is not out:
        np.copyto(out, dst)
    return out


def _fast_pair(src: np.dtype, dst: np.dtype, size: int):
    """The converter for a float32 <-> float16 cast worth the passes, else None."""
    if size < FAST_MIN_ELEMS:
        return None
    if src == _F32 and dst == _F16:
        return single_to_half
    if src == _F16 and dst == _F32:
        return half_to_single
    return None


def astype(x, dtype) -> np.ndarray:
    """``x.astype(dtype)`` (a fresh array), float32 <-> float16 through the passes above."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    fast = _fast_pair(x.dtype, dtype, x.size)
    return x.astype(dtype) if fast is None else fast(x)


def cast_into(src, out: np.ndarray) -> None:
    """``np.copyto(out, src, casting='unsafe')``, float32 <-> float16 through the passes above."""
    src = np.asarray(src)
    fast = _fast_pair(src.dtype, out.dtype, out.size) if src.shape == out.shape else None
    if fast is None:
        np.copyto(out, src, casting="unsafe")
    else:
        fast(src, out)
