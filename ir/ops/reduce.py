"""Reductions over axes, and the scans (cumsum, cumprod, logcumsumexp, cummax, cummin).

A reduction row is declared by :func:`reduction` with a :class:`~ir.ops.core.ReduceSpec`; the
numpy eager kernel, the numpy code generator and the Triton code generator all read the spec
(identity, combine, NaN policy, accumulation dtype, numpy function), so a new reduction is one
row here plus its test row. Reductions take sorted, non-negative ``axes`` and ``keepdim``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes as dt
from ..errors import EmptyReductionError
from .core import (
    REDUCE,
    SCAN,
    OpDef,
    ReduceSpec,
    camel,
    check_axes,
    dtype_bool_out,
    dtype_float,
    dtype_int64,
    dtype_numeric,
    fmt_shape,
    register,
    shape_same,
)
from .grad import V, iota, unreduce, where


def _shape_reduce(op, inputs, attrs):
    (x,) = inputs
    axes = attrs["axes"]
    check_axes(op.name, axes, len(x.shape))
    if len(x.shape) == 0:
        return ()
    if not op.reduce.empty:
        for a in axes:
            if x.shape[a] == 0:
                raise EmptyReductionError(
                    f"{op.name}: cannot reduce over axis {a} of size 0 in shape {fmt_shape(x.shape)} "
                    "(the reduction has no identity)"
                )
    if attrs.get("keepdim", False):
        return tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    return tuple(s for i, s in enumerate(x.shape) if i not in axes)


def _lowest(d: dt.DType):
    if d.is_bool:
        return False
    return -float("inf") if d.is_floating_point else int(np.iinfo(d.numpy_dtype).min)


def _highest(d: dt.DType):
    if d.is_bool:
        return True
    return float("inf") if d.is_floating_point else int(np.iinfo(d.numpy_dtype).max)


def _wide_float(d: dt.DType) -> dt.DType:
    """Half-precision floats accumulate in float32, as PyTorch does."""
    return dt.float32 if d in (dt.float16, dt.bfloat16) else d


def reduction(name, dtype_rule, spec: ReduceSpec, *, grad=None, saves=(), grad_name=None, doc="", complex=False):
    """Declare one reduction row."""
    return register(
        OpDef(
            name,
            REDUCE,
            1,
            _shape_reduce,
            dtype_rule,
            ("axes", "keepdim"),
            differentiable=grad is not None,
            saves=saves,
            grad_name=grad_name or f"{camel(name)}Backward0",
            doc=doc,
            grad=grad,
            numpy=getattr(np, spec.numpy),
            reduce=spec,
            complex=complex,
        )
    )


# ----------------------------------------------------------------------------
# gradient rules


def _sum_grad(n, g):
    return [unreduce(g, n) if n.needs(0) else None]


def _nansum_grad(n, g):
    if not n.needs(0):
        return [None]
    return [where(n[0].isnan(), 0, unreduce(g, n))]


def _extreme_grad(n, g):
    """amax/amin: the gradient is shared evenly by the elements equal to the result (with
    ``ties="even"``, PyTorch's max()/min() of a whole tensor, a NaN result's by the NaNs) --
    or, with ``ties="first"`` (max pooling), goes to one of them: see :func:`extreme_pick`."""
    if not n.needs(0):
        return [None]
    x = n[0]
    if n.attrs.get("ties", "split") == "first":
        valid = None
        if n.attrs.get("window_padding"):
            inside = taps_inside(n.attrs["window_padding"], x.shape, n.attrs["axes"][0])
            valid = V(x.b, x.b.scalar(inside, dt.bool_))
        return [where(extreme_pick(x, n.out, n.attrs["axes"], valid), unreduce(g, n), 0)]
    out = unreduce(n.out, n)
    equal = x.eq(out)
    if n.attrs.get("ties") == "even":  # max()/min() of everything: NaN matches NaN
        equal = equal | (x.isnan() & out.isnan())
    mask = equal.cast(g.dtype)
    count = unreduce(mask.sum(n.attrs["axes"]), n)
    return [unreduce(g, n) * mask / count]


@functools.lru_cache(maxsize=128)
def taps_inside(window_padding: tuple, shape: tuple, axis: int) -> np.ndarray:
    """Which taps of a pooling window read the image rather than its padding: a bool array
    that broadcasts to ``shape``, the windows laid out (..., K, *out, ...) with the K =
    prod(kernel) taps in row-major order at ``axis`` and the output cells after it.
    ``window_padding`` holds (size, kernel, stride, padding, dilation) per spatial dim: tap
    ``k`` of cell ``o`` reads coordinate ``o * stride - padding + k * dilation``."""
    nsp = len(window_padding)
    outs = shape[axis + 1 : axis + 1 + nsp]
    inside = np.ones((1,) * (2 * nsp), dtype=bool)
    for i, ((size, k, s, p, d), out) in enumerate(zip(window_padding, outs)):
        coord = np.arange(out)[None, :] * s - p + np.arange(k)[:, None] * d  # (k, out)
        dims = [1] * (2 * nsp)
        dims[i], dims[nsp + i] = k, out
        inside = inside & ((coord >= 0) & (coord < size)).reshape(dims)
    taps = int(np.prod([w[1] for w in window_padding]))
    inside = inside.reshape((taps,) + tuple(outs))
    return inside.reshape((1,) * axis + inside.shape + (1,) * (len(shape) - axis - 1 - nsp))


def extreme_pick(x, out, axes, valid=None):
    """The one element of each reduced slice of ``x`` that PyTorch's max pooling gives the
    gradient to (and whose position it returns as the index): the first element equal to the
    result, in row-major order over ``axes``, or, where the result is NaN, the *last* NaN (its
    kernels keep a running maximum and take every NaN they meet). A bool mask of ``x``'s shape.

    ``valid`` (a bool value broadcasting to ``x``) leaves out elements no pick may land on: a
    pooling window's padding (:func:`taps_inside`; the ``window_padding`` attribute), which
    PyTorch's kernels never read, so that a window whose real elements are all -inf picks the
    first of them and not the padding (-inf too) before it.

    A reduction, not a scan: each candidate's key is its row-major position in the slice
    (negated for a NaN, so the last NaN has the least key; a NaN slice has no other
    candidates), every other element's key is the slice's size, and the pick is the element
    whose key is the slice's least. The keys are sums and products of small integers, not
    ``where`` selections (numpy's ``where`` takes ~8x an ``add``): a cumsum of the candidates,
    or selected keys, cost a 2x2 max-pool's backward 2-3x what this does.
    """
    keep = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    size = int(np.prod([x.shape[a] for a in axes]))
    kd = dt.int8 if size <= 64 else dt.int32  # keys lie in [1 - size, 2 * size - 1]
    pos, step = None, 1
    for a in reversed(axes):  # the position in the slice, row-major over the axes
        shape = tuple(x.shape[a] if i == a else 1 for i in range(x.ndim))
        index = iota(x, shape, a, kd)
        pos = index * step if pos is None else pos + index * step
        step *= x.shape[a]
    other = x.ne(out.reshape(keep))
    if valid is not None:
        other = other | ~valid
    key = pos + other.cast(kd) * size  # pos for a candidate, else pos + size
    if x.dtype.is_floating_point:
        key = key - x.isnan().cast(kd) * (pos * 2 + size)  # a NaN (never equal, never padding): -pos
    return key.eq(key.op("amin", axes=tuple(axes), keepdim=True))


def _exclusive_products(x, axis):
    """``prod_{j != i} x_j`` along ``axis`` with no division: the running product from each
    side, shifted by one place (PyTorch's ``prod_safe_zeros_backward``), exact at zeros and
    keeping a NaN or an infinity out of its own slot."""
    shape, nd, length = x.shape, x.ndim, x.shape[axis]

    def shifted(v):  # (1, v_0, ..., v_{L-2}) along axis
        stops = list(shape)
        stops[axis] = length - 1
        head = v.op("slice", starts=(0,) * nd, stops=tuple(stops), steps=(1,) * nd)
        pads = [(0, 0)] * nd
        pads[axis] = (1, 0)
        return head.op("pad", pads=tuple(pads), value=1)

    left = shifted(x).op("cumprod", axis=axis)
    right = _flip(shifted(_flip(x, axis)).op("cumprod", axis=axis), axis)
    return left * right


def _prod_grad(n, g):
    """PyTorch's prod backward: ``out / x`` when the input holds no zero; with a zero anywhere
    in it, the product of the other elements of each slice (:func:`_exclusive_products`) -- and
    for a whole-tensor product with two zeros or more, zeros."""
    if not n.needs(0):
        return [None]
    x = n[0]
    axes = tuple(n.attrs["axes"])
    if x.ndim == 0:
        return [g]
    is_zero = x.eq(0)
    whole = axes == tuple(range(x.ndim))
    count = math.prod(x.shape)
    if count == 0 or x.dtype.is_complex or (len(axes) != 1 and not whole):
        # (empty; complex, which cumprod does not take; several axes but not all, which
        # PyTorch's prod never takes) the product of the non-zero others where x is its slice's
        # only zero, else out / x
        x_safe = where(is_zero, 1, x)
        zeros_in_slice = unreduce(is_zero.cast(x.dtype).sum(axes), n)
        prod_nonzero = unreduce(x_safe.op("prod", axes=axes, keepdim=True), n)
        others = where(is_zero, where(zeros_in_slice.eq(1), prod_nonzero, 0), unreduce(n.out, n) / x_safe)
        return [unreduce(g, n) * others]
    if whole:
        flat = x.reshape((count,))
        safe = _exclusive_products(flat, 0).reshape(x.shape)
        zeros = is_zero.cast(dt.int64).sum(axes, keepdim=True)
        safe = where((zeros >= 2).expand(x.shape), 0, safe)
    else:
        safe = _exclusive_products(x, axes[0])
    any_zero = is_zero.op("any", axes=tuple(range(x.ndim)), keepdim=True).expand(x.shape)
    return [unreduce(g, n) * where(any_zero, safe, unreduce(n.out, n) / x)]


# ----------------------------------------------------------------------------
# the rows

reduction("sum", dtype_numeric, ReduceSpec("add", lambda d: 0, "sum", acc=_wide_float), grad=_sum_grad,
          grad_name="SumBackward1", complex=True)
reduction("nansum", dtype_numeric, ReduceSpec("add", lambda d: 0, "nansum", acc=_wide_float, nan="ignore"),
          grad=_nansum_grad, saves=(0,), doc="Sum treating NaN as zero.")
reduction("prod", dtype_numeric, ReduceSpec("mul", lambda d: 1, "prod", acc=_wide_float), grad=_prod_grad,
          saves=(0, "out"), complex=True)
reduction("amax", dtype_numeric, ReduceSpec("maximum", _lowest, "max", empty=False), grad=_extreme_grad,
          saves=(0, "out"))
reduction("amin", dtype_numeric, ReduceSpec("minimum", _highest, "min", empty=False), grad=_extreme_grad,
          saves=(0, "out"))
reduction("all", dtype_bool_out, ReduceSpec("logical_and", lambda d: True, "all"))
reduction("any", dtype_bool_out, ReduceSpec("logical_or", lambda d: False, "any"))
reduction("argmax", dtype_int64, ReduceSpec("maximum", _lowest, "argmax", empty=False, index=True, better="gt"))
reduction("argmin", dtype_int64, ReduceSpec("minimum", _highest, "argmin", empty=False, index=True, better="lt"))


# ----------------------------------------------------------------------------
# scans


def scan(name, dtype_rule, spec: ReduceSpec, *, grad=None, saves=(), grad_name=None, doc="", complex=False):
    """Declare one scan row: a running reduction along ``attrs['axis']``. The spec's combine row
    (its numpy ufunc's ``accumulate``, its Triton expression) and identity are all the backends
    read."""
    return register(OpDef(name, SCAN, 1, shape_same, dtype_rule, ("axis",), differentiable=grad is not None,
                          saves=saves, grad=grad, grad_name=grad_name or f"{camel(name)}Backward0", doc=doc,
                          reduce=spec, complex=complex))


def _flip(v, axis):
    n = v.shape[axis]
    starts, stops, steps = [0] * v.ndim, list(v.shape), [1] * v.ndim
    starts[axis], stops[axis], steps[axis] = n - 1, -1, -1
    return v.op("slice", starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def _cumsum_grad(n, g):
    if not n.needs(0):
        return [None]
    axis = n.attrs["axis"]
    if g.ndim == 0:
        return [g]
    return [_flip(_flip(g, axis).op("cumsum", axis=axis), axis)]


scan("cumsum", dtype_numeric, ReduceSpec("add", lambda d: 0, "cumsum", acc=_wide_float), grad=_cumsum_grad,
     complex=True)


def _rev_cumsum(v, axis):
    """sum_{j >= i} v_j along ``axis``: a cumsum of the reversed values, reversed back."""
    return _flip(_flip(v, axis).op("cumsum", axis=axis), axis)


def _cumprod_grad(n, g):
    """d out_j / d x_i = prod_{k <= j, k != i} x_k, without dividing by zero.

    Before the first zero of a slice the classic ``rev_cumsum(g * out) / x`` is exact (every
    later output that holds the zero is 0, as its derivative is). At the first zero z the
    derivative is ``prod_{k<z} x_k * sum_{j>=z} g_j prod_{z<k<=j} x_k``; after it, 0 (each
    output there still holds that zero). Built from rows, so it differentiates again.
    """
    if not n.needs(0):
        return [None]
    if g.ndim == 0:
        return [g]
    axis = n.attrs["axis"]
    x, out = n[0], n.out
    zeros_so_far = x.eq(0).cast(g.dtype).op("cumsum", axis=axis)
    before = zeros_so_far.eq(0)
    first = x.eq(0) & zeros_so_far.eq(1)
    g_before = _rev_cumsum(g * out, axis) / where(before, x, 1)
    prefix = where(before, x, 1).op("cumprod", axis=axis)  # at z: the product of the values before it
    after = where(before | first, 1, x).op("cumprod", axis=axis)  # at j >= z: prod_{z<k<=j} x_k
    g_first = prefix * _rev_cumsum(g * after, axis)
    return [where(before, g_before, where(first, g_first, 0))]


def _logcumsumexp_grad(n, g):
    """grad_i = sum_{j>=i} g_j exp(x_i - out_j), summed in log space (PyTorch's way): the
    positive and negative parts of ``g`` each through a reversed logcumsumexp, so nothing
    overflows."""
    if not n.needs(0):
        return [None]
    if g.ndim == 0:
        return [g]
    axis = n.attrs["axis"]
    x, out = n[0], n.out

    def part(mag):
        rev = _flip(_flip(mag.log() - out, axis).op("logcumsumexp", axis=axis), axis)
        return (rev + x).exp()

    return [part(where(g > 0, g, 0)) - part(where(g < 0, -g, 0))]


scan("cumprod", dtype_numeric, ReduceSpec("mul", lambda d: 1, "cumprod", acc=_wide_float), grad=_cumprod_grad,
     saves=(0, "out"), doc="Running product along the axis.")
scan("logcumsumexp", dtype_float, ReduceSpec("logaddexp", lambda d: -float("inf"), "logcumsumexp", acc=_wide_float),
     grad=_logcumsumexp_grad, saves=(0, "out"), doc="log(cumsum(exp(x))) along the axis, computed stably.")
# Running extremes: the values only (NaN propagates, as maximum/minimum do). The frontend's cummax/cummin
# find the indices from them and gather the values, so the gradient is gather's (PyTorch's too).
scan("cummax", dtype_numeric, ReduceSpec("maximum", _lowest, "cummax"), doc="Running maximum along the axis.")
scan("cummin", dtype_numeric, ReduceSpec("minimum", _highest, "cummin"), doc="Running minimum along the axis.")
