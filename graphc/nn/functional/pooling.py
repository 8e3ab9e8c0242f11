"""Pooling beyond 2-d: ``max/avg_pool3d``, adaptive pooling in 1, 2 and 3 dims (with
indices), ``max_unpool1d/2d/3d``, ``fractional_max_pool2d/3d`` and ``lp_pool1d/2d/3d``.

Fixed windows reuse :func:`.convnd._windows_nd`. Adaptive and fractional
windows differ in start (and, adaptively, in length) from cell to cell: they
are gathered one spatial dim at a time with an index tensor of shape
(out, longest window) — ``index_select`` for the shape-only adaptive starts,
``gather`` for the random fractional ones — and shorter windows are masked,
so every variant is a handful of graph ops whatever the output size.
"""

from __future__ import annotations

import builtins

import numpy as np

from ir import dtypes as dt

from ... import _functional as _F
from ..._dispatch import apply, composite, constant
from ..._factories import arange, rand, zeros
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from . import conv as _conv
from ._common import _arg, _ntuple, _reshape, _window_argmax
from .conv import _lowest
from .convnd import _batched, _pad_nd, _windows_nd

__all__ = [
    "max_pool3d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
]


def _pool_out(size, k, s, p, d, ceil_mode):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(x, nsp, kernel_size, stride, padding, dilation, ceil_mode, op):
    k = _ntuple(kernel_size, nsp, "kernel_size")
    none = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    s = k if none else _ntuple(stride, nsp, "stride")
    p, d = _ntuple(padding, nsp, "padding"), _ntuple(dilation, nsp, "dilation")
    for kk, pp, dd in zip(k, p, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={pp}, kernel_size={kk}")
    sizes = tuple(x.shape[2:])
    out = tuple(_pool_out(sizes[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(nsp))
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"{op}: Given input size: ({'x'.join(str(v) for v in x.shape[1:])}). Calculated output size: "
            f"({'x'.join(str(v) for v in (x.shape[1],) + out)}). Output size is too small"
        )
    extra = tuple(builtins.max(0, (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (sizes[i] + 2 * p[i])) for i in range(nsp))
    return k, s, p, d, out, extra


def _flat_index(kidx: Tensor, k, s, p, d, out, sizes, device) -> Tensor:
    """Flat input position of window offset ``kidx`` (N, C, *out) in each output cell."""
    nsp = len(k)
    rem = kidx
    pos = None
    for i in reversed(range(nsp)):
        ki = _F.remainder(rem, k[i])
        rem = _F.floor_divide(rem, k[i])
        shape = [1] * (nsp + 2)
        shape[2 + i] = out[i]
        base = _reshape(_F.sub(_F.mul(arange(out[i], device=device), s[i]), p[i]), tuple(shape))
        coord = _F.add(base, _F.mul(ki, d[i]))
        stride = int(np.prod(sizes[i + 1 :])) if i + 1 < nsp else 1
        term = _F.mul(coord, stride)
        pos = term if pos is None else _F.add(pos, term)
    return pos


def _max_pool_nd(input, nsp, kernel_size, stride, padding, dilation, ceil_mode, return_indices, op, grad_name):
    x, is_batched = _batched(_arg(input, op), nsp, op)
    k, s, p, d, out, extra = _geometry(x, nsp, kernel_size, stride, padding, dilation, ceil_mode, op)
    with composite(grad_name, input) as cmp:
        pads = tuple((p[i], p[i] + extra[i]) for i in range(nsp))
        xp = _pad_nd(x, pads, _lowest(x._dtype))
        win = _windows_nd(xp, k, s, d, out)
        padded = _conv._window_padding(tuple(x.shape[2:]), k, s, p, d) if any(p) or any(extra) else {}
        res = pooled = cmp.result(apply("amax", [win], axes=(2,), keepdim=False, ties="first", **padded))
    if not is_batched:
        res = _F.squeeze(res, 0)
    if not return_indices:
        return res
    with no_grad():
        kidx = _window_argmax(win, pooled, 2, padded)
        idx = _flat_index(kidx, k, s, p, d, out, tuple(x.shape[2:]), x._device)
        if not is_batched:
            idx = _F.squeeze(idx, 0)
    return res, idx


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over (kD, kH, kW) windows of a (N, C, D, H, W) or (C, D, H, W) input.

    With ``return_indices`` also the flat ``(d * H + h) * W + w`` input position of each maximum.
    """
    return _max_pool_nd(
        input, 3, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool3d",
        "MaxPool3DWithIndicesBackward0",
    )


def avg_pool3d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over (kD, kH, kW) windows (zero padding counted unless ``count_include_pad=False``)."""
    x, is_batched = _batched(_arg(input, "avg_pool3d"), 3, "avg_pool3d")
    k, s, p, d, out, extra = _geometry(x, 3, kernel_size, stride, padding, 1, ceil_mode, "avg_pool3d")
    pads = tuple((p[i], p[i] + extra[i]) for i in range(3))
    with composite("AvgPool3DBackward0", input) as cmp:
        total = apply("sum", [_windows_nd(_pad_nd(x, pads), k, s, d, out)], axes=(2,), keepdim=False)
        if divisor_override:
            res = _F.div(total, float(divisor_override))
        elif not any(extra) and (count_include_pad or not any(p)):
            res = _F.mul(total, 1.0 / float(np.prod(k)))
        else:
            one = np.ones(tuple(x.shape[2:]), dtype=np.float64)
            if count_include_pad:
                one = np.pad(one, tuple((v, v) for v in p), constant_values=1.0)
                one = np.pad(one, tuple((0, e) for e in extra))
            else:
                one = np.pad(one, pads)
            cnt = np.zeros(out)
            for idx in np.ndindex(*out):
                sl = tuple(slice(idx[i] * s[i], idx[i] * s[i] + k[i]) for i in range(3))
                cnt[idx] = one[sl].sum()
            res = _F.div(total, constant(cnt.astype(x._dtype.numpy_dtype), x._dtype, x._device))
        res = cmp.result(res)
    return res if is_batched else _F.squeeze(res, 0)


# ---------------------------------------------------------------- adaptive pooling


def _adaptive_sizes(x: Tensor, output_size, nsp: int) -> tuple:
    sizes = tuple(x.shape[-nsp:])
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nsp:
            raise ValueError(f"adaptive pooling: output_size must have {nsp} elements, got {output_size}")
        return tuple(sizes[i] if v is None else int(v) for i, v in enumerate(output_size))
    return (int(output_size),) * nsp


def _cells(size: int, out: int):
    """PyTorch's adaptive cell bounds: start floor(i*size/out), end ceil((i+1)*size/out)."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-((-(i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _adaptive(input, output_size, nsp: int, mode: str, return_indices: bool, op: str):
    x, is_batched = _batched(_arg(input, op), nsp, op)
    n, c = x.shape[0], x.shape[1]
    sizes = tuple(x.shape[2:])
    out = _adaptive_sizes(x, output_size, nsp)
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but received {out}")
    for v in sizes:
        if v == 0:
            raise RuntimeError(f"{op}: Expected input to have non-zero size for non-batch dimensions, but input has sizes {list(x.shape)}")
    if 0 in out:
        return _empty_cells(x, out, is_batched, return_indices)
    if all(sizes[i] % out[i] == 0 for i in range(nsp)) and not return_indices:
        # Equal cells: a reshape and one reduction.
        shape = (n, c) + tuple(v for i in range(nsp) for v in (out[i], sizes[i] // out[i]))
        axes = tuple(3 + 2 * i for i in range(nsp))
        ties = {} if mode == "avg" else {"ties": "first"}
        red = apply("sum" if mode == "avg" else "amax", [_reshape(x, shape)], axes=axes, keepdim=False, **ties)
        if mode == "avg":
            red = _F.mul(red, 1.0 / float(np.prod([sizes[i] // out[i] for i in range(nsp)])))
        return (red if is_batched else _F.squeeze(red, 0)), None
    # General cells: gather (out, longest) windows one dim at a time.
    y = x
    masks = []
    starts_all = []
    for i in range(nsp):
        starts, ends = _cells(sizes[i], out[i])
        m = builtins.max(e - s for s, e in zip(starts, ends))
        idx = np.array([[builtins.min(s + j, e - 1) for j in range(m)] for s, e in zip(starts, ends)], dtype=np.int64)
        valid = np.array([[s + j < e for j in range(m)] for s, e in zip(starts, ends)])
        axis = 2 + 2 * i  # (N, C, O0, M0, ..., O(i-1), M(i-1), S_i, ...)
        sel = apply("index_select", [y, constant(idx.reshape(-1), dt.int64, x._device)], axis=axis)
        shape = tuple(sel.shape)
        y = _reshape(sel, shape[:axis] + (out[i], m) + shape[axis + 1 :])
        masks.append(valid)
        starts_all.append(np.array(starts, dtype=np.int64))
    # Combined validity mask over (O0, M0, O1, M1, ...).
    mask = np.ones((), dtype=bool)
    for valid in masks:
        mask = np.multiply.outer(mask, valid)
    axes = tuple(3 + 2 * i for i in range(nsp))
    if mode == "avg":
        w = mask.astype(x._dtype.numpy_dtype)
        w = w / w.sum(axis=tuple(1 + 2 * i for i in range(nsp)), keepdims=True)
        # the padded taps repeat a cell's last element: selected out, not multiplied by 0 (an inf
        # there would make its neighbour's average NaN)
        y = _F.where(constant(mask, dt.bool_, x._device), y, constant(0.0, x._dtype, x._device))
        red = apply("sum", [_F.mul(y, constant(w, x._dtype, x._device))], axes=axes, keepdim=False)
        return (red if is_batched else _F.squeeze(red, 0)), None
    if not mask.all():
        y = _F.where(constant(mask, dt.bool_, x._device), y, constant(_lowest(x._dtype), x._dtype, x._device))
    # Bring the window axes last, flattened: (N, C, *out, prod(M)).
    perm = (0, 1) + tuple(2 + 2 * i for i in range(nsp)) + axes
    ms = tuple(y.shape[a] for a in axes)
    win = _reshape(apply("permute", [y], dims=perm), (n, c) + out + (int(np.prod(ms)),))
    red = apply("amax", [win], axes=(win.ndim - 1,), keepdim=False, ties="first")
    idx = None
    if return_indices:
        with no_grad():
            k = _window_argmax(win, red, win.ndim - 1)
            pos = None
            for i in reversed(range(nsp)):
                ki = _F.remainder(k, ms[i])
                k = _F.floor_divide(k, ms[i])
                shape = [1] * (nsp + 2)
                shape[2 + i] = out[i]
                coord = _F.add(_reshape(constant(starts_all[i], dt.int64, x._device), tuple(shape)), ki)
                term = _F.mul(coord, int(np.prod(sizes[i + 1 :])) if i + 1 < nsp else 1)
                pos = term if pos is None else _F.add(pos, term)
            idx = pos if is_batched else _F.squeeze(pos, 0)
    return (red if is_batched else _F.squeeze(red, 0)), idx


def _empty_cells(x: Tensor, out: tuple, is_batched: bool, return_indices: bool):
    """An output size of 0 gives an empty (N, C, *out), as PyTorch's adaptive pools: index_select
    of no element (or of element 0, along the other dims) keeps it in the graph."""
    y = x
    for i, o in enumerate(out):
        y = apply("index_select", [y, constant(np.zeros(o, dtype=np.int64), dt.int64, x._device)], axis=2 + i)
    if not is_batched:
        y = _F.squeeze(y, 0)
    idx = zeros(tuple(y.shape), dtype=dt.int64, device=x._device) if return_indices else None
    return y, idx


def _adaptive_avg(input, output_size, nsp, op, grad_name):
    with composite(grad_name, input) as cmp:
        return cmp.result(_adaptive(input, output_size, nsp, "avg", False, op)[0])


def _adaptive_max(input, output_size, return_indices, nsp, op, grad_name):
    with composite(grad_name, input) as cmp:
        out, idx = _adaptive(input, output_size, nsp, "max", return_indices, op)
        out = cmp.result(out)
    return (out, idx) if return_indices else out


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) / (C, L) to ``output_size`` cells (PyTorch's start/end rule)."""
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d", "AdaptiveAvgPool2DBackward0")


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of (N, C, H, W) / (C, H, W) to a fixed output size (``None`` keeps a dim)."""
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d", "AdaptiveAvgPool2DBackward0")


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) / (C, D, H, W) to a fixed output size."""
    return _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d", "AdaptiveAvgPool3DBackward0")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) / (C, L) to ``output_size`` cells; indices are positions along L."""
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d", "AdaptiveMaxPool2DBackward0")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size; indices are flat ``h * W + w`` positions."""
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d", "AdaptiveMaxPool2DBackward0")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of 3-d volumes to a fixed output size; indices are flat ``(d * H + h) * W + w`` positions."""
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d", "AdaptiveMaxPool3DBackward0")


# ---------------------------------------------------------------- unpooling


def _unpool_size(x, nsp, kernel_size, stride, padding, output_size, op):
    k = _ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None else _ntuple(stride, nsp, "stride")
    p = _ntuple(padding, nsp, "padding")
    default = tuple((x.shape[-nsp + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nsp))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == nsp + 2 or len(size) == nsp + 1:
        size = size[-nsp:]
    if len(size) != nsp:
        raise ValueError(f"{op}: output_size should be a sequence containing {nsp} or {nsp + 2} elements, but it has a length of '{len(size)}'")
    for i in range(nsp):
        lo, hi = default[i] - s[i], default[i] + s[i]
        if not lo < size[i] < hi:
            raise ValueError(f"{op}: invalid output_size {list(size)} (dim {i} must be between {lo} and {hi})")
    return size


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nsp, op):
    x = _arg(input, op)
    if not isinstance(indices, Tensor) or not indices._dtype.is_integer:
        raise RuntimeError(f"{op}: elements in indices should be type int64")
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input tensor ({list(x.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    x, is_batched = _batched(x, nsp, op)
    idx = indices if is_batched else _F.unsqueeze(indices, 0)
    size = _unpool_size(x, nsp, kernel_size, stride, padding, output_size, op)
    n, c = x.shape[0], x.shape[1]
    total = int(np.prod(size))
    flat_idx = _reshape(idx, (n, c, -1))
    with composite("MaxUnpoolBackward0", input) as cmp:
        base = zeros((n, c, total), dtype=x._dtype, device=x._device)
        out = _F.scatter(base, 2, flat_idx, _reshape(x, (n, c, -1)))
        out = cmp.result(_reshape(out, (n, c) + tuple(size)))
    return out if is_batched else _F.squeeze(out, 0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool1d`: each value back at its index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool2d` (indices as it returns them)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool3d`."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")


# ---------------------------------------------------------------- fractional max pooling


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, nsp, op):
    x, is_batched = _batched(_arg(input, op), nsp, op)
    n, c = x.shape[0], x.shape[1]
    sizes = tuple(x.shape[2:])
    k = _ntuple(kernel_size, nsp, "kernel_size")
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
        ratio = _F_ratio(output_ratio, nsp)
        out = tuple(int(sizes[i] * ratio[i]) for i in range(nsp))
    else:
        out = _ntuple(output_size, nsp, "output_size")
    for i in range(nsp):
        if out[i] + k[i] - 1 > sizes[i]:
            raise RuntimeError(
                f"{op}(): pool size {k[i]} too large relative to input size {sizes[i]} for output size {out[i]} "
                f"in dim {i}"
            )
    if _random_samples is None:
        samples = rand((n, c, nsp), dtype=x._dtype, device=x._device)
    else:
        samples = _random_samples if is_batched or _random_samples.ndim == 3 else _F.unsqueeze(_random_samples, 0)
        if tuple(samples.shape) != (n, c, nsp):
            raise RuntimeError(f"{op}: expect _random_samples to have shape {[n, c, nsp]}, got {list(samples.shape)}")
    y = x
    starts_all = []
    with no_grad():
        for i in range(nsp):
            u = _F.select(samples.detach(), 2, i if nsp == 3 else nsp - 1 - i)  # PyTorch's sample order
            if out[i] == 1:
                st = _F.add(zeros((n, c, 1), dtype=dt.int64, device=x._device), sizes[i] - k[i])
            else:
                alpha = (sizes[i] - k[i]) / (out[i] - 1)
                ii = _reshape(arange(out[i], dtype=x._dtype, device=x._device), (1, 1, out[i]))
                uu = _reshape(u, (n, c, 1))
                st = _F.sub(
                    _F._to(_F.floor(_F.mul(_F.add(ii, uu), alpha)), dt.int64),
                    _F._to(_F.floor(_F.mul(uu, alpha)), dt.int64),
                )
                last = (np.arange(out[i]) == out[i] - 1).reshape(1, 1, -1)
                st = _F.where(constant(last, dt.bool_, x._device), constant(sizes[i] - k[i], dt.int64, x._device), st)
            starts_all.append(st)
    for i in range(nsp):
        st = starts_all[i]  # (N, C, O_i)
        win = _F.add(_F.unsqueeze(st, -1), _reshape(arange(k[i], device=x._device), (1, 1, 1, k[i])))
        win = _reshape(win, (n, c, out[i] * k[i]))
        axis = 2 + 2 * i
        shape = list(y.shape)
        ishape = [n, c] + [1] * (len(shape) - 2)
        ishape[axis] = out[i] * k[i]
        index = _F.expand(_reshape(win, tuple(ishape)), tuple(shape[:axis] + [out[i] * k[i]] + shape[axis + 1 :]))
        g = _F.gather(y, axis, index)
        y = _reshape(g, tuple(shape[:axis]) + (out[i], k[i]) + tuple(shape[axis + 1 :]))
    axes = tuple(3 + 2 * i for i in range(nsp))
    perm = (0, 1) + tuple(2 + 2 * i for i in range(nsp)) + axes
    with composite(f"FractionalMaxPool{nsp}DBackward0", input) as cmp:
        win = _reshape(apply("permute", [y], dims=perm), (n, c) + out + (int(np.prod(k)),))
        res = pooled = cmp.result(apply("amax", [win], axes=(win.ndim - 1,), keepdim=False, ties="first"))
    if not is_batched:
        res = _F.squeeze(res, 0)
    if not return_indices:
        return res
    with no_grad():
        kk = _window_argmax(win, pooled, win.ndim - 1)
        pos = None
        for i in reversed(range(nsp)):
            ki = _F.remainder(kk, k[i])
            kk = _F.floor_divide(kk, k[i])
            shape = [n, c] + [1] * nsp
            shape[2 + i] = out[i]
            coord = _F.add(_reshape(starts_all[i], tuple(shape)), ki)
            term = _F.mul(coord, int(np.prod(sizes[i + 1 :])) if i + 1 < nsp else 1)
            pos = term if pos is None else _F.add(pos, term)
        if not is_batched:
            pos = _F.squeeze(pos, 0)
    return res, pos


def _F_ratio(ratio, nsp):
    r = tuple(float(v) for v in ratio) if isinstance(ratio, (list, tuple)) else (float(ratio),) * nsp
    if len(r) == 1:
        r = r * nsp
    if not all(0 < v < 1 for v in r):
        raise ValueError(f"output_ratio must be between 0 and 1 (got {ratio})")
    return r


def fractional_max_pool2d(
    input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None
):
    """Fractional max pooling (Graham, 2014): windows at pseudo-random, monotone starts.

    ``_random_samples`` (N, C, 2) in [0, 1) fixes the starts (drawn with
    ``graphc.rand`` when absent); give ``output_size`` or ``output_ratio``.
    """
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2, "fractional_max_pool2d")


def fractional_max_pool3d(
    input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None
):
    """Fractional max pooling of volumes; ``_random_samples`` is (N, C, 3)."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3, "fractional_max_pool3d")


# ---------------------------------------------------------------- power-average pooling


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nsp, op):
    x = _arg(input, op)
    k = _ntuple(kernel_size, nsp, "kernel_size")
    p = float(norm_type)
    if nsp == 1:
        from_avg = _avg1d
    elif nsp == 2:
        from_avg = _avg2d
    else:
        from_avg = avg_pool3d
    if p in (float("inf"), float("-inf")):
        # The limits: the largest (smallest) magnitude in each window.
        pool = {1: _conv.max_pool1d, 2: _conv.max_pool2d, 3: max_pool3d}[nsp]
        a = _F.abs(x)
        return pool(a, k, stride, 0, 1, ceil_mode) if p > 0 else _F.neg(pool(_F.neg(a), k, stride, 0, 1, ceil_mode))
    out = from_avg(_F.pow(x, p), k, stride, 0, ceil_mode)
    kk = float(np.prod(k))
    return _F.pow(_F.mul(_F.mul(_F.sign(out), _F.relu(_F.abs(out))), kk), 1.0 / p)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over the window of x^p)^(1/p) over (N, C, L)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over the window of x^p)^(1/p) over (N, C, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over the window of x^p)^(1/p) over (N, C, D, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


def _avg1d(x, k, s, p, ceil_mode):
    return _conv.avg_pool1d(x, k, s, p, ceil_mode)


def _avg2d(x, k, s, p, ceil_mode):
    return _conv.avg_pool2d(x, k, s, p, ceil_mode)



def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool1d(..., return_indices=True)``: ``(values, indices)``."""
    return _conv.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool2d(..., return_indices=True)``: ``(values, indices)``."""
    return _conv.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool3d(..., return_indices=True)``: ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


def fractional_max_pool2d_with_indices(
    input, kernel_size, output_size=None, output_ratio=None, return_indices=True, _random_samples=None
):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(
    input, kernel_size, output_size=None, output_ratio=None, return_indices=True, _random_samples=None
):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
