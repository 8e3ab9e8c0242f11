"""float16 <-> float32 casts in vector passes (ir.ops.nphalf): bit for bit numpy's astype.

numpy's own conversion is the reference (it is the conversion graphc used before, and
PyTorch's: nearest, ties to even, overflow to infinity). NaN payloads are compared too:
numpy keeps them, and so must the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from ir.ops import nphalf

F16_BITS = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)


def _bits16(x):
    return np.asarray(x).view(np.uint16)


def _numpy_half(x):
    with np.errstate(all="ignore"):
        return x.astype(np.float16)


def test_every_half_widens_as_numpy():
    halves = F16_BITS.view(np.float16)
    np.testing.assert_array_equal(nphalf.half_to_single(halves).view(np.uint32), halves.astype(np.float32).view(np.uint32))


def _single_patterns():
    """float32 bit patterns where rounding to half decides: every half value and its float32
    neighbours, every midpoint between two halves and its neighbours (ties to even), the
    overflow threshold, specials, and random patterns over all 2^32."""
    grid = F16_BITS[: 0x7C01].view(np.float16).astype(np.float32)  # +0 ... +inf
    near = (grid.view(np.uint32)[:, None].astype(np.int64) + np.arange(-2, 3)).ravel()
    mids = ((grid[:-1].astype(np.float64) + grid[1:]) / 2).astype(np.float32)
    near_mids = (mids.view(np.uint32)[:, None].astype(np.int64) + np.arange(-2, 3)).ravel()
    special = np.array(
        [0, 1, 0x007FFFFF, 0x00800000, 0x33000000, 0x33000001, 0x337FFFFF, 0x38000000, 0x387FC000, 0x387FE000,
         0x387FF000, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FFFFF, 0x47800000, 0x4F800000, 0x7F7FFFFF,
         0x7F800000, 0x7F800001, 0x7FC00000, 0x7FC02000, 0x7FFFFFFF, 0x7F802000],
        dtype=np.int64,
    )
    rng = np.random.default_rng(7)
    random = rng.integers(0, 1 << 32, 300_000, dtype=np.int64)
    magnitudes = np.concatenate([near, near_mids, special, random]) & 0x7FFFFFFF
    patterns = np.concatenate([magnitudes, magnitudes | 0x80000000]).astype(np.uint32)
    return patterns.view(np.float32)


def test_singles_round_to_half_as_numpy():
    x = _single_patterns()
    np.testing.assert_array_equal(_bits16(nphalf.single_to_half(x)), _bits16(_numpy_half(x)))


@pytest.mark.parametrize("n", [0, 1, 5, nphalf.FAST_MIN_ELEMS - 1, nphalf.FAST_MIN_ELEMS, nphalf.BLOCK_ELEMS + 3])
def test_sizes_and_blocks(n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 1e3).astype(np.float32)
    np.testing.assert_array_equal(_bits16(nphalf.astype(x, np.float16)), _bits16(_numpy_half(x)))
    h = _numpy_half(x)
    np.testing.assert_array_equal(nphalf.astype(h, np.float32), h.astype(np.float32))


def test_layouts_and_out():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((300, 200)) * 300).astype(np.float32)
    np.testing.assert_array_equal(_bits16(nphalf.astype(x.T, np.float16)), _bits16(_numpy_half(x.T)))  # strided input
    out = np.empty((600, 200), np.float16)[::2]  # strided output
    nphalf.cast_into(x, out)
    np.testing.assert_array_equal(_bits16(out), _bits16(_numpy_half(x)))
    wide = np.empty((200, 300), np.float32)
    nphalf.cast_into(_numpy_half(x).T, wide)
    np.testing.assert_array_equal(wide, _numpy_half(x).T.astype(np.float32))
    row = np.empty((5, 200), np.float16)  # a broadcast source takes numpy's copy
    nphalf.cast_into(x[0], row)
    np.testing.assert_array_equal(_bits16(row), _bits16(np.broadcast_to(_numpy_half(x[0]), (5, 200))))
    assert nphalf.astype(np.float32(2.5), np.float16).dtype == np.float16  # 0-d


def test_graphc_half_casts_and_arithmetic_match_numpy():
    """The eager cast rows and float16 add/sub/mul/div (computed in float32 between the
    fast casts) give numpy's float16 bits, NaNs, infinities, subnormals and broadcasts included."""
    rng = np.random.default_rng(11)
    a = rng.integers(0, 1 << 16, (96, 128)).astype(np.uint16).view(np.float16)
    b = rng.integers(0, 1 << 16, (96, 128)).astype(np.uint16).view(np.float16)
    ga, gb = graphc.from_numpy(a.copy()), graphc.from_numpy(b.copy())
    with np.errstate(all="ignore"):
        for op in ("__add__", "__sub__", "__mul__", "__truediv__"):
            for other, g_other in ((b, gb), (b[:1], gb[:1])):
                want = getattr(a, op)(other)
                got = getattr(ga, op)(g_other).numpy()
                np.testing.assert_array_equal(got, want, err_msg=op)  # (NaN equal to NaN)
        x = (rng.standard_normal((96, 128)) * 4e4).astype(np.float32)
    gx = graphc.from_numpy(x)
    np.testing.assert_array_equal(_bits16(gx.half().numpy()), _bits16(_numpy_half(x)))
    np.testing.assert_array_equal(ga.float().numpy().view(np.uint32), a.astype(np.float32).view(np.uint32))


def test_compiled_casts_match_numpy():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((64, 128)) * 7e4).astype(np.float32)

    @graphc.compile
    def f(t):
        return (t.half() * 0.5).float() + 1.0, t.half()

    wide, half = f(graphc.from_numpy(x))
    want = (_numpy_half(x) * np.float16(0.5)).astype(np.float32) + np.float32(1.0)
    np.testing.assert_array_equal(wide.numpy(), want)
    np.testing.assert_array_equal(_bits16(half.numpy()), _bits16(_numpy_half(x)))


def test_half_sums_accumulate_in_single():
    """float16 sums and products (widened by the vector casts, reduced by the float32 kernel)
    accumulate in float32, PyTorch's opmath, and round once: within one half-precision ulp of
    the float64 result."""
    rng = np.random.default_rng(2)
    a = (rng.random((128, 512)) + 0.5).astype(np.float16)
    g = graphc.from_numpy(a)
    wide = a.astype(np.float64)
    for got, want in ((g.sum(), wide.sum()), (g.sum(1), wide.sum(1)), (g.sum(0), wide.sum(0)),
                      (g[:, :16].prod(1), wide[:, :16].prod(1))):
        assert got.dtype == graphc.float16
        got = got.numpy().astype(np.float64)
        ulp = np.spacing(np.abs(want).astype(np.float16)).astype(np.float64)
        assert np.all(np.abs(got - want) <= ulp), np.max(np.abs(got - want) / ulp)
