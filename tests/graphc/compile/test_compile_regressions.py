"""Regressions of programs that crashed inside the compiler (issue 11), each compiled and
compared with eager: gradients as well as values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphc

ZERO_D = {
    "sum_keepdim": lambda x: x.sum(dim=0, keepdim=True),
    "sum": lambda x: x.sum(dim=0),
    "mean": lambda x: x.mean(dim=-1, keepdim=True),
    "amax": lambda x: x.amax(dim=0, keepdim=True),
    "prod": lambda x: x.prod(dim=0, keepdim=True),
    "logsumexp": lambda x: x.logsumexp(dim=0, keepdim=True),
    "softmax": lambda x: graphc.softmax(x, dim=0) * x,
    "norm": lambda x: x.norm(dim=0, keepdim=True),
    "var": lambda x: (x * x).var(dim=0, unbiased=False) + x,
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_reductions_over_dim_0_of_a_0d_tensor(name):
    """sum(dim=0, keepdim=True) on a 0-d tensor raised IndexError in simplify."""
    fn = ZERO_D[name]
    x = graphc.tensor(1.5, requires_grad=True)
    expected = fn(x)
    (expected * 3).sum().backward()
    g_eager = float(x.grad)
    x.grad = None
    f = graphc.compile(fn)
    for _ in range(2):
        got = f(x)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    (got * 3).sum().backward()
    np.testing.assert_allclose(float(x.grad), g_eager, rtol=1e-6)

    def step(x):  # the backward inside the compiled function too
        (fn(x) * 3).sum().backward()
        return x.grad

    x.grad = None
    np.testing.assert_allclose(float(graphc.compile(step)(x)), g_eager, rtol=1e-6)


SHAPES = [(), (1,), (2,), (3,), (2, 1), (1, 2), (2, 2), (2, 3), (1, 2, 3), (2, 2, 2)]


def _stack_backward(a, b):
    v = a * b
    graphc.stack([v.exp(), v[0] * b], -1).sum().backward()
    return v


def test_stack_of_a_value_and_a_view_of_it_backward():
    """``v=a*b; stack([v.exp(), v[0]*b], -1).sum().backward()`` inside compile gave "too
    many indices" in generated code: fusion merged a kernel reading another's value
    through a slice, and the numpy codegen applied a reshape to a flattened block."""
    rng = np.random.default_rng(0)
    checked = 0
    for sa, sb in itertools.product(SHAPES, SHAPES):
        a0 = rng.standard_normal(sa).astype(np.float32)
        b0 = rng.standard_normal(sb).astype(np.float32)
        ea, eb = graphc.tensor(a0, requires_grad=True), graphc.tensor(b0, requires_grad=True)
        try:
            ev = _stack_backward(ea, eb)
        except (RuntimeError, IndexError):
            continue  # eager refuses these shapes too
        ca, cb = graphc.tensor(a0, requires_grad=True), graphc.tensor(b0, requires_grad=True)
        cv = graphc.compile(_stack_backward)(ca, cb)
        np.testing.assert_allclose(cv.detach().numpy(), ev.detach().numpy(), rtol=1e-6, err_msg=f"{sa} {sb}")
        np.testing.assert_allclose(ca.grad.numpy(), ea.grad.numpy(), rtol=1e-5, err_msg=f"{sa} {sb}")
        np.testing.assert_allclose(cb.grad.numpy(), eb.grad.numpy(), rtol=1e-5, err_msg=f"{sa} {sb}")
        checked += 1
    assert checked >= 20


def test_non_finite_constants_in_generated_code():
    """Generated numpy code spelled inf and nan as bare names (NameError)."""
    f = graphc.compile(lambda x: x.masked_fill(x > 0, float("-inf")) + x * float("inf") * 0 + 1)
    x = graphc.tensor([-1.0, 2.0, -3.0])
    with np.errstate(invalid="ignore"):
        expected = np.where(x.numpy() > 0, -np.inf, x.numpy()) + x.numpy() * np.inf * 0 + 1
    np.testing.assert_array_equal(f(x).numpy(), expected)
