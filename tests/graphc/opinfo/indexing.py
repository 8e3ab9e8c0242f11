"""Joining and splitting, gather/scatter/index_select, and ``tensor[key]`` (read and write)."""

from __future__ import annotations

import numpy as np

import graphc

from .core import FLOAT, NC, OpSpec, S, b8, i64, make, scalar


def ref_gather(x, dim, index):
    out = np.empty(index.shape, x.dtype)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


def ref_scatter_add(x, dim, index, src):
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = index[pos]
        out[tuple(dst)] += src[pos]
    return out


def ref_split(x, size_or_sections, dim=0):
    n = x.shape[dim]
    if isinstance(size_or_sections, int):
        bounds = list(range(size_or_sections, n, size_or_sections))
    else:
        bounds = list(np.cumsum(size_or_sections)[:-1])
    return np.split(x, bounds, axis=dim)


def ref_chunk(x, chunks, dim=0):
    n = x.shape[dim]
    size = -(-n // chunks)
    return ref_split(x, size, dim)


def torch_key(ndim, key):
    """PyTorch's indexing as two NumPy keys: PyTorch selects integer dims first and then
    indexes the rest, so ``x[1, :, [0]]`` of a [2, 3, 2] tensor is [3, 1] (NumPy: [1, 3])."""
    keys = list(key) if isinstance(key, tuple) else [key]

    def consumed(k):
        if k is None:
            return 0
        if isinstance(k, np.ndarray) and k.dtype == np.bool_:
            return k.ndim
        return 1

    for i, k in enumerate(keys):
        if k is Ellipsis:
            n = sum(consumed(o) for o in keys if o is not Ellipsis)
            keys[i : i + 1] = [slice(None)] * (ndim - n)
            break
    first, rest = [], []
    for k in keys:
        if isinstance(k, int):
            first.append(k)
        elif k is None:
            rest.append(None)
        else:
            first.extend([slice(None)] * consumed(k))
            rest.append(k)
    return tuple(first), tuple(rest)


def ref_getitem(x, key):
    first, rest = torch_key(x.ndim, key)
    return np.asarray(np.asarray(x[first])[rest])


def ref_setitem(x, key, value):
    y = x.copy()
    first, rest = torch_key(x.ndim, key)
    if rest:
        y[first][rest] = value  # y[first] is a basic index: a view of y
    else:
        y[first] = value
    return y


def op_setitem(x, key, value):
    """Assignment into a non-leaf copy (gradients flow to x and to a tensor value)."""
    y = x.clone()
    y[key] = value
    return y


def cat_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S([A(2, 3), A(1, 3)], 0, desc="dim 0"),
        S([A(2, 3), A(2, 1), A(2, 2)], 1, desc="dim 1, three"),
        S([A(2, 3), A(2, 2)], -1, desc="dim -1"),
        S([A(0, 3), A(2, 3)], 0, desc="size0 part"),
        S([A(2, 3), A(0)], 0, desc="legacy 1-d empty skipped"),
        S([A(3)], 0, desc="single"),
        S([NC(A(3, 4), "T"), A(1, 4)], 0, desc="transposed part"),
    ]


def stack_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S([A(2, 3), A(2, 3)], 0, desc="dim 0"),
        S([A(2, 3), A(2, 3), A(2, 3)], 1, desc="dim 1"),
        S([A(2, 3), A(2, 3)], -1, desc="dim -1"),
        S([A(), A()], 0, desc="0d"),
        S([A(0, 2), A(0, 2)], 1, desc="size0"),
        S([NC(A(3, 4), "T"), A(3, 4)], 2, desc="transposed"),
    ]


def split_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(5, 2), 2, desc="size 2 (last smaller)"),
        S(A(5, 2), [1, 4], desc="sections"),
        S(A(2, 6), 3, 1, desc="dim 1"),
        S(A(2, 3), [3, 0], -1, desc="empty section, dim -1"),
        S(A(3, 2), 5, desc="size > dim"),
        S(NC(A(3, 4), "T"), 2, 1, desc="transposed"),
    ]


def chunk_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(5, 2), 3, desc="5 into 3"),
        S(A(6, 2), 3, desc="6 into 3"),
        S(A(2, 4), 2, 1, desc="dim 1"),
        S(A(2, 2), 5, desc="more chunks than rows"),
        S(NC(A(3, 4), "T"), 2, -1, desc="transposed"),
    ]


def unbind_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), desc="dim 0"),
        S(A(2, 3), 1, desc="dim 1"),
        S(A(2, 1, 3), -1, desc="dim -1"),
        S(NC(A(3, 4), "T"), 0, desc="transposed"),
    ]


def _idx(rng, high, shape):
    return rng.integers(0, high, shape).astype(np.int64)


def gather_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 4), 1, _idx(rng, 4, (3, 2)), desc="dim 1"),
        S(A(3, 4), 0, _idx(rng, 3, (2, 4)), desc="dim 0"),
        S(A(3, 4), -1, _idx(rng, 4, (2, 5)), desc="dim -1, repeats, smaller rows"),
        S(A(2, 3, 2), 1, _idx(rng, 3, (2, 2, 2)), desc="3d"),
        # one index per line along dim and the input's other sizes: the gradient is a one-hot select
        S(A(5, 4), 1, _idx(rng, 4, (5, 1)), desc="one per row (one-hot gradient)"),
        S(A(3, 4, 2), 0, _idx(rng, 3, (1, 4, 2)), desc="one per line, 3d dim 0 (one-hot gradient)"),
        S(A(3, 4), 1, _idx(rng, 4, (2, 1)), desc="one per row, fewer rows (scatter gradient)"),
        S(A(3, 4), 1, _idx(rng, 4, (3, 0)), desc="empty index"),
        S(NC(A(3, 4), "T"), 0, _idx(rng, 3, (2, 4)), desc="transposed"),
    ]


def scatter_add_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 4), 1, _idx(rng, 4, (3, 4)), A(3, 4), desc="dim 1 with repeats"),
        S(A(3, 4), 0, _idx(rng, 3, (2, 4)), A(2, 4), desc="dim 0"),
        S(A(3, 4), -1, _idx(rng, 4, (2, 2)), A(2, 2), desc="dim -1 partial"),
        S(A(2, 3, 2), 2, _idx(rng, 2, (2, 3, 2)), A(2, 3, 2), desc="3d"),
        S(NC(A(3, 4), "T"), 0, _idx(rng, 3, (2, 4)), NC(A(2, 4), "T"), desc="transposed"),
    ]


def index_select_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 4), 0, np.asarray([2, 0, 2]), desc="dim 0, repeats"),
        S(A(3, 4), 1, np.asarray([3, 1]), desc="dim 1"),
        S(A(3, 4), -1, np.asarray([0]), desc="dim -1, one"),
        S(A(3, 4), 0, np.zeros(0, np.int64), desc="empty index"),
        S(A(3, 4), 1, np.asarray(2), desc="0-d index"),
        S(A(2, 3, 2), 1, np.asarray([1, 1]), desc="3d"),
        S(NC(A(3, 4), "T"), 0, np.asarray([1, 2]), desc="transposed"),
    ]


def getitem_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    x = A(3, 4)
    mask = np.asarray([[True, False, True, True], [False, False, False, True], [True, True, False, False]])
    x3 = A(2, 3, 4)
    return [
        S(x, 1, desc="int"),
        S(x, -1, desc="negative int"),
        S(x, (0, 2), desc="two ints -> 0d"),
        S(x, (slice(None), 1), desc="[:, 1]"),
        S(x, slice(1, None), desc="[1:]"),
        S(x, slice(None, None, 2), desc="[::2]"),
        S(x, (slice(None), slice(1, 4, 2)), desc="[:, 1:4:2]"),
        S(x, (slice(-2, None), slice(None, -1)), desc="negative slice bounds"),
        S(x, (slice(1, 100), slice(-100, 2)), desc="slice bounds past the ends"),
        S(x, (slice(3, 1), slice(None, None, 5)), desc="empty slice, step > size"),
        S(x, [True, False, True], desc="list of bools is a mask"),
        S(x, None, desc="None"),
        S(x, (None, slice(None), None, 0), desc="None in the middle"),
        S(x3, (Ellipsis, 1), desc="[..., 1]"),
        S(x3, (0, Ellipsis, None), desc="[0, ..., None]"),
        S(x, mask, desc="bool mask (same shape)"),
        S(x, np.asarray([True, False, True]), desc="bool mask on dim 0"),
        S(x, (slice(None), np.asarray([False, True, True, False])), desc="[:, mask]"),
        S(x, [0, 2], desc="list"),
        S(x, [-1, 0, 0], desc="list with negative and repeat"),
        S(x, np.asarray([[0, 1], [2, 0]]), desc="2d index tensor"),
        S(x, (slice(None), [3, 0]), desc="[:, list] (mixed)"),
        S(x, (1, [0, 2]), desc="int and list (adjacent)"),
        S(x3, ([0, 1], slice(None), [1, 3]), desc="separated advanced (front)"),
        S(x3, (slice(None), [2, 0], [1, 3]), desc="adjacent advanced"),
        S(x3, (1, slice(None), [0, 2]), desc="int, slice, list: ints select first (PyTorch)"),
        S(x3, ([1, 0], 2, slice(None), None), desc="list, int, slice, None"),
        S(x3, (Ellipsis, np.asarray([0, -1])), desc="[..., idx] negative"),
        S(x3, (slice(None, None, 2), np.asarray([[1], [2]]), slice(1, 3)), desc="basic + broadcast advanced"),
        S(A(), (), desc="0d []"),
        S(A(), None, desc="0d None"),
        S(A(), Ellipsis, desc="0d ..."),
        S(A(0, 3), (slice(None), 1), desc="size0 [:, 1]"),
        S(NC(A(3, 4), "T"), (slice(None), [1, 2]), desc="transposed, advanced"),
        S(NC(A(3, 4), "step"), (slice(None, None, 2), 1), desc="strided, basic"),
    ]


def setitem_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    v = scalar(dtype, 0)
    mask = np.asarray([[True, False, True, True], [False, False, False, True], [True, True, False, False]])
    return [
        S(A(3, 4), (slice(None), 1), v, desc="x[:, 1] = 0"),
        S(A(3, 4), 1, A(4), desc="x[1] = row"),
        S(A(3, 4), -1, A(1), desc="x[-1] = broadcast (1,)"),
        S(A(3, 4), slice(None, None, 2), A(2, 4), desc="x[::2] = t"),
        S(A(3, 4), (Ellipsis, 0), A(3), desc="x[..., 0] = t"),
        S(A(3, 4), mask, v, desc="x[mask] = 0"),
        S(A(3, 4), mask, A(int(mask.sum())), desc="x[mask] = values"),
        S(A(3, 4), [0, 2], A(2, 4), desc="x[[0, 2]] = t"),
        S(A(3, 4), [0, 2], A(4), desc="x[[0, 2]] = broadcast row"),
        S(A(3, 4), (slice(None), [3, 0]), A(3, 2), desc="x[:, [3, 0]] = t"),
        S(A(3, 4), (np.asarray([0, -1]), np.asarray([1, 2])), A(2), desc="point indices"),
        S(A(2, 3, 2), (1, slice(None), [0]), A(3, 1), desc="3d mixed"),
        S(A(), (), scalar(dtype, 3), desc="0d x[()] = 3"),
        S(NC(A(3, 4), "T"), (slice(None), 2), A(3), desc="transposed x"),
    ]


def index_dtypes_samples(rng, dtype):
    return [S(make(rng, (3, 4), dtype), np.asarray([2, 0]).astype(np.int32), desc="int32 index")]


OPS: list[OpSpec] = [
    # -- joining and splitting --------------------------------------------
    OpSpec(
        "cat",
        graphc.cat,
        lambda ts, d: np.concatenate([t for t in ts if not (t.ndim == 1 and t.size == 0)], d),
        cat_samples,
        dtypes=FLOAT + (i64, b8),
    ),
    OpSpec("stack", graphc.stack, lambda ts, d: np.stack(ts, d), stack_samples, dtypes=FLOAT + (i64,)),
    OpSpec("split", graphc.split, ref_split, split_samples, dtypes=FLOAT + (i64,), method="split"),
    OpSpec("chunk", graphc.chunk, ref_chunk, chunk_samples, dtypes=FLOAT + (i64,), method="chunk"),
    OpSpec(
        "unbind",
        graphc.unbind,
        lambda x, d=0: [np.take(x, i, axis=d) for i in range(x.shape[d])],
        unbind_samples,
        dtypes=FLOAT + (i64,),
        method="unbind",
    ),
    # -- gather / scatter / index_select ----------------------------------
    OpSpec(
        "gather",
        graphc.gather,
        lambda x, d, i: ref_gather(x, d % x.ndim, i),
        gather_samples,
        dtypes=FLOAT + (i64,),
        method="gather",
    ),
    OpSpec(
        "scatter_add",
        graphc.scatter_add,
        lambda x, d, i, s: ref_scatter_add(x, d % x.ndim, i, s),
        scatter_add_samples,
        dtypes=FLOAT + (i64,),
        method="scatter_add",
        inplace="scatter_add_",
    ),
    OpSpec(
        "index_select",
        graphc.index_select,
        lambda x, d, i: np.take(x, np.atleast_1d(i), axis=d),
        index_select_samples,
        dtypes=FLOAT + (i64,),
        method="index_select",
    ),
    OpSpec(
        "index_select_int32",
        lambda x, i: graphc.index_select(x, 0, i),
        lambda x, i: x[i],
        index_dtypes_samples,
        dtypes=FLOAT,
    ),
    # -- indexing ---------------------------------------------------------
    OpSpec("getitem", lambda x, key: x[key], ref_getitem, getitem_samples, dtypes=FLOAT + (i64, b8)),
    OpSpec("setitem", op_setitem, ref_setitem, setitem_samples, dtypes=FLOAT + (i64,)),
]
