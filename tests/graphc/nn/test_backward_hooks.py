"""nn.Module backward hooks: register_full_backward_hook / _pre_hook, register_backward_hook and the
global forms, with PyTorch's grad_input/grad_output semantics (hand-computed gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import nn
from graphc.nn.modules.module import register_module_full_backward_hook, register_module_full_backward_pre_hook


class Two(nn.Module):
    def forward(self, a, k, b):
        return a * b * k, a + b


def _ab(b_grad=True):
    a = graphc.tensor([1.0, 2.0], dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor([3.0, -1.0], dtype=graphc.float64, requires_grad=b_grad)
    return a, b


def test_full_hook_sees_grad_input_per_positional_arg_and_grad_output():
    seen = []
    m = Two()
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((mod, gi, go)))
    a, b = _ab()
    p, q = m(a, 2.0, b)
    (p.sum() * 3).backward()
    ((mod, gi, go),) = seen
    assert mod is m and len(gi) == 3 and gi[1] is None
    np.testing.assert_allclose(gi[0].numpy(), 3 * 2 * b.detach().numpy())  # d(3*sum(a*b*2))/da
    np.testing.assert_allclose(gi[2].numpy(), 3 * 2 * a.detach().numpy())
    assert len(go) == 2 and go[1] is None  # q is unused
    np.testing.assert_allclose(go[0].numpy(), [3.0, 3.0])


def test_full_hook_replaces_grad_input():
    m = Two()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10, None, None))
    a, b = _ab()
    p, _ = m(a, 2.0, b)
    p.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 10 * 2 * b.detach().numpy())
    assert b.grad is None


def test_pre_hook_replaces_grad_output_and_runs_before_the_full_hook():
    order = []
    m = Two()
    m.register_full_backward_hook(lambda mod, gi, go: order.append(("full", go[0].tolist())))

    def pre(mod, go):
        order.append(("pre", go[0].tolist()))
        return (go[0] * 0, go[1])

    m.register_full_backward_pre_hook(pre)
    a, b = _ab()
    p, q = m(a, 2.0, b)
    (p.sum() + q.sum()).backward()
    assert order == [("pre", [1.0, 1.0]), ("full", [0.0, 0.0])]
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])  # only the a + b path is left


def test_prepend_and_remove():
    order = []
    m = nn.Tanh()
    m.register_full_backward_hook(lambda *args: order.append(1))
    h2 = m.register_full_backward_hook(lambda *args: order.append(2), prepend=True)
    x = graphc.ones(2, requires_grad=True)
    m(x).sum().backward()
    assert order == [2, 1]
    h2.remove()
    order.clear()
    m(x).sum().backward()
    assert order == [1]


def test_inputs_not_requiring_grad_fire_at_the_outputs_with_a_warning():
    seen = []
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, [tuple(g.shape) for g in go])))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(graphc.randn(4, 3)).sum().backward()
    assert seen == [((None,), [(4, 2)])]
    assert lin.weight.grad is not None


def test_wrong_number_of_gradients_raises_pytorchs_errors():
    a, b = _ab()
    m = Two()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 1, but expected 3"):
        m(a, 2.0, b)[0].sum().backward()
    m = Two()
    m.register_full_backward_pre_hook(lambda mod, go: (go[0],))
    with pytest.raises(RuntimeError, match="invalid number of grad_output, got 1, but expected 2"):
        m(a, 2.0, b)[0].sum().backward()


def test_regular_and_full_hooks_do_not_mix():
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda *args: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
        m.register_backward_hook(lambda *args: None)
    m = nn.Linear(2, 2)
    seen = []
    m.register_backward_hook(lambda mod, gi, go: seen.append(len(gi)))
    m(graphc.randn(1, 2, requires_grad=True)).sum().backward()
    assert seen == [1]
    with pytest.raises(RuntimeError, match="Cannot use both"):
        m.register_full_backward_hook(lambda *args: None)


def test_global_hooks_and_hooks_inside_a_model():
    seen = []
    h1 = register_module_full_backward_hook(lambda mod, gi, go: seen.append(("full", type(mod).__name__)))
    h2 = register_module_full_backward_pre_hook(lambda mod, go: seen.append(("pre", type(mod).__name__)))
    try:
        net = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
        net(graphc.randn(1, 2, requires_grad=True)).sum().backward()
    finally:
        h1.remove()
        h2.remove()
    # outputs first: the Sequential and Tanh see grad_output before Linear sees its grad_input
    assert seen[0] == ("pre", "Sequential") and ("full", "Linear") in seen and seen[-1] == ("full", "Sequential")
    seen.clear()
    nn.Tanh()(graphc.ones(1, requires_grad=True)).sum().backward()
    assert seen == []


def test_no_hooks_under_no_grad_and_kwargs_are_not_grad_input():
    class K(nn.Module):
        def forward(self, a, b=None):
            return a * b

    seen = []
    k = K()
    k.register_full_backward_hook(lambda mod, gi, go: seen.append(len(gi)))
    a, b = _ab()
    with graphc.no_grad():
        k(a, b=b)
    k(a, b=b).sum().backward()
    assert seen == [1]
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy())
