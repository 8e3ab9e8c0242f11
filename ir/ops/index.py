"""Index rows: gather/scatter along an axis (PyTorch's gather, scatter_add, index_select,
index_add, index_copy), with their numpy implementations and gradients."""

from __future__ import annotations

import functools

import numpy as np

from .. import dtypes as dt
from ..errors import DTypeError, ShapeError
from .core import INDEX, OpDef, check_axes, fmt_shape, register
from .grad import iota, where

# ----------------------------------------------------------------------------
# rules


def _dtype_index(op, inputs, attrs):
    idx = inputs[1]
    if not idx.dtype.is_integer:
        raise DTypeError(f"{op.name}: index must be an integer tensor, got {idx.dtype}")
    if len(inputs) == 3 and inputs[2].dtype is not inputs[0].dtype:
        raise DTypeError(f"{op.name}: source dtype {inputs[2].dtype} must match the input dtype {inputs[0].dtype}")
    return inputs[0].dtype


def _shape_gather(op, inputs, attrs):
    x, idx = inputs
    axis = attrs["axis"]
    if len(idx.shape) != len(x.shape):
        raise ShapeError(f"{op.name}: index {fmt_shape(idx.shape)} must have as many dims as the input {fmt_shape(x.shape)}")
    for d, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and si > sx:
            raise ShapeError(
                f"{op.name}: index size {si} exceeds input size {sx} at dim {d} "
                f"(index {fmt_shape(idx.shape)}, input {fmt_shape(x.shape)})"
            )
    return idx.shape


def _shape_scatter_add(op, inputs, attrs):
    x, idx, src = inputs
    if len(idx.shape) != len(x.shape) or tuple(idx.shape) != tuple(src.shape):
        raise ShapeError(
            f"{op.name}: index {fmt_shape(idx.shape)} and src {fmt_shape(src.shape)} must match "
            f"and have the dims of the input {fmt_shape(x.shape)}"
        )
    return x.shape


def _shape_index_select(op, inputs, attrs):
    x, idx = inputs
    axis = attrs["axis"]
    check_axes(op.name, (axis,), len(x.shape))
    return x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1 :]


def _shape_index_update(op, inputs, attrs):
    x, idx, src = inputs
    axis = attrs["axis"]
    check_axes(op.name, (axis,), len(x.shape))
    expect = x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1 :]
    if tuple(src.shape) != expect:
        raise ShapeError(f"{op.name}: values of shape {fmt_shape(src.shape)} do not fit the indexed shape {fmt_shape(expect)}")
    return x.shape


# ----------------------------------------------------------------------------
# numpy implementations


def check_index(opname: str, idx: np.ndarray, size: int, axis: int) -> None:
    """PyTorch's 'index out of range' error, raised before any value is read.

    Indices lie in ``[0, size)``: these rows never wrap a negative index (numpy would read
    from the end, PyTorch's index_select/gather/scatter/index_add refuse). The frontend
    wraps where PyTorch does (``x[idx]``, ``take``) before the row sees the index."""
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= size:
            bad = hi if hi >= size else lo
            raise IndexError(f"{opname}: index {bad} is out of bounds for dimension {axis} with size {size}")


def _grid_index(idx, axis):
    """A full fancy-index tuple addressing ``idx``'s positions with ``idx`` along ``axis``."""
    return tuple(idx if d == axis else r for d, r in enumerate(_grid_ranges(idx.shape, axis)))


@functools.lru_cache(maxsize=256)
def _grid_ranges(shape, axis) -> tuple:
    """The read-only ``arange`` of each dim but ``axis`` (None there), shaped to broadcast:
    made once per index shape (a loss's gather and scatter run with one shape every step)."""
    ranges = []
    for d, s in enumerate(shape):
        if d == axis:
            ranges.append(None)
            continue
        r = np.arange(s).reshape([s if k == d else 1 for k in range(len(shape))])
        r.flags.writeable = False
        ranges.append(r)
    return tuple(ranges)


def _operands(name, arrays, attrs):
    x, idx = arrays[0], arrays[1].astype(np.int64, copy=False)
    if x.ndim == 0:
        x = x.reshape(1)
    check_index(name, idx, x.shape[attrs["axis"]], attrs["axis"])
    return x, idx


def _np_gather(arrays, attrs, shape, dtype):
    x, idx = _operands("gather", arrays, attrs)
    axis = attrs["axis"]
    if idx.size >= _FLAT_GATHER_MIN and x.flags.c_contiguous:
        # One take through flat positions: numpy's fancy indexing with an index array per dim
        # walks them all (256x512 float32: 352 us, against 130 us for the add and the take).
        flat = _line_offsets(idx.shape, x.shape, axis) + (idx if x.shape[axis + 1 :] == () else idx * _row_stride(x.shape, axis))
        return x.reshape(-1).take(flat)
    return x[_grid_index(idx, axis)]


_FLAT_GATHER_MIN = 1 << 12


def _row_stride(shape, axis) -> int:
    """Elements between neighbours along ``axis`` of a C-contiguous array of ``shape``."""
    return int(np.prod(shape[axis + 1 :], dtype=np.int64))


@functools.lru_cache(maxsize=64)
def _line_offsets(idx_shape, x_shape, axis) -> np.ndarray:
    """The flat position in a C-contiguous ``x_shape`` array of each line of ``idx_shape`` along
    ``axis`` (its index there 0), shaped to broadcast against the index: made once per shape."""
    offsets = np.zeros([1] * len(idx_shape), dtype=np.int64)
    for d, size in enumerate(idx_shape):
        if d != axis:
            ramp = np.arange(size, dtype=np.int64) * _row_stride(x_shape, d)
            offsets = offsets + ramp.reshape([size if k == d else 1 for k in range(len(idx_shape))])
    offsets.flags.writeable = False
    return offsets


def _np_index_select(arrays, attrs, shape, dtype):
    x, idx = _operands("index_select", arrays, attrs)
    return np.take(x, idx, axis=attrs["axis"])


def _np_scatter_add(arrays, attrs, shape, dtype):
    x, idx = _operands("scatter_add", arrays, attrs)
    out = x.copy()
    axis = attrs["axis"]
    if idx.ndim and idx.shape[axis] == 1:
        # one index per line along the axis: no two sources share an element, so a plain
        # indexed add is exact (np.add.at's unbuffered loop is what repeated indices need)
        out[_grid_index(idx, axis)] += arrays[2]
    else:
        np.add.at(out, _grid_index(idx, axis), arrays[2])
    return out.reshape(shape)


def _np_index_add(arrays, attrs, shape, dtype):
    x, idx = _operands("index_add", arrays, attrs)
    out = x.copy()
    np.add.at(out, (slice(None),) * attrs["axis"] + (idx,), arrays[2])
    return out.reshape(shape)


def _np_index_copy(arrays, attrs, shape, dtype):
    x, idx = _operands("index_copy", arrays, attrs)
    out = x.copy()
    out[(slice(None),) * attrs["axis"] + (idx,)] = arrays[2]
    return out.reshape(shape)


# ----------------------------------------------------------------------------
# gradients


def _gather_grad(n, g):
    if not n.needs(0):
        return [None, None]
    axis = n.attrs["axis"]
    x_shape, idx_shape = n.in_shapes[0], n.in_shapes[1]
    if x_shape and idx_shape[axis] == 1 and all(i == s for d, (i, s) in enumerate(zip(idx_shape, x_shape)) if d != axis):
        # One index per line (cross-entropy's pick of the target's log-probability): the
        # gradient is a one-hot select, elementwise, so it fuses with the softmax backward that
        # consumes it, where a scatter into zeros is two kernels of its own (and atomics on a GPU).
        ramp_shape = [1] * len(x_shape)
        ramp_shape[axis] = x_shape[axis]
        return [where(iota(g, ramp_shape, axis).eq(n[1].cast(dt.int64)), g, 0), None]
    return [n.zeros(0, g.dtype).op("scatter_add", n[1], g, axis=axis), None]


def _scatter_add_grad(n, g):
    return [g if n.needs(0) else None, None, g.op("gather", n[1], axis=n.attrs["axis"]) if n.needs(2) else None]


def _index_select_grad(n, g):
    if not n.needs(0):
        return [None, None]
    return [n.zeros(0, g.dtype).op("index_add", n[1], g, axis=n.attrs["axis"]), None]


def _index_add_grad(n, g):
    return [g if n.needs(0) else None, None, g.op("index_select", n[1], axis=n.attrs["axis"]) if n.needs(2) else None]


def _index_copy_grad(n, g):
    axis = n.attrs["axis"]
    out = [None, None, None]
    if n.needs(0):
        out[0] = g.op("index_copy", n[1], n.zeros(2, g.dtype), axis=axis)
    if n.needs(2):
        out[2] = g.op("index_select", n[1], axis=axis)
    return out


def index_row(name, arity, shape_rule, numpy, grad, grad_name, doc=""):
    return register(OpDef(name, INDEX, arity, shape_rule, _dtype_index, ("axis",), saves=(1,), grad=grad,
                          grad_name=grad_name, numpy=numpy, doc=doc))


index_row("gather", 2, _shape_gather, _np_gather, _gather_grad, "GatherBackward0")
index_row("scatter_add", 3, _shape_scatter_add, _np_scatter_add, _scatter_add_grad, "ScatterAddBackward0")
index_row("index_select", 2, _shape_index_select, _np_index_select, _index_select_grad, "IndexBackward0",
          doc="x.shape[:axis] + idx.shape + x.shape[axis+1:]; indices in [0, size).")
index_row("index_add", 3, _shape_index_update, _np_index_add, _index_add_grad, "IndexAddBackward0",
          doc="x with src added at idx along axis (repeated indices accumulate).")
index_row("index_copy", 3, _shape_index_update, _np_index_copy, _index_copy_grad, "IndexPutBackward0",
          doc="x with src written at idx along axis (x[..., idx, ...] = src).")
