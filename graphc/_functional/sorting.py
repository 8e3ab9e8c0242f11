"""Sorting and searching: ``sort``, ``argsort``, ``topk``, ``unique``, ``nonzero``.

Their output shapes or orders depend on the values, so they need eager data
(inside ``@graphc.compile`` they raise a TracingError naming the op)."""

from __future__ import annotations

import numpy as np

from ir.ops import npmath

from .._args import norm_dim
from .._dispatch import composite
from .._factories import _from_array
from ..return_types import structseq
from ._common import _tensor_arg
from .indexing import gather
from .shape import narrow

__all__ = [
    "nonzero", "argwhere", "sort", "argsort", "topk", "unique",
]


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements (values decide the shape: eager only)."""
    x = _tensor_arg(input, "nonzero")
    x._need_data("nonzero")
    arr = np.asarray(x._host())
    idx = np.nonzero(arr) if arr.ndim else ()  # numpy refuses 0-d input; PyTorch gives (n, 0)
    if as_tuple:
        if x.ndim == 0:
            return (_from_array(np.zeros(int(bool(x.item())), np.int64)),)
        return tuple(_from_array(i.astype(np.int64)) for i in idx)
    return _from_array(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((int(bool(x.item())), 0), np.int64))


def argwhere(input):
    return nonzero(input)


def sort(input, dim=-1, descending=False, stable=False):
    """Sorted values and their indices along ``dim``."""
    x = _tensor_arg(input, "sort")
    x._need_data("sort")
    d = norm_dim(dim, x.ndim, "sort") if x.ndim else 0
    arr = np.asarray(x._host())
    if x.ndim == 0:
        idx = np.zeros((), np.int64)
    elif descending:
        # Reverse, sort ascending (stable), reverse back: ties keep their order and NaN comes
        # first, as in PyTorch. (Sorting -x would wrap unsigned and minimum integers.)
        n = arr.shape[d]
        idx = (n - 1) - np.flip(np.argsort(np.flip(arr, axis=d), axis=d, kind="stable"), axis=d)
    else:
        idx = np.argsort(arr, axis=d, kind="stable")
    idx = idx.astype(np.int64, copy=False)
    indices = _from_array(np.array(idx, order="C"))  # (ascontiguousarray makes 0-d arrays 1-d)
    with composite("SortBackward0", x) as c:
        values = c.result(gather(x, d, indices) if x.ndim else x.clone())
    return structseq("sort", ["values", "indices"])(values, indices)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices, largest first."""
    x = _tensor_arg(input, "topk")
    result = structseq("topk", ["values", "indices"])
    if x.ndim == 0:
        norm_dim(dim, 0, "topk")
        if k not in (0, 1):
            raise RuntimeError(f"topk: selected index k ({k}) out of range for a 0-d tensor (k must be 0 or 1)")
        s = sort(x)
        return result(s.values, s.indices)
    d = norm_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[d]:
        raise RuntimeError(f"topk: selected index k ({k}) out of range for dimension {d} of size {x.shape[d]}")
    if not 0 < k < x.shape[d] // 2:
        s = sort(x, d, descending=largest)
        with composite("TopkBackward0", x) as c:
            return result(c.result(narrow(s.values, d, 0, k)), narrow(s.indices, d, 0, k))
    x._need_data("topk")
    keys = np.moveaxis(_order_keys(np.asarray(x._host())), d, -1)
    idx = np.moveaxis(_first_k(keys, k, largest), -1, d)
    indices = _from_array(np.array(idx, order="C"))
    with composite("TopkBackward0", x) as c:
        return result(c.result(gather(x, d, indices)), indices)


def _order_keys(arr: np.ndarray) -> np.ndarray:
    """Integer keys ordered as ``sort`` orders the values: -0.0 equal to +0.0, every NaN equal
    and above +inf (a float's bits, negatives' low bits flipped, are monotone in its value).
    32-bit where the values fit (numpy partitions int32 6x faster than int64)."""
    if arr.dtype.kind != "f":
        return arr.astype(np.int64 if arr.itemsize == 8 else np.int32)
    wide = arr.astype(np.float64 if arr.itemsize == 8 else np.float32) + 0.0  # (-0.0 + 0.0 is +0.0)
    bits = wide.view(np.int64 if wide.itemsize == 8 else np.int32)
    top = np.iinfo(bits.dtype).max
    keys = bits ^ ((bits >> (8 * bits.itemsize - 1)) & top)
    return npmath.where(np.isnan(wide), keys.dtype.type(top), keys)


def _first_k(keys: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """Positions along the last axis of the first ``k`` entries of a stable sort of ``keys``
    (descending when ``largest``, ties in index order), without sorting the rest: a partition
    finds the k-th key, everything beyond it is in, and its ties are taken in index order until
    there are k; only those k are sorted. A full stable sort of 512 per row for k = 8 took 6 ms
    for 256 rows."""
    n = keys.shape[-1]
    kth = n - k if largest else k - 1
    bound = np.partition(keys, kth, axis=-1)[..., kth : kth + 1]
    beyond = keys > bound if largest else keys < bound
    ties = keys == bound
    room = k - beyond.sum(axis=-1, keepdims=True)
    chosen = beyond | ties
    if (room != ties.sum(axis=-1, keepdims=True)).any():  # more ties than room: the first ones
        chosen = beyond | (ties & (np.cumsum(ties, axis=-1) <= room))
    pos = np.nonzero(chosen.reshape(-1, n))[1].reshape(keys.shape[:-1] + (k,))  # ascending per row
    cand = np.take_along_axis(keys, pos, axis=-1)
    if largest:  # descending, ties keeping index order: reverse, sort ascending (stable), reverse back
        order = (k - 1) - np.flip(np.argsort(np.flip(cand, axis=-1), axis=-1, kind="stable"), axis=-1)
    else:
        order = np.argsort(cand, axis=-1, kind="stable")
    return np.take_along_axis(pos, order, axis=-1)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The sorted distinct values (or, with ``dim``, distinct slices along ``dim``), as PyTorch:
    each NaN is distinct (numpy merges them by default), and the inverse has the input's shape
    (without ``dim``) or one entry per slice (with it)."""
    x = _tensor_arg(input, "unique")
    arr = np.asarray(x._host())
    if dim is None:
        res = np.unique(arr.reshape(-1), return_inverse=return_inverse, return_counts=return_counts, equal_nan=False)
    else:
        d = norm_dim(dim, arr.ndim, "unique")
        res = np.unique(arr, return_inverse=return_inverse, return_counts=return_counts, axis=d, equal_nan=False)
    if not isinstance(res, tuple):
        return _from_array(res, x._dtype)
    out = [_from_array(res[0], x._dtype)]
    rest = list(res[1:])
    if return_inverse:
        inverse = np.asarray(rest.pop(0), np.int64)
        out.append(_from_array(inverse.reshape(arr.shape) if dim is None else inverse.reshape(-1)))
    out += [_from_array(np.asarray(r, np.int64)) for r in rest]
    return tuple(out)
