"""The nn layers added for PyTorch's surface, compiled for the Triton backend (its interpreter without
a GPU) equal eager execution: transposed/3-d convolution, interpolation, grid sampling, adaptive pooling
with indices, an LSTM (forward and backward through the loop over time), multi-head attention, CTC."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

TOL = dict(rtol=2e-4, atol=2e-5)


def assert_same(fn, *args, tol=TOL):
    expected = fn(*args)
    compiled = graphc.compile(fn, backend="triton")
    for _ in range(2):
        got = compiled(*args)
    exp = expected if isinstance(expected, (list, tuple)) else [expected]
    got = got if isinstance(got, (list, tuple)) else [got]
    for e, o in zip(exp, got):
        assert tuple(o.shape) == tuple(e.shape) and o.dtype == e.dtype
        np.testing.assert_allclose(o.detach().numpy(), e.detach().numpy(), **tol)
    assert compiled.explain(*args).backend == "triton"


def test_conv_transpose_and_conv3d():
    graphc.manual_seed(0)
    x, w = graphc.randn(1, 4, 5, 4), graphc.randn(4, 3, 3, 3)
    assert_same(lambda a, b: F.conv_transpose2d(a, b, stride=2, padding=1, output_padding=1), x, w)
    v, k = graphc.randn(1, 2, 4, 3, 3), graphc.randn(3, 2, 2, 2, 2)
    assert_same(lambda a, b: F.conv3d(a, b, padding=1), v, k)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate(mode):
    graphc.manual_seed(1)
    x = graphc.randn(1, 2, 4, 5)
    kw = {} if mode == "nearest" else {"align_corners": False}
    assert_same(lambda a: F.interpolate(a, size=(7, 6), mode=mode, **kw), x)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_antialias(mode):
    """Taps along one dim, the weight-matrix product along the other (40 -> 2 is past 16 taps)."""
    graphc.manual_seed(1)
    x = graphc.randn(1, 2, 9, 40)
    assert_same(lambda a: F.interpolate(a, size=(4, 2), mode=mode, antialias=True), x)


def test_grid_sample_and_adaptive_pool_indices():
    graphc.manual_seed(2)
    x = graphc.randn(1, 2, 4, 5)
    grid = graphc.rand(1, 3, 3, 2) * 2.4 - 1.2
    assert_same(lambda a, g: F.grid_sample(a, g, padding_mode="border", align_corners=False), x, grid)
    assert_same(lambda a: F.adaptive_max_pool2d(a, (3, 2), return_indices=True), x)


def test_lstm_forward_and_backward():
    graphc.manual_seed(3)
    m = nn.LSTM(3, 4, bidirectional=True)
    x = graphc.randn(5, 2, 3)

    def step(v):
        v = v.detach().requires_grad_(True)
        out, (h, c) = m(v)
        (out.sum() + h.sum()).backward()
        return out.detach(), v.grad

    expected = step(x)
    compiled = graphc.compile(step, backend="triton")
    got = compiled(x)
    got = compiled(x)
    for e, o in zip(expected, got):
        np.testing.assert_allclose(o.numpy(), e.numpy(), **TOL)


def test_attention_and_ctc():
    graphc.manual_seed(4)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q = graphc.randn(2, 3, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    assert_same(lambda a: mha(a, a, a, attn_mask=mask)[0], q)  # one output requiring grad: compiled
    # need_weights=False (scaled_dot_product_attention) with a sequence that is all padding
    kpm = graphc.tensor([[False, False, True], [True, True, True]])
    assert_same(lambda a: mha(a, a, a, key_padding_mask=kpm, need_weights=False)[0], q)
    with graphc.no_grad():
        assert_same(lambda a: mha(a, a, a, attn_mask=mask), q)  # (output, weights)
    lp = F.log_softmax(graphc.randn(6, 2, 4), 2)
    targets, il, tl = graphc.tensor([[1, 2], [3, 3]]), graphc.tensor([6, 5]), graphc.tensor([2, 2])
    assert_same(lambda a: F.ctc_loss(a, targets, il, tl), lp)


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1)], ids=["blocked", "padded"])
def test_max_pool_ties_send_the_gradient_where_eager_does(kernel, stride, padding):
    """Tied maxima (small integers): the first maximum of each window takes its whole gradient,
    through the keys and their ``amin`` of the ``ties="first"`` rule, as in eager execution."""
    rng = np.random.default_rng(6)
    x = graphc.tensor(rng.integers(0, 3, (2, 2, 6, 6)).astype(np.float32))
    w = graphc.tensor(rng.standard_normal((2, 2, 3, 3)).astype(np.float32))

    def step(v):
        v = v.detach().requires_grad_(True)
        out, idx = F.max_pool2d(v, kernel, stride, padding, return_indices=True)
        (out * w).sum().backward()
        return out.detach(), idx, v.grad

    expected = step(x)
    compiled = graphc.compile(step, backend="triton")
    for _ in range(2):
        got = compiled(x)
    for e, o in zip(expected, got):
        np.testing.assert_array_equal(o.numpy(), e.numpy())
    assert compiled.explain(x).backend == "triton"
