"""Convolution and pooling over an *unfold*: the ``im2col`` row copies the kernel windows of
the input, zero padding included, into one tensor (``ir/ops/im2col.py``); a convolution is then one (batched)
``matmul`` and a pooling one reduction over the window dim."""

from __future__ import annotations

import builtins

import numpy as np

from ir.errors import ShapeError
from ir.ops.im2col import window_count

from ... import _functional as _F
from ..._dispatch import apply, composite
from ..._factories import arange, ones
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ._common import _arg, _check_same_dtype, _ntuple, _pair, _reshape, _window_argmax

__all__ = [
    "unfold", "conv2d", "conv1d", "max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d",
]


def _out_size(size: int, k: int, s: int, pad_total: int, d: int) -> int:
    return window_count(size + pad_total, k, s, d)


def _pad4(x: Tensor, top: int, bottom: int, left: int, right: int, value=0.0) -> Tensor:
    if not (top or bottom or left or right):
        return x
    return apply("pad", [x], pads=((0, 0), (0, 0), (top, bottom), (left, right)), value=value)


def _windows(x: Tensor, kernel, stride, dilation, zeros=(0, 0, 0, 0)) -> Tensor:
    """(N, C, KH*KW, OH, OW): the kernel windows of the 4-d ``x``, one ``im2col`` row (one
    strided copy; its gradient is one ``col2im``), reading ``zeros`` = (top, bottom, left,
    right) zeros around ``x`` (the row's padding: no ``pad`` op before it, no crop after
    ``col2im``)."""
    attrs = {"kernel": tuple(map(int, kernel)), "stride": tuple(map(int, stride)), "dilation": tuple(map(int, dilation))}
    if any(zeros):
        top, bottom, left, right = map(int, zeros)
        attrs["padding"] = ((top, bottom), (left, right))
    return apply("im2col", [x], **attrs)


def _batched4(x: Tensor, op: str) -> tuple[Tensor, bool]:
    if x.ndim == 3:
        return _F.unsqueeze(x, 0), False
    if x.ndim != 4:
        raise ShapeError(
            f"{op}: Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {list(x.shape)}"
        )
    return x, True


def _check_positive(op: str, **values) -> None:
    """Strides, dilations, kernel sizes and groups must be positive (0 would divide by zero
    computing the output size; PyTorch refuses both)."""
    for name, v in values.items():
        if any(x <= 0 for x in (v if isinstance(v, tuple) else (v,))):
            raise RuntimeError(f"{op}: non-positive {name} is not supported, got {name}={v}")


def _conv_padding(padding, kernel, dilation, stride, op: str) -> tuple:
    """(top, bottom, left, right) for an int / tuple / 'same' / 'valid' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise ValueError(f"{op}: Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: negative padding is not supported, got {(ph, pw)}")
    return (ph, ph, pw, pw)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a (N, C, H, W) input: (N, C*KH*KW, L), as ``torch.nn.functional.unfold``;
    an unbatched (C, H, W) input gives (C*KH*KW, L)."""
    x = _arg(input, "unfold")
    if x.ndim not in (3, 4):
        raise ShapeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for "
            f"input, but got: {list(x.shape)}"
        )
    batched = x.ndim == 4
    if not batched:
        x = _F.unsqueeze(x, 0)
    k, d, s = _pair(kernel_size), _pair(dilation), _pair(stride)
    _check_positive("unfold", kernel_size=k, dilation=d, stride=s)
    top, bottom, left, right = _conv_padding(padding, k, d, s, "unfold")
    n, c, h, w = x.shape
    oh, ow = _out_size(h, k[0], s[0], top + bottom, d[0]), _out_size(w, k[1], s[1], left + right, d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"unfold: the kernel {k} (dilation {d}) does not fit the padded input of shape {list(x.shape)}"
        )
    cols = _windows(x, k, s, d, (top, bottom, left, right))
    with composite("Im2ColBackward0", input) as cmp:
        shape = (n, c * k[0] * k[1], oh * ow)
        return cmp.result(_reshape(cols, shape if batched else shape[1:]))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation, as PyTorch) via unfold + one matmul.

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``; ``groups`` splits the
    channels. Input (N, C, H, W) or (C, H, W); weight (O, C/groups, KH, KW).
    """
    x, batched = _batched4(_arg(input, "conv2d"), "conv2d")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must be 4-D (out, in/groups, kH, kW), got shape {list(weight.shape)}")
    _check_same_dtype("conv2d", x, weight)
    o, cg, kh, kw = weight.shape
    n, c, h, w = x.shape
    _check_positive("conv2d", groups=groups)
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{cg * groups} channels, but got {c} channels instead"
        )
    if o % groups:
        raise RuntimeError(f"conv2d: out_channels ({o}) must be divisible by groups ({groups})")
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    _check_positive("conv2d", stride=s, dilation=d)
    top, bottom, left, right = _conv_padding(padding, (kh, kw), d, s, "conv2d")
    oh, ow = _out_size(h, kh, s[0], top + bottom, d[0]), _out_size(w, kw, s[1], left + right, d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"conv2d: Calculated padded input size per channel: ({h + top + bottom} x {w + left + right}). "
            f"Kernel size: ({d[0] * (kh - 1) + 1} x {d[1] * (kw - 1) + 1}). Kernel size can't be greater than "
            "actual input size"
        )
    kk = kh * kw
    with composite("ConvolutionBackward0", input, weight, bias) as cmp:
        if kk == 1 and s == (1, 1) and not (top or bottom or left or right):
            cols = x
        else:
            cols = _windows(x, (kh, kw), s, d, (top, bottom, left, right))
        L = oh * ow
        if groups == 1:
            out = apply("matmul", [_reshape(weight, (o, cg * kk)), _reshape(cols, (n, c * kk, L))])
        else:
            w2 = _reshape(weight, (groups, o // groups, cg * kk))
            out = apply("matmul", [w2, _reshape(cols, (n, groups, cg * kk, L))])
        out = _reshape(out, (n, o, oh, ow))
        if bias is not None:
            out = _F.add(out, _reshape(bias, (1, o, 1, 1)))
        out = cmp.result(out)
    return out if batched else _F.squeeze(out, 0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over (N, C, L) through :func:`conv2d` with a height of 1."""
    x = _arg(input, "conv1d")
    batched = x.ndim == 3
    if x.ndim == 2:
        x = _F.unsqueeze(x, 0)
    elif x.ndim != 3:
        raise ShapeError(
            f"conv1d: Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: {list(x.shape)}"
        )
    if not isinstance(padding, str):
        padding = (0, _ntuple(padding, 1)[0])
    out = conv2d(
        _F.unsqueeze(x, 2),
        _F.unsqueeze(weight, 2),
        bias,
        (1, _ntuple(stride, 1)[0]),
        padding,
        (1, _ntuple(dilation, 1)[0]),
        groups,
    )
    out = _F.squeeze(out, 2)
    return out if batched else _F.squeeze(out, 0)


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    _check_positive(op, kernel_size=k, stride=s, dilation=d)
    if any(pp < 0 for pp in p):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={p}")
    for kk, pp, dd in zip(k, p, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={pp}, kernel_size={kk}"
            )
    h, w = x.shape[2], x.shape[3]
    oh = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"{op}: Given input size: ({x.shape[1]}x{h}x{w}). Calculated output size: ({x.shape[1]}x{oh}x{ow}). "
            "Output size is too small"
        )
    # Extra padding on the bottom/right so that ceil-mode windows stay in bounds.
    eh = builtins.max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]))
    ew = builtins.max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]))
    return k, s, p, d, (oh, ow), (eh, ew)


def _blocked(x: Tensor, k, out_hw) -> Tensor:
    """(KH*KW, N, C, OH, OW) for non-overlapping windows (stride == kernel, no padding): reduce axis 0.

    A reshape/permute of ``x`` and one copy: its backward is two copies, where
    strided slices would need an interleaving pad per kernel offset (and numpy
    reduces badly over the tiny window axes of the plain reshape). The window axis
    comes first so that the pooling and its gradient work on whole (N, C, OH, OW)
    slabs per window offset: numpy's loops then run over long contiguous rows
    instead of the OH*OW elements (4 in a small CNN) that a middle window axis leaves.
    """
    n, c = x.shape[0], x.shape[1]
    (kh, kw), (oh, ow) = k, out_hw
    if x.shape[2] != oh * kh or x.shape[3] != ow * kw:
        x = apply("slice", [x], starts=(0, 0, 0, 0), stops=(n, c, oh * kh, ow * kw), steps=(1, 1, 1, 1))
    b = apply("permute", [_reshape(x, (n, c, oh, kh, ow, kw))], dims=(3, 5, 0, 1, 2, 4))
    return _reshape(b, (kh * kw, n, c, oh, ow))


def _lowest(dtype) -> float:
    if dtype.is_floating_point:
        return float("-inf")
    return int(np.iinfo(dtype.numpy_dtype).min)


def _window_padding(sizes, k, s, p, d) -> dict:
    """The ``window_padding`` attribute of a pooling ``amax`` over padded windows: where the
    padding is, so that its -infs never take a gradient or an index from a window of real
    -infs (see ``ir.ops.reduce.taps_inside``)."""
    return {"window_padding": tuple((int(sizes[i]), k[i], s[i], p[i], d[i]) for i in range(len(sizes)))}


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of a (N, C, H, W) or (C, H, W) input.

    With ``return_indices`` also the flat ``h * W + w`` input position of each maximum. As in
    PyTorch, each window's gradient goes to one element, the one its index names: the first
    maximum in the window, or the last NaN where there is one; never the padding.
    """
    x, batched = _batched4(_arg(input, "max_pool2d"), "max_pool2d")
    k, s, p, d, (oh, ow), (eh, ew) = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    n, c, h, w = x.shape
    with composite("MaxPool2DWithIndicesBackward0", input) as cmp:
        if s == k and d == (1, 1) and p == (0, 0) and not (eh or ew) and not return_indices:
            out = apply("amax", [_blocked(x, k, (oh, ow))], axes=(0,), keepdim=False, ties="first")
        else:
            xp = _pad4(x, p[0], p[0] + eh, p[1], p[1] + ew, _lowest(x._dtype))
            win = _windows(xp, k, s, d)
            padded = _window_padding((h, w), k, s, p, d) if p != (0, 0) or eh or ew else {}
            out = apply("amax", [win], axes=(2,), keepdim=False, ties="first", **padded)
        out = pooled = cmp.result(out)
    if not batched:
        out = _F.squeeze(out, 0)
    if not return_indices:
        return out
    with no_grad():
        kidx = _window_argmax(win, pooled, 2, padded)  # (N, C, OH, OW) int64
        ki, kj = _F.floor_divide(kidx, k[1]), _F.remainder(kidx, k[1])
        rows = _reshape(_F.mul(arange(oh, device=x._device), s[0]), (oh, 1))
        cols = _reshape(_F.mul(arange(ow, device=x._device), s[1]), (1, ow))
        hh = _F.add(_F.sub(rows, p[0]), _F.mul(ki, d[0]))
        ww = _F.add(_F.sub(cols, p[1]), _F.mul(kj, d[1]))
        idx = _F.add(_F.mul(hh, w), ww)
        if not batched:
            idx = _F.squeeze(idx, 0)
    return out, idx


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, L) through :func:`max_pool2d`."""
    x = _F.unsqueeze(_arg(input, "max_pool1d"), -2)
    one = lambda v: (1, _ntuple(v, 1)[0])  # noqa: E731
    r = max_pool2d(
        x,
        one(kernel_size),
        None if stride is None else one(stride),
        (0, _ntuple(padding, 1)[0]),
        one(dilation),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return _F.squeeze(r[0], -2), _F.squeeze(r[1], -2)
    return _F.squeeze(r, -2)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over sliding windows (zero padding counted unless ``count_include_pad=False``)."""
    x, batched = _batched4(_arg(input, "avg_pool2d"), "avg_pool2d")
    k, s, p, d, (oh, ow), (eh, ew) = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    with composite("AvgPool2DBackward0", input) as cmp:
        if s == k and p == (0, 0) and not (eh or ew):
            total = apply("sum", [_blocked(x, k, (oh, ow))], axes=(0,), keepdim=False)
        else:
            xp = _pad4(x, p[0], p[0] + eh, p[1], p[1] + ew, 0.0)
            total = apply("sum", [_windows(xp, k, s, d)], axes=(2,), keepdim=False)
        exact = not x._dtype.is_floating_point  # integers: a truncating division, as PyTorch's
        if divisor_override:
            out = _F.div(total, divisor_override, rounding_mode="trunc") if exact else _F.div(total, float(divisor_override))
        elif not (eh or ew) and (count_include_pad or p == (0, 0)):
            out = _F.div(total, k[0] * k[1], rounding_mode="trunc") if exact else _F.mul(total, 1.0 / (k[0] * k[1]))
        else:
            # The count of the elements each window covers (a shape-only constant).
            one = ones((1, 1, x.shape[2], x.shape[3]), dtype=x._dtype, device=x._device)
            if count_include_pad:
                one = _pad4(one, p[0], p[0], p[1], p[1], 1.0)
                one = _pad4(one, 0, eh, 0, ew, 0.0)
            else:
                one = _pad4(one, p[0], p[0] + eh, p[1], p[1] + ew, 0.0)
            count = apply("sum", [_windows(one, k, s, d)], axes=(2,), keepdim=False)
            out = _F.div(total, count, rounding_mode="trunc" if exact else None)
        out = cmp.result(out)
    return out if batched else _F.squeeze(out, 0)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling over (N, C, L) through :func:`avg_pool2d`."""
    x = _F.unsqueeze(_arg(input, "avg_pool1d"), -2)
    one = lambda v: (1, _ntuple(v, 1)[0])  # noqa: E731
    r = avg_pool2d(
        x,
        one(kernel_size),
        None if stride is None else one(stride),
        (0, _ntuple(padding, 1)[0]),
        ceil_mode,
        count_include_pad,
    )
    return _F.squeeze(r, -2)
