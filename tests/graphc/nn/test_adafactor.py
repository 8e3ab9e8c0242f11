"""Adafactor against a float64 numpy re-implementation of PyTorch 2.13's rule (written here): factored
second moments for matrices and batches of matrices, a full one for vectors and scalars, the
relative step size, update clipping, weight decay and maximize; its state and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.optim as optim

SHAPES = [(4, 5), (6,), (2, 3, 4), ()]


def _rms(x):
    return np.sqrt(np.mean(np.square(x))) if x.size else 0.0


def _reference(xs, grad_steps, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
               maximize=False):
    xs = [np.array(x, dtype=np.float64) for x in xs]
    eps1 = np.finfo(np.float64).eps if eps[0] is None else eps[0]
    eps2 = eps[1]
    moments = [None] * len(xs)
    for t, grads in enumerate(grad_steps, 1):
        b = t**beta2_decay
        rho = min(lr, 1 / np.sqrt(t))
        for i, (x, g) in enumerate(zip(xs, grads)):
            g = -g if maximize else g
            alpha = max(eps2, _rms(x)) * rho
            x = x * (1 - lr * weight_decay)
            if g.ndim > 1:
                r, c = moments[i] or (np.zeros(g.shape[:-1] + (1,)), np.zeros(g.shape[:-2] + (1, g.shape[-1])))
                r = r + b * (np.mean(g * g, axis=-1, keepdims=True) - r)
                c = c + b * (np.mean(g * g, axis=-2, keepdims=True) - c)
                moments[i] = (r, c)
                v = (r @ c) / np.maximum(np.mean(r, axis=-2, keepdims=True), eps1)
            else:
                v = moments[i] if moments[i] is not None else np.zeros(g.shape)
                v = v + b * (g * g - v)
                moments[i] = v
            u = g / np.sqrt(np.maximum(v, eps1 * eps1))
            xs[i] = x - alpha / max(1.0, _rms(u) / d) * u
    return xs, moments


def _problem(seed=0, steps=8):
    rng = np.random.default_rng(seed)
    xs = [np.linspace(-1.0, 1.0, int(np.prod(s))).reshape(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return xs, grads


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5, "weight_decay": 0.1},
        {"maximize": True},
        {"lr": 1.0},  # rho = 1 / sqrt(t): the relative step size's cap
    ],
)
def test_adafactor_matches_reference(kw):
    xs, grads = _problem()
    params = [graphc.nn.Parameter(graphc.from_numpy(x.copy())) for x in xs]
    opt = optim.Adafactor(params, **kw)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = graphc.from_numpy(g)
        opt.step()
    want, moments = _reference(xs, grads, **kw)
    for p, x in zip(params, want):
        np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-12, atol=1e-14)
    state = opt.state[params[0]]
    assert sorted(state) == ["col_var", "row_var", "step"] and float(state["step"]) == len(grads)
    np.testing.assert_allclose(state["row_var"].numpy(), moments[0][0], rtol=1e-12)
    np.testing.assert_allclose(state["col_var"].numpy(), moments[0][1], rtol=1e-12)
    assert state["row_var"].shape == (4, 1) and state["col_var"].shape == (1, 5)
    assert opt.state[params[2]]["row_var"].shape == (2, 3, 1) and opt.state[params[2]]["col_var"].shape == (2, 1, 4)
    np.testing.assert_allclose(opt.state[params[1]]["variance"].numpy(), moments[1], rtol=1e-12)


def test_adafactor_float32_uses_float32_epsilon():
    xs, grads = _problem(seed=3, steps=5)
    params = [graphc.nn.Parameter(graphc.from_numpy(x.astype(np.float32))) for x in xs]
    opt = optim.Adafactor(params, lr=0.05)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = graphc.from_numpy(g.astype(np.float32))
        opt.step()
    # eps1 only floors tiny second moments; at these magnitudes float64's reference applies
    want, _ = _reference(xs, [[g.astype(np.float32).astype(np.float64) for g in gs] for gs in grads], lr=0.05)
    for p, x in zip(params, want):
        assert p.dtype == graphc.float32
        np.testing.assert_allclose(p.detach().numpy(), x, rtol=2e-5, atol=1e-6)


def test_adafactor_defaults():
    opt = optim.Adafactor([graphc.zeros(2, requires_grad=True)])
    assert opt.defaults == {"lr": 1e-2, "beta2_decay": -0.8, "eps": (None, 1e-3), "d": 1.0, "weight_decay": 0.0,
                            "foreach": None, "maximize": False}


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
        ({"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
        ({"eps": (-1.0, 1e-3)}, "epsilon1 should be >= 0 but is: -1.0"),
        ({"eps": (None, -1.0)}, "epsilon2 should be >= 0 but is: -1.0"),
        ({"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
        ({"weight_decay": -1.0}, "weight_decay should be >= 0 but is: -1.0"),
    ],
)
def test_adafactor_argument_errors(kw, msg):
    with pytest.raises(ValueError, match="^" + msg + "$"):
        optim.Adafactor([graphc.zeros(2, requires_grad=True)], **kw)
