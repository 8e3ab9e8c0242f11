"""Rows that work on the representation of numbers: sign bits, neighbours, mantissa/exponent
splits, integer gcd/lcm and bit shifts (PyTorch's ``copysign``, ``nextafter``, ``signbit``,
``heaviside``, ``frexp``, ``gcd``, ``lcm``, ``bitwise_left_shift``, ``bitwise_right_shift``).

``frexp`` has two outputs, so it is two rows, ``frexp_mantissa`` (same float dtype, magnitude in
[0.5, 1)) and ``frexp_exponent`` (int32), which the frontend pairs; ``ldexp`` is a frontend
composite (PyTorch defines it as ``input * 2 ** other``).
"""

from __future__ import annotations

from .. import dtypes as dt
from ..errors import DTypeNotImplementedError
from . import npspecial
from .core import OPS, Binding, Props, dtype_bool_out, dtype_float, dtype_same, same_dtype
from .elementwise import FLOAT, binary, unary
from .grad import ZERO, where

_FIRST = len(OPS)  # the rows this module declares are OPS's entries from here on (NAMES, at the end)


def dtype_int_only(op, inputs, attrs):
    d = same_dtype(op, inputs)
    if not d.is_integer:
        raise DTypeNotImplementedError(f"{op.name}: expected integer inputs (int8/16/32/64 or uint8), got {d}")
    return d


def dtype_frexp_exponent(op, inputs, attrs):
    dtype_float(op, inputs, attrs)
    return dt.int32


_SIGNBIT = {"bool": "({0} != {0})", "float32": "({0}.to(tl.int32, bitcast=True) < 0)",
            "float": "({0}.to(tl.int64, bitcast=True) < 0)", "*": "({0} < 0)"}


def _copysign_triton(t):
    neg = _SIGNBIT["float32" if t.f32 else "float"].format(t.args[1])
    return f"tl.where({neg}, -tl.abs({{0}}), tl.abs({{0}}))"


binary("copysign", dtype_float, ufunc="copysign", triton=_copysign_triton, libdevice="copysign",
       grad=(lambda n, g: g * where(n[0].eq(0), 0, n.out / n[0]), ZERO), saves=(0, "out"),
       binding=Binding(("copysign",), promote=FLOAT))
binary("nextafter", dtype_float, ufunc="nextafter", libdevice="nextafter", binding=Binding(("nextafter",)),
       grad=(lambda n, g: g, ZERO),  # PyTorch's: the step is treated as the identity in self
       triton={"float32": "_nextafter_f32({0}, {1})", "float": "_nextafter_f64({0}, {1})"},
       doc="The next float after x toward y (the Triton form steps float32 or float64 bits: float16/bfloat16 "
           "values step in float32).")
unary("signbit", dtype_bool_out, numpy=npspecial.signbit, triton=_SIGNBIT,
      binding=Binding(("signbit",), inplace=False))
binary("heaviside", dtype_same, numpy=npspecial.heaviside, binding=Binding(("heaviside",), promote="exact"),
       triton={"bool": "({0} | {1})", "float": "tl.where({0} == 0, {1}, tl.where({0} > 0, 1.0, 0.0))",
               "*": "tl.where({0} == 0, {1}, ({0} > 0).to({ct}))"})
unary("frexp_mantissa", dtype_float, numpy=npspecial.frexp_mantissa, triton="_frexp_m({0})",
      grad=lambda n, g: g * where(n.out.eq(n[0]), 1, n.out / n[0]), saves=(0, "out"), grad_name="FrexpBackward0",
      doc="frexp's first output: x / 2^e with |x / 2^e| in [0.5, 1) (x itself at 0, +-inf and NaN).")
unary("frexp_exponent", dtype_frexp_exponent, numpy=npspecial.frexp_exponent, triton="_frexp_e({0})",
      doc="frexp's second output (int32): e with x = mantissa * 2^e (0 at 0, +-inf and NaN).")
binary("gcd", dtype_int_only, ufunc="gcd", triton="_gcd({0}, {1})", binding=Binding(("gcd",)),
       props=Props(commutative=True, associative=True))
binary("lcm", dtype_int_only, ufunc="lcm", triton="_lcm({0}, {1})", binding=Binding(("lcm",)),
       props=Props(commutative=True, associative=True))


def _shift_left(t):
    bits = t.in_dtypes[0].itemsize * 8
    return f"tl.where(({{1}} < 0) | ({{1}} >= {bits}), 0, {{0}} << tl.minimum(tl.maximum({{1}}, 0), {bits - 1}))"


def _shift_right(t):
    d = t.in_dtypes[0]
    bits = d.itemsize * 8
    fill = f"({{0}} >> {bits - 1})" if d.is_signed else "0"
    return f"tl.where(({{1}} < 0) | ({{1}} >= {bits}), {fill}, {{0}} >> tl.minimum(tl.maximum({{1}}, 0), {bits - 1}))"


binary("bitwise_left_shift", dtype_int_only, numpy=npspecial.left_shift, triton=_shift_left,
       binding=Binding(("bitwise_left_shift",)),
       doc="a << b; 0 when b is negative or at least the width (PyTorch's kernel).")
binary("bitwise_right_shift", dtype_int_only, numpy=npspecial.right_shift, triton=_shift_right,
       binding=Binding(("bitwise_right_shift",)),
       doc="a >> b (arithmetic); the sign fill when b is negative or at least the width.")

NAMES = tuple(list(OPS)[_FIRST:])
