"""Tensors made from arguments or from a layout: ``tril_indices``/``triu_indices``,
``meshgrid``, ``scalar_tensor``, ``empty_strided``/``empty_permuted``, ``fill``, ``zero_``,
``unravel_index``, ``nonzero_static`` (``nonzero`` with a fixed size, so it traces),
``constant_pad_nd`` and ``cosine_similarity`` (broadcast first, then normalized), plus the
Tensor-only ``resize_``/``resize_as_``/``new_empty_strided`` that :mod:`graphc._methods_ops`
binds."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided as _np_as_strided

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError, UnsupportedError
from ir.ops import broadcast_shapes, fmt_shape

from .._args import norm_dim
from .._dispatch import active_tracer, apply
from .._factories import _dtype_arg, _finish, _from_array, _shape_arg, arange, full, tensor
from .._inplace import zero_ as _zero_
from .._tensor import Tensor
from ._common import _promote, _tensor_arg, _to
from .elementwise import div, floor_divide, logical_and, lt, mul, remainder, sqrt
from .pointwise import clamp, where
from .reductions import cumsum, sum
from .shape import expand, permute, reshape

__all__ = [
    "tril_indices", "triu_indices", "meshgrid", "scalar_tensor", "empty_strided", "empty_permuted", "fill", "zero_",
    "unravel_index", "nonzero_static", "constant_pad_nd", "cosine_similarity",
]


def _tri_indices(np_fn, row, col, offset, dtype, device):
    dtype = _dtype_arg(dtype) or dt.int64
    if dtype not in (dt.int32, dt.int64):
        raise DTypeError(f"\"tril_indices\" not implemented for '{dtype.name.capitalize()}': expected int32 or int64")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got {row}" if row < 0 else f"col must be non-negative, got {col}")
    r, c = np_fn(row, offset, col)
    arr = np.stack([r, c]).astype(dtype.numpy_dtype).reshape(2, -1)
    return _finish(_from_array(arr, dtype), False, device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """[2, N] row and column indices of the lower triangle (``j - i <= offset``) of a
    ``row`` x ``col`` matrix, in row-major order."""
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """[2, N] row and column indices of the upper triangle (``j - i >= offset``)."""
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors (views by ``expand``): ``indexing="ij"`` (matrix,
    the default) or ``"xy"`` (Cartesian: the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    ts = []
    for t in tensors:
        t = _tensor_arg(t, "meshgrid")
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}-d")
        ts.append(reshape(t, (1,)) if t.ndim == 0 else t)
    if not ts:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    if len({t._dtype for t in ts}) > 1:
        raise DTypeError("torch.meshgrid: expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    order = [ts[1], ts[0]] + ts[2:] if swap else ts
    shape = tuple(t.shape[0] for t in order)
    grids = []
    for i, t in enumerate(order):
        view = [1] * len(order)
        view[i] = shape[i]
        grids.append(expand(reshape(t, tuple(view)), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A 0-d tensor holding ``s`` (the default float dtype unless ``dtype`` says otherwise)."""
    d = _dtype_arg(dtype) or dt.default_float()
    return full((), s, dtype=d, device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """An uninitialized (here: zeroed) tensor of ``size`` laid out with ``stride`` (elements)."""
    size, stride = tuple(_shape_arg((size,), "empty_strided")), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} and {len(stride)}")
    d = _dtype_arg(dtype) or dt.default_float()
    if active_tracer() is not None:
        return full(size, 0, dtype=d, device=device, requires_grad=requires_grad)
    extent = 1 + _total((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0
    buf = np.zeros(max(extent, 1), dtype=d.numpy_dtype)
    arr = _np_as_strided(buf, shape=size, strides=tuple(st * buf.itemsize for st in stride))
    return _finish(_from_array(arr, d), requires_grad, device)


def _total(xs):
    total = 0
    for v in xs:
        total += v
    return total


def empty_permuted(size, physical_layout, *, dtype=None, device=None, requires_grad=False, layout=None,
                   pin_memory=False):
    """An uninitialized (zeroed) tensor of ``size`` whose memory is ordered by ``physical_layout``
    (the dims from outermost to innermost)."""
    size, perm = tuple(_shape_arg((size,), "empty_permuted")), tuple(physical_layout)
    if sorted(perm) != list(range(len(size))):
        raise RuntimeError(f"empty_permuted: physical_layout {list(perm)} is not a permutation of {len(size)} dims")
    d = _dtype_arg(dtype) or dt.default_float()
    base = full(tuple(size[p] for p in perm), 0, dtype=d, device=device)
    inverse = [perm.index(i) for i in range(len(size))]
    out = permute(base, inverse)
    return out.requires_grad_(True) if requires_grad else out


def fill(input, value):
    """A new tensor shaped like ``input`` holding ``value`` (a number or a 0-d tensor), in its dtype."""
    x = _tensor_arg(input, "fill")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        return apply("copy", [expand(_to(value, x._dtype), tuple(x.shape))])
    return apply("full", [], shape=tuple(x.shape), dtype=x._dtype, value=value, _device=x._device)


def zero_(input):
    """Set every element of ``input`` to zero, in place."""
    return _zero_(_tensor_arg(input, "zero_"))


def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of each flat (row-major) index, one tensor per dim."""
    idx = indices if isinstance(indices, Tensor) else tensor(indices)
    if idx._dtype.is_floating_point or idx._dtype.is_bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx._dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    numel = math.prod(shape)
    if numel == 0 and idx.numel():
        raise IndexError("unravel_index: index out of bounds for an empty shape")
    flat = _to(idx, dt.int64)
    if numel:
        flat = remainder(flat, numel)
    out, stride = [], numel
    for s in shape:
        stride = stride // s if s else 0
        out.append(remainder(floor_divide(flat, stride), s) if s and stride else flat * 0)
    return tuple(out)


def nonzero_static(input, *, size, fill_value=-1):
    """The first ``size`` coordinates of nonzero elements as [size, ndim] int64, padded with
    ``fill_value`` (a fixed shape, so unlike ``nonzero`` it traces)."""
    x = _tensor_arg(input, "nonzero_static")
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    nd = x.ndim
    flat = reshape(x, (-1,)) if nd else reshape(x, (1,))
    mask = flat if flat._dtype.is_bool else apply("ne", [flat, apply("full", [], shape=(), dtype=flat._dtype, value=0,
                                                                       _device=x._device)])
    rank = cumsum(mask, 0) - 1  # the k-th nonzero goes to row k
    keep = logical_and(mask, lt(rank, size))
    target = where(keep, rank, size)  # everything else writes the spare row, dropped below
    coords = unravel_index(arange(flat.shape[0], device=x._device), tuple(x.shape)) if nd else ()
    cols = [reshape(c, (-1, 1)) for c in coords]
    values = apply("concat", cols, axis=1) if cols else apply("full", [], shape=(flat.shape[0], 0), dtype=dt.int64,
                                                              _device=x._device, value=0)
    base = apply("full", [], shape=(size + 1, nd), dtype=dt.int64, value=fill_value, _device=x._device)
    out = apply("index_copy", [base, target, values], axis=0) if flat.shape[0] else base
    return apply("slice", [out], starts=(0, 0), stops=(size, nd), steps=(1, 1))


def constant_pad_nd(input, pad, value=0):
    """Pad (or, with negative amounts, crop) the last dims: ``pad`` lists (before, after)
    pairs from the last dim backwards, filled with ``value``."""
    x = _tensor_arg(input, "constant_pad_nd")
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}" if len(pad) % 2 else
                           f"Length of pad should be no more than twice the number of dimensions of the input. "
                           f"Pad length is {len(pad)} while the input has {x.ndim} dimensions.")
    pads = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pads[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for (lo, hi), s in zip(pads, x.shape):
        if s + lo + hi < 0:
            raise ShapeError(f"constant_pad_nd: the padding {pad} makes a negative size from {fmt_shape(x.shape)}")
    return apply("pad", [x], pads=tuple(pads), value=value)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``, broadcasting them first;
    each norm is clamped to at least ``eps`` (PyTorch's formula: normalize, then dot)."""
    (a, b), _ = _promote(_tensor_arg(x1, "cosine_similarity"), _tensor_arg(x2, "cosine_similarity"))
    if not a._dtype.is_floating_point:
        a, b = _to(a, dt.default_float()), _to(b, dt.default_float())
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape), op="cosine_similarity")
    a, b = expand(a, shape), expand(b, shape)
    d = norm_dim(dim, len(shape), "cosine_similarity") if shape else 0
    if not shape:
        a, b, d = reshape(a, (1,)), reshape(b, (1,)), 0
    na = clamp(sqrt(sum(mul(a, a), d, keepdim=True)), min=eps)
    nb = clamp(sqrt(sum(mul(b, b), d, keepdim=True)), min=eps)
    r = sum(mul(div(a, na), div(b, nb)), d)
    return r if shape else reshape(r, ())


# ----------------------------------------------------------------------------
# Tensor-only layout methods (bound by graphc._methods_ops)


def _resize_(self: Tensor, *sizes, memory_format=None):
    """Give this tensor a new shape in place, keeping the first elements (new ones are zero)."""
    shape = tuple(_shape_arg(sizes, "resize_"))
    if self._node is not None or self._data is None:
        raise UnsupportedError("resize_ is not supported inside @graphc.compile (it changes a tensor's shape in place)")
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    n = math.prod(shape)
    if tuple(self.shape) == shape:
        return self
    flat = np.ascontiguousarray(self._host()).reshape(-1)
    if n <= flat.size and self.is_contiguous():
        data = self._data.reshape(-1)[:n].reshape(shape) if isinstance(self._data, np.ndarray) else None
    else:
        data = None
    if data is None:
        buf = np.zeros(n, dtype=flat.dtype)
        buf[: min(n, flat.size)] = flat[: min(n, flat.size)]
        data = buf.reshape(shape)
        if self._device.type != "cpu":
            data = _from_array(data, self._dtype).to(self._device)._data
    self._data = data
    self._version.value += 1
    return self


def _resize_as_(self: Tensor, other: Tensor, memory_format=None):
    """:meth:`resize_` to ``other``'s shape."""
    return _resize_(self, tuple(other.shape))


def _new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False):
    """:func:`empty_strided` with this tensor's dtype and device by default."""
    return empty_strided(size, stride, dtype=dtype or self._dtype, device=device or self._device,
                         requires_grad=requires_grad)

