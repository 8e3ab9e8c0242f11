"""A compiled forward (a compiled model) with loss.backward() outside it: gradients must
equal eager's, accumulate across calls, and respect retain_graph and in-place checks."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn


def _model():
    graphc.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 4))


def _grads(net, x):
    return [p.grad.numpy().copy() for p in net.parameters()] + [x.grad.numpy().copy()]


def test_compiled_model_backward_outside_matches_eager():
    net = _model()
    x = graphc.randn(8, 6, requires_grad=True)
    y = graphc.randint(0, 4, (8,))
    results = []
    for model in (net, graphc.compile(net)):
        for p in net.parameters():
            p.grad = None
        x.grad = None
        losses = []
        for _ in range(4):  # the trace (first call), then replays; grads accumulate
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            losses.append(loss.item())
        results.append((losses, _grads(net, x)))
    (l0, g0), (l1, g1) = results
    np.testing.assert_allclose(l1, l0, rtol=1e-6)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compiled_call_output_has_a_grad_fn_and_replays():
    net = _model()
    cnet = graphc.compile(net)
    x = graphc.randn(3, 6)
    for _ in range(3):
        out = cnet(x)
    assert out.grad_fn is not None and out.grad_fn.name() == "CompiledFunctionBackward"
    assert cnet.cache_info().traces == 1
    with graphc.no_grad():
        assert cnet(x).grad_fn is None


def test_second_backward_without_retain_graph_raises():
    net = _model()
    cnet = graphc.compile(net)
    x = graphc.randn(3, 6)
    cnet(x)
    out = cnet(x).sum()
    out.backward(retain_graph=True)
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_parameter_changed_in_place_before_backward_raises():
    net = _model()
    cnet = graphc.compile(net)
    x = graphc.randn(3, 6)
    cnet(x)
    out = cnet(x).sum()
    with graphc.no_grad():
        net[0].weight.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_unused_parameter_keeps_grad_none():
    graphc.manual_seed(0)
    used, unused = graphc.randn(3, requires_grad=True), graphc.randn(3, requires_grad=True)

    @graphc.compile
    def f(x):
        return (x * used).sum() + 0 * unused.detach().sum()

    x = graphc.randn(3)
    for _ in range(3):
        f(x).backward()
    assert unused.grad is None
    np.testing.assert_allclose(used.grad.numpy(), 3 * x.numpy(), rtol=1e-6)


def test_in_place_op_on_a_compiled_calls_output():
    """Regression: the compiled call's grad_fn is built by GradNode's constructor, so an
    in-place op on the output (which walks the history for saved values) works, and the
    gradient through the write and the compiled backward is right."""
    w = graphc.tensor([0.3, -1.2, 0.7], dtype=graphc.float64, requires_grad=True)
    x = graphc.tensor([1.5, 0.2, -0.4], dtype=graphc.float64)
    f = graphc.compile(lambda x: (x * w).tanh())
    for _ in range(3):  # trace (first call), replays
        y = f(x)
    assert y.grad_fn.name() == "CompiledFunctionBackward"
    y.add_(1)
    y.mul_(y)
    y.sum().backward()
    t = np.tanh(x.numpy() * w.detach().numpy())
    np.testing.assert_allclose(y.detach().numpy(), (t + 1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), 2 * (t + 1) * (1 - t * t) * x.numpy(), rtol=1e-10)
