"""``scatter_reduce``: values combined into positions along an axis with a reduction
(``sum``, ``prod``, ``amax``, ``amin``): PyTorch's ``scatter_reduce`` and ``index_reduce``
(``mean`` and ``include_self=False`` are frontend compositions of this row).

``out = x.copy(); out[..., idx[..., j, ...], ...] = reduce(out[...], src[..., j, ...])`` for
every position of ``idx`` (which has the shape of ``src`` and may be smaller than ``x`` off
the axis, as for ``scatter_add``). numpy runs it with the reduction's ``ufunc.at``; the
gradient is PyTorch's: ``sum`` passes ``g`` through, ``amax``/``amin`` share it evenly among
the elements equal to the result, ``prod`` divides the product by each factor, with zeros
handled by counting them.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .core import INDEX, OpDef, check_axes, fmt_shape, register
from .grad import where
from .index import _dtype_index, _grid_index, _operands

REDUCTIONS = {"sum": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _shape_scatter_reduce(op, inputs, attrs):
    x, idx, src = inputs
    axis = attrs["axis"]
    if attrs["reduce"] not in REDUCTIONS:
        raise ValueError(f"{op.name}: reduce must be one of {sorted(REDUCTIONS)}, got {attrs['reduce']!r}")
    check_axes(op.name, (axis,), len(x.shape))
    if len(idx.shape) != len(x.shape) or tuple(idx.shape) != tuple(src.shape):
        raise ShapeError(
            f"{op.name}: index {fmt_shape(idx.shape)} and src {fmt_shape(src.shape)} must match and have the "
            f"dims of the input {fmt_shape(x.shape)}"
        )
    for d, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and si > sx:
            raise ShapeError(f"{op.name}: index {fmt_shape(idx.shape)} is larger than the input {fmt_shape(x.shape)} "
                             f"at dim {d}")
    return x.shape


def _np_scatter_reduce(arrays, attrs, shape, dtype):
    x, idx = _operands("scatter_reduce", arrays, attrs)
    out = x.copy()
    ufunc = getattr(np, REDUCTIONS[attrs["reduce"]])
    with np.errstate(all="ignore"):
        ufunc.at(out, _grid_index(idx, attrs["axis"]), arrays[2])
    return out.reshape(shape)


def _scatter(v, idx, src, axis, reduce):
    return v.op("scatter_reduce", idx, src, axis=axis, reduce=reduce)


def _scatter_reduce_grad(n, g):
    x, idx, src = n[0], n[1], n[2]
    axis, reduce = n.attrs["axis"], n.attrs["reduce"]
    out = [None, None, None]
    if reduce == "sum":
        if n.needs(0):
            out[0] = g
        if n.needs(2):
            out[2] = g.op("gather", idx, axis=axis)
        return out
    result = n.out
    if reduce in ("amax", "amin"):
        hit_x = x.eq(result).cast(g.dtype)
        hit_src = src.eq(result.op("gather", idx, axis=axis)).cast(g.dtype)
        count = _scatter(hit_x, idx, hit_src, axis, "sum")
        share = g / count
        if n.needs(0):
            out[0] = share * hit_x
        if n.needs(2):
            out[2] = share.op("gather", idx, axis=axis) * hit_src
        return out
    # prod: d out / d factor = the product of the slot's other factors
    zero_x, zero_src = x.eq(0), src.eq(0)
    zeros = _scatter(zero_x.cast(g.dtype), idx, zero_src.cast(g.dtype), axis, "sum")
    nonzero_prod = _scatter(where(zero_x, 1, x), idx, where(zero_src, 1, src), axis, "prod")
    at_zero = where(zeros.eq(1), g * nonzero_prod, 0)  # a slot's only zero: the product of the rest
    g_out = g * result
    if n.needs(0):
        out[0] = where(zero_x, at_zero, g_out / where(zero_x, 1, x))
    if n.needs(2):
        g_src = g_out.op("gather", idx, axis=axis) / where(zero_src, 1, src)
        out[2] = where(zero_src, at_zero.op("gather", idx, axis=axis), g_src)
    return out


register(OpDef("scatter_reduce", INDEX, 3, _shape_scatter_reduce, _dtype_index, ("axis", "reduce"), saves=(0, 1, 2, "out"),
               grad=_scatter_reduce_grad, grad_name="ScatterReduceBackward0", numpy=_np_scatter_reduce,
               doc="x with src combined into idx's positions along axis by attrs['reduce'] (sum, prod, amax, amin)."))
