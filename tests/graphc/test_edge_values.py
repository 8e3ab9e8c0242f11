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
