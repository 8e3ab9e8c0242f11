"""Lazy modules (parameters inferred on the first forward, class becomes the regular one),
NLLLoss2d, and AdaptiveLogSoftmaxWithLoss against a float64 numpy re-implementation."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F


def test_lazy_linear_becomes_linear():
    m = nn.LazyLinear(4)
    assert isinstance(m.weight, nn.UninitializedParameter) and m.has_uninitialized_params()
    assert repr(m.weight) == "<UninitializedParameter>"
    x = graphc.randn(2, 3)
    y = m(x)
    assert type(m) is nn.Linear and type(m.weight) is nn.Parameter and m.in_features == 3
    assert m.weight.shape == (4, 3) and m.bias.shape == (4,)
    np.testing.assert_allclose(y.detach().numpy(), F.linear(x, m.weight, m.bias).detach().numpy())
    y.sum().backward()
    assert m.weight.grad.shape == (4, 3)
    assert not hasattr(m, "_initialize_hook")


@pytest.mark.parametrize(
    "lazy, regular, x, weight_shape",
    [
        (lambda: nn.LazyConv1d(5, 3), nn.Conv1d, (2, 3, 8), (5, 3, 3)),
        (lambda: nn.LazyConv2d(5, 3, groups=1, bias=False), nn.Conv2d, (3, 6, 6), (5, 3, 3, 3)),
        (lambda: nn.LazyConv3d(2, 1), nn.Conv3d, (1, 4, 2, 2, 2), (2, 4, 1, 1, 1)),
        (lambda: nn.LazyConvTranspose1d(5, 3, stride=2), nn.ConvTranspose1d, (2, 3, 8), (3, 5, 3)),
        (lambda: nn.LazyConvTranspose2d(4, 3, groups=2), nn.ConvTranspose2d, (1, 4, 4, 4), (4, 2, 3, 3)),
        (lambda: nn.LazyConvTranspose3d(2, 2), nn.ConvTranspose3d, (1, 3, 2, 2, 2), (3, 2, 2, 2, 2)),
    ],
)
def test_lazy_convs(lazy, regular, x, weight_shape):
    m = lazy()
    inp = graphc.randn(*x)
    y = m(inp)
    assert type(m) is regular and m.weight.shape == weight_shape
    ref = regular.forward(m, inp)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy())


@pytest.mark.parametrize(
    "lazy, regular, shape",
    [
        (nn.LazyBatchNorm1d, nn.BatchNorm1d, (4, 3)),
        (nn.LazyBatchNorm2d, nn.BatchNorm2d, (2, 3, 4, 4)),
        (nn.LazyBatchNorm3d, nn.BatchNorm3d, (2, 3, 2, 2, 2)),
    ],
)
def test_lazy_batch_norms(lazy, regular, shape):
    m = lazy()
    assert isinstance(m.running_mean, nn.UninitializedBuffer)
    x = graphc.randn(*shape)
    m(x)
    assert type(m) is regular and m.num_features == 3
    assert m.weight.tolist() == [1.0] * 3 and m.running_mean.shape == (3,) and m.num_batches_tracked.item() == 1
    axes = tuple(i for i in range(len(shape)) if i != 1)
    np.testing.assert_allclose(m.running_mean.numpy(), 0.1 * x.numpy().astype(np.float64).mean(axis=axes), rtol=1e-5,
                               atol=1e-6)


def test_lazy_instance_norms():
    m = nn.LazyInstanceNorm1d(affine=True)
    y = m(graphc.randn(3, 6))  # unbatched: channels first
    assert type(m) is nn.InstanceNorm1d and m.num_features == 3 and m.weight.shape == (3,) and y.shape == (3, 6)
    m2 = nn.LazyInstanceNorm2d()
    m2(graphc.randn(2, 3, 4, 4))
    assert type(m2) is nn.InstanceNorm2d and m2.num_features == 3 and m2.weight is None
    m3 = nn.LazyInstanceNorm3d(track_running_stats=True)
    m3(graphc.randn(1, 2, 2, 2, 2))
    assert type(m3) is nn.InstanceNorm3d and m3.running_var.shape == (2,)


def test_uninitialized_materialize():
    p = nn.UninitializedParameter(dtype=graphc.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == graphc.float64 and p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize((4,))
    assert type(b) is graphc.Tensor and b.shape == (4,)


def test_nllloss2d_is_deprecated_nllloss():
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        loss = nn.NLLLoss2d()
    x, t = F.log_softmax(graphc.randn(2, 3, 4, 4), 1), graphc.randint(0, 3, (2, 4, 4))
    assert isinstance(loss, nn.NLLLoss) and abs(loss(x, t).item() - F.nll_loss(x, t).item()) < 1e-6


def _reference(m, x, t):
    """The documented algorithm in float64 numpy: head over shortlist + cluster tokens, each
    cluster's log-softmax added to its head token's log-probability."""

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def w(lin):
        return lin.weight.detach().numpy().astype(np.float64)

    head = x @ w(m.head).T + (m.head.bias.detach().numpy() if m.head.bias is not None else 0)
    head_lp = log_softmax(head)
    full = [head_lp[:, : m.shortlist_size]]
    for i, (i2h, h2o) in enumerate(m.tail):
        full.append(log_softmax(x @ w(i2h).T @ w(h2o).T) + head_lp[:, m.shortlist_size + i : m.shortlist_size + i + 1])
    full = np.concatenate(full, axis=1)
    return full, full[np.arange(len(t)), t]


def test_adaptive_log_softmax():
    graphc.manual_seed(0)
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [2, 6], div_value=2.0, head_bias=True)
    x, t = graphc.randn(5, 8, requires_grad=True), graphc.tensor([0, 5, 9, 3, 1])
    full, picked = _reference(m, x.detach().numpy().astype(np.float64), t.numpy())
    out = m(x, t)
    assert out._fields == ("output", "loss")
    np.testing.assert_allclose(out.output.detach().numpy(), picked, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.loss.item(), -picked.mean(), rtol=1e-5)
    np.testing.assert_allclose(m.log_prob(x).detach().numpy(), full, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.exp(full).sum(axis=1), 1.0, rtol=1e-6)
    assert m.predict(x).tolist() == full.argmax(axis=1).tolist()
    out.loss.backward()
    assert x.grad.shape == (5, 8) and m.tail[0][0].weight.grad is not None
    single = m(x[1], t[1])
    np.testing.assert_allclose(single.output.item(), picked[1], rtol=1e-5)
    assert m.log_prob(x[0]).shape == (10,) and m.predict(x[0]).shape == ()


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 2])
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\]"):
        m(graphc.randn(2, 8), graphc.tensor([0, 10]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        m(graphc.randn(2, 8), graphc.tensor([0]))
