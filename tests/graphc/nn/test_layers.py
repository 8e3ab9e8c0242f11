"""graphc.nn layers and Module mechanics, against float64 numpy references and finite differences."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from graphc.autograd import gradcheck

RNG = np.random.default_rng(1234)


def t64(*shape, requires_grad=True, scale=1.0):
    return graphc.tensor(RNG.standard_normal(shape) * scale, dtype=graphc.float64, requires_grad=requires_grad)


def projected(fn, out_shape_of):
    """A scalar of fn's output against fixed random weights: gradcheck of it checks the full vjp."""
    cache = {}

    def g(*args):
        out = fn(*args)
        key = tuple(out.shape)
        if key not in cache:
            cache[key] = graphc.tensor(RNG.standard_normal(key), dtype=out.dtype)
        return (out * cache[key]).sum()

    return g


# ----------------------------------------------------------------------------
# numpy references


def np_conv2d(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_pool_out(size, k, s, p, d, ceil):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def np_max_pool2d(x, k, s, p, d=1, ceil=False):
    n, c, h, w = x.shape
    oh, ow = np_pool_out(h, k, s, p, d, ceil), np_pool_out(w, k, s, p, d, ceil)
    out = np.full((n, c, oh, ow), -np.inf)
    idx = np.zeros((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            for a in range(k):
                for bb in range(k):
                    hh, ww = i * s - p + a * d, j * s - p + bb * d
                    if 0 <= hh < h and 0 <= ww < w:
                        v = x[:, :, hh, ww]
                        better = v > out[:, :, i, j]
                        out[:, :, i, j] = np.where(better, v, out[:, :, i, j])
                        idx[:, :, i, j] = np.where(better, hh * w + ww, idx[:, :, i, j])
    return out, idx


def np_avg_pool2d(x, k, s, p, ceil=False, count_include_pad=True):
    n, c, h, w = x.shape
    oh, ow = np_pool_out(h, k, s, p, 1, ceil), np_pool_out(w, k, s, p, 1, ceil)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * s - p, j * s - p
            he, we = min(hs + k, h + p), min(ws + k, w + p)
            pool = (he - hs) * (we - ws)
            hs0, ws0, he0, we0 = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            total = x[:, :, hs0:he0, ws0:we0].sum(axis=(2, 3))
            div = pool if count_include_pad else (he0 - hs0) * (we0 - ws0)
            out[:, :, i, j] = total / div
    return out


def np_layer_norm(x, w, b, n_dims, eps=1e-5):
    axes = tuple(range(x.ndim - n_dims, x.ndim))
    mu = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


# ----------------------------------------------------------------------------
# Linear


def test_linear_forward_and_grad_fn():
    lin = nn.Linear(5, 3).double()
    x = t64(4, 5)
    out = lin(x)
    ref = x.detach().numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12)
    assert out.grad_fn.name() == "AddmmBackward0"
    nf = [type(n).__name__ if n is not None else None for n, _ in out.grad_fn.next_functions]
    assert nf[0] == "AccumulateGrad"  # bias first, as in PyTorch
    # 3-d input and no bias
    lin2 = nn.Linear(5, 2, bias=False).double()
    x3 = t64(2, 3, 5)
    np.testing.assert_allclose(lin2(x3).detach().numpy(), x3.detach().numpy() @ lin2.weight.detach().numpy().T)
    assert gradcheck(lambda a, w, b: F.linear(a, w, b), (t64(3, 4), t64(2, 4), t64(2)))


def test_linear_default_init_bounds():
    graphc.manual_seed(0)
    lin = nn.Linear(64, 32)
    bound = 1 / math.sqrt(64)
    w = lin.weight.detach().numpy()
    assert lin.weight.dtype == graphc.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(lin.bias.detach().numpy()).max() <= bound
    # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std = bound / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound


# ----------------------------------------------------------------------------
# Conv2d


@pytest.mark.parametrize(
    "shape, wshape, stride, padding, dilation, groups",
    [
        ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
        ((1, 2, 8, 9), (3, 2, 3, 2), (2, 1), (1, 2), 1, 1),
        ((2, 4, 9, 9), (6, 2, 3, 3), 2, 1, 2, 2),
        ((1, 3, 5, 5), (2, 3, 1, 1), 1, 0, 1, 1),
        ((2, 2, 6, 7), (4, 1, 3, 3), 1, 1, 1, 2),
    ],
)
def test_conv2d_forward(shape, wshape, stride, padding, dilation, groups):
    x, w, b = t64(*shape, requires_grad=False), t64(*wshape, requires_grad=False), t64(wshape[0], requires_grad=False)
    out = F.conv2d(x, w, b, stride, padding, dilation, groups)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    d = (dilation, dilation)
    ref = np_conv2d(x.numpy(), w.numpy(), b.numpy(), s, (p[0], p[0], p[1], p[1]), d, groups)
    assert tuple(out.shape) == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [3, 4])
def test_conv2d_same_and_valid_padding(k):
    x, w = t64(1, 2, 6, 7, requires_grad=False), t64(3, 2, k, k, requires_grad=False)
    out = F.conv2d(x, w, padding="same")
    total = k - 1
    ref = np_conv2d(x.numpy(), w.numpy(), pads=(total // 2, total - total // 2, total // 2, total - total // 2))
    assert tuple(out.shape) == (1, 3, 6, 7)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(F.conv2d(x, w, padding="valid").numpy(), np_conv2d(x.numpy(), w.numpy()), rtol=1e-10)
    with pytest.raises(ValueError):
        F.conv2d(x, w, stride=2, padding="same")


def test_conv2d_gradcheck():
    x, w, b = t64(2, 4, 5, 5), t64(4, 2, 3, 3), t64(4)
    fn = projected(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=1, groups=2), None)
    assert gradcheck(fn, (x, w, b))
    x2, w2 = t64(1, 2, 6, 6), t64(3, 2, 2, 3)
    fn2 = projected(lambda x, w: F.conv2d(x, w, None, stride=1, padding=(1, 0), dilation=(2, 1)), None)
    assert gradcheck(fn2, (x2, w2))


def test_conv2d_zero_padding_is_read_by_its_windows_not_padded_first():
    """Zero padding is im2col's: a padded convolution's forward and backward graph has no pad
    (nor the crop after col2im), and the values and gradients are the padded image's."""
    x, w = t64(2, 3, 5, 4), t64(4, 3, 3, 3)

    def step(x, w):
        loss = F.conv2d(x, w, padding=(1, 2)).square().sum()
        return (loss.detach(), *graphc.autograd.grad(loss, (x, w)))

    ops = [n.op for n in graphc.compile(step).explain(x, w).optimized.nodes]
    assert "im2col" in ops and "col2im" in ops and "pad" not in ops
    loss, gx, gw = graphc.compile(step)(x, w)
    ref = np_conv2d(x.detach().numpy(), w.detach().numpy(), pads=(1, 1, 2, 2))
    np.testing.assert_allclose(loss.item(), (ref**2).sum(), rtol=1e-12)
    want = step(x, w)
    np.testing.assert_allclose(gx.numpy(), want[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), want[2].numpy(), rtol=1e-12)
    assert gradcheck(projected(lambda x, w: F.conv2d(x, w, padding=(1, 2)), None), (x, w))


def test_conv2d_module_and_errors():
    conv = nn.Conv2d(1, 6, 5)
    assert repr(conv) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"
    assert tuple(conv.weight.shape) == (6, 1, 5, 5)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / 5  # fan_in = 25
    out = conv(graphc.randn(2, 1, 32, 32))
    assert tuple(out.shape) == (2, 6, 28, 28)
    assert out.grad_fn.name() == "ConvolutionBackward0"
    assert tuple(conv(graphc.randn(1, 10, 10)).shape) == (6, 6, 6)  # unbatched
    c2 = nn.Conv2d(4, 8, 3, stride=2, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect")
    assert repr(c2) == (
        "Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2, bias=False, "
        "padding_mode=reflect)"
    )
    assert repr(nn.Conv2d(2, 2, 3, padding="same")) == "Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    with pytest.raises(RuntimeError, match="expected input"):
        conv(graphc.randn(1, 3, 32, 32))
    with pytest.raises(graphc.DTypeError):
        conv(graphc.randn(1, 1, 8, 8, dtype=graphc.float64))


def test_conv2d_padding_modes_match_pad_then_conv():
    x = t64(1, 2, 5, 6, requires_grad=False)
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode).double()
        xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode=np_mode)
        ref = np_conv2d(xp, conv.weight.detach().numpy(), conv.bias.detach().numpy())
        np.testing.assert_allclose(conv(x).detach().numpy(), ref, rtol=1e-10)


def test_conv1d():
    x, w, b = t64(2, 3, 10, requires_grad=False), t64(4, 3, 3, requires_grad=False), t64(4, requires_grad=False)
    out = F.conv1d(x, w, b, stride=2, padding=1)
    ref = np_conv2d(x.numpy()[:, :, None], w.numpy()[:, :, None], b.numpy(), (1, 2), (0, 0, 1, 1))[:, :, 0]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
    assert tuple(nn.Conv1d(3, 4, 3)(graphc.randn(2, 3, 10)).shape) == (2, 4, 8)


def test_unfold_matches_reference():
    x = t64(2, 3, 5, 6, requires_grad=False)
    cols = F.unfold(x, kernel_size=(2, 3), padding=1, stride=(2, 1))
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (7 - 2) // 2 + 1, (8 - 3) // 1 + 1
    ref = np.zeros((2, 3 * 6, oh * ow))
    for c in range(3):
        for a in range(2):
            for b in range(3):
                ref[:, c * 6 + a * 3 + b] = xp[:, c, a : a + 2 * (oh - 1) + 1 : 2, b : b + ow].reshape(2, -1)
    np.testing.assert_allclose(cols.numpy(), ref)


# ----------------------------------------------------------------------------
# Pooling


@pytest.mark.parametrize(
    "shape, k, s, p, d, ceil",
    [
        ((2, 3, 8, 8), 2, 2, 0, 1, False),
        ((1, 2, 7, 9), 3, 2, 1, 1, False),
        ((1, 2, 7, 7), 2, 2, 0, 1, True),
        ((2, 1, 9, 8), 3, 1, 1, 2, False),
        ((1, 1, 6, 5), 3, 2, 1, 1, True),
    ],
)
def test_max_pool2d(shape, k, s, p, d, ceil):
    x = t64(*shape, requires_grad=False)
    out, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    ref, ref_idx = np_max_pool2d(x.numpy(), k, s, p, d, ceil)
    np.testing.assert_allclose(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(F.max_pool2d(x, k, s, p, d, ceil_mode=ceil).numpy(), ref)


def test_max_pool2d_gradcheck_and_module():
    x = t64(2, 2, 6, 7)
    assert gradcheck(projected(lambda x: F.max_pool2d(x, 2), None), (x,))
    assert gradcheck(projected(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), None), (t64(1, 2, 6, 6),))
    m = nn.MaxPool2d(2)
    assert repr(m) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    y = m(graphc.randn(1, 3, 9, 9))
    assert tuple(y.shape) == (1, 3, 4, 4)
    assert y.grad_fn is None
    z = m(graphc.randn(1, 3, 8, 8, requires_grad=True))
    assert z.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    # PyTorch gives the gradient to the max: with distinct values the grad is a 0/1 mask
    xx = t64(1, 1, 4, 4)
    F.max_pool2d(xx, 2).sum().backward()
    g = xx.grad.numpy()
    assert g.sum() == 4 and set(np.unique(g)) <= {0.0, 1.0}


@pytest.mark.parametrize(
    "shape, k, s, p, ceil, cip",
    [
        ((2, 3, 8, 8), 2, 2, 0, False, True),
        ((1, 2, 7, 9), 3, 2, 1, False, True),
        ((1, 2, 7, 9), 3, 2, 1, False, False),
        ((1, 2, 7, 7), 2, 2, 1, True, True),
        ((1, 1, 6, 5), 3, 2, 1, True, False),
    ],
)
def test_avg_pool2d(shape, k, s, p, ceil, cip):
    x = t64(*shape, requires_grad=False)
    out = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip)
    np.testing.assert_allclose(out.numpy(), np_avg_pool2d(x.numpy(), k, s, p, ceil, cip), rtol=1e-12)


def test_avg_pool2d_gradcheck_and_module():
    assert gradcheck(projected(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), None), (t64(1, 2, 5, 6),))
    m = nn.AvgPool2d(2)
    assert repr(m) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert F.avg_pool2d(t64(1, 1, 4, 4), 2).grad_fn.name() == "AvgPool2DBackward0"
    x = t64(1, 3, 4, 4, requires_grad=False)
    np.testing.assert_allclose(
        F.avg_pool2d(x, 2, divisor_override=3).numpy(), np_avg_pool2d(x.numpy(), 2, 2, 0) * 4 / 3
    )


def test_adaptive_avg_pool2d():
    x = t64(2, 3, 7, 5, requires_grad=False)
    out = F.adaptive_avg_pool2d(x, (3, 2))
    ref = np.zeros((2, 3, 3, 2))
    for i in range(3):
        for j in range(2):
            h0, h1 = (i * 7) // 3, -(-(i + 1) * 7 // 3)
            w0, w1 = (j * 5) // 2, -(-(j + 1) * 5 // 2)
            ref[:, :, i, j] = x.numpy()[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(), x.numpy().mean(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(F.adaptive_max_pool2d(x, 1).numpy(), x.numpy().max(axis=(2, 3), keepdims=True))


# ----------------------------------------------------------------------------
# activations


def test_activations_forward():
    x = t64(3, 7, requires_grad=False)
    a = x.numpy()
    erf = np.vectorize(math.erf)
    cases = {
        "relu": (nn.ReLU(), np.maximum(a, 0)),
        "gelu": (nn.GELU(), 0.5 * a * (1 + erf(a / math.sqrt(2)))),
        "gelu_tanh": (
            nn.GELU(approximate="tanh"),
            0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))),
        ),
        "sigmoid": (nn.Sigmoid(), 1 / (1 + np.exp(-a))),
        "tanh": (nn.Tanh(), np.tanh(a)),
        "softmax": (nn.Softmax(dim=1), np.exp(a) / np.exp(a).sum(1, keepdims=True)),
        "log_softmax": (nn.LogSoftmax(dim=1), a - np.log(np.exp(a).sum(1, keepdims=True))),
        "leaky": (nn.LeakyReLU(0.2), np.where(a > 0, a, 0.2 * a)),
        "elu": (nn.ELU(), np.where(a > 0, a, np.expm1(a))),
        "silu": (nn.SiLU(), a / (1 + np.exp(-a))),
        "softplus": (nn.Softplus(beta=2), np.log1p(np.exp(2 * a)) / 2),
        "hardtanh": (nn.Hardtanh(), np.clip(a, -1, 1)),
        "logsigmoid": (nn.LogSigmoid(), -np.log1p(np.exp(-a))),
        "identity": (nn.Identity(), a),
    }
    for name, (mod, ref) in cases.items():
        np.testing.assert_allclose(mod(x).numpy(), ref, rtol=1e-10, atol=1e-12, err_msg=name)
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    # softplus does not overflow
    assert np.isfinite(F.softplus(graphc.tensor([1000.0, -1000.0])).numpy()).all()


def test_activation_gradients():
    x = t64(2, 5)
    for fn in (
        F.relu,
        F.gelu,
        lambda v: F.gelu(v, approximate="tanh"),
        F.sigmoid,
        F.tanh,
        F.silu,
        F.elu,
        lambda v: F.softmax(v, 1),
        lambda v: F.log_softmax(v, 1),
        F.softplus,
        F.logsigmoid,
        F.mish,
    ):
        assert gradcheck(projected(fn, None), (x,))


def test_relu_inplace():
    x = graphc.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]


# ----------------------------------------------------------------------------
# dropout


def test_dropout_train_eval():
    graphc.manual_seed(0)
    d = nn.Dropout(p=0.25)
    assert repr(d) == "Dropout(p=0.25, inplace=False)"
    x = graphc.ones(200, 50, requires_grad=True)
    y = d(x)
    kept = y.detach().numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75)
    d.eval()
    assert d(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert (F.dropout(x, 1.0).detach().numpy() == 0).all()
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


# ----------------------------------------------------------------------------
# normalization


def test_layer_norm():
    ln = nn.LayerNorm((4, 5)).double()
    assert repr(nn.LayerNorm(10)) == "LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)"
    with graphc.no_grad():
        ln.weight.copy_(t64(4, 5, requires_grad=False))
        ln.bias.copy_(t64(4, 5, requires_grad=False))
    x = t64(3, 4, 5)
    ref = np_layer_norm(x.detach().numpy(), ln.weight.detach().numpy(), ln.bias.detach().numpy(), 2)
    np.testing.assert_allclose(ln(x).detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    assert gradcheck(projected(lambda x, w, b: F.layer_norm(x, (5,), w, b), None), (t64(3, 5), t64(5), t64(5)))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        ln(t64(3, 5, 4))


def test_batch_norm2d_running_stats_and_eval():
    bn = nn.BatchNorm2d(3).double()
    assert repr(nn.BatchNorm2d(16)) == "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(2):
        x = t64(4, 3, 5, 5, requires_grad=False) * 2 + 1
        out = bn(x)
        a = x.numpy()
        mu, var = a.mean((0, 2, 3)), a.var((0, 2, 3))
        ref = (a - mu.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-9, atol=1e-12)
        n = a.size / 3
        rm = 0.9 * rm + 0.1 * mu
        rv = 0.9 * rv + 0.1 * var * n / (n - 1)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 2
    assert list(bn.state_dict().keys()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    bn.eval()
    x = t64(2, 3, 4, 4, requires_grad=False)
    ref = (x.numpy() - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), ref, rtol=1e-9)
    assert bn.num_batches_tracked.item() == 2
    # training-mode gradient
    w, b = t64(3), t64(3)
    assert gradcheck(
        projected(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), None), (t64(3, 3, 2, 2), w, b)
    )
    with pytest.raises(ValueError, match="4D"):
        bn(t64(3, 4))


def test_batch_norm1d_and_group_norm():
    bn = nn.BatchNorm1d(4).double()
    x = t64(8, 4, requires_grad=False)
    a = x.numpy()
    np.testing.assert_allclose(bn(x).detach().numpy(), (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5), rtol=1e-9)
    gn = nn.GroupNorm(2, 4).double()
    x = t64(2, 4, 3, 3, requires_grad=False)
    g = x.numpy().reshape(2, 2, -1)
    ref = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(gn(x).detach().numpy(), ref, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------
# Embedding, pad, one_hot, flatten


def test_embedding():
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert repr(emb) == "Embedding(10, 3, padding_idx=0)"
    assert (emb.weight.detach().numpy()[0] == 0).all()
    idx = graphc.tensor([[1, 0, 4], [4, 9, 0]])
    out = emb(idx)
    assert tuple(out.shape) == (2, 3, 3)
    np.testing.assert_allclose(out.detach().numpy(), emb.weight.detach().numpy()[idx.numpy()])
    out.sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_allclose(g[:, 0], [0, 1, 0, 0, 2, 0, 0, 0, 0, 1])  # padding row gets no gradient
    pre = nn.Embedding.from_pretrained(graphc.eye(3))
    assert not pre.weight.requires_grad
    with pytest.raises(graphc.DTypeError):
        emb(graphc.tensor([1.0]))


def test_pad_modes():
    x = t64(2, 3, 4, requires_grad=False)
    a = x.numpy()
    np.testing.assert_allclose(F.pad(x, (1, 2)).numpy(), np.pad(a, ((0, 0), (0, 0), (1, 2))))
    np.testing.assert_allclose(
        F.pad(x, (1, 2, 0, 1), value=3.5).numpy(), np.pad(a, ((0, 0), (0, 1), (1, 2)), constant_values=3.5)
    )
    np.testing.assert_allclose(F.pad(x, (-1, 1)).numpy(), np.pad(a, ((0, 0), (0, 0), (0, 1)))[:, :, 1:])
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        np.testing.assert_allclose(
            F.pad(x, (2, 1, 1, 2), mode=mode).numpy(), np.pad(a, ((0, 0), (1, 2), (2, 1)), mode=np_mode)
        )
    assert gradcheck(projected(lambda v: F.pad(v, (2, 1), mode="reflect"), None), (t64(2, 4),))


def test_one_hot_and_flatten():
    oh = F.one_hot(graphc.tensor([0, 2, 1]), 4)
    assert oh.dtype == graphc.int64
    assert oh.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert tuple(F.one_hot(graphc.tensor([[3], [1]])).shape) == (2, 1, 4)
    rng = np.random.default_rng(0)
    for idx, classes in ((rng.integers(0, 7, (5, 4)), 7), (np.array(3), 5), (np.zeros((0, 2), np.int64), 3)):
        for dtype in (graphc.int64, graphc.int32, graphc.uint8):
            got = F.one_hot(graphc.tensor(idx, dtype=dtype), classes)
            np.testing.assert_array_equal(got.numpy(), np.eye(classes, dtype=np.int64)[idx])
            assert got.dtype == graphc.int64 and tuple(got.shape) == idx.shape + (classes,)
    assert tuple(F.one_hot(graphc.tensor([], dtype=graphc.int64)).shape) == (0, 0)
    traced = graphc.compile(lambda t: F.one_hot(t, 6))(graphc.tensor([5, 0, 2]))
    np.testing.assert_array_equal(traced.numpy(), np.eye(6, dtype=np.int64)[[5, 0, 2]])
    f = nn.Flatten()
    assert repr(f) == "Flatten(start_dim=1, end_dim=-1)"
    assert tuple(f(graphc.zeros(2, 3, 4, 5)).shape) == (2, 60)
    assert tuple(nn.Unflatten(1, (3, 4))(graphc.zeros(2, 12)).shape) == (2, 3, 4)


# ----------------------------------------------------------------------------
# Module mechanics


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = graphc.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


NET_REPR = """Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def test_net_repr_parameters_and_blitz_flow():
    net = Net()
    assert repr(net) == NET_REPR
    params = list(net.parameters())
    assert len(params) == 10
    assert params[0].size() == graphc.Size([6, 1, 5, 5])
    names = [n for n, _ in net.named_parameters()]
    assert names[:4] == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
    out = net(graphc.randn(1, 1, 32, 32))
    assert tuple(out.shape) == (1, 10)
    net.zero_grad()
    out.backward(graphc.randn(1, 10))
    assert all(p.grad is not None for p in net.parameters())
    loss = nn.MSELoss()(net(graphc.randn(1, 1, 32, 32)), graphc.randn(1, 10))
    assert loss.grad_fn.name() == "MseLossBackward0"
    addmm = loss.grad_fn.next_functions[0][0]
    assert addmm.name() == "AddmmBackward0"
    assert addmm.next_functions[0][0].name() == "AccumulateGrad"
    net.zero_grad()
    assert net.conv1.bias.grad is None
    loss.backward()
    assert tuple(net.conv1.bias.grad.shape) == (6,)
    # manual SGD through .data
    before = net.fc3.weight.detach().numpy().copy()
    for f in net.parameters():
        f.data.sub_(f.grad.data * 0.01)
    np.testing.assert_allclose(net.fc3.weight.detach().numpy(), before - 0.01 * net.fc3.weight.grad.numpy(), rtol=1e-6)


def test_parameter_basics():
    t = graphc.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, graphc.Tensor) and p.requires_grad and p.is_leaf
    t.add_(1)
    assert p.tolist() == [1.0, 1.0, 1.0]  # shares memory
    assert repr(p) == "Parameter containing:\ntensor([1., 1., 1.], requires_grad=True)"
    assert not nn.Parameter(graphc.ones(2), requires_grad=False).requires_grad
    assert type(p * 2) is graphc.Tensor
    import copy

    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.tolist() == p.tolist() and q.data_ptr() != p.data_ptr()


def test_setattr_registration_and_getattr():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(graphc.ones(2))
            self.sub = nn.Linear(2, 2)
            self.register_buffer("running", graphc.zeros(2))
            self.register_buffer("tmp", graphc.zeros(1), persistent=False)
            self.plain = graphc.ones(1)

    m = M()
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "tmp"]
    assert list(m.state_dict().keys()) == ["w", "running", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_children()] == ["sub"]
    assert [n for n, _ in m.named_modules()] == ["", "sub"]
    assert m.sub is m._modules["sub"]
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope
    with pytest.raises(TypeError):
        m.w = graphc.ones(2)
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    m.add_module("extra", nn.ReLU())
    assert "extra" in dict(m.named_children())
    del m.extra
    assert "extra" not in dict(m.named_children())

    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(graphc.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_state_dict_round_trip_and_strict_errors():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd)[0] == "conv1.weight"
    assert not sd["conv1.weight"].requires_grad
    res = b.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    x = graphc.randn(2, 1, 32, 32)
    np.testing.assert_allclose(a(x).detach().numpy(), b(x).detach().numpy())
    bad = OrderedDict(sd)
    del bad["fc3.bias"]
    bad["extra.weight"] = graphc.zeros(1)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(bad)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "fc3.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    res = b.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["fc3.bias"] and res.unexpected_keys == ["extra.weight"]
    wrong = OrderedDict(sd)
    wrong["fc3.bias"] = graphc.zeros(11)
    with pytest.raises(RuntimeError, match="size mismatch for fc3.bias"):
        b.load_state_dict(wrong)


def test_train_eval_requires_grad_and_freezing():
    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Sequential(nn.Linear(4, 2)))
    assert net.training and net[1].training
    net.eval()
    assert not net.training and not net[1].training and not net[2][0].training
    net.train()
    assert net[2][0].training
    for p in net[0].parameters():
        p.requires_grad = False
    net.eval()
    net(graphc.randn(5, 3)).sum().backward()
    assert net[0].weight.grad is None and net[2][0].weight.grad is not None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_zero_grad_modes():
    lin = nn.Linear(2, 2)
    lin(graphc.ones(1, 2)).sum().backward()
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and (g.numpy() == 0).all()
    lin.zero_grad()
    assert lin.weight.grad is None


def test_to_double_keeps_parameter_identity_and_apply():
    net = Net()
    w = net.fc1.weight
    net.to(graphc.float64)
    assert net.fc1.weight is w and w.dtype == graphc.float64 and isinstance(w, nn.Parameter)
    assert net(graphc.randn(1, 1, 32, 32, dtype=graphc.float64)).dtype == graphc.float64
    net.float()
    assert w.dtype == graphc.float32
    net.to("cpu")
    assert w.device.type == "cpu"

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
            nn.init.ones_(m.weight)

    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net" and seen[0] == "Conv2d"
    net.apply(init_weights)
    assert (net.fc2.weight.detach().numpy() == 1).all() and (net.fc2.bias.detach().numpy() == 0).all()


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(graphc.ones(1, 2))
    assert calls == ["pre"] and (out.detach().numpy() == 0).all()
    h1.remove()
    h2.remove()
    assert (lin(graphc.ones(1, 2)).detach().numpy() != 0).any() and calls == ["pre"]


def test_sequential_indexing_assignment():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    assert len(net) == 3 and isinstance(net[-1], nn.Linear) and isinstance(net[1], nn.ReLU)
    sub = net[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is net[0]
    net[2] = nn.Linear(8, 3)
    assert net[2].out_features == 3 and [n for n, _ in net.named_parameters()][-1] == "2.bias"
    assert tuple(net(graphc.randn(5, 4)).shape) == (5, 3)
    net.append(nn.Softmax(dim=1))
    assert len(net) == 4 and isinstance(list(net)[-1], nn.Softmax)
    del net[1]
    assert [k for k, _ in net.named_children()] == ["0", "1", "2"]
    assert repr(nn.Sequential(nn.ReLU(), nn.Tanh())) == "Sequential(\n  (0): ReLU()\n  (1): Tanh()\n)"
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert od.fc is od[0]
    with pytest.raises(IndexError):
        net[7]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    assert isinstance(ml[-1], nn.ReLU)
    assert "(0-2): 3 x Linear(in_features=2, out_features=2, bias=True)" in repr(ml)
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md
    md["c"] = nn.Tanh()
    assert len(md) == 3 and [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    assert [n for n, _ in Holder().named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]


def test_init_functions():
    graphc.manual_seed(1)
    w = graphc.empty(200, 100)
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 300)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 200)) < 0.05 * math.sqrt(2 / 200)
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w.numpy().std() - 2 * math.sqrt(2 / 300)) < 0.05 * 2 * math.sqrt(2 / 300)
    nn.init.normal_(w, 3.0, 0.5)
    assert abs(w.numpy().mean() - 3) < 0.02 and abs(w.numpy().std() - 0.5) < 0.02
    nn.init.uniform_(w, -2, -1)
    assert w.numpy().min() >= -2 and w.numpy().max() < -1
    nn.init.constant_(w, 0.3)
    assert np.allclose(w.numpy(), 0.3)
    nn.init.trunc_normal_(w, std=1.0, a=-1.0, b=1.0)
    assert np.abs(w.numpy()).max() <= 1.0 and 0.45 < w.numpy().std() < 0.6
    # in place on a parameter that requires grad (under no_grad), history-free
    p = nn.Parameter(graphc.empty(3, 4))
    nn.init.kaiming_uniform_(p, a=math.sqrt(5))
    assert p.is_leaf and p.grad_fn is None
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(graphc.empty(3))


def test_clip_grad_norm():
    a = nn.Parameter(graphc.tensor([3.0, 0.0]))
    b = nn.Parameter(graphc.tensor([0.0, 4.0]))
    (a.sum() * 3 + b.sum() * 4).backward()  # grads (3,3) and (4,4): norm sqrt(50)
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(math.sqrt(50), rel=1e-6)
    np.testing.assert_allclose(np.sqrt((a.grad.numpy() ** 2).sum() + (b.grad.numpy() ** 2).sum()), 1.0, rtol=1e-5)
    nn.utils.clip_grad_value_([a, b], 0.1)
    assert np.abs(a.grad.numpy()).max() <= 0.1 + 1e-7
    v = nn.utils.parameters_to_vector([a, b])
    assert v.tolist() == [3.0, 0.0, 0.0, 4.0]
