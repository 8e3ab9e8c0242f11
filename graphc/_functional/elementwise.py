"""Elementwise math: one IR primitive per function, with PyTorch's dtype promotion.

This module is the seam for bindings derived from the op table (issue 10): the
plain wrappers are built by two constructors, :func:`_unary` (one input;
float-only maps promote integers to the default float) and :func:`_binary`
(two inputs promoted to their common dtype, then the primitive, then ``out=``),
and the tables below name one function per primitive. Hand-written functions
follow where PyTorch's signature needs more (``alpha=``, ``rounding_mode=``,
integer powers, bool subtraction, ``inplace=``). Composites of several
primitives (``where``, ``clamp``, ``isclose``...) are in
:mod:`graphc._functional.pointwise`.
"""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import DTypeError

from .._dispatch import apply
from .._inplace import _inplace_result
from .._tensor import Tensor
from ._common import Number, _float_of, _promote, _tensor_arg, _to, _write_out

__all__ = [
    "exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "log1p", "expm1",
    "reciprocal", "asin", "acos", "atan", "sinh", "cosh", "neg", "abs", "sign", "floor", "ceil", "round", "trunc",
    "negative", "absolute", "arcsin", "arccos", "arctan", "relu", "log10", "square", "logical_not", "bitwise_not",
    "isnan", "isinf", "isfinite", "clone", "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide",
    "true_divide", "floor_divide", "remainder", "fmod", "pow", "float_power", "maximum", "minimum", "fmax", "fmin",
    "atan2", "arctan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "type_as",
]


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


def type_as(input, other):
    return _to(input, other._dtype)
