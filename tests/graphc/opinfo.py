"""The per-op test database: one :class:`OpSpec` per op, in the manner of PyTorch's OpInfo.

An entry names the op, the graphc callable, an independent numpy reference
(evaluated in float64), a sample-input generator, the dtypes it is tested in,
whether it is differentiable, and its tolerances. ``tests/graphc/test_ops.py``
runs generic tests over the table:

* forward: graphc's result against the float64 numpy reference, for every
  dtype and sample (shapes with broadcasting, 0-d, size-0 and size-1 dims,
  and non-contiguous inputs: stored transposed, or every other element);
* backward: ``graphc.autograd.gradcheck`` (central differences) on float64;
* in-place ``name_`` methods against the out-of-place op.

Samples hold numpy arrays; each test turns them into fresh graphc tensors
(``from_numpy``, keeping the layout), so no test sees another's writes. An
argument wrapped in :class:`NC` is laid out non-contiguously. Python values
(scalars, keys, dims) are passed as they are; lists and tuples are walked, so
``[a, b]`` for ``cat`` becomes a list of tensors and ``(slice(None), idx)`` a
key holding an index tensor.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import graphc

f16, f32, f64 = graphc.float16, graphc.float32, graphc.float64
i32, i64, u8, b8 = graphc.int32, graphc.int64, graphc.uint8, graphc.bool

FLOAT = (f32, f64)
FLOAT16 = (f16, f32, f64)
INT = (i32, i64)

# (rtol, atol) per dtype. float16 results are rounded to 11 bits (2**-11 ~ 4.9e-4).
TOLERANCES = {
    f16: (2e-3, 2e-3),
    f32: (1e-5, 1e-5),
    f64: (1e-7, 1e-7),
}

_NP = {f16: np.float16, f32: np.float32, f64: np.float64, i32: np.int32, i64: np.int64, u8: np.uint8, b8: np.bool_}


# ----------------------------------------------------------------------------
# samples


class NC:
    """An argument stored non-contiguously: ``"T"`` (last two dims stored swapped,
    so the tensor is a transposed view) or ``"step"`` (every other element of a
    buffer twice as long in the last dim)."""

    def __init__(self, arr, how: str = "T"):
        self.arr = np.asarray(arr)
        self.how = how

    def __repr__(self):
        return f"NC({self.how}, {self.arr.shape})"


def layout(arr: np.ndarray, how: str) -> np.ndarray:
    """A fresh array equal to ``arr`` in the non-contiguous layout ``how``."""
    if how == "T":
        assert arr.ndim >= 2
        out = np.ascontiguousarray(np.swapaxes(arr, -1, -2)).swapaxes(-1, -2)
    elif how == "step":
        assert arr.ndim >= 1
        buf = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
        buf[..., ::2] = arr
        out = buf[..., ::2]
    else:
        raise ValueError(how)
    assert not out.flags.c_contiguous or out.size <= 1
    return out


@dataclass
class S:
    """One sample: positional and keyword arguments, a description, and whether
    gradcheck runs on it (``grad``); ``dtype`` overrides the spec's out dtype."""

    args: tuple
    kwargs: dict
    desc: str = ""
    grad: bool = True
    dtype: object = None

    def __init__(self, *args, desc="", grad=True, dtype=None, **kwargs):
        self.args, self.kwargs, self.desc, self.grad, self.dtype = args, kwargs, desc, grad, dtype


def to_graphc(obj, requires_grad: bool = False):
    """Sample arguments as graphc values (fresh tensors; float ones may require grad)."""
    if isinstance(obj, NC):
        t = graphc.from_numpy(layout(obj.arr, obj.how))
        assert not t.is_contiguous() or t.numel() <= 1
    elif isinstance(obj, np.ndarray):
        t = graphc.from_numpy(obj.copy())
    elif isinstance(obj, list) and obj and all(isinstance(o, (np.ndarray, NC)) for o in obj):
        return [to_graphc(o, requires_grad) for o in obj]
    elif isinstance(obj, tuple):
        return tuple(to_graphc(o, requires_grad) for o in obj)
    elif isinstance(obj, dict):
        return {k: to_graphc(v, requires_grad) for k, v in obj.items()}
    else:
        return obj
    if requires_grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def to_numpy(obj):
    """Sample arguments for the reference: float arrays in float64, the rest as given."""
    if isinstance(obj, NC):
        obj = obj.arr
    if isinstance(obj, np.ndarray):
        return obj.astype(np.float64) if obj.dtype.kind == "f" else obj.copy()
    if isinstance(obj, list) and obj and all(isinstance(o, (np.ndarray, NC)) for o in obj):
        return [to_numpy(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(to_numpy(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    return obj


def make(rng, shape, dtype, low=-2.0, high=2.0, away=0.0) -> np.ndarray:
    """Random values of ``dtype`` in [low, high]; with ``away``, |x| >= away (a symmetric
    range is assumed) to keep clear of kinks and poles."""
    shape = tuple(shape)
    if dtype is b8:
        return np.asarray(rng.random(shape) < 0.5)
    npd = _NP[dtype]
    if dtype.is_floating_point:
        if away:
            x = rng.uniform(away, high, shape) * rng.choice([-1.0, 1.0], shape)
        else:
            x = rng.uniform(low, high, shape)
        return np.asarray(x, dtype=npd)
    lo, hi = math.ceil(low), math.floor(high)
    if dtype is u8:
        lo = max(lo, 0)
    if away:
        x = rng.integers(max(1, math.ceil(away)), hi + 1, shape) * rng.choice([-1, 1], shape)
    else:
        x = rng.integers(lo, hi + 1, shape)
    return np.asarray(x, dtype=npd)


def scalar(dtype, value):
    """A Python scalar of ``dtype``'s kind (weak in type promotion)."""
    if dtype is b8:
        return bool(value)
    return float(value) if dtype.is_floating_point else int(value)


# ----------------------------------------------------------------------------
# the spec


def SAME(d):
    return d


def BOOL(d):
    return b8


def FLOATIFY(d):
    return d if d.is_floating_point else f32


def INT64IFY(d):
    return d if d.is_floating_point else i64


def I64(d):
    return i64


@dataclass
class OpSpec:
    name: str
    op: Callable
    ref: Callable
    samples: Callable  # (rng, dtype) -> list[S]
    dtypes: tuple = FLOAT
    differentiable: bool = True
    out_dtype: Callable = SAME  # input dtype -> result dtype (or a tuple, one per output)
    tol: dict = field(default_factory=dict)  # per-dtype (rtol, atol) overrides
    inplace: str | None = None  # name of the Tensor method that does it in place
    method: str | None = None  # name of the Tensor method that does it out of place

    def tolerance(self, dtype):
        return self.tol.get(dtype, TOLERANCES.get(dtype, (0, 0)))

    def sample_list(self, dtype) -> list:
        rng = np.random.default_rng(zlib.crc32(f"{self.name}/{dtype.name}".encode()))
        return self.samples(rng, dtype)


# ----------------------------------------------------------------------------
# sample generators


def unary_samples(low=-2.0, high=2.0, away=0.0):
    def gen(rng, dtype):
        def A(*shape):
            return make(rng, shape, dtype, low, high, away)

        return [
            S(A(2, 3), desc="2d"),
            S(A(), desc="0d"),
            S(A(0, 3), desc="size0"),
            S(A(1), desc="size1"),
            S(A(2, 1, 3), desc="3d with size-1 dim"),
            S(NC(A(3, 4), "T"), desc="transposed"),
            S(NC(A(2, 3), "step"), desc="strided"),
        ]

    return gen


_BINARY_SHAPES = [
    ((2, 3), (2, 3), "same"),
    ((2, 3), (3,), "broadcast row"),
    ((2, 1), (1, 3), "broadcast both"),
    ((3, 1, 2), (4, 1), "broadcast 3d"),
    ((), (2, 3), "0d lhs"),
    ((2, 3), (), "0d rhs"),
    ((), (), "0d both"),
    ((0, 3), (1, 3), "size0"),
    ((1,), (1,), "size1"),
]


def binary_samples(a=(-2.0, 2.0, 0.0), b=(-2.0, 2.0, 0.0), scalar_b=1.5, ints=False):
    """Pairs over the broadcasting shapes above, plus non-contiguous operands and a
    Python scalar rhs. ``a``/``b``: (low, high, away) for each operand. ``ints``:
    integer-valued floats (so comparisons see ties)."""

    def gen(rng, dtype):
        def mk(shape, rng_args):
            if ints and dtype.is_floating_point:
                return make(rng, shape, i64, *rng_args).astype(_NP[dtype])
            return make(rng, shape, dtype, *rng_args)

        out = [S(mk(sa, a), mk(sb, b), desc=d) for sa, sb, d in _BINARY_SHAPES]
        out.append(S(NC(mk((3, 4), a), "T"), mk((4,), b), desc="transposed lhs"))
        out.append(S(mk((2, 3), a), NC(mk((2, 3), b), "step"), desc="strided rhs"))
        if scalar_b is not None:
            out.append(S(mk((2, 3), a), scalar(dtype, scalar_b), desc="python scalar rhs"))
        return out

    return gen


def _red_samples(rng, dtype, low=-2.0, high=2.0, tuple_dims=True, keepdim=True):
    def A(*shape):
        return make(rng, shape, dtype, low, high)

    out = [
        S(A(2, 3, 2), desc="all dims"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=-1, desc="dim=-1"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(A(1, 3), dim=0, desc="size-1 dim"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]
    if tuple_dims:
        out.append(S(A(2, 3, 2), dim=(0, 2), desc="dim=(0, 2)"))
        out.append(S(A(2, 3, 2), dim=(-1, 0), desc="dim=(-1, 0)"))
    if keepdim:
        out.append(S(A(2, 3, 2), dim=1, keepdim=True, desc="keepdim"))
        if tuple_dims:
            out.append(S(A(2, 3, 2), dim=(0, 1), keepdim=True, desc="tuple keepdim"))
    return out


def reduce_samples(low=-2.0, high=2.0, tuple_dims=True, empty=True):
    def gen(rng, dtype):
        out = _red_samples(rng, dtype, low, high, tuple_dims)
        if empty:
            out.append(S(make(rng, (0, 3), dtype), dim=0, desc="reduce size-0 dim"))
            out.append(S(make(rng, (0, 3), dtype), desc="all of size 0"))
        return out

    return gen


def _axis(x, dim):
    """numpy's axis for PyTorch's ``dim`` (a 0-d tensor reduces over dim 0 or -1 as if 1-d)."""
    if dim is None or x.ndim == 0:
        return None
    return dim


def red_ref(fn):
    def ref(x, dim=None, keepdim=False, **kw):
        out = fn(x, axis=_axis(x, dim), keepdims=keepdim if x.ndim else False, **kw)
        return np.asarray(out)

    return ref


# ----------------------------------------------------------------------------
# references that numpy does not spell the same way


def ref_erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.astype(np.float64)


def ref_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_log_softmax(x, dim):
    if x.ndim == 0:
        return np.zeros_like(x)
    if x.shape[dim] == 0:
        return x.copy()
    m = np.max(x, axis=dim, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))


def ref_softmax(x, dim):
    return np.exp(ref_log_softmax(x, dim))


def ref_logsumexp(x, dim, keepdim=False):
    axis = _axis(x, dim)
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdim and x.ndim:
        r = np.squeeze(r, axis=axis)
    return r.reshape(()) if x.ndim == 0 else r


def ref_norm(x, p=2, dim=None, keepdim=False):
    axis = _axis(x, dim)
    a = np.abs(x)
    if p == math.inf:
        return np.max(a, axis=axis, keepdims=keepdim)
    return np.sum(a**p, axis=axis, keepdims=keepdim) ** (1.0 / p)


def ref_maxmin(np_fn, np_arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return np_fn(x)
        if x.ndim == 0:
            return x.copy(), np.zeros((), np.int64)
        return np_fn(x, axis=dim, keepdims=keepdim), np_arg(x, axis=dim, keepdims=keepdim)

    return ref


def ref_arg(np_arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            r = np_arg(x.reshape(-1))
            return np.asarray(r).reshape((1,) * x.ndim if keepdim else ())
        if x.ndim == 0:
            return np.zeros((), np.int64)
        return np_arg(x, axis=dim, keepdims=keepdim)

    return ref


def ref_div(a, b, rounding_mode=None):
    q = np.true_divide(a, b)
    if rounding_mode == "trunc":
        q = np.trunc(q)
    elif rounding_mode == "floor":
        q = np.floor_divide(a, b)
    return q


def ref_clamp(x, min=None, max=None):
    if min is not None:
        x = np.maximum(x, min)
    if max is not None:
        x = np.minimum(x, max)
    return x


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


def ref_tri(lower):
    def ref(x, diagonal=0):
        rows, cols = x.shape[-2:]
        i, j = np.arange(rows)[:, None], np.arange(cols)[None, :]
        keep = (j - i <= diagonal) if lower else (j - i >= diagonal)
        return np.where(keep, x, 0).astype(x.dtype)

    return ref


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


# ----------------------------------------------------------------------------
# sample generators for the non-elementwise ops


def where_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    def C(*s):
        return np.asarray(rng.random(s) < 0.5)

    return [
        S(C(2, 3), A(2, 3), A(2, 3), desc="same shapes"),
        S(C(3), A(2, 1), A(1, 3), desc="broadcast all three"),
        S(C(2, 3), A(), A(2, 3), desc="0d x"),
        S(C(), A(2, 3), A(2, 3), desc="0d cond"),
        S(C(2, 3), A(2, 3), scalar(dtype, 0.5), desc="python scalar y"),
        S(C(0, 3), A(0, 3), A(3), desc="size0"),
        S(NC(C(3, 4), "T"), NC(A(3, 4), "T"), NC(A(3, 4), "step"), desc="non-contiguous"),
    ]


def clamp_samples(rng, dtype):
    def A(*s, lo=-2.0, hi=2.0):
        return make(rng, s, dtype, lo, hi)

    lo, hi = (
        scalar(dtype, -0.5 if dtype.is_floating_point else -1),
        scalar(dtype, 0.5 if dtype.is_floating_point else 1),
    )
    return [
        S(A(2, 3), min=lo, max=hi, desc="scalar min and max"),
        S(A(2, 3), min=lo, desc="scalar min only"),
        S(A(2, 3), max=hi, desc="scalar max only"),
        S(A(), min=lo, max=hi, desc="0d"),
        S(A(0, 2), min=lo, desc="size0"),
        S(A(2, 3), min=A(3, lo=-1.5, hi=-0.5), max=A(2, 1, lo=0.5, hi=1.5), desc="tensor bounds, broadcast"),
        S(A(2, 3), min=A(2, 3, lo=-1.5, hi=0.0), desc="tensor min only"),
        S(A(3), max=A(lo=0.0, hi=1.0), desc="0d tensor max"),
        S(NC(A(3, 4), "T"), min=lo, max=hi, desc="transposed"),
    ]


def masked_fill_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    def M(*s):
        return np.asarray(rng.random(s) < 0.5)

    v = scalar(dtype, -0.25 if dtype.is_floating_point else 7)
    return [
        S(A(2, 3), M(2, 3), v, desc="same shape"),
        S(A(2, 3), M(3), v, desc="broadcast mask"),
        S(A(2, 3), M(2, 3), np.asarray(v, _NP[dtype]), desc="0d tensor value"),
        S(A(), M(), v, desc="0d"),
        S(A(0, 3), M(0, 3), v, desc="size0"),
        S(NC(A(3, 4), "T"), M(3, 4), v, desc="transposed"),
    ]


def prod_samples(rng, dtype):
    def A(*s):
        if not dtype.is_floating_point:
            return make(rng, s, dtype, -2, 2)
        return np.asarray(make(rng, s, dtype, 0.5, 1.5) * make(rng, s, dtype, -1, 1, away=1))

    with_zero = A(2, 3)
    with_zero[0, 1] = 0
    two_zeros = A(2, 3)
    two_zeros[1, 0] = two_zeros[1, 2] = 0
    return [
        S(A(2, 3), desc="all"),
        S(A(2, 3), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=-1, keepdim=True, desc="dim=-1 keepdim"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(with_zero, dim=1, desc="one zero in a row"),
        S(two_zeros, dim=1, desc="two zeros in a row"),
        S(with_zero, desc="zero, all dims"),
        S(make(rng, (0, 3), dtype), dim=0, desc="size0 dim -> ones"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def maxmin_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, -5, 5)

    ties = np.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]).astype(_NP[dtype])
    vi = (dtype, i64)  # (values, indices)
    return [
        S(A(2, 3), desc="all"),
        S(A(2, 3), dim=1, desc="dim=1", dtype=vi),
        S(A(2, 3, 2), dim=-2, desc="dim=-2", dtype=vi),
        S(A(2, 3), dim=0, keepdim=True, desc="dim=0 keepdim", dtype=vi),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0", dtype=vi),
        S(A(1, 3), dim=0, desc="size-1 dim", dtype=vi),
        S(NC(A(3, 4), "T"), dim=1, desc="transposed", dtype=vi),
        S(ties, desc="ties, all dims", grad=dtype.is_floating_point),
    ]


def amax_samples(rng, dtype):
    ties = np.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]).astype(_NP[dtype])
    out = _red_samples(rng, dtype, -5, 5)
    out.append(S(ties, dim=1, desc="ties split the gradient"))
    out.append(S(ties, desc="ties, all dims"))
    return out


def arg_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, -5, 5)

    return [
        S(A(2, 3), desc="flattened"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3), dim=-1, keepdim=True, desc="dim=-1 keepdim"),
        S(A(2, 3), keepdim=True, desc="flattened keepdim"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(np.asarray([[1, 4, 4], [0, 0, -2]]).astype(_NP[dtype]), dim=1, desc="ties: first index"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def var_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3, 2), desc="all"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=(0, -1), desc="dim=(0, -1)"),
        S(A(2, 3, 2), dim=-1, keepdim=True, desc="keepdim"),
        S(A(2, 3), dim=1, unbiased=False, desc="unbiased=False"),
        S(A(2, 3), dim=0, correction=0, desc="correction=0"),
        S(A(4), correction=2, desc="correction=2"),
        S(A(1, 3), dim=0, desc="one element: nan", grad=False),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def ref_var(x, dim=None, keepdim=False, unbiased=True, correction=None):
    ddof = correction if correction is not None else (1 if unbiased else 0)
    return np.var(x, axis=_axis(x, dim), keepdims=keepdim, ddof=ddof)


def ref_std(x, **kw):
    return np.sqrt(ref_var(x, **kw))


def norm_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, away=0.2)

    return [
        S(A(2, 3), desc="2-norm of all"),
        S(A(2, 3), p=1, desc="p=1"),
        S(A(2, 3), p=math.inf, desc="p=inf"),
        S(A(2, 3), p=3, desc="p=3"),
        S(A(2, 3), dim=1, desc="dim=1"),
        S(A(2, 3, 2), p=2, dim=(0, 2), keepdim=True, desc="dim tuple keepdim"),
        S(A(3), dim=-1, desc="vector"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def logsumexp_samples(rng, dtype):
    def A(*s, lo=-2, hi=2):
        return make(rng, s, dtype, lo, hi)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3, 2), (0, 2), desc="dim tuple"),
        S(A(2, 3), -1, keepdim=True, desc="keepdim"),
        S(A(2, 3, lo=500, hi=510), 1, desc="large values (stable)"),
        S(A(), 0, desc="0d"),
        S(A(2, 0), 1, desc="over a size-0 dim: -inf"),
        S(A(0, 3), 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, desc="transposed"),
    ]


def softmax_samples(rng, dtype):
    def A(*s, lo=-2, hi=2):
        return make(rng, s, dtype, lo, hi)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3), 0, desc="dim=0"),
        S(A(2, 3, 2), -2, desc="dim=-2"),
        S(A(2, 3, lo=500, hi=510), -1, desc="large values (stable)"),
        S(A(2, 3, lo=-510, hi=-500), -1, desc="very negative values (stable)"),
        S(A(1, 3), 0, desc="size-1 dim"),
        S(A(0, 3), 1, desc="size0"),
        S(A(2, 0), 1, desc="over a size-0 dim"),
        S(A(), 0, desc="0d"),
        S(np.zeros((), _NP[dtype]), 0, desc="0d zero (1, not 0/0)"),
        S(NC(A(3, 4), "T"), 1, desc="transposed"),
    ]


def cumsum_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3, 2), 0, desc="dim=0"),
        S(A(2, 3), -1, desc="dim=-1"),
        S(A(), 0, desc="0d"),
        S(A(0, 3), 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, desc="transposed"),
    ]


def matmul_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3), A(3), desc="1d @ 1d"),
        S(A(2, 3), A(3), desc="2d @ 1d"),
        S(A(3), A(3, 2), desc="1d @ 2d"),
        S(A(2, 3), A(3, 2), desc="2d @ 2d"),
        S(A(2, 2, 3), A(2, 3, 2), desc="batched"),
        S(A(2, 1, 2, 3), A(3, 3, 2), desc="broadcast batch dims"),
        S(A(2, 2, 3), A(3, 2), desc="3d @ 2d"),
        S(A(3), A(2, 3, 2), desc="1d @ 3d"),
        S(A(2, 2, 3), A(3), desc="3d @ 1d"),
        S(A(0, 3), A(3, 2), desc="size0 rows"),
        S(A(2, 0), A(0, 3), desc="size0 inner -> zeros"),
        S(A(1, 1), A(1, 1), desc="1x1"),
        S(NC(A(2, 3), "T"), NC(A(3, 2), "T"), desc="transposed operands"),
        S(NC(A(2, 3), "step"), A(3, 2), desc="strided lhs"),
    ]


def two_d(rng, dtype, pairs):
    return [S(*(make(rng, s, dtype) for s in shapes), desc=d) for *shapes, d in pairs]


def mm_samples(rng, dtype):
    out = two_d(rng, dtype, [((2, 3), (3, 4), "2x3 @ 3x4"), ((1, 1), (1, 2), "size1"), ((0, 2), (2, 3), "size0")])
    out.append(S(NC(make(rng, (2, 3), dtype), "T"), make(rng, (3, 2), dtype), desc="transposed"))
    return out


def bmm_samples(rng, dtype):
    out = two_d(
        rng,
        dtype,
        [((2, 2, 3), (2, 3, 2), "batched"), ((1, 1, 2), (1, 2, 1), "size1"), ((0, 2, 3), (0, 3, 1), "empty batch")],
    )
    out.append(S(NC(make(rng, (2, 2, 3), dtype), "T"), make(rng, (2, 3, 2), dtype), desc="transposed"))
    return out


def mv_samples(rng, dtype):
    out = two_d(rng, dtype, [((2, 3), (3,), "2x3 @ 3"), ((0, 2), (2,), "size0 rows"), ((2, 0), (0,), "size0 inner")])
    out.append(S(NC(make(rng, (2, 3), dtype), "T"), NC(make(rng, (3,), dtype), "step"), desc="non-contiguous"))
    return out


def dot_samples(rng, dtype):
    out = two_d(rng, dtype, [((3,), (3,), "3"), ((1,), (1,), "size1"), ((0,), (0,), "size0 -> 0")])
    out.append(S(NC(make(rng, (4,), dtype), "step"), make(rng, (4,), dtype), desc="strided"))
    return out


def view_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), (-1,), desc="-1"),
        S(A(2, 3), (3, -1), desc="(3, -1)"),
        S(A(2, 3, 2), (2, 6), desc="merge"),
        S(A(6), (1, 2, 3), desc="split with size-1"),
        S(A(), (1,), desc="0d -> 1"),
        S(A(1, 1), (), desc="1x1 -> 0d"),
        S(A(0, 3), (-1, 3), desc="size0"),
        S(NC(A(3, 4), "step"), (3, 2, 2), desc="strided: split last dim"),
    ]


def reshape_samples(rng, dtype):
    out = view_samples(rng, dtype)
    out.append(S(NC(make(rng, (3, 4), dtype), "T"), (-1,), desc="transposed -> flat (copies)"))
    out.append(S(NC(make(rng, (2, 3), dtype), "step"), (3, 2), desc="strided (copies)"))
    return out


def squeeze_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 1, 3, 1), desc="all"),
        S(A(2, 1, 3), 1, desc="dim=1"),
        S(A(2, 1, 3), -2, desc="dim=-2"),
        S(A(2, 1, 3), 0, desc="non-size-1 dim: no-op"),
        S(A(1, 2, 1), (0, 2), desc="dim tuple"),
        S(A(), desc="0d"),
        S(A(1), desc="(1,) -> 0d"),
        S(A(0, 1), desc="size0"),
    ]


def unsqueeze_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 0, desc="dim=0"),
        S(A(2, 3), -1, desc="dim=-1"),
        S(A(2, 3), 1, desc="middle"),
        S(A(), 0, desc="0d"),
        S(A(0, 3), 2, desc="size0"),
        S(NC(A(3, 4), "T"), 1, desc="transposed"),
    ]


def permute_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3, 4), (2, 0, 1), desc="(2, 0, 1)"),
        S(A(2, 3, 4), (-1, 0, -2), desc="negative dims"),
        S(A(2, 3), (1, 0), desc="2d"),
        S(A(), (), desc="0d"),
        S(A(0, 2, 1), (1, 2, 0), desc="size0"),
        S(NC(A(3, 4), "T"), (1, 0), desc="transposed"),
    ]


def transpose_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 0, 1, desc="2d"),
        S(A(2, 3, 4), -1, -3, desc="negative dims"),
        S(A(2, 3, 4), 1, 1, desc="same dim"),
        S(A(0, 3), 0, 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, 1, desc="transposed back"),
    ]


def t_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), desc="2d"),
        S(A(3), desc="1d"),
        S(A(), desc="0d"),
        S(A(0, 2), desc="size0"),
        S(NC(A(3, 4), "step"), desc="strided"),
    ]


def expand_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 1), (3, 4), desc="(3,1)->(3,4)"),
        S(A(3, 1), (-1, 4), desc="-1 keeps"),
        S(A(3, 1), (2, 3, 4), desc="new leading dim"),
        S(A(), (2, 3), desc="0d"),
        S(A(1), (0,), desc="to size 0"),
        S(A(2, 3), (2, 3), desc="same"),
        S(NC(A(1, 3), "step"), (2, 3), desc="strided"),
    ]


def narrow_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(4, 3), 0, 1, 2, desc="dim 0"),
        S(A(4, 3), -1, 0, 2, desc="dim -1"),
        S(A(4, 3), 1, -2, 2, desc="negative start"),
        S(A(4, 3), 0, 4, 0, desc="empty"),
        S(NC(A(3, 4), "T"), 0, 1, 2, desc="transposed"),
    ]


def flip_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), (0,), desc="dim 0"),
        S(A(2, 3), (0, 1), desc="both"),
        S(A(2, 3, 2), (-1,), desc="-1"),
        S(A(0, 3), (1,), desc="size0"),
        S(NC(A(3, 4), "T"), (1,), desc="transposed"),
    ]


def roll_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 4), 1, 0, desc="shift 1 dim 0"),
        S(A(3, 4), (1, -1), (0, 1), desc="two dims"),
        S(A(3, 4), 2, desc="flattened"),
        S(A(3, 4), 5, 1, desc="shift > size"),
        S(A(3, 4), -3, -1, desc="negative shift"),
        S(A(0, 2), 1, 0, desc="size0"),
        S(NC(A(3, 4), "T"), 1, 1, desc="transposed"),
    ]


def tri_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 3), desc="square"),
        S(A(3, 4), 1, desc="diagonal=1"),
        S(A(4, 3), -1, desc="diagonal=-1"),
        S(A(2, 3, 3), 0, desc="batched"),
        S(A(3, 3), 5, desc="diagonal past the edge"),
        S(A(0, 3), desc="size0"),
        S(NC(A(3, 4), "T"), -2, desc="transposed"),
    ]


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


# ----------------------------------------------------------------------------
# the table


def _u(name, ref, low=-2.0, high=2.0, away=0.0, dtypes=FLOAT16 + INT, out=FLOATIFY, diff=True, inplace=True, tol=None):
    fn = getattr(graphc, name)
    return OpSpec(
        name,
        fn,
        ref,
        unary_samples(low, high, away),
        dtypes=dtypes,
        differentiable=diff,
        out_dtype=out,
        inplace=f"{name}_" if inplace else None,
        method=name,
        tol=tol or {},
    )


def _b(
    name,
    ref,
    a=(-2.0, 2.0, 0.0),
    b=(-2.0, 2.0, 0.0),
    dtypes=FLOAT16 + INT,
    out=SAME,
    diff=True,
    scalar_b=1.5,
    ints=False,
    op=None,
    inplace=None,
    tol=None,
):
    return OpSpec(
        name,
        op or getattr(graphc, name),
        ref,
        binary_samples(a, b, scalar_b, ints),
        dtypes=dtypes,
        differentiable=diff,
        out_dtype=out,
        inplace=inplace if inplace is not None else (f"{name}_" if op is None else None),
        method=name if op is None else None,
        tol=tol or {},
    )


POS = (0.1, 2.0, 0.0)  # a positive domain
NONZERO = (-2.0, 2.0, 0.5)

OPS: list[OpSpec] = [
    # -- unary ------------------------------------------------------------
    _u("neg", np.negative, out=SAME),
    _u("abs", np.abs, away=0.1, out=SAME),
    _u("sign", np.sign, away=0.1, out=SAME),
    _u("exp", np.exp),
    _u("exp2", np.exp2),
    _u("log", np.log, 0.1, 3.0),
    _u("log2", np.log2, 0.1, 3.0),
    _u("log10", np.log10, 0.1, 3.0),
    _u("sqrt", np.sqrt, 0.1, 3.0),
    _u("rsqrt", lambda x: 1.0 / np.sqrt(x), 0.1, 3.0),
    _u("sin", np.sin),
    _u("cos", np.cos),
    _u("tan", np.tan, -1.2, 1.2),
    _u("tanh", np.tanh),
    _u("sigmoid", ref_sigmoid),
    _u("relu", lambda x: np.maximum(x, 0), away=0.1, out=SAME),
    _u("erf", ref_erf),
    _u("log1p", np.log1p, -0.9, 2.0),
    _u("expm1", np.expm1),
    _u("reciprocal", lambda x: 1.0 / x, away=0.2),
    _u("square", lambda x: x * x, out=SAME),
    _u("floor", np.floor, out=SAME),  # zero gradient, as in PyTorch
    _u("ceil", np.ceil, out=SAME),  # zero gradient, as in PyTorch
    _u("round", np.round, out=SAME),  # zero gradient, as in PyTorch
    _u("trunc", np.trunc, out=SAME),  # zero gradient, as in PyTorch
    _u("asin", np.arcsin, -0.9, 0.9),
    _u("acos", np.arccos, -0.9, 0.9),
    _u("atan", np.arctan),
    _u("sinh", np.sinh),
    _u("cosh", np.cosh),
    OpSpec(
        "round_half_even",
        graphc.round,
        np.round,
        lambda rng, d: [S(np.asarray([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51], _NP[d]), desc="halves")],
        dtypes=FLOAT16,
        differentiable=False,
    ),
    OpSpec(
        "logical_not",
        graphc.logical_not,
        np.logical_not,
        unary_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="logical_not",
    ),
    OpSpec(
        "bitwise_not",
        graphc.bitwise_not,
        np.invert,
        unary_samples(-5, 5),
        dtypes=(b8, i32, i64, u8),
        differentiable=False,
        method="bitwise_not",
        inplace=None,
    ),
    OpSpec("operator_neg", lambda x: -x, np.negative, unary_samples(), dtypes=FLOAT + INT),
    OpSpec("operator_invert", lambda x: ~x, np.invert, unary_samples(-5, 5), dtypes=(b8, i64), differentiable=False),
    # -- binary -----------------------------------------------------------
    _b("add", np.add),
    _b("sub", np.subtract),
    _b("mul", np.multiply),
    OpSpec(
        "add_alpha",
        lambda a, b: graphc.add(a, b, alpha=2),
        lambda a, b: a + 2 * b,
        binary_samples(),
        dtypes=FLOAT + INT,
    ),
    OpSpec(
        "sub_alpha",
        lambda a, b: graphc.sub(a, b, alpha=0.5),
        lambda a, b: a - 0.5 * b,
        binary_samples(scalar_b=None),
        dtypes=FLOAT,
    ),
    _b("div", np.true_divide, b=NONZERO, out=FLOATIFY),
    OpSpec(
        "div_trunc",
        lambda a, b: graphc.div(a, b, rounding_mode="trunc"),
        lambda a, b: ref_div(a, b, "trunc"),
        binary_samples(a=(-5, 5, 0), b=NONZERO, scalar_b=2),
        dtypes=FLOAT16 + INT,
        differentiable=False,
    ),
    OpSpec(
        "div_floor",
        lambda a, b: graphc.div(a, b, rounding_mode="floor"),
        lambda a, b: ref_div(a, b, "floor"),
        binary_samples(a=(-5, 5, 0), b=NONZERO, scalar_b=2),
        dtypes=FLOAT16 + INT,
        differentiable=False,
    ),
    _b("floor_divide", np.floor_divide, a=(-5, 5, 0), b=NONZERO, diff=False),
    _b("remainder", np.mod, a=(-5, 5, 0), b=NONZERO, dtypes=FLOAT + INT),
    _b("fmod", np.fmod, a=(-5, 5, 0), b=NONZERO, dtypes=FLOAT + INT),
    _b("pow", np.power, a=POS, b=(-2.0, 2.0, 0.0), dtypes=FLOAT16),
    OpSpec(
        "pow_int",
        graphc.pow,
        np.power,
        binary_samples(a=(-3, 3, 0), b=(0, 3, 0), scalar_b=2),
        dtypes=INT,
        differentiable=False,
    ),
    OpSpec(
        "pow_scalar_exponent",
        lambda x: graphc.pow(x, 2),
        lambda x: x**2,
        unary_samples(),
        dtypes=FLOAT16 + INT,
    ),
    OpSpec("pow_scalar_base", lambda x: 2.0**x, lambda x: 2.0**x, unary_samples(), dtypes=FLOAT),
    OpSpec("pow_sqrt", lambda x: x**0.5, np.sqrt, unary_samples(0.1, 3.0), dtypes=FLOAT),
    _b("maximum", np.maximum, scalar_b=None),
    _b("minimum", np.minimum, scalar_b=None),
    _b("atan2", np.arctan2, a=NONZERO, b=NONZERO, dtypes=FLOAT, scalar_b=None),
    OpSpec(
        "rsub_operator", lambda x: 2.0 - x, lambda x: 2.0 - x, unary_samples(), dtypes=FLOAT + INT, out_dtype=FLOATIFY
    ),
    OpSpec(
        "rdiv_operator",
        lambda x: 2 / x,
        lambda x: 2 / x,
        unary_samples(away=0.5),
        dtypes=FLOAT + INT,
        out_dtype=FLOATIFY,
    ),
    OpSpec(
        "operator_floordiv",
        lambda a, b: a // b,
        np.floor_divide,
        binary_samples((-5, 5, 0), NONZERO, 2),
        dtypes=FLOAT + INT,
        differentiable=False,
    ),
    OpSpec("operator_mod", lambda a, b: a % b, np.mod, binary_samples((-5, 5, 0), NONZERO, 2), dtypes=FLOAT + INT),
]

for _n, _ref in (
    ("eq", np.equal),
    ("ne", np.not_equal),
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
):
    OPS.append(
        _b(
            _n,
            _ref,
            a=(-2, 2, 0),
            b=(-2, 2, 0),
            ints=True,
            out=BOOL,
            diff=False,
            scalar_b=1,
            dtypes=FLOAT16 + INT + (b8,),
        )
    )
OPS.append(
    OpSpec(
        "operator_lt",
        lambda a, b: a < b,
        np.less,
        binary_samples(ints=True),
        dtypes=FLOAT + INT,
        out_dtype=BOOL,
        differentiable=False,
    )
)
OPS.append(
    OpSpec(
        "operator_eq",
        lambda a, b: a == b,
        np.equal,
        binary_samples(ints=True),
        dtypes=FLOAT + INT,
        out_dtype=BOOL,
        differentiable=False,
    )
)

for _n, _ref in (("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)):
    OPS.append(
        _b(_n, _ref, a=(-1, 1, 0), b=(-1, 1, 0), ints=True, out=BOOL, diff=False, scalar_b=1, dtypes=(b8, f32, i64))
    )
for _n, _ref in (("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor)):
    OPS.append(_b(_n, _ref, a=(-8, 8, 0), b=(-8, 8, 0), diff=False, scalar_b=3, dtypes=(b8, u8, i32, i64)))
for _sym, _ref in (("&", np.bitwise_and), ("|", np.bitwise_or), ("^", np.bitwise_xor)):
    OPS.append(
        OpSpec(
            f"operator{_sym}",
            eval(f"lambda a, b: a {_sym} b"),
            _ref,
            binary_samples((-8, 8, 0), (-8, 8, 0), 3),
            dtypes=(b8, i64),
            differentiable=False,
        )
    )

OPS += [
    # -- ternary and friends ----------------------------------------------
    OpSpec("where", graphc.where, np.where, where_samples, dtypes=FLOAT16 + INT + (b8,)),
    OpSpec("clamp", graphc.clamp, ref_clamp, clamp_samples, dtypes=FLOAT16 + INT, inplace="clamp_", method="clamp"),
    OpSpec(
        "masked_fill",
        graphc.masked_fill,
        lambda x, m, v: np.where(m, v, x).astype(x.dtype),
        masked_fill_samples,
        dtypes=FLOAT16 + INT,
        inplace="masked_fill_",
        method="masked_fill",
    ),
    # -- reductions -------------------------------------------------------
    OpSpec(
        "sum",
        graphc.sum,
        red_ref(np.sum),
        reduce_samples(),
        dtypes=FLOAT16 + INT + (b8,),
        out_dtype=INT64IFY,
        method="sum",
        tol={f16: (4e-3, 4e-3)},
    ),
    OpSpec(
        "mean", graphc.mean, red_ref(np.mean), reduce_samples(), dtypes=FLOAT16, method="mean", tol={f16: (4e-3, 4e-3)}
    ),
    OpSpec("prod", graphc.prod, red_ref(np.prod), prod_samples, dtypes=FLOAT + INT, out_dtype=INT64IFY, method="prod"),
    OpSpec("max", graphc.max, ref_maxmin(np.max, np.argmax), maxmin_samples, dtypes=FLOAT16 + INT, method="max"),
    OpSpec("min", graphc.min, ref_maxmin(np.min, np.argmin), maxmin_samples, dtypes=FLOAT16 + INT, method="min"),
    OpSpec("amax", graphc.amax, red_ref(np.max), amax_samples, dtypes=FLOAT + INT, method="amax"),
    OpSpec("amin", graphc.amin, red_ref(np.min), amax_samples, dtypes=FLOAT + INT, method="amin"),
    OpSpec(
        "argmax",
        graphc.argmax,
        ref_arg(np.argmax),
        arg_samples,
        dtypes=FLOAT + INT,
        differentiable=False,
        out_dtype=I64,
        method="argmax",
    ),
    OpSpec(
        "argmin",
        graphc.argmin,
        ref_arg(np.argmin),
        arg_samples,
        dtypes=FLOAT + INT,
        differentiable=False,
        out_dtype=I64,
        method="argmin",
    ),
    OpSpec("var", graphc.var, ref_var, var_samples, dtypes=FLOAT, method="var"),
    OpSpec("std", graphc.std, ref_std, var_samples, dtypes=FLOAT, method="std"),
    OpSpec(
        "all",
        graphc.all,
        red_ref(np.all),
        reduce_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="all",
    ),
    OpSpec(
        "any",
        graphc.any,
        red_ref(np.any),
        reduce_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="any",
    ),
    OpSpec("norm", graphc.norm, ref_norm, norm_samples, dtypes=FLOAT, method="norm"),
    OpSpec("logsumexp", graphc.logsumexp, ref_logsumexp, logsumexp_samples, dtypes=FLOAT, method="logsumexp"),
    OpSpec(
        "softmax",
        graphc.softmax,
        ref_softmax,
        softmax_samples,
        dtypes=FLOAT16,
        method="softmax",
        tol={f16: (4e-3, 4e-3)},
    ),
    OpSpec("log_softmax", graphc.log_softmax, ref_log_softmax, softmax_samples, dtypes=FLOAT, method="log_softmax"),
    OpSpec(
        "cumsum",
        graphc.cumsum,
        lambda x, d: np.cumsum(x, axis=d if x.ndim else None).reshape(x.shape),
        cumsum_samples,
        dtypes=FLOAT + INT,
        out_dtype=INT64IFY,
        method="cumsum",
    ),
    # -- linear algebra ---------------------------------------------------
    OpSpec("matmul", graphc.matmul, np.matmul, matmul_samples, dtypes=FLOAT + (i64,), method="matmul"),
    OpSpec("operator_matmul", lambda a, b: a @ b, np.matmul, matmul_samples, dtypes=FLOAT),
    OpSpec("mm", graphc.mm, np.matmul, mm_samples, dtypes=FLOAT, method="mm"),
    OpSpec("bmm", graphc.bmm, np.matmul, bmm_samples, dtypes=FLOAT, method="bmm"),
    OpSpec("mv", graphc.mv, np.matmul, mv_samples, dtypes=FLOAT, method="mv"),
    OpSpec("dot", graphc.dot, np.dot, dot_samples, dtypes=FLOAT + (i64,), method="dot"),
    # -- views and movement -----------------------------------------------
    OpSpec("view", lambda x, s: x.view(*s), lambda x, s: x.reshape(s), view_samples, dtypes=FLOAT + (i64, b8)),
    OpSpec(
        "reshape", graphc.reshape, lambda x, s: x.reshape(s), reshape_samples, dtypes=FLOAT + (i64,), method="reshape"
    ),
    OpSpec(
        "flatten",
        graphc.flatten,
        lambda x, start_dim=0, end_dim=-1: x.reshape(
            x.shape[:start_dim] + (-1,) + x.shape[(end_dim % x.ndim) + 1 :] if x.ndim else (1,)
        ),
        lambda rng, d: [
            S(make(rng, (2, 3, 2), d), desc="all"),
            S(make(rng, (2, 3, 2), d), start_dim=1, desc="start_dim=1"),
            S(make(rng, (2, 3, 2, 2), d), start_dim=1, end_dim=2, desc="middle"),
            S(make(rng, (), d), desc="0d -> (1,)"),
            S(NC(make(rng, (3, 4), d), "T"), desc="transposed (copies)"),
        ],
        dtypes=FLOAT + (i64,),
        method="flatten",
    ),
    OpSpec(
        "squeeze",
        graphc.squeeze,
        lambda x, dim=None: np.squeeze(
            x,
            axis=tuple(a for a in ((dim,) if isinstance(dim, int) else dim) if x.shape[a] == 1)
            if dim is not None
            else None,
        ),
        squeeze_samples,
        dtypes=FLOAT + (i64,),
        method="squeeze",
    ),
    OpSpec(
        "unsqueeze",
        graphc.unsqueeze,
        lambda x, d: np.expand_dims(x, d),
        unsqueeze_samples,
        dtypes=FLOAT + (i64,),
        method="unsqueeze",
    ),
    OpSpec(
        "permute",
        graphc.permute,
        lambda x, dims: np.transpose(x, dims),
        permute_samples,
        dtypes=FLOAT + (i64,),
        method="permute",
    ),
    OpSpec(
        "transpose",
        graphc.transpose,
        lambda x, a, b: np.swapaxes(x, a, b),
        transpose_samples,
        dtypes=FLOAT + (i64,),
        method="transpose",
    ),
    OpSpec("t", graphc.t, lambda x: x.T, t_samples, dtypes=FLOAT + (i64,), method="t"),
    OpSpec(
        "T",
        lambda x: x.T,
        lambda x: x.T,
        lambda rng, d: t_samples(rng, d) + [S(make(rng, (2, 3, 4), d), desc="3d")],
        dtypes=FLOAT,
    ),
    OpSpec(
        "mT",
        lambda x: x.mT,
        lambda x: np.swapaxes(x, -1, -2),
        lambda rng, d: [S(make(rng, (2, 3, 4), d)), S(NC(make(rng, (3, 2), d), "T"))],
        dtypes=FLOAT,
    ),
    OpSpec(
        "expand",
        lambda x, s: x.expand(*s),
        lambda x, s: np.broadcast_to(
            x, tuple(x.shape[i - (len(s) - x.ndim)] if v == -1 else v for i, v in enumerate(s))
        ),
        expand_samples,
        dtypes=FLOAT + (i64,),
    ),
    OpSpec(
        "contiguous",
        lambda x: x.contiguous(),
        lambda x: x,
        lambda rng, d: [S(NC(make(rng, (3, 4), d), "T")), S(NC(make(rng, (2, 3), d), "step")), S(make(rng, (2, 3), d))],
        dtypes=FLOAT + (i64,),
    ),
    OpSpec(
        "narrow",
        graphc.narrow,
        lambda x, d, s, n: np.take(x, range(s % x.shape[d], s % x.shape[d] + n), axis=d),
        narrow_samples,
        dtypes=FLOAT + (i64,),
        method="narrow",
    ),
    OpSpec("flip", graphc.flip, lambda x, dims: np.flip(x, dims), flip_samples, dtypes=FLOAT + (i64,), method="flip"),
    OpSpec(
        "roll", graphc.roll, lambda x, s, d=None: np.roll(x, s, d), roll_samples, dtypes=FLOAT + (i64,), method="roll"
    ),
    OpSpec("tril", graphc.tril, ref_tri(True), tri_samples, dtypes=FLOAT + (i64,), method="tril", inplace="tril_"),
    OpSpec("triu", graphc.triu, ref_tri(False), tri_samples, dtypes=FLOAT + (i64,), method="triu", inplace="triu_"),
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


def by_name(name: str) -> OpSpec:
    for spec in OPS:
        if spec.name == name:
            return spec
    raise KeyError(name)
