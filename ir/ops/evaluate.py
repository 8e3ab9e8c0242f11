"""Evaluate one row with numpy: the reference semantics of every primitive.

Rows carry their numpy implementations (elementwise rows a ufunc-like callable, reductions a
:class:`~ir.ops.ReduceSpec`, views numpy's view, other rows a ``numpy(arrays, attrs, shape,
dtype)`` function); this module runs them, one function per *kind*, adding numpy's error state,
exact storage dtypes and bfloat16 (stored as float32, rounded after every op). It is the numpy
backend's eager kernel, the constant folder of ``simplify`` and the reference the other
backends are tested against. Adding an op of an existing kind never touches this file.

Views return numpy views of their input (shared memory), which is what makes ``x.view(...)``,
``x.T`` and slicing alias their base in eager mode.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .. import dtypes as dt
from ..errors import IntegerDivisionError
from . import core as ops_table
from . import nphalf, npmath

# ----------------------------------------------------------------------------
# bfloat16: stored as float32, rounded to bfloat16's 8-bit mantissa after each op


def round_bf16(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), kept as float32; a NaN stays
    the NaN it was (adding the rounding bias could carry its payload into an infinity).

    In place on one fresh uint32 array, five passes, and the NaN select only when there is a NaN
    (numpy's where branches per element: it was 90% of every bfloat16 op's time)."""
    shape = np.shape(a)
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(shape)  # ascontiguousarray makes 0-d arrays 1-d
    bits = a.view(np.uint32)
    out = np.right_shift(bits, np.uint32(16))
    out &= np.uint32(1)
    out += np.uint32(0x7FFF)  # the bias: half an ulp of bfloat16, less one where the kept bit is even
    out += bits
    out &= np.uint32(0xFFFF0000)
    out = out.view(np.float32)
    nan = np.isnan(a)
    if nan.any():
        out = npmath.where(nan, a, out)
    return out


def finish(result, dtype: dt.DType) -> np.ndarray:
    """Give ``result`` exactly the storage dtype of ``dtype`` (and bf16 rounding)."""
    result = np.asarray(result)
    if result.dtype != dtype.numpy_dtype:
        result = nphalf.astype(result, dtype.numpy_dtype)
    if dtype is dt.bfloat16:
        result = round_bf16(result)
    return result


# ----------------------------------------------------------------------------
# one implementation per kind: f(op, arrays, attrs, shape, dtype) -> ndarray


def check_divisor(b, op: str):
    """``b`` (an integer divisor) unchanged, or IntegerDivisionError when an entry is zero."""
    if not np.all(b):
        raise IntegerDivisionError(f"{op}: integer division by zero (ZeroDivisionError)")
    return b


def _elementwise(op, arrays, attrs, shape, dtype):
    divisor = op.extra.get("divisor")
    if divisor is not None and dtype.is_integer and 0 not in shape:  # (an empty result divides nothing)
        check_divisor(arrays[divisor], op.name)
    with np.errstate(all="ignore"):
        return finish(op.numpy(*arrays), dtype)


def _cast(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    if dtype.is_bool:
        return np.asarray(x != 0)
    if np.iscomplexobj(x) and not dtype.is_complex:
        x = x.real  # PyTorch discards the imaginary part
    with np.errstate(invalid="ignore", over="ignore"):  # an overflow is inf, silently (PyTorch)
        return finish(nphalf.astype(x, dtype.numpy_dtype), dtype)


def reduce_kwargs(spec, in_dtype: dt.DType) -> dict:
    """Extra numpy arguments a reduction needs: the accumulation dtype when it is wider."""
    acc = spec.acc_dtype(in_dtype)
    if not spec.index and acc.numpy_dtype != in_dtype.numpy_dtype:
        return {"dtype": acc.numpy_dtype}
    return {}


def _reduce(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    spec = op.reduce
    axes, keepdim = tuple(attrs["axes"]), attrs.get("keepdim", False)
    if spec.index:
        if x.ndim == 0:
            return np.asarray(0, dtype=np.int64)
        (axis,) = axes
        return np.asarray(op.numpy(x, axis=axis, keepdims=keepdim), dtype=np.int64)
    with np.errstate(all="ignore"):
        out = op.numpy(x, axis=axes if x.ndim else None, keepdims=keepdim, **reduce_kwargs(spec, op_input_dtype(x, dtype)))
    return finish(out, dtype)


def _scan(op, arrays, attrs, shape, dtype):
    """A running reduction: the combine row's ufunc ``accumulate`` along the axis."""
    (x,) = arrays
    if x.ndim == 0:
        return finish(x.copy(), dtype)
    spec = op.reduce
    ufunc = getattr(np, ops_table.OPS[spec.combine].np_ufunc)
    acc = _CPU_SCAN_ACC.get(x.dtype) if dtype is not dt.bfloat16 else None  # (bf16 is stored as f32)
    if acc is None:
        acc = reduce_kwargs(spec, op_input_dtype(x, dtype)).get("dtype")
    with np.errstate(all="ignore"):
        return finish(accumulate(ufunc, x, attrs["axis"], acc), dtype)


# PyTorch's CPU scans (cumsum, cumprod, logcumsumexp) carry single-precision running values in
# double (its CPU accumulate type): a float32 cumsum of 300 normals differed from PyTorch's in
# most elements, up to thousands of ulps where the running sum cancels. (Half precision carries
# float32, the rows' own accumulation dtype; the Triton backend keeps float32 as CUDA does.)
_CPU_SCAN_ACC = {np.dtype(np.float32): np.dtype(np.float64), np.dtype(np.complex64): np.dtype(np.complex128)}


_ACCUMULATE_DTYPE: dict = {}


def accumulate(ufunc, x: np.ndarray, axis: int, acc=None) -> np.ndarray:
    """``ufunc.accumulate(x, axis, dtype=acc)``, the same values in the same order.

    numpy's accumulate runs its inner loop along the axis, once per position of the other axes:
    a float32 cumsum over the 4-long window axis of a (4, 32, 16, 4, 4) max-pool window takes
    166 us, over axis 0 of (128, 2048) 2.8 ms. Where the axis is short beside the rest, one ufunc
    call per step over a whole slab (``out[i] = ufunc(out[i - 1], x[i])``) does the same
    arithmetic in 15 us and 0.17 ms; long axes over few elements keep numpy's loop.
    """
    n = x.shape[axis]
    rest = x.size // n if n else 0
    inner = 1
    for s in x.shape[axis + 1 :]:
        inner *= s
    if x.size < 4096 or not (rest >= 64 * n or (inner >= 16 and x.size >= 400 * n)):
        return ufunc.accumulate(x, axis=axis, **({} if acc is None else {"dtype": acc}))
    if acc is None:  # (add and multiply widen small integers, as sum does)
        key = (ufunc, x.dtype)
        acc = _ACCUMULATE_DTYPE.get(key)
        if acc is None:
            acc = _ACCUMULATE_DTYPE[key] = ufunc.accumulate(np.zeros(1, x.dtype)).dtype
    out = x.astype(acc, copy=True)
    slabs = np.moveaxis(out, axis, 0)
    for i in range(1, n):
        ufunc(slabs[i - 1], slabs[i], out=slabs[i])
    return out


def op_input_dtype(x: np.ndarray, out_dtype: dt.DType) -> dt.DType:
    """The IR dtype of an input array (bfloat16 arrays are float32 storage of a bf16 result)."""
    if out_dtype is dt.bfloat16 and x.dtype == np.float32:
        return dt.bfloat16
    return dt.from_numpy(x.dtype)


def _view(op, arrays, attrs, shape, dtype):
    return op.numpy(arrays[0], attrs, shape)


def _rowwise(op, arrays, attrs, shape, dtype):
    """Kinds whose rows each carry a full numpy implementation (index, pad, concat, ...)."""
    out = op.numpy(arrays, attrs, shape, dtype)
    return out if op.kind == ops_table.SOURCE else finish(out, dtype)


KIND_IMPLS = {
    ops_table.ELEMENTWISE: _elementwise,
    ops_table.CAST: _cast,
    ops_table.REDUCE: _reduce,
    ops_table.VIEW: _view,
    ops_table.SCAN: _scan,
    ops_table.PAD: _rowwise,
    ops_table.MATMUL: _rowwise,
    ops_table.INDEX: _rowwise,
    ops_table.CONCAT: _rowwise,
    ops_table.CREATION: _rowwise,
    ops_table.RANDOM: _rowwise,
    ops_table.SOURCE: _rowwise,
    ops_table.LIBRARY: _rowwise,
}


def run_op(op: ops_table.OpDef, arrays, attrs, shape, dtype) -> np.ndarray:
    """Run one primitive on numpy arrays; views come back as views."""
    return KIND_IMPLS[op.kind](op, arrays, attrs, shape, dtype)


def row_functions() -> SimpleNamespace:
    """``O`` in generated code: each row's numpy callable by op name (``O.sigmoid(x)``)."""
    return SimpleNamespace(**{name: row.numpy for name, row in ops_table.OPS.items() if row.numpy is not None})
