"""Movement rows: the views (reshape, permute, expand, slice), pad and concat.

View semantics are defined once, here: each view row's ``strided`` rule maps the layout of its
input — shape, strides and offset, in elements — to the view's layout, or returns None when
the view cannot share memory (a reshape of a non-contiguous layout: the frontend then copies).
The Triton runtime's device arrays and the tracer's stride bookkeeping use these rules; the
numpy backend uses numpy's own views (``row.numpy``), which a conformance test checks against
the rules.

``compose`` folds a view applied to the same view's result into one (reshape of a reshape).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import DimError, ShapeError
from .core import (
    CONCAT,
    PAD,
    VIEW,
    OpDef,
    check_axes,
    dtype_first,
    dtype_same,
    fmt_shape,
    prod,
    register,
)
from .grad import sum_to

# ----------------------------------------------------------------------------
# shape rules


def _shape_reshape(op, inputs, attrs):
    (x,) = inputs
    shape = attrs["shape"]
    n_in, n_out = prod(x.shape), prod(shape)
    if n_in != n_out or any(s < 0 for s in shape):
        raise ShapeError(
            f"{op.name}: shape {fmt_shape(shape)} is invalid for an input of shape {fmt_shape(x.shape)} ({n_in} elements)"
        )
    return shape


def _shape_permute(op, inputs, attrs):
    (x,) = inputs
    dims = attrs["dims"]
    if sorted(dims) != list(range(len(x.shape))):
        raise DimError(
            f"{op.name}: dims {tuple(dims)} are not a permutation of the {len(x.shape)} dims of shape {fmt_shape(x.shape)}"
        )
    return tuple(x.shape[d] for d in dims)


def _shape_expand(op, inputs, attrs):
    (x,) = inputs
    shape = attrs["shape"]
    if len(shape) < len(x.shape):
        raise ShapeError(f"{op.name}: cannot expand shape {fmt_shape(x.shape)} to fewer dims {fmt_shape(shape)}")
    lead = len(shape) - len(x.shape)
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise ShapeError(
                f"{op.name}: the expanded size {shape[lead + i]} must match the existing size {s} at non-singleton "
                f"dimension {i}; target {fmt_shape(shape)}, input {fmt_shape(x.shape)}"
            )
    return shape


def slice_len(start, stop, step) -> int:
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


def _shape_slice(op, inputs, attrs):
    (x,) = inputs
    out = []
    for start, stop, step in zip(attrs["starts"], attrs["stops"], attrs["steps"]):
        if step == 0:
            raise ValueError(f"{op.name}: slice step cannot be zero")
        out.append(slice_len(start, stop, step))
    return tuple(out)


# ----------------------------------------------------------------------------
# layouts: (shape, strides, offset) in elements


def contiguous_strides(shape) -> tuple:
    out, acc = [], 1
    for s in reversed(tuple(shape)):
        out.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(out))


def reshape_strides(old_shape, old_strides, new_shape):
    """Strides giving ``new_shape`` over the same memory as (``old_shape``, ``old_strides``),
    or None when no such strides exist (numpy's rule: merge and split runs of dims that are
    contiguous with one another; size-1 dims take any stride)."""
    if prod(old_shape) == 0:
        return contiguous_strides(new_shape)
    old = [(s, st) for s, st in zip(old_shape, old_strides) if s != 1]
    new = list(new_shape)
    out = [0] * len(new)
    oi = ni = 0
    while ni < len(new) and new[ni] == 1:
        ni += 1
    while oi < len(old) or ni < len(new):
        if ni < len(new) and new[ni] == 1:
            ni += 1
            continue
        if oi >= len(old) or ni >= len(new):
            return None
        # grow a run of old dims and a run of new dims until their sizes agree
        o_end, n_end = oi + 1, ni + 1
        osz, nsz = old[oi][0], new[ni]
        while osz != nsz:
            if osz < nsz:
                if o_end >= len(old):
                    return None
                osz *= old[o_end][0]
                o_end += 1
            else:
                if n_end >= len(new):
                    return None
                nsz *= new[n_end]
                n_end += 1
        for k in range(oi, o_end - 1):  # the old run must be contiguous with itself
            if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                return None
        stride = old[o_end - 1][1]
        for k in range(n_end - 1, ni - 1, -1):
            out[k] = stride
            stride *= new[k]
        oi, ni = o_end, n_end
    for k in range(len(new) - 1, -1, -1):  # size-1 dims: the stride numpy and PyTorch give them
        if new[k] == 1:
            out[k] = out[k + 1] * new[k + 1] if k + 1 < len(new) else 1
    return tuple(out)


def _strided_reshape(shape, strides, offset, attrs, out_shape):
    st = reshape_strides(shape, strides, out_shape)
    return None if st is None else (st, offset)


def _strided_permute(shape, strides, offset, attrs, out_shape):
    return tuple(strides[d] for d in attrs["dims"]), offset


def _strided_expand(shape, strides, offset, attrs, out_shape):
    lead = len(out_shape) - len(shape)
    return (0,) * lead + tuple(0 if s == 1 and t != 1 else st for s, t, st in zip(shape, out_shape[lead:], strides)), offset


def _strided_slice(shape, strides, offset, attrs, out_shape):
    for start, st in zip(attrs["starts"], strides):
        offset += start * st
    return tuple(st * step for st, step in zip(strides, attrs["steps"])), offset


# ----------------------------------------------------------------------------
# numpy views (numpy's own view machinery; the conformance test checks it against the rules)


def _np_reshape(x, attrs, shape):
    return x.reshape(shape)


def _np_permute(x, attrs, shape):
    return x.transpose(attrs["dims"])


def _np_expand(x, attrs, shape):
    if x.flags.c_contiguous and x.size:  # a view over x's own buffer: far cheaper than as_strided
        return np.ndarray(shape, x.dtype, x, 0, expanded_strides(x.shape, x.itemsize, tuple(shape)))
    lead = len(shape) - x.ndim
    strides = [0] * lead + [0 if s == 1 and t != 1 else st for s, t, st in zip(x.shape, shape[lead:], x.strides)]
    return as_strided(x, shape=shape, strides=strides)


@functools.lru_cache(maxsize=1024)
def expanded_strides(src_shape, itemsize, shape) -> tuple:
    """Byte strides of a C-contiguous ``src_shape`` array broadcast to ``shape`` (0 where it is
    repeated); ValueError where numpy's broadcasting would refuse. Cached: the eager kernel and
    generated programs (``runtime.expand``) expand the same shapes call after call."""
    lead = len(shape) - len(src_shape)
    if lead < 0:
        raise ValueError(f"expand: cannot broadcast a shape {src_shape} to {shape}")
    strides = [0] * len(shape)
    step = itemsize
    for j in range(len(src_shape) - 1, -1, -1):
        size, want = src_shape[j], shape[lead + j]
        if size == want:
            strides[lead + j] = step
        elif size != 1:
            raise ValueError(f"expand: cannot broadcast a shape {src_shape} to {shape}")
        step *= size
    return tuple(strides)


def slice_key(attrs) -> tuple:
    """The Python slice tuple of a slice node (a negative stop means 'past the start')."""
    return tuple(
        slice(start, stop if stop >= 0 else None, step)
        for start, stop, step in zip(attrs["starts"], attrs["stops"], attrs["steps"])
    )


def _np_slice(x, attrs, shape):
    return x[slice_key(attrs)]


# The same views as numpy source text, for generated code (``shape`` is source text too).


def _src_reshape(src, attrs, shape):
    return f"{src}.reshape({shape})"


def _src_permute(src, attrs, shape):
    return f"{src}.transpose({tuple(attrs['dims'])})"


def _src_expand(src, attrs, shape):
    return f"R.expand({src}, {shape})"


def _src_slice(src, attrs, shape):
    parts = [f"{a}:{'None' if b < 0 else b}:{c}" for a, b, c in zip(attrs["starts"], attrs["stops"], attrs["steps"])]
    return f"{src}[{', '.join(parts)}{',' if len(parts) == 1 else ''}]" if parts else src


# ----------------------------------------------------------------------------
# gradients


def _reshape_grad(n, g):
    return [g.reshape(n.in_shapes[0]) if n.needs(0) else None]


def _permute_grad(n, g):
    if not n.needs(0):
        return [None]
    dims = n.attrs["dims"]
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return [g.permute(inverse)]


def _expand_grad(n, g):
    return [sum_to(g, n.in_shapes[0]) if n.needs(0) else None]


def _pad_axis(g, axis, lo, hi):
    if lo == 0 and hi == 0:
        return g
    pads = [(0, 0)] * g.ndim
    pads[axis] = (lo, hi)
    return g.op("pad", pads=tuple(pads), value=0)


def _flip(g, axis):
    starts, stops, steps = [0] * g.ndim, list(g.shape), [1] * g.ndim
    starts[axis], stops[axis], steps[axis] = g.shape[axis] - 1, -1, -1
    return g.op("slice", starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def _slice_grad(n, g):
    if not n.needs(0):
        return [None]
    in_shape = n.in_shapes[0]
    for axis, (size, start, step) in enumerate(zip(in_shape, n.attrs["starts"], n.attrs["steps"])):
        length = g.shape[axis]
        if start == 0 and step == 1 and length == size:
            continue
        if length == 0:
            return [n.zeros(0, g.dtype)]
        if step < 0:
            g = _flip(g, axis)
            start, step = start + step * (length - 1), -step
        if step > 1:
            # Interleave zeros: [L] -> [L, 1] -> pad to [L, step] -> [L*step] -> first (L-1)*step+1.
            shape = list(g.shape)
            g = g.reshape(shape[: axis + 1] + [1] + shape[axis + 1 :])
            g = _pad_axis(g, axis + 1, 0, step - 1)
            g = g.reshape(shape[:axis] + [length * step] + shape[axis + 1 :])
            g = _pad_axis(g, axis, 0, -(step - 1))
        span = (length - 1) * step + 1
        g = _pad_axis(g, axis, start, size - start - span)
    return [g]


def _compose_reshape(inner_attrs, attrs):
    return {"shape": attrs["shape"]}


def _compose_permute(inner_attrs, attrs):
    inner, outer = inner_attrs["dims"], attrs["dims"]
    return {"dims": tuple(inner[d] for d in outer)}


def view(name, shape_rule, attrs, strided, numpy, np_src, grad, grad_name, compose=None, np_index=None, doc=""):
    """Declare a view row: ``numpy(x, attrs, shape)`` is numpy's view, ``np_src(src, attrs, shape)``
    the same as source text; ``compose(inner_attrs, attrs)`` folds this view of the same view;
    ``np_index(attrs)``, for a view that is numpy basic indexing, the index tuple (eager kernels
    build it once per signature)."""
    return register(
        OpDef(name, VIEW, 1, shape_rule, dtype_first, attrs, grad=grad, grad_name=grad_name, doc=doc,
              strided=strided, numpy=numpy, extra={"compose": compose, "np_src": np_src, "np_index": np_index})
    )


view("reshape", _shape_reshape, ("shape",), _strided_reshape, _np_reshape, _src_reshape, _reshape_grad, "ViewBackward0",
     compose=_compose_reshape)
view("permute", _shape_permute, ("dims",), _strided_permute, _np_permute, _src_permute, _permute_grad,
     "PermuteBackward0", compose=_compose_permute)
view("expand", _shape_expand, ("shape",), _strided_expand, _np_expand, _src_expand, _expand_grad, "ExpandBackward0",
     compose=_compose_reshape)
view("slice", _shape_slice, ("starts", "stops", "steps"), _strided_slice, _np_slice, _src_slice, _slice_grad,
     "SliceBackward0", np_index=slice_key, doc="Per dim: start, stop, step already clipped to the input (step may be negative).")


# ----------------------------------------------------------------------------
# pad and concat


def _shape_pad(op, inputs, attrs):
    (x,) = inputs
    pads = attrs["pads"]
    if len(pads) != len(x.shape):
        raise ShapeError(f"{op.name}: {len(pads)} pad pairs for a {len(x.shape)}-d input")
    out = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
    if any(s < 0 for s in out):
        raise ShapeError(f"{op.name}: padding {pads} makes a negative size from {fmt_shape(x.shape)}")
    return out


def _np_pad(arrays, attrs, shape, dtype):
    (x,) = arrays
    out = np.full(shape, attrs.get("value", 0), dtype=x.dtype)
    src, dst = [], []
    for size, (lo, hi) in zip(x.shape, attrs["pads"]):
        s0, d0 = max(0, -lo), max(0, lo)
        n = size - s0 - max(0, -hi)
        src.append(slice(s0, s0 + max(n, 0)))
        dst.append(slice(d0, d0 + max(n, 0)))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _pad_grad(n, g):
    if not n.needs(0):
        return [None]
    return [g.op("pad", pads=tuple((-lo, -hi) for lo, hi in n.attrs["pads"]), value=0)]


register(OpDef("pad", PAD, 1, _shape_pad, dtype_first, ("pads", "value"), grad=_pad_grad,
               grad_name="ConstantPadNdBackward0", numpy=_np_pad,
               doc="Per dim (lo, hi) elements of attrs['value'] added (negative: removed)."))


def _shape_concat(op, inputs, attrs):
    axis = attrs["axis"]
    first = inputs[0].shape
    check_axes(op.name, (axis,), len(first))
    total = 0
    for i, x in enumerate(inputs):
        s = x.shape
        if len(s) != len(first) or any(a != b for d, (a, b) in enumerate(zip(s, first)) if d != axis):
            raise ShapeError(
                f"cat: sizes of tensors must match except in dimension {axis}: tensor 0 has shape "
                f"{fmt_shape(first)}, tensor {i} has shape {fmt_shape(s)}"
            )
        total += s[axis]
    return first[:axis] + (total,) + first[axis + 1 :]


def _np_concat(arrays, attrs, shape, dtype):
    return np.concatenate(arrays, axis=attrs["axis"])


def _concat_grad(n, g):
    axis = n.attrs["axis"]
    out, offset = [], 0
    for i, shape in enumerate(n.in_shapes):
        if n.needs(i):
            starts, stops, steps = [0] * g.ndim, list(g.shape), [1] * g.ndim
            starts[axis], stops[axis] = offset, offset + shape[axis]
            out.append(g.op("slice", starts=tuple(starts), stops=tuple(stops), steps=tuple(steps)))
        else:
            out.append(None)
        offset += shape[axis]
    return out


register(OpDef("concat", CONCAT, -1, _shape_concat, dtype_same, ("axis",), grad=_concat_grad, grad_name="CatBackward0",
               numpy=_np_concat, complex=True))
