"""``graphc.trace`` is PyTorch's matrix trace; the compiler's tracer is ``graphc.compiler.trace``."""

import numpy as np
import pytest

import graphc
from ir.graph import Graph


def test_matrix_trace_values_dtype_and_gradient():
    a = np.random.default_rng(0).normal(size=(4, 3))
    x = graphc.tensor(a, requires_grad=True)
    t = graphc.trace(x)
    assert t.shape == () and t.item() == pytest.approx(np.trace(a), rel=1e-14)
    assert x.trace().item() == pytest.approx(np.trace(a), rel=1e-14)
    t.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(4, 3))
    assert graphc.trace(graphc.arange(9).reshape(3, 3)).item() == 12


def test_matrix_trace_errors():
    with pytest.raises(RuntimeError, match="expected a matrix"):
        graphc.trace(graphc.ones(3))
    with pytest.raises(TypeError, match="graphc.compiler.trace"):
        graphc.trace(lambda x: x * 2, graphc.ones(2))


def test_compiler_trace_records_a_graph():
    g = graphc.compiler.trace(lambda x: (x * 2).sum(), graphc.ones(3))
    assert isinstance(g, Graph)
    assert [n.op for n in g.nodes if n.op not in ("input", "constant")] == ["mul", "sum"]


def test_is_compiling():
    seen = []

    def fn(x):
        seen.append(graphc.compiler.is_compiling())
        return x + 1

    fn(graphc.ones(2))  # eager
    graphc.compile(fn)(graphc.ones(2))  # the first call traces
    assert seen == [False, True] and not graphc.compiler.is_compiling()
