"""Joining and splitting: ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``,
``select`` and ``roll`` (a rotation is two slices joined)."""

from __future__ import annotations

import builtins
import operator

from ir import dtypes as dt
from ir.errors import ShapeError
from ir.ops import fmt_shape

from .._args import norm_dim
from .._dispatch import apply, composite, mark_multi_output
from .._tensor import Tensor
from ._common import _tensor_arg, _to, _write_out
from .layout import clone
from .shape import _slice, flatten, reshape, squeeze, unsqueeze

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "split", "tensor_split", "chunk", "unbind",
    "select", "roll",
]


def cat(tensors, dim=0, *, out=None):
    """Join tensors along an existing dim (promoting their dtypes)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat(): expected a sequence of Tensors, item {i} is {type(t).__name__}")
    # PyTorch skips legacy 1-d empty tensors in the shape checks, but not in type promotion
    # or autograd (their grads are empty tensors).
    legacy = [t.ndim == 1 and t.shape[0] == 0 for t in tensors]
    nonempty = [t for t, skip in zip(tensors, legacy) if not skip] or tensors[:1]
    dtype = tensors[0]._dtype
    for t in tensors[1:]:
        dtype = dt.promote_types(dtype, t._dtype)
    ref = nonempty[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    d = 0 if all(legacy) else norm_dim(dim, ref.ndim, "cat")  # PyTorch wraps no dim then
    for i, t in enumerate(nonempty):
        if t.ndim != ref.ndim:
            raise ShapeError(
                f"cat: Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim} "
                f"(tensor 0 has shape {fmt_shape(ref.shape)}, tensor {i} has shape {fmt_shape(t.shape)})"
            )
    empty = tuple(0 if i == d else n for i, n in enumerate(ref.shape))
    pieces = [reshape(t, empty) if skip else t for t, skip in zip(tensors, legacy)]
    return _write_out(out, apply("concat", [_to(t, dtype) for t in pieces], axis=d))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join tensors of equal shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != ref:
            raise ShapeError(
                f"stack expects each tensor to be equal size, but got {fmt_shape(ref)} at entry 0 "
                f"and {fmt_shape(t.shape)} at entry {i}"
            )
    d = norm_dim(dim, len(ref) + 1, "stack")
    with composite("StackBackward0", *tensors) as c:
        return _write_out(out, c.result(cat([unsqueeze(t, d) for t in tensors], d)))


def hstack(tensors):
    """Join along dim 1 (dim 0 when the first tensor is 1-d), after making each at least 1-d."""
    ts = [t if t.ndim else reshape(t, (1,)) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dim 0 after making each at least 2-d (0-d -> [1, 1], [n] -> [1, n])."""
    return cat([t if t.ndim > 1 else reshape(t, (1, t.numel())) for t in tensors], 0)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of one size (the last may be smaller) or of the listed sizes.
    Their grad_fn is PyTorch's SplitBackward0 (SplitWithSizesBackward0 for listed sizes)."""
    x = _tensor_arg(tensor, "split")
    d = norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n > 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - i) for i in range(0, n, size)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ShapeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {d}), but got split_sizes={sizes}"
            )
    fn = "Split" if isinstance(split_size_or_sections, int) else "SplitWithSizes"
    return mark_multi_output(_pieces(x, d, sizes, fn + "Backward0"), fn)


def _pieces(x: Tensor, d: int, sizes, grad_name: str) -> tuple:
    """Consecutive slices of ``x`` along ``d`` of the given sizes, their grad_fn named
    ``grad_name`` as PyTorch's (plain views: tensor_split's may be written in place under
    autograd, split's may not; see mark_multi_output)."""
    out, start = [], 0
    for s in sizes:
        with composite(grad_name, x) as c:
            out.append(c.result(_slice(x, d, start, start + s)))
        start += s
    return tuple(out)


def tensor_split(input, indices_or_sections, dim=0):
    """Views of ``input`` along ``dim``: ``k`` nearly equal sections (an int or a 0-d tensor), or
    the pieces between the given indices (a list or 1-d tensor, read like Python slice bounds:
    negative counts from the end, a piece past the end or between decreasing bounds is empty)."""
    x = _tensor_arg(input, "tensor_split")
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = norm_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.ndim > 1 or not spec._dtype.is_integer:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional "
                f"tensor of integers, but got a {spec.ndim}-d tensor of {spec._dtype}"
            )
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec.tolist()]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        sizes = [n // spec + (1 if i < n % spec else 0) for i in range(spec)]
        return _pieces(x, d, sizes, "SliceBackward0")
    bounds = [operator.index(b) for b in spec]
    pieces, start = [], 0
    for stop in bounds + [n]:
        lo, hi, _ = slice(start, stop).indices(n)
        pieces.append(_slice(x, d, lo, builtins.max(lo, hi)))
        start = stop
    return tuple(pieces)


def chunk(input, chunks, dim=0):
    """Up to ``chunks`` pieces of equal size (the last may be smaller)."""
    x = _tensor_arg(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = norm_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    if n == 0:  # PyTorch: `chunks` empty pieces
        return split(x, [0] * chunks, d)
    return split(x, -(-n // chunks), d)


def unbind(input, dim=0):
    """The slices along ``dim``, each without that dim."""
    x = _tensor_arg(input, "unbind")
    d = norm_dim(dim, x.ndim, "unbind")
    out = []
    for i in range(x.shape[d]):
        with composite("UnbindBackward0", x) as c:
            out.append(c.result(select(x, d, i)))
    return mark_multi_output(tuple(out), "Unbind")


def select(input, dim, index):
    x = _tensor_arg(input, "select")
    d = norm_dim(dim, x.ndim, "select")
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(x.shape)} at dimension {d}")
    index %= n
    with composite("SelectBackward0", input) as c:
        return c.result(squeeze(_slice(x, d, index, index + 1), d))


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (flattened when ``dims`` is None)."""
    x = _tensor_arg(input, "roll")
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), tuple(x.shape))
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts ({len(shifts)}) and dims ({len(dims)}) must have the same length")
    for s, d in zip(shifts, dims):
        d = norm_dim(d, x.ndim, "roll")
        n = x.shape[d]
        if n == 0:
            continue
        s = s % n
        if s:
            x = cat([_slice(x, d, n - s, n), _slice(x, d, 0, n - s)], d)
    return x if x is not input else clone(x)
