"""The convolution-window rows against independent references: ``im2col`` against explicit
loops over windows and taps, ``col2im`` as its adjoint (<im2col(x), g> == <x, col2im(g)>), on
small images and on images wide enough for col2im's other numpy path."""

import numpy as np
import pytest

from ir import dtypes as dt
from ir.ops import OPS
from ir.ops.evaluate import run_op
from ir.ops.im2col import window_count

CASES = [  # image (N, C, H, W), kernel, stride, dilation
    ((2, 3, 6, 7), (3, 2), (1, 1), (1, 1)),
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
