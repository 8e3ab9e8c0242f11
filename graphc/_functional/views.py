"""More views and their relatives: ``as_strided``, ``Tensor.unfold`` (both view rows of
``ir/ops/windows.py``), the ``*_copy`` forms PyTorch gives every view, the ``*_scatter``
inverses (the input with a view's elements replaced, out of place), splitting by sizes and by
axis (``hsplit``...), stacking by axis (``column_stack``, ``dstack``), ``atleast_*d``,
``ravel``, ``rot90``, ``diag_embed``/``diagflat`` and ``sum_to_size``.

The scatters are ``index_copy`` over the positions a view reads, so they differentiate (to the
input outside the view, to ``src`` inside it) and trace like any op.
"""

from __future__ import annotations

import builtins
import math

from ir import dtypes as dt
from ir.errors import ShapeError, UnsupportedError
from ir.ops import fmt_shape

from .._args import norm_dim
from .._dispatch import apply
from .._factories import _shape_arg, arange
from .._tensor import Tensor
from ._common import _tensor_arg, _to
from .elementwise import add, mul
from .joining import cat, chunk, hstack, split, tensor_split, unbind
from .layout import clone
from .linalg import diagonal
from .reductions import _sum_dtype
from .shape import (
    expand,
    flatten,
    flip,
    movedim,
    narrow,
    permute,
    reshape,
    squeeze,
    t,
    transpose,
    unsqueeze,
    view,
)

__all__ = [
    "as_strided", "as_strided_copy", "as_strided_scatter", "unfold_copy", "alias_copy", "diagonal_copy",
    "expand_copy", "narrow_copy", "permute_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy",
    "unsqueeze_copy", "view_copy", "split_with_sizes", "split_with_sizes_copy", "unsafe_split", "unsafe_chunk",
    "hsplit", "vsplit", "dsplit", "column_stack", "dstack", "atleast_1d", "atleast_2d", "atleast_3d", "ravel",
    "select_scatter", "slice_scatter", "diagonal_scatter", "diag_embed", "diagflat", "rot90", "sum_to_size",
]


# ----------------------------------------------------------------------------
# the strided view rows


def _layout(x: Tensor):
    """(strides, storage offset) of ``x``; a tracer's are the ones eager would have."""
    if x._data is None:
        lay = x._trace.layout(x)
        if lay is None:
            return tuple(x.stride()), 0
        return tuple(lay[0]), lay[1] if len(lay) > 1 else 0
    return tuple(x.stride()), x.storage_offset()


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes, strides and offset (in elements).

    As in PyTorch the strides address the storage, not the tensor's logical order, and the
    offset defaults to the input's own. Overlapping windows are allowed; the gradient adds
    each output's gradient back to the element it read (the input must then be contiguous).
    """
    x = _tensor_arg(input, "as_strided")
    size, stride = tuple(_shape_arg((size,), "as_strided")), tuple(int(s) for s in stride)
    strides, offset = _layout(x)
    if x.requires_grad and not x.is_contiguous():
        raise UnsupportedError(
            f"as_strided: the gradient through a view of a non-contiguous input (shape {fmt_shape(x.shape)}, "
            f"strides {strides}) is not supported; call .contiguous() first"
        )
    off = offset if storage_offset is None else int(storage_offset)
    return apply("as_strided", [x], size=size, stride=stride, offset=off, in_offset=offset)


def _tensor_unfold(input, dimension, size, step):
    """``Tensor.unfold``: windows of ``size`` every ``step`` along ``dimension`` (a view; the
    window elements form a new last dim)."""
    x = _tensor_arg(input, "unfold")
    d = norm_dim(dimension, x.ndim, "unfold") if x.ndim else norm_dim(dimension, 1, "unfold")
    return apply("unfold", [x], dim=d, size=int(size), step=int(step))


def _copy(v):
    return apply("copy", [v])


def as_strided_copy(input, size, stride, storage_offset=None):
    return _copy(as_strided(input, size, stride, storage_offset))


def unfold_copy(input, dimension, size, step):
    return _copy(_tensor_unfold(input, dimension, size, step))


def alias_copy(input):
    return _copy(_tensor_arg(input, "alias_copy"))


def diagonal_copy(input, offset=0, dim1=0, dim2=1):
    return _copy(diagonal(input, offset, dim1, dim2))


def expand_copy(input, size, *, implicit=False):
    return _copy(expand(input, tuple(size)))


def narrow_copy(input, dim, start, length):
    return _copy(narrow(input, dim, start, length))


def permute_copy(input, dims):
    return _copy(permute(input, tuple(dims)))


def squeeze_copy(input, dim=None):
    return _copy(squeeze(input, dim))


def t_copy(input):
    return _copy(t(input))


def transpose_copy(input, dim0, dim1):
    return _copy(transpose(input, dim0, dim1))


def unbind_copy(input, dim=0):
    return tuple(_copy(v) for v in unbind(input, dim))


def unsqueeze_copy(input, dim):
    return _copy(unsqueeze(input, dim))


def view_copy(input, *shape):
    x = _tensor_arg(input, "view_copy")
    if len(shape) == 1 and isinstance(shape[0], dt.DType):
        return _to(x, shape[0])
    return _copy(reshape(x, *shape))


# ----------------------------------------------------------------------------
# splitting and stacking


def split_with_sizes(input, split_sizes, dim=0):
    """Pieces of the listed sizes along ``dim`` (they must add up to the dim's size)."""
    return split(input, [int(s) for s in split_sizes], dim)


def split_with_sizes_copy(input, split_sizes, dim=0):
    return tuple(_copy(v) for v in split_with_sizes(input, split_sizes, dim))


def unsafe_split(input, split_size, dim=0):
    return split(input, split_size, dim)


def unsafe_chunk(input, chunks, dim=0):
    return chunk(input, chunks, dim)


def _split_by(name, input, indices_or_sections, dim, min_ndim):
    x = _tensor_arg(input, name)
    if x.ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension, but got a tensor with "
                           f"{x.ndim} dimensions!")
    if isinstance(indices_or_sections, int):
        n = x.shape[dim]
        if indices_or_sections == 0 or n % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{n} is not divisible by the split_size {indices_or_sections}!")
    return tensor_split(x, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-d tensors)."""
    x = _tensor_arg(input, "hsplit")
    return _split_by("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0, 1)


def vsplit(input, indices_or_sections):
    """Split along dim 0 (at least 2-d)."""
    return _split_by("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """Split along dim 2 (at least 3-d)."""
    return _split_by("dsplit", input, indices_or_sections, 2, 3)


def _tensors(tensors, name):
    ts = list(tensors)
    if not ts:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return [_tensor_arg(t, name) for t in ts]


def column_stack(tensors, *, out=None):
    """Stack as columns: 0-d and 1-d tensors become columns, others join along dim 1."""
    ts = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in _tensors(tensors, "column_stack")]
    return hstack(ts) if out is None else cat(ts, 1, out=out)


def dstack(tensors, *, out=None):
    """Stack along the third dim (after making each at least 3-d)."""
    return cat(list(atleast_3d(_tensors(tensors, "dstack"))), 2, out=out)


def _atleast(n, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
        many = True
    else:
        many = len(tensors) != 1
    out = []
    for item in tensors:
        x = _tensor_arg(item, f"atleast_{n}d")
        if x.ndim < n:
            if n == 1 or x.ndim == 0:
                shape = (1,) * n
            elif n == 2:
                shape = (1,) + tuple(x.shape)
            else:
                shape = (1,) + tuple(x.shape) + (1,) if x.ndim == 1 else tuple(x.shape) + (1,)
            x = reshape(x, shape)
        out.append(x)
    return tuple(out) if many else out[0]


def atleast_1d(*tensors):
    """The tensor(s) with at least one dim (0-d becomes [1])."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """The tensor(s) with at least two dims (1-d [n] becomes [1, n])."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """The tensor(s) with at least three dims ([n] -> [1, n, 1], [m, n] -> [m, n, 1])."""
    return _atleast(3, tensors)


def ravel(input):
    """The elements as a 1-d tensor (a view when the layout allows)."""
    return flatten(_tensor_arg(input, "ravel"))


# ----------------------------------------------------------------------------
# scatters: the input with a view's elements replaced


def _place(name, x, d, positions, src, want):
    """``x`` with ``src`` written at ``positions`` (a 1-d int64 tensor) along dim ``d``."""
    src = _tensor_arg(src, name)
    if tuple(src.shape) != tuple(want):
        raise ShapeError(f"{name}: expected src to have a size equal to the slice of self. src size = "
                         f"{fmt_shape(src.shape)}, slice size = {fmt_shape(want)}")
    return apply("index_copy", [x, positions, _to(src, x._dtype)], axis=d)


def select_scatter(input, src, dim, index):
    """``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    x = _tensor_arg(input, "select_scatter")
    d = norm_dim(dim, x.ndim, "select_scatter")
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(x.shape)} at dimension {d}")
    want = tuple(x.shape[:d]) + tuple(x.shape[d + 1 :])
    s = _tensor_arg(src, "select_scatter")
    if tuple(s.shape) != want:
        raise ShapeError(f"select_scatter: expected src to have a size equal to the slice of self. src size = "
                         f"{fmt_shape(s.shape)}, slice size = {fmt_shape(want)}")
    pos = arange(index % n, index % n + 1, device=x._device)
    return _place("select_scatter", x, d, pos, unsqueeze(s, d), tuple(x.shape[:d]) + (1,) + want[d:])


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``."""
    x = _tensor_arg(input, "slice_scatter")
    d = norm_dim(dim, x.ndim, "slice_scatter")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    lo, hi, _ = slice(start, end, step).indices(x.shape[d])
    pos = arange(lo, builtins.max(hi, lo), step, device=x._device)
    want = tuple(x.shape[:d]) + (pos.shape[0],) + tuple(x.shape[d + 1 :])
    return _place("slice_scatter", x, d, pos, src, want)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    x = _tensor_arg(input, "diagonal_scatter")
    d1, d2 = norm_dim(dim1, x.ndim, "diagonal_scatter"), norm_dim(dim2, x.ndim, "diagonal_scatter")
    moved = movedim(x, (d1, d2), (-2, -1))
    n, m = moved.shape[-2], moved.shape[-1]
    k = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
    rows = arange(k, device=x._device)
    rows, cols = (rows, add(rows, offset)) if offset >= 0 else (add(rows, -offset), rows)
    flat = reshape(moved, tuple(moved.shape[:-2]) + (n * m,))
    want = tuple(moved.shape[:-2]) + (k,)
    out = _place("diagonal_scatter", flat, flat.ndim - 1, add(mul(rows, m), cols), src, want)
    return movedim(reshape(out, tuple(moved.shape)), (-2, -1), (d1, d2))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """``input`` (as a contiguous copy) with its ``as_strided`` view replaced by ``src``."""
    x = _tensor_arg(input, "as_strided_scatter")
    size, stride = tuple(size), tuple(stride)
    off = 0 if storage_offset is None else int(storage_offset)
    pos = None
    for axis, (s, st) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = s
        term = reshape(mul(arange(s, device=x._device), st), tuple(shape))
        pos = term if pos is None else add(pos, term)
    pos = reshape(expand(add(pos, off), size) if pos is not None else arange(off, off + 1, device=x._device), (-1,))
    numel = x.numel()
    if pos.numel() and (int(pos.max()) >= numel if pos._data is not None else False):
        raise ShapeError(f"as_strided_scatter: size {list(size)}, stride {list(stride)} and offset {off} reach past "
                         f"the {numel} elements of the input")
    s = _tensor_arg(src, "as_strided_scatter")
    if tuple(s.shape) != size:
        raise ShapeError(f"as_strided_scatter: expected src to have the view's size {fmt_shape(size)}, got {fmt_shape(s.shape)}")
    flat = reshape(x, (numel,))
    out = apply("index_copy", [flat, pos, _to(reshape(s, (-1,)), x._dtype)], axis=0)
    return reshape(out, tuple(x.shape))


# ----------------------------------------------------------------------------
# diagonals, rotation, sum_to_size


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose ``offset`` diagonal (in dims ``dim1``, ``dim2`` of the result) holds the
    last dim of ``input``; zeros elsewhere."""
    x = _tensor_arg(input, "diag_embed")
    nd = x.ndim + 1
    d1, d2 = norm_dim(dim1, nd, "diag_embed"), norm_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    k = x.shape[-1] if x.ndim else 1
    n = k + builtins.abs(offset)
    batch = tuple(x.shape[:-1])
    zeros = apply("full", [], shape=batch + (n * n,), dtype=x._dtype, value=0, _device=x._device)
    rows = arange(k, device=x._device)
    rows, cols = (rows, add(rows, offset)) if offset >= 0 else (add(rows, -offset), rows)
    placed = apply("index_copy", [zeros, add(mul(rows, n), cols), reshape(x, batch + (k,))], axis=len(batch))
    square = reshape(placed, batch + (n, n))
    return movedim(square, (-2, -1), (d1, d2))


def diagflat(input, offset=0):
    """A 2-d matrix with the flattened input on its ``offset`` diagonal."""
    x = _tensor_arg(input, "diagflat")
    return diag_embed(reshape(x, (-1,)), offset)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    x = _tensor_arg(input, "rot90")
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = (norm_dim(d, x.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return transpose(flip(x, (d1,)), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return flip(transpose(x, d0, d1), (d1,))
    return clone(x)


def sum_to_size(input, *size):
    """Sum ``input`` down to ``size`` (a shape it broadcasts from)."""
    x = _tensor_arg(input, "sum_to_size")
    shape = tuple(_shape_arg(size, "sum_to_size"))
    lead = x.ndim - len(shape)
    ok = lead >= 0 and all(s == 1 or s == x.shape[lead + i] for i, s in enumerate(shape))
    if not ok:
        raise ShapeError(f"size {{{', '.join(str(s) for s in shape)}}} is not expandable to size "
                         f"{{{', '.join(str(s) for s in x.shape)}}}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    if not axes:
        return x
    r = apply("sum", [_sum_dtype(x, None)], axes=axes, keepdim=True)  # ints and bools sum to int64
    return view(r, shape) if math.prod(r.shape) == math.prod(shape) else r
