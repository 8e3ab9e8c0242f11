"""Dim and shape arithmetic shared by every layer of the frontend.

These helpers know nothing of tensors (they take ints and tuples), so the
Tensor class itself (``Tensor.size(dim)``) and the functional modules above it
use the same normalization and the same PyTorch error messages.
"""

from __future__ import annotations

from ir.errors import DimError, ShapeError
from ir.ops import fmt_shape


def norm_dim(dim, ndim: int, op: str = "") -> int:
    """``dim`` as a non-negative index, or PyTorch's 'Dimension out of range' error."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        try:
            dim = dim.__index__()
        except AttributeError:
            raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}") from None
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not lo <= dim <= hi:
        raise DimError(
            f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % ndim if ndim > 0 else 0


_CACHED_RANKS = 16
_ALL_AXES = [tuple(range(n)) for n in range(_CACHED_RANKS)]  # "every dim", built once per rank


def norm_dims(dim, ndim: int, op: str) -> tuple:
    """A sorted tuple of axes for ``dim`` (None or () meaning all)."""
    if dim is None:
        return _ALL_AXES[ndim] if ndim < _CACHED_RANKS else tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        axes = [norm_dim(d, ndim, op) for d in dim]
        if len(set(axes)) != len(axes):
            raise DimError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return tuple(sorted(axes))
    return (norm_dim(dim, ndim, op),)


def reduced_count(shape, axes) -> int:
    """How many elements a reduction over ``axes`` combines (1 for a 0-d tensor)."""
    n = 1
    for a in axes:
        n *= shape[a] if len(shape) else 1
    return n


def infer_shape(shape, numel: int, op: str, in_shape) -> tuple:
    """``shape`` with its one ``-1`` filled in, or PyTorch's error when ``numel`` does not fit."""
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if neg:
        if known == 0 or numel % known != 0:
            raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel} (shape {fmt_shape(in_shape)})")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel} (shape {fmt_shape(in_shape)})")
    return tuple(shape)


