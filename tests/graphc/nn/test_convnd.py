"""conv3d, conv_transpose1d/2d/3d and fold against float64 numpy loops; gradients by finite
differences; eager vs compiled; the Conv3d/ConvTranspose modules' PyTorch surface."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches, t64

RNG = np.random.default_rng(2024)


def np_conv(x, w, b, stride, pads, dilation, groups):
    """Direct N-d cross-correlation: x (N, C, *S), w (O, C/g, *K), pads ((lo, hi), ...)."""
    nsp = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    k = w.shape[2:]
    out_sp = [(xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nsp)]
    o, cg = w.shape[0], w.shape[1]
    og = o // groups
    out = np.zeros((x.shape[0], o, *out_sp))
    for pos in np.ndindex(*out_sp):
        sl = tuple(slice(pos[i] * stride[i], pos[i] * stride[i] + dilation[i] * (k[i] - 1) + 1, dilation[i]) for i in range(nsp))
        for oc in range(o):
            g = oc // og
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + sl]
            out[(slice(None), oc) + pos] = (patch * w[oc]).reshape(x.shape[0], -1).sum(1)
    if b is not None:
        out += b.reshape((1, -1) + (1,) * nsp)
    return out


def np_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Scatter form: every input value times the kernel, added at stride * i - padding + dilation * k."""
    nsp = x.ndim - 2
    n, cin = x.shape[:2]
    og = w.shape[1]
    k = w.shape[2:]
    out_sp = [(x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k[i] - 1) + output_padding[i] + 1 for i in range(nsp)]
    big = [out_sp[i] + 2 * padding[i] + dilation[i] * (k[i] - 1) + stride[i] for i in range(nsp)]
    out = np.zeros((n, og * groups, *big))
    cg = cin // groups
    for pos in np.ndindex(*x.shape[2:]):
        for kk in np.ndindex(*k):
            tgt = tuple(pos[i] * stride[i] + kk[i] * dilation[i] for i in range(nsp))
            for g in range(groups):
                xin = x[(slice(None), slice(g * cg, (g + 1) * cg)) + pos]  # (N, cg)
                wk = w[(slice(g * cg, (g + 1) * cg), slice(None)) + kk]  # (cg, og)
                out[(slice(None), slice(g * og, (g + 1) * og)) + tgt] += xin @ wk
    crop = tuple(slice(padding[i], padding[i] + out_sp[i]) for i in range(nsp))
    out = out[(slice(None), slice(None)) + crop]
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * nsp)
    return out


def np_fold(cols, out_hw, k, d, p, s):
    n, ck, _ = cols.shape
    c = ck // (k[0] * k[1])
    hp, wp = out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1]
    bh = (hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    bw = (wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c, hp, wp))
    cols = cols.reshape(n, c, k[0], k[1], bh, bw)
    for i in range(bh):
        for j in range(bw):
            for a in range(k[0]):
                for bb in range(k[1]):
                    out[:, :, i * s[0] + a * d[0], j * s[1] + bb * d[1]] += cols[:, :, a, bb, i, j]
    return out[:, :, p[0] : p[0] + out_hw[0], p[1] : p[1] + out_hw[1]]


@pytest.mark.parametrize(
    "stride,padding,dilation,groups",
    [((1, 1, 1), 0, (1, 1, 1), 1), ((2, 1, 2), (1, 0, 2), (1, 2, 1), 2), ((1, 1, 1), "same", (2, 1, 1), 1)],
)
def test_conv3d_matches_numpy(stride, padding, dilation, groups):
    x, w, b = t64(RNG, 2, 4, 5, 6, 5), t64(RNG, 6, 4 // groups, 3, 2, 3), t64(RNG, 6)
    out = F.conv3d(x, w, b, stride, padding, dilation, groups)
    if padding == "same":
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip((3, 2, 3), dilation))
    else:
        p = (padding,) * 3 if isinstance(padding, int) else padding
        pads = tuple((v, v) for v in p)
    close(out, np_conv(x.numpy(), w.numpy(), b.numpy(), stride, pads, dilation, groups))
    # unbatched input
    close(F.conv3d(x[0], w, b, stride, padding, dilation, groups), out[0])


@pytest.mark.parametrize("nsp", [1, 2, 3])
@pytest.mark.parametrize(
    "stride,padding,output_padding,groups,dilation",
    [(1, 0, 0, 1, 1), (2, 1, 1, 2, 1), (3, 2, 2, 1, 2), (2, 2, 0, 1, 1)],
)
def test_conv_transpose_matches_numpy(nsp, stride, padding, output_padding, groups, dilation):
    sizes = (4, 3, 3)[:nsp]
    x = t64(RNG, 2, 4, *sizes)
    w = t64(RNG, 4, 3, *((3, 2, 2)[:nsp]))
    b = t64(RNG, 3 * groups)
    fn = getattr(F, f"conv_transpose{nsp}d")
    out = fn(x, w, b, stride, padding, output_padding, groups, dilation)
    n = (stride,) * nsp, (padding,) * nsp, (output_padding,) * nsp
    ref = np_conv_transpose(x.numpy(), w.numpy(), b.numpy(), n[0], n[1], n[2], groups, (dilation,) * nsp)
    close(out, ref)


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x), y> == <x, conv_transpose(y)> for the same weight (the defining property)."""
    x, w, y = t64(RNG, 2, 3, 7, 6), t64(RNG, 5, 3, 3, 2), t64(RNG, 2, 5, 4, 4)
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1)).sum()
    close(lhs, rhs, atol=1e-10)


def test_conv_transpose_errors():
    x, w = t64(RNG, 1, 4, 3), t64(RNG, 4, 2, 3)
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose1d(x, w, stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="expected input.*to have 4 channels"):
        F.conv_transpose1d(t64(RNG, 1, 3, 3), w)


def test_fold_matches_numpy_and_inverts_unfold():
    cols = t64(RNG, 2, 3 * 4, 12)
    close(F.fold(cols, (5, 6), (2, 2), 1, 1, 2), np_fold(cols.numpy(), (5, 6), (2, 2), (1, 1), (1, 1), (2, 2)))
    x = t64(RNG, 1, 2, 4, 5)
    blocks = F.unfold(x, 2)
    counts = F.fold(F.unfold(graphc.ones(1, 2, 4, 5, dtype=graphc.float64), 2), (4, 5), 2)
    close(F.fold(blocks, (4, 5), 2), x * counts)
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(cols, (5, 9), (2, 2), 1, 1, 2)


def test_unfold_of_an_unbatched_input():
    """(C, H, W) gives (C*KH*KW, L), the batched result's one sample, as PyTorch's unfold and Unfold."""
    x = t64(RNG, 3, 4, 5, requires_grad=True)
    got = F.unfold(x, 2, padding=1, stride=(1, 2))
    assert tuple(got.shape) == (12, 5 * 3)
    close(got, F.unfold(x.detach()[None], 2, padding=1, stride=(1, 2))[0])
    close(nn.Unfold((2, 3))(x), F.unfold(x.detach()[None], (2, 3))[0])
    check_grad(lambda v: F.unfold(v, 2, stride=2), x)
    close(F.fold(F.unfold(x, 2), (4, 5), 2), F.fold(F.unfold(x.detach()[None], 2), (4, 5), 2)[0])
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D .* but got: \[1, 1, 1, 4, 5\]"):
        F.unfold(graphc.zeros(1, 1, 1, 4, 5), 2)


def test_conv_gradients():
    x, w, b = t64(RNG, 1, 2, 4, 3, 3, requires_grad=True), t64(RNG, 2, 2, 2, 2, 2, requires_grad=True), t64(RNG, 2, requires_grad=True)
    check_grad(lambda a, c, d: F.conv3d(a, c, d, stride=(2, 1, 1), padding=1), x, w, b)
    xt, wt = t64(RNG, 1, 2, 3, 3, requires_grad=True), t64(RNG, 2, 3, 2, 2, requires_grad=True)
    check_grad(lambda a, c: F.conv_transpose2d(a, c, stride=2, padding=1, output_padding=1), xt, wt)
    cols = t64(RNG, 1, 8, 6, requires_grad=True)
    check_grad(lambda c: F.fold(c, (3, 4), 2), cols)


def test_compiled_matches_eager():
    x, w = t64(RNG, 2, 4, 5, 4, requires_grad=True), t64(RNG, 4, 3, 3, 3, requires_grad=True)
    compiled_matches(lambda a, c: F.conv_transpose2d(a, c, stride=2, padding=1, ), x, w)
    x3, w3 = t64(RNG, 1, 2, 4, 4, 4, requires_grad=True), t64(RNG, 3, 2, 2, 2, 2, requires_grad=True)
    compiled_matches(lambda a, c: F.conv3d(a, c, padding=1), x3, w3)


def test_modules_surface():
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert repr(m) == "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2)"
    assert tuple(m.weight.shape) == (4, 3, 3, 3) and list(m.state_dict()) == ["weight", "bias"]
    x = graphc.randn(1, 4, 5, 5)
    assert tuple(m(x).shape) == (1, 6, 10, 10)
    assert tuple(m(x, output_size=(9, 9)).shape) == (1, 6, 9, 9)
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose1d(2, 2, 3, padding_mode="reflect")
    c = nn.Conv3d(2, 4, 3, padding=1, padding_mode="circular")
    assert repr(c) == "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1), padding_mode=circular)"
    y = graphc.randn(1, 2, 4, 4, 4)
    ref = F.conv3d(F.pad(y, (1, 1, 1, 1, 1, 1), mode="circular"), c.weight, c.bias)
    close(c(y), ref, atol=1e-6)
    fold = nn.Fold((4, 5), 2)
    assert repr(fold) == "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)"
    assert repr(nn.Unfold(2)) == "Unfold(kernel_size=2, dilation=1, padding=0, stride=1)"
