"""graphc.distributions: kl_divergence (closed forms written here in float64, and a Monte Carlo
check E_p[log p - log q] for each registered pair), register_kl and PyTorch's
NotImplementedError, the transforms (values, inverses, log|det J| against finite-difference
Jacobians), TransformedDistribution densities by change of variables, and constraints."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import distributions as D
from graphc.autograd import gradcheck
from graphc.distributions import constraints
from graphc.distributions import transforms as Tr

F64 = graphc.float64
RNG = np.random.default_rng(8)


def T(a, requires_grad=False):
    return graphc.tensor(np.asarray(a, dtype=np.float64), dtype=F64, requires_grad=requires_grad)


def N(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _spd(n):
    a = RNG.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


S1, S2 = _spd(3), _spd(3)
PAIRS = {
    "Normal": (lambda: D.Normal(T([0.3, -1.0]), T([0.7, 1.5])), lambda: D.Normal(T([0.0, 0.5]), T([1.2, 0.9]))),
    "Bernoulli": (lambda: D.Bernoulli(T([0.3, 0.8])), lambda: D.Bernoulli(T([0.5, 0.6]))),
    "Categorical": (lambda: D.Categorical(T([0.1, 0.2, 0.7])), lambda: D.Categorical(T([0.3, 0.3, 0.4]))),
    "OneHotCategorical": (lambda: D.OneHotCategorical(T([0.1, 0.2, 0.7])),
                          lambda: D.OneHotCategorical(T([0.3, 0.3, 0.4]))),
    "Beta": (lambda: D.Beta(T([2.0, 0.8]), T([3.0, 1.5])), lambda: D.Beta(T([1.5, 2.0]), T([1.0, 2.5]))),
    "Gamma": (lambda: D.Gamma(T([2.0, 0.8]), T([3.0, 1.5])), lambda: D.Gamma(T([1.5, 2.0]), T([1.0, 2.5]))),
    "Dirichlet": (lambda: D.Dirichlet(T([2.0, 0.8, 1.5])), lambda: D.Dirichlet(T([1.0, 1.5, 3.0]))),
    "Exponential": (lambda: D.Exponential(T([0.5, 2.0])), lambda: D.Exponential(T([1.5, 1.0]))),
    "Laplace": (lambda: D.Laplace(T([0.3, -1.0]), T([0.7, 1.5])), lambda: D.Laplace(T([0.0, 0.5]), T([1.2, 0.9]))),
    "Uniform": (lambda: D.Uniform(T([0.0, 1.0]), T([1.0, 1.5])), lambda: D.Uniform(T([-1.0, 0.5]), T([2.0, 3.0]))),
    "Poisson": (lambda: D.Poisson(T([0.7, 4.0])), lambda: D.Poisson(T([1.5, 3.0]))),
    "MultivariateNormal": (lambda: D.MultivariateNormal(T([0.1, 0.2, -0.3]), T(S1)),
                           lambda: D.MultivariateNormal(T([0.0, 0.5, 0.1]), T(S2))),
    "Independent": (lambda: D.Independent(D.Normal(T([0.3, -1.0]), T([0.7, 1.5])), 1),
                    lambda: D.Independent(D.Normal(T([0.0, 0.5]), T([1.2, 0.9])), 1)),
}


def _closed_form(name, p, q):
    if name in ("Normal",):
        m1, s1, m2, s2 = N(p.loc), N(p.scale), N(q.loc), N(q.scale)
        return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    if name == "Independent":
        return _closed_form("Normal", p.base_dist, q.base_dist).sum()
    if name == "Bernoulli":
        a, b = N(p.probs), N(q.probs)
        return a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))
    if name in ("Categorical", "OneHotCategorical"):
        a, b = N(p.probs), N(q.probs)
        return (a * np.log(a / b)).sum(-1)
    if name == "Beta":
        a1, b1, a2, b2 = N(p.concentration1), N(p.concentration0), N(q.concentration1), N(q.concentration0)
        lb = np.vectorize(lambda a, b: math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
        dg = N(graphc.special.digamma(T([a1, b1, a1 + b1])))
        return lb(a2, b2) - lb(a1, b1) + (a1 - a2) * dg[0] + (b1 - b2) * dg[1] + (a2 - a1 + b2 - b1) * dg[2]
    if name == "Gamma":
        a1, r1, a2, r2 = N(p.concentration), N(p.rate), N(q.concentration), N(q.rate)
        lg = np.vectorize(math.lgamma)
        return ((a1 - a2) * N(graphc.special.digamma(T(a1))) - lg(a1) + lg(a2) + a2 * np.log(r1 / r2)
                + a1 * (r2 - r1) / r1)
    if name == "Dirichlet":
        a, b = N(p.concentration), N(q.concentration)
        lg = np.vectorize(math.lgamma)
        dg = N(graphc.special.digamma(T(a))) - N(graphc.special.digamma(T(a.sum())))
        return lg(a.sum()) - lg(a).sum() - lg(b.sum()) + lg(b).sum() + ((a - b) * dg).sum()
    if name == "Exponential":
        a, b = N(p.rate), N(q.rate)
        return np.log(a / b) + b / a - 1
    if name == "Laplace":
        m1, s1, m2, s2 = N(p.loc), N(p.scale), N(q.loc), N(q.scale)
        d = np.abs(m1 - m2)
        return np.log(s2 / s1) + d / s2 + s1 / s2 * np.exp(-d / s1) - 1
    if name == "Uniform":
        return np.log((N(q.high) - N(q.low)) / (N(p.high) - N(p.low)))
    if name == "Poisson":
        a, b = N(p.rate), N(q.rate)
        return a * np.log(a / b) - a + b
    if name == "MultivariateNormal":
        m1, m2 = N(p.loc), N(q.loc)
        inv2 = np.linalg.inv(S2)
        return 0.5 * (np.trace(inv2 @ S1) + (m2 - m1) @ inv2 @ (m2 - m1) - 3
                      + np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(PAIRS))
def test_kl_closed_forms_and_monte_carlo(name):
    mp, mq = PAIRS[name]
    p, q = mp(), mq()
    kl = N(D.kl_divergence(p, q))
    assert np.allclose(kl, _closed_form(name, p, q), rtol=1e-10, atol=1e-12)
    graphc.manual_seed(0)
    n = 100000
    x = p.sample((n,))
    diff = N(p.log_prob(x) - q.log_prob(x))
    assert np.all(np.abs(diff.mean(0) - kl) < 5 * diff.std(0) / math.sqrt(n) + 1e-9)


def test_kl_gradients_by_finite_differences():
    def f(m1, s1, m2, s2):
        return D.kl_divergence(D.Normal(m1, s1), D.Normal(m2, s2))

    assert gradcheck(f, [T([0.3], True), T([0.7], True), T([0.0], True), T([1.2], True)], eps=1e-6, atol=1e-6)

    def g(a1, b1, a2, b2):
        return D.kl_divergence(D.Beta(a1, b1), D.Beta(a2, b2)) + D.kl_divergence(D.Gamma(a1, b1), D.Gamma(a2, b2))

    assert gradcheck(g, [T([2.0], True), T([3.0], True), T([1.5], True), T([1.0], True)], eps=1e-6, atol=1e-5)


def test_kl_unregistered_pair_and_register_kl():
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q type StudentT"):
        D.kl_divergence(D.Normal(T(0.0), T(1.0)), D.StudentT(T(3.0)))
    assert math.isinf(float(N(D.kl_divergence(D.Normal(T(0.0), T(1.0)), D.Uniform(T(0.0), T(1.0))))))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.StudentT)
    def _kl(p, q):
        return graphc.zeros(())

    assert float(N(D.kl_divergence(MyNormal(T(0.0), T(1.0)), D.StudentT(T(3.0))))) == 0.0
    with pytest.raises(TypeError):
        D.register_kl(1, D.Normal)


TRANSFORMS = [
    (lambda: Tr.ExpTransform(), [-1.0, 0.5]),
    (lambda: Tr.AffineTransform(T(0.5), T(-2.0)), [-1.0, 0.5]),
    (lambda: Tr.SigmoidTransform(), [-1.0, 0.5]),
    (lambda: Tr.TanhTransform(), [-1.0, 0.5]),
    (lambda: Tr.PowerTransform(T(1.7)), [0.6, 1.5]),
    (lambda: Tr.SoftplusTransform(), [-1.0, 0.5]),
    (lambda: Tr.ComposeTransform([Tr.AffineTransform(1.0, 2.0), Tr.SigmoidTransform()]), [-1.0, 0.5]),
    (lambda: Tr.ExpTransform().inv, [0.3, 2.5]),
]


@pytest.mark.parametrize("i", range(len(TRANSFORMS)))
def test_elementwise_transforms_inverse_and_log_det(i):
    make, xs = TRANSFORMS[i]
    t = make()
    x = T(xs)
    y = t(x)
    assert np.allclose(N(t.inv(y)), xs, atol=1e-12)
    h = 1e-6
    fd = (N(t(T(np.array(xs) + h))) - N(t(T(np.array(xs) - h)))) / (2 * h)
    assert np.allclose(N(t.log_abs_det_jacobian(x, y)), np.log(np.abs(fd)), atol=1e-7)


def test_softmax_and_stick_breaking():
    x = RNG.standard_normal((2, 4))
    y = N(Tr.SoftmaxTransform()(T(x)))
    assert np.allclose(y, np.exp(x) / np.exp(x).sum(-1, keepdims=True))
    sb = Tr.StickBreakingTransform()
    z = RNG.standard_normal((2, 3))
    w = sb(T(z))
    assert np.allclose(N(w).sum(-1), 1) and N(w).shape == (2, 4)
    assert np.allclose(N(sb.inv(w)), z, atol=1e-10)
    # log|det J| of the map to the first 3 coordinates, by finite differences
    h = 1e-6
    for r in range(2):
        J = np.stack([(N(sb(T(z[r] + h * e)))[:3] - N(sb(T(z[r] - h * e)))[:3]) / (2 * h) for e in np.eye(3)], 1)
        assert N(sb.log_abs_det_jacobian(T(z), w))[r] == pytest.approx(np.linalg.slogdet(J)[1], abs=1e-6)


def test_transformed_distribution_change_of_variables():
    base = D.Normal(T([0.2, -0.4]), T([0.8, 1.3]))
    d = D.TransformedDistribution(base, [Tr.AffineTransform(T(1.0), T(2.0)), Tr.SigmoidTransform()])
    y = np.array([0.3, 0.85])
    u = np.log(y / (1 - y))
    x = (u - 1.0) / 2.0
    base_lp = -((x - np.array([0.2, -0.4])) ** 2) / (2 * np.array([0.8, 1.3]) ** 2) - np.log(np.array([0.8, 1.3])) \
        - 0.5 * math.log(2 * math.pi)
    want = base_lp - math.log(2.0) - np.log(y * (1 - y))
    assert np.allclose(N(d.log_prob(T(y))), want, atol=1e-12)
    assert d.support.check(d.sample((100,))).all().item() and d.has_rsample
    assert np.allclose(N(d.cdf(d.icdf(T([0.25, 0.6])))), [0.25, 0.6])
    assert gradcheck(lambda m, s: D.TransformedDistribution(D.Normal(m, s), [Tr.ExpTransform()]).log_prob(T(y)),
                     [T([0.2, -0.4], True), T([0.8, 1.3], True)], eps=1e-6, atol=1e-6)
    ln = D.LogNormal(T([0.2, -0.4]), T([0.8, 1.3]))
    tdist = D.TransformedDistribution(D.Normal(T([0.2, -0.4]), T([0.8, 1.3])), [Tr.ExpTransform()])
    assert np.allclose(N(ln.log_prob(T(y))), N(tdist.log_prob(T(y))))


def test_constraints():
    x = T([-1.0, 0.0, 0.5, 1.0, 2.0])
    assert N(constraints.real.check(x)).tolist() == [True] * 5
    assert N(constraints.positive.check(x)).tolist() == [False, False, True, True, True]
    assert N(constraints.nonnegative.check(x)).tolist() == [False, True, True, True, True]
    assert N(constraints.unit_interval.check(x)).tolist() == [False, True, True, True, False]
    assert N(constraints.interval(0.0, 1.0).check(x)).tolist() == [False, True, True, True, False]
    assert N(constraints.greater_than(0.5).check(x)).tolist() == [False, False, False, True, True]
    assert N(constraints.boolean.check(x)).tolist() == [False, True, False, True, False]
    assert N(constraints.nonnegative_integer.check(x)).tolist() == [False, True, False, True, True]
    assert N(constraints.integer_interval(0, 1).check(x)).tolist() == [False, True, False, True, False]
    assert N(constraints.simplex.check(T([[0.2, 0.8], [0.5, 0.6]]))).tolist() == [True, False]
    assert N(constraints.real_vector.check(T([[0.0, 1.0]]))).tolist() == [True]
    assert N(constraints.lower_cholesky.check(T([[[1.0, 0.0], [2.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]]]))).tolist() == [True, False]
    assert N(constraints.positive_definite.check(T([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]]))).tolist() == [True, False]
    ind = constraints.independent(constraints.positive, 1)
    assert N(ind.check(T([[1.0, 2.0], [1.0, -1.0]]))).tolist() == [True, False]
    assert repr(constraints.interval(0.0, 1.0)) == "Interval(lower_bound=0.0, upper_bound=1.0)"
    assert repr(D.Normal.arg_constraints) == "{'loc': Real(), 'scale': GreaterThan(lower_bound=0.0)}"
    assert constraints.is_dependent(D.Uniform.support)
