"""The numpy codegen's reduction lowerings, each checked against float64 numpy:

* sums over the last axis as ``np.vecdot`` (of a product that is not kept, or with ones), past
  ``VECDOT_MAX`` elements as ``R.sum_rows`` (BLAS in blocks); whole-array sums over trailing
  axes as ``R.sum_blas``,
* short reduced axes unrolled into elementwise combines (sum, prod, amax, amin; keepdim or not;
  a 0-d result),
* ufunc ``reduce`` forms, and outputs of unblocked kernels written with ``out=``.

Each test also asserts that the generated source uses the lowering it is about, so that a test
cannot pass by silently taking another path."""

import numpy as np
import pytest

from backends.numpy.codegen import compile_schedule
from ir import Graph, dtypes
from ir.passes.fusion import fuse
from ir.passes.simplify import simplify

RNG = np.random.default_rng(0)


def _program(graph):
    return compile_schedule(fuse(simplify(graph)), "t")


def _rows(shape, dtype=dtypes.float32):
    g = Graph("t")
    return g, g.add_input(shape, dtype, "x")


@pytest.mark.parametrize("keepdim", [True, False])
def test_sum_of_a_product_is_one_vecdot(keepdim):
    g = Graph("t")
    x = g.add_input((40, 96), dtypes.float32, "x")
    w = g.add_input((96,), dtypes.float32, "w")
    mu = g.add("sum", [x], axes=(1,), keepdim=True)
    d = g.add("sub", [x, mu])  # a row kernel: the product below is internal to it
    s = g.add("sum", [g.add("mul", [d, w])], axes=(1,), keepdim=keepdim)
    g.outputs = [s]
    p = _program(g)
    assert "np.vecdot(" in p.source and "np.multiply" not in p.source
    xv = RNG.standard_normal((40, 96), dtype=np.float32)
    wv = RNG.standard_normal(96, dtype=np.float32)
    x64 = xv.astype(np.float64)
    ref = ((x64 - x64.sum(1, keepdims=True)) * wv).sum(1, keepdims=keepdim)
    (got,) = p([xv, wv])
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-4)


def test_a_product_read_elsewhere_is_kept():
    g, x = _rows((32, 64))
    m = g.add("mul", [x, x])
    s = g.add("sum", [m], axes=(1,), keepdim=True)
    g.outputs = [g.add("sub", [m, s])]  # the product is read after the sum: it must exist
    p = _program(g)
    xv = RNG.standard_normal((32, 64), dtype=np.float32)
    x64 = xv.astype(np.float64)
    ref = x64 * x64 - (x64 * x64).sum(1, keepdims=True)
    np.testing.assert_allclose(p([xv])[0], ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("op,ref", [("sum", np.sum), ("prod", np.prod), ("amax", np.max), ("amin", np.min)])
@pytest.mark.parametrize("axes,keepdim", [((1,), True), ((1,), False), ((0,), False), ((1, 3), True), ((2,), False)])
def test_short_axes_are_unrolled(op, ref, axes, keepdim):
    shape = (3, 4, 5, 2)
    g, x = _rows(shape)
    g.outputs = [g.add(op, [x], axes=axes, keepdim=keepdim)]
    p = _program(g)
    count = int(np.prod([shape[a] for a in axes]))
    if count <= 8:
        assert ".reduce(" not in p.source, p.source
    xv = RNG.uniform(0.5, 1.5, shape).astype(np.float32)
    xv[0, 1, 2, 1] = np.nan if op in ("amax", "amin") else xv[0, 1, 2, 1]  # NaN propagates like numpy's
    expect = ref(xv.astype(np.float64), axis=axes, keepdims=keepdim)
    got = p([xv])[0]
    assert got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-6)


def test_unrolled_full_reduction_to_a_scalar():
    g, x = _rows((4,))
    s = g.add("sum", [x], axes=(0,), keepdim=False)
    g.outputs = [g.add("mul", [s, s])]
    p = _program(g)
    xv = np.array([1.5, -2.0, 0.25, 4.0], dtype=np.float32)
    got = p([xv])[0]
    assert got.shape == () and float(got) == pytest.approx(float(xv.astype(np.float64).sum()) ** 2)


@pytest.mark.parametrize("rows,length,helper", [(16, 4096, "np.vecdot("), (2, (1 << 16) + 1, "R.sum_rows(")])
def test_long_rows_sum_through_blas_with_pairwise_accuracy(rows, length, helper):
    g, x = _rows((rows, length))
    g.outputs = [g.add("sum", [x], axes=(1,), keepdim=True)]
    p = _program(g)
    assert helper in p.source
    xv = (RNG.standard_normal((rows, length)) + 100).astype(np.float32)  # a large mean: rounding shows
    ref = xv.astype(np.float64).sum(1, keepdims=True)
    err = np.abs(p([xv])[0] - ref).max() / np.abs(ref).max()
    assert err < 4 * np.finfo(np.float32).eps


def test_a_product_over_very_long_rows_is_made_and_summed_in_blocks():
    # np.vecdot's error grows with the row; past VECDOT_MAX the product is summed in blocks
    n = (1 << 16) + 5
    g = Graph("t")
    x = g.add_input((2, n), dtypes.float32, "x")
    w = g.add_input((2, n), dtypes.float32, "w")
    g.outputs = [g.add("sum", [g.add("mul", [x, w])], axes=(1,), keepdim=False)]
    p = _program(g)
    assert "np.vecdot(" not in p.source and "R.sum_rows(" in p.source
    xv = (RNG.random((2, n)) + 1).astype(np.float32)
    wv = (RNG.random((2, n)) + 1).astype(np.float32)
    ref = (xv.astype(np.float64) * wv).sum(1)
    assert np.abs(p([xv, wv])[0] - ref).max() / ref.max() < 4 * np.finfo(np.float32).eps


@pytest.mark.parametrize(
    "shape,axes,keepdim,helper",
    [
        ((600, 40), (1,), False, "np.vecdot("),  # blocks of rows, a dot product each
        ((3, 2, 70), (1, 2), True, "R.sum_trailing("),
        ((30, 50), (0, 1), False, "R.sum_blas("),  # the whole array
        ((2, 3, 700), (0, 1, 2), True, "R.sum_blas("),
        ((5, 6, 700), (1, 2), False, "R.sum_trailing("),  # blocks of rows, each one long row
    ],
)
def test_sums_over_trailing_axes_go_through_blas(shape, axes, keepdim, helper):
    g, x = _rows(shape)
    g.outputs = [g.add("sum", [x], axes=axes, keepdim=keepdim)]
    p = _program(g)
    assert helper in p.source
    xv = (RNG.standard_normal(shape) + 3).astype(np.float32)
    got = p([xv])[0]
    ref = xv.astype(np.float64).sum(axes, keepdims=keepdim)
    assert np.shape(got) == ref.shape and np.asarray(got).dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(np.float32).eps * np.log2(xv.size), atol=0)


def test_where_output_of_an_unblocked_kernel_is_exact():
    # where feeding a reduction over leading axes (a ReLU's gradient and its bias gradient)
    g = Graph("t")
    c = g.add_input((6, 3, 4, 4), dtypes.bool_, "c")
    v = g.add_input((6, 3, 4, 4), dtypes.float32, "v")
    w = g.add("where", [c, v, g.add_constant(0.0, dtypes.float32)])
    g.outputs = [w, g.add("sum", [w], axes=(0, 2, 3), keepdim=True)]
    p = _program(g)
    assert "R.where_into(" in p.source
    cv = RNG.random((6, 3, 4, 4)) > 0.5
    vv = RNG.standard_normal((6, 3, 4, 4)).astype(np.float32)
    vv[0, 0, 0, 0], cv[0, 0, 0, 0] = -0.0, True
    got_w, got_s = p([cv, vv])
    expect = np.where(cv, vv, np.float32(0))
    np.testing.assert_array_equal(got_w.view(np.uint32), expect.view(np.uint32))  # bit for bit, -0.0 too
    np.testing.assert_allclose(got_s, expect.astype(np.float64).sum((0, 2, 3), keepdims=True), rtol=1e-5, atol=1e-5)
