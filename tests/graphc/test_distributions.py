"""graphc.distributions, univariate continuous families: log_prob/cdf/icdf/entropy/moments
against float64 closed forms written here with ``math`` (lgamma, erf...), entropy and moments
also against numerical integration of the density, gradients by finite differences
(graphc.autograd.gradcheck), sample statistics with fixed seeds (means and variances within
a few standard errors), shapes, expand and rsample gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import distributions as D
from graphc.autograd import gradcheck

F64 = graphc.float64


def T(a, requires_grad=False):
    return graphc.tensor(np.asarray(a, dtype=np.float64), dtype=F64, requires_grad=requires_grad)


def N(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _lbeta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


EG = 0.5772156649015329  # Euler's constant

# name, constructor, params (lists of floats), closed-form log density, support grid, closed-form
# cdf (or None), closed-form mean, variance, entropy (None where not a closed form here)
CASES = {
    "Normal": dict(
        params=dict(loc=[0.3, -1.0], scale=[0.7, 2.0]),
        logpdf=lambda x, loc, scale: -((x - loc) ** 2) / (2 * scale**2) - math.log(scale) - 0.5 * math.log(2 * math.pi),
        cdf=lambda x, loc, scale: _phi((x - loc) / scale),
        mean=lambda loc, scale: loc, var=lambda loc, scale: scale**2,
        entropy=lambda loc, scale: 0.5 + 0.5 * math.log(2 * math.pi) + math.log(scale),
        grid=(-15, 15), values=[-0.4, 1.1]),
    "Uniform": dict(
        params=dict(low=[-1.0, 0.5], high=[2.0, 0.9]),
        logpdf=lambda x, low, high: -math.log(high - low),
        cdf=lambda x, low, high: (x - low) / (high - low),
        mean=lambda low, high: (low + high) / 2, var=lambda low, high: (high - low) ** 2 / 12,
        entropy=lambda low, high: math.log(high - low), grid=None, values=[0.6, 0.7]),
    "Exponential": dict(
        params=dict(rate=[0.5, 3.0]),
        logpdf=lambda x, rate: math.log(rate) - rate * x, cdf=lambda x, rate: 1 - math.exp(-rate * x),
        mean=lambda rate: 1 / rate, var=lambda rate: 1 / rate**2, entropy=lambda rate: 1 - math.log(rate),
        grid=(0, 80), values=[0.3, 1.7]),
    "Laplace": dict(
        params=dict(loc=[0.0, 1.0], scale=[1.5, 0.5]),
        logpdf=lambda x, loc, scale: -abs(x - loc) / scale - math.log(2 * scale),
        cdf=lambda x, loc, scale: 0.5 - 0.5 * math.copysign(1, x - loc) * math.expm1(-abs(x - loc) / scale),
        mean=lambda loc, scale: loc, var=lambda loc, scale: 2 * scale**2,
        entropy=lambda loc, scale: 1 + math.log(2 * scale), grid=(-40, 40), values=[-0.3, 1.4]),
    "Cauchy": dict(
        params=dict(loc=[0.0, 1.0], scale=[1.5, 0.5]),
        logpdf=lambda x, loc, scale: -math.log(math.pi * scale * (1 + ((x - loc) / scale) ** 2)),
        cdf=lambda x, loc, scale: 0.5 + math.atan((x - loc) / scale) / math.pi,
        mean=None, var=None, entropy=lambda loc, scale: math.log(4 * math.pi * scale), grid=None,
        values=[-0.3, 1.4]),
    "LogNormal": dict(
        params=dict(loc=[0.1, -0.5], scale=[0.4, 0.8]),
        logpdf=lambda x, loc, scale: -((math.log(x) - loc) ** 2) / (2 * scale**2) - math.log(x * scale * math.sqrt(2 * math.pi)),
        cdf=lambda x, loc, scale: _phi((math.log(x) - loc) / scale),
        mean=lambda loc, scale: math.exp(loc + scale**2 / 2),
        var=lambda loc, scale: (math.exp(scale**2) - 1) * math.exp(2 * loc + scale**2),
        entropy=lambda loc, scale: loc + 0.5 + 0.5 * math.log(2 * math.pi * scale**2), grid=(1e-9, 60),
        values=[0.5, 2.0]),
    "Gumbel": dict(
        params=dict(loc=[0.0, 1.0], scale=[1.5, 0.5]),
        logpdf=lambda x, loc, scale: -(x - loc) / scale - math.exp(-(x - loc) / scale) - math.log(scale),
        cdf=lambda x, loc, scale: math.exp(-math.exp(-(x - loc) / scale)),
        mean=lambda loc, scale: loc + scale * EG, var=lambda loc, scale: math.pi**2 / 6 * scale**2,
        entropy=lambda loc, scale: math.log(scale) + EG + 1, grid=(-12, 60), values=[-0.3, 1.4]),
    "HalfNormal": dict(
        params=dict(scale=[0.7, 2.0]),
        logpdf=lambda x, scale: 0.5 * math.log(2 / math.pi) - math.log(scale) - x**2 / (2 * scale**2),
        cdf=lambda x, scale: math.erf(x / (scale * math.sqrt(2))),
        mean=lambda scale: scale * math.sqrt(2 / math.pi), var=lambda scale: scale**2 * (1 - 2 / math.pi),
        entropy=lambda scale: 0.5 * math.log(math.pi * scale**2 / 2) + 0.5, grid=(0, 30), values=[0.3, 2.5]),
    "Gamma": dict(
        params=dict(concentration=[0.8, 3.0], rate=[1.5, 0.7]),
        logpdf=lambda x, concentration, rate: concentration * math.log(rate) + (concentration - 1) * math.log(x) - rate * x - math.lgamma(concentration),
        cdf=None, mean=lambda concentration, rate: concentration / rate,
        var=lambda concentration, rate: concentration / rate**2, entropy=None, grid=(1e-12, 80),
        values=[0.4, 2.2]),
    "Chi2": dict(
        params=dict(df=[3.0, 5.5]),
        logpdf=lambda x, df: (df / 2 - 1) * math.log(x) - x / 2 - df / 2 * math.log(2) - math.lgamma(df / 2),
        cdf=None, mean=lambda df: df, var=lambda df: 2 * df, entropy=None, grid=(1e-12, 150), values=[0.4, 2.2]),
    "Beta": dict(
        params=dict(concentration1=[2.0, 1.5], concentration0=[3.0, 2.5]),
        logpdf=lambda x, concentration1, concentration0: (concentration1 - 1) * math.log(x) + (concentration0 - 1) * math.log1p(-x) - _lbeta(concentration1, concentration0),
        cdf=None, mean=lambda concentration1, concentration0: concentration1 / (concentration1 + concentration0),
        var=lambda concentration1, concentration0: concentration1 * concentration0 / ((concentration1 + concentration0) ** 2 * (concentration1 + concentration0 + 1)),
        entropy=None, grid=(1e-9, 1 - 1e-9),
        values=[0.2, 0.7]),
    "StudentT": dict(
        params=dict(df=[5.0, 7.0], loc=[0.2, -0.5], scale=[1.3, 0.6]),
        logpdf=lambda x, df, loc, scale: math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi) - math.log(scale) - (df + 1) / 2 * math.log1p(((x - loc) / scale) ** 2 / df),
        cdf=None, mean=lambda df, loc, scale: loc, var=lambda df, loc, scale: scale**2 * df / (df - 2), entropy=None,
        grid=(-400, 400), values=[0.3, -1.2]),
}


def _make(name, requires_grad=False):
    spec = CASES[name]
    params = {k: T(v, requires_grad) for k, v in spec["params"].items()}
    return getattr(D, name)(**params), params


def _per_elem(spec, i):
    return {k: v[i] for k, v in spec["params"].items()}


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_cdf_moments_match_closed_forms(name):
    spec = CASES[name]
    d, _ = _make(name)
    x = spec["values"]
    lp = N(d.log_prob(T(x)))
    for i in range(2):
        p = _per_elem(spec, i)
        assert lp[i] == pytest.approx(spec["logpdf"](x[i], **p), rel=1e-12, abs=1e-12)
        if spec["cdf"] is not None:
            assert N(d.cdf(T(x)))[i] == pytest.approx(spec["cdf"](x[i], **p), rel=1e-12, abs=1e-13)
        if spec["mean"] is not None:
            assert N(d.mean)[i] == pytest.approx(spec["mean"](**p), rel=1e-12)
            assert N(d.variance)[i] == pytest.approx(spec["var"](**p), rel=1e-12)
            assert N(d.stddev)[i] == pytest.approx(math.sqrt(spec["var"](**p)), rel=1e-12)
        if spec["entropy"] is not None:
            assert N(d.entropy())[i] == pytest.approx(spec["entropy"](**p), rel=1e-12)
    assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == ()


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["grid"] is not None])
def test_density_integrates_to_moments_and_entropy(name):
    """Trapezoid integration of the closed-form density: total mass, mean, variance, entropy."""
    spec = CASES[name]
    d, _ = _make(name)
    lo, hi = spec["grid"]
    for i in range(2):
        p = _per_elem(spec, i)
        xs = np.linspace(lo, hi, 400001)
        if name in ("Gamma", "Chi2", "LogNormal", "Exponential", "HalfNormal", "Beta"):
            xs = lo + (hi - lo) * np.linspace(0, 1, 400001) ** 3  # dense near 0
        logp = np.array([spec["logpdf"](float(v), **p) for v in xs])
        dens = np.exp(logp)
        assert np.trapezoid(dens, xs) == pytest.approx(1, abs=2e-4)
        ent = N(d.entropy())[i]
        assert ent == pytest.approx(np.trapezoid(-dens * logp, xs), abs=2e-3)
        if spec["mean"] is not None and name != "StudentT":
            mean = np.trapezoid(xs * dens, xs)
            assert N(d.mean)[i] == pytest.approx(mean, abs=2e-3)
            assert N(d.variance)[i] == pytest.approx(np.trapezoid((xs - mean) ** 2 * dens, xs), rel=2e-3)


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["cdf"] is not None])
def test_icdf_inverts_cdf(name):
    d, _ = _make(name)
    q = T([0.2, 0.85])
    assert np.allclose(N(d.cdf(d.icdf(q))), N(q), atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_and_entropy_gradients_by_finite_differences(name):
    spec = CASES[name]
    keys = list(spec["params"])
    x = T(spec["values"])

    def lp(*ps):
        return getattr(D, name)(**dict(zip(keys, ps))).log_prob(x)

    ps = [T(spec["params"][k], True) for k in keys]
    assert gradcheck(lp, ps, eps=1e-6, atol=1e-6)
    if name not in ("Uniform",):

        def ent(*ps):
            return getattr(D, name)(**dict(zip(keys, ps))).entropy()

        assert gradcheck(ent, ps, eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_sample_statistics_and_shapes(name):
    spec = CASES[name]
    d, _ = _make(name)
    graphc.manual_seed(1234)
    n = 40000
    s = d.sample((n,))
    assert tuple(s.shape) == (n, 2) and s.dtype == F64 and not s.requires_grad
    x = N(s)
    assert d.support.check(s).all().item()
    for i in range(2):
        p = _per_elem(spec, i)
        if spec["cdf"] is not None:  # the empirical CDF at the quartiles
            for q in (0.25, 0.5, 0.75):
                t = float(N(d.icdf(T([q, q])))[i])
                assert abs(np.mean(x[:, i] <= t) - q) < 5 * math.sqrt(q * (1 - q) / n)
        if spec["mean"] is not None:
            m, v = spec["mean"](**p), spec["var"](**p)
            assert abs(x[:, i].mean() - m) < 5 * math.sqrt(v / n)
            if name != "StudentT":  # heavy tails: the sample variance's error is large
                assert x[:, i].var() == pytest.approx(v, rel=0.06)
    graphc.manual_seed(1234)
    assert np.array_equal(N(d.sample((n,))), x)  # reproducible with graphc.manual_seed
    assert tuple(d.sample().shape) == (2,)
    assert tuple(d.sample((3, 4)).shape) == (3, 4, 2)


RSAMPLE = ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy", "LogNormal", "Gumbel", "HalfNormal",
           "Gamma", "Chi2", "Beta", "StudentT"]


@pytest.mark.parametrize("name", list(CASES))
def test_has_rsample(name):
    assert _make(name)[0].has_rsample is (name in RSAMPLE)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal",
                                  "Gamma", "Chi2", "Beta"])
def test_rsample_mean_gradient_matches_d_mean(name):
    """d E[rsample] / d param == d mean / d param (pathwise gradient; Monte Carlo with a fixed seed)."""
    spec = CASES[name]
    keys = list(spec["params"])
    n = 200000
    d, params = _make(name, requires_grad=True)
    graphc.manual_seed(7)
    d.rsample((n,)).mean(0).sum().backward()
    got = {k: N(params[k].grad) for k in keys}
    for k in keys:
        for i in range(2):
            p = _per_elem(spec, i)
            h = 1e-6
            up, dn = dict(p), dict(p)
            up[k] += h
            dn[k] -= h
            want = (spec["mean"](**up) - spec["mean"](**dn)) / (2 * h)
            sd = math.sqrt(spec["var"](**p))
            assert got[k][i] == pytest.approx(want, abs=0.02 * max(1.0, sd) + 0.02 * abs(want))


def test_gamma_implicit_gradient_satisfies_cdf_identity():
    """For a gamma sample x(a), dx/da keeps the CDF fixed: P(a + h, x + h dx/da) == P(a, x)."""
    a = T([0.3, 1.0, 4.0, 50.0], True)
    graphc.manual_seed(3)
    x = D.Gamma(a, T(1.0)).rsample()
    (g,) = graphc.autograd.grad(x.sum(), a)
    h = 1e-5
    p0 = N(graphc.special.gammainc(a.detach(), x.detach()))
    p1 = N(graphc.special.gammainc(a.detach() + h, x.detach() + h * g))
    assert np.allclose(p0, p1, atol=1e-9)


def test_expand_and_batch_broadcast():
    d = D.Normal(T([[0.0], [1.0]]), T([1.0, 2.0, 3.0]))
    assert tuple(d.batch_shape) == (2, 3)
    e = d.expand((4, 2, 3))
    assert tuple(e.batch_shape) == (4, 2, 3)
    assert tuple(e.sample((5,)).shape) == (5, 4, 2, 3)
    assert np.allclose(N(e.log_prob(T(0.5)))[1], N(d.log_prob(T(0.5))))
    with pytest.raises(RuntimeError):
        d.expand((4, 3))


def test_scalar_parameters_and_repr():
    d = D.Normal(0.0, 1.0)
    assert tuple(d.batch_shape) == ()
    assert repr(d) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(D.Gamma(T([1.0, 2.0]), T([1.0, 1.0]))) == "Gamma(concentration: graphc.Size([2]), rate: graphc.Size([2]))"
    assert N(d.log_prob(T(0.0))) == pytest.approx(-0.5 * math.log(2 * math.pi))


def test_modes():
    assert N(D.Normal(T(1.5), T(2.0)).mode) == 1.5
    assert N(D.Gamma(T(3.0), T(2.0)).mode) == pytest.approx(1.0)
    assert N(D.Beta(T(2.0), T(3.0)).mode) == pytest.approx(1 / 3)
    assert N(D.LogNormal(T(0.5), T(0.5)).mode) == pytest.approx(math.exp(0.5 - 0.25))
    assert N(D.Exponential(T(2.0)).mode) == 0.0


def test_validation_errors_use_pytorch_messages():
    with pytest.raises(ValueError, match=r"Expected parameter scale \(Tensor of shape \(1,\)\) of distribution Normal"):
        D.Normal(T([0.0]), T([-1.0]))
    with pytest.raises(ValueError, match=r"to be within the support \(GreaterThanEq\(lower_bound=0.0\)\)"):
        D.Gamma(T(1.0), T(1.0)).log_prob(T(-1.0))
    with pytest.raises(ValueError, match=r"to be within the support \(Interval\(lower_bound=0.0, upper_bound=1.0\)\)"):
        D.Uniform(T(0.0), T(1.0)).log_prob(T(2.0))
    D.Normal(T([0.0]), T([-1.0]), validate_args=False)  # no check when asked
    D.Distribution.set_default_validate_args(False)
    try:
        assert N(D.Normal(T(0.0), T(-1.0)).scale) == -1.0
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(T(0.0), T(-1.0))


def test_float32_parameters_give_float32():
    d = D.Normal(graphc.tensor([0.0]), graphc.tensor([1.0]))
    assert d.sample().dtype == graphc.float32
    assert d.log_prob(graphc.tensor([0.5])).dtype == graphc.float32
    g = D.Gamma(graphc.tensor([2.0]), graphc.tensor([1.0]))
    assert g.rsample().dtype == graphc.float32


def test_log_prob_and_rsample_under_compile():
    """Inside @graphc.compile the value checks are skipped (tracers hold no values); results equal eager."""

    @graphc.compile
    def f(m, s, x):
        d = D.Normal(m, s)
        return d.log_prob(x).sum() + D.kl_divergence(d, D.Normal(T(0.0), T(1.0))).sum()

    m, s, x = T([0.1, -0.3]), T([0.5, 2.0]), T([1.0, 0.2])
    want = N(D.Normal(m, s).log_prob(x).sum() + D.kl_divergence(D.Normal(m, s), D.Normal(T(0.0), T(1.0))).sum())
    assert np.allclose(N(f(m, s, x)), want) and np.allclose(N(f(m, s, x)), want)
