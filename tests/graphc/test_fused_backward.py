"""Eager backward() through the compiler (graphc.autograd.fused) must equal the
op-by-op engine, reuse its generated program across steps, and step aside when
hooks or create_graph need the op-by-op engine."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc import _pipeline
from graphc.autograd import fused


def _net():
    graphc.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, 16), nn.GELU(), nn.Linear(16, 3),
    )


def _grads(monkeypatch, mode):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", mode)
    net = _net()
    x = graphc.randn(5, 1, 8, 8, requires_grad=True)
    y = graphc.randint(0, 3, (5,))
    for _ in range(2):  # accumulation across two backward calls
        nn.functional.cross_entropy(net(x), y).backward()
    return [p.grad.numpy().copy() for p in net.parameters()] + [x.grad.numpy().copy()]


def test_fused_backward_equals_op_by_op(monkeypatch):
    reference = _grads(monkeypatch, "0")
    fused_grads = _grads(monkeypatch, "strict")
    for a, b in zip(fused_grads, reference):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fused_backward_reuses_its_program(monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")
    monkeypatch.setattr(fused, "_CHOICES", {})
    net = _net()
    x, y = graphc.randn(5, 1, 8, 8), graphc.randint(0, 3, (5,))
    built = []
    real_build = _pipeline.build

    def spy(graph, name, *args, **kwargs):
        report = real_build(graph, name, *args, **kwargs)
        built.append("program cache hit" in report.timings)
        return report

    monkeypatch.setattr(_pipeline, "build", spy)
    for _ in range(3):
        net.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
    # The first step builds the program; later steps of the same graph signature run its plan
    # without rebuilding (or even hashing) the backward graph.
    assert len(built) == 1


def test_hooks_and_create_graph_use_the_op_by_op_engine(monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")
    calls = []
    monkeypatch.setattr(fused, "run", lambda *a, **k: calls.append(1) or pytest.fail("fused path taken"))
    x = graphc.randn(6, requires_grad=True)
    y = x
    for _ in range(10):
        y = (y * 1.5).tanh()
    seen = []
    y.register_hook(lambda g: seen.append(g))
    y.sum().backward(retain_graph=True)
    assert seen and not calls
    (gx,) = graphc.autograd.grad(y.sum(), [x], create_graph=True)
    assert gx.requires_grad and not calls
