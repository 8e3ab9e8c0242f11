"""Autograd through a compiled call with any number of differentiable outputs, in nested
tuples, lists and dicts: gradients equal eager's whichever outputs the loss uses, through
non-leaf inputs too, and the graph's usual rules hold (freed after backward, in-place
checks)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn as nn


def _grads(ts):
    return [None if t.grad is None else t.grad.numpy().copy() for t in ts]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    w = graphc.tensor(rng.standard_normal((4, 3)), dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor(rng.standard_normal(3), dtype=graphc.float64, requires_grad=True)
    return w, b


def nested(x, w, b):
    h = x @ w + b
    return {"h": h, "parts": (h.tanh(), [h.sum(), (h * h).mean(0)]), "n": 3, "idx": h.argmax(1)}


LOSSES = {
    "all": lambda o: o["h"].sum() + o["parts"][0].sum() * 2 + o["parts"][1][0] * 3 + o["parts"][1][1].sum(),
    "one": lambda o: o["parts"][1][0],
    "two": lambda o: (o["h"] * o["parts"][0]).sum(),
}


@pytest.mark.parametrize("which", sorted(LOSSES))
def test_nested_outputs_gradients_match_eager(which):
    x = graphc.tensor(np.random.default_rng(1).standard_normal((5, 4)), dtype=graphc.float64)
    results = []
    for compiled in (False, True):
        w, b = _params()
        f = graphc.compile(nested) if compiled else nested
        for _ in range(3):  # gradients accumulate over calls
            out = f(x, w, b)
            assert out["n"] == 3 and out["idx"].dtype == graphc.int64 and not out["idx"].requires_grad
            LOSSES[which](out).backward()
        results.append((_grads([w, b]), out["h"].detach().numpy().copy()))
        if compiled:
            assert f.cache_info().traces == 1 and f.cache_info().hits == 2
            assert out["h"].grad_fn.name() == "CompiledFunctionBackward"
    (ge, he), (gc, hc) = results
    np.testing.assert_allclose(hc, he, rtol=1e-12)
    for a, e in zip(gc, ge):
        np.testing.assert_allclose(a, e, rtol=1e-10)


def test_gradient_through_a_non_leaf_input_reaches_its_history():
    """An argument with history from before the call: its gradient flows on into it."""
    w, b = _params(2)
    enc = graphc.tensor(np.random.default_rng(3).standard_normal((4, 4)), dtype=graphc.float64, requires_grad=True)
    x = graphc.tensor(np.random.default_rng(4).standard_normal((2, 4)), dtype=graphc.float64)

    def head(h):
        return (h @ w + b).tanh(), (h * h).sum()

    results = []
    for compiled in (False, True):
        for t in (w, b, enc):
            t.grad = None
        f = graphc.compile(head) if compiled else head
        for _ in range(2):
            out, reg = f(x @ enc)  # a non-leaf argument
            (out.sum() + reg).backward()
        results.append(_grads([w, b, enc]))
        if compiled:
            assert f.cache_info().traces == 1 and f.cache_info().eager_calls == 0
    for a, e in zip(*results):
        np.testing.assert_allclose(a, e, rtol=1e-10)


def test_backward_twice_needs_retain_graph_and_inplace_changes_are_caught():
    w, b = _params()
    f = graphc.compile(lambda x: (x @ w, (x @ w + b).sum()))
    x = graphc.ones(2, 4, dtype=graphc.float64)
    out, total = f(x)
    total.backward(retain_graph=True)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        total.backward()
    out, total = f(x)
    with graphc.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        total.backward()


def test_compiled_module_returning_two_differentiable_outputs_trains_like_eager():
    def run(compiled):
        graphc.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = graphc.optim.SGD(net.parameters(), lr=0.1)

        def forward(x):
            y = net(x)
            return y, (y**2).mean()

        f = graphc.compile(forward) if compiled else forward
        x = graphc.randn(6, 3)
        losses = []
        for _ in range(5):
            y, loss = f(x)
            opt.zero_grad()
            (loss + y.sum() * 0.01).backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in net.parameters()]

    (le, pe), (lc, pc) = run(False), run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-5)
    for a, e in zip(pc, pe):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
