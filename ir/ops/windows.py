"""View rows that see memory through explicit strides: ``unfold`` (sliding windows along one
dim, ``Tensor.unfold``) and ``as_strided`` (any size/stride/offset over the input's storage).

Like the other views (:mod:`.movement`), each row's ``strided`` rule maps the input layout to the
view's, which the tracer and the Triton runtime use; numpy gets the same view through
``as_strided``. ``unfold`` is defined on the input's layout, so it composes with every other
view. ``as_strided`` is PyTorch's storage-level view: its strides and offset are in elements of
the storage the input views (the frontend resolves the offset), so numpy builds it on the root
array of the input.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes as dt
from ..errors import DimError, ShapeError
from .core import VIEW, OpDef, dtype_first, fmt_shape, register

# ----------------------------------------------------------------------------
# unfold: x.unfold(dim, size, step) -> windows along dim, window elements in a new last dim


def _shape_unfold(op, inputs, attrs):
    (x,) = inputs
    d, size, step = attrs["dim"], attrs["size"], attrs["step"]
    shape = tuple(x.shape) if x.shape else (1,)
    if not 0 <= d < len(shape):
        raise DimError(f"{op.name}: dimension {d} out of range for a {len(x.shape)}-d input")
    if step <= 0:
        raise ShapeError(f"{op.name}: step is {step} but must be > 0")
    if size < 0 or size > shape[d]:
        raise ShapeError(f"{op.name}: maximum size for tensor at dimension {d} is {shape[d]} but size is {size}")
    if not x.shape:
        return (size,)
    return shape[:d] + ((shape[d] - size) // step + 1,) + shape[d + 1 :] + (size,)


def _strided_unfold(shape, strides, offset, attrs, out_shape):
    if not shape:
        return (0,) * len(out_shape), offset
    d, step = attrs["dim"], attrs["step"]
    st = list(strides)
    st[d] = strides[d] * step
    return tuple(st) + (strides[d],), offset


def _np_unfold(x, attrs, shape):
    if x.ndim == 0:
        return as_strided(x, shape=shape, strides=(0,) * len(shape))
    d, step = attrs["dim"], attrs["step"]
    st = list(x.strides)
    st[d] = x.strides[d] * step
    return as_strided(x, shape=shape, strides=tuple(st) + (x.strides[d],))


def _src_unfold(src, attrs, shape):
    return f"O.unfold({src}, {dict(attrs)!r}, {shape})"


def _window_positions(b, n, size, step):
    """[n * size] int64 positions along the unfolded dim: window w, element k -> w*step + k."""
    w = b.op("iota", [], shape=(n, size), dtype=dt.int64, axis=0)
    k = b.op("iota", [], shape=(n, size), dtype=dt.int64, axis=1)
    return b.op("reshape", [b.op("add", [b.op("mul", [w, b.scalar(step, dt.int64)]), k])], shape=(n * size,))


def _unfold_grad(n, g):
    """Every window element's gradient added back where it was read (windows may overlap)."""
    if not n.needs(0):
        return [None]
    in_shape = tuple(n.in_shapes[0])
    if not in_shape:
        return [g.sum(list(range(g.ndim)), keepdim=False)]
    d, size, step = n.attrs["dim"], n.attrs["size"], n.attrs["step"]
    nw = n.shape[d]
    nd = len(in_shape)
    # move the window-element dim (last) next to the window dim, then merge the two
    dims = list(range(d + 1)) + [nd] + list(range(d + 1, nd))
    flat = g.permute(dims).reshape(in_shape[:d] + (nw * size,) + in_shape[d + 1 :])
    pos = _window_positions(g.b, nw, size, step)
    zeros = n.zeros(0, g.dtype)
    return [zeros.op("index_add", type(g)(g.b, pos), flat, axis=d)]


register(OpDef("unfold", VIEW, 1, _shape_unfold, dtype_first, ("dim", "size", "step"), grad=_unfold_grad,
               grad_name="UnfoldBackward0", strided=_strided_unfold, numpy=_np_unfold,
               extra={"compose": None, "np_src": _src_unfold},
               doc="Windows of attrs['size'] every attrs['step'] along attrs['dim'] (a new last dim holds each window)."))


# ----------------------------------------------------------------------------
# as_strided: size, stride, offset in elements of the input's storage


def _shape_as_strided(op, inputs, attrs):
    size, stride, offset = attrs["size"], attrs["stride"], attrs["offset"]
    if len(size) != len(stride):
        raise ShapeError(f"{op.name}: mismatch in length of strides and shape ({len(stride)} and {len(size)})")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ShapeError(f"{op.name}: negative sizes or strides are not supported: size {fmt_shape(size)}, stride {tuple(stride)}")
    if offset < 0:
        raise ShapeError(f"{op.name}: negative storage offset {offset}")
    return tuple(size)


def _strided_as_strided(shape, strides, offset, attrs, out_shape):
    return tuple(attrs["stride"]), attrs["offset"]


def storage_root(x: np.ndarray) -> np.ndarray:
    """The array that owns ``x``'s memory (its storage)."""
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    return root


def _np_as_strided(x, attrs, shape):
    root = storage_root(x)
    size, stride, offset = tuple(attrs["size"]), tuple(attrs["stride"]), attrs["offset"]
    extent = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1 if all(size) else 0
    if extent > root.size:
        raise ShapeError(
            f"as_strided: setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset} require a "
            f"storage of {extent} elements, but the storage has {root.size}"
        )
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        root = x  # not a flat buffer: the input's own memory is the storage
    start = np.ndarray((max(root.size - offset, 0),), x.dtype, buffer=root, offset=offset * x.itemsize) if (
        root is not x) else x.reshape(-1)[offset:]
    return as_strided(start, shape=size, strides=tuple(st * x.itemsize for st in stride))


def _src_as_strided(src, attrs, shape):
    return f"O.as_strided({src}, {dict(attrs)!r}, {shape})"


def _as_strided_grad(n, g):
    """The gradient added back at the storage positions each output element read, for an
    input laid out contiguously from ``in_offset`` (the frontend checks that)."""
    if not n.needs(0):
        return [None]
    in_shape = tuple(n.in_shapes[0])
    numel = int(np.prod(in_shape)) if in_shape else 1
    size, stride = tuple(n.attrs["size"]), tuple(n.attrs["stride"])
    b = g.b
    pos = b.scalar(n.attrs["offset"] - n.attrs["in_offset"], dt.int64)
    for axis, (s, st) in enumerate(zip(size, stride)):
        ramp = b.op("iota", [], shape=size, dtype=dt.int64, axis=axis)
        pos = b.op("add", [b.op("mul", [ramp, b.scalar(st, dt.int64)]), pos])
    if not size:
        pos = b.op("reshape", [pos], shape=())
    flat_pos = b.op("reshape", [b.op("expand", [pos], shape=size) if size else pos], shape=(int(np.prod(size)),))
    flat_g = g.reshape((int(np.prod(size)),))
    zeros = n.zeros(0, g.dtype).reshape((numel,))
    return [zeros.op("index_add", type(g)(b, flat_pos), flat_g, axis=0).reshape(in_shape)]


register(OpDef("as_strided", VIEW, 1, _shape_as_strided, dtype_first, ("size", "stride", "offset", "in_offset"),
               grad=_as_strided_grad, grad_name="AsStridedBackward0", strided=_strided_as_strided,
               numpy=_np_as_strided, extra={"compose": None, "np_src": _src_as_strided},
               doc="attrs['size'] elements at attrs['stride'] from storage element attrs['offset'] (the input's "
                   "own storage offset is attrs['in_offset'])."))
