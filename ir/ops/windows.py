"""View rows that see memory through explicit strides: ``unfold`` (sliding windows along one
dim, ``Tensor.unfold``), ``diagonal`` (one diagonal of two dims) and ``as_strided`` (any
size/stride/offset over the input's storage).

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
    """The array that owns ``x``'s memory (its storage). numpy's ``as_strided`` views (this
    module's rows) hang off their source through a ``DummyArray``, which is walked through."""
    root = x
    while True:
        base = root.base
        if not isinstance(base, np.ndarray) and isinstance(getattr(base, "base", None), np.ndarray):
            base = base.base  # as_strided's DummyArray
        if not isinstance(base, np.ndarray):
            return root
        root = base


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
    return [_add_back(n, g, tuple(n.attrs["size"]), tuple(n.attrs["stride"]), n.attrs["offset"] - n.attrs["in_offset"])]


def _add_back(n, g, size, stride, start):
    """Zeros shaped like input 0 with ``g`` added at the row-major positions ``start +
    sum(index * stride)`` of each of its elements (the elements a strided view read)."""
    in_shape = tuple(n.in_shapes[0])
    numel = int(np.prod(in_shape)) if in_shape else 1
    b = g.b
    pos = b.scalar(start, dt.int64)
    for axis, (s, st) in enumerate(zip(size, stride)):
        ramp = b.op("iota", [], shape=size, dtype=dt.int64, axis=axis)
        pos = b.op("add", [b.op("mul", [ramp, b.scalar(st, dt.int64)]), pos])
    if not size:
        pos = b.op("reshape", [pos], shape=())
    flat_pos = b.op("reshape", [b.op("expand", [pos], shape=size) if size else pos], shape=(int(np.prod(size)),))
    flat_g = g.reshape((int(np.prod(size)),))
    zeros = n.zeros(0, g.dtype).reshape((numel,))
    return zeros.op("index_add", type(g)(b, flat_pos), flat_g, axis=0).reshape(in_shape)


# ----------------------------------------------------------------------------
# diagonal: x.diagonal(offset, dim1, dim2) -> dims dim1 and dim2 replaced by a last dim that
# walks their diagonal (PyTorch's diagonal is a view: writes through it reach x)


def _diagonal_length(shape, attrs) -> int:
    n1, n2, k = shape[attrs["dim1"]], shape[attrs["dim2"]], attrs["offset"]
    return max(0, min(n1, n2 - k) if k >= 0 else min(n1 + k, n2))


def _shape_diagonal(op, inputs, attrs):
    (x,) = inputs
    d1, d2 = attrs["dim1"], attrs["dim2"]
    if not (0 <= d1 < len(x.shape) and 0 <= d2 < len(x.shape)) or d1 == d2:
        raise DimError(f"{op.name}: dims {d1} and {d2} must be two different dims of a {len(x.shape)}-d input")
    rest = tuple(s for d, s in enumerate(x.shape) if d not in (d1, d2))
    return rest + (_diagonal_length(tuple(x.shape), attrs),)


def _diagonal_layout(shape, strides, attrs):
    """(strides, offset from the input's first element) of the diagonal view."""
    d1, d2, k = attrs["dim1"], attrs["dim2"], attrs["offset"]
    rest = tuple(st for d, st in enumerate(strides) if d not in (d1, d2))
    start = k * strides[d2] if k >= 0 else -k * strides[d1]
    if _diagonal_length(shape, attrs) == 0:
        start = 0  # (an empty diagonal may start past the end)
    return rest + (strides[d1] + strides[d2],), start


def _strided_diagonal(shape, strides, offset, attrs, out_shape):
    st, start = _diagonal_layout(shape, strides, attrs)
    return st, offset + start


def _np_diagonal(x, attrs, shape):
    """A writable view of ``x``'s diagonal (numpy's own ``diagonal`` is read-only)."""
    st, start = _diagonal_layout(x.shape, x.strides, attrs)  # (numpy's strides are in bytes)
    if start:  # start at the diagonal's first element: x shifted along dim2 (dim1 for offset < 0)
        d, k = (attrs["dim2"], attrs["offset"]) if attrs["offset"] > 0 else (attrs["dim1"], -attrs["offset"])
        x = x[(slice(None),) * d + (slice(k, None),)]
    return as_strided(x, shape=shape, strides=st)


def _src_diagonal(src, attrs, shape):
    return f"O.diagonal({src}, {dict(attrs)!r}, {shape})"


def _diagonal_grad(n, g):
    """``g`` written on the diagonal of zeros shaped like the input (positions in row-major order)."""
    if not n.needs(0):
        return [None]
    in_shape = tuple(n.in_shapes[0])
    contiguous = tuple(int(np.prod(in_shape[d + 1:])) for d in range(len(in_shape)))
    stride, start = _diagonal_layout(in_shape, contiguous, n.attrs)
    return [_add_back(n, g, tuple(n.shape), stride, start)]


register(OpDef("diagonal", VIEW, 1, _shape_diagonal, dtype_first, ("offset", "dim1", "dim2"), grad=_diagonal_grad,
               grad_name="DiagonalBackward0", strided=_strided_diagonal, numpy=_np_diagonal,
               extra={"compose": None, "np_src": _src_diagonal},
               doc="The diagonal attrs['offset'] of dims attrs['dim1'] and attrs['dim2'] (both removed; a new last dim "
                   "walks the diagonal)."))


register(OpDef("as_strided", VIEW, 1, _shape_as_strided, dtype_first, ("size", "stride", "offset", "in_offset"),
               grad=_as_strided_grad, grad_name="AsStridedBackward0", strided=_strided_as_strided,
               numpy=_np_as_strided, extra={"compose": None, "np_src": _src_as_strided},
               doc="attrs['size'] elements at attrs['stride'] from storage element attrs['offset'] (the input's "
                   "own storage offset is attrs['in_offset'])."))
