"""``ir.ops.npmath.where`` (the eager ``where`` and the special functions' selects) against numpy's
``np.where``, bit for bit: a blend of bit patterns replaces numpy's branchy loop on 4096+
elements, so every dtype, operand kind (array, 0-d array, Python number, numpy scalar),
broadcast and special value (NaN payloads, -0.0, infinities) must give numpy's dtype and bits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ir.ops import npmath

_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.complex64,
           np.complex128, np.bool_]


def _array(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    x = (rng.standard_normal(shape) * 100).astype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * x[::-1] if x.ndim else x
    flat = x.reshape(-1)
    if dtype in (np.float16, np.float32, np.float64) and flat.size >= 8:
        flat[:6] = [np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0]
        flat.view(np.dtype(f"u{flat.itemsize}"))[6] |= 1  # a NaN with a payload... or a nearby value
    return x


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype == np.bool_:
        np.testing.assert_array_equal(got, want)
    else:
        u = np.dtype(f"u{want.itemsize}") if want.itemsize <= 8 else np.dtype("u8")
        np.testing.assert_array_equal(np.ascontiguousarray(got).view(u), np.ascontiguousarray(want).view(u))


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("n", [7, 4095, 4096, 70001])
def test_arrays_of_one_dtype(dtype, n):
    rng = np.random.default_rng(n)
    c, a, b = rng.random(n) < 0.5, _array(rng, n, dtype), _array(rng, n, dtype)
    _same_bits(npmath.where(c, a, b), np.where(c, a, b))


@given(
    shape=st.sampled_from([(5000,), (64, 100), (3, 40, 50)]),
    dtype=st.sampled_from(_DTYPES),
    kinds=st.tuples(*[st.sampled_from(["array", "row", "0-d", "float", "int", "npscalar"])] * 2),
    cond_kind=st.sampled_from(["array", "row", "column"]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=300, deadline=None)
def test_operands_and_broadcasts(shape, dtype, kinds, cond_kind, seed):
    rng = np.random.default_rng(seed)
    cond_shape = {"array": shape, "row": shape[-1:], "column": shape[:-1] + (1,)}[cond_kind]
    c = rng.random(cond_shape) < 0.5

    def operand(kind):
        if kind == "array":
            return _array(rng, shape, dtype)
        if kind == "row":
            return _array(rng, shape[-1:], dtype)
        if kind == "0-d":
            return _array(rng, (), dtype)
        if kind == "float":
            return float(rng.choice([0.0, -0.0, 2.5, np.nan, np.inf]))
        if kind == "int":
            return int(rng.integers(-3, 100))
        return np.float32(1.5)

    a, b = operand(kinds[0]), operand(kinds[1])
    try:
        want = np.where(c, a, b)
    except (OverflowError, TypeError) as e:
        with pytest.raises(type(e)):
            npmath.where(c, a, b)
        return
    with np.errstate(all="ignore"):
        _same_bits(np.asarray(npmath.where(c, a, b)), want)


def test_a_strided_condition_and_operands():
    rng = np.random.default_rng(3)
    c = (rng.random((200, 100)) < 0.5)[::2, ::-1]
    a = rng.standard_normal((100, 300)).astype(np.float32)[:, ::3]
    b = rng.standard_normal((100, 100)).astype(np.float32).T
    _same_bits(npmath.where(c, a, b), np.where(c, a, b))


def test_where_into_reuses_the_given_scratch():
    rng = np.random.default_rng(4)
    c, a, b = rng.random(10000) < 0.3, rng.standard_normal(10000), rng.standard_normal(10000)
    given = []

    def scratch(shape, dtype):
        given.append((shape, np.dtype(dtype)))
        return np.empty(shape, dtype)

    out = np.empty(10000)
    npmath.where_into(c, a, b, out, scratch)
    _same_bits(out, np.where(c, a, b))
    assert given == [((10000,), np.dtype(np.int64))]


@pytest.mark.parametrize("fill", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float16])
def test_a_uniform_mask_takes_one_side_whole(fill, dtype):
    """All-false and all-true masks (a NaN test on clean data, a padding mask with no padding)
    copy one side; the bits must still be the select's, broadcasts and scalars included."""
    rng = np.random.default_rng(6)
    c = np.full((64, 1), fill)
    a, b = _array(rng, (64, 100), dtype), _array(rng, (100,), dtype)
    _same_bits(npmath.where(c, a, b), np.where(c, a, b))
    if np.issubdtype(dtype, np.floating):
        _same_bits(npmath.where(np.full((64, 100), fill), -0.0, a), np.where(np.full((64, 100), fill), dtype(-0.0), a))
