"""Shared helpers of the nn tests: float64 tensors, projections for gradcheck, eager-vs-compiled runs."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.autograd import gradcheck


def t64(rng, *shape, requires_grad=False, scale=1.0):
    return graphc.tensor(rng.standard_normal(shape) * scale, dtype=graphc.float64, requires_grad=requires_grad)


def close(a, b, atol=1e-9, rtol=1e-7):
    a = a.detach().numpy() if isinstance(a, graphc.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, graphc.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, equal_nan=True)


def check_grad(fn, *inputs, atol=1e-5, rtol=1e-3):
    """gradcheck of sum(fn(*inputs) * R) for a fixed random R: the full vector-Jacobian product."""
    rng = np.random.default_rng(7)
    cache = {}

    def projected(*args):
        out = fn(*args)
        if tuple(out.shape) not in cache:
            cache[tuple(out.shape)] = graphc.tensor(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
        return (out * cache[tuple(out.shape)]).sum()

    assert gradcheck(projected, inputs, atol=atol, rtol=rtol)


def compiled_matches(fn, *inputs, atol=1e-9, rtol=1e-7):
    """``fn`` under ``@graphc.compile`` (traced on the first call) gives eager's values and input gradients."""
    def run(f):
        args = [x.detach().requires_grad_(x.requires_grad) if isinstance(x, graphc.Tensor) else x for x in inputs]
        out = f(*args)
        out.sum().backward() if out.requires_grad else None
        return out.detach(), [a.grad for a in args if isinstance(a, graphc.Tensor) and a.requires_grad]

    def loss_and_grads(*args):
        return fn(*args)

    eager_out, eager_grads = run(fn)
    comp = graphc.compile(loss_and_grads, warmup=False)
    comp_out, comp_grads = run(comp)
    close(comp_out, eager_out, atol, rtol)
    for a, b in zip(comp_grads, eager_grads):
        close(a, b, atol, rtol)
