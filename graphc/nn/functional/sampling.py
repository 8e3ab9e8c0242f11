"""Resampling: ``interpolate`` in every mode (and the ``upsample*`` aliases),
``grid_sample``/``affine_grid``, ``pixel_shuffle``/``pixel_unshuffle`` and
``channel_shuffle``.

``interpolate`` is separable: each spatial dim is resampled in turn by
``index_select`` of the 1, 2 or 4 source taps of every output position
(shape-only constants computed here with PyTorch's coordinate rules) times
their weights, so its gradient is ``index_add`` and it compiles and fuses like
any other composite; antialiased resampling has as many taps as the filter's
footprint covers, or (past 16) one product with the dim's weight matrix.
``grid_sample`` reads data-dependent positions: the
corner indices come from ``floor`` of the grid and the taps are ``gather``\\ s
of the flattened input, weighted by differentiable functions of the grid.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ir import dtypes as dt
from ir.errors import ShapeError

from ... import _functional as _F
from ... import _layout
from ..._dispatch import apply, composite, constant
from ..._tensor import Tensor
from ._common import _arg, _reshape, _scalar_like
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = [
    "grid_sampler_2d",
    "grid_sampler_3d",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample", "affine_grid",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _output_size(x: Tensor, nsp: int, size, scale_factor, recompute_scale_factor):
    """(output sizes, scales for the coordinate map or None per dim)."""
    sizes = tuple(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = tuple(int(v) for v in size) if isinstance(size, (list, tuple)) else (int(size),) * nsp
        if len(out) != nsp:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with spatial "
                f"dimensions of {list(sizes)} and output size of {list(out)}. Please provide input tensor in "
                "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
            )
        return out, (None,) * nsp
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    sf = tuple(float(v) for v in scale_factor) if isinstance(scale_factor, (list, tuple)) else (float(scale_factor),) * nsp
    if len(sf) != nsp:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got input with spatial "
            f"dimensions of {list(sizes)} and scale_factor of shape {list(sf)}. Please provide input tensor in "
            "(N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format."
        )
    out = tuple(int(math.floor(sizes[i] * sf[i])) for i in range(nsp))
    if recompute_scale_factor:
        return out, (None,) * nsp
    return out, sf


def _scale(in_size: int, out_size: int, align_corners: bool, scale) -> float:
    """PyTorch's area_pixel_compute_scale."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _source(out_size: int, scale: float, align_corners: bool, cubic: bool) -> np.ndarray:
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        return dst * scale
    src = scale * (dst + 0.5) - 0.5
    return src if cubic else np.maximum(src, 0.0)


def _cubic_weights(t: np.ndarray, a: float = -0.75) -> list:
    def near(v):  # |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):  # 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _nearest_idx(x: Tensor, out: tuple) -> bool:
    """Whether PyTorch's CPU ``nearest`` takes its ``nearest_idx`` kernel for this call: the
    vectorized 2-d one, which it picks when the output's H + W is at most 128 or the input is
    channels_last with more than 3 channels. That kernel copies a dim that keeps its size and
    reads ``o >> 1`` on an exactly doubled one, whatever ``scale_factor`` says; its generic kernel
    (the other 2-d calls, and 1-d/3-d) maps every dim through the float32 scale."""
    if len(out) != 2:
        return False
    return sum(out) <= 128 or (x.shape[1] > 3 and x.is_contiguous(memory_format=_layout.channels_last))


def _copies(mode: str, in_size: int, out_size: int, scale, nearest_idx: bool) -> bool:
    """Whether PyTorch copies this dim unchanged. A linear mode's ``compute_source_index_and_lambda``
    copies a dim that keeps its size whatever ``scale_factor`` says (3 with 1.3333 stays [0, 1, 2],
    where the scale's coordinate map gives [0, 0, 1]), as ``nearest_idx`` does; bicubic and
    the other nearest kernels follow the scale."""
    if out_size != in_size:
        return False
    if mode in ("linear", "bilinear", "trilinear") or (mode == "nearest" and nearest_idx):
        return True
    return mode != "bicubic" and scale in (None, 1.0)


def _taps(mode: str, in_size: int, out_size: int, align_corners: bool, scale, nearest_idx: bool = False):
    """[(indices, weights)] per tap: out[o] = sum_t w_t[o] * in[i_t[o]]."""
    if mode == "nearest" and nearest_idx and out_size == 2 * in_size:
        return [(np.arange(out_size) >> 1, None)]
    if mode in ("nearest", "nearest-exact"):
        s = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
        dst = np.arange(out_size, dtype=np.float64)
        # PyTorch computes the nearest source index in float32.
        s32 = np.float32(s)
        if mode == "nearest":
            src = np.floor((dst.astype(np.float32) * s32)).astype(np.int64)
        else:
            src = np.floor(((dst.astype(np.float32) + np.float32(0.5)) * s32)).astype(np.int64)
        return [(np.minimum(src, in_size - 1), None)]
    cubic = mode == "bicubic"
    sc = _scale(in_size, out_size, align_corners, scale)
    src = _source(out_size, sc, align_corners, cubic)
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    if not cubic:
        i0 = np.minimum(i0, in_size - 1)
        i1 = np.minimum(i0 + 1, in_size - 1)
        return [(i0, 1.0 - t), (i1, t)]
    ws = _cubic_weights(t)
    return [(np.clip(i0 + k - 1, 0, in_size - 1), ws[k]) for k in range(4)]


def _antialias_weights(mode: str, in_size: int, out_size: int, align_corners: bool, scale) -> np.ndarray:
    """The (out_size, in_size) matrix of antialiased resampling along one dim (PIL's filter, as
    PyTorch's ``antialias=True``): output ``o`` averages the inputs within ``support`` of its
    centre ``scale * (o + 0.5)`` with a triangle (bilinear) or Keys cubic with a = -0.5
    (bicubic) kernel, widened by the scale when downsampling, each row normalized to sum 1."""
    sc = _scale(in_size, out_size, align_corners, scale)
    half_width = 1.0 if mode == "bilinear" else 2.0
    support = half_width * sc if sc >= 1.0 else half_width
    inv = 1.0 / sc if sc >= 1.0 else 1.0
    w = np.zeros((out_size, in_size))
    for o in range(out_size):
        centre = sc * (o + 0.5)
        lo = max(int(centre - support + 0.5), 0)  # int() truncates toward zero, as C's cast
        hi = min(int(centre + support + 0.5), in_size)
        d = np.abs((np.arange(lo, hi) - centre + 0.5) * inv)
        if mode == "bilinear":
            k = np.where(d < 1.0, 1.0 - d, 0.0)
        else:
            a = -0.5
            k = np.where(d < 1.0, ((a + 2) * d - (a + 3)) * d * d + 1,
                         np.where(d < 2.0, (((d - 5) * d + 8) * d - 4) * a, 0.0))
        total = k.sum()
        w[o, lo:hi] = k / total if total != 0 else k
    return w


_DENSE_TAPS = 16  # past this many taps per output, one product with the weight matrix


def _antialias_dim(x: Tensor, axis: int, weights: np.ndarray) -> Tensor:
    """``x`` resampled along ``axis`` by ``weights`` (out, in): as taps (few inputs per output,
    the work proportional to the input), or as one product when a strong downscale needs many."""
    nonzero = weights != 0
    lo = np.where(nonzero.any(1), nonzero.argmax(1), 0)
    used = nonzero.any(1)
    ends = nonzero.shape[1] - nonzero[:, ::-1].argmax(1)  # one past each row's last nonzero weight
    width = int((ends - lo)[used].max()) if used.any() else 1
    out_size, in_size = weights.shape
    if width > _DENSE_TAPS and out_size * in_size <= 1 << 22:
        w = constant(weights.astype(x._dtype.numpy_dtype), x._dtype, x._device)
        if axis == x.ndim - 1:
            return _F.matmul(x, _F.transpose(w, 0, 1))
        return _F.matmul(w, x)  # (out, in) @ (..., in, last): the product broadcasts over the rest
    rows = np.arange(out_size)
    taps = []
    for k in range(width):
        idx = np.minimum(lo + k, in_size - 1)
        taps.append((idx, np.where(lo + k < in_size, weights[rows, idx], 0.0)))
    return _resample_dim(x, axis, taps)


def _resample_dim(x: Tensor, axis: int, taps) -> Tensor:
    out = None
    n = len(taps[0][0])
    shape = [1] * x.ndim
    shape[axis] = n
    for idx, w in taps:
        v = apply("index_select", [x, constant(idx, dt.int64, x._device)], axis=axis)
        if w is not None:
            v = _F.mul(v, constant(w.reshape(shape).astype(x._dtype.numpy_dtype), x._dtype, x._device))
        out = v if out is None else _F.add(out, v)
    return out


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias: bool = False,
):
    """Resize the spatial dims of a (N, C, *spatial) input, as ``torch.nn.functional.interpolate``.

    ``mode``: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d input),
    ``'bilinear'``/``'bicubic'`` (4-d), ``'trilinear'`` (5-d) or ``'area'``
    (adaptive average pooling). Give ``size`` or ``scale_factor``; with a scale
    factor and no ``recompute_scale_factor`` the coordinate map uses the scale
    itself, as PyTorch does. ``antialias=True`` (bilinear and bicubic) filters
    as PIL does when downsampling: each output averages every input under its
    footprint, not only the 2 or 4 nearest.
    """
    x = _arg(input, "interpolate")
    if mode not in _MODES:
        raise NotImplementedError(
            f"Got {x.ndim}D input, but {mode} mode is not one of the supported modes {list(_MODES)}"
        )
    nsp = x.ndim - 2
    if nsp < 1 or nsp > 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the modes: "
            f"nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode})"
        )
    if mode in _DIMS and _DIMS[mode] != nsp:
        need = {1: "3D", 2: "4D", 3: "5D"}[_DIMS[mode]]
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {need} input")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias and not (mode in ("bilinear", "bicubic") and nsp == 2):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor as input")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if not x._dtype.is_floating_point and mode != "nearest" and mode != "nearest-exact":
        raise RuntimeError(f"\"upsample_{mode}\" not implemented for '{x._dtype}'")
    out, scales = _output_size(x, nsp, size, scale_factor, recompute_scale_factor)
    if mode != "area" and min(out + tuple(x.shape[2:])) <= 0:  # area: adaptive pooling, where 0 is empty
        names = "DHW"[3 - nsp:]
        sizes = ", ".join(f"{c}: {v}" for c, v in zip(names, x.shape[2:]))
        outs = ", ".join(f"{c}: {v}" for c, v in zip(names, out))
        raise ShapeError(
            f"Input and output sizes should be greater than 0, but got input ({sizes}){' and' if nsp == 1 else ''} "
            f"output ({outs})"
        )
    if mode == "area":
        pool = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}[nsp]
        return pool(x, out)
    grad_name = {
        "nearest": f"UpsampleNearest{nsp}DBackward0",
        "nearest-exact": f"_UpsampleNearestExact{nsp}DBackward0",
        "linear": "UpsampleLinear1DBackward0",
        "bilinear": "UpsampleBilinear2DBackward0",
        "bicubic": "UpsampleBicubic2DBackward0",
        "trilinear": "UpsampleTrilinear3DBackward0",
    }[mode]
    if antialias:
        with composite(f"Upsample{mode.capitalize()}2DAaBackward0", input) as cmp:
            y = x
            for i in range(nsp):
                y = _antialias_dim(y, 2 + i, _antialias_weights(mode, x.shape[2 + i], out[i], align_corners, scales[i]))
            return cmp.result(y)
    idx = mode == "nearest" and _nearest_idx(x, out)
    with composite(grad_name, input) as cmp:
        y = x
        for i in range(nsp):
            if _copies(mode, x.shape[2 + i], out[i], scales[i], idx):
                continue
            y = _resample_dim(y, 2 + i, _taps(mode, x.shape[2 + i], out[i], align_corners, scales[i], idx))
        return cmp.result(y)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- grid sampling


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return _F.mul(_F.add(coord, 1.0), (size - 1) / 2.0)
    return _F.div(_F.sub(_F.mul(_F.add(coord, 1.0), float(size)), 1.0), 2.0)


def _reflect(coord: Tensor, lo2: int, hi2: int) -> Tensor:
    """Reflect ``coord`` into [lo2/2, hi2/2] (PyTorch's reflect_coordinates)."""
    if lo2 == hi2:
        return _F.mul(coord, 0.0)
    mn = lo2 / 2.0
    span = (hi2 - lo2) / 2.0
    c = _F.abs(_F.sub(coord, mn))
    extra = _F.fmod(c, span)
    flips = _F.floor(_F.div(c, span))
    even = _F.eq(_F.remainder(flips, 2.0), 0.0)
    return _F.where(even, _F.add(extra, mn), _F.sub(span + mn, extra))


def _clip(c: Tensor, size: int) -> Tensor:
    """``c`` clamped to [0, size - 1], its gradient passing strictly inside only (PyTorch's
    clip_coordinates_set_grad; ``clamp`` passes it at the bounds, where an identity grid from
    ``affine_grid(..., align_corners=True)`` puts every border pixel)."""
    top = float(size - 1)
    return _F.where(_F.le(c, 0.0), _scalar_like(0.0, c), _F.where(_F.ge(c, top), _scalar_like(top, c), c))


def _source_coord(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    c = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        c = _clip(c, size)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        c = _clip(c, size)
    return c


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) / (N, C, D, H, W) at the normalized ``grid`` positions.

    ``grid`` is (N, H_out, W_out, 2) / (N, D_out, H_out, W_out, 3) with x (width)
    first, in [-1, 1]; ``mode`` ``'bilinear'``, ``'nearest'`` or ``'bicubic'``
    (4-d only); ``padding_mode`` ``'zeros'``, ``'border'`` or ``'reflection'``.
    Differentiable in ``input`` and ``grid``.
    """
    x = _arg(input, "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    if align_corners is None:
        align_corners = False
    nsp = x.ndim - 2
    if nsp not in (2, 3) or grid.ndim != x.ndim or grid.shape[-1] != nsp or grid.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, a grid whose last "
            f"dim is the number of spatial dims and the same batch size, but got input with sizes {list(x.shape)} "
            f"and grid with sizes {list(grid.shape)}"
        )
    if mode == "bicubic" and nsp != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    n, c = x.shape[0], x.shape[1]
    sizes = tuple(x.shape[2:])
    out = tuple(grid.shape[1:-1])
    npts = int(np.prod(out))
    flat = _reshape(x, (n, c, -1))
    g = _F._to(_reshape(grid, (n, npts, nsp)), x._dtype)
    # coords[i] is the source coordinate along spatial dim i (grid gives x = last dim first).
    coords = [_source_coord(_F.select(g, 2, nsp - 1 - i), sizes[i], padding_mode if mode != "bicubic" else "zeros", align_corners) for i in range(nsp)]

    def tap(indices, weight):
        """weight * input at integer ``indices`` per dim (zero outside)."""
        inside = None
        pos = None
        for i, ix in enumerate(indices):
            ok = _F.logical_and(_F.ge(ix, 0.0), _F.le(ix, float(sizes[i] - 1)))
            inside = ok if inside is None else _F.logical_and(inside, ok)
            stride = int(np.prod(sizes[i + 1 :])) if i + 1 < nsp else 1
            term = _F.mul(_F._to(_F.clamp(ix, 0.0, float(sizes[i] - 1)), dt.int64), stride)
            pos = term if pos is None else _F.add(pos, term)
        idx = _F.expand(_F.unsqueeze(pos, 1), (n, c, npts))
        v = _F.gather(flat, 2, idx)
        w = _F.where(inside, weight, constant(0.0, x._dtype, x._device)) if weight is not None else _F._to(inside, x._dtype)
        return _F.mul(v, _F.unsqueeze(w, 1))

    with composite("GridSampler2DBackward0" if nsp == 2 else "GridSampler3DBackward0", input, grid) as cmp:
        if mode == "nearest":
            res = tap([_F.round(ci).detach() for ci in coords], None)
        elif mode == "bilinear":
            floors = [_F.floor(ci).detach() for ci in coords]
            fr = [_F.sub(ci, fi) for ci, fi in zip(coords, floors)]
            res = None
            for corner in range(2**nsp):
                bits = [(corner >> (nsp - 1 - i)) & 1 for i in range(nsp)]
                idx = [_F.add(floors[i], float(bits[i])) for i in range(nsp)]
                w = None
                for i in range(nsp):
                    wi = fr[i] if bits[i] else _F.rsub(fr[i], 1.0)
                    w = wi if w is None else _F.mul(w, wi)
                t = tap(idx, w)
                res = t if res is None else _F.add(res, t)
        else:  # bicubic: 4x4 taps with A = -0.75, coordinates padded per padding_mode
            floors = [_F.floor(ci).detach() for ci in coords]
            ts = [_F.sub(ci, fi) for ci, fi in zip(coords, floors)]
            wy, wx = _cubic_tensor(ts[0]), _cubic_tensor(ts[1])
            res = None
            for a in range(4):
                for b in range(4):
                    iy = _F.add(floors[0], float(a - 1))
                    ix = _F.add(floors[1], float(b - 1))
                    iy, ix = _pad_index(iy, sizes[0], padding_mode, align_corners), _pad_index(ix, sizes[1], padding_mode, align_corners)
                    t = tap([iy, ix], _F.mul(wy[a], wx[b]))
                    res = t if res is None else _F.add(res, t)
        return cmp.result(_reshape(res, (n, c) + out))


def _cubic_tensor(t: Tensor, a: float = -0.75) -> list:
    def near(v):
        return _F.add(_F.mul(_F.mul(_F.sub(_F.mul(v, a + 2), a + 3), v), v), 1.0)

    def far(v):
        return _F.sub(_F.mul(_F.add(_F.mul(_F.sub(_F.mul(v, a), 5 * a), v), 8 * a), v), 4 * a)

    return [far(_F.add(t, 1.0)), near(t), near(_F.rsub(t, 1.0)), far(_F.rsub(t, 2.0))]


def _pad_index(ix: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    if padding_mode == "border":
        return _F.clamp(ix, 0.0, float(size - 1))
    if padding_mode == "reflection":
        r = _reflect(ix, 0, 2 * (size - 1)) if align_corners else _reflect(ix, -1, 2 * size - 1)
        return _F.clamp(r, 0.0, float(size - 1))
    return ix


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps ``theta`` (N, 2, 3) / (N, 3, 4) for :func:`grid_sample`."""
    if align_corners is None:
        align_corners = False
    if not theta._dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta._dtype}")
    size = tuple(int(v) for v in size)
    nsp = len(size) - 2
    if nsp not in (2, 3) or tuple(theta.shape) != (size[0], nsp, nsp + 1):
        raise ValueError(
            f"Expected a batch of {nsp}D affine matrices of shape Nx{nsp}x{nsp + 1} for size {list(size)}. "
            f"Got {list(theta.shape)}."
        )

    def lin(k):
        if k <= 1:
            return np.zeros(k)
        v = np.linspace(-1.0, 1.0, k)
        return v if align_corners else v * (k - 1) / k

    sp = size[2:]
    mesh = np.meshgrid(*[lin(k) for k in sp], indexing="ij")
    base = np.stack([mesh[nsp - 1 - i] for i in range(nsp)] + [np.ones(sp)], axis=-1)  # (*sp, nsp+1), x (width) first
    b = constant(base.reshape(1, -1, nsp + 1).astype(theta._dtype.numpy_dtype), theta._dtype, theta._device)
    grid = _F.matmul(b, _F.transpose(theta, 1, 2))  # (N, prod, nsp)
    return _reshape(grid, (size[0],) + tuple(sp) + (nsp,))


# ---------------------------------------------------------------- pixel and channel shuffles


def pixel_shuffle(input, upscale_factor: int):
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r): sub-pixel convolution's rearrangement."""
    x = _arg(input, "pixel_shuffle")
    r = int(upscale_factor)
    if x.ndim < 3:
        raise ShapeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={c} is not divisible by {r * r}"
        )
    lead = tuple(lead)
    oc = c // (r * r)
    y = _reshape(x, lead + (oc, r, r, h, w))
    k = len(lead)
    y = _F.permute(y, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return _reshape(y, lead + (oc, h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int):
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W): the inverse of :func:`pixel_shuffle`."""
    x = _arg(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if x.ndim < 3:
        raise ShapeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but got "
            f"height={h}, width={w}, downscale_factor={r}"
        )
    lead = tuple(lead)
    k = len(lead)
    y = _reshape(x, lead + (c, h // r, r, w // r, r))
    y = _F.permute(y, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return _reshape(y, lead + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups: int):
    """(N, g*k, *) -> (N, k*g, *): interleave the channels of ``groups`` groups (ShuffleNet)."""
    x = _arg(input, "channel_shuffle")
    g = int(groups)
    if g <= 0:
        raise ValueError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    if x.ndim < 3:
        raise ShapeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)")
    n, c = x.shape[0], x.shape[1]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    rest = tuple(x.shape[2:])
    y = _F.transpose(_reshape(x, (n, g, c // g) + rest), 1, 2)
    return _reshape(y, (n, c) + rest)


native_channel_shuffle = channel_shuffle


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDING = ("zeros", "border", "reflection")


def _grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool, ndim: int):
    if input.ndim != ndim:
        raise ShapeError(f"grid_sampler_{ndim - 2}d(): expected a {ndim}-D input, got {input.ndim}-D")
    try:
        mode, pad = _GRID_MODES[interpolation_mode], _GRID_PADDING[padding_mode]
    except (IndexError, TypeError):
        raise ValueError(
            f"grid_sampler: interpolation_mode must be 0, 1 or 2 and padding_mode 0, 1 or 2, got {interpolation_mode} "
            f"and {padding_mode}"
        ) from None
    return grid_sample(input, grid, mode, pad, bool(align_corners))


def grid_sampler_2d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``torch.grid_sampler_2d``: :func:`grid_sample` with its modes as integers (0 bilinear, 1 nearest,
    2 bicubic; padding 0 zeros, 1 border, 2 reflection) and ``align_corners`` required."""
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners, 4)


def grid_sampler_3d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``torch.grid_sampler_3d``: the volumetric :func:`grid_sampler_2d`."""
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners, 5)
