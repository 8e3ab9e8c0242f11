"""The eager fast path (graphc._dispatch's per-signature cache, backends/numpy/eager.py's
kernels, lazy version counters) must be invisible: the same values, dtypes, errors, warnings
and aliasing as the reference evaluation, on the first call of a signature and on later ones."""

import warnings

import numpy as np
import pytest

import graphc
from graphc import _dispatch
from ir.errors import ShapeError


def test_errors_are_raised_on_every_call_not_cached():
    a, b = graphc.ones(3), graphc.ones(4)
    messages = []
    for _ in range(3):
        with pytest.raises(ShapeError) as e:
            a + b
        messages.append(str(e.value))
    assert len(set(messages)) == 1 and "[3] and [4]" in messages[0]


def test_values_and_dtypes_match_numpy_on_repeated_signatures():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.uint8):
        x_np = (rng.standard_normal((3, 4)) * 10).astype(dtype)
        y_np = (rng.standard_normal((4,)) * 10).astype(dtype)
        x, y = graphc.from_numpy(x_np), graphc.from_numpy(y_np)
        for _ in range(3):  # the first call fills the cache, the others hit it
            s = x + y
            m = graphc.maximum(x, y)
            assert s.dtype.numpy_dtype == dtype and s.numpy().dtype == dtype
            np.testing.assert_array_equal(s.numpy(), x_np + y_np)
            np.testing.assert_array_equal(m.numpy(), np.maximum(x_np, y_np))
            if dtype in (np.float32, np.float64):
                np.testing.assert_allclose(x.sum(1).numpy(), x_np.astype(np.float64).sum(1), rtol=1e-6)
                assert x.amax(0).numpy().dtype == dtype


def test_zero_dim_results_are_tensors_with_arrays():
    x = graphc.tensor(2.5)
    for _ in range(2):
        y = x * x
        z = graphc.tensor([1.0, 2.0]).sum()
        assert y.shape == () and isinstance(y._data, np.ndarray) and y.item() == 6.25
        assert z.shape == () and isinstance(z._data, np.ndarray) and z.item() == 3.0


def test_no_numpy_warnings_and_the_users_error_state_is_untouched():
    before = np.geterr()
    x = graphc.tensor([3e38, -1.0, 0.0], dtype=graphc.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            big = x * 10.0  # overflow
            r = graphc.sqrt(x)  # invalid
            d = graphc.tensor([1.0]) / graphc.tensor([0.0])  # divide by zero
            s = graphc.tensor([3e38, 3e38], dtype=graphc.float32).sum()  # overflow in a reduction
    assert np.isinf(big.numpy()[0]) and np.isnan(r.numpy()[1]) and np.isinf(d.numpy()[0]) and np.isinf(s.item())
    assert np.geterr() == before


def test_slices_through_the_cache_alias_their_base():
    m = graphc.zeros(5, 4)
    for i in range(2):
        v = m[1:3, 2]
        v.fill_(i + 1.0)
        assert m[1, 2].item() == i + 1.0 and m[2, 2].item() == i + 1.0 and m[0, 2].item() == 0.0
        assert v._base is m and v._version is m._version


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(_dispatch, "_SIGNATURE_LIMIT", 4)
    monkeypatch.setattr(_dispatch, "_SIGNATURES", {})
    for n in range(1, 12):
        assert (graphc.ones(n) + graphc.ones(n)).sum().item() == 2 * n
    assert len(_dispatch._SIGNATURES) <= 4


def test_grad_recorded_through_cached_signatures():
    w = graphc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = graphc.tensor([4.0, 5.0, 6.0])
    for _ in range(3):
        w.grad = None
        (w * a).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [4.0, 5.0, 6.0])
    with graphc.no_grad():
        assert (w * a).grad_fn is None


def test_a_view_of_a_base_rebased_in_place_still_gets_gradients():
    # The view is made before its base has a history; the in-place write gives the base one,
    # and ops on the view afterwards must differentiate through it.
    w = graphc.tensor([1.0, 2.0], requires_grad=True)
    y = graphc.zeros(4)
    v = y[0:2]
    y[2:4] = w * 3.0  # rebases y's history (CopySlices)
    v2 = y[2:4]
    (v2 * v2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * 9 * np.array([1.0, 2.0]))
    assert v.grad_fn is not None  # the earlier view re-derives its history too


def test_version_counters_appear_on_first_use_and_count_writes():
    x = graphc.ones(3)
    assert x._ver is None  # nothing has asked for it yet
    x.add_(1.0)
    assert x._version.value == 1
    w = graphc.ones(3, requires_grad=True)
    y = w * 2
    z = y.exp()  # exp's gradient reads its output: the node saves z with its version
    assert y._ver is None and z._ver is not None and z._ver.value == 0
    z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.parametrize(
    "shape,dims,keepdim",
    [((256, 512), 1, False), ((40, 3000), -1, True), ((6, 7, 300), (1, 2), False), ((1000, 70), None, False), ((3, 9), 1, False)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_sums_over_trailing_axes_match_exact_sums(monkeypatch, shape, dims, keepdim, dtype, layout):
    """Float sums over trailing axes of a contiguous input run as BLAS products with ones
    (backends/numpy/runtime.sum_rows), checked against math.fsum's exactly rounded sums;
    anything else stays numpy's reduce, bit for bit. Which path ran is checked too."""
    import math

    from backends.numpy import runtime

    calls = []
    real = runtime.sum_rows
    monkeypatch.setattr(runtime, "sum_rows", lambda x, out=None: calls.append(x.shape) or real(x, out))
    rng = np.random.default_rng(5)
    x_np = (rng.standard_normal(shape[::-1] if layout == "transposed" else shape) + 2).astype(dtype)
    x = graphc.from_numpy(x_np)
    if layout == "transposed":
        x, x_np = x.permute(*range(len(shape) - 1, -1, -1)), x_np.T
    axes = tuple(range(len(shape))) if dims is None else tuple(np.atleast_1d(dims) % len(shape))
    fast = layout == "contiguous" and math.prod(shape[a] for a in axes) >= runtime.SUM_BLAS_MIN
    for _ in range(2):  # the signature's first call and a cached one
        got = x.sum() if dims is None else x.sum(dims, keepdim=keepdim)
        lines = np.moveaxis(x_np.astype(np.float64), axes, tuple(range(-len(axes), 0))).reshape(-1, math.prod(shape[a] for a in axes))
        want = np.array([math.fsum(v) for v in lines])
        want = want.reshape(np.sum(x_np, axis=axes, keepdims=keepdim).shape) if dims is not None else want.reshape(())
        assert tuple(got.shape) == want.shape and got.numpy().dtype == dtype
        if fast:
            scale = np.abs(x_np).sum(axes).max()
            assert np.abs(got.numpy() - want).max() <= 8 * np.finfo(dtype).eps * scale
        else:
            np.testing.assert_array_equal(got.numpy(), np.add.reduce(x_np, axis=axes, keepdims=keepdim))
    assert bool(calls) == fast
