"""float16 rows computed in float32 between vector casts (backends/numpy/eager.py
``_half_via_single``) give numpy's float16 loops' bits: ``run_op``, which runs numpy's own
loops on the float16 arrays, is the reference. Inputs are random bit patterns, so NaNs,
infinities, subnormals and both zeros all occur; a NaN's payload is the one thing not compared."""

from __future__ import annotations

import numpy as np
import pytest

from backends.numpy.eager import _HALF_VIA_SINGLE, _half_via_single, eager_kernel
from ir import dtypes as dt
from ir.ops import core as ops_table
from ir.ops.evaluate import run_op

SHAPE = (64, 1024)
PREDICATES = {"eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite"}


def _halves(rng, shape=SHAPE):
    return rng.integers(0, 1 << 16, shape).astype(np.uint16).view(np.float16)


def _operands(name, rng):
    op = ops_table.OPS[name]
    if name == "where":
        return [rng.random(SHAPE) < 0.5, _halves(rng), _halves(rng, (1, SHAPE[1]))], (dt.bool_, dt.float16, dt.float16)
    if name in ("clamp", "hardtanh"):
        return [_halves(rng), np.array(-1.5, np.float16), np.array(2.25, np.float16)], (dt.float16,) * 3
    if name == "leaky_relu":
        return [_halves(rng), np.array(0.01, np.float16)], (dt.float16,) * 2
    arrays = [_halves(rng)] + [_halves(rng, (1, SHAPE[1]) if i == 1 else SHAPE) for i in range(1, op.arity)]
    return arrays, (dt.float16,) * op.arity


@pytest.mark.parametrize("name", sorted(_HALF_VIA_SINGLE))
def test_half_row_matches_numpys_half_loop(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    arrays, dtypes = _operands(name, rng)
    out_dtype = dt.bool_ if name in PREDICATES else dt.float16
    op = ops_table.OPS[name]
    assert _half_via_single(op, dtypes, SHAPE, out_dtype) is not None  # the float32 route is taken
    kernel = eager_kernel(op, {}, tuple(a.shape for a in arrays), dtypes, SHAPE, out_dtype)
    with np.errstate(all="ignore"):
        want = run_op(op, arrays, {}, SHAPE, out_dtype)
    got = kernel(arrays, {})
    assert got.dtype == want.dtype and got.shape == want.shape
    if out_dtype is dt.bool_:
        np.testing.assert_array_equal(got, want)
    else:
        same = (got.view(np.uint16) == want.view(np.uint16)) | (np.isnan(got) & np.isnan(want))
        assert same.all(), f"{name}: {np.count_nonzero(~same)} elements differ"
