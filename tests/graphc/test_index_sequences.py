"""Indexing with a Python ``range`` and with a tuple of ints as one element of the key, as
PyTorch accepts (``x[range(n), t]``, ``x[(0, 1), :]``): values against numpy's fancy
indexing of the same data, gradients against the hand-built scatter, reads and writes, eager
and compiled."""

from __future__ import annotations

import numpy as np
import pytest

import graphc


def _x(requires_grad=False):
    a = np.arange(20, dtype=np.float64).reshape(4, 5) * 0.5 - 3
    return a, graphc.tensor(a, requires_grad=requires_grad)


@pytest.mark.parametrize(
    "key, np_key",
    [
        ((range(4), [4, 3, 2, 1]), (list(range(4)), [4, 3, 2, 1])),
        (((0, 1), slice(None)), ([0, 1], slice(None))),
        ((slice(None), range(0, 5, 2)), (slice(None), [0, 2, 4])),
        ((range(1, 3),), ([1, 2],)),
        ((range(0),), ([],)),
        (((3, 3, 0), (1, 2, 4)), ([3, 3, 0], [1, 2, 4])),
    ],
)
def test_read_matches_numpy(key, np_key):
    a, x = _x()
    ref = a[tuple(np.asarray(k, dtype=np.int64) if isinstance(k, list) else k for k in np_key)]
    got = x[key if len(key) > 1 else key[0]]
    assert tuple(got.shape) == ref.shape
    np.testing.assert_array_equal(got.numpy(), ref)


def test_top_level_tuple_is_still_a_multi_dim_key():
    a, x = _x()
    assert x[(0, 1)].item() == a[0, 1]


def test_gradient_of_range_index():
    a, x = _x(requires_grad=True)
    t = graphc.tensor([4, 0, 0, 2])
    w = graphc.tensor([1.0, 2.0, 3.0, 4.0], dtype=graphc.float64)
    (x[range(4), t] * w).sum().backward()
    ref = np.zeros_like(a)
    ref[np.arange(4), [4, 0, 0, 2]] = [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_array_equal(x.grad.numpy(), ref)


def test_write_with_range_and_tuple():
    a, x = _x()
    x[range(2), (1, 2)] = -1.0
    a[[0, 1], [1, 2]] = -1.0
    np.testing.assert_array_equal(x.numpy(), a)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_compiled_cross_entropy_style_pick(backend):
    a, x = _x()
    t = graphc.tensor([4, 3, 2, 1])
    f = graphc.compile(lambda x, t: -x.log_softmax(1)[range(x.shape[0]), t].mean(), backend=backend)
    for _ in range(3):
        got = f(x, t).item()
    ls = a - a.max(1, keepdims=True)
    ls = ls - np.log(np.exp(ls).sum(1, keepdims=True))
    assert got == pytest.approx(-ls[np.arange(4), [4, 3, 2, 1]].mean(), rel=1e-12)
