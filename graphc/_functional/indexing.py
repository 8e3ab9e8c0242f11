"""Gathering and scattering along a dim: ``gather``, ``scatter``, ``index_select``,
``index_add``, ``index_copy``, ``take``. (``tensor[key]`` itself is in
:mod:`graphc._functional.getitem`.)"""

from __future__ import annotations

import math

import numpy as np

from ir.errors import DTypeError, ShapeError
from ir.ops import fmt_shape
from ir.ops.movement import contiguous_strides

from .._args import norm_dim
from .._dispatch import apply
from .._factories import arange, full, tensor
from .._tensor import Tensor
from ._common import _tensor_arg, _to
from .elementwise import add, lt, mul
from .layout import clone
from .shape import _slice, expand, reshape

__all__ = [
    "gather", "scatter_add", "scatter", "full_like_index", "index_select", "index_add", "index_copy", "take",
]


def _as_1d(x: Tensor) -> Tensor:
    return reshape(x, (1,)) if x.ndim == 0 else x


def _checked_index(idx: Tensor, size: int, op: str, dim: int = 0, *, wrap: bool = False) -> Tensor:
    """``idx`` (an integer tensor) after checking every entry lies in ``[0, size)``.

    With ``wrap`` (where PyTorch wraps: ``x[idx]``, ``take``) ``[-size, size)`` is allowed and
    negative entries count from the end. Eagerly the values are checked now and the
    IndexError names ``op``. A tracer has no values: its entries pass through an
    ``index_select`` of ``arange(size)``, which returns them unchanged and whose row refuses
    an out-of-range entry when the compiled program runs. Callers that combine indices
    into flat positions (``scatter``, multi-dim advanced indexing, ``one_hot``) need this:
    a bad index there would otherwise land on a valid position and give a wrong answer.
    """
    if not idx._dtype.is_integer:
        raise IndexError(f"{op}: tensors used as indices must be long or int tensors, got {idx._dtype}")
    data = idx._data
    if isinstance(data, np.ndarray):
        if data.size:
            lo, hi = int(data.min()), int(data.max())
            if hi >= size or lo < (-size if wrap else 0):
                bad = hi if hi >= size else lo
                prefix = f"{op}: " if op else ""
                raise IndexError(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")
            if wrap and lo < 0:
                idx = _wrapped(idx, size)
        return idx
    if data is not None:  # a device tensor: its backend checks bounds in the kernel
        return _wrapped(idx, size) if wrap else idx
    if wrap:
        idx = _wrapped(idx, size)
    positions = arange(size, dtype=idx._dtype, device=idx._device)
    return reshape(apply("index_select", [positions, reshape(idx, (-1,))], axis=0), tuple(idx.shape))


def _wrapped(idx: Tensor, size: int) -> Tensor:
    """Negative entries of ``idx`` counted from the end (``idx + size``)."""
    return apply("where", [lt(idx, 0), add(idx, size), idx])


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims). A 0-d input
    or index counts as one element along ``dim`` (PyTorch's rule); the result has the index's shape."""
    x = _tensor_arg(input, "gather")
    d = norm_dim(dim, x.ndim, "gather") if x.ndim else norm_dim(dim, 1, "gather")
    if index.numel() == 0:  # PyTorch returns before its shape checks
        return reshape(apply("gather", [reshape(x, (-1,)), reshape(index, (-1,))], axis=0), tuple(index.shape))
    if x.ndim == 0 or index.ndim == 0:
        out = apply("gather", [_as_1d(x), _as_1d(index)], axis=0 if x.ndim <= 1 else d)
        return reshape(out, tuple(index.shape))
    return apply("gather", [x, index], axis=d)


def scatter_add(input, dim, index, src):
    x = _tensor_arg(input, "scatter_add")
    if isinstance(src, Tensor) and src._dtype is not x._dtype:
        raise DTypeError(f"scatter(): Expected self.dtype to be equal to src.dtype ({x._dtype} and {src._dtype})")
    d = norm_dim(dim, x.ndim, "scatter_add") if x.ndim else norm_dim(dim, 1, "scatter_add")
    if index.numel() == 0:  # PyTorch returns before its shape checks
        return clone(x)
    if x.ndim == 0 or index.ndim == 0:
        out = scatter_add(_as_1d(x), d if x.ndim else 0, _as_1d(index), _as_1d(src) if src.ndim == 0 else src)
        return reshape(out, tuple(x.shape))
    if tuple(src.shape) != tuple(index.shape):
        src = _slice_to(src, index.shape)
    return apply("scatter_add", [x, index, _to(src, x._dtype)], axis=d)


def _slice_to(x, shape):
    for d, s in enumerate(shape):
        if x.shape[d] != s:
            x = _slice(x, d, 0, s)
    return x


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (or ``value``) at ``index`` along ``dim`` (the last write wins on repeats);
    ``reduce="add"`` or ``"multiply"`` combines with the existing values instead."""
    x = _tensor_arg(input, "scatter")
    if not isinstance(index, Tensor):
        raise TypeError(f"scatter(): argument 'index' must be Tensor, not {type(index).__name__}")
    if src is None or not isinstance(src, Tensor):
        src = full_like_index(index, value if value is not None else src, x)
    if index.numel() == 0:  # PyTorch returns before its shape checks
        return clone(x)
    if x.ndim == 0 or index.ndim == 0:
        src1 = _as_1d(src) if src.ndim == 0 else src
        return reshape(scatter(_as_1d(x), dim if x.ndim else 0, _as_1d(index), src1, reduce=reduce), tuple(x.shape))
    d = norm_dim(dim, x.ndim, "scatter")
    _check_scatter_shapes(x, d, index, src, "scatter")
    index = _checked_index(index, x.shape[d], "scatter", d)
    if reduce == "add":
        return scatter_add(x, dim, index, src)
    if reduce == "multiply":
        return apply("scatter_reduce", [x, index, _to(_slice_to(src, index.shape), x._dtype)], axis=d, reduce="prod")
    if reduce is not None:
        raise ValueError(f"reduce argument must be either add or multiply, got {reduce!r}")
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


def _check_scatter_shapes(x, d, index, src, op):
    """PyTorch's scatter shape rule: index has x's dims, and outside ``d`` it is no larger than
    ``x`` (positions beyond would fall on the next row of the flat layout) nor than ``src``."""
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError(f"{op}: index {fmt_shape(index.shape)} must have as many dims as self {fmt_shape(x.shape)}")
    src_shape = tuple(src.shape) if isinstance(src, Tensor) else None
    for a, n in enumerate(index.shape):
        too_big = (a != d and n > x.shape[a]) or (src_shape is not None and a < len(src_shape) and n > src_shape[a])
        if too_big:
            raise RuntimeError(
                f"{op}: expected index {fmt_shape(index.shape)} to be no larger than self {fmt_shape(x.shape)} apart "
                f"from dimension {d}" + (f" and no larger than src {fmt_shape(src_shape)}" if src_shape is not None else "")
            )


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


def _index_update_args(name, x, dim, index, source):
    """PyTorch's 0-d forms: a 0-d input, index or source counts as one element along ``dim``."""
    d = norm_dim(dim, x.ndim, name) if x.ndim else norm_dim(dim, 1, name)
    if not isinstance(index, Tensor):
        index = tensor(index)
    idx = reshape(index, (-1,))
    src = source if isinstance(source, Tensor) else tensor(source, dtype=x._dtype)
    xs = _as_1d(x)
    want = tuple(xs.shape[:d]) + (idx.shape[0],) + tuple(xs.shape[d + 1 :])
    if tuple(src.shape) != want and src.numel() == math.prod(want) and (src.ndim == 0 or x.ndim == 0):
        src = reshape(src, want)
    return xs, d, idx, _to(src, x._dtype)


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats accumulate)."""
    x = _tensor_arg(input, "index_add")
    xs, d, idx, src = _index_update_args("index_add", x, dim, index, source)
    if alpha != 1:
        src = mul(src, alpha)
    return reshape(apply("index_add", [xs, idx, src], axis=d), tuple(x.shape)) if x.ndim == 0 else apply(
        "index_add", [xs, idx, src], axis=d)


def index_copy(input, dim, index, source):
    """``input`` with ``source`` written at ``index`` along ``dim``."""
    x = _tensor_arg(input, "index_copy")
    if isinstance(source, Tensor) and source._dtype is not x._dtype:
        raise DTypeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                         f"{x._dtype} and (source) {source._dtype}")
    xs, d, idx, src = _index_update_args("index_copy", x, dim, index, source)
    out = apply("index_copy", [xs, idx, src], axis=d)
    return reshape(out, ()) if x.ndim == 0 else out


def take(input, index):
    """``input`` read as 1-d at ``index`` (negative entries count from the end, as in PyTorch)."""
    x = reshape(_tensor_arg(input, "take"), (-1,))
    flat = _checked_index(reshape(index, (-1,)), x.shape[0], "take", wrap=True)
    return reshape(apply("index_select", [x, flat], axis=0), tuple(index.shape))
