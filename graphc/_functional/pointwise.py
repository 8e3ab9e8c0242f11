"""Pointwise functions built from several primitives or with PyTorch-specific forms:
``where``, ``masked_fill``, the ``clamp`` family, ``lerp``/``addcmul``/``addcdiv``,
``nan_to_num`` and the closeness tests."""

from __future__ import annotations

import math

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops import broadcast_shapes

from .._dispatch import apply, composite, constant
from .._grad_mode import is_grad_enabled
from .._tensor import Tensor
from ._common import _HALF, _device_of, _promote, _tensor_arg, _to, _write_out
from .elementwise import _fma, abs, add, div, eq, gt, isinf, isnan, le, logical_and, logical_or, lt, mul, sub
from .sorting import nonzero

__all__ = [
    "equal", "allclose", "isclose", "where", "masked_fill", "clamp", "clip", "clamp_min", "clamp_max", "lerp",
    "addcmul", "addcdiv", "nan_to_num",
]


def equal(input, other) -> bool:
    """True when both have the same shape and values."""
    return tuple(input.shape) == tuple(other.shape) and bool(eq(input, other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (equal values, infinities included, are close)."""
    (a, b), dtype = _promote(input, other)
    if dtype.is_bool:  # bools are close when equal (subtracting them is an error)
        return eq(a, b)
    if not dtype.is_floating_point:  # integers: the difference in float64 (uint8 0 - 1 would wrap to 255)
        a, b = _to(a, dt.float64), _to(b, dt.float64)
    error = abs(sub(a, b))
    # finite closeness needs a finite error: 0 is not close to inf (inf <= atol + rtol * inf)
    close = logical_and(le(error, add(mul(abs(b), rtol), atol)), apply("isfinite", [error]))
    close = logical_or(close, eq(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` holds, else ``other``. With one argument: ``nonzero``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if isinstance(condition, Tensor) and not (condition._dtype.is_bool or condition._dtype is dt.uint8):
        raise DTypeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition._dtype} "
            "(compare first: graphc.where(x != 0, ...))"
        )
    cond = _to(condition, dt.bool_) if isinstance(condition, Tensor) else condition
    (a, b), _ = _promote(input, other)
    if not isinstance(cond, Tensor):
        cond = constant(bool(cond), dt.bool_, _device_of(a, b))
    return _write_out(out, apply("where", [cond, a, b]))


def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True; ``value`` is a number or a 0-d tensor."""
    x = _tensor_arg(input, "masked_fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(
            f"masked_fill only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)."
        )
    if not isinstance(mask, Tensor) or not mask._dtype.is_bool:
        raise DTypeError(f"masked_fill: expected a bool mask, got {getattr(mask, 'dtype', type(mask).__name__)}")
    broadcast_shapes(tuple(x.shape), tuple(mask.shape), op="masked_fill")  # a ShapeError naming masked_fill
    if isinstance(value, Tensor):
        with composite("MaskedFillBackward1", x, value) as c:
            return c.result(apply("where", [mask, _to(value, x._dtype), x]))
    with composite("MaskedFillBackward0", x) as c:
        return c.result(apply("where", [mask, constant(value, x._dtype, x._device), x]))


def clamp(input, min=None, max=None, *, out=None):
    """Values limited to [min, max] (either may be None)."""
    x = _tensor_arg(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    # where(x < min, min, x) rather than maximum(x, min): PyTorch's clamp passes the whole
    # gradient to x where x equals a bound (maximum would split a tie in half).
    tensor_bounds = [b for b in (min, max) if isinstance(b, Tensor)]
    if tensor_bounds:
        name = "ClampBackward0"
    elif min is not None and max is not None:
        name = "ClampBackward1"
    else:
        name = "ClampMinBackward0" if min is not None else "ClampMaxBackward0"
    if not tensor_bounds and _number_bounds(x, min, max):
        with composite(name, input) as c:
            return _write_out(out, c.result(_clamp_row("clamp", x, min, max)))
    if tensor_bounds:  # one result dtype over x and both bounds (a number one weak), as PyTorch
        (x, *bounds), _ = _common(x, *(b for b in (min, max) if b is not None))
        if min is not None:
            min = bounds.pop(0)
        if max is not None:
            max = bounds.pop(0)
    with composite(name, input, *tensor_bounds) as c:
        if min is not None:
            x = where(lt(x, min), min, x)
        if max is not None:
            x = where(gt(x, max), max, x)
        if x._dtype.is_floating_point and is_grad_enabled() and input.requires_grad:
            # a NaN passes through both wheres, but PyTorch's gradient there is 0
            x = where(isnan(input), input.detach(), x)
        return _write_out(out, c.result(x))


clip = clamp


def _number_bounds(x: Tensor, lo, hi) -> bool:
    """Whether the clamp row takes these bounds: numbers (not NaN) of x's kind -- any real number
    for a float tensor, an int in range for an integer one (a float bound promotes those)."""
    d = x._dtype
    if d.is_bool or d.is_complex:
        return False
    info = None if d.is_floating_point else np.iinfo(d.numpy_dtype)
    for b in (lo, hi):
        if b is None:
            continue
        if type(b) not in (int, float) or b != b:
            return False
        if info is not None and not (type(b) is int and info.min <= b <= info.max):
            return False
    return True


def _clamp_row(op: str, x: Tensor, lo, hi) -> Tensor:
    """The ``clamp``/``hardtanh`` row with number bounds as 0-d constants of x's dtype (a missing
    bound is the dtype's infinity or extreme value, which clamps nothing)."""
    d = x._dtype
    if d.is_floating_point:
        lo, hi = -math.inf if lo is None else lo, math.inf if hi is None else hi
    else:
        info = np.iinfo(d.numpy_dtype)
        lo, hi = info.min if lo is None else lo, info.max if hi is None else hi
    return apply(op, [x, constant(lo, d, x._device), constant(hi, d, x._device)])


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    """``input + weight * (end - input)``, PyTorch's two-sided way: from ``end`` for weight >= 0.5
    (``end - (end - input) * (1 - weight)``), so that weight 1 gives ``end`` exactly and an
    infinite ``input`` does not meet ``inf - inf``; each side one fused multiply-add, as
    PyTorch's CPU kernel; half precision in float32."""
    shapes = [tuple(t.shape) for t in (input, end, weight) if isinstance(t, Tensor)]
    broadcast_shapes(*shapes, op="lerp")
    half = _half_of(input, end, weight)
    if half is not None:
        return _to(lerp(*_widened(input, end, weight)), half)
    with composite("LerpBackward1" if isinstance(weight, Tensor) else "LerpBackward0", input, end, weight) as c:
        return c.result(_interpolate(input, end, weight))


def _interpolate(start, end, weight):
    """The two-sided linear interpolation of :func:`lerp` (shared with ``quantile``)."""
    diff = sub(end, start)
    if not isinstance(weight, Tensor):
        if -0.5 < weight < 0.5:
            return _fma(weight, diff, start)
        # weight - 1 in the tensors' precision, as PyTorch's opmath (exact there: Sterbenz)
        single = diff._dtype is dt.float32 if isinstance(diff, Tensor) else False
        return _fma(float(np.float32(weight) - np.float32(1)) if single else weight - 1.0, diff, end)
    return where(lt(abs(weight), 0.5), _fma(weight, diff, start), _fma(sub(weight, 1.0), diff, end))


def _half_of(*args):
    """The half-precision dtype the tensors among ``args`` share, if any (they compute in float32)."""
    dtypes = {t._dtype for t in args if isinstance(t, Tensor)}
    if len(dtypes) == 1 and next(iter(dtypes)) in _HALF:
        return next(iter(dtypes))
    return None


def _widened(*args) -> list:
    """``args`` with each tensor in float32 (the half-precision functions' opmath)."""
    return [_to(t, dt.float32) if isinstance(t, Tensor) else t for t in args]


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (half precision in float32). PyTorch's CPU kernel rounds
    ``fma(value * tensor1, tensor2, input)`` once; here the product and the sum round apart (a
    last-bit difference in about one element in ten): a fused multiply-add of two tensors has
    no fast exact form in numpy (through double it is 4.5x the two passes on a large tensor,
    and Adam and RMSprop update their second moments with it)."""
    (x, t1, t2), dtype = _common(input, tensor1, tensor2)
    if dtype in _HALF:
        return _to(addcmul(*_widened(x, t1, t2), value=value), dtype)
    if dtype.is_bool:
        raise NotImplementedError('"addcmul_cpu_out" not implemented for \'Bool\'')
    with composite("AddcmulBackward0", input, tensor1, tensor2) as c:
        scaled = t1 if _is_one(value) else mul(t1, _value_in(value, dtype))
        return c.result(add(x, mul(scaled, t2)))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2: PyTorch's CPU kernel, ``input + (value * tensor1) /
    tensor2`` rounded op by op (half precision in float32)."""
    if not (tensor1._dtype.is_floating_point or tensor1._dtype.is_complex
            or tensor2._dtype.is_floating_point or tensor2._dtype.is_complex):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes."
        )
    (x, t1, t2), dtype = _common(input, tensor1, tensor2)
    if dtype in _HALF:
        return _to(addcdiv(*_widened(x, t1, t2), value=value), dtype)
    with composite("AddcdivBackward0", input, tensor1, tensor2) as c:
        return c.result(add(x, div(t1 if _is_one(value) else mul(t1, value), t2)))


def _common(*tensors) -> tuple:
    """The operands (tensors, or weak Python numbers) in their one result dtype over all of them (PyTorch's TensorIterator: 0-d
    tensors rank below dimensioned ones), not promoted pair by pair as nested binary ops do."""
    d = tensors[0]._dtype
    if all(isinstance(t, Tensor) and t._dtype is d for t in tensors):
        return tensors, d
    return _promote(*tensors)


def _value_in(value, dtype: dt.DType):
    """A Python ``value`` as PyTorch's kernels read it in an integer dtype: truncated."""
    if isinstance(value, Tensor) or dtype.is_floating_point or dtype.is_complex:
        return value
    return int(value)


def _is_one(value) -> bool:
    """A Python 1 (a tensor ``value``, as a traced step's, always multiplies)."""
    return not isinstance(value, Tensor) and value == 1


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    x = _tensor_arg(input, "nan_to_num")
    if not x._dtype.is_floating_point:  # integers and bools hold no nan or inf: a copy, as in PyTorch
        return apply("copy", [x])
    # the dtype's own largest value (bfloat16's numpy storage is float32, whose max rounds to inf)
    big = _BF16_MAX if x._dtype is dt.bfloat16 else float(np.finfo(x._dtype.numpy_dtype).max)
    hi, lo = big if posinf is None else posinf, -big if neginf is None else neginf
    with composite("NanToNumBackward0", input) as c:
        if posinf is None and neginf is None:
            # every finite value lies within [-big, big]: clamping replaces exactly the
            # infinities (a NaN passes), and its gradient is PyTorch's (grad where x is finite)
            y = _clamp_row("clamp", x, lo, hi)
        else:
            y = where(logical_and(isinf(x), gt(x, 0)), hi, x)
            y = where(logical_and(isinf(x), lt(x, 0)), lo, y)
        # NaNs last, from x itself: nan=inf gives inf (not the largest value, as replacing
        # them first and the infinities after did)
        return c.result(where(isnan(x), nan, y))


_BF16_MAX = float.fromhex("0x1.fep127")  # (2 - 2**-7) * 2**127
