"""In-place activation spellings, the ``*_with_indices`` pooling aliases, gumbel_softmax and
LinearCrossEntropyLoss."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import close, t64

RNG = np.random.default_rng(8)


@pytest.mark.parametrize("name,args", [("elu_", ()), ("celu_", (0.5,)), ("selu_", ()), ("hardtanh_", (-0.5, 0.5)),
                                       ("leaky_relu_", (0.2,)), ("threshold_", (0.1, 2.0))])
def test_inplace_activations(name, args):
    x = t64(RNG, 4, 3)
    expected = getattr(F, name[:-1])(x, *args)
    out = getattr(F, name)(x, *args)
    assert out is x
    close(x, expected)


def test_with_indices_aliases():
    x = t64(RNG, 1, 2, 6, 6)
    for a, b in zip(F.max_pool2d_with_indices(x, 2), F.max_pool2d(x, 2, return_indices=True)):
        close(a, b)
    for a, b in zip(F.adaptive_max_pool1d_with_indices(x[0], 4), F.adaptive_max_pool1d(x[0], 4, True)):
        close(a, b)
    v = t64(RNG, 1, 1, 4, 4, 4)
    assert len(F.max_pool3d_with_indices(v, 2)) == 2


def test_gumbel_softmax_samples_the_softmax():
    graphc.manual_seed(0)
    logits = graphc.tensor([[1.0, 0.0, -1.0]]).expand(20000, 3)
    hard = F.gumbel_softmax(logits, tau=0.7, hard=True).numpy()
    assert set(np.unique(hard)) == {0.0, 1.0} and (hard.sum(1) == 1).all()
    p = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    np.testing.assert_allclose(hard.mean(0), p, atol=0.015)  # the Gumbel-max trick
    soft = F.gumbel_softmax(logits, tau=0.7).numpy()
    np.testing.assert_allclose(soft.sum(1), 1.0, rtol=1e-5)
    x = graphc.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    graphc.manual_seed(1)
    F.gumbel_softmax(x, hard=True).mul(graphc.arange(4.0)).sum().backward()
    g_hard = x.grad.numpy().copy()
    x.grad = None
    graphc.manual_seed(1)
    F.gumbel_softmax(x, hard=False).mul(graphc.arange(4.0)).sum().backward()
    close(g_hard, x.grad, atol=1e-6)  # straight-through: the soft sample's gradient


def test_linear_cross_entropy_loss_module():
    m = nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True).double()
    assert list(m.state_dict()) == ["linear.weight", "linear.bias"]
    x = t64(RNG, 5, 4)
    t = graphc.tensor(RNG.integers(0, 3, (5, 2)))
    logits = F.linear(x, m.linear.weight, m.linear.bias).reshape(5, 3, 2)
    close(m(x, t), F.cross_entropy(logits, t))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        nn.LinearCrossEntropyLoss(4, 3, label_smoothing=2.0)
