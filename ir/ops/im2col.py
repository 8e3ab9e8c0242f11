"""Convolution windows as two rows: ``im2col`` copies every kernel window of a (padded) image
batch into one dense tensor, and ``col2im`` adds window values back where they were read.

A convolution is ``im2col`` and one batched matmul; a pooling, ``im2col`` and one reduction over
the window dim. The two rows are each other's gradient (``col2im`` is ``im2col``'s adjoint), so
a convolution's backward is one ``col2im`` and double backward works. On numpy ``im2col`` is one
strided copy and ``col2im`` one strided add per kernel offset; on Triton each is one pointwise
kernel (``col2im`` gathers: each pixel sums the window entries that read it).

Layout: the image is ``(N, C, H, W)``; the windows are ``(N, C, KH*KW, OH, OW)`` with the
kernel offset ``(i, j)`` at ``i * KW + j`` and ``OH = (H + top + bottom - DH*(KH-1) - 1) // SH + 1``.
The optional ``padding`` attribute, ``((top, bottom), (left, right))``, reads zeros around the
image: a convolution's zero padding needs no ``pad`` op before ``im2col`` (nor a crop after
``col2im``), and on numpy small images fold it into their selection matrix.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import ShapeError
from .core import INDEX, OpDef, dtype_first, fmt_shape, register

_ATTRS = ("kernel", "stride", "dilation")
_NO_PADDING = ((0, 0), (0, 0))


def window_count(size: int, k: int, s: int, d: int) -> int:
    """How many windows of ``k`` taps ``d`` apart fit in ``size``, one every ``s``."""
    return (size - d * (k - 1) - 1) // s + 1


def padding_of(attrs) -> tuple:
    """``((top, bottom), (left, right))``: the zeros read around the image (none when absent)."""
    return attrs.get("padding", _NO_PADDING)


def _check_attrs(op, attrs):
    for name in _ATTRS:
        v = attrs[name]
        if len(v) != 2 or any(not isinstance(a, int) or a <= 0 for a in v):
            raise ShapeError(f"{op.name}: {name} must be two positive ints, got {v}")
    pads = padding_of(attrs)
    if len(pads) != 2 or any(len(p) != 2 or any(not isinstance(a, int) or a < 0 for a in p) for p in pads):
        raise ShapeError(f"{op.name}: padding must be ((top, bottom), (left, right)) of ints >= 0, got {pads}")


def _padded(h: int, w: int, attrs) -> tuple:
    (top, bottom), (left, right) = padding_of(attrs)
    return h + top + bottom, w + left + right


def _shape_im2col(op, inputs, attrs):
    (x,) = inputs
    _check_attrs(op, attrs)
    if len(x.shape) != 4:
        raise ShapeError(f"{op.name}: expected an (N, C, H, W) input, got {fmt_shape(x.shape)}")
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = (attrs[a] for a in _ATTRS)
    ph, pw = _padded(h, w, attrs)
    oh, ow = window_count(ph, kh, sh, dh), window_count(pw, kw, sw, dw)
    if oh < 0 or ow < 0:
        raise ShapeError(f"{op.name}: a {kh}x{kw} kernel (dilation {(dh, dw)}) does not fit {fmt_shape(x.shape)}")
    return (n, c, kh * kw, oh, ow)


def _shape_col2im(op, inputs, attrs):
    (g,) = inputs
    _check_attrs(op, attrs)
    h, w = attrs["size"]
    (kh, kw), (sh, sw), (dh, dw) = (attrs[a] for a in _ATTRS)
    ph, pw = _padded(h, w, attrs)
    expect = (kh * kw, window_count(ph, kh, sh, dh), window_count(pw, kw, sw, dw))
    if len(g.shape) != 5 or tuple(g.shape[2:]) != expect:
        raise ShapeError(f"{op.name}: windows of shape {fmt_shape(g.shape)} do not match an image of size {(h, w)}")
    return (g.shape[0], g.shape[1], h, w)


def _np_im2col(arrays, attrs, shape, dtype):
    (x,) = arrays
    (kh, kw), (sh, sw), (dh, dw) = (attrs[a] for a in _ATTRS)
    n, c, _, oh, ow = shape
    select = _selection_for(x, attrs, oh, ow)
    if select is not None:
        return np.matmul(x.reshape(n * c, -1), select).reshape(shape)
    (top, bottom), (left, right) = padding_of(attrs)
    if top or bottom or left or right:
        xp = np.zeros((n, c) + _padded(*x.shape[2:], attrs), dtype=x.dtype)
        xp[:, :, top : top + x.shape[2], left : left + x.shape[3]] = x
        x = xp
    s_n, s_c, s_h, s_w = x.strides
    windows = as_strided(x, shape=(n, c, kh, kw, oh, ow), strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw))
    return np.ascontiguousarray(windows).reshape(shape)


def _np_col2im(arrays, attrs, shape, dtype):
    (g,) = arrays
    (kh, kw), (sh, sw), (dh, dw) = (attrs[a] for a in _ATTRS)
    n, c, _, oh, ow = g.shape
    h, w = shape[2:]
    select = _selection_for(g, attrs, oh, ow, (h, w))
    if select is not None:
        with np.errstate(invalid="ignore", over="ignore"):  # 0 * inf: found below, not a warning
            out = np.matmul(g.reshape(n * c, -1), select.T)
            finite = np.isfinite(out.sum())
        if finite:  # else some window value was not finite: add them by copies
            return out.reshape(shape)
    (top, bottom), (left, right) = padding_of(attrs)
    if top or bottom or left or right:  # add into the padded image, then keep its inside
        padded = _np_col2im([g], {**attrs, "padding": _NO_PADDING}, (n, c) + _padded(h, w, attrs), dtype)
        return np.ascontiguousarray(padded[:, :, top : top + h, left : left + w])
    if ow >= 16:  # rows long enough: one strided add per tap, straight into the image
        out = np.zeros(shape, dtype=g.dtype)
        g6 = g.reshape(n, c, kh, kw, oh, ow)
        for i in range(kh):
            for j in range(kw):
                out[:, :, _taps(i, dh, sh, oh), _taps(j, dw, sw, ow)] += g6[:, :, i, j]
        return out
    # Small images (the late layers of a CNN): numpy's loop over many 2- to 15-element rows
    # costs more than the adds, so add with the batch and channels innermost instead.
    gt = np.ascontiguousarray(g.reshape(n * c, kh, kw, oh, ow).transpose(1, 2, 3, 4, 0))
    out = np.zeros((h, w, n * c), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            out[_taps(i, dh, sh, oh), _taps(j, dw, sw, ow)] += gt[i, j]
    return np.ascontiguousarray(out.transpose(2, 0, 1)).reshape(shape)


# Small images (a CNN's late layers) through a matmul: the windows are a linear map of the image,
# so one product with a 0/1 selection matrix makes them (and its transpose adds them back, for
# col2im) at BLAS speed, where strided copies crawl over rows of 2 to 15 elements: 32x16 images
# of 6x6, 3x3 windows: im2col 107 -> ~25 us, col2im 92 -> ~25 us. Every result is one input
# (or a sum of them) plus exact zeros, so finite values come out as the copy gives them (a -0.0
# may come out +0.0); a NaN or inf times 0 would spread over the whole image, so values that are
# not all finite take the copying path.
_SELECT_MAX_PIXELS = 64
_SELECT_MAX_ENTRIES = 1 << 16


def _selection_for(a, attrs, oh, ow, size=None):
    """The selection matrix for ``a`` (an image, or windows when ``size`` is given), or None
    when the matmul path does not apply: large images, other dtypes, non-finite images.

    (col2im checks its result instead of its 4-9x larger input: a non-finite window value
    makes its whole image row non-finite. A sum that overflows only sends finite values the
    copying way.)"""
    if a.dtype not in (np.float32, np.float64) or a.size == 0:
        return None
    h, w = size if size is not None else a.shape[2:]
    (kh, kw), (sh, sw), (dh, dw) = (attrs[k] for k in _ATTRS)
    if h * w > _SELECT_MAX_PIXELS or h * w * kh * kw * oh * ow > _SELECT_MAX_ENTRIES:
        return None
    if size is None and not np.isfinite(a.sum()):
        return None
    (top, _), (left, _) = padding_of(attrs)
    return _selection(h, w, kh, kw, sh, sw, dh, dw, top, left, oh, ow, a.dtype.char)


@functools.lru_cache(maxsize=64)
def _selection(h, w, kh, kw, sh, sw, dh, dw, top, left, oh, ow, dtype_char) -> np.ndarray:
    """(H*W, KH*KW*OH*OW): the column of window entry (i, j, r, c) holds one 1, at the pixel it
    reads; a column whose tap reads the zero padding around the image is all zeros."""
    i, j, r, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(oh), np.arange(ow), indexing="ij")
    y, x = (r * sh + i * dh - top).ravel(), (c * sw + j * dw - left).ravel()
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    select = np.zeros((h * w, y.size), dtype=np.dtype(dtype_char))
    select[(y * w + x)[inside], np.arange(y.size)[inside]] = 1
    select.flags.writeable = False
    return select


def _taps(i: int, dilation: int, stride: int, count: int) -> slice:
    """The image rows (or columns) that tap ``i`` of the ``count`` windows reads."""
    return slice(i * dilation, i * dilation + stride * (count - 1) + 1, stride)


def _geometry(attrs) -> dict:
    out = {a: attrs[a] for a in _ATTRS}
    if "padding" in attrs:
        out["padding"] = attrs["padding"]
    return out


def _im2col_grad(n, g):
    return [g.op("col2im", size=tuple(n.in_shapes[0][2:]), **_geometry(n.attrs)) if n.needs(0) else None]


def _col2im_grad(n, g):
    return [g.op("im2col", **_geometry(n.attrs)) if n.needs(0) else None]


register(OpDef("im2col", INDEX, 1, _shape_im2col, dtype_first, _ATTRS, grad=_im2col_grad, grad_name="Im2ColBackward0",
               numpy=_np_im2col, complex=True, complex_rule=True,
               doc="Every (attrs['kernel']) window of the (N, C, H, W) input, taps attrs['dilation'] apart, one "
                   "every attrs['stride'], zeros read around it where the optional attrs['padding'] "
                   "((top, bottom), (left, right)) says: (N, C, KH*KW, OH, OW)."))
register(OpDef("col2im", INDEX, 1, _shape_col2im, dtype_first, _ATTRS + ("size",), grad=_col2im_grad,
               grad_name="Col2ImBackward0", numpy=_np_col2im, complex=True, complex_rule=True,
               doc="The (N, C, *attrs['size']) image whose pixels sum the window entries that read them "
                   "(im2col's adjoint)."))
