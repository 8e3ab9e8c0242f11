"""Indexed updates and reads beyond gather/scatter: ``scatter_reduce`` and ``index_reduce``
(the ``scatter_reduce`` row, with ``mean`` and ``include_self=False`` composed here),
``index_fill``, ``index_put`` (with ``accumulate``), ``masked_scatter``, ``put``,
``take_along_dim`` and ``repeat_interleave`` with a tensor of repeats.

All are out of place and built from index rows, so they differentiate and trace;
``masked_scatter`` finds each masked element's source by a running count of the mask, and
``repeat_interleave`` finds each output's source by comparing with the running total of the
repeats (its length must be known: ``output_size``, or eagerly from the values).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops import broadcast_shapes, fmt_shape

from .._args import norm_dim
from .._dispatch import apply
from .._factories import arange, tensor
from .._tensor import Tensor
from ._common import _tensor_arg, _to
from .elementwise import add, div, floor_divide, gt, mul, sub
from .indexing import _as_1d, _slice_to, gather, index_select
from .layout import clone
from .pointwise import clamp, where
from .reductions import cumsum, sum
from .shape import _reshape_copy, expand, flatten, reshape, unsqueeze
from .sorting import nonzero

__all__ = [
    "scatter_reduce", "index_reduce", "index_fill", "index_put", "masked_scatter", "put", "take_along_dim",
    "repeat_interleave",
]

_IDENTITY = {"sum": 0, "prod": 1, "mean": 0}


def _identity(reduce, dtype):
    if reduce in _IDENTITY:
        return _IDENTITY[reduce]
    if dtype.is_floating_point:
        return -math.inf if reduce == "amax" else math.inf
    info = np.iinfo(dtype.numpy_dtype)
    return int(info.min) if reduce == "amax" else int(info.max)


def _reduce_into(name, x, d, index, src, reduce, include_self):
    """``x`` with ``src`` combined in at ``index`` (same shape as ``src``) along ``d``."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"{name}(): reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    src = _to(src, x._dtype)
    ones = apply("full", [], shape=tuple(index.shape), dtype=x._dtype, value=1, _device=x._device)
    zeros = apply("full", [], shape=tuple(x.shape), dtype=x._dtype, value=0, _device=x._device)
    count = apply("scatter_add", [zeros, index, ones], axis=d)  # how many values land in each slot
    hit = gt(count, 0)
    base = x
    if not include_self:
        base = where(hit, _identity(reduce, x._dtype), x)
    row = "sum" if reduce == "mean" else reduce
    out = apply("scatter_reduce", [base, index, src], axis=d, reduce=row)
    if reduce == "mean":
        n = add(count, 1) if include_self else where(hit, count, 1)
        out = div(out, n) if x._dtype.is_floating_point else floor_divide(out, n)
    return out


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with ``src`` reduced into the positions ``index`` gives along ``dim``:
    ``reduce`` is ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``; with
    ``include_self=False`` the input's own values at those positions are left out."""
    x = _tensor_arg(input, "scatter_reduce")
    if index.numel() == 0:  # PyTorch returns before its shape checks
        return clone(x)
    if x.ndim == 0 or index.ndim == 0:
        out = scatter_reduce(_as_1d(x), dim if x.ndim else 0, _as_1d(index), _as_1d(src), reduce,
                             include_self=include_self)
        return reshape(out, tuple(x.shape))
    d = norm_dim(dim, x.ndim, "scatter_reduce")
    if src._dtype is not x._dtype:
        raise DTypeError(f"scatter_reduce(): Expected self.dtype to be equal to src.dtype, got {x._dtype} and {src._dtype}")
    return _reduce_into("scatter_reduce", x, d, index, _slice_to(src, index.shape), reduce, include_self)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``input`` with the slices of ``source`` reduced into the slices ``index`` (1-d) picks
    along ``dim``: ``reduce`` is ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``."""
    x = _tensor_arg(input, "index_reduce")
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    xs = _as_1d(x)
    d = norm_dim(dim, xs.ndim, "index_reduce")
    idx = reshape(index, (-1,))
    src = _as_1d(source) if source.ndim == 0 else source
    want = tuple(xs.shape[:d]) + (idx.shape[0],) + tuple(xs.shape[d + 1 :])
    if tuple(src.shape) != want:
        raise ShapeError(f"index_reduce(): source of shape {fmt_shape(src.shape)} does not fit the indexed shape "
                         f"{fmt_shape(want)}")
    view = [1] * xs.ndim
    view[d] = idx.shape[0]
    full_idx = expand(reshape(idx, tuple(view)), want)
    out = _reduce_into("index_reduce", xs, d, full_idx, src, reduce, include_self)
    return reshape(out, tuple(x.shape))


def index_fill(input, dim, index, value):
    """``input`` with the slices ``index`` picks along ``dim`` set to ``value`` (a number or 0-d tensor)."""
    x = _tensor_arg(input, "index_fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} "
                         "dimension(s).")
    xs = _as_1d(x)
    d = norm_dim(dim, xs.ndim, "index_fill")
    idx = reshape(index if isinstance(index, Tensor) else tensor(index), (-1,))
    idx = where(idx < 0, add(idx, xs.shape[d]), idx)  # negative entries count from the end (PyTorch)
    want = tuple(xs.shape[:d]) + (idx.shape[0],) + tuple(xs.shape[d + 1 :])
    v = _to(value, x._dtype) if isinstance(value, Tensor) else apply(
        "full", [], shape=(), dtype=x._dtype, value=value, _device=x._device)
    out = apply("index_copy", [xs, idx, expand(v, want)], axis=d)
    return reshape(out, tuple(x.shape))


def _flat_positions(x, indices):
    """Flat positions (row-major) addressed by a tuple of index tensors for the leading dims,
    broadcast together, and the shape of one addressed slice (the remaining dims)."""
    # a bool mask stands for the coordinates of its True entries, one index per dim it covers
    # (PyTorch's rule; the positions depend on the values, so this runs eagerly)
    expanded = []
    for i in indices:
        i = i if isinstance(i, Tensor) else tensor(i)
        if i._dtype.is_bool or i._dtype is dt.uint8:
            if i.ndim == 0:
                raise IndexError("index_put: a 0-d bool index is not supported; use masked_fill or where")
            k = len(expanded)
            if tuple(i.shape) != tuple(x.shape[k : k + i.ndim]):
                raise IndexError(f"index_put: the shape of the mask {list(i.shape)} does not match the shape of the "
                                 f"indexed tensor {list(x.shape)} at index {k}")
            expanded.extend(nonzero(_to(i, dt.bool_), as_tuple=True))
        else:
            expanded.append(i)
    indices = tuple(expanded)
    if len(indices) > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {len(indices)})")
    idx = []
    for k, i in enumerate(indices):
        if i._dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        size = x.shape[k]
        idx.append(where(i < 0, add(i, size), i))  # negative indices count from the end
    shape = broadcast_shapes(*(tuple(i.shape) for i in idx), op="index_put")
    rest = tuple(x.shape[len(idx):])
    inner = math.prod(rest)
    flat = None
    for k, i in enumerate(idx):
        stride = math.prod(x.shape[k + 1 : len(idx)])
        term = mul(_to(i, dt.int64), stride)
        flat = term if flat is None else add(flat, term)
    flat = expand(flat, shape)
    if inner != 1 or rest:
        flat = add(mul(unsqueeze(reshape(flat, (-1,)), -1), inner), arange(inner, device=x._device))
    return reshape(flat, (-1,)), shape + rest


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``values`` (broadcast) written, or added with ``accumulate``, at the
    positions the tuple of index tensors ``indices`` selects (``x[indices] = values``)."""
    x = _tensor_arg(input, "index_put")
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be a tuple of Tensors")
    if x.ndim == 0:
        return reshape(index_put(reshape(x, (1,)), tuple(reshape(i, (-1,)) for i in indices), values, accumulate), ())
    pos, shape = _flat_positions(x, tuple(indices))
    v = values if isinstance(values, Tensor) else tensor(values, dtype=x._dtype)
    try:
        v = expand(_to(v, x._dtype), shape)
    except ShapeError:
        raise ShapeError(f"shape mismatch: value tensor of shape {fmt_shape(v.shape)} cannot be broadcast to indexing "
                         f"result of shape {fmt_shape(shape)}") from None
    flat = reshape(x, (-1,))
    out = apply("index_add" if accumulate else "index_copy", [flat, pos, reshape(v, (-1,))], axis=0)
    return reshape(out, tuple(x.shape))


def masked_scatter(input, mask, source):
    """``input`` with the elements where ``mask`` (broadcast) is True replaced, in row-major
    order, by the first elements of ``source``."""
    x = _tensor_arg(input, "masked_scatter")
    m = _tensor_arg(mask, "masked_scatter")
    if not m._dtype.is_bool:
        raise DTypeError(f"masked_scatter_: expected BoolTensor for mask, got {m._dtype}")
    if source._dtype is not x._dtype:
        raise DTypeError(f"masked_scatter: expected self and source to have same dtypes but got {x._dtype} and "
                         f"{source._dtype}")
    shape = broadcast_shapes(tuple(x.shape), tuple(m.shape), op="masked_scatter")
    if shape != tuple(x.shape):
        raise ShapeError(f"masked_scatter: the mask {fmt_shape(m.shape)} must broadcast to the input {fmt_shape(x.shape)}")
    flat_mask = reshape(expand(m, shape), (-1,))
    src = reshape(source, (-1,))
    if m._data is not None and src._data is not None:
        need = int(flat_mask.sum())
        if need > src.shape[0]:
            raise RuntimeError(f"masked_scatter: expected source to have at least {need} elements (the number of True "
                               f"elements of the mask), got {src.shape[0]}")
    if src.shape[0] == 0:
        return apply("copy", [x])
    order = sub(cumsum(flat_mask, 0), 1)  # the k-th True takes source[k]
    picked = index_select(src, 0, clamp(order, 0, src.shape[0] - 1))
    return reshape(where(flat_mask, picked, reshape(x, (-1,))), tuple(x.shape))


def put(input, index, source, accumulate=False):
    """``input`` with ``source`` written (or added) at the flat positions ``index`` (as if
    the input were 1-d); negative positions count from the end."""
    x = _tensor_arg(input, "put")
    n = x.numel()
    idx = reshape(index, (-1,))
    if idx._data is not None and idx.numel():
        lo, hi = int(idx.min()), int(idx.max())
        if hi >= n or lo < -n:
            bad = hi if hi >= n else lo
            raise IndexError(f"put_(): Expected a valid index: got {bad} for a tensor of {n} elements")
    idx = where(idx < 0, add(idx, n), idx)
    src = reshape(_to(source, x._dtype), (-1,))
    if src.shape[0] != idx.shape[0]:
        raise ShapeError(f"put_(): Expected source and index to have the same number of elements, but got source of "
                         f"{src.shape[0]} and index of {idx.shape[0]}")
    out = apply("index_add" if accumulate else "index_copy", [reshape(x, (-1,)), idx, src], axis=0)
    return reshape(out, tuple(x.shape))


def take_along_dim(input, indices, dim=None, *, out=None):
    """``gather`` with broadcasting: the values at ``indices`` along ``dim`` (of the flattened
    input when ``dim`` is None)."""
    x = _tensor_arg(input, "take_along_dim")
    if not isinstance(indices, Tensor) or indices._dtype.is_floating_point or indices._dtype.is_bool:
        raise DTypeError("torch.take_along_dim(): dtype of indices should be int64")
    if dim is None:
        return gather(flatten(x), 0, reshape(indices, (-1,)))
    if x.ndim != indices.ndim:
        raise ShapeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, but "
                         f"got {x.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    d = norm_dim(dim, x.ndim, "take_along_dim")
    xs, ish = list(x.shape), list(indices.shape)
    xs[d] = ish[d] = 1
    shape = broadcast_shapes(tuple(xs), tuple(ish), op="take_along_dim")
    xe = expand(x, tuple(s if i != d else x.shape[d] for i, s in enumerate(shape)))
    ie = expand(indices, tuple(s if i != d else indices.shape[d] for i, s in enumerate(shape)))
    return gather(xe, d, ie)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or slice along ``dim``) ``repeats`` times: an int, or a tensor with
    one count per element. With a single tensor argument, its indices repeated by its values."""
    if repeats is None:
        counts = _tensor_arg(input, "repeat_interleave")
        return repeat_interleave(arange(counts.shape[0], device=counts._device), counts, 0, output_size=output_size)
    x = _tensor_arg(input, "repeat_interleave")
    if dim is None:
        x, dim = flatten(x), 0
    d = norm_dim(dim, x.ndim, "repeat_interleave") if x.ndim else 0
    if not isinstance(repeats, Tensor) or repeats.numel() == 1 and repeats.ndim <= 1 and x.shape[d] != 1:
        r = int(repeats.item()) if isinstance(repeats, Tensor) else int(repeats)
        if r < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        shape = list(x.shape)
        target = shape[: d + 1] + [r] + shape[d + 1 :]
        shape[d] *= r
        return _reshape_copy(expand(unsqueeze(x, d + 1), tuple(target)), tuple(shape))
    reps = reshape(repeats, (-1,))
    if reps._dtype.is_floating_point or reps._dtype.is_bool:
        raise DTypeError(f"repeat_interleave: repeats must be an integer tensor, got {reps._dtype}")
    if reps.shape[0] != x.shape[d]:
        raise ShapeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                         f"{reps.shape[0]} and input.size({d}) = {x.shape[d]}")
    if output_size is None:
        reps._need_data("repeat_interleave")  # the result's length is the sum of the repeats
        if reps.numel() and int(reps.min()) < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        output_size = int(reps.sum()) if reps.numel() else 0
    ends = cumsum(_to(reps, dt.int64), 0)  # output j comes from the first i with j < ends[i]
    j = arange(output_size, device=x._device)
    src = sum(_to(gt(unsqueeze(j, 1), sub(unsqueeze(ends, 0), 1)), dt.int64), 1)
    return index_select(x, d, clamp(src, 0, builtins.max(x.shape[d] - 1, 0)))
