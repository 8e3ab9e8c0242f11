"""A fused eager backward that fails falls back for that graph only (issue 11): before, one
failure switched the fused path off for the rest of the process, silently. The gradient of the
failed call still comes from the op-by-op engine, and is right."""

import logging

import numpy as np

import graphc
from graphc.autograd import fused


def _backward(width):
    graphc.manual_seed(width)
    x = graphc.randn(3, width, requires_grad=True)
    y = x
    for _ in range(5):  # enough ops to fuse without warming up (fused.SMALL_GRAPH)
        y = (y * 1.5).tanh() + y
    y.sum().backward()
    return x


def _expected(width):
    graphc.manual_seed(width)
    x = graphc.randn(3, width).numpy().astype(np.float64)
    ys, y = [], x
    for _ in range(5):
        ys.append(y)
        y = np.tanh(y * 1.5) + y
    g = np.ones_like(x)
    for y in reversed(ys):
        g = g * (1.5 * (1 - np.tanh(1.5 * y) ** 2) + 1)
    return g


def test_one_failing_graph_does_not_switch_the_fused_path_off(monkeypatch, caplog):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "always")  # fused from the first call (no measuring)
    monkeypatch.setattr(fused, "_CHOICES", {})
    real_run, calls = fused.run, []

    def flaky(order, seeds, parents_of, choice):
        width = next(v.shape[1] for v in order if type(v).__name__ == "GradNode" and len(v.shape) == 2)
        calls.append(width)
        if width == 4:
            raise RuntimeError("injected failure")
        return real_run(order, seeds, parents_of, choice)

    monkeypatch.setattr(fused, "run", flaky)
    with caplog.at_level(logging.WARNING, logger="graphc.autograd"):
        x = _backward(4)
    np.testing.assert_allclose(x.grad.numpy(), _expected(4), rtol=1e-5)  # op by op after the failure
    assert "injected failure" in caplog.text and "this graph runs op by op" in caplog.text
    assert calls == [4]
    x = _backward(4)  # the same graph is not retried
    assert calls == [4]
    np.testing.assert_allclose(x.grad.numpy(), _expected(4), rtol=1e-5)
    x = _backward(5)  # another graph still runs fused
    assert calls == [4, 5]
    np.testing.assert_allclose(x.grad.numpy(), _expected(5), rtol=1e-5)
