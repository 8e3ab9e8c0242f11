"""graphc.func (grad, grad_and_value, vjp, jacrev, jacfwd, hessian, functional_call, vmap) and
autograd.grad(is_grads_batched=True), against closed-form derivatives and numpy loops."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import nn
from graphc.func import functional_call, grad, grad_and_value, hessian, jacfwd, jacrev, vjp, vmap

F64 = graphc.float64


def _x():
    return graphc.tensor([0.5, -1.25, 2.0], dtype=F64)


def f(x):
    return (x.sin() * x).sum()


def df(x):  # d/dx sum(x sin x)
    return np.sin(x) + x * np.cos(x)


def d2f(x):
    return 2 * np.cos(x) - x * np.sin(x)


def test_grad_grad_and_value_and_nesting():
    x = _x()
    xn = x.numpy()
    np.testing.assert_allclose(grad(f)(x).numpy(), df(xn), rtol=1e-12)
    g, v = grad_and_value(f)(x)
    assert float(v) == pytest.approx(float((np.sin(xn) * xn).sum()))
    assert not g.requires_grad and not v.requires_grad
    second = grad(lambda x: grad(f)(x).sum())(x)  # sum_i d2f/dx_i^2 (f is separable)
    np.testing.assert_allclose(second.numpy(), d2f(xn), rtol=1e-12)


def test_grad_argnums_pytrees_aux_and_errors():
    a, b = _x(), graphc.tensor([1.0, 2.0, 3.0], dtype=F64)
    ga, gb = grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga.numpy(), b.numpy())
    np.testing.assert_allclose(gb.numpy(), a.numpy())
    g = grad(lambda p: (p["w"] * p["v"][0]).sum())({"w": a, "v": [b]})
    np.testing.assert_allclose(g["w"].numpy(), b.numpy())
    np.testing.assert_allclose(g["v"][0].numpy(), a.numpy())
    g, aux = grad(lambda x: ((x**2).sum(), "hello"), has_aux=True)(a)
    assert aux == "hello"
    np.testing.assert_allclose(g.numpy(), 2 * a.numpy())
    unused = grad(lambda x, y: (x * 2).sum(), argnums=1)(a, b)
    np.testing.assert_array_equal(unused.numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 dims"):
        grad(lambda x: x * 2)(a)
    with pytest.raises(RuntimeError, match="Got argnums=2, but only 1 positional inputs"):
        grad(f, argnums=2)(a)
    with pytest.raises(RuntimeError, match="should be a tuple: \\(output, aux\\)"):
        grad(f, has_aux=True)(a)


def test_grad_of_a_tensor_requiring_grad_stays_differentiable():
    x = graphc.tensor([0.3, 0.9], dtype=F64, requires_grad=True)
    g = grad(f)(x)
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), d2f(x.detach().numpy()), rtol=1e-12)


def test_vjp_jacrev_jacfwd_hessian():
    x = _x()
    xn = x.numpy()
    out, vjp_fn = vjp(lambda x: x**3, x)
    np.testing.assert_allclose(out.numpy(), xn**3)
    v = graphc.tensor([1.0, 2.0, -1.0], dtype=F64)
    for _ in range(2):  # callable more than once
        (g,) = vjp_fn(v)
        np.testing.assert_allclose(g.numpy(), 3 * xn**2 * v.numpy())
    jac = jacrev(lambda x: x**3)(x)
    np.testing.assert_allclose(jac.numpy(), np.diag(3 * xn**2))
    np.testing.assert_allclose(jacfwd(lambda x: x**3)(x).numpy(), jac.numpy())
    a = graphc.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    ja, jb = jacrev(lambda a, b: a @ b, argnums=(0, 1))(a, x[:2])
    assert tuple(ja.shape) == (2, 2, 2) and tuple(jb.shape) == (2, 2)
    np.testing.assert_allclose(jb.numpy(), a.numpy())
    np.testing.assert_allclose(ja.numpy()[1], [[0, 0], [0.5, -1.25]])
    h = hessian(f)(x)
    np.testing.assert_allclose(h.numpy(), np.diag(d2f(xn)), atol=1e-12)


def test_functional_call_replaces_and_restores_and_differentiates():
    lin = nn.Linear(2, 1).double()
    w0 = lin.weight
    params = {"weight": graphc.tensor([[2.0, -1.0]], dtype=F64), "bias": graphc.tensor([0.5], dtype=F64)}
    x = graphc.tensor([1.0, 3.0], dtype=F64)
    assert functional_call(lin, params, (x,)).item() == pytest.approx(2 - 3 + 0.5)
    assert functional_call(lin, (params,), x).item() == pytest.approx(-0.5)
    assert lin.weight is w0
    g = grad(lambda p: functional_call(lin, p, (x,)).sum())(params)
    np.testing.assert_allclose(g["weight"].numpy(), [[1.0, 3.0]])
    np.testing.assert_allclose(g["bias"].numpy(), [1.0])
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
        functional_call(lin, {"weight": params["weight"]}, (x,), strict=True)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        functional_call(lin, ({"bias": params["bias"]}, {"bias": params["bias"]}), (x,))


def test_functional_call_tied_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    eye2 = graphc.eye(2) * 2
    out = functional_call(m, {"a.weight": eye2}, (graphc.ones(2),))
    np.testing.assert_allclose(out.numpy(), [4.0, 4.0])
    out = functional_call(m, {"a.weight": eye2}, (graphc.ones(2),), tie_weights=False)
    np.testing.assert_allclose(out.detach().numpy(), (m.a.weight @ graphc.full((2,), 2.0)).detach().numpy())


def test_vmap_matches_a_loop_with_in_and_out_dims():
    rng = np.random.default_rng(0)
    a = graphc.tensor(rng.standard_normal((4, 3)), dtype=F64)
    b = graphc.tensor(rng.standard_normal((3, 4)), dtype=F64)
    w = graphc.tensor(rng.standard_normal(3), dtype=F64)
    out = vmap(lambda x, y, z: (x * y * z).sum(), in_dims=(0, 1, None))(a, b, w)
    np.testing.assert_allclose(out.numpy(), [(a.numpy()[i] * b.numpy()[:, i] * w.numpy()).sum() for i in range(4)])
    first, second = vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(a)
    assert tuple(first.shape) == (3, 4) and tuple(second.shape) == (4,)
    np.testing.assert_allclose(first.numpy(), 2 * a.numpy().T)
    outer = vmap(vmap(lambda x, y: x * y, in_dims=(None, 0)), in_dims=(0, None))(a[:, 0], w)  # outer product
    np.testing.assert_allclose(outer.numpy(), np.outer(a.numpy()[:, 0], w.numpy()))
    d = vmap(lambda p: p["u"] + p["v"], in_dims=({"u": 0, "v": None},))({"u": a, "v": w})
    np.testing.assert_allclose(d.numpy(), a.numpy() + w.numpy())
    per_sample = vmap(grad(f))(a)  # per-sample gradients
    np.testing.assert_allclose(per_sample.numpy(), df(a.numpy()), rtol=1e-12)
    assert graphc.vmap is vmap


def test_vmap_errors_and_randomness():
    a = graphc.ones(4, 3)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        vmap(lambda x, y: x + y)(a, graphc.ones(3, 3))
    with pytest.raises(ValueError, match="at least one input must be mapped over"):
        vmap(lambda x: x, in_dims=None)(a)
    with pytest.raises(ValueError, match="Got in_dim=0 for an input but the input is of type int"):
        vmap(lambda x, k: x * k)(a, 3)
    with pytest.raises(ValueError, match="Got in_dim=2 for an input but the input is of type Tensor with 2 dims"):
        vmap(lambda x: x, in_dims=2)(a)
    with pytest.raises(ValueError, match="must only return Tensors"):
        vmap(lambda x: 3)(a)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
        vmap(lambda x: x + graphc.rand(3))(a)
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        vmap(lambda x: x, randomness="sometimes")
    same = vmap(lambda x: x + graphc.rand(3), randomness="same")(a)
    np.testing.assert_array_equal(same[0].numpy(), same[3].numpy())
    different = vmap(lambda x: x + graphc.rand(3), randomness="different")(a)
    assert not np.array_equal(different[0].numpy(), different[3].numpy())


def test_autograd_grad_is_grads_batched():
    x = graphc.tensor([1.0, 2.0, 3.0], dtype=F64, requires_grad=True)
    y = x**2
    (jac,) = graphc.autograd.grad(y, x, graphc.eye(3, dtype=F64), is_grads_batched=True)
    np.testing.assert_allclose(jac.numpy(), np.diag([2.0, 4.0, 6.0]))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()  # the batched call freed the graph (retain_graph not given)
