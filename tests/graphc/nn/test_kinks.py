"""Values and gradients where PyTorch's definitions pick a side: at the kinks, the bounds, zero
and NaN. The references are PyTorch's backward formulas (``threshold_backward``,
``hardtanh_backward``, ``elu_backward``, ``softplus_backward``...) written out in float64
numpy, evaluated at the points where a composite's own autodiff would pick another side
(``minimum(x, 0)`` halves a gradient at 0, ``relu(z) + log1p(exp(-|z|))`` differentiates to 0
there, ``log`` at a clamped 0 gives 0 * inf = NaN). Each runs eager and compiled.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F

NAN = float("nan")
POINTS = np.array([-4.0, -3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 6.0, 7.0, NAN])
W = np.linspace(0.5, 2.0, POINTS.size)  # the upstream gradient: distinct, so a lost share shows


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
with np.errstate(all="ignore"):
    CASES = {  # name: (graphc function, PyTorch's value, PyTorch's gradient for upstream g)
        "relu": (F.relu, lambda x: np.where(x <= 0, 0.0, x), lambda x, g: np.where(x <= 0, 0.0, g)),
        "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: np.where(x <= 0.5, -2.0, x),
                      lambda x, g: np.where(x <= 0.5, 0.0, g)),
        "hardtanh": (F.hardtanh, lambda x: np.where(x <= -1, -1.0, np.where(x >= 1, 1.0, x)),
                     lambda x, g: np.where((x <= -1) | (x >= 1), 0.0, g)),
        "relu6": (F.relu6, lambda x: np.where(x <= 0, 0.0, np.where(x >= 6, 6.0, x)),
                  lambda x, g: np.where((x <= 0) | (x >= 6), 0.0, g)),
        "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6,
                        lambda x, g: np.where((x > -3) & (x < 3), g / 6, 0.0)),
        "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                      lambda x, g: np.where(x <= -3, 0.0, np.where(x < 3, g * (x / 3 + 0.5), g))),
        "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x <= 0, 0.7 * np.expm1(x), x),
                lambda x, g: np.where(x <= 0, g * 0.7 * np.exp(x), g)),
        "celu": (lambda x: F.celu(x, 0.7), lambda x: np.where(x <= 0, 0.7 * np.expm1(x / 0.7), x),
                 lambda x, g: np.where(x <= 0, g * np.exp(x / 0.7), g)),
        "selu": (F.selu, lambda x: SCALE * np.where(x <= 0, ALPHA * np.expm1(x), x),
                 lambda x, g: np.where(x <= 0, g * SCALE * ALPHA * np.exp(x), g * SCALE)),
        "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=6.0),
                     lambda x: np.where(2 * x > 6, x, np.log1p(np.exp(2 * x)) / 2),
                     lambda x, g: np.where(2 * x > 6, g, g * sigmoid(2 * x))),
        "logsigmoid": (F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), lambda x, g: g * sigmoid(-x)),
        "hardshrink": (lambda x: F.hardshrink(x, 0.5), lambda x: np.where((x >= -0.5) & (x <= 0.5), 0.0, x),
                       lambda x, g: np.where((x >= -0.5) & (x <= 0.5), 0.0, g)),
        "softshrink": (lambda x: F.softshrink(x, 0.5),
                       lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, x * 0)),
                       lambda x, g: np.where((x >= -0.5) & (x <= 0.5), 0.0, g)),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
                       lambda x, g: np.where(x > 0, g, 0.1 * g)),
        "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.3, training=False), lambda x: np.where(x > 0, x, 0.2 * x),
                       lambda x, g: np.where(x > 0, g, 0.2 * g)),
        "clamp": (lambda x: graphc.clamp(x, -1.0, 3.0), lambda x: np.clip(x, -1, 3),
                  lambda x, g: np.where((x >= -1) & (x <= 3), g, 0.0)),
        "maximum": (lambda x: graphc.maximum(x, graphc.full_like(x, 1.0)), lambda x: np.maximum(x, 1.0),
                    lambda x, g: np.where(x == 1, g / 2, np.where(x < 1, 0.0, g))),
        "minimum": (lambda x: graphc.minimum(x, graphc.full_like(x, 1.0)), lambda x: np.minimum(x, 1.0),
                    lambda x, g: np.where(x == 1, g / 2, np.where(x > 1, 0.0, g))),
    }


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_where_pytorch_picks_a_side(name, compiled):
    fn, value, grad = CASES[name]

    def step(x, w):
        y = fn(x)
        (y * w).sum().backward()
        return y.detach(), x.grad

    run = graphc.compile(step, warmup=False) if compiled else step
    x = graphc.tensor(POINTS, dtype=graphc.float64, requires_grad=True)
    y, gx = run(x, graphc.tensor(W, dtype=graphc.float64))
    with np.errstate(all="ignore"):
        want_y, want_g = value(POINTS), grad(POINTS, W)
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-12, atol=1e-15, equal_nan=True)
    np.testing.assert_allclose(gx.numpy(), want_g, rtol=1e-12, atol=1e-15, equal_nan=True)


def test_the_maximum_of_a_nan_passes_the_gradient_to_both_inputs():
    a = graphc.tensor([NAN, 2.0], dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor([1.0, NAN], dtype=graphc.float64, requires_grad=True)
    graphc.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def _loss_and_input_grad(loss_fn, x_np, t_np, compiled):
    """The per-element loss of float64 ``x_np`` against ``t_np`` and the gradient of its sum."""

    def step(x, t):
        loss = loss_fn(x, t, reduction="none")
        loss.sum().backward()
        return loss.detach(), x.grad

    run = graphc.compile(step, warmup=False) if compiled else step
    x = graphc.tensor(x_np, dtype=graphc.float64, requires_grad=True)
    loss, gx = run(x, graphc.tensor(t_np, dtype=graphc.float64))
    return loss, gx


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_binary_cross_entropy_at_a_saturated_probability_is_finite(compiled):
    """x = 0 or 1 exactly (a sigmoid in float32 saturates from |z| ~ 17): PyTorch's gradient is
    (x - t) / max(x (1 - x), 1e-12), finite -- not the formula's 0 * inf = NaN."""
    x_np = np.array([0.0, 1.0, 0.0, 1.0, 0.25, 0.5])
    t_np = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3])
    loss, gx = _loss_and_input_grad(F.binary_cross_entropy, x_np, t_np, compiled)
    with np.errstate(all="ignore"):
        want = -(t_np * np.maximum(np.log(x_np), -100) + (1 - t_np) * np.maximum(np.log1p(-x_np), -100))
    np.testing.assert_allclose(loss.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), (x_np - t_np) / np.maximum(x_np * (1 - x_np), BCE_EPS), rtol=1e-12)


# PyTorch's EPSILON is the C++ float 1e-12, converted to the input's dtype (float64 too)
BCE_EPS = float(np.float32(1e-12))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_near_a_saturated_probability_caps_the_gradient(compiled, dtype):
    """Inside (0, 1) but within 1e-12 of an edge (sigmoid(-40) ~ 4e-18 in float32), PyTorch's
    gradient is still (x - t) / max(x (1 - x), 1e-12): -1e12 at x = 1e-20, t = 1, where the log's
    own derivative is -1e20, and not 0 below e^-100 where the log is clamped."""
    x_np = np.array([1e-20, 1e-13, 1e-30, 1e-50, 1e-12, 1 - 1e-13, 1 - 1e-12, 0.3, 0.5], dtype=dtype)
    t_np = np.array([1.0, 1.0, 0.0, 0.7, 1.0, 0.0, 0.0, 0.3, 0.2], dtype=dtype)
    x = graphc.tensor(x_np, requires_grad=True)

    def step(x, t):
        loss = F.binary_cross_entropy(x, t, reduction="none")
        loss.sum().backward()
        return loss.detach(), x.grad

    run = graphc.compile(step, warmup=False) if compiled else step
    loss, gx = run(x, graphc.tensor(t_np))
    x64, t64 = x_np.astype(np.float64), t_np.astype(np.float64)
    with np.errstate(all="ignore"):
        want = -(t64 * np.maximum(np.log(x64), -100) + (1 - t64) * np.maximum(np.log1p(-x64), -100))
    # the float32 denominator, as PyTorch computes it in the input's dtype
    den = np.maximum((np.float64(1) - x_np).astype(dtype) * x_np, np.asarray(BCE_EPS, dtype)).astype(np.float64)
    rtol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(loss.numpy(), want, rtol=rtol)
    np.testing.assert_allclose(gx.numpy(), (x64 - t64) / den, rtol=rtol)


def test_binary_cross_entropy_keeps_its_second_derivative_inside():
    x = graphc.tensor([0.2, 0.7], dtype=graphc.float64, requires_grad=True)
    t = graphc.tensor([1.0, 0.0], dtype=graphc.float64)
    (g,) = graphc.autograd.grad(F.binary_cross_entropy(x, t, reduction="sum"), x, create_graph=True)
    (h,) = graphc.autograd.grad(g.sum(), x)
    xs, ts = np.array([0.2, 0.7]), np.array([1.0, 0.0])
    np.testing.assert_allclose(h.numpy(), ts / xs**2 + (1 - ts) / (1 - xs) ** 2, rtol=1e-10)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_binary_cross_entropy_with_logits_at_zero_logits(compiled):
    """Zero logits (a zero-initialized last layer): the gradient is sigmoid(0) - t = 1/2 - t."""
    z_np = np.array([0.0, -0.0, 0.0, 3.0, -40.0, 40.0])
    t_np = np.array([1.0, 0.0, 0.25, 1.0, 1.0, 0.0])
    loss, gz = _loss_and_input_grad(F.binary_cross_entropy_with_logits, z_np, t_np, compiled)
    np.testing.assert_allclose(loss.numpy(), (1 - t_np) * z_np + np.logaddexp(0, -z_np), rtol=1e-12)
    np.testing.assert_allclose(gz.numpy(), sigmoid(z_np) - t_np, rtol=1e-12, atol=1e-15)


def test_margin_losses_take_no_gradient_exactly_at_the_margin():
    """multi_margin / multilabel_margin: PyTorch's kernels add a term only where z > 0."""
    x = graphc.tensor([[-1.0, 0.0, 1.0, -0.5]], dtype=graphc.float64, requires_grad=True)
    F.multi_margin_loss(x, graphc.tensor([1])).backward()
    # z_j = 1 - x[1] + x[j]: 0 (no term), -, 2, 0.5; the target loses one per positive term
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, -0.5, 0.25, 0.25]], rtol=1e-12)
    x.grad = None
    F.multilabel_margin_loss(x, graphc.tensor([[1, -1, 0, 0]])).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, -0.5, 0.25, 0.25]], rtol=1e-12)


def test_logit_at_zero_and_one_has_pytorchs_infinite_gradient():
    x = graphc.tensor([0.0, 1.0, 0.25], dtype=graphc.float64, requires_grad=True)
    y = graphc.logit(x)
    y.backward(graphc.ones_like(y))
    np.testing.assert_array_equal(y.detach().numpy()[:2], [-math.inf, math.inf])
    np.testing.assert_allclose(x.grad.numpy(), [math.inf, math.inf, 1 / (0.25 * 0.75)], rtol=1e-12)


def test_renorm_passes_the_gradient_of_zero_slices():
    x = graphc.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=graphc.float64, requires_grad=True)
    graphc.renorm(x, 2, 0, 5.0).backward(graphc.ones(2, 2, dtype=graphc.float64))
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 1.0], [1.0, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("dtype", [graphc.float16, graphc.float32, graphc.float64], ids=lambda d: d.short)
@pytest.mark.parametrize("shape", [(8,), (), (64, 33)], ids=["points", "0-d", "block"])
def test_sign_of_nan_and_negative_zero_is_plus_zero(compiled, dtype, shape):
    """PyTorch's sign is (x > 0) - (x < 0): 0 for NaN, +0.0 for -0.0 (numpy's keeps both)."""
    pts = np.array([-0.0, 0.0, NAN, -NAN, 2.0, -3.0, math.inf, -math.inf])
    vals = np.resize(np.concatenate([pts, np.random.default_rng(2).standard_normal(64)]), shape or (1,))
    vals = vals.reshape(shape)
    fn = graphc.compile(graphc.sign, warmup=False) if compiled else graphc.sign
    got = fn(graphc.tensor(vals, dtype=dtype)).numpy()
    nd = got.dtype
    want = (vals > 0).astype(nd) - (vals < 0).astype(nd)
    assert got.shape == shape
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got[got == 0]).any()  # every zero is +0.0 (NaN and -0.0 included)
    assert graphc.sgn(graphc.tensor([NAN])).item() == 0.0
