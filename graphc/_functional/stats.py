"""Statistics: order statistics (``median``, ``nanmedian``, ``kthvalue``, ``mode``,
``quantile``, ``nanquantile``, ``msort``), ``aminmax``, ``cov``/``corrcoef``, binning
(``histc``, ``histogram``, ``histogramdd``, ``bincount``, ``bucketize``, ``searchsorted``),
``isin`` and ``unique_consecutive``.

Order statistics sort along the dim (numpy's stable argsort, NaNs last, as PyTorch orders
them) and *gather* the values at the chosen positions, so gradients flow to the selected
elements exactly as in PyTorch. Sorting needs values, so these run eagerly (inside
``@graphc.compile`` they raise a TracingError naming the op, like ``sort``); so do
``bincount`` and ``unique_consecutive``, whose output shapes depend on the values. The
searches, ``isin`` and the histograms compare against every boundary instead of sorting
(O(elements x boundaries)), so they trace and compile.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops import fmt_shape

from .._args import norm_dim
from .._dispatch import apply, composite
from .._factories import _from_array, arange, tensor
from .._tensor import Tensor
from ..return_types import structseq
from ._common import _promote, _tensor_arg, _to, _with_zero_grad, _write_out
from .elementwise import (
    add,
    ceil,
    div,
    eq,
    floor,
    ge,
    gt,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    lt,
    mul,
    sqrt,
    sub,
)
from .indexing import gather
from .linalg import diagonal
from .pointwise import _interpolate, clamp, where
from .reductions import amax, amin, any, mean, sum
from .shape import movedim, reshape, squeeze, unsqueeze
from .sorting import sort

__all__ = [
    "msort", "kthvalue", "median", "nanmedian", "mode", "quantile", "nanquantile", "aminmax", "cov", "corrcoef",
    "histc", "histogram", "histogramdd", "bincount", "bucketize", "searchsorted", "isin", "unique_consecutive",
]

_kthvalue_t = structseq("kthvalue", ["values", "indices"])
_median_t = structseq("median", ["values", "indices"])
_nanmedian_t = structseq("nanmedian", ["values", "indices"])
_mode_t = structseq("mode", ["values", "indices"])
_aminmax_t = structseq("aminmax", ["min", "max"])
_histogram_t = structseq("histogram", ["hist", "bin_edges"])
_histogramdd_t = structseq("histogramdd", ["hist", "bin_edges"])


# ----------------------------------------------------------------------------
# order statistics


def _argsort_host(x: Tensor, d: int, op: str) -> np.ndarray:
    """Stable ascending order along ``d`` with NaNs last (eager only: it reads the values)."""
    x._need_data(op)
    return np.argsort(np.asarray(x._host()), axis=d, kind="stable").astype(np.int64)


def _pick(x: Tensor, d: int, pos: np.ndarray, keepdim: bool, op: str, cls):
    """values and indices at sorted positions ``pos`` (one per slice, kept dim of size 1)."""
    idx = _from_array(np.ascontiguousarray(pos), dt.int64, x._device) if x._device.type == "cpu" else tensor(pos, device=x._device)
    with composite(f"{cls.__name__.capitalize()}Backward0" if cls is not _median_t else "MedianBackward1", x) as c:
        values = c.result(gather(x, d, idx))
    if not keepdim:
        values, idx = squeeze(values, d), squeeze(idx, d)
    return cls(values, idx)


def _prepare(input, dim, op):
    x = _tensor_arg(input, op)
    if x.ndim == 0:
        return reshape(x, (1,)), 0, True
    return x, norm_dim(dim, x.ndim, op), False


def _zero_d(res, was0d, cls):
    if not was0d:
        return res
    return cls(reshape(res[0], ()), reshape(res[1], ()))


def msort(input, *, out=None):
    """``input`` sorted along dim 0."""
    return _write_out(out, sort(_tensor_arg(input, "msort"), 0).values)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """``(values, indices)`` of the ``k``-th smallest element (1-based) along ``dim``."""
    x, d, was0d = _prepare(input, dim, "kthvalue")
    n = x.shape[d]
    if not 1 <= k <= builtins.max(n, 1) or n == 0:
        raise ShapeError(f"kthvalue(): selected number k out of range for dimension {d} (k={k}, size {n})")
    order = _argsort_host(x, d, "kthvalue")
    pos = np.take(order, [k - 1], axis=d)
    return _zero_d(_pick(x, d, pos, keepdim or was0d, "kthvalue", _kthvalue_t), was0d, _kthvalue_t)


def _median_positions(arr, order, d, ignore_nan):
    nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    n = arr.shape[d]
    valid = n - nan.sum(axis=d, keepdims=True)
    if ignore_nan:
        k = np.maximum(valid - 1, 0) // 2
    else:
        k = np.where(valid < n, valid, (n - 1) // 2)  # a NaN in the slice: the (first) NaN is the median
    return np.take_along_axis(order, k.astype(np.int64), axis=d)


def _median(name, input, dim, keepdim, ignore_nan, cls):
    x = _tensor_arg(input, name)
    if dim is None:
        if x.numel() == 0:  # NaN, in the graph as PyTorch's (a zero gradient)
            nan = apply("full", [], shape=(), dtype=x._dtype, value=float("nan"), _device=x._device)
            return _with_zero_grad(nan, sum(x)) if x._dtype.is_floating_point else nan
        flat = reshape(x, (-1,))
        order = _argsort_host(flat, 0, name)
        pos = _median_positions(np.asarray(flat._host()), order, 0, ignore_nan)
        if not (x._dtype.is_floating_point and x.requires_grad):
            return _pick(flat, 0, pos.reshape(1), False, name, cls).values
        # PyTorch's MedianBackward0 (no dim) shares the gradient among the elements equal to the
        # median (NaN with NaN), as max() does: the amax, over those elements only, of the same
        # values, with amax's even split ("first" would be _pick's gather)
        with composite("MedianBackward0" if name == "median" else "NanmedianBackward0", x) as c:
            v = gather(flat, 0, _from_array(np.ascontiguousarray(pos.reshape(1)), dt.int64, x._device)).detach()
            same = logical_or(eq(flat, v), logical_and(isnan(flat), isnan(v)))
            tied = where(same, flat, float("-inf"))
            return c.result(apply("amax", [tied], axes=(0,), keepdim=False, ties="even"))
    x, d, was0d = _prepare(x, dim, name)
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    order = _argsort_host(x, d, name)
    pos = _median_positions(np.asarray(x._host()), order, d, ignore_nan)
    return _zero_d(_pick(x, d, pos, keepdim or was0d, name, cls), was0d, cls)


def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median (of all elements, or ``(values, indices)`` along ``dim``); NaN if a NaN is present."""
    return _median("median", input, dim, keepdim, False, _median_t)


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """The lower median ignoring NaNs (NaN only where a slice is all NaN)."""
    return _median("nanmedian", input, dim, keepdim, True, _nanmedian_t)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest among ties)
    and the index of its last occurrence (PyTorch's choice)."""
    x, d, was0d = _prepare(input, dim, "mode")
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    x._need_data("mode")
    arr = np.moveaxis(np.asarray(x._host()), d, -1)
    flat = arr.reshape(-1, arr.shape[-1])
    best = np.zeros(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        keys = np.where(np.isnan(row), np.inf, row) if row.dtype.kind == "f" else row
        vals, counts = np.unique(keys, return_counts=True)
        winner = vals[np.argmax(counts)]  # np.unique sorts, argmax takes the first (smallest) of the ties
        best[r] = np.flatnonzero(keys == winner)[-1]
    pos = np.moveaxis(best.reshape(arr.shape[:-1] + (1,)), -1, d)
    return _zero_d(_pick(x, d, pos, keepdim or was0d, "mode", _mode_t), was0d, _mode_t)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan, out):
    x = _tensor_arg(input, name)
    if not x._dtype.is_floating_point:
        raise DTypeError(f"{name}() input tensor must be either float or double dtype, got {x._dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                         f"Got {interpolation}")
    scalar_q = not isinstance(q, Tensor)
    qt = tensor(float(q), dtype=x._dtype, device=x._device) if scalar_q else _to(q, x._dtype).detach()  # as PyTorch: no grad to q
    if qt.ndim > 1:
        raise ShapeError(f"{name}() q must be a scalar or 1D tensor, got shape {fmt_shape(qt.shape)}")
    if qt._data is not None and qt.numel() and (float(qt.min()) < 0 or float(qt.max()) > 1):
        raise ValueError(f"{name}() q values must be in the range [0, 1]")
    if dim is None:
        src, d, out_shape = reshape(x, (-1,)), 0, ((1,) * x.ndim if keepdim else ())
    else:
        d = norm_dim(dim, x.ndim, name) if x.ndim else 0
        src = x if x.ndim else reshape(x, (1,))
        out_shape = tuple(1 if i == d else s for i, s in enumerate(x.shape)) if keepdim else tuple(
            s for i, s in enumerate(x.shape) if i != d)
    if src.shape[d] == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    src = movedim(src, d, -1)  # [..., n]
    n = src.shape[-1]
    sorted_vals = gather(src, -1, _from_array(_argsort_host(src, src.ndim - 1, name), dt.int64, src._device))
    nans = sum(_to(isnan(src), x._dtype), -1, keepdim=True)  # [..., 1]
    qs = reshape(qt, (-1,))  # [Q]
    if ignore_nan:  # ranks among the non-NaN values; none: rank 0, a NaN
        rank = mul(qs, clamp(sub(sub(n, nans), 1), min=0))  # [..., Q]
    else:  # a slice holding a NaN reads its last sorted value, a NaN: result and gradient go there
        rank = where(gt(nans, 0), float(n - 1), mul(qs, float(n - 1)))
    if interpolation == "nearest":
        pos = apply("round", [rank])
        lo = hi = pos
    else:
        lo, hi = floor(rank), ceil(rank)
    last = n - 1
    lo_i = _to(clamp(lo, 0, last), dt.int64)
    hi_i = _to(clamp(hi, 0, last), dt.int64)
    v_lo, v_hi = gather(sorted_vals, -1, lo_i), gather(sorted_vals, -1, hi_i)
    if interpolation in ("lower", "nearest"):
        r = v_lo
    elif interpolation == "higher":
        r = v_hi
    elif interpolation == "midpoint":
        r = _interpolate(v_lo, v_hi, 0.5)  # (not (lo + hi) / 2: 3e38 + 3e38 overflows)
    else:
        r = _interpolate(v_lo, v_hi, sub(rank, lo))  # two-sided: toward an infinite end, no inf - inf
    r = movedim(r, -1, 0)  # [Q, ...]
    r = reshape(r, ((qs.shape[0],) if not scalar_q and qt.ndim == 1 else ()) + out_shape)
    return _write_out(out, r)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The ``q``-quantiles (a number or a 1-d tensor in [0, 1]) along ``dim`` (or of all
    elements), interpolating between the two nearest sorted values; NaN if a NaN is present.
    A tensor ``q`` puts its dim first in the result."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False, out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """:func:`quantile` ignoring NaNs (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True, out)


# ----------------------------------------------------------------------------
# aminmax, cov, corrcoef


def aminmax(input, *, dim=None, keepdim=False, out=None):
    """``(min, max)`` over ``dim`` (or all elements)."""
    x = _tensor_arg(input, "aminmax")
    if x.numel() == 0 and dim is None:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity.")
    axes = None if dim is None else dim
    lo, hi = amin(x, axes if axes is not None else (), keepdim), amax(x, axes if axes is not None else (), keepdim)
    if dim is None and keepdim:
        lo, hi = reshape(lo, (1,) * x.ndim), reshape(hi, (1,) * x.ndim)
    if out is not None:
        lo, hi = _write_out(out[0], lo), _write_out(out[1], hi)
    return _aminmax_t(lo, hi)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows of ``input`` (variables) over its columns (observations),
    with optional integer frequency weights and float observation weights."""
    x = _tensor_arg(input, "cov")
    if x.ndim > 2:
        raise ShapeError(f"cov(): expected input to have two or fewer dimensions but got an input with {x.ndim} dimensions")
    x2 = reshape(x, (1, -1)) if x.ndim < 2 else x
    if not x2._dtype.is_floating_point:
        x2 = _to(x2, dt.default_float())
    n = x2.shape[1]
    w = a = None
    if fweights is not None:
        if fweights._dtype.is_floating_point:
            raise DTypeError("cov(): expected fweights to have integral dtype")
        if fweights.ndim > 1 or fweights.numel() != n:
            raise ShapeError(f"cov(): expected fweights to have one dimension and {n} elements, got {fmt_shape(fweights.shape)}")
        w = _to(fweights, x2._dtype)
    if aweights is not None:
        if not aweights._dtype.is_floating_point:
            raise DTypeError("cov(): expected aweights to have floating point dtype")
        if aweights.ndim > 1 or aweights.numel() != n:
            raise ShapeError(f"cov(): expected aweights to have one dimension and {n} elements, got {fmt_shape(aweights.shape)}")
        a = _to(aweights, x2._dtype)
        w = a if w is None else mul(w, a)
    if w is None:
        total = tensor(float(n), dtype=x2._dtype, device=x2._device)
        avg = mean(x2, 1, keepdim=True)
        norm = sub(total, correction)
    else:
        total = sum(w)
        avg = div(sum(mul(x2, w), 1, keepdim=True), total)
        norm = total if correction == 0 else (
            sub(total, div(mul(sum(mul(w, a)), correction), total)) if a is not None else sub(total, correction))
    norm = clamp(norm, min=0)
    centered = sub(x2, avg)
    weighted = mul(centered, w) if w is not None else centered
    c = div(apply("matmul", [weighted, apply("permute", [centered], dims=(1, 0))]), norm)
    return reshape(c, ()) if x.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows of ``input`` (clipped to [-1, 1])."""
    c = cov(input)
    if c.ndim == 0:
        return div(c, c)
    d = sqrt(diagonal(c))
    r = div(div(c, unsqueeze(d, 1)), unsqueeze(d, 0))
    return clamp(r, -1, 1)


# ----------------------------------------------------------------------------
# searching and binning


def _count_below(seq, values, right):
    """How many entries of ``seq`` (last dim) sort before each of ``values``: ``s < v`` (left)
    or ``s <= v`` (right), with NaNs sorting last (PyTorch's order: a NaN value goes after
    everything, NaNs at the end of the sequence come after every number)."""
    s = unsqueeze(seq, -2)  # [..., 1, n]
    v = unsqueeze(values, -1)  # [..., m, 1]
    before = logical_not(gt(s, v)) if right else lt(s, v)
    if v._dtype.is_floating_point:
        before = logical_and(logical_or(before, isnan(v)), logical_not(logical_and(isnan(s), logical_not(isnan(v)))))
    return sum(before, -1)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    """Insertion indices of ``input`` into the sorted last dim of ``sorted_sequence`` (left:
    the first position; right or ``side="right"``: after equal entries)."""
    seq = _tensor_arg(sorted_sequence, "searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    if sorter is not None:
        seq = gather(seq, -1, sorter)
    scalar = not isinstance(input, Tensor)
    vals = tensor(input, device=seq._device) if scalar else input
    if seq.ndim > 1 and tuple(seq.shape[:-1]) != tuple(vals.shape[:-1]):
        raise ShapeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                         f"of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                         f"{fmt_shape(seq.shape)} and input value tensor {fmt_shape(vals.shape)}")
    (seq, vals), _ = _promote(seq, vals)
    v = reshape(vals, (1,)) if vals.ndim == 0 else vals
    if seq.ndim == 1:
        flat = reshape(v, (-1,))
        r = reshape(_count_below(seq, flat, right), tuple(vals.shape))
    else:
        r = _count_below(seq, v, right)
    r = _to(r, dt.int32 if out_int32 else dt.int64)
    return _write_out(out, r)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element: ``boundaries[i-1] < x <= boundaries[i]`` (``right``:
    ``boundaries[i-1] <= x < boundaries[i]``)."""
    b = _tensor_arg(boundaries, "bucketize")
    if b.ndim != 1:
        raise ShapeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right, out=out)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    e = elements if isinstance(elements, Tensor) else tensor(elements)
    t = test_elements if isinstance(test_elements, Tensor) else tensor(test_elements)
    (e, t), _ = _promote(e, t)
    flat = reshape(t, (-1,))
    hit = any(eq(unsqueeze(e, -1), flat), -1) if flat.numel() else apply(
        "full", [], shape=tuple(e.shape), dtype=dt.bool_, value=False, _device=e._device)
    return logical_not(hit) if invert else hit


def _bin_index(x, lo, hi, bins):
    """Bin of each element of ``x`` in ``bins`` equal bins over [lo, hi] (the right edge goes
    to the last bin), and whether it falls inside at all (NaNs do not)."""
    inside = logical_and(ge(x, lo), logical_or(lt(x, hi), eq(x, hi)))
    width = sub(hi, lo)
    pos = floor(div(mul(sub(x, lo), bins), width))
    pos = clamp(where(inside, pos, 0.0), 0, bins - 1)
    return _to(pos, dt.int64), inside


def _data_range(x, lo, hi):
    if lo == hi == 0 and x.numel():
        return amin(x).detach(), amax(x).detach()
    return lo, hi


def histc(input, bins=100, min=0, max=0, *, out=None):
    """Counts in ``bins`` equal-width bins over [min, max] (the data's range when both are 0);
    values outside (and NaNs) are not counted."""
    x = _tensor_arg(input, "histc")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"torch.histc: input tensor and hist tensor should have the same dtype, but got input "
                         f"{x._dtype} and hist {x._dtype}")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError(f"torch.histc(): max must be larger than min, got min={min} max={max}")
    x = reshape(x.detach(), (-1,))
    lo, hi = _data_range(x, min, max)
    lo = tensor(float(lo), dtype=x._dtype, device=x._device) if not isinstance(lo, Tensor) else lo
    hi = tensor(float(hi), dtype=x._dtype, device=x._device) if not isinstance(hi, Tensor) else hi
    same = eq(lo, hi)
    lo, hi = where(same, sub(lo, 1), lo), where(same, add(hi, 1), hi)
    idx, inside = _bin_index(x, lo, hi, bins)
    zeros = apply("full", [], shape=(bins,), dtype=x._dtype, value=0, _device=x._device)
    return _write_out(out, apply("index_add", [zeros, idx, _to(inside, x._dtype)], axis=0))


def _edges_and_index(x, bins, rng, name):
    """Bin edges (1-d) and, for each value of ``x`` (1-d), its bin and whether it is counted."""
    if isinstance(bins, Tensor):
        edges = _to(bins, x._dtype)
        if edges.ndim != 1 or edges.shape[0] < 1:
            raise ShapeError(f"{name}(): bins tensor should have one dimension and at least 1 element")
        nb = edges.shape[0] - 1
        right = unsqueeze(edges, 0)
        idx = sub(sum(logical_not(gt(right, unsqueeze(x, 1))), 1), 1)  # edges <= x, minus one
        last = eq(x, reshape(gather(edges, 0, tensor([nb], device=x._device)), ()))
        idx = where(last, nb - 1, idx)
        inside = logical_and(ge(idx, 0), lt(idx, nb))
        return edges, clamp(idx, 0, builtins.max(nb - 1, 0)), inside
    nb = int(bins)
    if nb <= 0:
        raise RuntimeError(f"{name}(): bins must be > 0, but got {nb} for dimension 0")
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
        if lo > hi:
            raise ValueError(f"{name}(): max must be larger than min")
        lo_t = tensor(lo, dtype=x._dtype, device=x._device)
        hi_t = tensor(hi, dtype=x._dtype, device=x._device)
    elif x.numel():
        lo_t, hi_t = amin(x).detach(), amax(x).detach()
    else:
        lo_t = tensor(0.0, dtype=x._dtype, device=x._device)
        hi_t = tensor(0.0, dtype=x._dtype, device=x._device)
    same = eq(lo_t, hi_t)
    lo_t, hi_t = where(same, sub(lo_t, 0.5), lo_t), where(same, add(hi_t, 0.5), hi_t)
    steps = div(arange(nb + 1, dtype=x._dtype, device=x._device), float(nb))
    edges = add(lo_t, mul(sub(hi_t, lo_t), steps))
    idx, inside = _bin_index(x, lo_t, hi_t, nb)
    return edges, idx, inside


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """``(hist, bin_edges)``: counts (or summed ``weight``) per bin; ``bins`` is a count of
    equal bins over ``range`` (default: the data's range) or a 1-d tensor of edges.
    ``density`` divides by the total and the bin widths."""
    x = _tensor_arg(input, "histogram")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but got input "
                         f"{x._dtype}")
    flat = reshape(x.detach(), (-1,))
    edges, idx, inside = _edges_and_index(flat, bins, range, "histogram")
    nb = edges.shape[0] - 1
    w = _to(inside, x._dtype)
    if weight is not None:
        if tuple(weight.shape) != tuple(x.shape):
            raise ShapeError(f"torch.histogram: if weight tensor is provided it should have the same shape as the "
                             f"input tensor, got {fmt_shape(weight.shape)} and {fmt_shape(x.shape)}")
        w = mul(w, reshape(_to(weight, x._dtype).detach(), (-1,)))
    zeros = apply("full", [], shape=(nb,), dtype=x._dtype, value=0, _device=x._device)
    hist = apply("index_add", [zeros, idx, w], axis=0) if nb else zeros
    if density and nb:
        widths = sub(apply("slice", [edges], starts=(1,), stops=(nb + 1,), steps=(1,)),
                     apply("slice", [edges], starts=(0,), stops=(nb,), steps=(1,)))
        hist = div(hist, mul(sum(hist), widths))
    if out is not None:
        hist = _write_out(out[0], hist)
        edges = _write_out(out[1], edges)
    return _histogram_t(hist, edges)


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """The multi-dimensional histogram of the rows of ``input`` [N, D]: ``(hist, bin_edges)``
    with one tuple entry of edges per dim; ``bins`` is an int, a list of ints or a list of
    1-d edge tensors; ``range`` lists (min, max) pairs flat."""
    x = _tensor_arg(input, "histogramdd")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"torch.histogramdd: expected a floating-point input, got {x._dtype}")
    if x.ndim < 1:
        raise ShapeError("torch.histogramdd: input tensor should have at least 1 dimension")
    d_count = x.shape[-1]
    pts = reshape(x.detach(), (-1, d_count))
    per_dim = list(bins) if isinstance(bins, (list, tuple)) else [bins] * d_count
    if len(per_dim) != d_count:
        raise ValueError(f"torch.histogramdd: expected {d_count} bin specifications, got {len(per_dim)}")
    all_edges, linear, inside_all, sizes = [], None, None, []
    for j, b in enumerate(per_dim):
        col = reshape(apply("slice", [pts], starts=(0, j), stops=(pts.shape[0], j + 1), steps=(1, 1)), (-1,))
        rng = None if range is None else (range[2 * j], range[2 * j + 1])
        edges, idx, inside = _edges_and_index(col, b, rng, "histogramdd")
        nb = edges.shape[0] - 1
        all_edges.append(edges)
        sizes.append(nb)
        linear = idx if linear is None else add(mul(linear, nb), idx)
        inside_all = inside if inside_all is None else logical_and(inside_all, inside)
    total = math.prod(sizes)
    w = _to(inside_all, x._dtype)
    if weight is not None:
        w = mul(w, reshape(_to(weight, x._dtype).detach(), (-1,)))
    zeros = apply("full", [], shape=(total,), dtype=x._dtype, value=0, _device=x._device)
    hist = reshape(apply("index_add", [zeros, linear, w], axis=0) if total else zeros, tuple(sizes))
    if density and total:
        vol = None
        for j, e in enumerate(all_edges):
            nb = sizes[j]
            wd = sub(apply("slice", [e], starts=(1,), stops=(nb + 1,), steps=(1,)),
                     apply("slice", [e], starts=(0,), stops=(nb,), steps=(1,)))
            shape = [1] * len(sizes)
            shape[j] = nb
            wd = reshape(wd, tuple(shape))
            vol = wd if vol is None else mul(vol, wd)
        hist = div(hist, mul(sum(hist), vol))
    return _histogramdd_t(hist, tuple(all_edges))


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value 0..max of a 1-d non-negative integer tensor (or the summed
    ``weights`` there); at least ``minlength`` long. The length depends on the values, so it
    runs eagerly."""
    x = _tensor_arg(input, "bincount")
    if x.ndim != 1 or x._dtype.is_floating_point or x._dtype.is_bool:
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got a {x.ndim}-d {x._dtype} tensor")
    if minlength < 0:
        raise ValueError(f"bincount(): minlength should be >= 0, got {minlength}")
    x._need_data("bincount")
    arr = np.asarray(x._host()).astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError("bincount only supports 1-d non-negative integral inputs.")
    length = builtins.max(int(arr.max()) + 1 if arr.size else 0, int(minlength))
    if weights is None:
        out_dtype, w = dt.int64, apply("full", [], shape=(x.shape[0],), dtype=dt.int64, value=1, _device=x._device)
    else:
        if tuple(weights.shape) != tuple(x.shape):
            raise ShapeError(f"bincount(): weights should be 1-d and have the same length as input, got "
                             f"{fmt_shape(weights.shape)} and {fmt_shape(x.shape)}")
        out_dtype = weights._dtype if weights._dtype in (dt.float32, dt.float64) else dt.float64
        w = _to(weights, out_dtype)
    zeros = apply("full", [], shape=(length,), dtype=out_dtype, value=0, _device=x._device)
    return apply("index_add", [zeros, x, w], axis=0) if x.shape[0] else zeros


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse each run of equal consecutive elements (or slices along ``dim``) to one; the
    inverse maps each element to its run, the counts give the run lengths. Eager only."""
    x = _tensor_arg(input, "unique_consecutive")
    x._need_data("unique_consecutive")
    arr = np.asarray(x._host())
    if dim is None:
        flat = arr.reshape(-1)
        if flat.size == 0:
            starts = np.zeros(0, bool)
        else:
            starts = np.concatenate([[True], flat[1:] != flat[:-1]])
        values = _from_array(np.ascontiguousarray(flat[starts]), x._dtype, x._device)
        run = np.cumsum(starts) - 1
        inverse = run.reshape(arr.shape)
        n_runs = int(starts.sum())
    else:
        d = norm_dim(dim, x.ndim, "unique_consecutive")
        if arr.shape[d] == 0:
            starts = np.zeros(0, bool)
        elif arr.size == 0:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
        else:
            moved = np.moveaxis(arr, d, 0).reshape(arr.shape[d], -1)
            starts = np.concatenate([[True], np.any(moved[1:] != moved[:-1], axis=1)])
        picked = np.take(arr, np.flatnonzero(starts), axis=d)
        values = _from_array(np.ascontiguousarray(picked), x._dtype, x._device)
        inverse = np.cumsum(starts) - 1
        n_runs = int(starts.sum())
    counts = np.diff(np.append(np.flatnonzero(starts), starts.size)) if n_runs else np.zeros(0, np.int64)
    out = [values]
    if return_inverse:
        out.append(_from_array(np.array(inverse, np.int64, order="C"), dt.int64, x._device))  # keeps 0-d
    if return_counts:
        out.append(_from_array(counts.astype(np.int64), dt.int64, x._device))
    return out[0] if len(out) == 1 else tuple(out)

