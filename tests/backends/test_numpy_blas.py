"""numpy's BLAS called directly (``backends.numpy.blas``) and the generated code that uses it.

Every BLAS call is checked against a float64 numpy reference; every case BLAS must refuse
(layouts it cannot read, overlaps, a zero or non-finite ``alpha``) must leave its output
untouched and return False, and the runtime helpers must then give numpy's answer. The
compiled programs are checked on both paths: with the library, and with it switched off.
"""

import sys

import numpy as np
import pytest

import graphc
from backends.numpy import blas
from backends.numpy import runtime as R

needs_blas = pytest.mark.skipif(not blas.available("gemm"), reason="no usable BLAS library found next to numpy")


@pytest.fixture
def no_blas(monkeypatch):
    """The runtime as it runs where no BLAS library is found."""
    monkeypatch.setitem(blas._state, "lib", (None, {}))


def test_the_wheels_openblas_is_found():
    """numpy's Linux wheels ship OpenBLAS in numpy.libs; it must be found and pass its self-test."""
    info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if not (sys.platform.startswith("linux") and "openblas" in info.get("name", "")):
        pytest.skip(f"numpy here uses {info.get('name')!r}")
    path, routines = blas.library()
    assert path and "openblas" in path
    assert set(routines) == {(r, c) for r in ("axpy", "gemm", "omatcopy") for c in "fd"}


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("separate_base", [False, True])
def test_axpy_values(dtype, separate_base):
    rng = np.random.default_rng(0)
    n = blas.AXPY_MIN_ELEMS + 7
    x = rng.standard_normal(n).astype(dtype)
    a = rng.standard_normal(n).astype(dtype)
    y = np.empty_like(a) if separate_base else a.copy()
    assert blas.axpy(-0.375, x, y, a if separate_base else None)
    want = a.astype(np.float64) - 0.375 * x.astype(np.float64)
    np.testing.assert_allclose(y, want, rtol=2 * np.finfo(dtype).eps, atol=2 * np.finfo(dtype).eps)


@needs_blas
@pytest.mark.parametrize(
    "case",
    ["alpha zero", "alpha inf", "alpha nan", "too small", "x strided", "y strided", "dtypes differ", "overlap", "read-only"],
)
def test_axpy_refuses_without_writing(case):
    n = blas.AXPY_MIN_ELEMS * 2
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    alpha = 0.5
    if case == "alpha zero":
        alpha = 0.0  # OpenBLAS would skip the call; numpy's y + 0 * inf is NaN
    elif case == "alpha inf":
        alpha = float("inf")
    elif case == "alpha nan":
        alpha = float("nan")
    elif case == "too small":
        x, y = x[:16], y[:16]
    elif case == "x strided":
        x = np.arange(2 * n, dtype=np.float32)[::2]
    elif case == "y strided":
        y = np.ones(2 * n, dtype=np.float32)[::2]
    elif case == "dtypes differ":
        x = x.astype(np.float64)
    elif case == "overlap":
        buf = np.ones(n + 1, dtype=np.float32)
        x, y = buf[1:], buf[:-1]
    elif case == "read-only":
        y.flags.writeable = False
    before = y.copy()
    assert not blas.axpy(alpha, x, y)
    np.testing.assert_array_equal(y, before)


def _layout(rng, shape, transposed, dtype):
    if transposed:
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    return rng.standard_normal(shape).astype(dtype)


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
def test_gemm_every_layout(dtype, ta, tb, beta):
    rng = np.random.default_rng(1)
    a = _layout(rng, (33, 20), ta, dtype)
    b = _layout(rng, (20, 17), tb, dtype)
    c = rng.standard_normal((33, 17)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64) + beta * c.astype(np.float64)
    assert blas.gemm(a, b, c, beta)
    tol = 50 * np.finfo(dtype).eps
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol)


@needs_blas
def test_gemm_reads_row_slices_and_single_rows_where_they_lie():
    rng = np.random.default_rng(2)
    big = rng.standard_normal((40, 30)).astype(np.float32)
    a = big[5:25, 3:13]  # rows of 30 elements, 10 used: lda = 30
    b = rng.standard_normal((10, 1)).astype(np.float32)
    c = np.zeros((20, 1), dtype=np.float32)
    assert blas.gemm(a, b, c, 0.0)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    row = big[7:8, :]
    c1 = np.zeros((1, 4), dtype=np.float32)
    w = rng.standard_normal((30, 4)).astype(np.float32)
    assert blas.gemm(row, w, c1, 0.0)
    np.testing.assert_allclose(c1, row.astype(np.float64) @ w, rtol=1e-5, atol=1e-5)


@needs_blas
@pytest.mark.parametrize("case", ["element strides", "c transposed", "c overlaps a", "k is 0", "dtypes differ", "batched"])
def test_gemm_refuses_without_writing(case):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((8, 6)).astype(np.float32)
    b = rng.standard_normal((6, 5)).astype(np.float32)
    c = np.ones((8, 5), dtype=np.float32)
    if case == "element strides":
        a = rng.standard_normal((8, 12)).astype(np.float32)[:, ::2]
    elif case == "c transposed":
        c = np.ones((5, 8), dtype=np.float32).T
    elif case == "c overlaps a":
        b = rng.standard_normal((6, 6)).astype(np.float32)
        c = np.ones((8, 6), dtype=np.float32)
        a = c  # c = c @ b + c would read what it writes
    elif case == "k is 0":
        a, b = a[:, :0], b[:0]
    elif case == "dtypes differ":
        b = b.astype(np.float64)
    elif case == "batched":
        a = np.stack([a, a])
    before = c.copy()
    assert not blas.gemm(a, b, c, 1.0)
    np.testing.assert_array_equal(c, before)


def _take_path(request, path: str) -> None:
    """Run the test on the ``path`` it names: ``numpy`` hides the BLAS library."""
    if path == "numpy":
        request.getfixturevalue("no_blas")
    elif not blas.available():
        pytest.skip("no BLAS library")


@pytest.mark.parametrize("path", ["blas", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_axpy_into_is_a_plus_sign_x_s(request, path, dtype, in_place, sign):
    _take_path(request, path)
    rng = np.random.default_rng(4)
    shape = (70, 130)  # above AXPY_MIN_ELEMS
    a = rng.standard_normal(shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    s = np.asarray(0.01, dtype=dtype)
    want = a.astype(np.float64) + sign * (x.astype(np.float64) * float(s))
    out = a if in_place else np.empty_like(a)
    R.axpy_into(out, a, x, s, sign)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(out, want, rtol=2 * eps, atol=2 * eps)


@pytest.mark.parametrize("path", ["blas", "numpy"])
@pytest.mark.parametrize("in_place", [True, False])
def test_fma_into_rounds_once_on_either_path(request, monkeypatch, path, in_place):
    """float32 ``x * s + a`` as one fused multiply-add, through BLAS axpy or through double:
    against the exact value rounded once (Fractions)."""
    from fractions import Fraction

    _take_path(request, path)
    took = []
    real_axpy = blas.axpy
    monkeypatch.setattr(blas, "axpy", lambda *args: took.append(real_axpy(*args)) or took[-1])
    rng = np.random.default_rng(5)
    shape = (257, 256)  # above the BLAS threshold of fma_into (R._FMA_BLAS_MIN)
    assert shape[0] * shape[1] >= R._FMA_BLAS_MIN
    a, x = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    s = np.asarray(-0.37, dtype=np.float32)
    want = np.array([float(Fraction(float(xi)) * Fraction(float(s)) + Fraction(float(ai)))
                     for xi, ai in zip(x.ravel(), a.ravel())]).astype(np.float32).reshape(shape)
    out = a if in_place else np.empty_like(a)
    R.fma_into(x, s, a, out)
    np.testing.assert_array_equal(out, want)
    assert took == ([True] if path == "blas" else [False])


def test_axpy_into_with_a_zero_scale_keeps_numpys_nan():
    """lr = 0 and an infinite gradient: numpy's ``p - inf * 0`` is NaN; BLAS would skip the call."""
    shape = (64, 200)
    a = np.ones(shape, dtype=np.float32)
    x = np.ones(shape, dtype=np.float32)
    x[3, 4] = np.inf
    with np.errstate(invalid="ignore"):
        R.axpy_into(a, a, x, np.float32(0.0), -1.0)
    assert np.isnan(a[3, 4]) and np.count_nonzero(np.isnan(a)) == 1
    assert (a[~np.isnan(a)] == 1).all()


@pytest.mark.parametrize("path", ["blas", "numpy"])
@pytest.mark.parametrize("bias_shape", [(17,), (1, 17)])
def test_matmul_bias_into(request, path, bias_shape):
    if path == "numpy":
        request.getfixturevalue("no_blas")
    rng = np.random.default_rng(5)
    a = rng.standard_normal((20, 9)).astype(np.float32)
    w = rng.standard_normal((17, 9)).astype(np.float32)
    bias = rng.standard_normal(bias_shape).astype(np.float32)
    out = np.empty((20, 17), dtype=np.float32)
    R.matmul_bias_into(a, w.T, bias, out)
    want = a.astype(np.float64) @ w.T.astype(np.float64) + bias.astype(np.float64)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def _sgd_linear_step(dtype):
    """x @ W.T + b, ReLU, a second linear layer, cross-entropy, backward, SGD: returns (step, params)."""
    rng = np.random.default_rng(6)
    w1 = graphc.tensor(rng.standard_normal((64, 96)).astype(dtype) * 0.1, requires_grad=True)
    b1 = graphc.tensor(rng.standard_normal(64).astype(dtype), requires_grad=True)
    w2 = graphc.tensor(rng.standard_normal((5, 64)).astype(dtype) * 0.1, requires_grad=True)
    b2 = graphc.tensor(rng.standard_normal(5).astype(dtype), requires_grad=True)
    params = [w1, b1, w2, b2]
    opt = graphc.optim.SGD(params, lr=0.05)

    def step(x, y):
        opt.zero_grad()
        h = graphc.nn.functional.relu(graphc.nn.functional.linear(x, w1, b1))
        loss = graphc.nn.functional.cross_entropy(graphc.nn.functional.linear(h, w2, b2), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, params


def _reference_step(params, x, y, lr):
    """The same step in float64 numpy, by hand."""
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
    z1 = x @ w1.T + b1
    h = np.maximum(z1, 0)
    z2 = h @ w2.T + b2
    z2 = z2 - z2.max(axis=1, keepdims=True)
    p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = -np.log(p[rows, y]).mean()
    d2 = p.copy()
    d2[rows, y] -= 1
    d2 /= len(y)
    gw2, gb2 = d2.T @ h, d2.sum(0)
    d1 = (d2 @ w2) * (z1 > 0)
    gw1, gb1 = d1.T @ x, d1.sum(0)
    return loss, [w1 - lr * gw1, b1 - lr * gb1, w2 - lr * gw2, b2 - lr * gb2]


@pytest.mark.parametrize("path", ["blas", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_sgd_step_uses_blas_forms_and_is_right(request, path, dtype):
    if path == "numpy":
        request.getfixturevalue("no_blas")
    step, params = _sgd_linear_step(dtype)
    compiled = graphc.compile(step)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((128, 96)).astype(dtype)
    y = rng.integers(0, 5, 128)
    report = compiled.explain(graphc.tensor(x), graphc.tensor(y))
    source = report.program_source
    assert "R.fma_into(" in source and "R.matmul_bias_into(" in source  # both forms were recognised
    for _ in range(2):  # two replays: the second starts from the first's updated parameters
        before = [p.detach().numpy().copy() for p in params]
        loss = compiled(graphc.tensor(x), graphc.tensor(y))
        want_loss, want = _reference_step(before, x, y, 0.05)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(float(loss.numpy()), want_loss, rtol=tol)
        for p, w in zip(params, want):
            np.testing.assert_allclose(p.detach().numpy(), w, rtol=tol, atol=tol)
    assert compiled.cache_info().hits >= 2


def _transposed(rng, shape, dtype, lda_pad=0):
    """A view of ``shape`` whose last two axes are a transposed row-major matrix (leading
    dimension padded by ``lda_pad``), filled with normals, -0.0, quiet NaN, infinities and
    subnormals."""
    *batch, rows, cols = shape
    base = rng.standard_normal((*batch, cols, rows + lda_pad)).astype(dtype)
    flat = base.reshape(-1)
    flat[:6] = [-0.0, np.nan, np.inf, -np.inf, np.finfo(dtype).smallest_subnormal, -np.finfo(dtype).smallest_subnormal]
    return base[..., :rows].swapaxes(-1, -2)


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, lda_pad", [((256, 512), 0), ((300, 129), 0), ((200, 170), 13), ((3, 180, 200), 0), ((2, 2, 128, 256), 5)])
def test_transpose_copy_bit_for_bit(dtype, shape, lda_pad):
    src = _transposed(np.random.default_rng(1), shape, dtype, lda_pad)
    dst = np.empty(shape, dtype)
    assert blas.transpose_copy(src, dst)
    bits = np.dtype(f"u{dst.itemsize}")
    np.testing.assert_array_equal(dst.view(bits), np.ascontiguousarray(src).view(bits))


@needs_blas
@pytest.mark.parametrize("case", ["small", "int32", "not transposed", "reversed", "dst strided", "overlap", "dtypes differ"])
def test_transpose_copy_declines_without_writing(case):
    rng = np.random.default_rng(2)
    src = _transposed(rng, (256, 256), np.float32)
    dst = np.zeros((256, 256), np.float32)
    if case == "small":
        src, dst = src[:100, :100], np.zeros((100, 100), np.float32)
    elif case == "int32":
        src, dst = src.view(np.int32), dst.view(np.int32)
    elif case == "not transposed":
        src = np.ascontiguousarray(src)
    elif case == "reversed":
        src = src[:, ::-1]
    elif case == "dst strided":
        dst = np.zeros((256, 512), np.float32)[:, ::2]
    elif case == "overlap":
        dst = src.T
    elif case == "dtypes differ":
        dst = dst.astype(np.float64)
    before = dst.copy()
    assert not blas.transpose_copy(src, dst)
    np.testing.assert_array_equal(dst, before)
    R.copy_into(src, dst) if case != "overlap" else None  # the runtime helper then copies with numpy
    if case != "overlap":
        np.testing.assert_array_equal(dst, src.astype(dst.dtype) if case == "dtypes differ" else src)


@pytest.mark.parametrize("with_blas", [True, False])
def test_contiguous_of_a_transpose_eager_and_compiled(with_blas, monkeypatch):
    if not with_blas:
        monkeypatch.setitem(blas._state, "lib", (None, {}))
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 256, 192)).astype(np.float32)
    x = graphc.from_numpy(a)
    want = np.ascontiguousarray(a.swapaxes(1, 2))
    got = x.transpose(1, 2).contiguous()
    assert got.is_contiguous()
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(x.mT.reshape(3, -1).numpy(), want.reshape(3, -1))
    step = graphc.compile(lambda t: (t.transpose(1, 2).contiguous() * 2).sum(0))
    np.testing.assert_array_equal(step(x).numpy(), (want * 2).sum(0))
