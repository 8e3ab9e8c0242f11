"""Sampling (``multinomial``, ``bernoulli``, the random in-place fills, ``randint(high, size)``)
against the distributions' closed forms, eagerly and under ``@graphc.compile``.

Frequencies are compared with their expectation within 6 standard errors on fixed seeds;
the references are written here in float64 (inclusion probabilities of sampling without
replacement, CDFs of the exponential, Cauchy and geometric laws).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import graphc

N = 40_000


def _freq(samples, k):
    return np.bincount(np.asarray(samples).reshape(-1), minlength=k) / np.asarray(samples).size


def _close(freq, p, n, z=6.0):
    p = np.asarray(p, dtype=np.float64)
    se = np.sqrt(np.maximum(p * (1 - p), 1e-12) / n)
    assert np.all(np.abs(freq - p) <= z * se + 1e-12), (freq, p)


def _inclusion(p, n):
    """P(category i is among n draws without replacement, each in proportion to the weights left)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    for seq in itertools.permutations(range(len(p)), n):
        prob, left = 1.0, 1.0
        for j in seq:
            prob *= p[j] / left
            left -= p[j]
        for j in seq:
            out[j] += prob
    return out


def test_multinomial_with_replacement_frequencies_and_zero_weight():
    graphc.manual_seed(0)
    w = graphc.tensor([1.0, 0.0, 3.0, 6.0])  # unnormalized weights
    s = graphc.multinomial(w, N, replacement=True)
    assert s.dtype is graphc.int64 and tuple(s.shape) == (N,)
    f = _freq(s.numpy(), 4)
    assert f[1] == 0
    _close(f, [0.1, 0.0, 0.3, 0.6], N)


def test_multinomial_rows_are_independent_distributions():
    graphc.manual_seed(1)
    w = graphc.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype=graphc.float64)
    s = graphc.multinomial(w, 2000, True).numpy()
    assert np.all(s[0] == 1)
    assert set(np.unique(s[1])) == {0, 2}
    _close(_freq(s[1], 3), [0.5, 0.0, 0.5], 2000)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_multinomial_without_replacement_inclusion_probabilities(n):
    graphc.manual_seed(2)
    p = np.array([0.5, 0.3, 0.15, 0.05])
    rows = 20_000
    s = graphc.multinomial(graphc.tensor(np.tile(p, (rows, 1))), n).numpy()
    assert s.shape == (rows, n)
    assert all(len(set(r)) == n for r in s[:500])  # no repeats within a row
    _close(_freq(s[:, 0], 4), p, rows)  # the first draw follows the weights
    counts = np.bincount(s.reshape(-1), minlength=4) / rows
    _close(counts, _inclusion(p, n), rows)


def test_multinomial_without_replacement_many_samples_is_a_permutation():
    graphc.manual_seed(3)
    s = graphc.multinomial(graphc.ones(12), 12).numpy()
    assert sorted(s.tolist()) == list(range(12))


def test_multinomial_generator_reproducible():
    w = graphc.rand(3, 7)
    a = graphc.multinomial(w, 5, True, generator=graphc.Generator().manual_seed(7))
    b = graphc.multinomial(w, 5, True, generator=graphc.Generator().manual_seed(7))
    c = w.multinomial(5, generator=graphc.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert c.shape == (3, 5)


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        graphc.multinomial(graphc.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        graphc.multinomial(graphc.ones(3), 4)
    with pytest.raises(RuntimeError, match="element < 0"):
        graphc.multinomial(graphc.tensor([0.5, -0.1]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        graphc.multinomial(graphc.zeros(3), 1, True)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        graphc.multinomial(graphc.tensor([1.0, 0.0, 0.0]), 2)
    with pytest.raises(RuntimeError, match="floating-point"):
        graphc.multinomial(graphc.tensor([1, 2]), 1)


def test_bernoulli_function_and_method():
    graphc.manual_seed(4)
    p = graphc.tensor([0.0, 0.25, 1.0]).expand(N, 3)
    s = graphc.bernoulli(p)
    assert s.dtype is graphc.float32 and s.shape == (N, 3)
    m = s.numpy().mean(0)
    assert m[0] == 0 and m[2] == 1
    _close(np.array([m[1]]), [0.25], N)
    half = graphc.bernoulli(graphc.zeros(N, dtype=graphc.float64), 0.5)
    _close(np.array([half.numpy().mean()]), [0.5], N)
    filled = graphc.empty(N).bernoulli_(0.75)
    _close(np.array([filled.numpy().mean()]), [0.75], N)
    with pytest.raises(RuntimeError, match="p_in >= 0"):
        graphc.bernoulli(graphc.tensor([1.5]))


def _ecdf_close(x, cdf, points, n):
    for q in points:
        emp = float(np.mean(x <= q))
        ref = cdf(q)
        assert abs(emp - ref) <= 6 * math.sqrt(max(ref * (1 - ref), 1e-12) / n) + 1e-9, (q, emp, ref)


def test_exponential_fill_matches_cdf():
    graphc.manual_seed(5)
    x = graphc.empty(N, dtype=graphc.float64).exponential_(2.0).numpy()
    assert x.min() >= 0
    _ecdf_close(x, lambda q: 1 - math.exp(-2.0 * q), [0.05, 0.2, 0.5, 1.0, 2.0], N)
    with pytest.raises(RuntimeError, match="lambda > 0"):
        graphc.empty(2).exponential_(0.0)


def test_cauchy_geometric_log_normal_fills():
    graphc.manual_seed(6)
    c = graphc.empty(N, dtype=graphc.float64).cauchy_(1.0, 2.0).numpy()
    _ecdf_close(c, lambda q: 0.5 + math.atan((q - 1.0) / 2.0) / math.pi, [-3.0, 0.0, 1.0, 3.0, 10.0], N)
    g = graphc.empty(N).geometric_(0.3).numpy()
    assert g.min() >= 1 and np.all(g == np.round(g))
    _ecdf_close(g, lambda q: 1 - 0.7 ** math.floor(q), [1, 2, 3, 5], N)
    ln = graphc.empty(N, dtype=graphc.float64).log_normal_(0.5, 0.25).numpy()
    _ecdf_close(np.log(ln), lambda q: 0.5 * (1 + math.erf((q - 0.5) / (0.25 * math.sqrt(2)))), [0.2, 0.5, 0.7], N)


def test_normal_uniform_with_generator_leave_the_default_stream_alone():
    graphc.manual_seed(0)
    ref = graphc.rand(4).numpy().copy()
    graphc.manual_seed(0)
    a = graphc.empty(1000).normal_(3.0, 0.5, generator=graphc.Generator().manual_seed(11))
    b = graphc.empty(1000).normal_(3.0, 0.5, generator=graphc.Generator().manual_seed(11))
    u = graphc.empty(1000).uniform_(-2.0, 1.0, generator=graphc.Generator().manual_seed(12))
    np.testing.assert_array_equal(graphc.rand(4).numpy(), ref)  # the generators drew, not the default
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(a.numpy().mean() - 3.0) < 6 * 0.5 / math.sqrt(1000)
    assert u.numpy().min() >= -2.0 and u.numpy().max() < 1.0


def test_randint_high_size_positional():
    graphc.manual_seed(0)
    r = graphc.randint(5, (1000,))
    assert r.dtype is graphc.int64 and r.shape == (1000,)
    assert set(np.unique(r.numpy())) == {0, 1, 2, 3, 4}
    r2 = graphc.randint(3, 6, (2, 3))
    assert r2.numpy().min() >= 3 and r2.numpy().max() <= 5 and r2.shape == (2, 3)
    r3 = graphc.randint(4, size=(7,), generator=graphc.Generator().manual_seed(1))
    assert r3.shape == (7,)


# -- under @graphc.compile ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_compiled_sampling_is_fresh_per_call_and_distributed(backend):
    graphc.manual_seed(8)
    logits = graphc.tensor([[0.0, math.log(3.0), -math.inf]])

    def sample(logits):
        probs = graphc.softmax(logits, dim=-1).expand(500, 3)
        a = graphc.multinomial(probs, 1)
        b = graphc.multinomial(probs, 2)
        keep = graphc.bernoulli(probs)
        return a, b, keep

    f = graphc.compile(sample, backend=backend)
    outs = [f(logits) for _ in range(4)]
    assert f.cache_info().traces == 1
    firsts = np.concatenate([o[0].numpy().reshape(-1) for o in outs[1:]])
    assert 2 not in firsts
    _close(_freq(firsts, 3), [0.25, 0.75, 0.0], firsts.size)
    pairs = np.concatenate([o[1].numpy() for o in outs[1:]])
    assert np.all(np.sort(pairs, axis=1) == [0, 1])  # both non-zero categories, never the -inf one
    assert not np.array_equal(outs[2][0].numpy(), outs[3][0].numpy())  # a fresh seed each call
    keep = np.concatenate([o[2].numpy() for o in outs[1:]])
    _close(keep.mean(0), [0.25, 0.75, 0.0], keep.shape[0])
