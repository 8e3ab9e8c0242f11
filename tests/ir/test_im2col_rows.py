"""The convolution-window rows against independent references: ``im2col`` against explicit
loops over windows and taps, ``col2im`` as its adjoint (<im2col(x), g> == <x, col2im(g)>) and
against loops, on each of the numpy paths: tiny images (one matmul with a selection matrix),
small ones (copies with the batch innermost) and images wide enough for strided adds; with
the ``padding`` attribute, against the same loops over an explicitly zero-padded image."""

import numpy as np
import pytest

from ir import dtypes as dt
from ir.ops import OPS
from ir.ops.evaluate import run_op
from ir.ops.im2col import window_count

CASES = [  # image (N, C, H, W), kernel, stride, dilation
    ((2, 3, 6, 7), (3, 2), (1, 1), (1, 1)),  # 42 pixels: the selection-matmul path
    ((3, 4, 6, 6), (3, 3), (2, 1), (1, 2)),
    ((1, 2, 9, 8), (2, 3), (2, 3), (2, 1)),
    ((2, 2, 5, 40), (3, 3), (1, 2), (1, 1)),  # 19 windows per row: the strided-add path
]


def _windows_by_loops(x, kernel, stride, dilation):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = window_count(h, kh, sh, dh), window_count(w, kw, sw, dw)
    out = np.zeros((n, c, kh * kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            for p in range(oh):
                for q in range(ow):
                    out[:, :, i * kw + j, p, q] = x[:, :, p * sh + i * dh, q * sw + j * dw]
    return out


@pytest.mark.parametrize("shape, kernel, stride, dilation", CASES)
def test_im2col_matches_loops_and_col2im_is_its_adjoint(shape, kernel, stride, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    geometry = {"kernel": kernel, "stride": stride, "dilation": dilation}
    want = _windows_by_loops(x, kernel, stride, dilation)
    got = run_op(OPS["im2col"], [x], geometry, want.shape, dt.float64)
    np.testing.assert_array_equal(got, want)
    g = rng.standard_normal(want.shape)
    back = run_op(OPS["col2im"], [g], dict(geometry, size=shape[2:]), shape, dt.float64)
    np.testing.assert_allclose((want * g).sum(), (x * back).sum(), rtol=1e-12)


def _col2im_by_loops(g, size, kernel, stride, dilation):
    n, c = g.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = g.shape[3:]
    out = np.zeros((n, c) + tuple(size))
    for i in range(kh):
        for j in range(kw):
            for p in range(oh):
                for q in range(ow):
                    out[:, :, p * sh + i * dh, q * sw + j * dw] += g[:, :, i * kw + j, p, q]
    return out


@pytest.mark.parametrize("shape, kernel, stride, dilation", CASES)
@pytest.mark.parametrize("dtype", [dt.float32, dt.float64])
@pytest.mark.parametrize("special", [None, np.nan, np.inf, -np.inf, -0.0])
def test_both_rows_match_loops_with_special_values(shape, kernel, stride, dilation, dtype, special):
    """Every path gives each window value exactly (NaN and inf only where they were read, which
    the selection matmul alone would get wrong: 0 * inf spreads NaN over the image)."""
    rng = np.random.default_rng(1)
    npd = dtype.numpy_dtype
    x = rng.standard_normal(shape).astype(npd)
    if special is not None:
        x[0, 0, 1, 2] = special
    geometry = {"kernel": kernel, "stride": stride, "dilation": dilation}
    want = _windows_by_loops(x.astype(np.float64), kernel, stride, dilation)
    got = run_op(OPS["im2col"], [x], geometry, want.shape, dtype)
    assert got.dtype == npd
    np.testing.assert_array_equal(got, want.astype(npd))
    g = rng.standard_normal(want.shape).astype(npd)
    if special is not None:
        g[-1, -1, 0, -1, -1] = special
    back = run_op(OPS["col2im"], [g], dict(geometry, size=shape[2:]), shape, dtype)
    ref = _col2im_by_loops(g.astype(np.float64), shape[2:], kernel, stride, dilation)
    assert back.dtype == npd
    np.testing.assert_allclose(back, ref, rtol=1e-5 if npd == np.float32 else 1e-12, atol=1e-5, equal_nan=True)
    assert np.array_equal(np.isnan(back), np.isnan(ref)) and np.array_equal(np.isinf(back), np.isinf(ref))


PADDED = [  # image, kernel, stride, dilation, padding ((top, bottom), (left, right))
    ((2, 3, 4, 4), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),  # a CNN's late layer: the selection matmul
    ((2, 2, 8, 8), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),  # 64 pixels: still the selection matmul
    ((1, 2, 9, 10), (2, 3), (2, 1), (1, 2), ((2, 0), (1, 3))),  # uneven padding, copies
    ((2, 2, 5, 40), (3, 3), (1, 2), (1, 1), ((0, 2), (3, 0))),  # strided adds
]


@pytest.mark.parametrize("shape, kernel, stride, dilation, padding", PADDED)
@pytest.mark.parametrize("dtype", [dt.float32, dt.float64])
@pytest.mark.parametrize("special", [None, np.nan, np.inf])
def test_padding_reads_zeros_around_the_image(shape, kernel, stride, dilation, padding, dtype, special):
    """im2col with ``padding`` is im2col of the zero-padded image; col2im with it is col2im into
    the padded image, cropped to the image: values against loops, a non-finite value only
    where it is read (a window entry reading the padding is dropped by col2im)."""
    rng = np.random.default_rng(2)
    npd = dtype.numpy_dtype
    x = rng.standard_normal(shape).astype(npd)
    if special is not None:
        x[-1, -1, 0, 1] = special
    (top, bottom), (left, right) = padding
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    geometry = {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding}
    want = _windows_by_loops(xp, kernel, stride, dilation)
    got = run_op(OPS["im2col"], [x], geometry, want.shape, dtype)
    assert got.dtype == npd and got.shape == want.shape
    np.testing.assert_array_equal(got, want.astype(npd))
    g = rng.standard_normal(want.shape).astype(npd)
    if special is not None:
        g[0, 0, 0, 0, 0] = special  # the first window's first tap: in the padding when top and left pad
    back = run_op(OPS["col2im"], [g], dict(geometry, size=shape[2:]), shape, dtype)
    full = _col2im_by_loops(g.astype(np.float64), xp.shape[2:], kernel, stride, dilation)
    ref = full[:, :, top : top + shape[2], left : left + shape[3]]
    assert back.dtype == npd and back.shape == shape
    np.testing.assert_allclose(back, ref, rtol=1e-5 if npd == np.float32 else 1e-12, atol=1e-5, equal_nan=True)
    assert np.array_equal(np.isnan(back), np.isnan(ref)) and np.array_equal(np.isinf(back), np.isinf(ref))
    if special is None:
        np.testing.assert_allclose((want * g).sum(), (x * back).sum(), rtol=1e-4 if npd == np.float32 else 1e-12)
