"""Rprop against a float64 numpy re-implementation of PyTorch's rule (written here), its options,
state, argument checks and a compiled step."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.optim as optim


def _reference(x, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    """PyTorch's Rprop in float64 numpy: per-weight step sizes from the sign of g * prev."""
    x = np.array(x, dtype=np.float64)
    prev, size = np.zeros_like(x), np.full_like(x, lr)
    for g in grads:
        g = -g if maximize else g.copy()
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, etas[1], np.where(s < 0, etas[0], 1.0)), *step_sizes)
        g[s < 0] = 0
        x = x - np.sign(g) * size
        prev = g
    return x, prev, size


def _grads(n=10, size=6, seed=0):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(size) for _ in range(n)]
    grads[2][:2] = 0.0  # zero gradients: factor 1, no move
    grads[5] = -grads[4]  # every sign flips: the step sizes shrink and the step is skipped
    return grads


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (0.01, 0.06)},  # both bounds reached
        {"maximize": True},
        {"foreach": False, "lr": 0.1},
    ],
)
def test_rprop_matches_reference(kw):
    x0 = np.linspace(-1.0, 1.0, 6)
    grads = _grads()
    p = graphc.nn.Parameter(graphc.from_numpy(x0.copy()))
    opt = optim.Rprop([p], **kw)
    for g in grads:
        p.grad = graphc.from_numpy(g)
        opt.step()
    ref_kw = {k: v for k, v in kw.items() if k != "foreach"}
    x, prev, size = _reference(x0, grads, **ref_kw)
    np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-14, atol=1e-15)
    state = opt.state[p]
    np.testing.assert_allclose(state["prev"].numpy(), prev, rtol=1e-15)
    np.testing.assert_allclose(state["step_size"].numpy(), size, rtol=1e-14)
    assert float(state["step"]) == len(grads)


def test_rprop_float32_follows_the_reference():
    x0 = np.linspace(-1.0, 1.0, 6)
    grads = _grads(seed=1)
    p = graphc.nn.Parameter(graphc.from_numpy(x0.astype(np.float32)))
    opt = optim.Rprop([p], lr=0.02)
    for g in grads:
        p.grad = graphc.from_numpy(g.astype(np.float32))
        opt.step()
    assert opt.state[p]["step_size"].dtype == graphc.float32
    x, _, _ = _reference(x0, [g.astype(np.float32).astype(np.float64) for g in grads], lr=0.02)
    np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-6, atol=1e-7)


def test_rprop_defaults_and_state_dict_round_trip():
    p = graphc.nn.Parameter(graphc.from_numpy(np.linspace(-1.0, 1.0, 6)))
    opt = optim.Rprop([p])
    assert {k: v for k, v in opt.defaults.items()} == {
        "lr": 1e-2, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50), "foreach": None, "maximize": False,
        "differentiable": False, "capturable": False,
    }
    grads = _grads()
    for g in grads[:5]:
        p.grad = graphc.from_numpy(g)
        opt.step()
    q = graphc.nn.Parameter(graphc.from_numpy(p.detach().numpy().copy()))
    opt2 = optim.Rprop([q])
    opt2.load_state_dict(opt.state_dict())
    for g in grads[5:]:
        q.grad = graphc.from_numpy(g)
        opt2.step()
    x, _, _ = _reference(np.linspace(-1.0, 1.0, 6), grads)
    np.testing.assert_allclose(q.detach().numpy(), x, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("etas", [(1.5, 1.2), (0.0, 1.2), (0.5, 1.0)])
def test_rprop_eta_check(etas):
    p = graphc.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=f"^Invalid eta values: {etas[0]}, {etas[1]}$"):
        optim.Rprop([p], etas=etas)
    with pytest.raises(ValueError, match="^Invalid learning rate: -1$"):
        optim.Rprop([p], lr=-1)


def test_rprop_compiled_step_matches_eager():
    x0 = np.linspace(-1.0, 1.0, 6).astype(np.float32)
    grads = [g.astype(np.float32) for g in _grads()]
    results = []
    for compiled in (False, True):
        p = graphc.nn.Parameter(graphc.from_numpy(x0.copy()))
        opt = optim.Rprop([p], lr=0.05)

        def step(g):
            p.grad = g
            opt.step()

        fn = graphc.compile(step) if compiled else step
        for g in grads:
            fn(graphc.from_numpy(g))
        results.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(results[1], results[0])
