"""Helpers that generated numpy programs call (``backends.numpy.runtime``), against plain numpy:
``relu_into`` bit for bit (PyTorch's -0.0 and NaN kept) over shapes, dtypes and strides, and
``run_blocks``' split of rows over blocks and threads."""

import threading

import numpy as np
import pytest

from backends.numpy import runtime as R
from ir.ops import npmath


@pytest.mark.parametrize("shape", [(), (5,), (3, 63), (4, 64), (2, 3, 512), (3, 8192), (131072,), (70000,), (2, 70000)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("strided", [False, True])
def test_relu_into_is_max_with_zero(shape, dtype, strided):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    if np.issubdtype(dtype, np.floating) and x.size >= 10:
        flat = x.reshape(-1)
        flat[:5] = flat[-5:] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    if strided and x.ndim:
        x = x[..., ::-1]
    out = np.empty_like(x)
    R.relu_into(x, out)
    # PyTorch's relu keeps x where it is not below zero: -0.0 stays -0.0, NaN stays NaN
    want = np.where(x < 0, 0, x).astype(dtype)
    bits = np.dtype(f"u{x.itemsize}")
    np.testing.assert_array_equal(out.view(bits), want.view(bits))
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(npmath.relu(x).view(bits), want.view(bits))  # the eager kernel: a fresh result


@pytest.mark.parametrize("rows, row_elems, threads", [(0, 8, 2), (1, 8, 2), (7, 3, 1), (300, 1000, 2), (5, 1 << 18, 2)])
def test_run_blocks_covers_every_row_once(monkeypatch, rows, row_elems, threads):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    seen = np.zeros(rows, dtype=np.int64)
    callers = set()
    lock = threading.Lock()

    def body(lo, hi, s):
        assert s[0].shape[1:] == (2,) and s[0].shape[0] >= hi - lo
        with lock:
            seen[lo:hi] += 1
            callers.add(threading.get_ident())

    R.run_blocks(rows, row_elems, body, [(np.float32, (2,))])
    np.testing.assert_array_equal(seen, np.ones(rows, dtype=np.int64))
    if rows * row_elems >= R.PARALLEL_MIN_ELEMS and rows >= 2 and threads > 1:
        assert len(callers) == 2  # a large kernel uses both threads, even when it fits one block


@pytest.mark.parametrize("rows, row_elems", [(0, 8), (1, 8), (7, 3), (300, 1000), (5, 1 << 18), (1 << 19, 1), (2, 1 << 19)])
def test_one_block_is_what_run_blocks_does(monkeypatch, rows, row_elems):
    """Generated code runs a kernel inline exactly when run_blocks would call its body once,
    for all rows, on the calling thread (else it hands the block function over)."""
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "2")
    calls = []
    R.run_blocks(rows, row_elems, lambda lo, hi, s: calls.append((lo, hi, threading.get_ident())), [])
    single = calls == [(0, rows, threading.get_ident())]
    assert R.one_block(rows, row_elems) == single


def _small_kernels():
    """A compiled function of small kernels (pointwise with scratch, a row reduction, a
    leading-axis reduction) and its float64 reference."""
    import graphc

    def f(x, w):
        h = (x * w + 1.0).tanh()
        return h.softmax(-1) * h.sum(0), (h * h).sum(-1)

    def ref(x, w):
        h = np.tanh(x * w + 1.0)
        e = np.exp(h - h.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True) * h.sum(0), (h * h).sum(-1)

    return graphc.compile(f), ref


def test_kernels_inline_and_blocked_agree(monkeypatch):
    """The same cached program, its kernels run inline (one block) and in blocks of two rows
    over two threads: the same values as each other, bit for bit, and as float64 numpy."""
    import graphc

    rng = np.random.default_rng(3)
    x_np, w_np = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    x, w = graphc.tensor(x_np), graphc.tensor(w_np)
    f, ref = _small_kernels()
    source = f.explain(x, w).program_source
    assert "if R.one_block(" in source and "R.run_blocks(" in source
    inline = [t.numpy().copy() for t in f(x, w)]
    monkeypatch.setattr(R, "BLOCK_ELEMS", 10)  # two rows of 5 a block
    monkeypatch.setattr(R, "PARALLEL_MIN_ELEMS", 0)
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "2")
    assert not R.one_block(6, 5)
    blocked = [t.numpy() for t in f(x, w)]
    assert f.cache_info().traces == 1
    for a, b, want in zip(inline, blocked, ref(x_np.astype(np.float64), w_np.astype(np.float64))):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)


_WHERE_CASES = [(d, b) for d in (np.float32, np.float64) for b in (0.0, -0.0, 2.5, np.nan, "array")] + [
    (d, b) for d in (np.int64, np.bool_) for b in (0.0, "array")
]


@pytest.mark.parametrize("dtype, b", _WHERE_CASES)
def test_where_into_is_np_where_bit_for_bit(b, dtype):
    rng = np.random.default_rng(1)
    cond = rng.random((6, 9)) > 0.4
    a = (rng.standard_normal((6, 9)) * 5).astype(dtype)
    if dtype in (np.float32, np.float64):
        a.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    if isinstance(b, str):
        bb = (rng.standard_normal(9) * 5).astype(dtype)  # broadcast along the rows
    else:
        bb = np.asarray(b).astype(dtype)
    out = np.empty((6, 9), dtype=dtype)
    R.where_into(cond, a, bb, out)
    want = np.where(cond, a, bb).astype(dtype)
    assert out.tobytes() == want.tobytes()  # the bits: NaN payloads and the sign of zero too


def test_only_an_array_nothing_else_sees_is_writable_in_place():
    owner = np.zeros((4, 3), dtype=np.float32)
    other = np.ones(5, dtype=np.float32)
    view_of_owner = owner[1:]
    assert R.writable_in_place(owner, R.view_bases([owner, other]))
    assert not R.writable_in_place(owner, R.view_bases([owner, view_of_owner]))  # another input views it
    assert not R.writable_in_place(owner, R.view_bases([owner, other, owner]))  # passed twice
    assert not R.writable_in_place(view_of_owner, R.view_bases([view_of_owner]))  # not its own memory
    assert not R.writable_in_place(np.zeros((3, 4), np.float32).T.copy(order="F"), set())  # not C-contiguous
    frozen = np.zeros(3, np.float32)
    frozen.flags.writeable = False
    assert not R.writable_in_place(frozen, set())
    assert not R.writable_in_place(np.float32(1.0), set())  # a scalar, not an array


@pytest.mark.parametrize(
    "src, shape",
    [((1, 4, 3, 2, 2), (5, 4, 3, 2, 2)), ((7, 1), (7, 10)), ((1,), (9,)), ((), (3, 4)), ((3, 1, 2), (5, 3, 4, 2)),
     ((2, 3), (4, 2, 3)), ((0, 3), (0, 3))],
)
@pytest.mark.parametrize("contiguous", [True, False])
def test_expand_is_numpys_broadcast_view(src, shape, contiguous):
    """``R.expand`` (generated code's expand) against ``np.broadcast_to``: the same values,
    strides and shape, read-only, a view of the source."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(src).astype(np.float32)
    if not contiguous:
        if len(src) < 2:
            pytest.skip("a 0-d or 1-d array is contiguous")
        x = np.asfortranarray(x)
    got, want = R.expand(x, shape), np.broadcast_to(x, shape)
    assert got.shape == want.shape and got.strides == want.strides
    np.testing.assert_array_equal(got, want)
    assert not got.flags.writeable and (x.size == 0 or np.shares_memory(got, x))


@pytest.mark.parametrize("src, shape", [((3, 2), (3, 3)), ((3, 2), (2,)), ((2, 1), (3, 5))])
def test_expand_refuses_what_numpy_refuses(src, shape):
    x = np.ones(src, np.float32)
    with pytest.raises(ValueError):
        np.broadcast_to(x, shape)
    with pytest.raises(ValueError):
        R.expand(x, shape)


def _sum_error(got, x64, axis):
    """The largest error of sums ``got`` of ``x64`` over ``axis`` (-1 or 0), relative to the sum
    of magnitudes, against math.fsum's exactly rounded sums."""
    import math

    lines = np.moveaxis(x64, axis, -1).reshape(-1, x64.shape[axis])
    ref = np.array([math.fsum(v) for v in lines]).reshape(np.shape(got))
    return np.abs(got - ref).max() / np.abs(x64).sum(axis).max()


# one gemv; equal blocks (4096 = 8 x 512, 1500 = 3 x 500, 513 = 3 x 171); a prime length (one
# dot per row); a prime past VECDOT_MAX (blocks and a tail per row); a strided input
@pytest.mark.parametrize(
    "shape", [(16,), (3, 512), (4, 513), (2, 3, 1500), (7, 4096), (1, 1 << 18), (3, 1009), (2, 65537), "strided"]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_rows_is_as_accurate_as_the_pairwise_sum(shape, dtype):
    rng = np.random.default_rng(1)
    if shape == "strided":
        x = (rng.standard_normal((4, 6000)) + 4).astype(dtype)[:, ::2]
        shape = x.shape
    else:
        x = (rng.standard_normal(shape) + 4).astype(dtype)  # a mean: the rounding of long sums shows
    x64 = x.astype(np.float64)
    got = R.sum_rows(x)
    assert got.shape == shape[:-1] and got.dtype == dtype
    eps = np.finfo(dtype).eps
    assert _sum_error(got, x64, -1) <= 2 * _sum_error(np.add.reduce(x, -1), x64, -1) + 8 * eps
    out = np.empty(shape[:-1], dtype)
    R.sum_rows(x, out=out)
    np.testing.assert_array_equal(out, got)


@pytest.mark.parametrize("n", [40, 1200])
def test_sum_rows_keeps_ieee_values(n):
    x = np.ones((n, n), np.float32)
    x[0, 0] = x[0, 1] = x[1, 0] = np.inf  # row/column 0: inf
    x[2, 3], x[3, 2] = np.nan, np.nan  # row 2 and column 2 (row 3, column 3): NaN
    x[4, 5], x[5, 4] = np.inf, np.inf
    x[4, 6], x[6, 4] = -np.inf, -np.inf  # inf - inf: NaN
    x[7, :] = -0.0  # a sum of -0.0 is +0.0, as numpy's and PyTorch's are
    with np.errstate(invalid="ignore"):
        got, want = R.sum_rows(x), np.add.reduce(x, -1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[:8], want[:8])  # the special rows/columns exactly
    assert np.signbit(got[7]) == np.signbit(want[7])


def test_sum_rows_does_not_depend_on_the_blas_thread_count():
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np; from backends.numpy import runtime as R;"
        "rng = np.random.default_rng(3);"
        "xs = [rng.standard_normal(s).astype(np.float32) for s in ((600, 3000), (1001, 37), (257, 511), (3, 70000))];"
        "print(*[R.sum_rows(x).tobytes().hex() for x in xs])"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    runs = []
    for threads in ("1", "2", "3"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, PYTHONPATH=root)
        runs.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert runs[0] == runs[1] == runs[2]
