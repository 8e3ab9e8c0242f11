"""graphc.distributions, discrete and multivariate families: Bernoulli, Categorical,
OneHotCategorical, Poisson, Binomial, Geometric, Dirichlet, MultivariateNormal (three
parameterizations), LowRankMultivariateNormal, Independent, MixtureSameFamily and the
relaxed families, against float64 closed forms (math.lgamma, numpy.linalg), exact sums over
the support, finite-difference gradients and sample statistics with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import distributions as D
from graphc.autograd import gradcheck

F64 = graphc.float64
RNG = np.random.default_rng(5)


def T(a, requires_grad=False):
    return graphc.tensor(np.asarray(a, dtype=np.float64), dtype=F64, requires_grad=requires_grad)


def N(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


P = np.array([0.2, 0.65])


def test_bernoulli_probs_and_logits():
    for d in (D.Bernoulli(T(P)), D.Bernoulli(logits=T(np.log(P / (1 - P))))):
        assert np.allclose(N(d.log_prob(T([1.0, 0.0]))), [math.log(P[0]), math.log(1 - P[1])], atol=1e-14)
        ent = -(P * np.log(P) + (1 - P) * np.log(1 - P))
        assert np.allclose(N(d.entropy()), ent, atol=1e-14)
        assert np.allclose(N(d.mean), P) and np.allclose(N(d.variance), P * (1 - P))
        assert np.allclose(N(d.probs), P) and np.allclose(N(d.logits), np.log(P / (1 - P)))
    assert N(D.Bernoulli(T(P)).enumerate_support()).tolist() == [[0.0, 0.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli(T(P), logits=T(P))
    with pytest.raises(ValueError, match=r"to be within the support \(Boolean\(\)\)"):
        D.Bernoulli(T(P)).log_prob(T([0.5, 1.0]))


W = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.25, 0.125, 0.125]])


def test_categorical_and_one_hot():
    d = D.Categorical(T(W))
    assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == ()
    v = T([3.0, 1.0])
    assert np.allclose(N(d.log_prob(v)), [math.log(0.4), math.log(0.25)], atol=1e-14)
    assert np.allclose(N(d.entropy()), -(W * np.log(W)).sum(-1), atol=1e-14)
    dl = D.Categorical(logits=T(np.log(W) + 3.0))  # unnormalized logits
    assert np.allclose(N(dl.probs), W) and np.allclose(N(dl.log_prob(v)), N(d.log_prob(v)))
    assert N(d.enumerate_support()).tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]
    assert N(d.mode).tolist() == [3, 0]
    o = D.OneHotCategorical(T(W))
    assert tuple(o.event_shape) == (4,)
    assert np.allclose(N(o.log_prob(T(np.eye(4)[[3, 1]]))), N(d.log_prob(v)))
    assert np.allclose(N(o.mean), W) and np.allclose(N(o.variance), W * (1 - W))
    graphc.manual_seed(0)
    n = 40000
    s = N(d.sample((n,)))
    for r in range(2):
        freq = np.bincount(s[:, r].astype(int), minlength=4) / n
        assert np.all(np.abs(freq - W[r]) < 5 * np.sqrt(W[r] * (1 - W[r]) / n))
    so = N(o.sample((n,)))
    assert so.shape == (n, 2, 4) and np.all(so.sum(-1) == 1)
    assert np.all(np.abs(so.mean(0) - W) < 5 * np.sqrt(W * (1 - W) / n))
    with pytest.raises(ValueError, match=r"Expected parameter probs .* to satisfy the constraint Simplex\(\)"):
        D.Categorical(T([0.5, -0.1]))
    assert gradcheck(lambda lg: D.Categorical(logits=lg).log_prob(v) + D.Categorical(logits=lg).entropy(),
                     [T(np.log(W), True)], eps=1e-6, atol=1e-6)


def test_poisson_binomial_geometric_log_prob_and_moments():
    rate, k = np.array([0.7, 4.5]), np.array([2.0, 5.0])
    d = D.Poisson(T(rate))
    want = k * np.log(rate) - rate - np.array([math.lgamma(x + 1) for x in k])
    assert np.allclose(N(d.log_prob(T(k))), want, atol=1e-13)
    assert np.allclose(N(d.mean), rate) and np.allclose(N(d.variance), rate)
    n, p = np.array([6.0, 10.0]), np.array([0.3, 0.75])
    b = D.Binomial(T(n), T(p))
    lc = np.array([math.lgamma(a + 1) - math.lgamma(x + 1) - math.lgamma(a - x + 1) for a, x in zip(n, k)])
    assert np.allclose(N(b.log_prob(T(k))), lc + k * np.log(p) + (n - k) * np.log1p(-p), atol=1e-12)
    assert np.allclose(N(b.mean), n * p) and np.allclose(N(b.variance), n * p * (1 - p))
    b6 = D.Binomial(6, T(0.3))
    support = N(b6.enumerate_support())
    assert support.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert math.isclose(np.exp(N(b6.log_prob(T(support)))).sum(), 1.0, rel_tol=1e-12)
    ent = -(np.exp(N(b6.log_prob(T(support)))) * N(b6.log_prob(T(support)))).sum()
    assert float(N(b6.entropy())) == pytest.approx(ent, rel=1e-12)
    g = D.Geometric(T(p))  # failures before the first success: 0, 1, ...
    assert np.allclose(N(g.log_prob(T(k))), k * np.log1p(-p) + np.log(p), atol=1e-13)
    assert np.allclose(N(g.mean), (1 - p) / p) and np.allclose(N(g.variance), (1 - p) / p**2)
    with pytest.raises(ValueError, match=r"IntegerGreaterThan\(lower_bound=0\)"):
        d.log_prob(T([1.5, 1.0]))
    assert gradcheck(lambda r: D.Poisson(r).log_prob(T(k)), [T(rate, True)], eps=1e-6, atol=1e-6)
    assert gradcheck(lambda q: D.Binomial(T(n), q).log_prob(T(k)) + D.Geometric(q).entropy(), [T(p, True)],
                     eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["Poisson", "Binomial", "Geometric", "Bernoulli"])
def test_discrete_sample_statistics(name):
    d = {"Poisson": lambda: D.Poisson(T([0.7, 4.5])), "Binomial": lambda: D.Binomial(T([6.0, 10.0]), T([0.3, 0.75])),
         "Geometric": lambda: D.Geometric(T([0.3, 0.75])), "Bernoulli": lambda: D.Bernoulli(T(P))}[name]()
    graphc.manual_seed(11)
    n = 40000
    s = N(d.sample((n,)))
    assert s.shape == (n, 2) and np.all(s == np.round(s)) and d.support.check(T(s)).all().item()
    assert np.all(np.abs(s.mean(0) - N(d.mean)) < 5 * np.sqrt(N(d.variance) / n))
    assert np.allclose(s.var(0), N(d.variance), rtol=0.06)
    graphc.manual_seed(11)
    assert np.array_equal(N(d.sample((n,))), s)
    assert not d.has_rsample


ALPHA = np.array([[0.8, 2.0, 3.5], [1.5, 1.5, 0.5]])


def test_dirichlet():
    d = D.Dirichlet(T(ALPHA))
    x = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    a0 = ALPHA.sum(-1)
    want = [math.lgamma(s) - sum(math.lgamma(a) for a in al) + ((al - 1) * np.log(xx)).sum()
            for s, al, xx in zip(a0, ALPHA, x)]
    assert np.allclose(N(d.log_prob(T(x))), want, atol=1e-12)
    assert np.allclose(N(d.mean), ALPHA / a0[:, None])
    m = ALPHA / a0[:, None]
    assert np.allclose(N(d.variance), m * (1 - m) / (a0[:, None] + 1))
    graphc.manual_seed(2)
    n = 40000
    s = N(d.sample((n,)))
    assert np.allclose(s.sum(-1), 1.0) and np.all(s > 0)
    assert np.all(np.abs(s.mean(0) - N(d.mean)) < 5 * np.sqrt(N(d.variance) / n))
    a = T(ALPHA, True)
    graphc.manual_seed(2)
    D.Dirichlet(a).rsample((n,))[..., 0].mean(0).sum().backward()  # d E[x_0] / d alpha = d (a_0 / sum a) / d alpha
    want_g = np.zeros_like(ALPHA)
    want_g[:, 0] = 1 / a0 - ALPHA[:, 0] / a0**2
    want_g[:, 1:] = -ALPHA[:, :1] / a0[:, None] ** 2
    assert np.allclose(N(a.grad), want_g, atol=0.01)
    assert gradcheck(lambda c: D.Dirichlet(c).log_prob(T(x)) + D.Dirichlet(c).entropy(), [T(ALPHA, True)],
                     eps=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match=r"Simplex\(\)"):
        d.log_prob(T([[0.2, 0.2, 0.2], [0.1, 0.6, 0.3]]))


def _spd(n):
    a = RNG.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _mvn_logpdf(x, mu, cov):
    k = len(mu)
    diff = x - mu
    return -0.5 * (diff @ np.linalg.solve(cov, diff) + k * math.log(2 * math.pi) + np.linalg.slogdet(cov)[1])


def test_multivariate_normal_three_parameterizations():
    cov, mu = _spd(3), RNG.standard_normal(3)
    x = RNG.standard_normal((4, 3))
    want = [_mvn_logpdf(xx, mu, cov) for xx in x]
    ent = 0.5 * (3 * (1 + math.log(2 * math.pi)) + np.linalg.slogdet(cov)[1])
    for kw in (dict(covariance_matrix=T(cov)), dict(precision_matrix=T(np.linalg.inv(cov))),
               dict(scale_tril=T(np.linalg.cholesky(cov)))):
        d = D.MultivariateNormal(T(mu), **kw)
        assert tuple(d.event_shape) == (3,) and tuple(d.batch_shape) == ()
        assert np.allclose(N(d.log_prob(T(x))), want, atol=1e-11)
        assert float(N(d.entropy())) == pytest.approx(ent, rel=1e-12)
        assert np.allclose(N(d.covariance_matrix), cov) and np.allclose(N(d.precision_matrix), np.linalg.inv(cov))
        assert np.allclose(N(d.variance), np.diag(cov)) and np.allclose(N(d.mean), mu)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.MultivariateNormal(T(mu))
    with pytest.raises(ValueError, match=r"PositiveDefinite\(\)"):
        D.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]]))
    d = D.MultivariateNormal(T(mu), T(cov))
    graphc.manual_seed(4)
    s = N(d.rsample((50000,)))
    assert np.allclose(s.mean(0), mu, atol=5 * np.sqrt(np.diag(cov).max() / 50000))
    assert np.allclose(np.cov(s.T), cov, atol=0.05 * np.abs(cov).max())
    L = np.linalg.cholesky(cov)
    assert gradcheck(lambda m, lt: D.MultivariateNormal(m, scale_tril=lt, validate_args=False).log_prob(T(x)),
                     [T(mu, True), T(L, True)], eps=1e-6, atol=1e-6)


def test_lowrank_multivariate_normal_matches_dense():
    mu, W_, dg = RNG.standard_normal(3), RNG.standard_normal((3, 2)), np.array([0.5, 1.0, 2.0])
    cov = W_ @ W_.T + np.diag(dg)
    d = D.LowRankMultivariateNormal(T(mu), T(W_), T(dg))
    x = RNG.standard_normal((4, 3))
    assert np.allclose(N(d.log_prob(T(x))), [_mvn_logpdf(xx, mu, cov) for xx in x], atol=1e-11)
    assert np.allclose(N(d.covariance_matrix), cov) and np.allclose(N(d.variance), np.diag(cov))
    assert float(N(d.entropy())) == pytest.approx(0.5 * (3 * (1 + math.log(2 * math.pi)) + np.linalg.slogdet(cov)[1]))
    graphc.manual_seed(9)
    s = N(d.rsample((50000,)))
    assert np.allclose(np.cov(s.T), cov, atol=0.05 * np.abs(cov).max())


def test_independent_and_mixture_same_family():
    loc, scale = RNG.standard_normal((2, 3)), RNG.uniform(0.5, 2, (2, 3))
    base = D.Normal(T(loc), T(scale))
    ind = D.Independent(base, 1)
    assert tuple(ind.batch_shape) == (2,) and tuple(ind.event_shape) == (3,)
    x = RNG.standard_normal((5, 2, 3))
    assert np.allclose(N(ind.log_prob(T(x))), N(base.log_prob(T(x))).sum(-1))
    assert np.allclose(N(ind.entropy()), N(base.entropy()).sum(-1))
    assert repr(ind) == "Independent(Normal(loc: graphc.Size([2, 3]), scale: graphc.Size([2, 3])), 1)"
    with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims <= len"):
        D.Independent(base, 3)
    logits = RNG.standard_normal(4)
    mloc, msc = RNG.standard_normal(4), RNG.uniform(0.5, 2, 4)
    mix = D.MixtureSameFamily(D.Categorical(logits=T(logits)), D.Normal(T(mloc), T(msc)))
    w = np.exp(logits) / np.exp(logits).sum()
    y = RNG.standard_normal(6)
    dens = (w * np.exp(-((y[:, None] - mloc) ** 2) / (2 * msc**2)) / (msc * math.sqrt(2 * math.pi))).sum(-1)
    assert np.allclose(N(mix.log_prob(T(y))), np.log(dens), atol=1e-12)
    mean = (w * mloc).sum()
    assert float(N(mix.mean)) == pytest.approx(mean)
    assert float(N(mix.variance)) == pytest.approx((w * (msc**2 + mloc**2)).sum() - mean**2)
    graphc.manual_seed(6)
    s = N(mix.sample((50000,)))
    assert abs(s.mean() - mean) < 5 * math.sqrt(float(N(mix.variance)) / 50000)
    with pytest.raises(ValueError, match=r"`mixture_distribution component` \(3\) does not equal"):
        D.MixtureSameFamily(D.Categorical(T(np.ones(3) / 3)), D.Normal(T(np.zeros(2)), T(np.ones(2))))
    assert gradcheck(lambda lg, m: D.MixtureSameFamily(D.Categorical(logits=lg), D.Normal(m, T(msc))).log_prob(T(y)),
                     [T(logits, True), T(mloc, True)], eps=1e-6, atol=1e-6)


def test_relaxed_families():
    temp, p = T(0.5), np.array([0.3, 0.8])
    rb = D.RelaxedBernoulli(temp, probs=T(p))
    x = np.array([0.2, 0.9])
    lg = np.log(p / (1 - p))
    diff = lg - 0.5 * np.log(x / (1 - x))  # logits - temperature * logit(x)
    want = math.log(0.5) + diff - 2 * np.log1p(np.exp(diff)) - np.log(x * (1 - x))
    assert np.allclose(N(rb.log_prob(T(x))), want, atol=1e-12)
    graphc.manual_seed(1)
    s = N(rb.rsample((20000,)))
    assert np.all((s > 0) & (s < 1)) and np.all(np.abs((s > 0.5).mean(0) - p) < 0.02)  # P(x > 1/2) = p
    rc = D.RelaxedOneHotCategorical(temp, logits=T(np.log(W)))
    graphc.manual_seed(1)
    sc = N(rc.rsample((20000,)))
    assert np.allclose(sc.sum(-1), 1.0) and np.all(np.abs(np.bincount(sc[:, 0].argmax(-1), minlength=4) / 20000 - W[0]) < 0.02)
    assert rb.has_rsample and rc.has_rsample
