"""Views, order statistics, binning, indexed updates, finite differences and creation ops of
the operator surface (issue 14), against numpy (float64) or plain loops."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import graphc
from graphc._functional.views import _tensor_unfold

from .core import BOOL, FLOAT, I64, INT, NC, OpSpec, S, i64, make


def _A(rng, dtype, low=-2.0, high=2.0):
    return lambda *s: make(rng, s, dtype, low, high)


def _distinct(rng, dtype, *shape):
    """Values without ties (order statistics pick one element; ties would make gradients ambiguous)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.37 - n * 0.15).astype(make(rng, (1,), dtype).dtype)


# ----------------------------------------------------------------------------
# views


def unfold_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 7), 1, 3, 2, desc="dim 1"), S(A(5, 2), 0, 2, 1, desc="dim 0 overlapping"),
            S(NC(A(4, 6), "T"), 1, 2, 3, desc="transposed"), S(A(3, 4), -1, 4, 1, desc="whole dim")]


def ref_unfold(x, d, size, step):
    return sliding_window_view(x, size, axis=d)[(slice(None),) * (d % x.ndim) + (slice(None, None, step),)]


def as_strided_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), (3, 3), (3, 1), 1, desc="overlapping windows"), S(A(12), (2, 2), (1, 4), desc="transposed view"),
            S(A(2, 3), (2,), (0,), desc="stride 0")]


def ref_as_strided(x, size, stride, offset=0):
    flat = np.ascontiguousarray(x).reshape(-1)
    return as_strided(flat[offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride)).copy()


def copy_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), desc="2d"), S(NC(A(3, 4), "T"), desc="transposed")]


def scatter_view_samples(kind):
    def gen(rng, dtype):
        A = _A(rng, dtype)
        if kind == "select":
            return [S(A(3, 4), A(4), 0, 1, desc="row"), S(A(2, 3, 4), A(2, 4), 1, -1, desc="dim 1, last")]
        if kind == "slice":
            return [S(A(5, 3), A(2, 3), 0, 1, 5, 2, desc="step 2"), S(A(3, 6), A(3, 3), 1, None, 3, desc="prefix"),
                    S(A(3, 4), A(3, 4), 1, desc="whole")]
        if kind == "diagonal":
            return [S(A(3, 4), A(3), desc="main"), S(A(3, 4), A(3), 1, desc="offset 1"),
                    S(A(2, 3, 3), A(2, 2), -1, 1, 2, desc="batched, offset -1")]
        return [S(A(3, 4), A(2, 2), (2, 2), (1, 2), desc="as_strided"), S(A(6), A(3), (3,), (2,), 0, desc="offset 0")]

    return gen


def ref_select_scatter(x, src, dim, index):
    y = x.copy()
    np.moveaxis(y, dim, 0)[index] = np.moveaxis(np.expand_dims(src, dim), dim, 0)[0]
    return y


def ref_slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    y = x.copy()
    key = [slice(None)] * x.ndim
    key[dim] = slice(start, end, step)
    y[tuple(key)] = src
    return y


def ref_diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    y = x.copy()
    v = np.moveaxis(y, (dim1, dim2), (-2, -1))
    n, m = v.shape[-2:]
    for k in range(src.shape[-1]):
        i, j = (k, k + offset) if offset >= 0 else (k - offset, k)
        v[..., i, j] = src[..., k]
    return y


def ref_as_strided_scatter(x, src, size, stride, offset=0):
    y = np.ascontiguousarray(x).copy()
    flat = y.reshape(-1)
    for pos in np.ndindex(*size):
        flat[offset + sum(p * s for p, s in zip(pos, stride))] = src[pos]
    return y


def split_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 6), 3, desc="sections"), S(A(3, 6), [1, 4], desc="indices"), S(A(6), 2, desc="1d")]


def ref_hsplit(x, s):
    return np.hsplit(x, s)


def diag_embed_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2, 3), desc="batched"), S(A(3), 1, desc="offset 1"), S(A(2, 3), -1, 0, 2, desc="dims 0, 2")]


def ref_diag_embed(x, offset=0, dim1=-2, dim2=-1):
    k = x.shape[-1]
    n = k + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), x.dtype)
    for i in range(k):
        r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
        out[..., r, c] = x[..., i]
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


def rot90_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2, 3), desc="k=1"), S(A(2, 3), 2, desc="k=2"), S(A(2, 3, 4), -1, (2, 0), desc="k=-1 dims (2, 0)"),
            S(A(2, 3), 5, (1, 0), desc="k=5 reversed dims")]


def sum_to_size_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2, 3, 4), (3, 1), desc="lead and inner"), S(A(2, 3), (1, 3), desc="dim 0"), S(A(2, 3), (2, 3), desc="same", dtype=dtype)]


def ref_sum_to_size(x, size):
    lead = x.ndim - len(size)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and x.shape[lead + i] != 1)
    if not axes:
        return x
    r = x.sum(axis=axes, keepdims=True).reshape(size)
    return r.astype(np.int64) if r.dtype.kind in "iub" else r


# ----------------------------------------------------------------------------
# order statistics and binning


def order_samples(rng, dtype):
    return [S(_distinct(rng, dtype, 3, 5), 1, desc="dim 1"), S(_distinct(rng, dtype, 4, 3), 0, desc="dim 0"),
            S(_distinct(rng, dtype, 2, 3, 4), -1, True, desc="keepdim")]


def ref_median(x, dim=None, keepdim=False):
    s = np.sort(x, axis=dim, kind="stable")
    k = (x.shape[dim] - 1) // 2
    vals = np.take(s, [k], axis=dim)
    idx = np.take(np.argsort(x, axis=dim, kind="stable"), [k], axis=dim)
    if not keepdim:
        vals, idx = vals.squeeze(dim), idx.squeeze(dim)
    return vals, idx


def median_nan_samples(rng, dtype):
    x = _distinct(rng, dtype, 3, 5)
    x[0, 1] = x[2, 0] = x[2, 3] = np.nan
    return order_samples(rng, dtype) + [S(x, 1, desc="NaNs", grad=False)]


def ref_nanmedian(x, dim=None, keepdim=False):
    xm = np.moveaxis(x, dim, -1)
    vals = np.empty(xm.shape[:-1], x.dtype)
    idx = np.zeros(xm.shape[:-1], np.int64)
    for pos in np.ndindex(*xm.shape[:-1]):
        row = xm[pos]
        ok = np.flatnonzero(~np.isnan(row))
        if ok.size == 0:
            vals[pos], idx[pos] = np.nan, 0
            continue
        order = ok[np.argsort(row[ok], kind="stable")]
        j = order[(ok.size - 1) // 2]
        vals[pos], idx[pos] = row[j], j
    if keepdim:
        vals, idx = np.expand_dims(vals, dim), np.expand_dims(idx, dim)
    return vals, idx


def ref_median_nan(x, dim=None, keepdim=False):
    vals, idx = ref_nanmedian(x, dim, keepdim)
    nan = np.isnan(x).any(axis=dim, keepdims=keepdim)
    first = np.argmax(np.isnan(x), axis=dim)
    if keepdim:
        first = np.expand_dims(first, dim)
    return np.where(nan, np.nan, vals), np.where(nan, first, idx)


def kth_samples(rng, dtype):
    return [S(_distinct(rng, dtype, 3, 5), 2, 1, desc="k=2 dim 1"), S(_distinct(rng, dtype, 4, 3), 4, 0, True,
                                                                       desc="k=4 keepdim")]


def ref_kthvalue(x, k, dim=-1, keepdim=False):
    order = np.argsort(x, axis=dim, kind="stable")
    idx = np.take(order, [k - 1], axis=dim)
    vals = np.take_along_axis(x, idx, axis=dim)
    return (vals, idx) if keepdim else (vals.squeeze(dim), idx.squeeze(dim))


def mode_samples(rng, dtype):
    x = np.asarray([[3, 1, 1, 3, 2], [5, 5, 4, 4, 4], [7, 6, 8, 9, 0]]).astype(make(rng, (1,), dtype).dtype)
    return [S(x, 1, desc="ties: the smaller value, last index", grad=False), S(x.T.copy(), 0, True, desc="keepdim",
                                                                                grad=False)]


def ref_mode(x, dim=-1, keepdim=False):
    xm = np.moveaxis(x, dim, -1)
    vals, idx = np.empty(xm.shape[:-1], x.dtype), np.zeros(xm.shape[:-1], np.int64)
    for pos in np.ndindex(*xm.shape[:-1]):
        row = list(xm[pos])
        best = min(set(row), key=lambda v: (-row.count(v), v))
        vals[pos], idx[pos] = best, len(row) - 1 - row[::-1].index(best)
    if keepdim:
        vals, idx = np.expand_dims(vals, dim), np.expand_dims(idx, dim)
    return vals, idx


def quantile_samples(rng, dtype):
    x = _distinct(rng, dtype, 3, 6)
    q = np.asarray([0.0, 0.3, 0.5, 1.0], dtype=x.dtype)
    return [S(x, 0.25, 1, desc="scalar q"), S(x, q, 0, True, desc="tensor q, keepdim", grad=False),
            S(x, 0.4, desc="all elements"),
            *[S(x, 0.35, 1, interpolation=m, desc=m, grad=m in ("linear", "midpoint")) for m in
              ("lower", "higher", "midpoint", "nearest")]]


def ref_quantile(x, q, dim=None, keepdim=False, interpolation="linear"):
    return np.quantile(x, q, axis=dim, keepdims=keepdim, method=interpolation)


def nanquantile_samples(rng, dtype):
    x = _distinct(rng, dtype, 3, 6)
    x[0, 2] = x[1, 0] = x[1, 5] = np.nan
    return [S(x, 0.25, 1, desc="NaNs ignored"), S(x, 0.5, desc="all elements")]


def ref_nanquantile(x, q, dim=None, keepdim=False, interpolation="linear"):
    return np.nanquantile(x, q, axis=dim, keepdims=keepdim, method=interpolation)


def cov_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 6), desc="rows are variables"), S(A(5), desc="1-d"), S(A(2, 5), correction=0, desc="correction=0"),
            S(A(2, 4), fweights=np.asarray([1, 2, 1, 3]), aweights=np.abs(A(4)) + 0.1, desc="weights")]


def ref_cov(x, correction=1, fweights=None, aweights=None):
    return np.asarray(np.cov(x, ddof=correction, fweights=fweights, aweights=aweights))


def searchsorted_samples(rng, dtype):
    seq = np.sort(make(rng, (6,), dtype), kind="stable")
    vals = make(rng, (3, 4), dtype)
    vals[0, :2] = seq[1], seq[4]  # exact hits: left and right differ
    nd = np.sort(make(rng, (3, 5), dtype), axis=-1)
    return [S(seq, vals, desc="left"), S(seq, vals, right=True, desc="right"), S(seq, vals, side="right", desc="side"),
            S(nd, make(rng, (3, 2), dtype), desc="batched sequence"), S(seq, vals, out_int32=True, desc="int32",
                                                                          dtype=graphc.int32)]


def ref_searchsorted(seq, v, right=False, side=None, out_int32=False):
    side = side or ("right" if right else "left")
    if seq.ndim == 1:
        r = np.searchsorted(seq, v, side=side)
    else:
        r = np.stack([np.searchsorted(s, vv, side=side) for s, vv in zip(seq, v)])
    return r.astype(np.int32 if out_int32 else np.int64)


def bucketize_samples(rng, dtype):
    b = np.sort(make(rng, (5,), dtype))
    x = make(rng, (3, 4), dtype)
    x[0, 0] = b[2]
    return [S(x, b, desc="left"), S(x, b, right=True, desc="right")]


def isin_samples(rng, dtype):
    A = _A(rng, dtype, -3, 3)
    if dtype.is_floating_point:
        e = np.round(A(3, 4))
        t = np.round(A(5))
    else:
        e, t = A(3, 4), A(5)
    return [S(e, t, desc="tensors"), S(e, t, invert=True, desc="invert"), S(e, t[:0], desc="empty test set")]


def histc_samples(rng, dtype):
    A = _A(rng, dtype, -3, 3)
    x = A(40)
    x[3] = 2.0  # on the right edge: the last bin
    return [S(x, 5, -2, 2, desc="range"), S(A(30), 7, desc="data range")]


def ref_histc(x, bins=100, min=0, max=0):
    lo, hi = (min, max) if (min, max) != (0, 0) else (x.min(), x.max())
    return np.histogram(x, bins=bins, range=(lo, hi))[0].astype(x.dtype)


def histogram_samples(rng, dtype):
    A = _A(rng, dtype, -3, 3)
    edges = np.asarray([-2.0, -0.5, 0.0, 1.0, 2.5], dtype=A(1).dtype)
    return [S(A(40), 6, desc="bins"), S(A(40), edges, desc="edges"), S(A(40), 4, range=(-1.0, 1.0), density=True,
                                                                      desc="range, density"),
            S(A(40), 5, weight=np.abs(A(40)), desc="weights")]


def ref_histogram(x, bins=100, range=None, weight=None, density=False):
    h, e = np.histogram(x, bins=bins, range=range, weights=weight, density=density)
    return h.astype(x.dtype), e.astype(x.dtype)


def histogramdd_samples(rng, dtype):
    A = _A(rng, dtype, -2, 2)
    return [S(A(30, 2), [3, 4], desc="two dims"), S(A(30, 3), 2, range=[-1.0, 1.0, -2.0, 2.0, 0.0, 1.0],
                                                     desc="ranges")]


def ref_histogramdd(x, bins=10, range=None, weight=None, density=False):
    rng = None if range is None else [(range[2 * i], range[2 * i + 1]) for i in np.arange(x.shape[1])]
    h, e = np.histogramdd(x, bins=bins, range=rng, weights=weight, density=density)
    return [h.astype(x.dtype)] + [a.astype(x.dtype) for a in e]


# ----------------------------------------------------------------------------
# indexed updates


def _idx(rng, high, shape):
    return rng.integers(0, high, shape).astype(np.int64)


def scatter_reduce_samples(rng, dtype):
    A = _A(rng, dtype, 0.5, 2.0)
    out = []
    for r in ("sum", "prod", "mean", "amax", "amin"):
        out.append(S(A(3, 4), 1, _idx(rng, 4, (3, 5)), A(3, 5), r, desc=r))
        out.append(S(A(3, 4), 0, _idx(rng, 3, (2, 4)), A(2, 4), r, include_self=False, desc=f"{r} without self"))
    return out


def ref_scatter_reduce(x, dim, index, src, reduce, include_self=True):
    out = x.astype(np.float64) if x.dtype.kind == "f" else x.astype(np.int64)
    groups = {}
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = index[pos]
        groups.setdefault(tuple(dst), []).append(src[pos])
    for dst, vals in groups.items():
        vals = ([x[dst]] if include_self else []) + vals
        if reduce == "sum":
            v = sum(vals)
        elif reduce == "prod":
            v = np.prod(vals)
        elif reduce == "amax":
            v = max(vals)
        elif reduce == "amin":
            v = min(vals)
        else:
            v = sum(vals) / len(vals) if x.dtype.kind == "f" else sum(vals) // len(vals)
        out[dst] = v
    return out.astype(x.dtype) if x.dtype.kind != "f" else out


def index_reduce_samples(rng, dtype):
    A = _A(rng, dtype, 0.5, 2.0)
    return [S(A(3, 4), 1, np.asarray([0, 2, 0]), A(3, 3), r, desc=r) for r in ("prod", "mean", "amax", "amin")] + [
        S(A(4, 2), 0, np.asarray([1, 1, 3]), A(3, 2), "amax", include_self=False, desc="amax without self")]


def ref_index_reduce(x, dim, index, src, reduce, include_self=True):
    full = np.broadcast_to(np.expand_dims(index, tuple(i for i in range(src.ndim) if i != dim)), src.shape)
    return ref_scatter_reduce(x, dim, np.ascontiguousarray(full), src, reduce, include_self)


def index_fill_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), 1, np.asarray([0, 3]), 1.5 if dtype.is_floating_point else 2, desc="dim 1"),
            S(A(3, 4), 0, np.asarray([2]), make(rng, (), dtype), desc="0-d tensor value")]


def ref_index_fill(x, dim, index, value):
    y = x.copy()
    key = [slice(None)] * x.ndim
    key[dim] = index
    y[tuple(key)] = value
    return y


def index_put_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), (np.asarray([0, 2]), np.asarray([1, 3])), A(2), desc="points"),
            S(A(3, 4), (np.asarray([0, 0, 2]), np.asarray([1, 1, 0])), A(3), True, desc="accumulate repeats"),
            S(A(3, 4), (np.asarray([2, 0]),), A(4), desc="rows, broadcast value")]


def ref_index_put(x, indices, values, accumulate=False):
    y = x.copy()
    if accumulate:
        np.add.at(y, tuple(indices), values)
    else:
        y[tuple(indices)] = values
    return y


def masked_scatter_samples(rng, dtype):
    A = _A(rng, dtype)
    mask = np.asarray([[True, False, True, True], [False, False, True, False], [True, True, False, False]])
    return [S(A(3, 4), mask, A(3, 4), desc="same shape"), S(A(3, 4), mask[0], A(10), desc="broadcast mask")]


def ref_masked_scatter(x, mask, src):
    y = x.copy()
    m = np.broadcast_to(mask, x.shape)
    y[m] = src.reshape(-1)[: int(m.sum())]
    return y


def put_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), np.asarray([0, 11, -2, 5]), A(4), desc="flat, negative"),
            S(A(3, 4), np.asarray([[1, 1], [2, 1]]), A(2, 2), True, desc="accumulate")]


def ref_put(x, index, src, accumulate=False):
    y = x.copy().reshape(-1)
    idx = index.reshape(-1) % y.size
    if accumulate:
        np.add.at(y, idx, src.reshape(-1))
    else:
        y[idx] = src.reshape(-1)
    return y.reshape(x.shape)


def take_along_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), _idx(rng, 4, (3, 2)), 1, desc="dim 1"), S(A(3, 4), _idx(rng, 3, (2, 1)), 0, desc="broadcast"),
            S(A(3, 4), _idx(rng, 12, (5,)), desc="flattened")]


def ref_take_along(x, idx, dim=None):
    if dim is None:
        return x.reshape(-1)[idx]
    return np.take_along_axis(x, idx, axis=dim)


def repeat_interleave_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3), np.asarray([1, 0, 2]), desc="tensor repeats"), S(A(3, 2), np.asarray([2, 1, 1]), 0, desc="dim 0"),
            S(A(2, 3), 2, 1, desc="int repeats"), S(A(2, 3), np.asarray([3]), desc="one repeat, flattened"),
            S(A(2, 2), np.asarray([1, 2]), 1, output_size=3, desc="output_size")]


def ref_repeat_interleave(x, repeats, dim=None, output_size=None):
    return np.repeat(x, repeats, axis=dim)


# ----------------------------------------------------------------------------
# finite differences and creation


def diff_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 5), desc="last dim"), S(A(4, 3), 2, 0, desc="n=2 dim 0"),
            S(A(3, 4), 1, -1, A(3, 1), A(3, 2), desc="prepend, append"), S(A(5), 7, desc="n > size")]


def ref_diff(x, n=1, dim=-1, prepend=None, append=None):
    kw = {}
    if prepend is not None:
        kw["prepend"] = prepend
    if append is not None:
        kw["append"] = append
    return np.diff(x, n=n, axis=dim, **kw)


def gradient_samples(rng, dtype):
    A = _A(rng, dtype)
    coords = np.cumsum(np.abs(A(5)) + 0.3)
    return [S(A(4, 5), desc="every dim"), S(A(4, 5), spacing=2.0, dim=1, desc="uniform spacing"),
            S(A(4, 5), spacing=(coords,), dim=1, desc="coordinates"), S(A(4, 5), dim=0, edge_order=2, desc="edge 2"),
            S(A(4, 5), spacing=(coords,), dim=-1, edge_order=2, desc="coordinates, edge 2")]


def ref_gradient(x, spacing=None, dim=None, edge_order=1):
    dims = list(range(x.ndim)) if dim is None else [dim]
    sp = [] if spacing is None else ([spacing] * len(dims) if np.isscalar(spacing) else list(spacing))
    out = np.gradient(x, *sp, axis=tuple(dims) if dim is None else dim, edge_order=edge_order)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def trapezoid_samples(rng, dtype):
    A = _A(rng, dtype)
    x = np.cumsum(np.abs(A(5)) + 0.2).astype(A(1).dtype)
    return [S(A(3, 5), desc="dx=1"), S(A(3, 5), dx=0.5, desc="dx"), S(A(3, 5), x, desc="x 1-d"),
            S(A(5, 3), dim=0, desc="dim 0")]


def ref_trapezoid(y, x=None, dx=None, dim=-1):
    return np.asarray(np.trapezoid(y, x=x, dx=1.0 if dx is None else dx, axis=dim))


def ref_cumulative_trapezoid(y, x=None, dx=None, dim=-1):
    y = np.moveaxis(y, dim, -1)
    widths = np.diff(x) if x is not None else np.full(y.shape[-1] - 1, 1.0 if dx is None else dx)
    out = np.cumsum(widths * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)
    return np.moveaxis(out, -1, dim)


def nonzero_static_samples(rng, dtype):
    x = make(rng, (3, 4), dtype)
    x[x.astype(np.float64) > 0.5] = 0
    return [S(x, size=4, desc="fewer rows than nonzeros"), S(x, size=20, desc="padded"),
            S(x, size=5, fill_value=7, desc="fill value")]


def ref_nonzero_static(x, size, fill_value=-1):
    nz = np.argwhere(x)
    out = np.full((size, x.ndim), fill_value, np.int64)
    out[: min(size, len(nz))] = nz[:size]
    return out


def unravel_samples(rng, dtype):
    return [S(np.asarray([0, 5, 11, 7]), (3, 4), desc="2d"), S(np.asarray(13), (2, 3, 4), desc="0d index")]


def ref_unravel(idx, shape):
    return list(np.unravel_index(idx, shape))


def meshgrid_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3), A(4), desc="ij"), S(A(3), A(4), A(2), indexing="xy", desc="xy")]


def ref_meshgrid(*ts, indexing="ij"):
    return list(np.meshgrid(*ts, indexing=indexing))


OPS: list[OpSpec] = [
    OpSpec("unfold", _tensor_unfold, ref_unfold, unfold_samples, dtypes=FLOAT + (i64,), method="unfold"),
    OpSpec("as_strided", graphc.as_strided, ref_as_strided, as_strided_samples, dtypes=FLOAT + (i64,),
           method="as_strided"),
    OpSpec("diagonal_copy", graphc.diagonal_copy, lambda x: np.diagonal(x).copy(), copy_samples),
    OpSpec("t_copy", graphc.t_copy, lambda x: x.T.copy(), copy_samples),
    OpSpec("narrow_copy", lambda x: graphc.narrow_copy(x, 1, 1, 2), lambda x: x[:, 1:3].copy(), copy_samples),
    OpSpec("unsqueeze_copy", lambda x: graphc.unsqueeze_copy(x, 1), lambda x: x[:, None].copy(), copy_samples),
    OpSpec("view_copy", lambda x: graphc.view_copy(x, (-1,)), lambda x: x.reshape(-1), copy_samples),
    OpSpec("select_scatter", graphc.select_scatter, ref_select_scatter, scatter_view_samples("select"),
           method="select_scatter"),
    OpSpec("slice_scatter", graphc.slice_scatter, ref_slice_scatter, scatter_view_samples("slice"),
           method="slice_scatter"),
    OpSpec("diagonal_scatter", graphc.diagonal_scatter, ref_diagonal_scatter, scatter_view_samples("diagonal"),
           method="diagonal_scatter"),
    OpSpec("as_strided_scatter", graphc.as_strided_scatter, ref_as_strided_scatter, scatter_view_samples("strided"),
           method="as_strided_scatter"),
    OpSpec("hsplit", graphc.hsplit, ref_hsplit, split_samples, dtypes=FLOAT + (i64,), method="hsplit"),
    OpSpec("diag_embed", graphc.diag_embed, ref_diag_embed, diag_embed_samples, method="diag_embed"),
    OpSpec("rot90", graphc.rot90, lambda x, k=1, dims=(0, 1): np.rot90(x, k, dims), rot90_samples,
           dtypes=FLOAT + (i64,), method="rot90"),
    OpSpec("sum_to_size", graphc.Tensor.sum_to_size, ref_sum_to_size, sum_to_size_samples, dtypes=FLOAT + INT,
           out_dtype=lambda d: d if d.is_floating_point else i64),  # ints sum to int64 (a no-op keeps the dtype)
    OpSpec("median_dim", graphc.median, ref_median_nan, median_nan_samples, out_dtype=lambda d: (d, i64),
           method="median"),
    OpSpec("nanmedian_dim", graphc.nanmedian, ref_nanmedian, median_nan_samples, out_dtype=lambda d: (d, i64),
           method="nanmedian"),
    OpSpec("kthvalue", graphc.kthvalue, ref_kthvalue, kth_samples, dtypes=FLOAT + (i64,), out_dtype=lambda d: (d, i64),
           method="kthvalue"),
    OpSpec("mode", graphc.mode, ref_mode, mode_samples, dtypes=FLOAT + (i64,), out_dtype=lambda d: (d, i64),
           method="mode", differentiable=False),
    OpSpec("msort", graphc.msort, lambda x: np.sort(x, axis=0), lambda r, d: [S(s.args[0], desc=s.desc) for s in order_samples(r, d)], dtypes=FLOAT + (i64,), method="msort"),
    OpSpec("quantile", graphc.quantile, ref_quantile, quantile_samples, method="quantile"),
    OpSpec("nanquantile", graphc.nanquantile, ref_nanquantile, nanquantile_samples, method="nanquantile"),
    OpSpec("cov", graphc.cov, ref_cov, cov_samples, method="cov"),
    OpSpec("corrcoef", graphc.corrcoef, lambda x: np.asarray(np.corrcoef(x)), lambda r, d: cov_samples(r, d)[:2],
           method="corrcoef"),
    OpSpec("searchsorted", graphc.searchsorted, ref_searchsorted, searchsorted_samples, dtypes=FLOAT + (i64,),
           out_dtype=I64, differentiable=False),
    OpSpec("bucketize", graphc.bucketize, lambda x, b, right=False: np.searchsorted(b, x, side="right" if right else "left"),
           bucketize_samples, dtypes=FLOAT + (i64,), out_dtype=I64, differentiable=False),
    OpSpec("isin", graphc.isin, lambda e, t, invert=False: np.isin(e, t, invert=invert), isin_samples,
           dtypes=FLOAT + (i64,), out_dtype=BOOL, differentiable=False),
    OpSpec("histc", graphc.histc, ref_histc, histc_samples, differentiable=False, method="histc"),
    OpSpec("histogram", graphc.histogram, ref_histogram, histogram_samples, differentiable=False, method="histogram"),
    OpSpec("histogramdd", lambda *a, **k: (lambda r: [r.hist, *r.bin_edges])(graphc.histogramdd(*a, **k)), ref_histogramdd, histogramdd_samples, differentiable=False),
    OpSpec("scatter_reduce", graphc.scatter_reduce, ref_scatter_reduce, scatter_reduce_samples, dtypes=FLOAT + (i64,),
           method="scatter_reduce", inplace="scatter_reduce_"),
    OpSpec("index_reduce", graphc.index_reduce, ref_index_reduce, index_reduce_samples, method="index_reduce",
           inplace="index_reduce_"),
    OpSpec("index_fill", graphc.index_fill, ref_index_fill, index_fill_samples, dtypes=FLOAT + (i64,),
           method="index_fill", inplace="index_fill_"),
    OpSpec("index_put", graphc.index_put, ref_index_put, index_put_samples, dtypes=FLOAT + (i64,), method="index_put",
           inplace="index_put_"),
    OpSpec("masked_scatter", graphc.masked_scatter, ref_masked_scatter, masked_scatter_samples, dtypes=FLOAT + (i64,),
           method="masked_scatter", inplace="masked_scatter_"),
    OpSpec("put", graphc.put, ref_put, put_samples, dtypes=FLOAT + (i64,), method="put", inplace="put_"),
    OpSpec("take_along_dim", graphc.take_along_dim, ref_take_along, take_along_samples, dtypes=FLOAT + (i64,),
           method="take_along_dim"),
    OpSpec("repeat_interleave", graphc.repeat_interleave, ref_repeat_interleave, repeat_interleave_samples,
           dtypes=FLOAT + (i64,), method="repeat_interleave"),
    OpSpec("diff", graphc.diff, ref_diff, diff_samples, dtypes=FLOAT + (i64,), method="diff"),
    OpSpec("gradient", graphc.gradient, ref_gradient, gradient_samples),
    OpSpec("trapezoid", graphc.trapezoid, ref_trapezoid, trapezoid_samples),
    OpSpec("cumulative_trapezoid", graphc.cumulative_trapezoid, ref_cumulative_trapezoid, trapezoid_samples),
    OpSpec("nonzero_static", graphc.nonzero_static, ref_nonzero_static, nonzero_static_samples, dtypes=FLOAT + (i64,),
           out_dtype=I64, differentiable=False, method="nonzero_static"),
    OpSpec("unravel_index", graphc.unravel_index, ref_unravel, unravel_samples, dtypes=(i64,), differentiable=False),
    OpSpec("meshgrid", graphc.meshgrid, ref_meshgrid, meshgrid_samples, dtypes=FLOAT + (i64,)),
]


# ----------------------------------------------------------------------------
# native_* (result and statistics)


def layer_norm_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), (4,), A(4), A(4), 1e-5, desc="affine"), S(A(2, 3, 4), (3, 4), None, None, 1e-5, desc="2 dims")]


def ref_layer_norm(x, shape, w, b, eps):
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    m = x.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(((x - m) ** 2).mean(axis=axes, keepdims=True) + eps)
    out = (x - m) * rstd
    if w is not None:
        out = out * w + b
    return out, m, rstd


def group_norm_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2, 4, 3), A(4), A(4), 2, 4, 3, 2, 1e-5, desc="2 groups")]


def ref_group_norm(x, w, b, n, c, hw, group, eps):
    g = x.reshape(n, group, -1)
    m = g.mean(axis=2, keepdims=True)
    rstd = 1 / np.sqrt(((g - m) ** 2).mean(axis=2, keepdims=True) + eps)
    out = ((g - m) * rstd).reshape(x.shape) * w.reshape(1, c, 1) + b.reshape(1, c, 1)
    return out, m.reshape(n, group), rstd.reshape(n, group)


def batch_norm_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(4, 3, 2), A(3), A(3), None, None, True, 0.1, 1e-5, desc="training"),
            S(A(4, 3), None, None, np.abs(A(3)), np.abs(A(3)) + 0.5, False, 0.1, 1e-5, desc="eval", grad=False)]


def ref_batch_norm(x, w, b, rm, rv, training, momentum, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        m = x.mean(axis=axes)
        inv = 1 / np.sqrt(x.var(axis=axes) + eps)
    else:
        m, inv = rm, 1 / np.sqrt(rv + eps)
    out = (x - m.reshape(shape)) * inv.reshape(shape)
    if w is not None:
        out = out * w.reshape(shape) + b.reshape(shape)
    return (out, m, inv) if training else (out, np.zeros(0), np.zeros(0))


OPS += [
    OpSpec("native_layer_norm", graphc.native_layer_norm, ref_layer_norm, layer_norm_samples),
    OpSpec("native_group_norm", graphc.native_group_norm, ref_group_norm, group_norm_samples),
    OpSpec("native_batch_norm", graphc.native_batch_norm, ref_batch_norm, batch_norm_samples),
    OpSpec("native_dropout_backward", graphc.native_dropout_backward, lambda g, m, s: g * m * s,
           lambda r, d: [S(make(r, (3, 4), d), make(r, (3, 4), graphc.bool), 2.0, desc="mask")]),
]
