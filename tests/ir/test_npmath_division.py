"""float32/float16 ``fmod``, ``remainder`` and ``floor_divide`` through double
(``ir.ops.npmath``) against numpy's own ufuncs, bit for bit: the double quotient is exact below
2^28 and everything else (huge quotients, zeros, infinities, NaN) must come out as numpy's libm
path gives it (remainder's zeros: the dividend's sign, PyTorch's); then the rows eager and compiled."""

import numpy as np
import pytest

import graphc
from ir.ops import npmath

_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.0, -3.0, 6.0, -6.0, 0.1, -0.1, 65504.0]


def _data(rng, n, dtype):
    """Normals over 33 decades (quotients far past 2^28) with the special values mixed in."""
    x = rng.standard_normal(n) * rng.choice([1e-30, 1e-3, 1.0, 1e3, 1e9, 1e30], n)
    x[: n // 10] = rng.choice(_SPECIAL, n // 10)
    with np.errstate(over="ignore"):
        return rng.permutation(x).astype(dtype)


def _assert_same(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    bits = np.dtype(f"u{want.itemsize}")
    keep = ~np.isnan(want)
    np.testing.assert_array_equal(got[keep].view(bits), want[keep].view(bits))


def _reference(name, a, b):
    """numpy's ufunc, except that remainder's zeros keep fmod's sign (the dividend's), as in
    PyTorch's kernel (fmod, then + b where the signs differ); numpy gives them b's sign."""
    want = getattr(np, name)(a, b)
    if name == "remainder":
        want = np.where(want == 0, np.copysign(want, np.broadcast_to(a, want.shape)), want).astype(want.dtype)
    return want


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("divisor", ["array", "0.3", "-3", "0", "inf", "row"])
def test_matches_numpy_bit_for_bit(name, dtype, divisor):
    rng = np.random.default_rng(hash((name, divisor)) % 2**32)
    a = _data(rng, 30000, dtype).reshape(100, 300)
    b = {
        "array": _data(rng, 30000, dtype).reshape(100, 300),
        "row": _data(rng, 300, dtype),
        "0.3": np.asarray(dtype(0.3)),
        "-3": np.asarray(dtype(-3)),
        "0": np.asarray(dtype(0)),
        "inf": np.asarray(dtype(np.inf)),
    }[divisor]
    with np.errstate(all="ignore"):
        _assert_same(getattr(npmath, name)(a, b), _reference(name, a, b))


def test_small_and_other_dtypes_are_numpy_itself():
    a, b = np.arange(-5.0, 5.0), np.float64(0.7)
    for name in ("fmod", "remainder", "floor_divide"):
        _assert_same(getattr(npmath, name)(a, b), _reference(name, a, b))
        np.testing.assert_array_equal(getattr(npmath, name)(np.arange(-9, 9), np.int64(4)), getattr(np, name)(np.arange(-9, 9), 4))


@pytest.mark.parametrize("op", ["fmod", "remainder", "floor_divide"])
def test_rows_eager_and_compiled(op):
    rng = np.random.default_rng(5)
    a = _data(rng, 5000, np.float32)
    x = graphc.from_numpy(a)
    with np.errstate(all="ignore"):
        want = _reference(op, a, np.float32(0.7))
    _assert_same(getattr(graphc, op)(x, 0.7).numpy(), want)
    _assert_same(graphc.compile(lambda t: getattr(graphc, op)(t, 0.7))(x).numpy(), want)
