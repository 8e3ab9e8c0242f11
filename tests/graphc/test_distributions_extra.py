"""graphc.distributions, beyond the acceptance suite: the accuracy of Gamma's implicit
reparameterization gradient over a wide range of shapes and quantiles (checked by the CDF
identity P(a + h, x + h dx/da) == P(a - h, x - h dx/da)), Monte Carlo checks of the cross-family KL pairs,
expand of the composite families and the transform objects' reprs and constraints."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import distributions as D
from graphc.distributions import transforms as Tr

F64 = graphc.float64


def T(a, requires_grad=False):
    return graphc.tensor(np.asarray(a, dtype=np.float64), dtype=F64, requires_grad=requires_grad)


def N(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 4.0, 50.0, 1000.0])
def test_gamma_implicit_gradient_accurate_over_quantiles(a):
    from graphc.distributions._sampling import standard_gamma_grad

    alpha = np.full(5, a)
    graphc.manual_seed(0)
    x = N(D.Gamma(T(alpha), T(1.0)).sample())
    g = standard_gamma_grad(alpha, x)
    h = 1e-6 * min(a, math.sqrt(a))  # the scale on which P(a, x) changes with a

    def P(aa, xx):
        return N(graphc.special.gammainc(T(aa), T(xx)))

    moved = P(alpha + h, x + h * g) - P(alpha - h, x - h * g)  # O(h^3) when g is right
    unmoved = P(alpha + h, x) - P(alpha - h, x)  # O(h)
    assert np.all(np.abs(moved) <= 1e-6 * np.abs(unmoved))


def test_gamma_family_rsample_gradients_flow():
    df = T([3.0, 7.0], True)
    graphc.manual_seed(1)
    D.StudentT(df, T(0.0), T(1.0)).rsample((100,)).pow(2).mean().backward()
    assert np.all(np.isfinite(N(df.grad)))
    c = T([1.0, 2.0, 3.0], True)
    D.Dirichlet(c).rsample((10,))[..., 0].sum().backward()
    assert np.all(np.isfinite(N(c.grad))) and N(c.grad)[0] > 0  # more mass on x_0 as alpha_0 grows


CROSS = [
    (lambda: D.Exponential(T([0.5, 2.0])), lambda: D.Gamma(T([1.5, 2.0]), T([1.0, 2.5]))),
    (lambda: D.Gamma(T([2.0, 0.8]), T([3.0, 1.5])), lambda: D.Exponential(T([1.5, 1.0]))),
    (lambda: D.Gamma(T([2.0, 0.8]), T([3.0, 1.5])), lambda: D.Normal(T([0.0, 0.5]), T([1.2, 0.9]))),
    (lambda: D.Uniform(T([0.0, 1.0]), T([1.0, 1.5])), lambda: D.Normal(T([0.0, 0.5]), T([1.2, 0.9]))),
    (lambda: D.Uniform(T([0.1, 1.0]), T([1.0, 1.5])), lambda: D.Gamma(T([1.5, 2.0]), T([1.0, 2.5]))),
    (lambda: D.Beta(T([2.0, 0.8]), T([3.0, 1.5])), lambda: D.Normal(T([0.0, 0.5]), T([1.2, 0.9]))),
    (lambda: D.Geometric(T([0.3, 0.8])), lambda: D.Geometric(T([0.5, 0.6]))),
]


@pytest.mark.parametrize("i", range(len(CROSS)))
def test_cross_family_kl_monte_carlo(i):
    p, q = CROSS[i][0](), CROSS[i][1]()
    kl = N(D.kl_divergence(p, q))
    graphc.manual_seed(0)
    x = p.sample((100000,))
    diff = N(p.log_prob(x) - q.log_prob(x))
    assert np.all(np.abs(diff.mean(0) - kl) < 5 * diff.std(0) / math.sqrt(1e5) + 1e-9)


def test_unbounded_against_bounded_support_is_infinite():
    assert np.all(np.isinf(N(D.kl_divergence(D.Laplace(T([0.0, 1.0]), T(1.0)), D.Beta(T(2.0), T(2.0))))))


def test_expand_composite_families():
    ind = D.Independent(D.Normal(T(np.zeros((2, 3))), T(1.0)), 1).expand((4, 2))
    assert tuple(ind.batch_shape) == (4, 2) and tuple(ind.sample().shape) == (4, 2, 3)
    oh = D.OneHotCategorical(T([0.2, 0.8])).expand((3,))
    assert tuple(oh.sample().shape) == (3, 2)
    mix = D.MixtureSameFamily(D.Categorical(T([0.5, 0.5])), D.Normal(T([0.0, 1.0]), T(1.0))).expand((5,))
    assert tuple(mix.sample((2,)).shape) == (2, 5)
    ln = D.LogNormal(T([0.0]), T([1.0])).expand((3, 1))
    assert tuple(ln.batch_shape) == (3, 1) and N(ln.log_prob(T(1.0))).shape == (3, 1)


def test_transform_reprs_signs_and_constraints():
    assert repr(Tr.ExpTransform().inv) == "_InverseTransform(ExpTransform())"
    c = Tr.ComposeTransform([Tr.ExpTransform(), Tr.AffineTransform(0.0, -2.0)])
    assert repr(c) == "ComposeTransform(\n    ExpTransform(),\n    AffineTransform()\n)"
    assert c.sign == -1 and Tr.ExpTransform() == Tr.ExpTransform() and Tr.ExpTransform().inv.inv == Tr.ExpTransform()
    assert repr(Tr.TanhTransform().codomain) == "Interval(lower_bound=-1.0, upper_bound=1.0)"
    assert repr(Tr.StickBreakingTransform().domain) == "IndependentConstraint(Real(), 1)"
    assert not Tr.SoftmaxTransform().bijective
    with pytest.raises(NotImplementedError):
        Tr.SoftmaxTransform().log_abs_det_jacobian(T([0.0, 1.0]), T([0.5, 0.5]))


def test_beta_and_dirichlet_modes_follow_pytorch():
    assert np.allclose(N(D.Beta(T([0.5, 2.0]), T([0.5, 3.0])).mode), [1.0, 1 / 3])
    assert math.isnan(float(N(D.Beta(T(1.0), T(1.0)).mode)))
    assert np.allclose(N(D.Dirichlet(T([2.0, 3.0, 0.5])).mode), [1 / 3, 2 / 3, 0.0])
    assert N(D.Bernoulli(T([0.3, 0.7])).mode).tolist() == [0.0, 1.0]
