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

import builtins
import math

from ir import dtypes as dt
from ir.errors import DTypeError, DTypeNotImplementedError, IntegerDivisionError
from ir.ops import ELEMENTWISE, OPS

from .._dispatch import apply, composite
from .._inplace import _inplace_result
from .._tensor import Tensor
from ._common import (
    _HALF,
    Number,
    _back,
    _float_of,
    _in_float32,
    _promote,
    _promote_float,
    _tensor_arg,
    _to,
    _with_zero_grad,
    _write_out,
)

__all__ = [
    "round", "relu", "log10", "square", "logical_not", "add", "sub", "subtract", "rsub", "div", "divide", "true_divide", "fmod", "pow", "float_power", "fmax", "fmin", "logical_and", "logical_or", "logical_xor", "type_as",
]


def _unary(name: str, float_only: bool):
    def fn(input, *, out=None):
        x = _tensor_arg(input, name)
        if float_only:
            x = _float_of(x)
        result = apply(name, [x])
        return result if out is None else _write_out(out, result)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``; the IR primitive of the same name."
    return fn


_round = _unary("round", float_only=False)


def round(input, *, decimals=0, out=None):
    """Round half to even; with ``decimals``, to that many decimal places (negative: to tens,
    hundreds...), as ``round(x * 10**decimals) / 10**decimals`` (PyTorch's formula)."""
    if decimals == 0:
        return _round(input, out=out)
    x = _tensor_arg(input, "round")
    if not x._dtype.is_floating_point:
        raise DTypeNotImplementedError(f"round(decimals={decimals}): not implemented for integer dtype {x._dtype}")
    scale = 10.0 ** builtins.abs(decimals)
    x, half = _in_float32(x)  # (a half tensor in float32, rounded once at the end, as PyTorch)
    if decimals > 0:
        return _write_out(out, _back(div(_round(mul(x, scale)), scale), half))
    return _write_out(out, _back(mul(_round(div(x, scale)), scale), half))


# ----------------------------------------------------------------------------
# functions derived from the op table: every row with a Binding (names, promotion, out=)


def _zero_divisor(other, dtype, op: str) -> None:
    """Integer division by a Python 0 raises now, also while tracing: the constant zero would
    let ``simplify`` fold away the division that checks it (``(a // 0) * 0`` is ``0``)."""
    if isinstance(other, Number) and not isinstance(other, bool) and other == 0 and not dtype.is_differentiable:
        raise IntegerDivisionError(f"{op}: integer division by zero (ZeroDivisionError)")


def _scaled_half(name: str, input, other, rounding_mode=None):
    """``input * other`` or ``input / other`` (any rounding mode) for a half-precision tensor and
    a number (or a 0-d tensor of another float dtype), as PyTorch's CPU kernels compute it: in
    float32, with the number unrounded, then rounded once to the half dtype. Rounding the number
    to half first (numpy's way) makes ``x * 0.1`` an ``x * 0.09998``, a last-bit difference in
    about a third of the elements. (PyTorch's add, sub, comparisons and pow do round the number
    to half first: they keep the general path.) None when the operands are anything else."""
    if name == "mul" and not isinstance(input, Tensor):
        input, other = other, input  # 0.1 * x is x * 0.1 (a 0-d tensor first is rounded to half, as PyTorch)
    if not isinstance(input, Tensor) or input._dtype not in _HALF:
        return None
    if other.__class__ in _NUMBER_TYPES:
        scale = other
    elif (isinstance(other, Tensor) and other.ndim == 0 and input.ndim != 0 and other._dtype is not input._dtype
          and (other._dtype.is_floating_point or other._dtype.is_integer)):
        # a 0-d tensor acts as a number only beside a tensor with dims (two 0-d tensors promote
        # normally: half / float32 is float32); a 0-d integer one is used unrounded too (2**40
        # rounded to half is inf)
        scale = _to(other, dt.float32)
    else:
        return None
    wide = _to(input, dt.float32)
    grad_name = "MulBackward0" if name == "mul" else "DivBackward0" if rounding_mode is None else "DivBackward2"
    with composite(grad_name, input, other) as c:
        if name == "mul" or rounding_mode is None:
            result = apply(name, list(_promote(wide, scale)[0]))
        else:
            result = div(wide, scale, rounding_mode=rounding_mode)
        return c.result(_to(result, input._dtype))


_NUMBER_TYPES = frozenset((int, float))  # (bool keeps the general path: True and 1.0 are exact)


# Rows PyTorch's CPU kernels compute in float32 for a half tensor and a number (_scaled_half):
# row -> (the operation, its rounding mode)
_HALF_SCALED = {"mul": ("mul", None), "floor_divide": ("div", "floor")}


def _binary_row(name: str, promote: str):
    checks_divisor = OPS[name].extra.get("divisor") == 1
    scaled = _HALF_SCALED.get(name)
    exact = promote == "exact"

    def fn(input, other, *, out=None):
        if exact and isinstance(input, Tensor) and isinstance(other, Tensor) and input._dtype is not other._dtype:
            raise DTypeError(
                f"{name} is not yet implemented for tensors with different dtypes ({input._dtype} and {other._dtype})"
            )
        (a, b), dtype = (_promote_float if promote == "float" else _promote)(input, other)
        if scaled is not None and dtype in _HALF:
            result = _scaled_half(scaled[0], input, other, scaled[1])
            if result is not None:
                return result if out is None else _write_out(out, result)
        if checks_divisor:
            _zero_divisor(other, dtype, name)
        result = apply(name, [a, b])
        return result if out is None else _write_out(out, result)

    if scaled is None and not checks_divisor and promote not in ("float", "exact"):  # most rows: promote, run, out=

        def fn(input, other, *, out=None):  # noqa: F811 - the same without the checks that cannot apply
            (a, b), _ = _promote(input, other)
            result = apply(name, [a, b])
            return result if out is None else _write_out(out, result)

    return fn


def _derive(row):
    """graphc.<name> for ``row``: promote as the binding says, run the primitive, honour out=."""
    binding = row.binding
    if row.arity == 1:
        fn = _unary(row.name, binding.promote == "float")
    else:
        fn = _binary_row(row.name, binding.promote)
    if not binding.out:
        inner = fn

        def fn(input):  # noqa: F811 - PyTorch's signature has no out=
            return inner(input)

    fn.__name__ = fn.__qualname__ = binding.names[0].rpartition(".")[2]
    fn.__module__ = __name__
    fn.__doc__ = (row.doc or f"Elementwise ``{binding.names[0]}``; the IR primitive ``{row.name}``.") + (
        f" Aliases: {', '.join(binding.names[1:])}." if len(binding.names) > 1 else ""
    )
    return fn


DERIVED: dict = {}  # public name -> function, for graphc._methods to bind as methods and _ forms
SPECIAL: dict = {}  # graphc.special names (a binding's "special.<name>"), for graphc.special
for _row in OPS.values():
    if _row.binding is not None and _row.kind == ELEMENTWISE:
        _fn = _derive(_row)
        for _name in _row.binding.names:
            if _name.startswith("special."):
                SPECIAL[_name[len("special."):]] = _fn
            else:
                DERIVED[_name] = _fn
globals().update(DERIVED)
__all__ += sorted(DERIVED)
# the derived functions this module's hand-written ones call
floor_divide, log, lt, maximum, minimum, mul, ne, trunc = (
    DERIVED[n] for n in ("floor_divide", "log", "lt", "maximum", "minimum", "mul", "ne", "trunc")
)


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
    if x._dtype.is_bool:  # PyTorch squares bools as int64 (True * True counts, it is not an and)
        x = _to(x, dt.int64)
    return _write_out(out, mul(x, x))


def logical_not(input, *, out=None):
    x = _tensor_arg(input, "logical_not")
    return _write_out(out, apply("logical_not", [x]))






def _binary(name: str, a, b, out=None):
    (a, b), _ = _promote(a, b)
    result = apply(name, [a, b])
    return result if out is None else _write_out(out, result)


def _fma(x, y, z) -> Tensor:
    """``x * y + z`` rounded once (the ``fma`` row), the operands promoted together (a Python
    number takes a half tensor's dtype, as ``alpha`` does in PyTorch's half add; the row computes
    half precision in float32). Integers need no fusing: their products and sums are exact (or
    wrap alike)."""
    (a, b, c), dtype = _promote(x, y, z)
    if not (dtype.is_floating_point or dtype.is_complex):
        return add(mul(a, b), c)
    return apply("fma", [a, b, c])


def _with_alpha(name: str, input, other, alpha, out):
    """``input +/- alpha * other`` as PyTorch's CPU add/sub kernels compute it: one fused
    multiply-add (two roundings differed in the last bit for one element in ten, and by
    thousands of ulps where the difference cancels)."""
    (a, b), dtype = _promote(input, other)
    if isinstance(alpha, float) and not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if isinstance(alpha, bool) and not dtype.is_bool:
        raise RuntimeError(f"{name}: Boolean alpha only supported for Boolean results (the result is {dtype}).")
    with composite("AddBackward0" if name == "add" else "SubBackward0", input, other) as c:
        result = c.result(_fma(b, alpha if name == "add" else -alpha, a))
    return result if out is None else _write_out(out, result)


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, with PyTorch's type promotion."""
    # (a traced per-call scalar is a tensor; alpha=True equals 1 but must raise, as in PyTorch)
    if alpha.__class__ is not int or alpha != 1:
        return _with_alpha("add", input, other, alpha, out)
    return _binary("add", input, other, out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if isinstance(input, Tensor) and input._dtype.is_bool and isinstance(other, Tensor) and other._dtype.is_bool:
        raise DTypeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
        )
    if any((isinstance(v, Tensor) and v._dtype.is_bool) or isinstance(v, bool) for v in (input, other)):
        raise DTypeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a "
            f"mask, use the `~` or `logical_not()` operator instead. (sub of {_kind(input)} and {_kind(other)})"
        )
    if alpha.__class__ is not int or alpha != 1:
        return _with_alpha("sub", input, other, alpha, out)
    return _binary("sub", input, other, out)


subtract = sub


def _kind(v) -> str:
    return f"a {v._dtype} tensor" if isinstance(v, Tensor) else f"a Python {type(v).__name__}"


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)




def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give floats), or 'trunc' / 'floor' rounding."""
    if rounding_mode is None:
        result = _scaled_half("div", input, other)
        if result is not None:
            return _write_out(out, result)
        (a, b), _ = _promote_float(input, other)
        return _write_out(out, apply("div", [a, b]))
    result = _scaled_half("div", input, other, rounding_mode) if rounding_mode in ("floor", "trunc") else None
    if result is not None:
        return _write_out(out, result)
    if rounding_mode in ("floor", "trunc"):
        (a, b), dtype = _promote(input, other)
        if dtype.is_floating_point:
            with composite("DivBackward2", input, other) as c:
                # PyTorch's gradient of a rounded quotient is 0 for both inputs (a zero tensor,
                # not None); trunc's zero through div's rule is 0 / b, NaN at b = 0: the quotient
                # is computed apart
                a0, b0 = a.detach(), b.detach()
                q = floor_divide(a0, b0) if rounding_mode == "floor" else trunc(apply("div", [a0, b0]))
                return _write_out(out, c.result(_with_zero_grad(q, a, b)))
        if rounding_mode == "floor":
            return _write_out(out, floor_divide(a, b))
        _zero_divisor(other, dtype, "div")
        # Integers stay integers (float64 would round quotients past 2**53): the floor
        # quotient (which refuses a zero divisor), moved up by one where the division was
        # inexact and the signs differ.
        q = apply("floor_divide", [a, b])
        r = sub(a, mul(q, b))
        inexact_neg = logical_and(ne(r, 0), logical_xor(lt(a, 0), lt(b, 0)))
        return _write_out(out, add(q, _to(inexact_neg, dtype)))
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}")


divide = true_divide = div






def fmod(input, other, *, out=None):
    """C-style modulus: the result takes the sign of the dividend."""
    (a, b), dtype = _promote(input, other)
    _zero_divisor(other, dtype, "fmod")
    return _write_out(out, apply("fmod", [a, b]))


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






def _fmax_fmin(name, better):
    def fn(input, other, *, out=None):
        (a, b), _ = _promote(input, other)
        # a where it wins, ties included, or where b is NaN: PyTorch's choice, so the gradient of a
        # tie goes to the first operand; NaN only where both are NaN.
        take_a = apply("logical_or", [apply(better, [a, b]), apply("isnan", [b])]) if a._dtype.is_floating_point else (
            apply(better, [a, b]))
        return _write_out(out, apply("where", [take_a, a, b]))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {'maximum' if name == 'fmax' else 'minimum'} that ignores NaN (NaN only where both are)."
    return fn


fmax = _fmax_fmin("fmax", "ge")
fmin = _fmax_fmin("fmin", "le")


_derived_sign = DERIVED["sign"]


def sign(input, *, out=None):
    """-1, 0 or 1 by sign (NaN stays NaN); a bool tensor is its own sign, as in PyTorch."""
    x = _tensor_arg(input, "sign")
    if x._dtype.is_bool:
        return _write_out(out, apply("copy", [x]))
    return _derived_sign(x, out=out)


DERIVED["sign"] = sign






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




def type_as(input, other):
    return _to(input, other._dtype)
