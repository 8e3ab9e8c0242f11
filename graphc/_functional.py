"""Tensor math with PyTorch's names, built on IR primitives through ``apply``.

Every function here is also a Tensor method (attached at the bottom) and,
where PyTorch has one, an in-place ``name_`` method. Functions handle what
primitives leave to the frontend: dtype promotion with weak Python scalars,
argument forms (``dim`` as int or tuple, ``keepdim``, ``out=``), and
composites written from primitives (``mean``, ``softmax``, ``var``...) in
numerically stable forms, named like PyTorch's ``grad_fn`` through
:class:`~graphc._dispatch.composite`.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from ir import dtypes as dt
from ir.errors import DimError, DTypeError, ShapeError
from ir.ops import fmt_shape

from ._dispatch import apply, composite, constant
from ._tensor import Tensor

Number = (int, float, bool)

# ----------------------------------------------------------------------------
# argument helpers


def _norm_dim(dim, ndim: int, op: str = "") -> int:
    """``dim`` as a non-negative index, or PyTorch's 'Dimension out of range' error."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        try:
            dim = dim.__index__()
        except AttributeError:
            raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}") from None
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not lo <= dim <= hi:
        raise DimError(
            f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % ndim if ndim > 0 else 0


def _norm_dims(dim, ndim: int, op: str) -> tuple:
    """A sorted tuple of axes for ``dim`` (None or () meaning all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        axes = [_norm_dim(d, ndim, op) for d in dim]
        if len(set(axes)) != len(axes):
            raise DimError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return tuple(sorted(axes))
    return (_norm_dim(dim, ndim, op),)


def _shape_arg(args, op: str) -> tuple:
    """Shapes given as ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` or ``f(size)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = int(a.item())
        if not isinstance(a, int) or isinstance(a, bool):
            try:
                a = a.__index__()
            except AttributeError:
                raise TypeError(f"{op}: sizes must be ints, got {type(a).__name__}") from None
        out.append(a)
    return tuple(out)


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _device_of(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x._device
    return None


def _to(x: Tensor, dtype: dt.DType) -> Tensor:
    """Cast (recorded as an IR op) when the dtype differs."""
    if x._dtype is dtype:
        return x
    return apply("cast", [x], dtype=dtype)


def _operand(x, dtype: dt.DType, device) -> Tensor:
    if isinstance(x, Tensor):
        return _to(x, dtype)
    if isinstance(x, (list, tuple)):
        from ._factories import tensor

        return tensor(x, dtype=dtype, device=device)
    if not isinstance(x, Number) and not hasattr(x, "dtype"):
        raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")
    return constant(x, dtype, device)


def _promote(*xs) -> tuple:
    """Operands converted to their common PyTorch result dtype."""
    converted = []
    for x in xs:
        if isinstance(x, (list, tuple, np.ndarray)):
            from ._factories import tensor

            x = tensor(x)
        converted.append(x)
    dtype = dt.result_type(*converted)
    device = _device_of(*converted)
    return tuple(_operand(x, dtype, device) for x in converted), dtype


def _float_of(x: Tensor) -> Tensor:
    """Integer and bool tensors become the default float (as ``torch.exp(int_tensor)`` does)."""
    if x._dtype.is_floating_point:
        return x
    return _to(x, dt.default_float())


def _write_out(out, result: Tensor) -> Tensor:
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        if out.numel() != 0:
            raise ShapeError(
                f"out=: the output has shape {fmt_shape(out.shape)} but the result has shape "
                f"{fmt_shape(result.shape)}"
            )
        out._data = result._data.astype(out._dtype.numpy_dtype)
        return out
    from ._inplace import copy_

    copy_(out, result)
    return out


def _tensor_arg(x, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


# ----------------------------------------------------------------------------
# elementwise


def _unary(name: str, float_only: bool):
    def fn(input, *, out=None):
        x = _tensor_arg(input, name)
        if float_only:
            x = _float_of(x)
        return _write_out(out, apply(name, [x]))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``; the IR primitive of the same name."
    return fn


# Float-only maps (integers are promoted to the default float first) and maps that keep the dtype.
exp = _unary("exp", float_only=True)
exp2 = _unary("exp2", float_only=True)
log = _unary("log", float_only=True)
log2 = _unary("log2", float_only=True)
sqrt = _unary("sqrt", float_only=True)
rsqrt = _unary("rsqrt", float_only=True)
sin = _unary("sin", float_only=True)
cos = _unary("cos", float_only=True)
tan = _unary("tan", float_only=True)
tanh = _unary("tanh", float_only=True)
sigmoid = _unary("sigmoid", float_only=True)
erf = _unary("erf", float_only=True)
log1p = _unary("log1p", float_only=True)
expm1 = _unary("expm1", float_only=True)
reciprocal = _unary("reciprocal", float_only=True)
asin = _unary("asin", float_only=True)
acos = _unary("acos", float_only=True)
atan = _unary("atan", float_only=True)
sinh = _unary("sinh", float_only=True)
cosh = _unary("cosh", float_only=True)
neg = _unary("neg", float_only=False)
abs = _unary("abs", float_only=False)
sign = _unary("sign", float_only=False)
floor = _unary("floor", float_only=False)
ceil = _unary("ceil", float_only=False)
round = _unary("round", float_only=False)
trunc = _unary("trunc", float_only=False)
negative, absolute = neg, abs
arcsin, arccos, arctan = asin, acos, atan


def relu(input, inplace: bool = False):
    """max(x, 0)."""
    x = _tensor_arg(input, "relu")
    if inplace:
        from ._inplace import _inplace_result

        return _inplace_result(x, apply("relu", [x]))
    return apply("relu", [x])


def log10(input, *, out=None):
    x = _float_of(_tensor_arg(input, "log10"))
    return _write_out(out, mul(log(x), 1.0 / math.log(10.0)))


def square(input, *, out=None):
    x = _tensor_arg(input, "square")
    return _write_out(out, mul(x, x))


def logical_not(input, *, out=None):
    x = _tensor_arg(input, "logical_not")
    return _write_out(out, apply("logical_not", [x]))


def bitwise_not(input, *, out=None):
    return _write_out(out, apply("bitwise_not", [_tensor_arg(input, "bitwise_not")]))


def isnan(input):
    return apply("isnan", [_tensor_arg(input, "isnan")])


def isinf(input):
    return apply("isinf", [_tensor_arg(input, "isinf")])


def isfinite(input):
    return apply("isfinite", [_tensor_arg(input, "isfinite")])


def clone(input, *, memory_format=None):
    """A copy with its own memory; gradients flow back to ``input``."""
    return apply("copy", [_tensor_arg(input, "clone")])


def _binary(name: str, a, b, out=None):
    (a, b), _ = _promote(a, b)
    return _write_out(out, apply(name, [a, b]))


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, with PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary("add", input, other, out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if isinstance(input, Tensor) and input._dtype.is_bool and isinstance(other, Tensor) and other._dtype.is_bool:
        raise DTypeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha)
    return _binary("sub", input, other, out)


subtract = sub


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    """Elementwise product."""
    return _binary("mul", input, other, out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give floats), or 'trunc' / 'floor' rounding."""
    if rounding_mode is None:
        (a, b), dtype = _promote(input, other)
        if not dtype.is_floating_point:
            a, b = _to(a, dt.default_float()), _to(b, dt.default_float())
        return _write_out(out, apply("div", [a, b]))
    if rounding_mode == "floor":
        return floor_divide(input, other, out=out)
    if rounding_mode == "trunc":
        (a, b), dtype = _promote(input, other)
        if dtype.is_floating_point:
            return _write_out(out, trunc(apply("div", [a, b])))
        q = apply("div", [_to(a, dt.float64), _to(b, dt.float64)])
        return _write_out(out, _to(trunc(q), dtype))
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}")


divide = true_divide = div


def floor_divide(input, other, *, out=None):
    return _binary("floor_divide", input, other, out)


def remainder(input, other, *, out=None):
    """Python-style modulus: the result takes the sign of the divisor."""
    return _binary("remainder", input, other, out)


def fmod(input, other, *, out=None):
    """C-style modulus: the result takes the sign of the dividend."""
    (a, b), _ = _promote(input, other)
    q = div(a, b, rounding_mode="trunc")
    return _write_out(out, sub(a, mul(q, b)))


def pow(input, exponent, *, out=None):
    """input ** exponent."""
    if isinstance(input, Number) and not isinstance(exponent, Tensor):
        return input**exponent
    (a, b), dtype = _promote(input, exponent)
    if dtype.is_integer and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _write_out(out, apply("pow", [a, b]))


def float_power(input, exponent):
    return pow(_to(input, dt.float64) if isinstance(input, Tensor) else input, exponent if not isinstance(exponent, Tensor) else _to(exponent, dt.float64))


def maximum(input, other, *, out=None):
    return _binary("maximum", input, other, out)


def minimum(input, other, *, out=None):
    return _binary("minimum", input, other, out)


fmax, fmin = maximum, minimum


def atan2(input, other, *, out=None):
    (a, b), dtype = _promote(input, other)
    if not dtype.is_floating_point:
        a, b = _to(a, dt.default_float()), _to(b, dt.default_float())
    return _write_out(out, apply("atan2", [a, b]))


arctan2 = atan2


def _compare(name):
    def fn(input, other, *, out=None):
        return _binary(name, input, other, out)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` comparison; a bool tensor."
    return fn


eq, ne, lt, le, gt, ge = (_compare(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(name):
    def fn(input, other, *, out=None):
        a = _to(_tensor_arg(input, name), dt.bool_) if isinstance(input, Tensor) else input
        b = _to(other, dt.bool_) if isinstance(other, Tensor) else other
        (a, b), _ = _promote(a, b)
        a, b = _to(a, dt.bool_), _to(b, dt.bool_)
        return _write_out(out, apply(name, [a, b]))

    fn.__name__ = name
    return fn


logical_and, logical_or, logical_xor = (_logical(n) for n in ("logical_and", "logical_or", "logical_xor"))


def _bitwise(name):
    def fn(input, other, *, out=None):
        return _binary(name, input, other, out)

    fn.__name__ = name
    return fn


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))


def equal(input, other) -> bool:
    """True when both have the same shape and values."""
    return tuple(input.shape) == tuple(other.shape) and bool(eq(input, other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    (a, b), _ = _promote(input, other)
    close = le(abs(sub(a, b)), add(mul(abs(b), rtol), atol))
    close = logical_or(close, eq(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` holds, else ``other``. With one argument: ``nonzero``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
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
    v = _to(value, x._dtype) if isinstance(value, Tensor) else constant(value, x._dtype, x._device)
    return apply("where", [mask, v, x])


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
    with composite(name, input, *tensor_bounds) as c:
        if min is not None:
            x = where(lt(x, min), min, x)
        if max is not None:
            x = where(gt(x, max), max, x)
        return _write_out(out, c.result(x))


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1):
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    return add(input, mul(div(tensor1, tensor2), value))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    x = _tensor_arg(input, "nan_to_num")
    info = __import__("numpy").finfo(x._dtype.numpy_dtype)
    x = where(isnan(x), nan, x)
    x = where(logical_and(isinf(x), gt(x, 0)), float(info.max) if posinf is None else posinf, x)
    return where(logical_and(isinf(x), lt(x, 0)), float(info.min) if neginf is None else neginf, x)


# ----------------------------------------------------------------------------
# reductions


def _reduce(name, x, dim, keepdim, op):
    axes = _norm_dims(dim, x.ndim, op)
    return apply(name, [x], axes=axes, keepdim=bool(keepdim))


def _sum_dtype(x: Tensor, dtype):
    if dtype is not None:
        return _to(x, dtype)
    if x._dtype.is_bool or x._dtype.is_integer:
        return _to(x, dt.int64)
    return x


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` (an int, a tuple, or all dims); ints and bools sum to int64."""
    x = _sum_dtype(_tensor_arg(input, "sum"), dtype)
    with composite("SumBackward0" if dim is None else "SumBackward1", input) as c:
        return _write_out(out, c.result(_reduce("sum", x, dim, keepdim, "sum")))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    x = _tensor_arg(input, "nansum")
    return sum(where(isnan(x), 0, x), dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over ``dim`` (one int, or all dims)."""
    x = _sum_dtype(_tensor_arg(input, "prod"), dtype)
    return _reduce("prod", x, dim, keepdim, "prod")


def _count(x, axes) -> int:
    """How many elements the reduction over ``axes`` combines (1 for a 0-d tensor)."""
    n = 1
    for a in axes:
        n *= x.shape[a] if x.ndim else 1
    return n


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Arithmetic mean over ``dim``; floating inputs only, as in PyTorch."""
    x = _tensor_arg(input, "mean")
    if dtype is not None:
        x = _to(x, dtype)
    if not x._dtype.is_floating_point:
        raise DTypeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {x._dtype.name.capitalize()}"
        )
    axes = _norm_dims(dim, x.ndim, "mean")
    n = _count(x, axes)
    with composite("MeanBackward0" if dim is None else "MeanBackward1", input) as c:
        s = apply("sum", [x], axes=axes, keepdim=bool(keepdim))
        r = mul(s, 1.0 / n) if n else mul(s, float("nan"))
        return _write_out(out, c.result(r))


def nanmean(input, dim=None, keepdim=False):
    x = _tensor_arg(input, "nanmean")
    keep = logical_not(isnan(x))
    return div(sum(where(keep, x, 0), dim, keepdim), sum(keep, dim, keepdim))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's correction by default (``correction=1``)."""
    x = _float_of(_tensor_arg(input, "var"))
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    axes = _norm_dims(dim, x.ndim, "var")
    n = _count(x, axes)
    corr = _correction(unbiased, correction)
    with composite("VarBackward0", input) as c:
        mu = apply("sum", [x], axes=axes, keepdim=True)
        mu = mul(mu, 1.0 / n) if n else mu
        d = sub(x, mu)
        ss = apply("sum", [mul(d, d)], axes=axes, keepdim=bool(keepdim))
        denom = builtins.max(n - corr, 0)
        return c.result(div(ss, float(denom)) if denom else mul(ss, float("nan")))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt of :func:`var`."""
    with composite("StdBackward0", input) as c:
        return c.result(sqrt(var(input, dim, unbiased, keepdim, correction=correction)))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim``; ties share the gradient evenly."""
    return _reduce("amax", _tensor_arg(input, "amax"), dim if dim != () else None, keepdim, "amax")


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim``; ties share the gradient evenly."""
    return _reduce("amin", _tensor_arg(input, "amin"), dim if dim != () else None, keepdim, "amin")


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    x = _tensor_arg(input, "argmax")
    if dim is None:
        r = apply("argmax", [reshape(x, (-1,))], axes=(0,), keepdim=False)
        return reshape(r, (1,) * x.ndim) if keepdim else r
    return apply("argmax", [x], axes=(_norm_dim(dim, x.ndim, "argmax"),), keepdim=bool(keepdim))


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    x = _tensor_arg(input, "argmin")
    if dim is None:
        r = apply("argmin", [reshape(x, (-1,))], axes=(0,), keepdim=False)
        return reshape(r, (1,) * x.ndim) if keepdim else r
    return apply("argmin", [x], axes=(_norm_dim(dim, x.ndim, "argmin"),), keepdim=bool(keepdim))


class return_types:
    """Named tuples returned by max/min/sort-like functions."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])


def _max_min(name, input, dim, keepdim, other):
    x = _tensor_arg(input, name)
    if isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(x, other) if name == "max" else minimum(x, other)
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        with composite(f"{name.capitalize()}Backward1", input) as c:
            return c.result(_reduce("amax" if name == "max" else "amin", x, None, False, name))
    d = _norm_dim(dim, x.ndim, name)
    idx = apply("argmax" if name == "max" else "argmin", [x], axes=(d,), keepdim=True)
    with composite(f"{name.capitalize()}Backward0", input) as c:
        values = apply("gather", [x, idx], axis=d) if x.ndim else apply("copy", [x])
        if not keepdim and x.ndim:
            values = squeeze(values, d)
        values = c.result(values)
    if not keepdim and x.ndim:
        idx = squeeze(idx, d)
    cls = return_types.max if name == "max" else return_types.min
    return cls(values, idx)


def max(input, dim=None, keepdim=False, *, other=None):
    """The maximum: of all elements, or ``(values, indices)`` along ``dim``, or elementwise
    against another tensor."""
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """The minimum: of all elements, ``(values, indices)`` along ``dim``, or elementwise."""
    return _max_min("min", input, dim, keepdim, other)


def all(input, dim=None, keepdim=False):
    x = _to(_tensor_arg(input, "all"), dt.bool_)
    return _reduce("all", x, dim, keepdim, "all")


def any(input, dim=None, keepdim=False):
    x = _to(_tensor_arg(input, "any"), dt.bool_)
    return _reduce("any", x, dim, keepdim, "any")


def count_nonzero(input, dim=None):
    return sum(ne(input, 0), dim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (Frobenius / 2-norm by default, ``inf`` for max-abs)."""
    x = _float_of(_tensor_arg(input, "norm"))
    if dtype is not None:
        x = _to(x, dtype)
    if p in ("fro", 2, 2.0, None):
        with composite("NormBackward1" if dim is not None else "LinalgVectorNormBackward0", input) as c:
            return c.result(sqrt(sum(mul(x, x), dim, keepdim)))
    if p == float("inf"):
        return amax(abs(x), dim if dim is not None else (), keepdim)
    if p == float("-inf"):
        return amin(abs(x), dim if dim is not None else (), keepdim)
    if p == 1:
        return sum(abs(x), dim, keepdim)
    if p == 0:
        return sum(_to(ne(x, 0), x._dtype), dim, keepdim)
    return pow(sum(pow(abs(x), p), dim, keepdim), 1.0 / p)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, computed stably (max-subtracted)."""
    x = _float_of(_tensor_arg(input, "logsumexp"))
    axes = _norm_dims(dim, x.ndim, "logsumexp")
    with composite("LogsumexpBackward0", input) as c:
        m = _shift(x, axes)
        m = where(isinf(m), 0.0, m)
        s = apply("sum", [exp(sub(x, m))], axes=axes, keepdim=True)
        r = add(log(s), m)
        if not keepdim:
            r = reshape(r, tuple(s_ for i, s_ in enumerate(x.shape) if i not in axes))
        return c.result(r)


def _zeros_kept(x, axes):
    from ._factories import zeros

    return zeros(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), dtype=x._dtype, device=x._device)


def _shift(x, axes):
    """The max over ``axes`` (kept, outside autograd) that stable exp-sums subtract;
    zeros when a reduced dim is empty (the max has no identity, the sum is 0 anyway)."""
    if x.ndim and builtins.any(x.shape[a] == 0 for a in axes):
        return _zeros_kept(x, axes)
    return apply("amax", [x.detach()], axes=axes, keepdim=True)


def softmax(input, dim=None, dtype=None, _stacklevel=3):
    """exp(x - max) / sum(exp(x - max)) along ``dim``."""
    x = _float_of(_tensor_arg(input, "softmax"))
    if dtype is not None:
        x = _to(x, dtype)
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    d = _norm_dim(dim, x.ndim, "softmax")
    with composite("SoftmaxBackward0", input) as c:
        m = _shift(x, (d,))
        e = exp(sub(x, m))
        return c.result(div(e, apply("sum", [e], axes=(d,), keepdim=True)))


def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    """x - logsumexp(x) along ``dim``: stable log-probabilities."""
    x = _float_of(_tensor_arg(input, "log_softmax"))
    if dtype is not None:
        x = _to(x, dtype)
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    d = _norm_dim(dim, x.ndim, "log_softmax")
    with composite("LogSoftmaxBackward0", input) as c:
        m = _shift(x, (d,))
        shifted = sub(x, m)
        lse = log(apply("sum", [exp(shifted)], axes=(d,), keepdim=True))
        return c.result(sub(shifted, lse))


def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim`` (ints and bools accumulate in int64)."""
    x = _sum_dtype(_tensor_arg(input, "cumsum"), dtype)
    d = _norm_dim(dim, x.ndim, "cumsum")
    return apply("cumsum", [x], axis=d)


# ----------------------------------------------------------------------------
# linear algebra


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch rules: 1-d operands are vectors, batch dims broadcast."""
    a, b = _tensor_arg(input, "matmul"), _tensor_arg(other, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: both arguments need at least 1 dimension, got {a.ndim}-d and {b.ndim}-d"
        )
    if a._dtype is not b._dtype:
        raise DTypeError(
            f"matmul: expected both inputs to have the same dtype, but got {a._dtype} and {b._dtype}"
        )
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise ShapeError(
                f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                f"[{b.shape[0]}] to have the same number of elements, but got {a.shape[0]} and "
                f"{b.shape[0]} elements respectively"
            )
        with composite("DotBackward0", a, b) as c:
            r = apply("matmul", [reshape(a, (1, -1)), reshape(b, (-1, 1))])
            return _write_out(out, c.result(reshape(r, ())))
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(str(s) for s in a2.shape[-2:])} and "
            f"{'x'.join(str(s) for s in b2.shape[-2:])}): matmul of {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape)} needs the last dim of the first to equal the "
            f"{'only' if b.ndim == 1 else 'second-to-last'} dim of the second"
        )
    name = "MmBackward0" if a.ndim == 2 and b.ndim == 2 else ("MvBackward0" if b.ndim == 1 and a.ndim == 2 else "BmmBackward0")
    with composite(name, a, b) as c:
        r = apply("matmul", [a2, b2])
        if a.ndim == 1:
            r = squeeze(r, -2)
        if b.ndim == 1:
            r = squeeze(r, -1)
        return _write_out(out, c.result(r))


def mm(input, mat2, *, out=None):
    """2-d matrix product."""
    for name, t in (("input", input), ("mat2", mat2)):
        if _tensor_arg(t, "mm").ndim != 2:
            raise ShapeError(f"mm: {name} must be a matrix, got a {t.ndim}-d tensor of shape {fmt_shape(t.shape)}")
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-d tensors with equal batch size."""
    a, b = _tensor_arg(input, "bmm"), _tensor_arg(mat2, "bmm")
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: batch1 and batch2 must be 3D tensors, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    return matmul(a, b, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product."""
    a, v = _tensor_arg(input, "mv"), _tensor_arg(vec, "mv")
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"mv: expected a matrix and a vector, got {fmt_shape(a.shape)} and {fmt_shape(v.shape)}")
    return matmul(a, v, out=out)


def dot(input, other, *, out=None):
    """Inner product of two 1-d tensors."""
    a, b = _tensor_arg(input, "dot"), _tensor_arg(other, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b, out=out)


vdot = inner = dot


def outer(input, vec2):
    return mul(unsqueeze(input, -1), unsqueeze(vec2, 0))


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    with composite("AddmmBackward0", input, mat1, mat2) as c:
        r = matmul(mat1, mat2)
        if alpha != 1:
            r = mul(r, alpha)
        return c.result(add(mul(input, beta) if beta != 1 else input, r))


def einsum(equation, *operands):
    raise NotImplementedError("graphc.einsum is not implemented yet; use matmul, permute and sum")


# ----------------------------------------------------------------------------
# views


def _viewable(x: Tensor, shape) -> bool:
    if x._data is None:  # a tracer: ask the trace, which knows the layout eager would have
        return x._trace.viewable(x, shape)
    try:
        v = x._data.view()
        v.shape = shape
        return True
    except AttributeError:
        return False


def _infer_shape(shape, numel: int, op: str, in_shape) -> tuple:
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if neg:
        if known == 0 or numel % known != 0:
            raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel} (shape {fmt_shape(in_shape)})")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel} (shape {fmt_shape(in_shape)})")
    return tuple(shape)


def view(input, *shape):
    """The same memory seen with another shape (``-1`` infers one size).

    Fails, as in PyTorch, when the strides do not allow it; ``reshape`` copies then.
    """
    x = _tensor_arg(input, "view")
    if len(shape) == 1 and isinstance(shape[0], dt.DType):
        raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
    new = _infer_shape(_shape_arg(shape, "view"), x.numel(), "view", x.shape)
    if not _viewable(x, new):
        raise ShapeError(
            f"view size is not compatible with input tensor's size and stride (at least one "
            f"dimension spans across two contiguous subspaces): view of shape {fmt_shape(x.shape)} "
            f"with strides {x.stride()} as {fmt_shape(new)}. Use .reshape(...) instead."
        )
    return apply("reshape", [x], shape=new)


def reshape(input, *shape):
    """Another shape: a view when the strides allow, else a copy."""
    x = _tensor_arg(input, "reshape")
    new = _infer_shape(_shape_arg(shape, "reshape"), x.numel(), "reshape", x.shape)
    if not _viewable(x, new):
        x = apply("copy", [x])
    return apply("reshape", [x], shape=new)


def view_as(input, other):
    return view(input, tuple(other.shape))


def reshape_as(input, other):
    return reshape(input, tuple(other.shape))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    x = _tensor_arg(input, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _norm_dim(start_dim, x.ndim, "flatten")
    e = _norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(x.shape[:s]) + (-1 if x.numel() else _count(x, range(s, e + 1)),) + tuple(x.shape[e + 1 :])
    return reshape(x, shape)


def unflatten(input, dim, sizes):
    x = _tensor_arg(input, "unflatten")
    d = _norm_dim(dim, x.ndim, "unflatten")
    return reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1 :]))


def squeeze(input, dim=None):
    """Remove dims of size 1 (all of them, or those in ``dim``)."""
    x = _tensor_arg(input, "squeeze")
    if dim is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        axes = [a for a in _norm_dims(dim if isinstance(dim, (tuple, list)) else (dim,), x.ndim, "squeeze") if x.ndim and x.shape[a] == 1]
    if not axes:
        return apply("reshape", [x], shape=tuple(x.shape))
    with composite("SqueezeBackward0" if dim is None else "SqueezeBackward1", input) as c:
        return c.result(apply("reshape", [x], shape=tuple(s for i, s in enumerate(x.shape) if i not in axes)))


def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    x = _tensor_arg(input, "unsqueeze")
    d = _norm_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(d, 1)
    with composite("UnsqueezeBackward0", input) as c:
        return c.result(apply("reshape", [x], shape=tuple(shape)))


def permute(input, *dims):
    """Reorder dims (a view)."""
    x = _tensor_arg(input, "permute")
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ShapeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
            f"len(dims) = {len(dims)}".replace("(sparse_coo)", "")
        )
    return apply("permute", [x], dims=tuple(_norm_dim(d, x.ndim, "permute") for d in dims))


def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    x = _tensor_arg(input, "transpose")
    if x.ndim == 0:
        return apply("reshape", [x], shape=())
    d0, d1 = _norm_dim(dim0, x.ndim, "transpose"), _norm_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    with composite("TransposeBackward0", input) as c:
        return c.result(apply("permute", [x], dims=tuple(dims)))


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a matrix (1-d and 0-d tensors are returned as they are)."""
    x = _tensor_arg(input, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    if x.ndim < 2:
        return apply("reshape", [x], shape=tuple(x.shape))
    with composite("TBackward0", input) as c:
        return c.result(apply("permute", [x], dims=(1, 0)))


def adjoint(input):
    return transpose(input, -2, -1)


def movedim(input, source, destination):
    x = _tensor_arg(input, "movedim")
    src = [_norm_dim(s, x.ndim, "movedim") for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_norm_dim(s, x.ndim, "movedim") for s in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


moveaxis = movedim


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (``-1`` keeps a size)."""
    x = _tensor_arg(input, "expand")
    sizes = _shape_arg(sizes, "expand")
    if len(sizes) < x.ndim:
        raise ShapeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return apply("expand", [x], shape=shape)


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def broadcast_to(input, size):
    return expand(input, tuple(size))


def broadcast_tensors(*tensors):
    from ir.ops import broadcast_shapes

    shape = broadcast_shapes(*(t.shape for t in tensors), op="broadcast_tensors")
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    from ir.ops import broadcast_shapes as _b

    from ._tensor import Size

    return Size(_b(*shapes))


def contiguous(input, memory_format=None):
    """This tensor when already contiguous, else a contiguous copy."""
    x = _tensor_arg(input, "contiguous")
    if x.is_contiguous():
        return x
    return apply("copy", [x])


def _slice(x: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    starts, stops, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    starts[dim], stops[dim], steps[dim] = start, stop, step
    return apply("slice", [x], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def narrow(input, dim, start, length):
    """Elements ``start .. start+length`` along ``dim`` (a view)."""
    x = _tensor_arg(input, "narrow")
    d = _norm_dim(dim, x.ndim, "narrow")
    if start < 0:
        start += x.shape[d]
    if start < 0 or start + length > x.shape[d] or length < 0:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({x.shape[d]}).")
    return _slice(x, d, start, start + length)


def flip(input, dims):
    """Reverse the order of elements along ``dims`` (a view with negative strides)."""
    x = _tensor_arg(input, "flip")
    axes = _norm_dims(dims if isinstance(dims, (tuple, list)) else (dims,), x.ndim, "flip")
    starts, stops, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    for a in axes:
        starts[a], stops[a], steps[a] = x.shape[a] - 1, -1, -1
    with composite("FlipBackward0", input) as c:
        r = apply("slice", [x], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
        return c.result(apply("copy", [r]))


def fliplr(input):
    return flip(input, (1,))


def flipud(input):
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (flattened when ``dims`` is None)."""
    x = _tensor_arg(input, "roll")
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), tuple(x.shape))
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts ({len(shifts)}) and dims ({len(dims)}) must have the same length")
    for s, d in zip(shifts, dims):
        d = _norm_dim(d, x.ndim, "roll")
        n = x.shape[d]
        if n == 0:
            continue
        s = s % n
        if s:
            x = cat([_slice(x, d, n - s, n), _slice(x, d, 0, n - s)], d)
    return x if x is not input else clone(x)


def _tri(input, diagonal, lower: bool):
    from ._factories import arange

    x = _tensor_arg(input, "tril" if lower else "triu")
    if x.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    rows, cols = x.shape[-2], x.shape[-1]
    i = reshape(arange(rows, device=x._device), (rows, 1))
    j = reshape(arange(cols, device=x._device), (1, cols))
    keep = le(sub(j, i), diagonal) if lower else ge(sub(j, i), diagonal)
    return where(keep, x, constant(0, x._dtype, x._device))


def tril(input, diagonal=0):
    """Lower triangle (elements with j - i <= diagonal); the rest zero."""
    return _tri(input, diagonal, True)


def triu(input, diagonal=0):
    """Upper triangle (elements with j - i >= diagonal); the rest zero."""
    return _tri(input, diagonal, False)


def diagonal(input, offset=0, dim1=0, dim2=1):
    x = _tensor_arg(input, "diagonal")
    if (dim1, dim2) != (0, 1) and (dim1, dim2) != (-2, -1) or x.ndim != 2:
        x = movedim(x, (dim1, dim2), (-2, -1))
    n, m = x.shape[-2], x.shape[-1]
    from ._factories import arange

    if offset >= 0:
        k = builtins.max(0, builtins.min(n, m - offset))
        rows, cols = arange(k), add(arange(k), offset)
    else:
        k = builtins.max(0, builtins.min(n + offset, m))
        rows, cols = sub(arange(k), offset), arange(k)
    flat = reshape(x, tuple(x.shape[:-2]) + (n * m,))
    return index_select(flat, -1, add(mul(rows, m), cols))


def diag(input, diagonal=0):
    x = _tensor_arg(input, "diag")
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    from ._factories import zeros

    n = x.shape[0] + builtins.abs(diagonal)
    out = zeros(n * n, dtype=x._dtype)
    from ._factories import arange

    idx = arange(x.shape[0])
    pos = add(mul(add(idx, builtins.max(-diagonal, 0)), n), add(idx, builtins.max(diagonal, 0)))
    return reshape(apply("index_add", [out, pos, x], axis=0), (n, n))


def trace(input):
    return sum(diagonal(input))


# ----------------------------------------------------------------------------
# joining and splitting


def cat(tensors, dim=0, *, out=None):
    """Join tensors along an existing dim (promoting their dtypes)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat(): expected a sequence of Tensors, item {i} is {type(t).__name__}")
    # PyTorch skips legacy 1-d empty tensors.
    nonempty = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    dtype = nonempty[0]._dtype
    for t in nonempty[1:]:
        dtype = dt.promote_types(dtype, t._dtype)
    ref = nonempty[0]
    if ref.ndim == 0:
        raise ShapeError("cat: zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _norm_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(nonempty):
        if t.ndim != ref.ndim:
            raise ShapeError(
                f"cat: Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim} "
                f"(tensor 0 has shape {fmt_shape(ref.shape)}, tensor {i} has shape {fmt_shape(t.shape)})"
            )
    return _write_out(out, apply("concat", [_to(t, dtype) for t in nonempty], axis=d))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join tensors of equal shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != ref:
            raise ShapeError(
                f"stack expects each tensor to be equal size, but got {fmt_shape(ref)} at entry 0 "
                f"and {fmt_shape(t.shape)} at entry {i}"
            )
    d = _norm_dim(dim, len(ref) + 1, "stack")
    with composite("StackBackward0", *tensors) as c:
        return _write_out(out, c.result(cat([unsqueeze(t, d) for t in tensors], d)))


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t.ndim > 1 else unsqueeze(t, 0) for t in tensors], 0)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of one size (the last may be smaller) or of the listed sizes."""
    x = _tensor_arg(tensor, "split")
    d = _norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n > 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - i) for i in range(0, n, size)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ShapeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(_slice(x, d, start, start + s))
        start += s
    return tuple(out)


def tensor_split(input, indices_or_sections, dim=0):
    x = _tensor_arg(input, "tensor_split")
    d = _norm_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        bounds = [0] + list(indices_or_sections) + [n]
        sizes = [builtins.max(0, builtins.min(b, n) - builtins.min(a, n)) for a, b in zip(bounds, bounds[1:])]
    return split(x, sizes, d)


def chunk(input, chunks, dim=0):
    """Up to ``chunks`` pieces of equal size (the last may be smaller)."""
    x = _tensor_arg(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _norm_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    size = -(-n // chunks) if n else 1
    return split(x, size, d)


def unbind(input, dim=0):
    """The slices along ``dim``, each without that dim."""
    x = _tensor_arg(input, "unbind")
    d = _norm_dim(dim, x.ndim, "unbind")
    return tuple(select(x, d, i) for i in range(x.shape[d]))


def select(input, dim, index):
    x = _tensor_arg(input, "select")
    d = _norm_dim(dim, x.ndim, "select")
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(x.shape)} at dimension {d}")
    index %= n
    with composite("SelectBackward0", input) as c:
        return c.result(squeeze(_slice(x, d, index, index + 1), d))


# ----------------------------------------------------------------------------
# gather and friends


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims)."""
    x = _tensor_arg(input, "gather")
    d = _norm_dim(dim, x.ndim, "gather")
    if x.ndim == 0:
        return apply("reshape", [apply("gather", [reshape(x, (1,)), reshape(index, (1,))], axis=0)], shape=())
    return apply("gather", [x, index], axis=d)


def scatter_add(input, dim, index, src):
    x = _tensor_arg(input, "scatter_add")
    d = _norm_dim(dim, x.ndim, "scatter_add")
    if tuple(src.shape) != tuple(index.shape):
        src = _slice_to(src, index.shape)
    return apply("scatter_add", [x, index, _to(src, x._dtype)], axis=d)


def _slice_to(x, shape):
    for d, s in enumerate(shape):
        if x.shape[d] != s:
            x = _slice(x, d, 0, s)
    return x


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (or ``value``) at ``index`` along ``dim`` (the last write wins on repeats)."""
    x = _tensor_arg(input, "scatter")
    if reduce == "add":
        return scatter_add(x, dim, index, src if src is not None else full_like_index(index, value, x))
    if reduce is not None:
        raise NotImplementedError(f"scatter(reduce={reduce!r}) is not implemented; use scatter_add")
    d = _norm_dim(dim, x.ndim, "scatter")
    if src is None or not isinstance(src, Tensor):
        src = full_like_index(index, value if value is not None else src, x)
    src = _slice_to(_to(src, x._dtype), index.shape)
    # Flatten to one axis of positions so index_copy can write them.
    from ._factories import arange

    strides = _contiguous_strides(x.shape)
    flat = None
    for axis, size in enumerate(index.shape):
        if axis == d:
            pos = index
        else:
            shp = [1] * index.ndim
            shp[axis] = size
            pos = reshape(arange(size, device=x._device), tuple(shp))
        term = mul(pos, strides[axis])
        flat = term if flat is None else add(flat, term)
    flat = reshape(expand(flat, tuple(index.shape)), (-1,))
    out = apply("index_copy", [reshape(x, (-1,)), flat, reshape(src, (-1,))], axis=0)
    return reshape(out, tuple(x.shape))


def full_like_index(index, value, x):
    from ._factories import full

    return full(tuple(index.shape), value, dtype=x._dtype, device=x._device)


def _contiguous_strides(shape):
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return tuple(reversed(strides))


def index_select(input, dim, index):
    """Entries of ``input`` at ``index`` (1-d int tensor) along ``dim``."""
    x = _tensor_arg(input, "index_select")
    if not isinstance(index, Tensor):
        from ._factories import tensor

        index = tensor(index)
    if index.ndim > 1:
        raise ShapeError(f"index_select(): Index is supposed to be a vector, got shape {fmt_shape(index.shape)}")
    d = _norm_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        return apply("reshape", [apply("index_select", [reshape(x, (1,)), reshape(index, (-1,))], axis=0)], shape=())
    return apply("index_select", [x, reshape(index, (-1,))], axis=d)


def index_add(input, dim, index, source, *, alpha=1):
    x = _tensor_arg(input, "index_add")
    d = _norm_dim(dim, x.ndim, "index_add")
    src = mul(source, alpha) if alpha != 1 else source
    return apply("index_add", [x, index, _to(src, x._dtype)], axis=d)


def index_copy(input, dim, index, source):
    x = _tensor_arg(input, "index_copy")
    d = _norm_dim(dim, x.ndim, "index_copy")
    return apply("index_copy", [x, index, _to(source, x._dtype)], axis=d)


def take(input, index):
    return index_select(reshape(input, (-1,)), 0, reshape(index, (-1,))).reshape(tuple(index.shape))


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements (values decide the shape: eager only)."""
    import numpy as np

    from ._factories import _from_array

    x = _tensor_arg(input, "nonzero")
    x._need_data("nonzero")
    idx = np.nonzero(np.asarray(x._host()))
    if as_tuple:
        if x.ndim == 0:
            return (_from_array(np.zeros(int(bool(x.item())), np.int64)),)
        return tuple(_from_array(i.astype(np.int64)) for i in idx)
    return _from_array(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((int(bool(x.item())), 0), np.int64))


def argwhere(input):
    return nonzero(input)


def masked_select(input, mask):
    from ._indexing import getitem

    x, m = broadcast_tensors(input, mask)
    return getitem(x, m)


def sort(input, dim=-1, descending=False, stable=False):
    """Sorted values and their indices along ``dim``."""
    import numpy as np

    from ._factories import _from_array

    x = _tensor_arg(input, "sort")
    x._need_data("sort")
    d = _norm_dim(dim, x.ndim, "sort") if x.ndim else 0
    arr = np.asarray(x._host())
    if x.ndim == 0:
        idx = np.zeros((), np.int64)
    else:
        key = -arr if descending and not x._dtype.is_bool else arr
        idx = np.argsort(key, axis=d, kind="stable").astype(np.int64)
        if descending and x._dtype.is_bool:
            idx = np.flip(np.argsort(arr, axis=d, kind="stable"), axis=d).astype(np.int64)
    indices = _from_array(np.ascontiguousarray(idx))
    values = gather(x, d, indices) if x.ndim else x.clone()
    return namedtuple("sort", ["values", "indices"])(values, indices)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    x = _tensor_arg(input, "topk")
    d = _norm_dim(dim, x.ndim, "topk")
    s = sort(x, d, descending=largest)
    return namedtuple("topk", ["values", "indices"])(narrow(s.values, d, 0, k), narrow(s.indices, d, 0, k))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    import numpy as np

    from ._factories import _from_array

    x = _tensor_arg(input, "unique")
    res = np.unique(np.asarray(x._host()), return_inverse=return_inverse, return_counts=return_counts)
    if not isinstance(res, tuple):
        return _from_array(res, x._dtype)
    out = [_from_array(res[0], x._dtype)] + [_from_array(np.asarray(r, np.int64)) for r in res[1:]]
    return tuple(out)


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along each dim (new leading dims allowed)."""
    x = _tensor_arg(input, "repeat")
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    inter, expanded, final = [], [], []
    for r, s in zip(sizes, x.shape):
        inter += [1, s]
        expanded += [r, s]
        final.append(r * s)
    with composite("RepeatBackward0", input) as c:
        return c.result(reshape(expand(reshape(x, tuple(inter)), tuple(expanded)), tuple(final)))


def tile(input, dims):
    x = _tensor_arg(input, "tile")
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(input, repeats, dim=None):
    x = _tensor_arg(input, "repeat_interleave")
    if dim is None:
        x, dim = flatten(x), 0
    d = _norm_dim(dim, x.ndim, "repeat_interleave")
    if not isinstance(repeats, int):
        raise NotImplementedError("repeat_interleave with a tensor of repeats is not implemented")
    shape = list(x.shape)
    y = unsqueeze(x, d + 1)
    target = shape[: d + 1] + [repeats] + shape[d + 1 :]
    shape[d] *= repeats
    return reshape(expand(y, tuple(target)), tuple(shape))


def type_as(input, other):
    return _to(input, other._dtype)


__all__ = [
    _name
    for _name, _value in list(globals().items())
    if not _name.startswith("_") and callable(_value) and getattr(_value, "__module__", None) == __name__
]
