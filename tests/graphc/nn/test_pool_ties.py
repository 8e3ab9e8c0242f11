"""Max pooling's gradient and indices at ties, NaN and -inf, against PyTorch's rule written as a loop.

PyTorch's pooling kernels keep a running maximum over each window's in-bounds elements in
row-major order and replace it when ``val > max or isnan(val)``: a tie goes to the first
maximum, a NaN window to its last NaN, a window of -infs to its first in-bounds element (never
the padding), and the whole gradient of the window goes to that one element. The reference
below is that loop in float64 numpy; inputs are small integers (ties everywhere), with NaN and
-inf sprinkled in. graphc's eager and compiled results must give the same values, the same
indices and the same gradients (an upstream gradient of random values, so a misrouted share
shows). A window of -infs that begins in the padding, where the padding ties with the real
elements, is checked on its own. ``amax`` itself keeps PyTorch's other rule -- ties share the gradient evenly --
checked in ``tests/graphc/test_autograd_inplace.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F

from .test_pooling_nd import np_intervals, out_len

RNG = np.random.default_rng(2026)


def pick(x, cells):
    """The loop: ``cells[out_pos]`` lists a window's in-bounds input positions in row-major
    window order; returns values, flat spatial indices and the picked positions."""
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    out_shape = tuple(np.array(list(cells)).max(axis=0) + 1)
    val = np.zeros((n, c, *out_shape))
    idx = np.zeros((n, c, *out_shape), dtype=np.int64)
    for b, ch in itertools.product(range(n), range(c)):
        for o, window in cells.items():
            best, arg = -np.inf, window[0]
            for q in window:
                v = x[(b, ch) + q]
                if v > best or np.isnan(v):
                    best, arg = v, q
            val[(b, ch) + o] = best
            idx[(b, ch) + o] = np.ravel_multi_index(arg, spatial)
    return val, idx


def fixed_cells(spatial, k, s, p, d, ceil):
    outs = [out_len(spatial[i], k[i], s[i], p[i], d[i], ceil) for i in range(len(spatial))]
    cells = {}
    for o in np.ndindex(*outs):
        window = []
        for kk in np.ndindex(*k):
            q = tuple(o[i] * s[i] - p[i] + kk[i] * d[i] for i in range(len(spatial)))
            if all(0 <= q[i] < spatial[i] for i in range(len(spatial))):
                window.append(q)
        cells[o] = window
    return cells


def adaptive_cells(spatial, out):
    per_dim = []
    for size, o in zip(spatial, out):
        per_dim.append([range((i * size) // o, -((-(i + 1) * size) // o)) for i in range(o)])
    cells = {}
    for o in np.ndindex(*out):
        cells[o] = list(itertools.product(*(per_dim[i][o[i]] for i in range(len(spatial)))))
    return cells


def scatter_grad(x_shape, idx, g):
    """Each window's upstream gradient added at its picked element."""
    n, c = x_shape[:2]
    flat = np.zeros((n, c, int(np.prod(x_shape[2:]))))
    for b, ch in itertools.product(range(n), range(c)):
        np.add.at(flat[b, ch], idx[b, ch].ravel(), g[b, ch].ravel())
    return flat.reshape(x_shape)


def tied_input(shape, specials=True):
    x = RNG.integers(0, 3, shape).astype(np.float64)  # three values: ties in most windows
    if specials:
        flat = x.reshape(-1)
        flat[RNG.random(flat.size) < 0.08] = np.nan
        flat[RNG.random(flat.size) < 0.08] = -np.inf
    return x


def run_graphc(fn, x, g, compiled):
    """Values, indices and the input gradient of ``fn`` (which returns (values, indices))."""

    def step(t, upstream):
        out, index = fn(t)
        (out * upstream).sum().backward()
        return out.detach(), index

    f = graphc.compile(step, warmup=False) if compiled else step
    t = graphc.tensor(x.astype(np.float32), requires_grad=True)
    out, index = f(t, graphc.tensor(g.astype(np.float32)))
    return out.numpy(), index.numpy(), t.grad.numpy()


def assert_like_pytorch(fn, x, cells, compiled):
    ref_val, ref_idx = pick(x, cells)
    g = RNG.standard_normal(ref_val.shape)
    val, idx, grad = run_graphc(fn, x, g, compiled)
    np.testing.assert_array_equal(val, ref_val.astype(np.float32))
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(grad, scatter_grad(x.shape, ref_idx, g), rtol=1e-6, atol=1e-6)


POOL2D = [  # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3), (1, 2), (1, 0), (1, 1), True),
    ((2, 2), (1, 1), (1, 1), (2, 1), False),
    ((3, 2), (3, 2), (1, 1), (1, 1), True),
]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("k,s,p,d,ceil", POOL2D)
def test_max_pool2d_picks_what_pytorch_picks(k, s, p, d, ceil, compiled):
    x = tied_input((2, 3, 7, 6))
    fn = lambda t: F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    assert_like_pytorch(fn, x, fixed_cells((7, 6), k, s, p, d, ceil), compiled)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_max_pool2d_without_indices_routes_the_gradient_the_same_way(compiled):
    """The non-overlapping fast path (a reshape, no windows): ties go to the first maximum."""
    x = tied_input((2, 3, 6, 8))
    ref_val, ref_idx = pick(x, fixed_cells((6, 8), (2, 2), (2, 2), (0, 0), (1, 1), False))
    g = RNG.standard_normal(ref_val.shape)
    val, _, grad = run_graphc(lambda t: (F.max_pool2d(t, 2), graphc.zeros(1)), x, g, compiled)
    np.testing.assert_array_equal(val, ref_val.astype(np.float32))
    np.testing.assert_allclose(grad, scatter_grad(x.shape, ref_idx, g), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_max_pool1d_and_3d_pick_what_pytorch_picks(compiled):
    x1 = tied_input((2, 2, 9))
    fn1 = lambda t: F.max_pool1d(t, 3, 2, 1, return_indices=True)  # noqa: E731
    assert_like_pytorch(fn1, x1, fixed_cells((9,), (3,), (2,), (1,), (1,), False), compiled)
    x3 = tied_input((1, 2, 4, 5, 3))
    fn3 = lambda t: F.max_pool3d(t, 2, (2, 2, 1), (1, 0, 1), return_indices=True)  # noqa: E731
    assert_like_pytorch(fn3, x3, fixed_cells((4, 5, 3), (2, 2, 2), (2, 2, 1), (1, 0, 1), (1, 1, 1), False), compiled)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("out", [(3, 2), (2, 4), (5, 3)], ids=["equal", "unequal", "overlapping"])
def test_adaptive_max_pool2d_picks_what_pytorch_picks(out, compiled):
    x = tied_input((2, 2, 6, 8))
    fn = lambda t: F.adaptive_max_pool2d(t, out, return_indices=True)  # noqa: E731
    assert_like_pytorch(fn, x, adaptive_cells((6, 8), out), compiled)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_adaptive_max_pool_equal_cells_without_indices_routes_the_gradient_the_same_way(compiled):
    """Equal cells without indices reduce over two separate axes at once: the first maximum
    in row-major order over both."""
    x = tied_input((2, 3, 6, 8))
    ref_val, ref_idx = pick(x, adaptive_cells((6, 8), (3, 2)))
    g = RNG.standard_normal(ref_val.shape)
    val, _, grad = run_graphc(lambda t: (F.adaptive_max_pool2d(t, (3, 2)), graphc.zeros(1)), x, g, compiled)
    np.testing.assert_array_equal(val, ref_val.astype(np.float32))
    np.testing.assert_allclose(grad, scatter_grad(x.shape, ref_idx, g), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_fractional_max_pool2d_picks_what_pytorch_picks(compiled):
    x = tied_input((1, 1, 9, 8))
    u = RNG.random((1, 1, 2))
    samples = graphc.tensor(u, dtype=graphc.float32)
    # the windows from PyTorch's starts (sample 1 drives the rows, sample 0 the columns)
    rows = np_intervals(np.float32(u[0, 0, 1]), 9, 4, 3)
    cols = np_intervals(np.float32(u[0, 0, 0]), 8, 3, 2)
    cells = {(i, j): list(itertools.product(range(rows[i], rows[i] + 3), range(cols[j], cols[j] + 2)))
             for i in range(4) for j in range(3)}
    fn = lambda t: F.fractional_max_pool2d(t, (3, 2), (4, 3), return_indices=True, _random_samples=samples)  # noqa: E731
    assert_like_pytorch(fn, x, cells, compiled)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("padding,dilation", [(1, 1), (1, 2), (2, 3)])
def test_a_window_of_minus_infs_picks_its_first_real_element_not_the_padding(padding, dilation, compiled):
    """Every element -inf: each window's padding ties with its real elements; the index and the
    gradient go to the first real one (the border windows begin in the padding)."""
    x = np.full((1, 2, 5, 6), -np.inf)
    fn = lambda t: F.max_pool2d(t, 3, 1, padding, dilation, return_indices=True)  # noqa: E731
    assert_like_pytorch(fn, x, fixed_cells((5, 6), (3, 3), (1, 1), (padding,) * 2, (dilation,) * 2, False), compiled)


def test_the_last_nan_of_a_window_takes_its_gradient():
    x = np.array([[[[np.nan, 1.0], [np.nan, 0.0]]]])
    val, idx, grad = run_graphc(lambda t: F.max_pool2d(t, 2, return_indices=True), x, np.ones((1, 1, 1, 1)), False)
    assert np.isnan(val).all() and idx.item() == 2
    np.testing.assert_array_equal(grad, [[[[0.0, 0.0], [1.0, 0.0]]]])


@pytest.mark.parametrize("dtype", [graphc.float64, graphc.float16, graphc.int32])
def test_ties_first_in_other_dtypes(dtype):
    x = RNG.integers(0, 2, (2, 2, 4, 4))
    t = graphc.tensor(x, dtype=dtype)
    val, idx = F.max_pool2d(t, 2, 1, return_indices=True)
    ref_val, ref_idx = pick(x.astype(np.float64), fixed_cells((4, 4), (2, 2), (1, 1), (0, 0), (1, 1), False))
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_array_equal(val.numpy().astype(np.float64), ref_val)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("kernel", [(8, 8), (8, 9), (11, 11)], ids=["64-taps", "72-taps", "121-taps"])
def test_large_windows_pick_what_pytorch_picks(kernel, compiled):
    """Keys of windows over 64 taps no longer fit int8 (they reach 2 * taps - 1): the boundary."""
    x = tied_input((1, 2, 13, 12))
    fn = lambda t: F.max_pool2d(t, kernel, 2, (3, 4), return_indices=True)  # noqa: E731
    assert_like_pytorch(fn, x, fixed_cells((13, 12), kernel, (2, 2), (3, 4), (1, 1), False), compiled)
