"""Elementwise ops at edge inputs, against their definitions (C's fmod, PyTorch's isclose)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_fmod_is_exact_and_keeps_the_dividend_at_an_infinite_divisor(dtype, compiled):
    """IEEE fmod is exact: a - trunc(a / b) * b lost the remainder of 1e30 by 2.5 (0, not 1)
    and gave NaN for a finite a over +-inf (C's fmod gives a)."""
    a = np.array([1e30, 1e30, 1.0, -1.0, -0.0, 7.5, -7.5, 5.0, INF, NAN])
    b = np.array([2.5, -3.0, INF, -INF, 1.0, 2.0, 2.0, 0.0, 2.0, 1.0])
    nd = np.float32 if dtype is graphc.float32 else np.float64
    fn = graphc.compile(graphc.fmod, warmup=False) if compiled else graphc.fmod
    with np.errstate(all="ignore"):
        want = np.fmod(a.astype(nd), b.astype(nd))
    got = fn(graphc.tensor(a, dtype=dtype), graphc.tensor(b, dtype=dtype)).numpy()
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[4])  # -0.0 keeps its sign, as the dividend's


def test_fmod_gradients_are_pytorchs():
    """d/da = 1; d/db = -trunc(a / b) (inf at b = 0, as PyTorch)."""
    a = graphc.tensor([5.0, -7.5, 3.0], dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor([2.0, 2.0, 0.0], dtype=graphc.float64, requires_grad=True)
    graphc.fmod(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [-2.0, 3.0, -INF])


def test_fmod_of_integers_refuses_a_zero_divisor():
    np.testing.assert_array_equal(graphc.fmod(graphc.tensor([7, -7]), 3).numpy(), [1, -1])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        graphc.fmod(graphc.tensor([7, -7]), graphc.tensor([3, 0]))


def test_isclose_needs_a_finite_error():
    """0 is not close to inf: |0 - inf| = inf <= atol + rtol * inf held; PyTorch asks the error
    to be finite, and equal infinities are close by equality."""
    a = graphc.tensor([0.0, 1.0, INF, -INF, INF, 1e38, NAN, 1.0])
    b = graphc.tensor([INF, -INF, INF, INF, 3e38, INF, NAN, 1.0 + 1e-6])
    np.testing.assert_array_equal(graphc.isclose(a, b).numpy(), [False, False, True, False, False, False, False, True])
    assert graphc.isclose(a, b, equal_nan=True).numpy()[6]
    assert not graphc.allclose(graphc.tensor([0.0]), graphc.tensor([INF]))


# ---------------------------------------------------------------- losses over ignored targets


def test_cross_entropy_ignores_what_ignored_rows_hold():
    """An ignored row adds 0 whatever it holds (-inf * 0 was NaN); the mean is over the rest."""
    import graphc.nn.functional as F

    x = graphc.tensor([[0.0, 1.0], [-INF, 3.0], [NAN, 0.5]], dtype=graphc.float64, requires_grad=True)
    t = graphc.tensor([1, -100, -100])
    per_row = F.cross_entropy(x, t, reduction="none").detach().numpy()
    want0 = np.log1p(np.exp(-1.0))  # -log softmax([0, 1])[1]
    np.testing.assert_allclose(per_row, [want0, 0.0, 0.0], rtol=1e-12)
    assert not np.signbit(per_row[1:]).any()
    loss = F.cross_entropy(x, t)
    loss.backward()
    np.testing.assert_allclose(loss.item(), want0, rtol=1e-12)
    p1 = 1 / (1 + np.exp(-1.0))
    # (a NaN row's log_softmax backward is 0 - NaN * 0 = NaN in PyTorch too; the -inf row's is 0)
    np.testing.assert_allclose(x.grad.numpy(), [[1 - p1, p1 - 1], [0.0, 0.0], [NAN, NAN]], rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_every_target_ignored_is_nan_without_a_nan_gradient(smoothing):
    """PyTorch: the mean over no targets is 0/0 = NaN, the gradient 0 (not NaN everywhere)."""
    import graphc.nn.functional as F

    x = graphc.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    loss = F.cross_entropy(x, graphc.tensor([-100, -100]), label_smoothing=smoothing)
    loss.backward()
    assert math.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


# ---------------------------------------------------------------- attention


def test_attention_to_no_key_is_a_zero_row_with_finite_gradients():
    """PyTorch's safe softmax: a query whose keys are all masked out gets a zero row, and no
    NaN reaches q, k or v through it."""
    import graphc.nn.functional as F

    rng = np.random.default_rng(3)
    qn, kn, vn = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    q, k, v = (graphc.tensor(a, dtype=graphc.float64, requires_grad=True) for a in (qn, kn, vn))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=graphc.tensor(mask))
    out.sum().backward()
    s = np.where(mask, qn @ kn.T / 2.0, -np.inf)
    with np.errstate(invalid="ignore"):
        a = np.exp(s - s.max(1, keepdims=True))
        a = a / a.sum(1, keepdims=True)
    a[1] = 0.0
    np.testing.assert_allclose(out.detach().numpy(), a @ vn, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(v.grad.numpy(), a.T @ np.ones((3, 2)), rtol=1e-12, atol=1e-15)
    assert np.isfinite(q.grad.numpy()).all() and np.isfinite(k.grad.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[1], 0.0)


# ---------------------------------------------------------------- spectral values


@pytest.mark.parametrize(
    "a", [np.eye(3), np.diag([2.0, 2.0, 5.0]), np.array([[0.0, 1.0], [1.0, 0.0]])], ids=["eye", "repeated", "swap"]
)
def test_values_only_spectral_gradients_at_repeated_values(a):
    """sum(eigvalsh(A)) = trace(A): gradient I; the nuclear norm of an orthogonal-times-scalar
    A = U S V^T with equal S has gradient U V^T = A / s. The eigen-/singular-vector terms (0/0
    at repeated values) made every entry NaN although only the values were used."""
    A = graphc.tensor(a, dtype=graphc.float64, requires_grad=True)
    graphc.linalg.eigvalsh(A).sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), np.eye(len(a)), atol=1e-12)
    if np.allclose(a @ a.T, a[0] @ a[0] * np.eye(len(a))):  # equal singular values
        A.grad = None
        graphc.linalg.matrix_norm(A, "nuc").backward()
        np.testing.assert_allclose(A.grad.numpy(), a / np.sqrt(a[0] @ a[0]), atol=1e-12)
    A.grad = None
    graphc.linalg.svdvals(A).sum().backward()
    assert np.isfinite(A.grad.numpy()).all()


# ---------------------------------------------------------------- unique


def test_unique_along_a_dim_keeps_whole_slices():
    """``dim=`` was ignored (a flattened unique came back)."""
    x = graphc.tensor([[1, 2], [1, 2], [3, 4]])
    values, inverse, counts = graphc.unique(x, dim=0, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(inverse.numpy(), [0, 0, 1])
    np.testing.assert_array_equal(counts.numpy(), [2, 1])
    values, inverse, counts = graphc.unique(x, dim=1, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [[1, 2], [1, 2], [3, 4]])
    np.testing.assert_array_equal(inverse.numpy(), [0, 1])
    _, inverse = graphc.unique(x, return_inverse=True)
    np.testing.assert_array_equal(inverse.numpy(), [[0, 1], [0, 1], [2, 3]])  # the input's shape


def test_unique_keeps_each_nan():
    values, counts = graphc.unique(graphc.tensor([NAN, 1.0, NAN, -0.0, 0.0]), return_counts=True)
    np.testing.assert_array_equal(values.numpy()[:2], [0.0, 1.0])
    assert np.isnan(values.numpy()[2:]).all() and len(values) == 4
    np.testing.assert_array_equal(counts.numpy(), [2, 1, 1, 1])


# ---------------------------------------------------------------- erf, addmm, max


def test_float32_erf_near_zero_keeps_its_relative_precision():
    """The rational fit's 1 - poly * exp(-x^2) cancelled near 0 (erf(1e-7) was 0)."""
    x = np.array([1e-30, 1e-7, 1e-6, 1e-4, 0.1, 0.3, 0.49, 0.5, 0.7, 2.0, -1e-7], dtype=np.float32)
    got = graphc.erf(graphc.tensor(x)).numpy().astype(np.float64)
    want = np.array([math.erf(float(v)) for v in x])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.signbit(graphc.erf(graphc.tensor([-0.0])).numpy()[0])


def test_addmm_with_beta_zero_ignores_the_input():
    out = graphc.addmm(graphc.tensor([[NAN, INF]]), graphc.tensor([[1.0]]), graphc.tensor([[2.0, 3.0]]), beta=0)
    np.testing.assert_array_equal(out.numpy(), [[2.0, 3.0]])


def test_max_of_everything_shares_a_nan_results_gradient_among_the_nans():
    """PyTorch's evenly_distribute_backward: NaN matches NaN (nothing equals NaN, so the count
    was 0 and every entry NaN); ties still share evenly; amax over a dim keeps its own rule."""
    x = graphc.tensor([1.0, NAN, 2.0, NAN], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.0, 0.5])
    y = graphc.tensor([1.0, 3.0, 3.0], requires_grad=True)
    y.min().backward()
    y.grad = None
    y.max().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.5, 0.5])


# ---------------------------------------------------------------- half precision


@pytest.mark.parametrize("dtype", [graphc.float16, graphc.bfloat16])
def test_half_precision_reductions_and_normalizations_compute_in_float32(dtype):
    """PyTorch's opmath: a float16 sum of squares overflows from |x| ~ 256 (layer_norm came out
    all zeros, var and norm inf, the mean of two 60000s inf). Each result against float64 numpy,
    rounded once to the half dtype."""
    import graphc.nn.functional as F

    row = np.array([[300.0, -300.0, 0.0, 1.0]])
    x = graphc.tensor(row, dtype=dtype)
    nd = np.float16 if dtype is graphc.float16 else None

    def half(v):  # float64 reference rounded to the dtype (bfloat16 via graphc's own rounding)
        v = np.asarray(v, dtype=np.float64)
        return v.astype(nd).astype(np.float64) if nd else graphc.tensor(v, dtype=dtype).double().numpy()

    mu, var = row.mean(1, keepdims=True), row.var(1, keepdims=True)
    ln = (row - mu) / np.sqrt(var + 1e-5)
    got = F.layer_norm(x, (4,))
    assert got.dtype is dtype
    np.testing.assert_allclose(got.double().numpy(), half(ln), rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(x.var(1).double().numpy(), half(row.var(1, ddof=1)), rtol=1e-2)
    np.testing.assert_allclose(x.std(1).double().numpy(), half(row.std(1, ddof=1)), rtol=1e-2)
    np.testing.assert_allclose(x.norm(dim=1).double().numpy(), half(np.sqrt((row**2).sum(1))), rtol=1e-2)
    np.testing.assert_allclose(F.rms_norm(graphc.tensor([[300.0] * 4], dtype=dtype), (4,)).double().numpy(), 1.0, rtol=1e-2)
    assert graphc.tensor([60000.0, 60000.0], dtype=dtype).mean().double().item() == half(60000.0)


def test_half_precision_gelu_and_silu_run_in_float32():
    """1 + erf(x / sqrt 2) cancels in half precision (bf16 gelu(-3) was 45% off); float16's
    sigmoid underflows from -11 (silu(-12) was -0)."""
    import graphc.nn.functional as F

    for dtype, nd in ((graphc.float16, np.float16), (graphc.bfloat16, None)):
        x = np.array([-3.0, -2.0, 0.5])
        want = x * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
        got = F.gelu(graphc.tensor(x, dtype=dtype)).double().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-2 if nd is None else 2e-3)
    got = F.silu(graphc.tensor([-12.0], dtype=graphc.float16)).double().item()
    np.testing.assert_allclose(got, -12.0 / (1 + math.exp(12.0)), rtol=2e-3)


def test_smooth_l1_and_huber_at_an_infinite_difference_have_unit_gradients():
    import graphc.nn.functional as F

    for loss in (F.smooth_l1_loss, F.huber_loss):
        x = graphc.tensor([INF, 2.0, -INF, 0.25], dtype=graphc.float64, requires_grad=True)
        loss(x, graphc.zeros(4, dtype=graphc.float64), reduction="sum").backward()
        np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, -1.0, 0.25])


def test_a_rounded_quotient_has_a_zero_gradient_even_over_zero():
    a = graphc.tensor([1.0, 3.0, -7.0], dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor([0.0, 2.0, 2.0], dtype=graphc.float64, requires_grad=True)
    q = graphc.div(a, b, rounding_mode="trunc")
    np.testing.assert_array_equal(q.detach().numpy(), [INF, 1.0, -3.0])
    q.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), 0.0)
    np.testing.assert_array_equal(b.grad.numpy(), 0.0)


def test_nan_to_num_of_bfloat16_uses_its_own_largest_value():
    got = graphc.nan_to_num(graphc.tensor([INF, -INF, NAN], dtype=graphc.bfloat16)).double().numpy()
    big = float.fromhex("0x1.fep127")
    np.testing.assert_array_equal(got, [big, -big, 0.0])


def test_a_numerically_singular_matrix_raises_graphcs_linalg_error_not_numpys():
    """numpy's LAPACK finds an exact zero pivot in this matrix where graphc's LU does not; the
    error must still be graphc's LinAlgError (a RuntimeError, as PyTorch's), and the _ex form
    must not raise at all."""
    A = graphc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], dtype=graphc.float64)
    for call in (lambda: graphc.linalg.inv(A), lambda: graphc.linalg.solve(A, graphc.ones(3, dtype=graphc.float64))):
        with pytest.raises(graphc.linalg.LinAlgError, match="singular"):
            call()
        with pytest.raises(RuntimeError):
            call()
    graphc.linalg.inv_ex(A)  # no exception


# ---------------------------------------------------------------- indexing, integer scalars


def test_index_put_takes_a_bool_mask_and_index_fill_a_negative_index():
    x = graphc.zeros(3, 4)
    mask = graphc.tensor([[True, False, False, True], [False] * 4, [False, True, False, False]])
    want = np.zeros((3, 4))
    want[mask.numpy()] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(x.index_put((mask,), graphc.tensor([1.0, 2.0, 3.0])).numpy(), want)
    rows = graphc.tensor([True, False, True])
    got = x.index_put((rows, graphc.tensor([1, 3])), graphc.tensor([7.0, 8.0])).numpy()
    np.testing.assert_array_equal(got, [[0, 7, 0, 0], [0, 0, 0, 0], [0, 0, 0, 8]])
    np.testing.assert_array_equal(graphc.zeros(2, 2).index_fill(1, graphc.tensor([-1]), 7.0).numpy(), [[0, 7], [0, 7]])


def test_an_out_of_range_python_integer_wraps_as_in_pytorch():
    """numpy 2 refuses uint8(-3); PyTorch wraps the scalar modulo 2**bits."""
    u = graphc.tensor([1, 5], dtype=graphc.uint8)
    np.testing.assert_array_equal((u + (-3)).numpy(), [254, 2])
    np.testing.assert_array_equal((u * 300).numpy(), [44, 220])
    np.testing.assert_array_equal((graphc.tensor([3], dtype=graphc.int8) * 200).numpy(), [88])
    np.testing.assert_array_equal((graphc.tensor([1], dtype=graphc.int32) + 2**40).numpy(), [1])


@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
def test_grid_sample_gives_no_grid_gradient_at_the_clipped_border(padding_mode):
    """An identity grid (affine_grid, align_corners=True) puts every border pixel exactly on
    the clip bounds; PyTorch's clip_coordinates_set_grad passes no gradient there (clamp's
    convention passed it). Along x, d out / d gx = (x[j+1] - x[j]) * (W - 1) / 2 inside."""
    import graphc.nn.functional as F

    x = graphc.tensor(np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4))
    grid = F.affine_grid(graphc.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=graphc.float64), (1, 1, 4, 4),
                         align_corners=True).detach().requires_grad_()
    F.grid_sample(x, grid, padding_mode=padding_mode, align_corners=True).sum().backward()
    gx, gy = grid.grad.numpy()[0, ..., 0], grid.grad.numpy()[0, ..., 1]
    want_x = np.zeros((4, 4))
    want_x[:, 1:3] = 1.0 * 1.5  # x steps by 1 per column; the unnormalization scales by (4 - 1) / 2
    want_y = np.zeros((4, 4))
    want_y[1:3, :] = 4.0 * 1.5  # y steps by 4 per row
    np.testing.assert_allclose(gx, want_x, atol=1e-12)
    np.testing.assert_allclose(gy, want_y, atol=1e-12)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_float16_sigmoid_runs_in_float32(compiled):
    """exp(12) overflows float16: sigmoid(-12) came out 0 (PyTorch 6.1e-6)."""
    x = np.array([-15.0, -12.0, 0.0, 3.0])
    fn = graphc.compile(lambda t: graphc.sigmoid(t) * 1.0, warmup=False) if compiled else graphc.sigmoid
    got = fn(graphc.tensor(x, dtype=graphc.float16)).numpy()
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, (1 / (1 + np.exp(-x))).astype(np.float16))


def test_small_loss_and_pooling_edges():
    """glu of an empty dim; kl_div of a negative (invalid) target is NaN (PyTorch's xlogy) with
    the input's gradient -t; adaptive average pooling keeps an inf in its own cell (the padded
    taps were multiplied by 0: inf * 0 = NaN in the neighbour); var with no degrees of freedom
    is ss / 0 (inf, or NaN for 0/0), as PyTorch."""
    import graphc.nn.functional as F

    assert tuple(F.glu(graphc.tensor([]), 0).shape) == (0,)
    y = graphc.tensor([-1.0, 0.0], dtype=graphc.float64, requires_grad=True)
    loss = F.kl_div(y, graphc.tensor([-0.5, 2.0], dtype=graphc.float64), reduction="none")
    assert math.isnan(loss[0].item())
    np.testing.assert_allclose(loss[1].item(), 2.0 * math.log(2.0))
    loss[1:].sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, -2.0])
    pooled = F.adaptive_avg_pool1d(graphc.tensor([[[1.0, INF, 2.0, 3.0, 4.0]]]), 3).numpy()
    np.testing.assert_array_equal(pooled, [[[INF, INF, 3.5]]])
    assert graphc.tensor([1.0, 2.0]).var(correction=2).item() == INF
    assert math.isnan(graphc.tensor([1.0, 1.0]).var(correction=2).item())


def test_lerp_is_two_sided_and_quantile_uses_it():
    """PyTorch interpolates from the end for weight >= 0.5: weight 1 gives the end exactly, and
    an infinite start does not meet inf - inf (quantile toward -inf was NaN, midpoint of two
    3e38s inf)."""
    a = graphc.tensor([0.1, -1e30, 3.0])
    b = graphc.tensor([0.7, 5.0, 7.0])
    np.testing.assert_array_equal(graphc.lerp(a, b, 1.0).numpy(), b.numpy())
    got = graphc.lerp(a, b, graphc.tensor([0.2, 0.9, 1.0])).numpy()
    an, bn = a.numpy(), b.numpy()
    want = np.array([an[0] + np.float32(0.2) * (bn[0] - an[0]), bn[1] - (bn[1] - an[1]) * np.float32(1 - 0.9), bn[2]])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert graphc.quantile(graphc.tensor([1.0, -INF, 2.0, -1.0]), 0.25).item() == -INF
    assert graphc.quantile(graphc.tensor([3e38, 3e38]), 0.5, interpolation="midpoint").item() == np.float32(3e38)
    np.testing.assert_allclose(graphc.quantile(graphc.tensor([1.0, 2.0, 4.0, 8.0]), graphc.tensor([0.1, 0.5, 0.9])).numpy(),
                               np.quantile([1.0, 2.0, 4.0, 8.0], [0.1, 0.5, 0.9]), rtol=1e-6)


def test_half_precision_lerp_and_addcmul_run_in_float32():
    f16 = graphc.float16
    assert graphc.lerp(graphc.tensor([-60000.0], dtype=f16), graphc.tensor([60000.0], dtype=f16), 0.5).item() == 0.0
    got = graphc.addcmul(graphc.tensor([0.0], dtype=f16), graphc.tensor([300.0], dtype=f16), graphc.tensor([300.0], dtype=f16), value=0.5)
    assert got.item() == float(np.float16(45000.0))


def test_median_of_everything_shares_a_tie_gradient_as_pytorch():
    """MedianBackward0 (no dim) shares among the elements equal to the median, NaN with NaN
    (it went to the one element the sort picked)."""
    for values, want in (([1.0, 1.0, 2.0, 0.0], [0.5, 0.5, 0, 0]), ([3.0, 3.0, 3.0], [1 / 3] * 3),
                         ([1.0, NAN, 2.0, NAN], [0, 0.5, 0, 0.5])):
        x = graphc.tensor(values, dtype=graphc.float64, requires_grad=True)
        m = x.median()
        m.backward()
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    x = graphc.tensor([0.0, 0.0, 5.0, 5.0], dtype=graphc.float64, requires_grad=True)
    assert x.nanmedian().item() == 0.0
    x.nanmedian().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0, 0])


def _to_bfloat16(a32: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16's 8-bit mantissa (ties to even), kept as float32."""
    bits = a32.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


_HALF_X = (np.random.default_rng(11).standard_normal(4000) * 3).astype(np.float16)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("scale", [0.1, 3001, 1 / 3, -2.5])
def test_half_tensor_times_or_over_a_number_is_computed_in_float32(scale, compiled):
    """PyTorch's CPU mul and div of a half tensor by a number run in float32 with the number
    unrounded, and round once; rounding 0.1 to float16 first (0.09998) changed the last bit of
    a third of the products. add and sub do round the number to half first, in PyTorch too."""
    x32, s32 = _HALF_X.astype(np.float32), np.float32(scale)
    wants = {
        "mul": (x32 * s32).astype(np.float16),
        "rmul": (s32 * x32).astype(np.float16),
        "div": (x32 / s32).astype(np.float16),
        "trunc": np.trunc(x32 / s32).astype(np.float16),
        "floor": np.floor_divide(x32, s32).astype(np.float16),
        "add": _HALF_X + np.float16(scale),
        "sub": _HALF_X - np.float16(scale),
    }
    fns = {
        "mul": lambda x: x * scale,
        "rmul": lambda x: scale * x,
        "div": lambda x: x / scale,
        "trunc": lambda x: graphc.div(x, scale, rounding_mode="trunc"),
        "floor": lambda x: x // scale,
        "add": lambda x: x + scale,
        "sub": lambda x: x - scale,
    }
    x = graphc.from_numpy(_HALF_X.copy())
    for name, fn in fns.items():
        got = (graphc.compile(fn, warmup=False) if compiled else fn)(x)
        assert got.dtype is graphc.float16, name
        np.testing.assert_array_equal(got.numpy(), wants[name], err_msg=name)


def test_half_scaling_in_place_by_a_0d_tensor_and_its_gradient():
    """x.mul_(0.1), x / 0-d float64 tensor and bfloat16 follow the same float32 rule; the
    gradient of x * 0.1 is g * 0.1 computed the same way (MulBackward0)."""
    x32 = _HALF_X.astype(np.float32)
    y = graphc.from_numpy(_HALF_X.copy()).mul_(0.1)
    np.testing.assert_array_equal(y.numpy(), (x32 * np.float32(0.1)).astype(np.float16))
    z = graphc.from_numpy(_HALF_X.copy()) / graphc.tensor(0.3, dtype=graphc.float64)
    np.testing.assert_array_equal(z.numpy(), (x32 / np.float32(0.3)).astype(np.float16))
    b = graphc.from_numpy(x32).to(graphc.bfloat16) * 0.1
    np.testing.assert_array_equal(b.float().numpy(), _to_bfloat16(_to_bfloat16(x32) * np.float32(0.1)))
    x = graphc.from_numpy(_HALF_X[:64].copy()).requires_grad_()
    y = x * 0.1
    assert y.grad_fn.name() == "MulBackward0"
    g = (np.random.default_rng(2).standard_normal(64) * 10).astype(np.float16)
    y.backward(graphc.from_numpy(g))
    np.testing.assert_array_equal(x.grad.numpy(), (g.astype(np.float32) * np.float32(0.1)).astype(np.float16))


@pytest.mark.parametrize("np_dtype", [np.float16, np.float32, np.float64])
def test_a_number_over_a_tensor_is_its_reciprocal_times_the_number(np_dtype):
    """PyTorch's ``s / x`` is ``reciprocal(x) * s``, not a division: the two differ in the last
    bit for about a quarter of the elements, in every float dtype."""
    x = (np.random.default_rng(5).standard_normal(4000) * 3).astype(np_dtype)
    wide = np.float32 if np_dtype is np.float16 else np_dtype
    for s in (0.1, 3, -2.5, 1):
        with np.errstate(over="ignore", divide="ignore"):  # 3 / 1e-5 is inf in float16
            want = ((np_dtype(1) / x).astype(wide) * wide(s)).astype(np_dtype)
        got = (s / graphc.from_numpy(x)).numpy()
        np.testing.assert_array_equal(got, want, err_msg=f"{s} / x")
    t = graphc.tensor([2.0, -4.0], dtype=graphc.float64, requires_grad=True)
    (0.1 / t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [-0.1 / 4, -0.1 / 16], rtol=1e-15)
    assert (1 / graphc.tensor([1, 2, 4])).dtype is graphc.float32


@pytest.mark.parametrize("dtype", [graphc.float16, graphc.bfloat16])
def test_half_batch_and_instance_norm_statistics_are_float32(dtype):
    """A float16 batch of values near 300 has a variance past float16's range: batch_norm's
    output was 26x off and its running variance inf. PyTorch computes the statistics (and
    the output) in float32 and rounds the output once. Against float64 numpy."""
    import graphc.nn.functional as F

    rng = np.random.default_rng(3)
    xs = rng.standard_normal((4, 3, 5, 5)) * 300 + 150
    x = graphc.tensor(xs, dtype=dtype).double().numpy()  # the values the half tensor holds
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    per_channel = (1, 3, 1, 1)

    def run(fn, axes):
        rm, rv = graphc.zeros(3), graphc.ones(3)
        got = fn(graphc.tensor(xs, dtype=dtype), rm, rv, graphc.tensor(w, dtype=graphc.float32),
                 graphc.tensor(b, dtype=graphc.float32))
        assert got.dtype is dtype
        mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
        want = (x - mu) / np.sqrt(var + 1e-5) * w.reshape(per_channel) + b.reshape(per_channel)
        np.testing.assert_allclose(got.double().numpy(), want, rtol=1e-2, atol=2e-2)
        return rm.numpy(), rv.numpy()

    rm, rv = run(lambda *a: F.batch_norm(*a, training=True), (0, 2, 3))
    np.testing.assert_allclose(rm, 0.1 * x.mean((0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * x.var((0, 2, 3), ddof=1), rtol=1e-5)
    run(lambda *a: F.instance_norm(*a, use_input_stats=True), (2, 3))


@pytest.mark.parametrize("decimals", [1, 2, 3, -1])
def test_half_round_to_decimals_is_computed_in_float32(decimals):
    """PyTorch rounds a half tensor to decimals as round(x * 10**d) / 10**d in float32, rounded
    once (in float16 the scaled value's own rounding moved a sixth of the results)."""
    xs = (np.random.default_rng(4).standard_normal(4000) * 30).astype(np.float16)
    x32, s = xs.astype(np.float32), np.float32(10.0 ** abs(decimals))
    want = (np.round(x32 * s) / s if decimals > 0 else np.round(x32 / s) * s).astype(np.float16)
    got = graphc.round(graphc.from_numpy(xs), decimals=decimals).numpy()
    np.testing.assert_array_equal(got, want)


def test_cosine_similarity_normalizes_each_input_first():
    """PyTorch divides each input by its (eps-clamped) norm and then takes the dot product:
    vectors whose squares overflow give 0 (each unit vector is x / inf), not inf / inf = NaN;
    a zero vector's gradient is the other unit vector over eps."""
    import graphc.nn.functional as F

    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((50, 16)), rng.standard_normal((1, 16))
    want = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T
    got = F.cosine_similarity(graphc.tensor(a), graphc.tensor(b), dim=1)
    np.testing.assert_allclose(got.numpy(), want[:, 0], rtol=1e-12)
    huge = graphc.tensor([[1e20, 2e20, 3e20]], dtype=graphc.float32)
    assert F.cosine_similarity(huge, huge).item() == 0.0
    z = graphc.zeros(1, 4, dtype=graphc.float64, requires_grad=True)
    F.cosine_similarity(z, graphc.ones(1, 4, dtype=graphc.float64)).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), np.full((1, 4), 0.5 / 1e-8), rtol=1e-12)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_float32_scans_carry_their_running_value_in_double(compiled):
    """PyTorch's CPU cumsum, cumprod and logcumsumexp of float32 carry the running value in
    double and round each output once (a float32 running sum differed in most elements, by
    thousands of ulps where it cancels)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((20, 300)).astype(np.float32)
    p = (rng.random((20, 60)) * 0.5 + 0.75).astype(np.float32)
    scans = {
        "cumsum": (lambda t: graphc.cumsum(t, 1), x, np.cumsum(x.astype(np.float64), 1)),
        "cumprod": (lambda t: graphc.cumprod(t, 0), p, np.cumprod(p.astype(np.float64), 0)),
        "logcumsumexp": (lambda t: graphc.logcumsumexp(t, 1), x, np.logaddexp.accumulate(x.astype(np.float64), 1)),
    }
    for name, (fn, v, want) in scans.items():
        got = (graphc.compile(fn, warmup=False) if compiled else fn)(graphc.from_numpy(v))
        np.testing.assert_array_equal(got.numpy(), want.astype(np.float32), err_msg=name)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float16])
def test_single_precision_powers_as_pytorch_computes_them(np_dtype):
    """x ** 3 is x * x * x, x ** -2 is 1 / (x * x), x ** -0.5 is 1 / sqrt(x) (PyTorch's special
    cases, each product rounded); any other exponent a double-precision power rounded once."""
    x = (np.random.default_rng(10).random(5000) * 3 + 0.1).astype(np_dtype)
    v = x.astype(np.float32)
    wants = {3: v * v * v, -2: 1 / (v * v), -0.5: 1 / np.sqrt(v), 2: v * v, -1: 1 / v,
             1.5: v.astype(np.float64) ** 1.5, 4: v.astype(np.float64) ** 4}
    for e, want in wants.items():
        got = (graphc.from_numpy(x) ** e).numpy()
        np.testing.assert_array_equal(got, want.astype(np_dtype), err_msg=f"x ** {e}")


def test_binary_cross_entropy_of_a_small_probability_uses_log1p():
    """The t = 0 term is log1p(-x), as PyTorch: float32 log(1 - 1e-6) was 1.3% off (1 - x rounds
    first), and every probability below ~1e-3 lost digits."""
    import graphc.nn.functional as F

    p = np.array([1e-7, 1e-6, 1e-4, 1e-2, 0.3], dtype=np.float32)
    got = F.binary_cross_entropy(graphc.from_numpy(p), graphc.zeros(5), reduction="none").numpy()
    np.testing.assert_allclose(got, -np.log1p(-p.astype(np.float64)), rtol=2e-7)


def test_lgamma_at_float64_denormals_is_minus_log_x():
    """The reflection's pi / sin(pi x) overflowed below ~1e-308: lgamma was inf there (C: -log|x|)."""
    xs = [5e-324, -5e-324, 1e-320, 2.2e-308, 1e-300, 1e-31, 1e-29, 0.0]
    got = graphc.lgamma(graphc.tensor(xs, dtype=graphc.float64)).tolist()
    want = [math.lgamma(x) if x else INF for x in xs]
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_trigamma_at_huge_and_infinite_arguments():
    """polygamma(1, x) ~ 1/x + 1/(2x^2) + 1/(6x^3): the Hurwitz zeta's a * a^-s underflowed to 0 past
    x = 1e154; at +inf it is 0, so digamma's gradient there is 0, not NaN, as PyTorch's trigamma.
    Higher orders and zeta itself stay NaN at +inf, and trigamma is NaN at -inf, as PyTorch's."""
    xs = [1e5, 1e100, 1e155, 1e300]
    got = graphc.polygamma(1, graphc.tensor(xs + [INF], dtype=graphc.float64)).tolist()
    np.testing.assert_allclose(got[:-1], [1 / x + 0.5 / x / x + 1 / (6 * x * x * x) for x in xs], rtol=1e-14)
    assert got[-1] == 0.0
    x = graphc.tensor([INF, 1e30], dtype=graphc.float64, requires_grad=True)
    graphc.digamma(x).sum().backward()
    assert x.grad.tolist() == [0.0, pytest.approx(1e-30, rel=1e-14)]
    inf = graphc.tensor([INF], dtype=graphc.float64)
    assert math.isnan(graphc.polygamma(2, inf).item()) and math.isnan(graphc.special.zeta(2.0, inf).item())
    assert math.isnan(graphc.polygamma(1, -inf).item())  # trigamma's reflection: NaN, as PyTorch's


def _prod_grad_ref(x, axis):
    """PyTorch's prod backward in float64: out / x when the input holds no zero; else each
    element's product of the others in its slice as running products from both sides (no
    division: exact at zeros, a NaN or inf kept out of its own slot); a whole-tensor product
    (axis None) with two zeros or more has a zero gradient."""
    if axis is None:
        if (x == 0).sum() >= 2:
            return np.zeros_like(x)
        return _prod_grad_ref(x.reshape(-1), 0).reshape(x.shape)
    if not (x == 0).any():
        with np.errstate(all="ignore"):
            return np.prod(x, axis, keepdims=True) / x
    xs = np.moveaxis(x, axis, -1)
    ones = np.ones(xs.shape[:-1] + (1,))
    with np.errstate(all="ignore"):
        left = np.cumprod(np.concatenate([ones, xs[..., :-1]], -1), -1)
        right = np.cumprod(np.concatenate([ones, xs[..., :0:-1]], -1), -1)[..., ::-1]
        return np.moveaxis(left * right, -1, axis)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_prod_gradient_at_zeros_next_to_nan_and_inf(compiled):
    """A slice holding a zero and a NaN or inf: each element's gradient is the product of the
    others, so the NaN's own slot gets 0 * the rest (the old rule divided the NaN product by
    each element and spread NaN over the slice)."""
    rows = np.array([[0.0, NAN, 2.0, 1.5], [0.0, INF, 3.0, -1.0], [0.5, 2.0, -3.0, 4.0], [0.0, 0.0, INF, 2.0]])
    cases = [(rows, 1), (rows[2:3], 1), (rows[1], None), (rows[:1], None), (rows[2], None), (rows[3], None), (rows, 0)]
    for x_np, axis in cases:
        x = graphc.tensor(x_np, dtype=graphc.float64, requires_grad=True)

        def f(t, axis=axis):
            return t.prod() if axis is None else t.prod(axis)

        fn = graphc.compile(f, warmup=False) if compiled else f
        fn(x).sum().backward()
        want = _prod_grad_ref(x_np, axis)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-14, equal_nan=True, err_msg=f"{x_np} axis {axis}")


@pytest.mark.parametrize("p", [0.5, -1.0, -0.5, 3.0])
@pytest.mark.parametrize("which", ["linalg.vector_norm", "Tensor.norm"])
def test_p_norm_gradients_at_zero_entries(p, which):
    """d||x||_p/dx_i = sgn(x_i) |x_i|^(p-1) ||x||^(1-p), 0 where x_i = 0 (PyTorch's norm_backward
    masks the zeros): for p < 1 the power's infinite slope there gave NaN -- for p < 0 at every
    entry of a vector holding a zero, whose norm is 0."""
    for vals in ([0.0, 1.0, -2.0], [0.0, 0.0, 0.0], [1.5, -0.5, 2.0]):
        xs = np.array(vals)
        x = graphc.tensor(xs, dtype=graphc.float64, requires_grad=True)
        n = graphc.linalg.vector_norm(x, ord=p) if which == "linalg.vector_norm" else x.norm(p=p)
        n.backward()
        a = np.abs(xs)
        with np.errstate(divide="ignore", invalid="ignore"):  # (the masked zeros' 0 * inf)
            norm = (a**p).sum() ** (1 / p)
            want = np.where(a == 0, 0.0, np.sign(xs) * np.where(a == 0, 1.0, a) ** (p - 1) * norm ** (1 - p))
        assert n.item() == pytest.approx(norm, rel=1e-14)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-13, atol=0, err_msg=str(vals))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_of_a_slice_holding_nan_sends_its_gradient_to_the_nan(interpolation):
    """PyTorch's quantile reads a slice holding a NaN at its last sorted place -- a NaN (the last
    one: NaNs sort last, in order) -- so the result is NaN and its gradient lands on that NaN;
    nanquantile of an all-NaN slice reads the first sorted place. graphc masked the result to
    NaN afterwards, which sent the gradient nowhere."""
    rows = np.array([[1.0, NAN, 3.0, 2.0], [NAN, NAN, 1.0, 5.0], [4.0, 1.0, 2.0, 3.0]])
    x = graphc.tensor(rows, dtype=graphc.float64, requires_grad=True)
    r = graphc.quantile(x, 0.3, dim=1, interpolation=interpolation)
    r.backward(graphc.ones(3, dtype=graphc.float64))
    assert np.isnan(r[:2].detach().numpy()).all() and not np.isnan(r[2].item())
    want = np.zeros_like(rows)
    want[0, 1] = want[1, 1] = 1.0  # each NaN slice's last NaN
    np.testing.assert_array_equal(x.grad.numpy()[:2], want[:2])
    assert x.grad.numpy()[2].sum() == pytest.approx(1.0)  # the finite slice: weights summing to 1
    y = graphc.tensor([[NAN, NAN, NAN]], dtype=graphc.float64, requires_grad=True)
    graphc.nanquantile(y, 0.5, dim=1, interpolation=interpolation).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[1.0, 0.0, 0.0]])


def test_float32_variance_is_computed_in_double_and_rounded_once():
    """PyTorch's CPU var/std kernels accumulate float32 in double: graphc does the same, so the
    results are the float64 ones rounded to float32 (bit for bit, where float32 arithmetic
    differed in the last bit for about half the rows), and the mean of values near 3e38 does
    not overflow (std_mean gave inf, inf)."""
    rng = np.random.default_rng(8)
    x_np = (rng.standard_normal((40, 50)) * 3 + 1).astype(np.float32)
    x = graphc.tensor(x_np)
    x64 = x_np.astype(np.float64)
    np.testing.assert_array_equal(x.var(1).numpy(), x64.var(1, ddof=1).astype(np.float32))
    np.testing.assert_array_equal(x.std(0, correction=0).numpy(), x64.std(0).astype(np.float32))
    v, m = graphc.var_mean(x, 1)
    np.testing.assert_array_equal(v.numpy(), x64.var(1, ddof=1).astype(np.float32))
    np.testing.assert_array_equal(m.numpy(), x64.mean(1).astype(np.float32))
    assert v.dtype == m.dtype == graphc.float32
    s, m = graphc.std_mean(graphc.tensor([3.0e38, 3.0e38, 3.0e38]))
    assert s.item() == 0.0 and m.item() == pytest.approx(3.0e38, rel=1e-7)
    h = graphc.tensor([1.0, 2.0, 4.0], dtype=graphc.float16)  # half: float32 inside, as PyTorch
    assert h.var().dtype == graphc.float16 and h.var().item() == pytest.approx(7 / 3, rel=1e-3)
