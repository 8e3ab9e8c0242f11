"""Elementwise rows: unary, binary and ternary maps with broadcasting, and ``cast``.

One call of :func:`unary`/:func:`binary` declares an op completely: its dtype rule, its
numpy implementation (a ufunc name, from which the eager call, the generated expression and
the ``out=`` form derive, or a callable plus an ``out=`` recipe), its Triton expression and
libdevice name, its gradient (one rule per input, written with :mod:`ir.ops.grad` values), the
values the gradient reads (``saves``), its algebraic properties and its PyTorch binding.

Triton expressions are templates over the inputs' values ``{0}``, ``{1}``, ``{2}`` (already in
their compute type; ``{zero}``/``{one}`` are literals of it), or a dict of templates keyed by the
first input's category (``"bool"``, ``"int"``, ``"float"``, ``"float32"``; ``"*"`` for the rest),
or a function of the backend's expression context (``t.args``, ``t.in_dtypes``, ``t.fl``,
``t.f32``, ``t.scalar(i)``, ``t.lit(v)``) for the few ops that specialize further.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..errors import DTypeError
from . import npmath
from .core import (
    CAST,
    ELEMENTWISE,
    Binding,
    OpDef,
    Props,
    camel,
    dtype_attr,
    dtype_bool_out,
    dtype_float,
    dtype_integral,
    dtype_numeric,
    dtype_same,
    register,
    same_dtype,
    scalar_value,
    shape_broadcast,
    shape_same,
)
from .grad import ZERO, per_input, where
from .triton_math import HELPERS


def elementwise(
    name,
    arity,
    dtype_rule,
    *,
    ufunc=None,
    numpy=None,
    np_out=None,
    triton=None,
    libdevice=None,
    grad=None,
    saves=(),
    props=Props(),
    binding=None,
    grad_name=None,
    ref=None,
    rewrite=None,
    complex=False,
    complex_rule=False,
    divisor=None,
    eager_out=False,
    doc="",
):
    """Declare one elementwise row (see the module docstring). ``rewrite(node)`` is the row's own
    simplification: an existing node equal to ``node``, a cheaper ``(op, inputs, attrs)``, or None.
    ``complex``: the row takes complex inputs (numpy computes them natively); ``complex_rule``: its
    gradient rule handles complex values itself (see :class:`~ir.ops.core.OpDef`).
    ``divisor``: the index of an input that must not be zero for integer dtypes (integer division
    by zero raises :class:`~ir.errors.IntegerDivisionError`; every backend checks it).
    ``eager_out``: eager numpy runs the row through ``np_out``'s runtime helper into a fresh
    output, where that helper beats ``numpy`` (a BLAS call for fma and copy)."""
    if ufunc is not None and numpy is None:
        numpy = getattr(np, ufunc)
    helpers = {h: HELPERS[h] for h in HELPERS if _mentions(triton, h)}
    return register(
        OpDef(
            name=name,
            kind=ELEMENTWISE,
            arity=arity,
            shape_rule=shape_broadcast,
            dtype_rule=dtype_rule,
            differentiable=grad is not None,
            saves=saves,
            grad_name=grad_name or f"{camel(name)}Backward0",
            doc=doc,
            grad=per_input(grad) if grad is not None else None,
            props=props,
            numpy=numpy,
            np_ufunc=ufunc,
            np_out=np_out,
            triton=triton,
            libdevice=libdevice,
            triton_helpers=helpers,
            binding=binding,
            ref=ref,
            complex=complex,
            complex_rule=complex_rule,
            extra={"arity": arity, "rewrite": rewrite, "divisor": divisor, "eager_out": eager_out},
        )
    )


def _mentions(template, helper: str) -> bool:
    if isinstance(template, str):
        return helper + "(" in template
    if isinstance(template, dict):
        return any(_mentions(v, helper) for v in template.values())
    return callable(template) and helper in getattr(template, "helpers", ())


def uses(*helpers):
    """Mark a Triton expression function with the helpers it may call."""

    def deco(fn):
        fn.helpers = helpers
        return fn

    return deco


def unary(name, dtype_rule=dtype_numeric, **kw):
    return elementwise(name, 1, dtype_rule, **kw)


def binary(name, dtype_rule=dtype_same, **kw):
    return elementwise(name, 2, dtype_rule, **kw)


FLOAT = "float"  # Binding.promote: integers become the default float first
LN2 = math.log(2.0)

# ----------------------------------------------------------------------------
# unary maps that keep the dtype (integers included)

unary("neg", ufunc="negative", triton="(-{0})", grad=lambda n, g: -g, props=Props(involution=True),
      binding=Binding(("neg", "negative")), complex=True)


def _dtype_abs(op, inputs, attrs):
    """|z| of a complex value is real (complex64 -> float32)."""
    return dt.to_real(dtype_numeric(op, inputs, attrs))


def _abs_grad(n, g):
    if not n.in_dtypes[0].is_complex:
        return g * n[0].sign()
    z = n[0]  # d|z| = Re(conj(sgn z) dz): the gradient is g * sgn(z), 0 at z == 0
    r = z.abs()
    safe = where(r.eq(0), 1, r)
    return g.cast(z.dtype) * where(r.eq(0), 0, z / safe.cast(z.dtype))


unary("abs", _dtype_abs, ufunc="absolute", triton="tl.abs({0})", grad=_abs_grad, saves=(0,),
      props=Props(idempotent=True), binding=Binding(("abs", "absolute")), complex=True, complex_rule=True)
unary("sign", numpy=npmath.sign, grad=ZERO, props=Props(idempotent=True), binding=Binding(("sign",)),
      doc="1, -1 or 0; 0 for NaN and +0.0 for -0.0, as PyTorch (numpy's sign keeps both).",
      triton={"float": "tl.where({0} > 0, 1.0, tl.where({0} < 0, -1.0, 0.0))",
              "*": "tl.where({0} > 0, 1, tl.where({0} < 0, -1, 0)).to({ct})"})
unary("relu", numpy=npmath.relu, np_out=("R.relu_into({0}, {out})",), triton="tl.where({0} < 0, {zero}, {0})",
      grad=lambda n, g: where(n[0] <= 0, 0, g), saves=(0,), props=Props(idempotent=True),
      doc="max(x, 0); the gradient passes where x > 0 and at NaN (PyTorch's threshold_backward).")
for _n in ("floor", "ceil"):
    unary(_n, ufunc=_n, grad=ZERO, props=Props(idempotent=True), binding=Binding((_n,)),
          triton={"float": f"tl.{_n}({{0}})", "*": "{0}"})
unary("round", numpy=np.round, np_out=("np.round({0}, out={out})",), grad=ZERO, props=Props(idempotent=True),
      triton={"float": "_rint({0})", "*": "{0}"}, libdevice="rint",
      doc="Round half to even, as numpy and PyTorch do.")
unary("trunc", ufunc="trunc", grad=ZERO, props=Props(idempotent=True), binding=Binding(("trunc", "fix")),
      triton={"float": "_trunc({0})", "*": "{0}"}, libdevice="trunc")
unary("copy", dtype_same, numpy=npmath.copy, np_out=("R.copy_into({0}, {out})",), eager_out=True, triton="{0}", grad=lambda n, g: g,
      grad_name="CloneBackward0", props=Props(noop=True), doc="A C-contiguous copy with its own memory (clone).",
      complex=True)

# ----------------------------------------------------------------------------
# unary maps on floats (the frontend casts integers to the default float first)


def _float_unary(name, ufunc=None, *, triton=None, libdevice=None, grad=None, saves=(), names=None, **kw):
    kw.setdefault("complex", name in _HOLOMORPHIC)
    return unary(name, dtype_float, ufunc=ufunc, triton=triton or f"tl.{name}({{0}})", libdevice=libdevice,
                 grad=grad, saves=saves, binding=Binding(names or (name,), promote=FLOAT), **kw)


# Float maps PyTorch also defines on complex numbers: holomorphic, so their real rules serve
# complex inputs too (the autodiff loop conjugates, see OpDef.complex_rule).
_HOLOMORPHIC = {"exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "log1p",
                "expm1", "reciprocal", "asin", "acos", "atan", "sinh", "cosh", "atanh"}


_float_unary("exp", "exp", grad=lambda n, g: g * n.out, saves=("out",))
_float_unary("exp2", "exp2", grad=lambda n, g: g * (n.out * LN2), saves=("out",))
_float_unary("log", "log", grad=lambda n, g: g / n[0], saves=(0,))
_float_unary("log2", "log2", grad=lambda n, g: g / (n[0] * LN2), saves=(0,))
_float_unary("sqrt", "sqrt", triton={"float32": "tl.sqrt_rn({0})", "*": "tl.sqrt({0})"},
             grad=lambda n, g: g / (n.out * 2), saves=("out",))
_float_unary("rsqrt", numpy=npmath.rsqrt, np_out=("np.sqrt({0}, out={out})", "np.reciprocal({out}, out={out})"),
             grad=lambda n, g: g * (-0.5 * n.out ** 3), saves=("out",))
_float_unary("sin", "sin", grad=lambda n, g: g * n[0].cos(), saves=(0,))
_float_unary("cos", "cos", grad=lambda n, g: -(g * n[0].sin()), saves=(0,))
_float_unary("tan", "tan", triton="_tan({0})", libdevice="tan", grad=lambda n, g: g * (1 + n.out * n.out),
             saves=("out",))
_float_unary("tanh", "tanh", triton="_tanh({0})", libdevice="tanh", grad=lambda n, g: g * (1 - n.out * n.out),
             saves=("out",))
_float_unary("sigmoid", numpy=npmath.sigmoid, triton="1.0 / (1.0 + tl.exp(-{0}))",
             np_out=("R.sigmoid_into({0}, {out})",),
             grad=lambda n, g: g * (n.out * (1 - n.out)), saves=("out",))
_float_unary("erf", numpy=npmath.erf, grad=lambda n, g: g * ((2.0 / math.sqrt(math.pi)) * (-(n[0] * n[0])).exp()),
             saves=(0,), ref=math.erf)
_float_unary("log1p", "log1p", triton="_log1p({0})", libdevice="log1p", grad=lambda n, g: g / (n[0] + 1), saves=(0,))
_float_unary("expm1", "expm1", triton="_expm1({0})", libdevice="expm1", grad=lambda n, g: g * (n.out + 1),
             saves=("out",))
_float_unary("reciprocal", "reciprocal", triton={"float32": "1.0 / {0}", "*": "{one} / {0}"},
             grad=lambda n, g: -(g * (n.out * n.out)), saves=("out",))
_float_unary("asin", "arcsin", triton="_asin({0})", libdevice="asin", names=("asin", "arcsin"),
             grad=lambda n, g: g * (1 - n[0] * n[0]).rsqrt(), saves=(0,))
_float_unary("acos", "arccos", triton="_acos({0})", libdevice="acos", names=("acos", "arccos"),
             grad=lambda n, g: -(g * (1 - n[0] * n[0]).rsqrt()), saves=(0,))
_float_unary("atan", "arctan", triton="_atan({0})", libdevice="atan", names=("atan", "arctan"),
             grad=lambda n, g: g / (1 + n[0] * n[0]), saves=(0,))
_float_unary("sinh", "sinh", triton="_sinh({0})", libdevice="sinh", grad=lambda n, g: g * n[0].cosh(), saves=(0,))
_float_unary("cosh", "cosh", triton="_cosh({0})", libdevice="cosh", grad=lambda n, g: g * n[0].sinh(), saves=(0,))
_float_unary("atanh", "arctanh", names=("atanh", "arctanh"), libdevice="atanh",
             triton='tl.where(tl.abs({0}) > 1.0, float("nan"), 0.5 * _log1p(2.0 * {0} / (1.0 - {0})))',
             grad=lambda n, g: g / (1 - n[0] * n[0]), saves=(0,),
             ref=lambda x: math.atanh(x) if abs(x) < 1 else math.copysign(math.inf, x) if abs(x) == 1 else math.nan)

# ----------------------------------------------------------------------------
# predicates and logic

unary("isnan", dtype_bool_out, ufunc="isnan", triton="({0} != {0})", binding=Binding(("isnan",), inplace=False, out=False),
      complex=True)
unary("isinf", dtype_bool_out, ufunc="isinf", binding=Binding(("isinf",), inplace=False, out=False),
      triton={"float": '(tl.abs({0}) == float("inf"))', "*": "({0} != {0})"}, complex=True)
unary("isfinite", dtype_bool_out, ufunc="isfinite", binding=Binding(("isfinite",), inplace=False, out=False),
      triton={"float": '(({0} == {0}) & (tl.abs({0}) != float("inf")))', "*": "({0} == {0})"}, complex=True)
unary("logical_not", dtype_bool_out, ufunc="logical_not", triton={"bool": "(~{0})", "*": "({0} == 0)"},
      props=Props(involution=True), complex=True)
unary("bitwise_not", dtype_integral, ufunc="invert", triton="(~{0})", props=Props(involution=True),
      binding=Binding(("bitwise_not",)))

# ----------------------------------------------------------------------------
# binary arithmetic


def _pow_triton(t):
    """Small constant exponents become multiplies or a square root (exact, and cheaper)."""
    a = t.args[0]
    if not t.fl:
        return "_ipow({0}, {1})"
    e = t.scalar(1)
    if e is not None:
        e = float(e)
        if e == 0.5:
            return "tl.sqrt_rn({0})" if t.f32 else "tl.sqrt({0})"
        special = {1.0: "{0}", 2.0: f"({a} * {a})", 3.0: f"({a} * {a} * {a})", -1.0: "(1.0 / {0})"}
        if e in special:
            return special[e]
    return "_pow({0}, {1})"


_pow_triton.helpers = ("_pow", "_ipow")


def _pow_dx(n, g):
    x, y = n[0], n[1]
    d = y * x ** (y - 1)
    return g * where(y.eq(0), 0, d)  # 0 ** 0 has derivative 0 in x (PyTorch masks y == 0)


def _pow_dy(n, g):
    x, y = n[0], n[1]
    d = n.out * x.log()
    return g * where(x.eq(0) & ((y.real() if y.dtype.is_complex else y) >= 0), 0, d)


binary("add", ufunc="add", triton={"bool": "({0} | {1})", "*": "({0} + {1})"}, grad=(lambda n, g: g, lambda n, g: g),
       props=Props(commutative=True, associative=True, identity=0), complex=True)
binary("sub", dtype_numeric, ufunc="subtract", triton="({0} - {1})", grad=(lambda n, g: g, lambda n, g: -g),
       props=Props(identity=0, identity_side="right"), complex=True)
binary("mul", ufunc="multiply", triton={"bool": "({0} & {1})", "*": "({0} * {1})"},
       grad=(lambda n, g: g * n[1], lambda n, g: g * n[0]), saves=(0, 1),
       props=Props(commutative=True, associative=True, identity=1, absorbing=0), binding=Binding(("mul", "multiply")),
       complex=True)
binary("div", dtype_float, ufunc="true_divide", triton="({0} / {1})",
       grad=(lambda n, g: g / n[1], lambda n, g: -(g / n[1] * n[0] / n[1])), saves=(0, 1),
       props=Props(identity=1, identity_side="right"), complex=True)
def _pow_rewrite(n):
    """x ** 2 -> x * x: one multiply instead of a call to pow."""
    x, e = n.inputs
    if scalar_value(e) == 2 and tuple(x.shape) == tuple(n.shape):
        return "mul", [x, x], {}
    return None


binary("pow", dtype_numeric, numpy=npmath.power, np_out=("O.pow({0}, {1}, out={out})",), triton=_pow_triton, libdevice="pow", grad=(_pow_dx, _pow_dy),
       saves=(0, 1, "out"), props=Props(identity=1, identity_side="right"), rewrite=_pow_rewrite,
       complex=True)


def _minmax(cmp):
    """maximum (cmp "gt") / minimum ("lt"): a tie splits the gradient in half; an input gets
    none only where it loses -- so both get all of it where either is NaN, as in PyTorch."""
    loses = "lt" if cmp == "gt" else "gt"

    def dx(n, g):
        return where(n[0].eq(n[1]), g * 0.5, where(n[0].op(loses, n[1]), 0, g))

    def dy(n, g):
        return where(n[0].eq(n[1]), g * 0.5, where(n[0].op(cmp, n[1]), 0, g))

    return dx, dy


for _n, _cmp, _bool in (("maximum", "gt", "|"), ("minimum", "lt", "&")):
    binary(_n, ufunc=_n, grad=_minmax(_cmp), saves=(0, 1), props=Props(commutative=True, associative=True, idempotent=True),
           binding=Binding((_n,)),
           triton={"bool": f"({{0}} {_bool} {{1}})", "float": f"tl.{_n}({{0}}, {{1}}, propagate_nan=tl.PropagateNan.ALL)",
                   "*": f"tl.{_n}({{0}}, {{1}})"})


def _atan2_dy(n, g):
    # at the origin x * x + y * y is 0: PyTorch's gradient is 0 there (not 0 / 0 = nan)
    y, x = n[0], n[1]
    r2 = x * x + y * y
    return where(r2.eq(0), 0, g / r2 * x)


def _atan2_dx(n, g):
    y, x = n[0], n[1]
    r2 = x * x + y * y
    return where(r2.eq(0), 0, -(g / r2 * y))


binary("atan2", dtype_float, ufunc="arctan2", triton="_atan2({0}, {1})", libdevice="atan2", grad=(_atan2_dy, _atan2_dx),
       saves=(0, 1), binding=Binding(("atan2", "arctan2"), promote=FLOAT))
binary("floor_divide", dtype_numeric, numpy=npmath.floor_divide, binding=Binding(("floor_divide",)), divisor=1, grad=ZERO,
       triton={"float32": "tl.floor(tl.math.div_rn({0}, {1}))", "float": "tl.floor({0} / {1})", "*": "_floordiv_int({0}, {1})"})
binary("remainder", dtype_numeric, numpy=npmath.remainder, binding=Binding(("remainder",)), divisor=1, triton={"float": "_mod_float({0}, {1})", "*": "_mod_int({0}, {1})"},
       grad=(lambda n, g: g, lambda n, g: -(g * n[0].op("floor_divide", n[1]))), saves=(0, 1))
binary("fmod", dtype_numeric, numpy=npmath.fmod, divisor=1, triton="({0} % {1})",
       grad=(lambda n, g: g, lambda n, g: -(g * (n[0] / n[1]).op("trunc"))), saves=(0, 1),
       doc="C's remainder, the sign of the dividend, exact (IEEE fmod): a - trunc(a / b) * b "
           "loses the remainder once the quotient passes 2**24 (float32).")
# (no promote=FLOAT: PyTorch has no integer kernel for logaddexp or hypot, the dtype rule refuses one)
binary("logaddexp", dtype_float, ufunc="logaddexp", triton="_logaddexp({0}, {1})",
       grad=(lambda n, g: g / (1 + (n[1] - n[0]).exp()), lambda n, g: g / (1 + (n[0] - n[1]).exp())), saves=(0, 1),
       props=Props(commutative=True), binding=Binding(("logaddexp",), inplace=False),
       ref=npmath.ref_logaddexp)
binary("hypot", dtype_float, ufunc="hypot", triton="_hypot({0}, {1})", libdevice="hypot",
       grad=(lambda n, g: g * n[0] / n.out, lambda n, g: g * n[1] / n.out), saves=(0, 1, "out"),
       props=Props(commutative=True), binding=Binding(("hypot",)), ref=math.hypot)

# ----------------------------------------------------------------------------
# comparisons, logic, bits

for _n, _uf, _sym, _props, _names in (
    ("eq", "equal", "==", Props(commutative=True), ("eq",)),
    ("ne", "not_equal", "!=", Props(commutative=True), ("ne", "not_equal")),
    ("lt", "less", "<", Props(), ("lt", "less")),
    ("le", "less_equal", "<=", Props(), ("le", "less_equal")),
    ("gt", "greater", ">", Props(), ("gt", "greater")),
    ("ge", "greater_equal", ">=", Props(), ("ge", "greater_equal")),
):
    binary(_n, dtype_bool_out, ufunc=_uf, triton=f"({{0}} {_sym} {{1}})", props=_props, binding=Binding(_names),
           complex=_n in ("eq", "ne"))


def _logical(sym):
    def expr(t):
        a, b = t.args
        left = a if t.in_dtypes[0].is_bool else f"({a} != 0)"
        right = b if t.in_dtypes[1].is_bool else f"({b} != 0)"
        return f"({left} {sym} {right})"

    return expr


binary("logical_and", dtype_bool_out, ufunc="logical_and", triton=_logical("&"),
       props=Props(commutative=True, associative=True, idempotent=True, identity=True, absorbing=False), complex=True)
binary("logical_or", dtype_bool_out, ufunc="logical_or", triton=_logical("|"),
       props=Props(commutative=True, associative=True, idempotent=True, identity=False, absorbing=True), complex=True)
binary("logical_xor", dtype_bool_out, ufunc="logical_xor", triton=_logical("^"),
       props=Props(commutative=True, associative=True, identity=False), complex=True)
binary("bitwise_and", dtype_integral, ufunc="bitwise_and", triton="({0} & {1})",
       props=Props(commutative=True, associative=True, idempotent=True), binding=Binding(("bitwise_and",)))
binary("bitwise_or", dtype_integral, ufunc="bitwise_or", triton="({0} | {1})",
       props=Props(commutative=True, associative=True, idempotent=True, identity=0), binding=Binding(("bitwise_or",)))
binary("bitwise_xor", dtype_integral, ufunc="bitwise_xor", triton="({0} ^ {1})",
       props=Props(commutative=True, associative=True, identity=0), binding=Binding(("bitwise_xor",)))

# ----------------------------------------------------------------------------
# where and cast


def _dtype_where(op, inputs, attrs):
    cond, x, y = inputs
    if not cond.dtype.is_bool:
        raise DTypeError(f"where: expected condition to be a bool tensor, but got a tensor with dtype {cond.dtype}")
    return same_dtype(op, [x, y])


def _where_rewrite(n):
    """A constant condition (the pow rule's ``y == 0`` on a constant ``y``) picks one branch."""
    c = scalar_value(n.inputs[0])
    if c is None:
        return None
    taken = n.inputs[1] if c else n.inputs[2]
    return taken if tuple(taken.shape) == tuple(n.shape) and taken.dtype is n.dtype else None


def _fma_rewrite(n):
    """fma(x, 1, z) -> x + z."""
    x, y, z = n.inputs
    if scalar_value(y) == 1 and tuple(x.shape) == tuple(n.shape):
        return "add", [x, z], {}
    return None


elementwise("fma", 3, dtype_numeric, numpy=npmath.fma, np_out=("R.fma_into({0}, {1}, {2}, {out})",), eager_out=True,
            triton={"float": "tl.fma({0}, {1}, {2})", "*": "({0} * {1} + {2})"},
            grad=(lambda n, g: g * n[1], lambda n, g: g * n[0], lambda n, g: g), saves=(0, 1), rewrite=_fma_rewrite,
            complex=True, doc="x * y + z with one rounding (PyTorch's fused add-with-alpha, addcmul and lerp).")


elementwise("where", 3, _dtype_where, numpy=npmath.where, rewrite=_where_rewrite, np_out=("R.where_into({0}, {1}, {2}, {out})",),
            triton="tl.where({0}, {1}, {2})", grad=(None, lambda n, g: where(n[0], g, 0), lambda n, g: where(n[0], 0, g)),
            saves=(0,), complex=True)


def _clamp_grad(strict):
    """clamp's gradient passes where lo <= x <= hi (not at NaN), PyTorch's ``clamp_backward``;
    hardtanh's strictly inside (lo, hi) and at NaN, ``hardtanh_backward``."""
    if strict:
        return lambda n, g: where((n[0] <= n[1]) | (n[0] >= n[2]), 0, g)
    return lambda n, g: where((n[0] >= n[1]) & (n[0] <= n[2]), g, 0)


# clamp(x, lo, hi) = min(max(x, lo), hi), keeping x itself on a tie (clamp(-0.0, min=0) is -0.0)
# and a NaN x: PyTorch's clamp and hardtanh, and numpy's clip (one pass, where the two wheres
# of a composite took six). The bounds are inputs (0-d constants from the frontend).
for _n, _strict in (("clamp", False), ("hardtanh", True)):
    elementwise(_n, 3, dtype_numeric, numpy=npmath.clamp, np_out=("O.clamp({0}, {1}, {2}, out={out})",),
                triton="tl.where(tl.where({0} < {1}, {1}, {0}) > {2}, {2}, tl.where({0} < {1}, {1}, {0}))",
                grad=(_clamp_grad(_strict), None, None), saves=(0, 1, 2),
                doc="min(max(x, lo), hi); x itself where it ties a bound or is NaN.")


binary("leaky_relu", dtype_float, numpy=npmath.leaky_relu, triton="tl.where({0} > 0, {0}, {0} * {1})",
       grad=(lambda n, g: where(n[0] > 0, g, g * n[1]), None), saves=(0, 1),
       doc="x where x > 0, else x * slope (the slope a 0-d input); the gradient is PyTorch's, g or g * slope.")


def _cast_grad(n, g):
    """The gradient in the source dtype; complex -> real casts keep the real part (PyTorch's
    ``real(grad)``), real -> complex ones pass it on as a complex value with zero imaginary part."""
    if not n.needs(0):
        return [None]
    src = n.in_dtypes[0]
    if g.dtype.is_complex and not src.is_complex:
        g = g.real()
    return [g.cast(src)]


register(
    OpDef(
        "cast",
        CAST,
        1,
        shape_same,
        dtype_attr,
        ("dtype",),
        grad=_cast_grad,
        grad_name="ToCopyBackward0",
        complex=True,
        complex_rule=True,
        doc="Convert to attrs['dtype'] (float to int truncates toward zero, as in PyTorch).",
    )
)
