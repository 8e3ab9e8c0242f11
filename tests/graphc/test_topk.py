"""``topk`` against a Python reference: each line sorted by (value, index) -- descending values
for ``largest`` with NaN above everything and -0.0 equal to +0.0, ties in index order -- and
its first k taken. The partition path (k under half the line) and the full-sort path must both
give exactly that, values, indices and the gradient to the picked entries."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc


def _reference(line: np.ndarray, k: int, largest: bool) -> list:
    def key(i):
        v = float(line[i])
        rank = math.inf if math.isnan(v) else v
        nan_last = 1 if math.isnan(v) else 0  # NaN above +inf
        return ((-nan_last, -rank) if largest else (nan_last, rank)), i

    return sorted(range(len(line)), key=key)[:k]


def _data(rng, shape, dtype):
    if dtype in ("int64", "int32", "uint8"):
        return rng.integers(0, 6, shape).astype(dtype)
    pool = np.array([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf])
    x = np.where(rng.random(shape) < 0.5, rng.choice(pool, shape), rng.standard_normal(shape))
    return x.astype(np.float16 if dtype == "float16" else np.float32 if dtype in ("float32", "bfloat16") else np.float64)


@given(
    shape=st.sampled_from([(40,), (3, 50), (4, 7, 33), (2, 65, 3)]),
    dtype=st.sampled_from(["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8"]),
    dim=st.integers(-3, 2),
    k_frac=st.floats(0.0, 1.0),
    largest=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=200, deadline=None)
def test_topk_matches_a_stable_sort(shape, dtype, dim, k_frac, largest, seed):
    if not -len(shape) <= dim < len(shape):
        return
    rng = np.random.default_rng(seed)
    arr = _data(rng, shape, dtype)
    x = graphc.tensor(arr, dtype=getattr(graphc, dtype))
    arr = x.float().numpy() if dtype in ("float16", "bfloat16") else x.numpy()  # the values x holds
    n = shape[dim]
    k = int(round(k_frac * n))
    values, indices = x.topk(k, dim=dim, largest=largest)
    lines = np.moveaxis(arr, dim, -1)
    want = np.array([_reference(line, k, largest) for line in lines.reshape(-1, n)]).reshape(lines.shape[:-1] + (k,))
    np.testing.assert_array_equal(np.moveaxis(indices.numpy(), dim, -1), want)
    assert indices.dtype == graphc.int64 and values.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(values), np.take_along_axis(np.asarray(x), indices.numpy(), dim))


@pytest.mark.parametrize("k", [3, 40])
def test_topk_gradient_reaches_the_picked_entries(k):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 100)).astype(np.float32)
    x = graphc.tensor(a, requires_grad=True)
    values, indices = x.topk(k, dim=1)
    (values * graphc.arange(1.0, k + 1.0)).sum().backward()
    want = np.zeros_like(a)
    np.put_along_axis(want, indices.numpy(), np.arange(1.0, k + 1.0, dtype=np.float32)[None].repeat(5, 0), 1)
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_topk_k_out_of_range_names_the_dim():
    with pytest.raises(RuntimeError, match=r"topk: selected index k \(6\) out of range for dimension 0 of size 5"):
        graphc.arange(5.0).topk(6)
