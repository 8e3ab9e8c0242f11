"""``graphc.autograd.Function``: custom forward/backward pairs, eagerly and under compile.

References: closed-form derivatives written in numpy float64, and float64 central
differences through ``gradcheck``; under ``@graphc.compile`` the user's backward must be
traced into the graph (its ops appear there and fuse) and give eager's values.
"""

from __future__ import annotations

import numpy as np
import pytest
from autograd_refs import F64, rand64, t64

import graphc
from graphc.autograd import Function, gradcheck, gradgradcheck, once_differentiable


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaledMul(Function):
    """x * y * k with a non-tensor argument in the middle; records needs_input_grad."""

    seen = []

    @staticmethod
    def forward(ctx, x, k, y):
        ctx.save_for_backward(x, y)
        ctx.k = k
        ScaledMul.seen.append(ctx.needs_input_grad)
        return x * y * k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g * y * ctx.k if ctx.needs_input_grad[0] else None
        gy = g * x * ctx.k if ctx.needs_input_grad[2] else None
        return gx, None, gy


class SortWithIndices(Function):
    """Two outputs, one marked non-differentiable (PyTorch's doc example shape). The sort is a
    running maximum with its arg positions (traceable, unlike graphc's numpy sort)."""

    @staticmethod
    def forward(ctx, x):
        values, idx = graphc.cummax(x, 0)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    def backward(ctx, g, g_idx):
        (idx,) = ctx.saved_tensors
        out = graphc.zeros_like(g)
        return out.scatter_add(0, idx, g)


class SplitTwo(Function):
    """Two differentiable outputs; with materialize_grads off, an unused one arrives as None."""

    received = []

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, ga, gb):
        SplitTwo.received.append((ga is None, gb is None))
        (x,) = ctx.saved_tensors if ctx.saved_tensors else (None,)
        out = None
        if ga is not None:
            out = ga * 2
        if gb is not None:
            raise AssertionError("only the first output is used in the test")
        return out


class Cube(Function):
    """New style: forward without ctx, setup_context separate; differentiable backward."""

    @staticmethod
    def forward(x):
        return x * x * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class OnceCube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


def test_eager_exp_matches_closed_form_and_grad_fn_face():
    x = rand64(4, 3)
    y = Exp.apply(x)
    np.testing.assert_allclose(y.detach().numpy(), np.exp(x.detach().numpy()))
    assert y.grad_fn.name() == "ExpBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    assert len(y.grad_fn.saved_tensors) == 1  # PyTorch's grad_fn is the ctx
    (y * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))


def test_gradcheck_and_gradgradcheck():
    assert gradcheck(Exp.apply, (rand64(3, 2),))
    assert gradcheck(Cube.apply, (rand64(5, seed=1),))
    assert gradgradcheck(Cube.apply, (rand64(5, seed=2),))


def test_needs_input_grad_and_non_tensor_arguments():
    ScaledMul.seen.clear()
    x, y = rand64(3), rand64(3, seed=1, requires_grad=False)
    out = ScaledMul.apply(x, 2.5, y)
    assert ScaledMul.seen[-1] == (True, False, False)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.5 * y.numpy())
    with graphc.no_grad():
        r = ScaledMul.apply(x, 1.0, y)
    assert ScaledMul.seen[-1] == (False, False, False) and r.grad_fn is None and not r.requires_grad


def test_non_differentiable_output_and_zero_grads_for_it():
    x = t64([3.0, 1.0, 2.0])
    values, idx = SortWithIndices.apply(x)
    assert not idx.requires_grad and values.requires_grad
    assert idx.dtype is graphc.int64
    (values * t64([1.0, 10.0, 100.0], False)).sum().backward()
    # running maximum: values = [3, 3, 3], all from x[0]
    np.testing.assert_array_equal(idx.numpy(), [0, 0, 0])
    np.testing.assert_allclose(x.grad.numpy(), [111.0, 0.0, 0.0])


def test_materialize_grads_off_passes_none():
    SplitTwo.received.clear()
    x = rand64(4)
    a, b = SplitTwo.apply(x)
    a.sum().backward()
    assert SplitTwo.received == [(False, True)]
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 2.0))


def test_multi_output_both_used():
    class Both(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, ga, gb):
            (x,) = ctx.saved_tensors
            return ga * x.cos() - gb * x.sin()

    x = rand64(5)
    s, c = Both.apply(x)
    (s * 3 + c * c).sum().backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.cos(xv) - 2 * np.cos(xv) * np.sin(xv), rtol=1e-12)
    assert gradcheck(lambda t: Both.apply(t), (rand64(3, seed=4),))


def test_once_differentiable_first_order_ok_second_order_raises():
    x = rand64(3)
    y = OnceCube.apply(x)
    (g,) = graphc.autograd.grad(y.sum(), [x])
    np.testing.assert_allclose(g.numpy(), 3 * x.detach().numpy() ** 2)
    # As in PyTorch, the error needs an incoming gradient that itself requires grad: 2*y here.
    y = OnceCube.apply(x)
    (g,) = graphc.autograd.grad((y * y).sum(), [x], create_graph=True)
    xv = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), 6 * xv**5)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_saved_tensor_modified_in_place_raises():
    x = rand64(3)
    y = Exp.apply(x)
    with graphc.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_second_backward_without_retain_graph_raises():
    x = rand64(3)
    y = Exp.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_wrong_gradient_count_and_shape_errors():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return graphc.ones(7, dtype=F64)

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(rand64(2), rand64(2)).sum().backward()
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(rand64(2, 3)).sum().backward()


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class AddBias(Function):
        @staticmethod
        def forward(ctx, x, b):
            return x + b

        @staticmethod
        def backward(ctx, g):
            return g, g  # g has x's shape: the bias grad is summed down, as PyTorch's sum_to

    x, b = rand64(4, 3), rand64(3, seed=1)
    AddBias.apply(x, b).pow(2).sum().backward()
    ref = 2 * (x.detach().numpy() + b.detach().numpy())
    np.testing.assert_allclose(b.grad.numpy(), ref.sum(0))


def test_legacy_call_raises():
    with pytest.raises(RuntimeError, match="static forward"):
        Exp()(rand64(2))


def test_mark_dirty_in_place_function():
    class AddOne_(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3  # a deliberately different rule, to see that it is used

    w = rand64(3)
    h = w * 1
    out = AddOne_.apply(h)
    assert out is h
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full(3, 3.0))
    np.testing.assert_allclose(h.detach().numpy(), w.detach().numpy() + 1)


# -- under @graphc.compile -----------------------------------------------------------


class Swish(Function):
    """x * sigmoid(x), with a hand-written backward that is deliberately scaled by 1.0."""

    @staticmethod
    def forward(ctx, x):
        s = x.sigmoid()
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return g * (s + x * s * (1 - s))


def _swish_grad(x):
    s = 1 / (1 + np.exp(-x))
    return s + x * s * (1 - s)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_compiled_training_step_traces_the_user_backward(backend):
    w = graphc.tensor(np.random.default_rng(0).normal(size=(4, 3)), dtype=F64, requires_grad=True)
    x = graphc.tensor(np.random.default_rng(1).normal(size=(5, 4)), dtype=F64)

    def step(x):
        loss = Swish.apply(x @ w).sum()
        loss.backward()
        return loss

    cstep = graphc.compile(step, backend=backend)
    xv, wv = x.numpy(), w.detach().numpy()
    for _ in range(3):  # warm-up, trace, replay
        w.grad = None
        loss = cstep(x)
        np.testing.assert_allclose(w.grad.numpy(), xv.T @ _swish_grad(xv @ wv), rtol=1e-10)
    z = xv @ wv
    np.testing.assert_allclose(loss.item(), (z / (1 + np.exp(-z))).sum(), rtol=1e-12)
    assert cstep.cache_info().traces == 1
    traced = cstep.explain(x).traced
    # the user's backward is in the traced graph, recorded as backward ops: its (1 - s) is a sub
    backward_ops = [n.op for n in traced.nodes if n.meta.get("phase") == "backward"]
    assert "sub" in backward_ops and "sigmoid" not in backward_ops


def test_compiled_forward_backward_outside_uses_user_rule():
    """A compiled forward (AOT split): the user's backward lands in the backward program."""
    x = graphc.tensor(np.linspace(-2, 2, 6), dtype=F64, requires_grad=True)
    f = graphc.compile(lambda t: Swish.apply(t * 1.5).sum())
    for _ in range(3):
        x.grad = None
        out = f(x)
        out.backward()
        np.testing.assert_allclose(x.grad.numpy(), 1.5 * _swish_grad(1.5 * x.detach().numpy()), rtol=1e-12)
    assert out.grad_fn.name() == "CompiledFunctionBackward"


def test_compiled_function_with_lifted_parameter_and_non_differentiable_output():
    graphc.manual_seed(0)
    lin = graphc.nn.Linear(3, 3).double()

    def step(x):
        values, idx = SortWithIndices.apply(lin(x).reshape(-1))
        loss = (values * graphc.arange(9, dtype=F64)).sum()
        loss.backward()
        return loss, idx

    x = rand64(3, 3, requires_grad=False)
    ref = None
    for compiled in (False, True, True, True):
        lin.zero_grad()
        fn = graphc.compile(step) if compiled else step
        loss, idx = fn(x)
        grads = [p.grad.numpy().copy() for p in lin.parameters()]
        if ref is None:
            ref = (loss.item(), idx.numpy().copy(), grads)
        else:
            assert loss.item() == pytest.approx(ref[0], rel=1e-12)
            np.testing.assert_array_equal(idx.numpy(), ref[1])
            for a, b in zip(grads, ref[2]):
                np.testing.assert_allclose(a, b, rtol=1e-12)


def test_apply_binds_keyword_arguments():
    x, y = rand64(3), rand64(3, seed=1, requires_grad=False)
    out = ScaledMul.apply(x, y=y, k=2.0)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * y.numpy())
