"""numpy implementations of the IR's primitives, one per *kind*.

Elementwise ops are one table of numpy expressions (:data:`ELEMENTWISE`),
shared by the eager path (:func:`run_op`) and by code generation, which pastes
the same expressions into generated source. Every other kind has one
function here; :data:`KIND_IMPLS` maps kinds to them, so adding an op of an
existing kind never touches this dispatch.

Views return numpy views of their input (shared memory), which is what makes
``x.view(...)``, ``x.T`` and slicing alias their base in eager mode.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import ShapeError

# ----------------------------------------------------------------------------
# special functions numpy lacks


def erf(x: np.ndarray) -> np.ndarray:
    """The error function: exact (math.erf) in float64, a rational fit for smaller floats."""
    x = np.asarray(x)
    if x.dtype == np.float64:
        return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.copy()
    # Abramowitz & Stegun 7.1.26 refined form, |error| < 1.5e-7: float32 precision.
    xf = x.astype(np.float32, copy=False)
    s = np.sign(xf)
    a = np.abs(xf)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t * (np.float32(-0.284496736) + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))))
    )
    return (s * (1.0 - poly * np.exp(-a * a))).astype(x.dtype, copy=False)


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def remainder(x, y):
    # Python/PyTorch semantics: the result has the sign of the divisor.
    if x.dtype.kind in "iu":
        with np.errstate(divide="ignore"):
            return np.mod(x, y)
    return np.mod(x, y)


def floor_divide(x, y):
    return np.floor_divide(x, y)


def round_half_even(x):
    return np.round(x)


# Each entry: a callable over numpy arrays. ``EXPR`` gives the same thing as
# source text for code generation ({0}, {1}, {2} are the operands).
ELEMENTWISE = {
    "neg": np.negative,
    "abs": np.abs,
    "sign": np.sign,
    "relu": lambda x: np.maximum(x, x.dtype.type(0)),
    "floor": np.floor,
    "ceil": np.ceil,
    "round": round_half_even,
    "trunc": np.trunc,
    "copy": np.copy,
    "exp": np.exp,
    "exp2": np.exp2,
    "log": np.log,
    "log2": np.log2,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "erf": erf,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "reciprocal": lambda x: 1.0 / x,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isfinite": np.isfinite,
    "logical_not": np.logical_not,
    "bitwise_not": np.invert,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "atan2": np.arctan2,
    "floor_divide": floor_divide,
    "remainder": remainder,
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
    "where": np.where,
}

EXPR = {
    "neg": "np.negative({0})",
    "abs": "np.abs({0})",
    "sign": "np.sign({0})",
    "relu": "np.maximum({0}, 0)",
    "floor": "np.floor({0})",
    "ceil": "np.ceil({0})",
    "round": "np.round({0})",
    "trunc": "np.trunc({0})",
    "copy": "np.copy({0})",
    "exp": "np.exp({0})",
    "exp2": "np.exp2({0})",
    "log": "np.log({0})",
    "log2": "np.log2({0})",
    "sqrt": "np.sqrt({0})",
    "rsqrt": "(1.0 / np.sqrt({0}))",
    "sin": "np.sin({0})",
    "cos": "np.cos({0})",
    "tan": "np.tan({0})",
    "tanh": "np.tanh({0})",
    "sigmoid": "K.sigmoid({0})",
    "erf": "K.erf({0})",
    "log1p": "np.log1p({0})",
    "expm1": "np.expm1({0})",
    "reciprocal": "(1.0 / {0})",
    "asin": "np.arcsin({0})",
    "acos": "np.arccos({0})",
    "atan": "np.arctan({0})",
    "sinh": "np.sinh({0})",
    "cosh": "np.cosh({0})",
    "isnan": "np.isnan({0})",
    "isinf": "np.isinf({0})",
    "isfinite": "np.isfinite({0})",
    "logical_not": "np.logical_not({0})",
    "bitwise_not": "np.invert({0})",
    "add": "np.add({0}, {1})",
    "sub": "np.subtract({0}, {1})",
    "mul": "np.multiply({0}, {1})",
    "div": "np.true_divide({0}, {1})",
    "pow": "np.power({0}, {1})",
    "maximum": "np.maximum({0}, {1})",
    "minimum": "np.minimum({0}, {1})",
    "atan2": "np.arctan2({0}, {1})",
    "floor_divide": "np.floor_divide({0}, {1})",
    "remainder": "K.remainder({0}, {1})",
    "eq": "np.equal({0}, {1})",
    "ne": "np.not_equal({0}, {1})",
    "lt": "np.less({0}, {1})",
    "le": "np.less_equal({0}, {1})",
    "gt": "np.greater({0}, {1})",
    "ge": "np.greater_equal({0}, {1})",
    "logical_and": "np.logical_and({0}, {1})",
    "logical_or": "np.logical_or({0}, {1})",
    "logical_xor": "np.logical_xor({0}, {1})",
    "bitwise_and": "np.bitwise_and({0}, {1})",
    "bitwise_or": "np.bitwise_or({0}, {1})",
    "bitwise_xor": "np.bitwise_xor({0}, {1})",
    "where": "np.where({0}, {1}, {2})",
}

# ----------------------------------------------------------------------------
# bfloat16: stored as float32, rounded to bfloat16's 8-bit mantissa after each op


def round_bf16(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), kept as float32."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(a), a, out)


def finish(result, dtype: dt.DType) -> np.ndarray:
    """Give ``result`` exactly the storage dtype of ``dtype`` (and bf16 rounding)."""
    result = np.asarray(result)
    if result.dtype != dtype.numpy_dtype:
        result = result.astype(dtype.numpy_dtype)
    if dtype is dt.bfloat16:
        result = round_bf16(result)
    return result


# ----------------------------------------------------------------------------
# one implementation per kind: f(op, arrays, attrs, shape, dtype) -> ndarray


def _elementwise(op, arrays, attrs, shape, dtype):
    with np.errstate(all="ignore"):
        return finish(ELEMENTWISE[op.name](*arrays), dtype)


def _cast(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    if dtype.is_bool:
        return np.asarray(x != 0)
    with np.errstate(invalid="ignore"):
        return finish(x.astype(dtype.numpy_dtype), dtype)


_REDUCERS = {
    "sum": np.sum,
    "prod": np.prod,
    "amax": np.max,
    "amin": np.min,
    "all": np.all,
    "any": np.any,
}


def _reduce(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    axes, keepdim = tuple(attrs["axes"]), attrs.get("keepdim", False)
    if x.ndim == 0:
        axes = None
    if op.name in ("argmax", "argmin"):
        fn = np.argmax if op.name == "argmax" else np.argmin
        if axes is None:
            return np.asarray(0, dtype=np.int64)
        (axis,) = axes
        return np.asarray(fn(x, axis=axis, keepdims=keepdim), dtype=np.int64)
    fn = _REDUCERS[op.name]
    kwargs = {}
    if op.name in ("sum", "prod") and x.dtype == np.float16:
        kwargs["dtype"] = np.float32  # accumulate half precision in float32, as PyTorch does
    return finish(fn(x, axis=axes, keepdims=keepdim, **kwargs), dtype)


def _scan(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    if x.ndim == 0:
        return x.copy()
    return finish(np.cumsum(x, axis=attrs["axis"]), dtype)


def _slice_key(attrs):
    return tuple(
        slice(start, stop if stop >= 0 else None, step)
        for start, stop, step in zip(attrs["starts"], attrs["stops"], attrs["steps"])
    )


def _view(op, arrays, attrs, shape, dtype):
    (x,) = arrays
    name = op.name
    if name == "reshape":
        return x.reshape(shape)
    if name == "permute":
        return x.transpose(attrs["dims"])
    if name == "expand":
        lead = len(shape) - x.ndim
        strides = [0] * lead + [0 if s == 1 and t != 1 else st for s, t, st in zip(x.shape, shape[lead:], x.strides)]
        return as_strided(x, shape=shape, strides=strides)
    if name == "slice":
        return x[_slice_key(attrs)]
    raise KeyError(name)


def _pad(op, arrays, attrs, shape, dtype):
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


def _matmul(op, arrays, attrs, shape, dtype):
    a, b = arrays
    return finish(np.matmul(a, b), dtype)


def _check_index(opname, idx, size, axis):
    if idx.size and (idx.max() >= size or idx.min() < -size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{opname}: index {bad} is out of bounds for dimension {axis} with size {size}")


def _grid_index(idx, axis):
    """A full fancy-index tuple addressing ``idx``'s positions with ``idx`` along ``axis``."""
    key = []
    for d, s in enumerate(idx.shape):
        if d == axis:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[d] = s
            key.append(np.arange(s).reshape(shape))
    return tuple(key)


def _index(op, arrays, attrs, shape, dtype):
    name, axis = op.name, attrs["axis"]
    x, idx = arrays[0], arrays[1].astype(np.int64, copy=False)
    if x.ndim == 0:
        x = x.reshape(1)
    _check_index(name, idx, x.shape[axis], axis)
    if name == "index_select":
        return np.take(x, idx, axis=axis)
    if name == "gather":
        return x[_grid_index(idx, axis)]
    out = x.copy()
    src = arrays[2]
    if name == "scatter_add":
        np.add.at(out, _grid_index(idx, axis), src)
    elif name == "index_add":
        np.add.at(out, (slice(None),) * axis + (idx,), src)
    elif name == "index_copy":
        out[(slice(None),) * axis + (idx,)] = src
    else:
        raise KeyError(name)
    return out.reshape(shape)


def _concat(op, arrays, attrs, shape, dtype):
    return np.concatenate(arrays, axis=attrs["axis"])


def _creation(op, arrays, attrs, shape, dtype):
    if op.name == "full":
        return np.full(shape, attrs["value"], dtype=dtype.numpy_dtype)
    axis = attrs["axis"]
    ramp_shape = [1] * len(shape)
    ramp_shape[axis] = shape[axis]
    ramp = np.arange(shape[axis], dtype=dtype.numpy_dtype).reshape(ramp_shape)
    return np.ascontiguousarray(np.broadcast_to(ramp, shape))


def _random(op, arrays, attrs, shape, dtype):
    seed = int(np.asarray(arrays[0]))
    rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
    storage = dtype.numpy_dtype if dtype.numpy_dtype in (np.float32, np.float64) else np.float32
    if op.name == "random_uniform":
        out = rng.random(shape, dtype=storage)
    else:
        out = rng.standard_normal(shape, dtype=storage)
    return finish(out, dtype)


def _source(op, arrays, attrs, shape, dtype):
    if op.name == "constant":
        return np.asarray(attrs["value"], dtype=dtype.numpy_dtype)
    raise ShapeError("an input node has no implementation; bind a value to it")


KIND_IMPLS = {
    ops_table.ELEMENTWISE: _elementwise,
    ops_table.CAST: _cast,
    ops_table.REDUCE: _reduce,
    ops_table.SCAN: _scan,
    ops_table.VIEW: _view,
    ops_table.PAD: _pad,
    ops_table.MATMUL: _matmul,
    ops_table.INDEX: _index,
    ops_table.CONCAT: _concat,
    ops_table.CREATION: _creation,
    ops_table.RANDOM: _random,
    ops_table.SOURCE: _source,
}


def run_op(op: ops_table.OpDef, arrays, attrs, shape, dtype) -> np.ndarray:
    """Run one primitive on numpy arrays; views come back as views."""
    return KIND_IMPLS[op.kind](op, arrays, attrs, shape, dtype)
