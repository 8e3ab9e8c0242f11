"""The convolution-window rows against independent references: ``im2col`` against explicit
loops over windows and taps, ``col2im`` as its adjoint (<im2col(x), g> == <x, col2im(g)>) and
against loops, on each of the numpy paths: tiny images (one matmul with a selection matrix),
small ones (copies with the batch innermost) and images wide enough for strided adds."""

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
