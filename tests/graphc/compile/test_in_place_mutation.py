"""Compiled numpy programs write a mutation's new value straight into the mutated tensor when
nothing reads the old value afterwards (``backends.numpy.inplace``), and fall back to a fresh
array plus a copy back otherwise. Either way the values are eager's: every test checks them
against float64 numpy, and counts which way the program went, so that it cannot pass by
never taking the path it is about."""

import numpy as np
import pytest

import graphc
from backends.numpy import runtime as R
from backends.numpy.codegen import compile_schedule
from backends.numpy.inplace import in_place_values
from ir import Graph, dtypes
from ir.passes.fusion import fuse
from ir.passes.simplify import simplify


@pytest.fixture
def writes(monkeypatch):
    """Counts of in-place writes taken and refused at run time."""
    counts = {"in_place": 0, "fresh": 0}
    real = R.writable_in_place

    def spy(a, shared):
        ok = real(a, shared)
        counts["in_place" if ok else "fresh"] += 1
        return ok

    monkeypatch.setattr(R, "writable_in_place", spy)
    return counts


def _sgd_reference(w0, x, lr, steps):
    w = w0.astype(np.float64)
    for _ in range(steps):
        y = x.astype(np.float64) @ w
        grad = x.astype(np.float64).T @ (2 * y / y.size)
        w = w - lr * grad
    return w


def _sgd_step(w):
    """A compiled training step of ``loss = mean((x @ w)^2)`` with a hand-written SGD update."""

    @graphc.compile
    def step(x):
        loss = (x @ w).square().mean()
        loss.backward()
        with graphc.no_grad():
            w.sub_(w.grad * 0.1)
        w.grad = None
        return loss

    return step


def test_an_sgd_step_updates_its_weight_in_place(writes):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((16, 8)).astype(np.float32)
    x = rng.standard_normal((32, 16)).astype(np.float32)
    w = graphc.tensor(w0.copy(), requires_grad=True)
    data_before = w._data

    step = _sgd_step(w)

    for _ in range(3):
        step(graphc.tensor(x))
    np.testing.assert_allclose(w.detach().numpy(), _sgd_reference(w0, x, 0.1, 3), rtol=1e-5, atol=1e-6)
    assert w._data is data_before  # the tensor kept its array: the update went into it
    assert writes["in_place"] >= 2 and writes["fresh"] == 0


def test_a_weight_that_is_a_view_gets_a_fresh_array_and_a_copy_back(writes):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((2, 16, 8)).astype(np.float32)
    x = rng.standard_normal((32, 16)).astype(np.float32)
    w = graphc.from_numpy(base[1]).requires_grad_()  # its memory belongs to `base`

    step = _sgd_step(w)

    want = _sgd_reference(base[1].copy(), x, 0.1, 2)
    untouched = base[0].copy()
    for _ in range(2):
        step(graphc.tensor(x))
    np.testing.assert_allclose(base[1], want, rtol=1e-5, atol=1e-6)  # written through the view
    np.testing.assert_array_equal(base[0], untouched)
    assert writes["fresh"] >= 2 and writes["in_place"] == 0


def test_the_same_tensor_passed_twice_is_not_overwritten_early(writes):
    """``a`` is mutated and also read, as the second argument, after the mutating kernel."""

    @graphc.compile
    def f(a, b):
        a.mul_(2.0)
        return b + 1.0

    x = graphc.tensor(np.arange(6, dtype=np.float32))
    out = f(x, graphc.tensor(np.arange(6, dtype=np.float32)))  # distinct tensors first
    np.testing.assert_array_equal(out.numpy(), np.arange(6) + 1.0)
    out = f(x, x)  # then one tensor in both places: eager reads b after a was doubled
    np.testing.assert_array_equal(x.numpy(), np.arange(6) * 4.0)
    np.testing.assert_array_equal(out.numpy(), np.arange(6) * 4.0 + 1.0)


def test_outputs_never_share_memory_with_the_mutated_tensor(writes):
    @graphc.compile
    def f(a):
        a.mul_(2.0)
        return a[0] + 0.0  # simplify makes this a view of the new value

    a = graphc.tensor(np.ones((2, 3), dtype=np.float32))
    out = f(a)
    out.add_(100.0)
    np.testing.assert_array_equal(a.numpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(out.numpy(), np.full(3, 102.0))


# --------------------------------------------------------------------------------------------
# the static analysis, on hand-built graphs


def _graph(build):
    g = Graph("t")
    t = g.add_input((4, 8), dtypes.float32, "t")
    build(g, t)
    return fuse(simplify(g))


def _chosen(schedule):
    return {v: t.id for v, t in in_place_values(schedule).items()}


def test_a_lone_update_is_chosen():
    def build(g, t):
        v = g.add("mul", [t, g.add("constant", [], value=2.0, dtype=dtypes.float32, shape=())])
        g.outputs = []
        g.mutations = [(t, v)]

    s = _graph(build)
    assert list(_chosen(s).values()) == [s.graph.inputs[0].id]


@pytest.mark.parametrize("old_read", ["transpose", "sum"])
def test_an_old_value_read_later_keeps_the_copy(old_read):
    """A later kernel that reads the old value (through a view, or a reduction that fusion
    keeps apart) rules the in-place write out; the program's values stay eager's."""

    def build(g, t):
        two = g.add("constant", [], value=2.0, dtype=dtypes.float32, shape=())
        v = g.add("mul", [t, two])
        if old_read == "transpose":
            w = g.add("permute", [t], dims=(1, 0))
            out = g.add("exp", [w])
        else:
            out = g.add("sum", [g.add("exp", [t])], axes=(0,), keepdim=False)
        g.outputs = [out]
        g.mutations = [(t, v)]

    s = _graph(build)
    program = compile_schedule(s, "t")
    x = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    arg = x.copy()
    out, new = program([arg])
    want = np.exp(x.T.astype(np.float64)) if old_read == "transpose" else np.exp(x.astype(np.float64)).sum(0)
    np.testing.assert_allclose(out, want, rtol=1e-5)
    np.testing.assert_allclose(new, 2 * x)
    kernels = [k for kind, k in s.steps if kind == "kernel"]
    assert s.graph.mutations[0][1] in kernels[0].outputs  # the update runs first, the reader after it
    assert not _chosen(s) and new is not arg
