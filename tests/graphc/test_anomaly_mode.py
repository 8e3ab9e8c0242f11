"""graphc.autograd.detect_anomaly / set_detect_anomaly: NaN gradients name their node, and the
forward call that made the node is shown (PyTorch's messages)."""

from __future__ import annotations

import warnings

import pytest

import graphc
from graphc.autograd import Function, detect_anomaly, set_detect_anomaly


def test_nan_in_backward_raises_naming_the_node_and_shows_the_forward_line():
    x = graphc.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with detect_anomaly():
            z = x * 0
            y = z.log()  # the line the forward stack must name
            with pytest.raises(RuntimeError, match=r"Function 'LogBackward0' returned nan values in its 0th output\."):
                (y * 0).sum().backward()
    messages = [str(w.message) for w in caught]
    assert any("Anomaly Detection has been enabled" in m for m in messages)
    stack = [m for m in messages if m.startswith("Error detected in LogBackward0")]
    assert stack and "test_anomaly_mode.py" in stack[0] and "y = z.log()" in stack[0]
    assert not graphc.is_anomaly_enabled()  # restored on exit


def test_without_anomaly_mode_nan_passes_silently():
    x = graphc.tensor([0.0, 1.0], requires_grad=True)
    ((x * 0).log() * 0).sum().backward()
    assert x.grad.isnan().any()


def test_check_nan_false_and_set_detect_anomaly_restores():
    x = graphc.tensor([0.0, 1.0], requires_grad=True)
    with set_detect_anomaly(True, check_nan=False):
        assert graphc.is_anomaly_enabled() and not graphc.is_anomaly_check_nan_enabled()
        ((x * 0).log() * 0).sum().backward()  # no NaN check
    assert not graphc.is_anomaly_enabled() and graphc.is_anomaly_check_nan_enabled()
    set_detect_anomaly(True)
    try:
        assert graphc.is_anomaly_enabled()
    finally:
        graphc.set_anomaly_enabled(False)
    assert not graphc.is_anomaly_enabled()


def test_as_decorator_and_error_in_a_custom_backward_shows_its_forward():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        deco = detect_anomaly()

    @deco
    def run():
        assert graphc.is_anomaly_enabled()
        x = graphc.ones(2, requires_grad=True)
        y = Bad.apply(x)
        y.sum().backward()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="boom"):
            run()
    assert any(str(w.message).startswith("Error detected in BadBackward") for w in caught)
    assert not graphc.is_anomaly_enabled()


def test_finite_gradients_are_unchanged_in_anomaly_mode():
    x = graphc.tensor([1.0, 2.0], dtype=graphc.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with detect_anomaly():
            (x.log() * x).sum().backward()
    assert x.grad.tolist() == pytest.approx([1.0, 1.0 + 0.6931471805599453])
