"""interpolate (every mode), grid_sample, affine_grid and the shuffles against float64 numpy written
point by point from the coordinate formulas; gradients by finite differences; eager vs compiled."""

import math
import re

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches, t64

RNG = np.random.default_rng(5)


def src_coord(dst, in_size, out_size, align_corners, scale, cubic=False):
    if align_corners:
        return dst * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    r = 1.0 / scale if scale else in_size / out_size
    s = r * (dst + 0.5) - 0.5
    return s if cubic else max(s, 0.0)


def cubic(t, a=-0.75):
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    if t < 2:
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return 0.0


def np_interp(x, out, mode, align_corners=False, scales=None):
    """Each output point from its own source coordinate: products of 1-d weights over the taps.

    PyTorch's CPU kernels copy a dim that keeps its size in the linear modes, and in 2-d nearest
    when the output's H + W is at most 128 (its ``nearest_idx`` kernel, which also reads o // 2 on
    an exactly doubled dim); there, whatever the scale factor, the coordinate map is not used."""
    nsp = x.ndim - 2
    scales = scales or (None,) * nsp
    nearest_idx = mode == "nearest" and nsp == 2 and sum(out) <= 128
    res = np.zeros(x.shape[:2] + tuple(out))
    for pos in np.ndindex(*out):
        taps = []  # per dim: [(index, weight)]
        for i, o in enumerate(pos):
            n_in = x.shape[2 + i]
            if (out[i] == n_in and mode in ("linear", "bilinear", "trilinear")) or (nearest_idx and out[i] == n_in):
                taps.append([(o, 1.0)])
            elif nearest_idx and out[i] == 2 * n_in:
                taps.append([(o // 2, 1.0)])
            elif mode.startswith("nearest"):
                r = 1.0 / scales[i] if scales[i] else n_in / out[i]
                j = math.floor((o + (0.5 if mode == "nearest-exact" else 0.0)) * r)
                taps.append([(min(j, n_in - 1), 1.0)])
            elif mode == "bicubic":
                s = src_coord(o, n_in, out[i], align_corners, scales[i], cubic=True)
                f = math.floor(s)
                taps.append([(min(max(f + k, 0), n_in - 1), cubic(s - (f + k))) for k in (-1, 0, 1, 2)])
            else:
                s = src_coord(o, n_in, out[i], align_corners, scales[i])
                f = min(math.floor(s), n_in - 1)
                t = s - f
                taps.append([(f, 1 - t), (min(f + 1, n_in - 1), t)])
        v = 0.0
        for combo in np.ndindex(*[len(t) for t in taps]):
            idx = tuple(taps[i][combo[i]][0] for i in range(nsp))
            w = np.prod([taps[i][combo[i]][1] for i in range(nsp)])
            v = v + w * x[(slice(None), slice(None)) + idx]
        res[(slice(None), slice(None)) + pos] = v
    return res


@pytest.mark.parametrize("mode,nsp", [("nearest", 1), ("nearest", 2), ("nearest", 3), ("nearest-exact", 2), ("linear", 1),
                                      ("bilinear", 2), ("bicubic", 2), ("trilinear", 3)])
@pytest.mark.parametrize("kw", [{"size": (9, 4, 6)}, {"scale_factor": 1.7}, {"scale_factor": 0.6, "recompute_scale_factor": True}])
def test_interpolate(mode, nsp, kw):
    x = t64(RNG, 2, 2, *((5, 7, 4)[:nsp]))
    kw = dict(kw)
    if "size" in kw:
        kw["size"] = kw["size"][:nsp]
        out = kw["size"]
        scales = None
    else:
        out = tuple(int(math.floor(s * kw["scale_factor"])) for s in x.shape[2:])
        scales = None if kw.get("recompute_scale_factor") else (kw["scale_factor"],) * nsp
    for ac in ([None] if mode.startswith("nearest") else [False, True]):
        got = F.interpolate(x, mode=mode, align_corners=ac, **kw)
        close(got, np_interp(x.numpy(), out, mode, bool(ac), scales))


@pytest.mark.parametrize("mode,shape,scale", [
    ("linear", (2, 2, 3), 1.3333), ("linear", (1, 2, 7), 1.05), ("bilinear", (1, 2, 3, 5), (1.25, 1.7)),
    ("bilinear", (1, 1, 4, 3), (0.6, 1.3333)), ("trilinear", (1, 2, 3, 4, 2), (1.3333, 1.1, 1.7)),
    ("bicubic", (1, 2, 3, 4), (1.3333, 1.7)), ("nearest", (1, 2, 3, 3), (1.3333, 2.05)),
    ("nearest", (1, 1, 4, 5), (2.1, 1.1)), ("nearest", (1, 2, 3), 1.3333), ("nearest", (1, 1, 3, 2, 4), (1.3333, 2.1, 1.1)),
    ("nearest-exact", (1, 2, 3, 3), (1.3333, 2.05)),
])
@pytest.mark.parametrize("recompute", [None, True])
def test_interpolate_dim_keeping_its_size(mode, shape, scale, recompute):
    """floor(in * scale) == in with a scale that is not 1: PyTorch copies that dim in the linear
    modes (and in 2-d nearest, which also reads o // 2 when the size doubles exactly)."""
    x = t64(RNG, *shape, requires_grad=True)
    nsp = len(shape) - 2
    sf = scale if isinstance(scale, tuple) else (scale,) * nsp
    out = tuple(int(math.floor(n * s)) for n, s in zip(shape[2:], sf))
    for ac in ([None] if mode.startswith("nearest") else [False, True]):
        def fn(v, ac=ac):
            return F.interpolate(v, scale_factor=scale, mode=mode, align_corners=ac, recompute_scale_factor=recompute)

        close(fn(x), np_interp(x.detach().numpy(), out, mode, bool(ac), None if recompute else sf))
        check_grad(fn, x)


def test_interpolate_same_size_hand_values():
    x = graphc.tensor(np.arange(3.0).reshape(1, 1, 3) ** 2, requires_grad=True)
    y = F.interpolate(x, scale_factor=1.3333, mode="linear")
    close(y, [[[0.0, 1.0, 4.0]]])
    y.sum().backward()
    close(x.grad, [[[1.0, 1.0, 1.0]]])
    # 2-d nearest: the same size keeps the index, a doubled size reads o // 2 (PyTorch's nearest_idx) ...
    row = graphc.tensor(np.arange(3.0).reshape(1, 1, 1, 3))
    close(F.interpolate(row, scale_factor=(1.0, 2.05)), [[[[0, 0, 1, 1, 2, 2]]]])
    close(F.interpolate(row.reshape(1, 1, 3, 1), scale_factor=1.3333), [[[[0], [1], [2]]]])
    # ... 1-d and 3-d nearest, and 2-d outputs with H + W > 128, map through the float32 scale.
    close(F.interpolate(row.reshape(1, 1, 3), scale_factor=1.3333), [[[0, 0, 1]]])
    wide = graphc.tensor(np.arange(33.0).reshape(1, 1, 1, 33))
    got = F.interpolate(wide, scale_factor=(130.0, 1.01)).numpy()[0, 0, 0]
    close(got, np.floor(np.arange(33, dtype=np.float32) * np.float32(1 / 1.01)))
    assert got[-1] == 31
    # channels_last with more than 3 channels takes the nearest_idx kernel at any size.
    cl = graphc.tensor(np.arange(4 * 33.0).reshape(1, 4, 1, 33)).contiguous(memory_format=graphc.channels_last)
    close(F.interpolate(cl, scale_factor=(130.0, 1.01)).numpy()[0, 0, 0], np.arange(33.0))


def test_area_is_adaptive_average():
    x = t64(RNG, 1, 2, 7, 5)
    close(F.interpolate(x, size=(3, 2), mode="area"), F.adaptive_avg_pool2d(x, (3, 2)))
    assert tuple(F.interpolate(x, scale_factor=0.1, mode="area").shape) == (1, 2, 0, 0)  # as PyTorch


@pytest.mark.parametrize("mode,nsp", [("nearest", 2), ("linear", 1), ("bilinear", 2), ("bicubic", 2),
                                      ("trilinear", 3), ("nearest-exact", 1)])
def test_interpolate_to_no_pixels_raises(mode, nsp):
    """A negative or too small scale factor (or size) leaves no output: PyTorch raises, graphc
    returned an empty tensor (and divided by zero with recompute_scale_factor)."""
    x = t64(RNG, 1, 2, *(5,) * nsp)
    names = "DHW"[3 - nsp:]
    sizes = ", ".join(f"{c}: 5" for c in names)
    outs = ", ".join(f"{c}: -5" for c in names)
    sep = " and" if nsp == 1 else ""
    with pytest.raises(RuntimeError, match=re.escape(f"should be greater than 0, but got input ({sizes}){sep} output ({outs})")):
        F.interpolate(x, scale_factor=-1.0, mode=mode)
    for kw in ({"scale_factor": 0.1}, {"scale_factor": 0.1, "recompute_scale_factor": True}, {"size": 0}):
        with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
            F.interpolate(x, mode=mode, **kw)
    if nsp == 2 and mode != "nearest":
        with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
            F.interpolate(x, scale_factor=-1.0, mode=mode, antialias=True)


def test_interpolate_errors_and_aliases():
    x = t64(RNG, 1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(NotImplementedError, match="needs 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.warns(UserWarning, match="deprecated"):
        y = F.upsample_bilinear(x, scale_factor=2)
    close(y, F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))
    with pytest.warns(UserWarning):
        close(F.upsample_nearest(x, size=8), F.interpolate(x, size=8))
    assert repr(nn.Upsample(scale_factor=2, mode="bilinear")) == "Upsample(scale_factor=2.0, mode='bilinear')"
    close(nn.UpsamplingBilinear2d(scale_factor=2)(x), y)


def np_antialias(x, out, mode, align_corners, scales):
    """PIL's antialiased resize (what PyTorch's antialias=True computes), point by point: each
    output pixel averages the inputs within the filter's support around its centre, the filter
    widened by the scale when downsampling, each dim's weights normalized to sum 1."""
    half_width = 1.0 if mode == "bilinear" else 2.0

    def kernel(d):
        d = abs(d)
        if mode == "bilinear":
            return max(0.0, 1.0 - d)
        a = -0.5
        return ((a + 2) * d - (a + 3)) * d * d + 1 if d < 1 else (((d - 5) * d + 8) * d - 4) * a if d < 2 else 0.0

    def weights(o, in_size, out_size, scale):
        if align_corners:
            s = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            s = 1.0 / scale if scale else in_size / out_size
        support, stretch = (half_width * s, s) if s >= 1 else (half_width, 1.0)
        centre = s * (o + 0.5)
        lo, hi = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), in_size)
        w = {i: kernel((i - centre + 0.5) / stretch) for i in range(lo, hi)}
        total = sum(w.values())
        return {i: v / total for i, v in w.items()} if total else w

    n, c, h, w_ = x.shape
    res = np.zeros((n, c) + tuple(out))
    for oy in range(out[0]):
        wy = weights(oy, h, out[0], scales[0] if scales else None)
        for ox in range(out[1]):
            wx = weights(ox, w_, out[1], scales[1] if scales else None)
            for iy, a in wy.items():
                for ix, b in wx.items():
                    res[:, :, oy, ox] += a * b * x[:, :, iy, ix]
    return res


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size,out", [((32, 20), (7, 9)), ((6, 5), (13, 11)), ((120, 8), (5, 8)), ((9, 12), (9, 1))],
                         ids=["down", "up", "strong-down-dense", "to-width-1"])
def test_interpolate_antialias(mode, align_corners, size, out):
    """antialias=True (bilinear/bicubic, 4-d): the values against PIL's filter written out point
    by point, gradients by finite differences, compiled = eager. A strong downscale (120 -> 5:
    ~50 taps per output) takes the weight-matrix product, the others taps. (For an output one
    pixel wide, PyTorch 2.13's CPU kernel repeats the first output row; graphc does not.)"""
    x = t64(RNG, 2, 2, *size, requires_grad=True)
    got = F.interpolate(x, size=out, mode=mode, align_corners=align_corners, antialias=True)
    assert got.grad_fn.name() == f"Upsample{mode.capitalize()}2DAaBackward0"
    close(got, np_antialias(x.detach().numpy(), out, mode, align_corners, None), atol=1e-12, rtol=1e-10)
    small = t64(RNG, 1, 1, *[min(s, 13) for s in size], requires_grad=True)
    check_grad(lambda v: F.interpolate(v, size=(4, 3), mode=mode, align_corners=align_corners, antialias=True), small)
    compiled_matches(lambda v: F.interpolate(v, size=out, mode=mode, align_corners=align_corners, antialias=True), x)


def test_interpolate_antialias_scale_factor_and_float32():
    x = t64(RNG, 1, 3, 20, 30)
    for sf in (0.3, 2.5):
        out = (int(20 * sf), int(30 * sf))
        close(F.interpolate(x, scale_factor=sf, mode="bilinear", antialias=True),
              np_antialias(x.numpy(), out, "bilinear", False, (sf, sf)), atol=1e-12, rtol=1e-10)
        close(F.interpolate(x, scale_factor=sf, mode="bicubic", antialias=True, recompute_scale_factor=True),
              np_antialias(x.numpy(), out, "bicubic", False, None), atol=1e-12, rtol=1e-10)
    y = F.interpolate(x.float(), size=(7, 9), mode="bicubic", antialias=True)
    assert y.dtype is graphc.float32
    close(y, np_antialias(x.numpy(), (7, 9), "bicubic", False, None), atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        F.interpolate(x, size=(4, 4), mode="nearest", antialias=True)


def np_grid_sample(x, grid, mode, padding_mode, align_corners):
    n, c, h, w = x.shape
    _, oh, ow, _ = grid.shape
    out = np.zeros((n, c, oh, ow))

    def unnorm(v, size):
        return (v + 1) / 2 * (size - 1) if align_corners else ((v + 1) * size - 1) / 2

    def reflect(v, lo, hi):  # reflect into [lo, hi]
        if lo == hi:
            return 0.0
        span = hi - lo
        v = abs(v - lo)
        flips, extra = divmod(v, span)
        return lo + extra if int(flips) % 2 == 0 else hi - extra

    def fix(v, size):
        if padding_mode == "border":
            return min(max(v, 0), size - 1)
        if padding_mode == "reflection":
            v = reflect(v, 0, size - 1) if align_corners else reflect(v, -0.5, size - 0.5)
            return min(max(v, 0), size - 1)
        return v

    def at(b, yy, xx):
        if 0 <= yy < h and 0 <= xx < w:
            return x[b, :, yy, xx]
        return np.zeros(c)

    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                sx = fix(unnorm(grid[b, i, j, 0], w), w)
                sy = fix(unnorm(grid[b, i, j, 1], h), h)
                if mode == "nearest":
                    out[b, :, i, j] = at(b, int(np.rint(sy)), int(np.rint(sx)))
                else:
                    x0, y0 = math.floor(sx), math.floor(sy)
                    tx, ty = sx - x0, sy - y0
                    out[b, :, i, j] = (at(b, y0, x0) * (1 - tx) * (1 - ty) + at(b, y0, x0 + 1) * tx * (1 - ty)
                                       + at(b, y0 + 1, x0) * (1 - tx) * ty + at(b, y0 + 1, x0 + 1) * tx * ty)
    return out


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample(mode, padding_mode, align_corners):
    x = t64(RNG, 2, 3, 4, 5)
    grid = graphc.tensor(RNG.uniform(-1.4, 1.4, (2, 3, 4, 2)), dtype=graphc.float64)
    got = F.grid_sample(x, grid, mode, padding_mode, align_corners)
    close(got, np_grid_sample(x.numpy(), grid.numpy(), mode, padding_mode, align_corners))


def test_grid_sample_identity_and_gradients():
    x = t64(RNG, 1, 2, 4, 5, requires_grad=True)
    theta = graphc.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=graphc.float64)
    grid = F.affine_grid(theta, (1, 2, 4, 5), align_corners=False)
    close(F.grid_sample(x, grid, align_corners=False), x)  # the identity map samples every pixel centre
    g = graphc.tensor(RNG.uniform(-0.9, 0.9, (1, 3, 2, 2)), dtype=graphc.float64, requires_grad=True)
    check_grad(lambda a, b: F.grid_sample(a, b, align_corners=True), x, g)
    check_grad(lambda a, b: F.grid_sample(a, b, mode="bicubic", padding_mode="border"), x, g)
    vol = t64(RNG, 1, 1, 3, 3, 3, requires_grad=True)
    g3 = graphc.tensor(RNG.uniform(-0.9, 0.9, (1, 2, 2, 2, 3)), dtype=graphc.float64, requires_grad=True)
    check_grad(lambda a, b: F.grid_sample(a, b, align_corners=False), vol, g3)


def test_affine_grid_matches_formula():
    theta = t64(RNG, 2, 2, 3)
    got = F.affine_grid(theta, (2, 1, 3, 4), align_corners=False).numpy()
    xs = (np.arange(4) * 2 + 1) / 4 - 1
    ys = (np.arange(3) * 2 + 1) / 3 - 1
    base = np.stack(list(np.meshgrid(xs, ys, indexing="xy")) + [np.ones((3, 4))], -1)  # (3, 4, 3): x, y, 1
    close(got, np.einsum("hwk,njk->nhwj", base, theta.numpy()))


def test_shuffles():
    x = t64(RNG, 2, 8, 3, 2)
    y = F.pixel_shuffle(x, 2).numpy()
    xs = x.numpy()
    for c in range(2):
        for i in range(6):
            for j in range(4):
                assert y[0, c, i, j] == xs[0, c * 4 + (i % 2) * 2 + (j % 2), i // 2, j // 2]
    close(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), x)
    cs = F.channel_shuffle(x, 2).numpy()
    close(cs, xs.reshape(2, 2, 4, 3, 2).transpose(0, 2, 1, 3, 4).reshape(2, 8, 3, 2))
    with pytest.raises(RuntimeError, match="divisible by the square"):
        F.pixel_shuffle(t64(RNG, 1, 3, 2, 2), 2)
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.ChannelShuffle(2)) == "ChannelShuffle(groups=2)"


def test_gradients_and_compile():
    x = t64(RNG, 1, 2, 3, 4, requires_grad=True)
    check_grad(lambda a: F.interpolate(a, size=(5, 7), mode="bicubic", align_corners=False), x)
    check_grad(lambda a: F.interpolate(a, scale_factor=2, mode="nearest"), x)
    compiled_matches(lambda a: F.interpolate(a, size=(5, 6), mode="bilinear"), x)
    g = graphc.tensor(RNG.uniform(-1, 1, (1, 2, 3, 2)), dtype=graphc.float64, requires_grad=True)
    compiled_matches(lambda a, b: F.grid_sample(a, b, padding_mode="reflection", align_corners=False), x, g)
