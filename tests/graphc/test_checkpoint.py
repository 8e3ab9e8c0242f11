"""graphc.utils.checkpoint: gradients equal the plain function's; intermediates are not kept.

References are the same function run without checkpointing (float64), so any difference is
the checkpoint's; dropout checks that the recomputation replays the forward's random draws.
"""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import graphc
from graphc import nn
from graphc.utils.checkpoint import checkpoint, checkpoint_sequential


def _net():
    graphc.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3)).double()


def _grads(net, x, run):
    """Gradients of sum(run(x)**2) w.r.t. the parameters and x, from a fixed random state."""
    net.zero_grad()
    x.grad = None
    graphc.manual_seed(1)
    (run(x) ** 2).sum().backward()
    return [p.grad.numpy().copy() for p in net.parameters()] + [x.grad.numpy().copy()]


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_gradients_equal_the_plain_function_with_dropout(use_reentrant):
    net = _net()
    x = graphc.randn(5, 4, dtype=graphc.float64, requires_grad=True)
    ref = _grads(net, x, net)
    got = _grads(net, x, lambda x: checkpoint(net, x, use_reentrant=use_reentrant))
    for a, b in zip(ref, got):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    seq = _grads(net, x, lambda x: checkpoint_sequential(net, 2, x, use_reentrant=use_reentrant))
    for a, b in zip(ref, seq):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_without_preserved_rng_the_dropout_masks_differ():
    # the control for the test above: the masks really are redrawn when the state is not restored
    net = _net()
    x = graphc.randn(5, 4, dtype=graphc.float64, requires_grad=True)
    ref = _grads(net, x, net)
    got = _grads(net, x, lambda x: checkpoint(net, x, use_reentrant=False, preserve_rng_state=False))
    assert not all(np.allclose(a, b) for a, b in zip(ref, got))


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_intermediates_are_not_kept(use_reentrant):
    kept = []

    def f(x):
        h = x.exp()
        kept.append(weakref.ref(h))
        return (h * x).sin()

    x = graphc.randn(3, dtype=graphc.float64, requires_grad=True)
    y = checkpoint(f, x, use_reentrant=use_reentrant)
    gc.collect()
    assert kept[0]() is None  # nothing holds the segment's intermediate after its forward
    y.sum().backward()
    xn = x.detach().numpy()
    expected = np.cos(np.exp(xn) * xn) * (np.exp(xn) * xn + np.exp(xn))  # d/dx sin(x e^x)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_several_inputs_outputs_and_non_tensor_args(use_reentrant):
    def f(a, scale, b, name):
        assert name == "tag"
        return a * b * scale, (a - b).tanh()

    a = graphc.randn(4, dtype=graphc.float64, requires_grad=True)
    b = graphc.randn(4, dtype=graphc.float64, requires_grad=True)
    p, q = checkpoint(f, a, 3.0, b, "tag", use_reentrant=use_reentrant)
    (p.sum() + (q * q).sum()).backward()
    an, bn = a.detach().numpy(), b.detach().numpy()
    dq = 2 * np.tanh(an - bn) * (1 - np.tanh(an - bn) ** 2)
    np.testing.assert_allclose(a.grad.numpy(), 3 * bn + dq, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), 3 * an - dq, rtol=1e-12)


def test_inputs_not_requiring_grad_reentrant_limitation_vs_non_reentrant():
    net = _net().eval()
    x = graphc.randn(2, 4, dtype=graphc.float64)  # no grad: only the parameters need it
    out = checkpoint(net, x, use_reentrant=False)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    w_grad = net[0].weight.grad.numpy().copy()
    net.zero_grad()
    net(x).sum().backward()
    np.testing.assert_allclose(w_grad, net[0].weight.grad.numpy(), rtol=1e-12)

    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(net, x, use_reentrant=True)
    assert not out.requires_grad  # PyTorch's documented limitation of the reentrant variant


def test_use_reentrant_not_passed_warns_and_defaults_to_reentrant():
    x = graphc.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = checkpoint(lambda t: t * 2, x)
    assert y.grad_fn.name() == "CheckpointFunctionBackward"
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint_sequential([nn.Identity()], 1, x)


def test_kwargs_and_autograd_grad():
    def f(x, *, power):
        return x**power

    x = graphc.tensor([1.0, 2.0, 3.0], dtype=graphc.float64, requires_grad=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: power"):
        checkpoint(f, x, power=3, use_reentrant=True)
    (g,) = graphc.autograd.grad(checkpoint(f, x, power=3, use_reentrant=False).sum(), [x])
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0, 9.0]))
    y = checkpoint(lambda t: t * t, x, use_reentrant=True)
    with pytest.raises(RuntimeError, match="incompatible with .grad"):
        graphc.autograd.grad(y.sum(), [x])


def test_closure_tensor_with_history_gets_its_gradient():
    # the segment reads a non-leaf from outside (not an argument): the gradient flows through it
    w = graphc.tensor([0.5, -1.0], dtype=graphc.float64, requires_grad=True)
    h = w * 3
    x = graphc.tensor([2.0, 4.0], dtype=graphc.float64, requires_grad=True)
    y = checkpoint(lambda t: (t * h).sum(), x, use_reentrant=False)
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * np.array([2.0, 4.0]))
    np.testing.assert_allclose(x.grad.numpy(), [1.5, -3.0])


def test_nested_checkpoints():
    x = graphc.tensor([0.3, 0.7], dtype=graphc.float64, requires_grad=True)

    def inner(t):
        return t.sin()

    def outer(t):
        return checkpoint(inner, t * 2, use_reentrant=False).exp()

    checkpoint(outer, x, use_reentrant=False).sum().backward()
    xn = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.sin(2 * xn)) * np.cos(2 * xn) * 2, rtol=1e-12)


def test_under_compile_traces_inline_with_the_same_gradients():
    net = _net().eval()
    x = graphc.randn(5, 4, dtype=graphc.float64, requires_grad=True)

    @graphc.compile
    def loss(x):
        return (checkpoint(net, x, use_reentrant=False) ** 2).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no eager fallback
        ref = _grads(net, x, lambda x: net(x))
        for _ in range(2):
            net.zero_grad()
            x.grad = None
            loss(x).backward()
            np.testing.assert_allclose(x.grad.numpy(), ref[-1], rtol=1e-10)
            np.testing.assert_allclose(net[0].weight.grad.numpy(), ref[0], rtol=1e-10)


def test_bad_arguments():
    x = graphc.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="context_fn"):
        checkpoint(lambda t: t, x, use_reentrant=True, debug=True)
    with pytest.raises(ValueError, match="determinism_check"):
        checkpoint(lambda t: t, x, use_reentrant=False, determinism_check="strict")
