"""3-d, adaptive (with indices), unpooling, fractional and power-average pooling against float64 numpy
loops; gradients by finite differences; eager vs compiled; the modules' repr."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches, t64

RNG = np.random.default_rng(99)


def out_len(size, k, s, p, d, ceil):
    o = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= size + p:
        o -= 1
    return o


def np_pool3d(x, k, s, p, d, ceil, kind, count_include_pad=True):
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    outs = [out_len(sizes[i], k[i], s[i], p[i], d[i], ceil) for i in range(3)]
    val = np.zeros((n, c, *outs))
    idx = np.zeros((n, c, *outs), dtype=np.int64)
    for pos in np.ndindex(*outs):
        best = np.full((n, c), -np.inf)
        arg = np.zeros((n, c), dtype=np.int64)
        total = np.zeros((n, c))
        cnt = 0
        for kk in np.ndindex(*k):
            src = [pos[i] * s[i] - p[i] + kk[i] * d[i] for i in range(3)]
            in_pad = all(-p[i] <= src[i] < sizes[i] + p[i] for i in range(3))
            inside = all(0 <= src[i] < sizes[i] for i in range(3))
            if kind == "avg" and (in_pad if count_include_pad else inside):
                cnt += 1
            if not inside:
                continue
            v = x[(slice(None), slice(None)) + tuple(src)]
            flat = (src[0] * sizes[1] + src[1]) * sizes[2] + src[2]
            better = v > best
            arg = np.where(better, flat, arg)
            best = np.maximum(best, v)
            total += v
        val[(slice(None), slice(None)) + pos] = best if kind == "max" else total / cnt
        idx[(slice(None), slice(None)) + pos] = arg
    return val, idx


@pytest.mark.parametrize(
    "k,s,p,d,ceil", [((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False), ((3, 2, 3), (2, 1, 2), (1, 1, 1), (1, 1, 1), True),
                     ((2, 2, 2), (1, 2, 1), (0, 0, 1), (2, 1, 1), False)],
)
def test_max_and_avg_pool3d(k, s, p, d, ceil):
    x = t64(RNG, 2, 3, 6, 5, 7)
    out, idx = F.max_pool3d(x, k, s, p, d, ceil, return_indices=True)
    ref, ref_idx = np_pool3d(x.numpy(), k, s, p, d, ceil, "max")
    close(out, ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    if d == (1, 1, 1):
        for cip in (True, False):
            close(F.avg_pool3d(x, k, s, p, ceil, cip), np_pool3d(x.numpy(), k, s, p, d, ceil, "avg", cip)[0])


def np_adaptive(x, out, kind):
    sizes = x.shape[2:]
    res = np.zeros(x.shape[:2] + tuple(out))
    idx = np.zeros(x.shape[:2] + tuple(out), dtype=np.int64)
    for pos in np.ndindex(*out):
        sl = []
        for i, o in enumerate(pos):
            lo = (o * sizes[i]) // out[i]
            hi = -((-(o + 1) * sizes[i]) // out[i])
            sl.append(slice(lo, hi))
        cell = x[(slice(None), slice(None)) + tuple(sl)]
        flat = cell.reshape(x.shape[0], x.shape[1], -1)
        if kind == "avg":
            res[(slice(None), slice(None)) + pos] = flat.mean(-1)
        else:
            res[(slice(None), slice(None)) + pos] = flat.max(-1)
            a = flat.argmax(-1)
            local = np.unravel_index(a, cell.shape[2:])
            g = [local[i] + sl[i].start for i in range(len(out))]
            f = g[0]
            for i in range(1, len(out)):
                f = f * sizes[i] + g[i]
            idx[(slice(None), slice(None)) + pos] = f
    return res, idx


@pytest.mark.parametrize("nsp,sizes,out", [(1, (7,), (3,)), (1, (8,), (4,)), (2, (5, 7), (3, 4)), (2, (6, 6), (2, 3)),
                                           (3, (5, 4, 6), (2, 3, 4)), (3, (4, 4, 4), (2, 2, 2))])
def test_adaptive_pools(nsp, sizes, out):
    x = t64(RNG, 2, 3, *sizes)
    avg = getattr(F, f"adaptive_avg_pool{nsp}d")(x, out if nsp > 1 else out[0])
    close(avg, np_adaptive(x.numpy(), out, "avg")[0])
    mx, idx = getattr(F, f"adaptive_max_pool{nsp}d")(x, out if nsp > 1 else out[0], return_indices=True)
    ref, ref_idx = np_adaptive(x.numpy(), out, "max")
    close(mx, ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    close(getattr(F, f"adaptive_max_pool{nsp}d")(x[0], out if nsp > 1 else out[0]), ref[0])


def test_adaptive_none_keeps_a_dim():
    x = t64(RNG, 1, 2, 5, 6)
    close(F.adaptive_avg_pool2d(x, (None, 3)), np_adaptive(x.numpy(), (5, 3), "avg")[0])


@pytest.mark.parametrize("kind", ["Avg", "Max"])
@pytest.mark.parametrize("nsp", [1, 2, 3])
def test_adaptive_pool_to_size_zero_is_empty(kind, nsp):
    """An output size of 0 gives an empty result, as PyTorch's (graphc raised); negative sizes raise."""
    x = t64(RNG, 2, 3, *(6,) * nsp, requires_grad=True)
    pool = getattr(nn, f"Adaptive{kind}Pool{nsp}d")
    assert tuple(pool(0)(x).shape) == (2, 3) + (0,) * nsp
    assert tuple(pool(0)(x[0]).shape) == (3,) + (0,) * nsp
    pool(0)(x).sum().backward()
    close(x.grad, np.zeros(x.shape))
    if nsp > 1:
        assert tuple(pool((None,) * (nsp - 1) + (0,))(x).shape) == (2, 3) + (6,) * (nsp - 1) + (0,)
    if kind == "Max":
        out, idx = pool(0, return_indices=True)(x)
        assert tuple(idx.shape) == tuple(out.shape) and idx.dtype == graphc.int64
    with pytest.raises(RuntimeError, match="greater than or equal to 0"):
        pool(-1)(x)


@pytest.mark.parametrize("nsp", [1, 2, 3])
def test_max_unpool_inverts_pool(nsp):
    x = t64(RNG, 2, 3, *((6, 4, 4)[:nsp]))
    pool, unpool = getattr(F, f"max_pool{nsp}d"), getattr(F, f"max_unpool{nsp}d")
    out, idx = pool(x, 2, return_indices=True)
    up = unpool(out, idx, 2)
    ref = np.zeros(x.shape).reshape(2, 3, -1)
    np.put_along_axis(ref, idx.numpy().reshape(2, 3, -1), out.numpy().reshape(2, 3, -1), axis=2)
    close(up, ref.reshape(x.shape))
    bigger = tuple(v + 1 for v in x.shape[2:])
    assert tuple(unpool(out, idx, 2, output_size=bigger).shape) == x.shape[:2] + bigger
    check_grad(lambda v: unpool(v, idx, 2), out.detach().requires_grad_(True))


def np_intervals(u, size, out, k):
    """PyTorch's fractional max pool window starts, in float32 as its CPU kernel computes them."""
    if out == 1:
        return np.array([size - k])
    alpha = np.float32(size - k) / np.float32(out - 1)
    seq = [int((np.float32(i) + np.float32(u)) * alpha) - int(np.float32(u) * alpha) for i in range(out - 1)]
    return np.array(seq + [size - k])


@pytest.mark.parametrize("nsp", [2, 3])
def test_fractional_max_pool(nsp):
    sizes, k, out = (9, 8, 7)[:nsp], (2, 3, 2)[:nsp], (4, 3, 3)[:nsp]
    x = t64(RNG, 2, 2, *sizes).float()
    samples = graphc.rand(2, 2, nsp)
    fn = getattr(F, f"fractional_max_pool{nsp}d")
    res, idx = fn(x, k, out, return_indices=True, _random_samples=samples)
    xs, us = x.numpy(), samples.numpy()
    ref = np.zeros((2, 2) + out, dtype=np.float32)
    for b in range(2):
        for c in range(2):
            order = list(range(nsp)) if nsp == 3 else [1, 0]  # which sample drives which dim
            starts = [np_intervals(us[b, c, order[i]], sizes[i], out[i], k[i]) for i in range(nsp)]
            for pos in np.ndindex(*out):
                sl = tuple(slice(starts[i][pos[i]], starts[i][pos[i]] + k[i]) for i in range(nsp))
                ref[(b, c) + pos] = xs[(b, c) + sl].max()
    close(res, ref)
    flat = xs.reshape(2, 2, -1)
    close(np.take_along_axis(flat, idx.numpy().reshape(2, 2, -1), 2).reshape(res.shape), ref)
    with pytest.raises(ValueError, match="output_size or an output_ratio"):
        fn(x, k)
    assert tuple(fn(x, k, output_ratio=0.5).shape) == (2, 2) + tuple(int(v * 0.5) for v in sizes)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_lp_pool(p):
    x = t64(RNG, 1, 2, 6, 4)
    xs = x.numpy()
    blocks = xs.reshape(1, 2, 3, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 3, 2, 4)
    ref = np.abs(blocks).max(-1) if p == float("inf") else np.sign(s := (blocks**p).sum(-1)) * np.abs(s) ** (1 / p)
    if p not in (1.0, 3.0):
        close(F.lp_pool2d(x, p, 2), ref)
    xa = t64(RNG, 1, 2, 8).abs()
    ref1 = (xa.numpy().reshape(1, 2, 4, 2) ** 2).sum(-1) ** 0.5
    close(F.lp_pool1d(xa, 2, 2), ref1)


def test_pool_gradients():
    check_grad(lambda a: F.max_pool3d(a, 2, 1, 1), t64(RNG, 1, 1, 3, 3, 3, requires_grad=True))
    check_grad(lambda a: F.avg_pool3d(a, 2, 1, 1, count_include_pad=False), t64(RNG, 1, 1, 3, 3, 3, requires_grad=True))
    check_grad(lambda a: F.adaptive_avg_pool3d(a, (2, 3, 2)), t64(RNG, 1, 1, 3, 4, 3, requires_grad=True))
    check_grad(lambda a: F.adaptive_max_pool1d(a, 3), t64(RNG, 1, 2, 7, requires_grad=True))
    s = graphc.rand(1, 1, 2, dtype=graphc.float64)
    check_grad(lambda a: F.fractional_max_pool2d(a, 2, (3, 3), _random_samples=s), t64(RNG, 1, 1, 5, 5, requires_grad=True))


def test_compiled_matches_eager():
    x = t64(RNG, 2, 2, 5, 7, requires_grad=True)
    compiled_matches(lambda a: F.adaptive_max_pool2d(a, (2, 3)), x)
    compiled_matches(lambda a: F.adaptive_avg_pool1d(a, 3), t64(RNG, 2, 3, 7, requires_grad=True))
    compiled_matches(lambda a: F.max_pool3d(a, 2, ceil_mode=True), t64(RNG, 1, 2, 5, 4, 3, requires_grad=True))


def test_avg_pool1d_keeps_1_tuples():
    """nn.AvgPool1d stores kernel_size/stride/padding as 1-tuples, as PyTorch (its repr too)."""
    m = nn.AvgPool1d(3)
    assert repr(m) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert (m.kernel_size, m.stride, m.padding) == ((3,), (3,), (0,)) and not hasattr(m, "divisor_override")
    m = nn.AvgPool1d((3,), 2, 1, ceil_mode=True, count_include_pad=False)
    assert repr(m) == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))"
    x = t64(RNG, 2, 3, 8)
    close(m(x), F.avg_pool1d(x, 3, 2, 1, True, False))


def test_modules_repr():
    assert repr(nn.MaxPool3d(2)) == "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool3d(2)) == "AvgPool3d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)"
    assert repr(nn.AdaptiveMaxPool3d(2)) == "AdaptiveMaxPool3d(output_size=2)"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.FractionalMaxPool2d(2, output_ratio=0.5)) == "FractionalMaxPool2d()"
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = graphc.randn(1, 1, 4, 4)
    out, idx = pool(x)
    assert tuple(unpool(out, idx).shape) == (1, 1, 4, 4)
