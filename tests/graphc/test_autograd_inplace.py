"""Autograd, continued: version counters and in-place safety (PyTorch's "modified by an
inplace operation" and CopySlices), gradcheck, composites' gradients, and a missing rule."""

from __future__ import annotations

import numpy as np
import pytest
from autograd_refs import F64, num_grad, rand64, t64, val

import graphc
from graphc.autograd import GradcheckError, gradcheck

# ----------------------------------------------------------------------------
# version counters and in-place safety


def test_inplace_on_saved_output_raises():
    x = rand64(3)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_saved_input_raises_only_when_it_is_needed():
    x = rand64(3)
    w = rand64(3, seed=1)
    a = x * 1
    b = a * w  # saves a for w's gradient
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    # With w not requiring grad, a's value is never read: no error, right gradient.
    x2 = rand64(3)
    c = rand64(3, seed=1, requires_grad=False)
    a2 = x2 * 1
    b2 = a2 * c
    a2.mul_(2)
    b2.sum().backward()
    np.testing.assert_allclose(val(x2.grad), val(c))


def test_inplace_through_a_view_bumps_the_base_version():
    x = rand64(2, 3)
    y = x.sigmoid()  # saves its output
    y[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_non_leaf_gives_the_right_gradient():
    # y = x * 1; y.mul_(w); y.exp_(): the in-place chain equals exp(x * w).
    x = rand64(3)
    w = rand64(3, seed=1)
    y = x * 1
    y.mul_(w)
    y.exp_()
    assert not y.is_leaf and y.grad_fn.name() == "ExpBackward0"
    y.sum().backward()
    e = np.exp(val(x) * val(w))
    np.testing.assert_allclose(val(x.grad), e * val(w))
    np.testing.assert_allclose(val(w.grad), e * val(x))


def test_inplace_into_a_buffer_without_grad():
    # buf does not require grad; mul saves its old values for w's gradient.
    w = t64([1.0, 2.0, 3.0])
    buf = graphc.tensor([4.0, 5.0, 6.0], dtype=F64)
    buf.mul_(w)
    assert buf.requires_grad and not buf.is_leaf
    (buf * buf).sum().backward()
    np.testing.assert_allclose(val(w.grad), 2 * np.array([4.0, 10.0, 18.0]) * [4.0, 5.0, 6.0])
    # Rows written one by one into a preallocated output (an RNN's outputs[t] = h).
    x = t64([0.5, -1.0])
    out = graphc.zeros(3, 2, dtype=F64)
    h = x
    for t in range(3):
        h = (h * 2).tanh()
        out[t] = h
    (out * t64(np.arange(6.0).reshape(3, 2), False)).sum().backward()

    def f(xa):
        hs, h_ = [], xa
        for _ in range(3):
            h_ = np.tanh(h_ * 2)
            hs.append(h_)
        return (np.stack(hs) * np.arange(6.0).reshape(3, 2)).sum()

    np.testing.assert_allclose(val(x.grad), num_grad(f, [val(x)], 0), rtol=1e-6)


def test_inplace_on_leaf_that_requires_grad_raises():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0].mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 5.0
    np.testing.assert_array_equal(val(x), [1.0, 2.0])
    with graphc.no_grad():  # an optimizer step
        x.sub_(0.5)
    assert x.is_leaf and x.requires_grad
    np.testing.assert_array_equal(val(x), [0.5, 1.5])


def test_copyslices_inplace_on_view_of_non_leaf_matches_out_of_place():
    rng = np.random.default_rng(7)
    xv, wv, cv = rng.standard_normal((3, 4)), rng.standard_normal(2), rng.standard_normal((3, 4))

    # In place: y = 2x; y[1, 1:3] *= w; y[:, 0] = 0; loss = sum(y * c)
    x, w, c = t64(xv), t64(wv), t64(cv, False)
    y = x * 2
    y[1, 1:3].mul_(w)
    y[:, 0] = 0.0
    assert not y.is_leaf
    (y * c).sum().backward()

    # Out of place reference with cat.
    x2, w2 = t64(xv), t64(wv)
    y2 = x2 * 2
    row1 = graphc.cat([graphc.zeros(1, dtype=F64), y2[1, 1:3] * w2, y2[1, 3:]])
    rows = [graphc.cat([graphc.zeros(1, dtype=F64), y2[i, 1:]]) for i in (0, 2)]
    y_ref = graphc.stack([rows[0], row1, rows[1]])
    np.testing.assert_allclose(val(y), val(y_ref))
    (y_ref * c).sum().backward()
    np.testing.assert_allclose(val(x.grad), val(x2.grad))
    np.testing.assert_allclose(val(w.grad), val(w2.grad))
    # Hand check: d/dx = 2c except column 0 (overwritten) and x[1,1:3] (times w).
    expect = 2 * cv
    expect[:, 0] = 0
    expect[1, 1:3] *= wv
    np.testing.assert_allclose(val(x.grad), expect)
    np.testing.assert_allclose(val(w.grad), 2 * xv[1, 1:3] * cv[1, 1:3])


def test_older_view_differentiates_through_a_later_write():
    # v1 is taken before y[1] is changed through another view: its values change,
    # and so must its gradient (PyTorch regenerates the stale view's grad_fn).
    x = t64([[1.0, 2.0], [3.0, 4.0]])
    w = t64([5.0, 6.0])
    y = x * 2
    v1 = y[0:2]
    y[1].mul_(w)
    np.testing.assert_array_equal(val(v1), [[2, 4], [30, 48]])
    v1.sum().backward()
    np.testing.assert_array_equal(val(x.grad), [[2, 2], [10, 12]])
    np.testing.assert_array_equal(val(w.grad), [6, 8])
    # A view of a buffer without grad starts requiring grad once the buffer is written.
    buf = graphc.zeros(3, dtype=F64)
    head = buf[:2]
    buf[1:].copy_(x[0] * 1)
    assert head.requires_grad
    head.sum().backward()
    np.testing.assert_array_equal(val(x.grad), [[3, 2], [10, 12]])


def test_setitem_with_a_tensor_that_requires_grad():
    x = rand64(2, 3)
    v = t64([5.0, 6.0])
    y = x.clone()
    y[:, 1] = v
    y.sum().backward()
    np.testing.assert_array_equal(val(x.grad), [[1, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(val(v.grad), [1, 1])


def test_view_of_a_non_leaf_sees_the_base_update():
    # After an in-place write through one view, another view of the same base
    # must differentiate through the write (CopySlices rebases the base).
    x = rand64(4)
    y = x * 1
    y[:2].mul_(3)
    z = y[1:3]
    (z * t64([1.0, 10.0], False)).sum().backward()
    np.testing.assert_array_equal(val(x.grad), [0, 3, 10, 0])


# ----------------------------------------------------------------------------
# gradcheck and composites


def test_gradcheck_passes_and_detects_a_wrong_gradient():
    x = rand64(3, seed=2)
    assert gradcheck(lambda t: (t * t.sin()).sum(), (x,), eps=1e-6, atol=1e-5, rtol=1e-3)

    def wrong(t):
        y = t * 1
        if y.requires_grad:  # gradcheck's finite differences run under no_grad
            y.register_hook(lambda g: g * 2)  # doubles the analytic gradient only
        return y * t

    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(wrong, (x,))
    assert gradcheck(wrong, (x,), raise_exception=False) is False


def test_gradcheck_is_public_and_float64_central_differences():
    assert graphc.autograd.gradcheck is gradcheck
    # A function whose one-sided difference would be off by eps/2 * f'' (= 5e-7 * 6x):
    x = t64([2.0])
    assert gradcheck(lambda t: t**3, (x,), eps=1e-3, atol=1e-9, rtol=1e-6)


def test_gradcheck_broadcasting_and_non_contiguous_inputs():
    base = rand64(3, 4, seed=3)
    xt = base.detach().t().requires_grad_()  # (4, 3), non-contiguous
    assert not xt.is_contiguous()
    b = rand64(3, seed=4)
    assert gradcheck(lambda a, c: (a * c).exp() / (1 + a * a), (xt, b))
    xs = rand64(4, 6, seed=5).detach()[:, ::2].requires_grad_()  # strided columns
    assert not xs.is_contiguous()
    assert gradcheck(lambda a, c: a @ c.unsqueeze(1), (xs, b))


COMPOSITES = [
    ("softmax", lambda x: graphc.softmax(x, dim=1)),
    ("softmax_dim0", lambda x: graphc.softmax(x, dim=0)),
    ("log_softmax", lambda x: graphc.log_softmax(x, dim=1)),
    ("logsumexp", lambda x: graphc.logsumexp(x, dim=1)),
    ("logsumexp_keepdim_all", lambda x: graphc.logsumexp(x, dim=(0, 1), keepdim=True)),
    ("var", lambda x: x.var(dim=1)),
    ("var_unbiased_false", lambda x: x.var(unbiased=False)),
    ("std", lambda x: x.std(dim=0)),
    (
        "layer_norm_like",
        lambda x: (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt(),
    ),
    ("max_dim", lambda x: x.max(dim=1).values),
    ("min_dim_keepdim", lambda x: x.min(dim=0, keepdim=True)[0]),
    ("max_all", lambda x: x.max()),
    ("norm", lambda x: x.norm()),
]


@pytest.mark.parametrize("name, fn", COMPOSITES, ids=[n for n, _ in COMPOSITES])
def test_gradcheck_composites(name, fn):
    x = rand64(3, 4, seed=8, lo=-2, hi=2)
    assert gradcheck(fn, (x,))


def test_softmax_gradient_matches_closed_form():
    x = rand64(2, 3, seed=1)
    v = np.random.default_rng(2).standard_normal((2, 3))
    p = graphc.softmax(x, dim=1)
    p.backward(gradient=t64(v, False))
    pv = val(p)
    expect = pv * (v - (pv * v).sum(1, keepdims=True))
    np.testing.assert_allclose(val(x.grad), expect, rtol=1e-12)


def test_softmax_and_logsumexp_are_stable_for_large_inputs():
    x = t64([[1000.0, 1001.0, 1002.0]])
    graphc.logsumexp(x, dim=1).sum().backward()
    e = np.exp([-2.0, -1.0, 0.0])
    np.testing.assert_allclose(val(x.grad), [e / e.sum()])


def test_mlp_loss_gradcheck_and_values():
    rng = np.random.default_rng(0)
    X = t64(rng.standard_normal((5, 3)), False)
    target = graphc.tensor([0, 2, 1, 1, 0])
    w1, b1 = t64(rng.standard_normal((3, 4)) * 0.7), t64(rng.standard_normal(4) * 0.1)
    w2, b2 = t64(rng.standard_normal((4, 3)) * 0.7), t64(rng.standard_normal(3) * 0.1)

    def loss_fn(w1, b1, w2, b2):
        h = (X @ w1 + b1).relu()
        logp = graphc.log_softmax(h @ w2 + b2, dim=1)
        return -logp.gather(1, target.unsqueeze(1)).mean()

    assert gradcheck(loss_fn, (w1, b1, w2, b2))

    # And the values against a plain-numpy forward with finite differences.
    tv = np.array([0, 2, 1, 1, 0])

    def np_loss(w1, b1, w2, b2):
        h = np.maximum(val(X) @ w1 + b1, 0)
        z = h @ w2 + b2
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -logp[np.arange(5), tv].mean()

    params = [w1, b1, w2, b2]
    loss = loss_fn(*params)
    assert loss.item() == pytest.approx(np_loss(*map(val, params)), rel=1e-12)
    loss.backward()
    for k, p in enumerate(params):
        np.testing.assert_allclose(val(p.grad), num_grad(np_loss, list(map(val, params)), k), rtol=1e-5, atol=1e-8)


def test_clamp_gradient_at_the_bounds_follows_pytorch():
    # PyTorch's clamp passes the gradient where min <= x <= max, bounds included.
    x = t64([-1.0, 0.0, 0.5, 1.0, 2.0])
    x.clamp(0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(val(x.grad), [0, 1, 1, 1, 0])
    x = t64([-1.0, 0.0, 2.0])
    lo = t64([0.0, 0.0, 0.0])
    x.clamp(min=lo).sum().backward()
    np.testing.assert_array_equal(val(x.grad), [0, 1, 1])
    np.testing.assert_array_equal(val(lo.grad), [1, 0, 0])
    # relu at 0 has gradient 0.
    x = t64([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(val(x.grad), [0, 0, 1])


def test_max_ties_follow_pytorch():
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    # max() over everything: the gradient is shared evenly by the tied maxima.
    x = t64(data)
    x.max().backward()
    np.testing.assert_allclose(val(x.grad), [[0, 0.5, 0.5], [0, 0, 0]])
    # amax over a dim: evenly shared per row.
    x = t64(data)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(val(x.grad), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    # max(dim): all of it goes to the returned index (the first maximum).
    x = t64(data)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    values.sum().backward()
    np.testing.assert_allclose(val(x.grad), [[0, 1, 0], [1, 0, 0]])
    # maximum(a, b): a tie splits the gradient in half.
    a, b = t64([1.0, 2.0]), t64([1.0, 1.0])
    graphc.maximum(a, b).sum().backward()
    np.testing.assert_allclose(val(a.grad), [0.5, 1.0])
    np.testing.assert_allclose(val(b.grad), [0.5, 0.0])


def test_gradients_of_views_slicing_cat_split_indexing():
    x = rand64(4, 3, seed=9)
    idx = graphc.tensor([3, 0, 3])
    a, b = x.split([1, 3], dim=0)
    out = graphc.cat([b.flip(0), a * 2], dim=0)[idx] * graphc.arange(3, dtype=F64)
    out = out + x.T[1:, ::2].sum() + x.gather(1, graphc.tensor([[2], [0], [1], [1]])).sum()
    out.sum().backward()

    xv = val(x)

    def f(xa):
        a_, b_ = xa[:1], xa[1:]
        c = np.concatenate([b_[::-1], a_ * 2])[[3, 0, 3]] * np.arange(3)
        g = np.take_along_axis(xa, np.array([[2], [0], [1], [1]]), 1).sum()
        return (c + xa.T[1:, ::2].sum() + g).sum()

    np.testing.assert_allclose(val(x.grad), num_grad(f, [xv], 0), rtol=1e-6, atol=1e-8)


def test_missing_rule_raises_naming_the_op(monkeypatch):
    import dataclasses

    from ir.ops import OPS

    x = rand64(3)
    y = x.cosh().sum()
    monkeypatch.setitem(OPS, "cosh", dataclasses.replace(OPS["cosh"], grad=None))
    with pytest.raises(RuntimeError, match="'cosh'"):
        y.backward()
