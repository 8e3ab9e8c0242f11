"""Eager autograd with PyTorch's semantics.

References are independent of graphc's autograd: hand-computed values (the
seed tutorial's 4.5), closed forms written in numpy, and float64 central
differences of forward evaluations. Per-op gradchecks live in test_ops.py;
this file covers the semantics (leaves, accumulation, hooks, graph
lifetime, grad modes, version counters, in-place rebasing, grad_fn objects),
composite functions and higher-order gradients.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from autograd_refs import F64, rand64, t64, val

import graphc
from graphc import autograd
from graphc.autograd import AccumulateGrad, gradgradcheck

# ----------------------------------------------------------------------------
# the seed tutorial's autograd snippets


def test_seed_mean_of_square_gradient_is_4_5():
    x = graphc.ones(2, 2, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    y = x + 2
    assert y.grad_fn.name() == "AddBackward0"
    assert "grad_fn=<AddBackward0>" in repr(y)
    z = y * y * 3
    out = z.mean()
    assert out.item() == 27.0
    assert "grad_fn=<MeanBackward0>" in repr(out)
    out.backward()
    np.testing.assert_array_equal(val(x.grad), np.full((2, 2), 4.5))
    assert x.grad.dtype is graphc.float32
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_seed_requires_grad_flips():
    graphc.manual_seed(0)
    a = graphc.randn(2, 2)
    a = (a * 3) / (a - 1)
    assert a.requires_grad is False
    r = a.requires_grad_(True)
    assert r is a
    assert a.requires_grad is True and a.is_leaf
    assert "requires_grad=True" in repr(a)
    a.requires_grad = False
    assert not a.requires_grad


def test_seed_no_grad_stops_tracking():
    x = graphc.ones(2, 2, requires_grad=True)
    assert (x**2).requires_grad
    with graphc.no_grad():
        y = x**2
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert (x**2).requires_grad


# ----------------------------------------------------------------------------
# leaves, requires_grad, .grad


def test_leaves_and_non_leaves():
    x = rand64(3)
    c = graphc.ones(3, dtype=F64)  # no grad: a leaf too
    y = x * c
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert not c.requires_grad and y.requires_grad
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    # An op on tensors that do not require grad records nothing.
    e = c * 2
    assert e.is_leaf and e.grad_fn is None


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        graphc.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        graphc.tensor([1, 2], requires_grad=True)
    # Setting it to False is always fine.
    assert graphc.arange(3).requires_grad_(False).requires_grad is False


def test_requires_grad_false_on_non_leaf_raises():
    y = rand64(2) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


def test_integer_and_bool_outputs_do_not_require_grad():
    x = rand64(2, 3)
    for out in (x.argmax(), x > 0, x == x, x.long(), x.int(), x.max(dim=1).indices, x.isnan()):
        assert not out.requires_grad and out.grad_fn is None
    # ...and a path through an integer tensor contributes no gradient.
    a = t64([1.5, -2.5, 3.25])
    (a * a.long().double()).sum().backward()
    np.testing.assert_array_equal(val(a.grad), [1.0, -2.0, 3.0])


def test_piecewise_constant_ops_have_zero_gradient():
    x = t64([0.3, -1.7, 2.2])
    for f in (graphc.sign, graphc.floor, graphc.ceil, graphc.round, graphc.trunc):
        y = f(x)
        assert y.requires_grad
        (g,) = autograd.grad(y.sum(), x)
        np.testing.assert_array_equal(val(g), np.zeros(3))


def test_grad_accumulates_across_calls_and_can_be_reset():
    x = t64([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(val(x.grad), [2, 4, 6])
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_allclose(val(x.grad), [4, 8, 12])
    assert x.grad is first  # accumulated in place, as PyTorch does
    x.grad = None
    (3 * x).sum().backward()
    np.testing.assert_allclose(val(x.grad), [3, 3, 3])
    x.grad.zero_()
    np.testing.assert_allclose(val(x.grad), [0, 0, 0])


def test_non_leaf_grad_access_warns_and_is_none():
    x = rand64(3)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    # A leaf's .grad does not warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None


def test_grad_dtype_matches_the_leaf():
    x = graphc.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x.double() * 3).sum().backward()
    assert x.grad.dtype is graphc.float32
    np.testing.assert_array_equal(val(x.grad), [3.0, 3.0])


def test_broadcast_gradients_are_summed_back():
    a = rand64(2, 1, 3, seed=1)
    b = rand64(4, 1, seed=2)
    (a * b).sum().backward()  # shape (2, 4, 3)
    np.testing.assert_allclose(val(a.grad), np.broadcast_to(val(b).sum(), (2, 1, 3)))
    np.testing.assert_allclose(val(b.grad), np.full((4, 1), val(a).sum()))


# ----------------------------------------------------------------------------
# backward(): gradient=, retain_graph, create_graph, inputs=


def test_backward_non_scalar_needs_gradient():
    x = rand64(2, 3)
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    v = rand64(2, 3, seed=5, requires_grad=False)
    y.backward(gradient=v)
    np.testing.assert_allclose(val(x.grad), 2 * val(x) * val(v))


def test_backward_gradient_shape_mismatch_raises():
    x = rand64(2, 3)
    y = x * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(gradient=graphc.ones(3, 2, dtype=F64))


def test_backward_on_tensor_without_grad_raises():
    x = graphc.ones(3)
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        x.sum().backward()


def test_second_backward_without_retain_graph_raises():
    x = t64([1.0, 2.0])
    y = (x * x).sum()  # MulBackward0 saves x
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_second_backward_through_nodes_that_saved_nothing_is_allowed():
    # As in PyTorch, only reading a freed saved value raises: add and sum save nothing.
    x = t64([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(val(x.grad), [2.0, 2.0])


def test_second_backward_with_retain_graph_accumulates():
    x = t64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(val(x.grad), 2 * (e + e * np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_autograd_grad_frees_the_graph_too():
    x = t64([1.0, 2.0])
    y = x.sin().sum()
    autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        autograd.grad(y, x)


def test_backward_inputs_restricts_accumulation():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_allclose(val(a.grad), [3.0, 4.0])
    assert b.grad is None


def test_autograd_backward_function_with_grad_tensors():
    x = t64([1.0, 2.0, 3.0])
    y1, y2 = x * 2, x * x
    autograd.backward([y1, y2], [t64([1.0, 1.0, 1.0], False), t64([0.5, 0.5, 0.5], False)])
    np.testing.assert_allclose(val(x.grad), 2 + val(x))


def test_autograd_grad_returns_without_accumulating():
    x = rand64(3, seed=1)
    w = rand64(3, seed=2)
    y = x * w
    gx, gw = autograd.grad(y, [x, w], grad_outputs=graphc.ones(3, dtype=F64))
    np.testing.assert_allclose(val(gx), val(w))
    np.testing.assert_allclose(val(gw), val(x))
    assert x.grad is None and w.grad is None
    assert isinstance(autograd.grad((x * x).sum(), x), tuple)


def test_autograd_grad_unused_input():
    x, u = rand64(2), rand64(2, seed=3)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        autograd.grad((x * 2).sum(), [x, u])
    gx, gu = autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(val(gx), [2, 2])
    gx, gu = autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
    np.testing.assert_array_equal(val(gu), [0, 0])


def test_autograd_grad_of_non_leaf_input():
    x = rand64(3)
    h = x.exp()
    loss = (h * h).sum()
    (gh,) = autograd.grad(loss, h)
    np.testing.assert_allclose(val(gh), 2 * np.exp(val(x)))


def test_create_graph_second_and_third_derivative():
    x = t64(1.5)
    y = x**3
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    assert g.item() == pytest.approx(3 * 1.5**2)
    (g2,) = autograd.grad(g, x, create_graph=True)
    assert g2.item() == pytest.approx(6 * 1.5)
    (g3,) = autograd.grad(g2, x)
    assert g3.item() == pytest.approx(6.0)


def test_backward_create_graph_makes_grad_differentiable():
    x = t64([0.5, -1.0])
    (x.sin() * x).sum().backward(create_graph=True)
    gx = x.grad  # sin(x) + x cos(x)
    assert gx.requires_grad
    xv = val(x)
    np.testing.assert_allclose(val(gx), np.sin(xv) + xv * np.cos(xv))
    x.grad = None
    gx.sum().backward()  # d/dx (sin x + x cos x) = 2 cos x - x sin x
    np.testing.assert_allclose(val(x.grad), 2 * np.cos(xv) - xv * np.sin(xv))


def test_hessian_vector_product_against_closed_form_and_finite_differences():
    # f(x) = x^T A x + sum(x^3): H = A + A^T + diag(6x)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    xv, v = rng.standard_normal(4), rng.standard_normal(4)
    At = t64(A, False)
    x = t64(xv)
    f = (x @ (At @ x)) + (x**3).sum()
    (g,) = autograd.grad(f, x, create_graph=True)
    (hv,) = autograd.grad(g, x, grad_outputs=t64(v, False))
    np.testing.assert_allclose(val(hv), (A + A.T + np.diag(6 * xv)) @ v, rtol=1e-10)

    # A two-layer tanh network: HVP vs central differences of graphc's own gradient.
    W = rng.standard_normal((4, 3))

    def grad_at(xa):
        xt = t64(xa)
        loss = ((xt @ t64(W, False)).tanh() ** 2).sum() + (xt.sin() * xt).sum()
        return autograd.grad(loss, xt, create_graph=True)[0], xt

    g, xt = grad_at(xv)
    (hv,) = autograd.grad(g, xt, grad_outputs=t64(v, False))
    eps = 1e-6
    fd = (val(grad_at(xv + eps * v)[0]) - val(grad_at(xv - eps * v)[0])) / (2 * eps)
    np.testing.assert_allclose(val(hv), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "name, fn, lo",
    [
        ("tanh", lambda x: x.tanh(), -1),
        ("exp_mul", lambda x: x.exp() * x, -1),
        ("log", lambda x: x.log(), 0.5),
        ("div", lambda x: x / (x * x + 1), -1),
        ("pow", lambda x: x**2.5, 0.5),
        ("sigmoid", lambda x: x.sigmoid(), -1),
        ("matmul", lambda x: x @ x.T, -1),
        ("softmax", lambda x: graphc.softmax(x, dim=1), -1),
        ("var", lambda x: x.var(dim=0), -1),
    ],
)
def test_gradgradcheck(name, fn, lo):
    x = rand64(2, 3, seed=11, lo=lo, hi=lo + 1.5)
    assert gradgradcheck(fn, (x,))


# ----------------------------------------------------------------------------
# retain_grad, hooks


def test_retain_grad_on_non_leaf():
    x = t64([1.0, -2.0, 3.0])
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    z = (y * y).sum()
    z.backward(retain_graph=True)
    np.testing.assert_allclose(val(y.grad), 2 * val(y))
    np.testing.assert_allclose(val(x.grad), 8 * val(x))
    z.backward()  # a retained grad accumulates like a leaf's
    np.testing.assert_allclose(val(y.grad), 4 * val(y))


def test_retain_grad_on_composite_output():
    x = rand64(2, 3)
    p = graphc.softmax(x, dim=1)
    p.retain_grad()
    w = rand64(2, 3, seed=4, requires_grad=False)
    (p * w).sum().backward()
    np.testing.assert_allclose(val(p.grad), val(w))


def test_hook_on_leaf_modifies_gradient_and_can_be_removed():
    x = t64([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(val(g).copy()) or g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3, 3])
    np.testing.assert_allclose(val(x.grad), [30, 30])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(val(x.grad), [3, 3])


def test_hook_on_non_leaf_changes_what_flows_upstream():
    x = t64([1.0, 2.0, 3.0])
    y = x * x
    y.register_hook(lambda g: g * 0 + 1)  # replace dL/dy by ones
    y.retain_grad()
    (y * 5).sum().backward()
    np.testing.assert_allclose(val(y.grad), [1, 1, 1])  # retain_grad sees the hooked grad
    np.testing.assert_allclose(val(x.grad), 2 * val(x))


def test_hook_returning_none_keeps_the_gradient():
    x = t64([1.0, 2.0])
    calls = []
    (x * x).register_hook(lambda g: calls.append(1))
    y = x * 4
    y.register_hook(lambda g: calls.append(2))
    y.sum().backward()
    assert calls == [2]
    np.testing.assert_allclose(val(x.grad), [4, 4])


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        graphc.ones(2).register_hook(lambda g: g)


# ----------------------------------------------------------------------------
# detach, grad modes


def test_detach_shares_memory_and_version_counter():
    x = t64([1.0, 2.0, 3.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 10.0
    assert x[0].item() == 10.0
    assert d.data_ptr() == x.data_ptr()
    # In-place through a detached alias bumps the shared version counter.
    y = x * 1
    e = y.exp()  # saves its output
    e.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        e.sum().backward()


def test_detach_in_place():
    x = rand64(3)
    y = x * 2
    r = y.detach_()
    assert r is y and y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = rand64(3)

    @graphc.no_grad()
    def f(t):
        return t * 2

    @graphc.no_grad
    def g(t):
        return t * 3

    assert not f(x).requires_grad
    assert not g(x).requires_grad
    assert graphc.is_grad_enabled()
    assert f.__name__ == "f" and g.__name__ == "g"


def test_enable_grad_inside_no_grad_and_restores_on_exception():
    x = rand64(3)
    with graphc.no_grad():
        with graphc.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

        @graphc.enable_grad()
        def f(t):
            return t * 2

        assert f(x).requires_grad
    with pytest.raises(ValueError):
        with graphc.no_grad():
            raise ValueError
    assert graphc.is_grad_enabled()


def test_set_grad_enabled_as_function_context_and_decorator():
    x = rand64(3)
    try:
        graphc.set_grad_enabled(False)
        assert not graphc.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        graphc.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with graphc.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert graphc.is_grad_enabled()
    with graphc.no_grad():
        with graphc.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not graphc.is_grad_enabled()

    @graphc.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert graphc.is_grad_enabled()  # decorating does not switch the mode
    assert not f(x).requires_grad
    assert graphc.is_grad_enabled()


def test_inference_mode_records_nothing():
    x = rand64(3)
    with graphc.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


# ----------------------------------------------------------------------------
# grad_fn objects


def test_next_functions_structure_of_the_seed_graph():
    x = graphc.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    ((first, idx),) = out.grad_fn.next_functions
    assert first is z.grad_fn and idx == 0
    assert z.grad_fn.name() == "MulBackward0"
    (yy, _), (scalar, _) = z.grad_fn.next_functions
    assert yy.name() == "MulBackward0" and scalar is None  # the Python 3 has no grad_fn
    (a, _), (b, _) = yy.next_functions
    assert a is y.grad_fn and b is y.grad_fn
    (acc, _), (two, _) = y.grad_fn.next_functions
    assert isinstance(acc, AccumulateGrad) and acc.name() == "AccumulateGrad"
    assert acc.variable is x and two is None
    assert acc.next_functions == ()
    # One AccumulateGrad per leaf, shared by every use.
    assert (x * 5).grad_fn.next_functions[0][0] is acc


def test_next_functions_of_a_binary_op_on_two_leaves():
    a, b = rand64(2), rand64(2, seed=1)
    c = graphc.ones(2, dtype=F64)
    out = a * b + c
    (mul, _), (none, _) = out.grad_fn.next_functions
    assert none is None
    (ea, _), (eb, _) = mul.next_functions
    assert ea.variable is a and eb.variable is b


GRAD_FN_NAMES = [
    (lambda x, w: x + w, "AddBackward0"),
    (lambda x, w: x - w, "SubBackward0"),
    (lambda x, w: x * w, "MulBackward0"),
    (lambda x, w: x / w, "DivBackward0"),
    (lambda x, w: -x, "NegBackward0"),
    (lambda x, w: x**2, "PowBackward0"),
    (lambda x, w: x.exp(), "ExpBackward0"),
    (lambda x, w: x.log(), "LogBackward0"),
    (lambda x, w: x.tanh(), "TanhBackward0"),
    (lambda x, w: x.sigmoid(), "SigmoidBackward0"),
    (lambda x, w: x.relu(), "ReluBackward0"),
    (lambda x, w: x.abs(), "AbsBackward0"),
    (lambda x, w: x.sqrt(), "SqrtBackward0"),
    (lambda x, w: x.sum(), "SumBackward0"),
    (lambda x, w: x.sum(1), "SumBackward1"),
    (lambda x, w: x.mean(), "MeanBackward0"),
    (lambda x, w: x.mean(0), "MeanBackward1"),
    (lambda x, w: x @ w.T, "MmBackward0"),
    (lambda x, w: x.view(6), "ViewBackward0"),
    (lambda x, w: x.t(), "TBackward0"),
    (lambda x, w: x.permute(1, 0), "PermuteBackward0"),
    (lambda x, w: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda x, w: x.expand(4, 2, 3), "ExpandBackward0"),
    (lambda x, w: x.clone(), "CloneBackward0"),
    (lambda x, w: x.float(), "ToCopyBackward0"),
    (lambda x, w: graphc.cat([x, w]), "CatBackward0"),
    (lambda x, w: graphc.stack([x, w]), "StackBackward0"),
    (lambda x, w: x[:, 1:], "SliceBackward0"),
    (lambda x, w: x[0], "SelectBackward0"),
    (lambda x, w: x[:, 1], "SelectBackward0"),
    (lambda x, w: x[graphc.tensor([1, 0])], "IndexBackward0"),
    (lambda x, w: x.unsqueeze(1).squeeze(), "SqueezeBackward0"),
    (lambda x, w: x.unsqueeze(1).squeeze(1), "SqueezeBackward1"),
    (lambda x, w: x.clamp(min=0), "ClampMinBackward0"),
    (lambda x, w: x.clamp(max=0), "ClampMaxBackward0"),
    (lambda x, w: x.clamp(-0.5, 0.5), "ClampBackward1"),
    (lambda x, w: graphc.where(x > 0, x, w), "WhereBackward0"),
    (lambda x, w: x.gather(1, graphc.tensor([[0], [2]])), "GatherBackward0"),
    (lambda x, w: x.max(), "MaxBackward1"),
    (lambda x, w: x.max(dim=1).values, "MaxBackward0"),
    (lambda x, w: graphc.softmax(x, dim=1), "SoftmaxBackward0"),
    (lambda x, w: graphc.log_softmax(x, dim=1), "LogSoftmaxBackward0"),
    (lambda x, w: x.var(), "VarBackward0"),
    (lambda x, w: x.std(), "StdBackward0"),
    (lambda x, w: x.logsumexp(1), "LogsumexpBackward0"),
]


@pytest.mark.parametrize("fn, name", GRAD_FN_NAMES, ids=[n for _, n in GRAD_FN_NAMES])
def test_grad_fn_names(fn, name):
    x, w = rand64(2, 3), rand64(2, 3, seed=1, lo=0.5, hi=1.5)
    out = fn(x.abs() + 0.5 if name in ("LogBackward0", "SqrtBackward0") else x, w)
    assert out.grad_fn.name() == name
    assert f"grad_fn=<{name}>" in repr(out)


def test_composite_grad_fn_edges_point_at_the_inputs():
    x = rand64(2, 3)
    y = x * 2
    out = graphc.softmax(y, dim=1)
    assert out.grad_fn.next_functions == ((y.grad_fn, 0),)
    m = x.mean()
    assert m.grad_fn.next_functions[0][0].variable is x
