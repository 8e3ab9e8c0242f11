"""``ir.ops.evaluate.accumulate``: the scans' numpy kernel, one ufunc call per slab where the
axis is short, must give numpy's ``ufunc.accumulate`` bit for bit (the same additions in the
same order), in its dtype, NaN payloads and signed zeros included."""

from __future__ import annotations

import numpy as np
import pytest

from ir.ops.evaluate import accumulate

RNG = np.random.default_rng(11)

SHAPES = [(4, 32, 16, 4, 4), (32, 16, 4, 4, 4), (8, 9000), (9000, 8), (128, 64), (70, 70), (5,), (1, 5000)]
CASES = [  # dtype, ufunc, accumulation dtype
    (np.float32, np.add, None),
    (np.float16, np.add, np.float32),
    (np.float64, np.multiply, None),
    (np.int8, np.add, None),  # numpy widens: int64 out
    (np.int16, np.multiply, np.int64),
    (np.float32, np.maximum, None),
    (np.float32, np.minimum, None),
    (np.float64, np.logaddexp, None),
    (np.bool_, np.logical_or, None),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype,ufunc,acc", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_accumulate_equals_numpy_bit_for_bit(shape, dtype, ufunc, acc):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    if np.dtype(dtype).kind == "f":
        flat = x.reshape(-1)
        flat[::7] = np.nan
        flat[3::11] = -0.0
        flat[5::13] = np.inf
    for axis in range(len(shape)):
        with np.errstate(all="ignore"):
            want = ufunc.accumulate(x, axis=axis, **({} if acc is None else {"dtype": acc}))
            got = accumulate(ufunc, x, axis, acc)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), (shape, axis)


def test_accumulate_reads_strided_inputs_and_leaves_them_alone():
    base = RNG.standard_normal((16, 6000)).astype(np.float32)
    x = base[::2, ::3]  # (8, 2000), not contiguous
    before = base.copy()
    for axis in (0, 1):
        np.testing.assert_array_equal(accumulate(np.add, x, axis), np.add.accumulate(x, axis=axis))
    np.testing.assert_array_equal(base, before)
