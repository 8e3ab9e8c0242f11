"""Gathering and scattering along a dim: ``gather``, ``scatter``, ``index_select``,
``index_add``, ``index_copy``, ``take``. (``tensor[key]`` itself is in
:mod:`graphc._functional.getitem`.)"""

from __future__ import annotations

from ir.errors import ShapeError
from ir.ops import fmt_shape
from ir.ops.movement import contiguous_strides

from .._args import norm_dim
from .._dispatch import apply
from .._factories import arange, full, tensor
from .._tensor import Tensor
from ._common import _tensor_arg, _to
from .elementwise import add, mul
from .shape import _slice, expand, reshape

__all__ = [
    "gather", "scatter_add", "scatter", "full_like_index", "index_select", "index_add", "index_copy", "take",
]


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims)."""
    x = _tensor_arg(input, "gather")
    d = norm_dim(dim, x.ndim, "gather")
    if x.ndim == 0:
        return apply("reshape", [apply("gather", [reshape(x, (1,)), reshape(index, (1,))], axis=0)], shape=())
    return apply("gather", [x, index], axis=d)


def scatter_add(input, dim, index, src):
    x = _tensor_arg(input, "scatter_add")
    d = norm_dim(dim, x.ndim, "scatter_add")
    if tuple(src.shape) != tuple(index.shape):
        src = _slice_to(src, index.shape)
    return apply("scatter_add", [x, index, _to(src, x._dtype)], axis=d)


def _slice_to(x, shape):
    for d, s in enumerate(shape):
        if x.shape[d] != s:
            x = _slice(x, d, 0, s)
    return x


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (or ``value``) at ``index`` along ``dim`` (the last write wins on repeats)."""
    x = _tensor_arg(input, "scatter")
    if reduce == "add":
        return scatter_add(x, dim, index, src if src is not None else full_like_index(index, value, x))
    if reduce is not None:
        raise NotImplementedError(f"scatter(reduce={reduce!r}) is not implemented; use scatter_add")
    d = norm_dim(dim, x.ndim, "scatter")
    if src is None or not isinstance(src, Tensor):
        src = full_like_index(index, value if value is not None else src, x)
    src = _slice_to(_to(src, x._dtype), index.shape)
    # Flatten to one axis of positions so index_copy can write them.
    strides = contiguous_strides(x.shape)
    flat = None
    for axis, size in enumerate(index.shape):
        if axis == d:
            pos = index
        else:
            shp = [1] * index.ndim
            shp[axis] = size
            pos = reshape(arange(size, device=x._device), tuple(shp))
        term = mul(pos, strides[axis])
        flat = term if flat is None else add(flat, term)
    flat = reshape(expand(flat, tuple(index.shape)), (-1,))
    out = apply("index_copy", [reshape(x, (-1,)), flat, reshape(src, (-1,))], axis=0)
    return reshape(out, tuple(x.shape))


def full_like_index(index, value, x):
    return full(tuple(index.shape), value, dtype=x._dtype, device=x._device)


def index_select(input, dim, index):
    """Entries of ``input`` at ``index`` (1-d int tensor) along ``dim``."""
    x = _tensor_arg(input, "index_select")
    if not isinstance(index, Tensor):
        index = tensor(index)
    if index.ndim > 1:
        raise ShapeError(f"index_select(): Index is supposed to be a vector, got shape {fmt_shape(index.shape)}")
    d = norm_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        return apply("reshape", [apply("index_select", [reshape(x, (1,)), reshape(index, (-1,))], axis=0)], shape=())
    return apply("index_select", [x, reshape(index, (-1,))], axis=d)


def index_add(input, dim, index, source, *, alpha=1):
    x = _tensor_arg(input, "index_add")
    d = norm_dim(dim, x.ndim, "index_add")
    src = mul(source, alpha) if alpha != 1 else source
    return apply("index_add", [x, index, _to(src, x._dtype)], axis=d)


def index_copy(input, dim, index, source):
    x = _tensor_arg(input, "index_copy")
    d = norm_dim(dim, x.ndim, "index_copy")
    return apply("index_copy", [x, index, _to(source, x._dtype)], axis=d)


def take(input, index):
    return index_select(reshape(input, (-1,)), 0, reshape(index, (-1,))).reshape(tuple(index.shape))
