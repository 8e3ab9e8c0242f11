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
