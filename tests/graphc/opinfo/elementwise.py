"""Elementwise ops: unary, binary (with operators and scalars), logical and bitwise, and
``where``/``clamp``/``masked_fill``."""

from __future__ import annotations

import math

import numpy as np

import graphc

from .core import _NP, BOOL, FLOAT, FLOAT16, FLOATIFY, INT, NC, SAME, OpSpec, S, b8, f32, i32, i64, make, scalar, u8


def unary_samples(low=-2.0, high=2.0, away=0.0):
    def gen(rng, dtype):
        def A(*shape):
            return make(rng, shape, dtype, low, high, away)

        return [
            S(A(2, 3), desc="2d"),
            S(A(), desc="0d"),
            S(A(0, 3), desc="size0"),
            S(A(1), desc="size1"),
            S(A(2, 1, 3), desc="3d with size-1 dim"),
            S(NC(A(3, 4), "T"), desc="transposed"),
            S(NC(A(2, 3), "step"), desc="strided"),
        ]

    return gen


_BINARY_SHAPES = [
    ((2, 3), (2, 3), "same"),
    ((2, 3), (3,), "broadcast row"),
    ((2, 1), (1, 3), "broadcast both"),
    ((3, 1, 2), (4, 1), "broadcast 3d"),
    ((), (2, 3), "0d lhs"),
    ((2, 3), (), "0d rhs"),
    ((), (), "0d both"),
    ((0, 3), (1, 3), "size0"),
    ((1,), (1,), "size1"),
]


def binary_samples(a=(-2.0, 2.0, 0.0), b=(-2.0, 2.0, 0.0), scalar_b=1.5, ints=False):
    """Pairs over the broadcasting shapes above, plus non-contiguous operands and a
    Python scalar rhs. ``a``/``b``: (low, high, away) for each operand. ``ints``:
    integer-valued floats (so comparisons see ties)."""

    def gen(rng, dtype):
        def mk(shape, rng_args):
            if ints and dtype.is_floating_point:
                return make(rng, shape, i64, *rng_args).astype(_NP[dtype])
            return make(rng, shape, dtype, *rng_args)

        out = [S(mk(sa, a), mk(sb, b), desc=d) for sa, sb, d in _BINARY_SHAPES]
        out.append(S(NC(mk((3, 4), a), "T"), mk((4,), b), desc="transposed lhs"))
        out.append(S(mk((2, 3), a), NC(mk((2, 3), b), "step"), desc="strided rhs"))
        if scalar_b is not None:
            out.append(S(mk((2, 3), a), scalar(dtype, scalar_b), desc="python scalar rhs"))
        return out

    return gen


def ref_erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.astype(np.float64)


def ref_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_div(a, b, rounding_mode=None):
    q = np.true_divide(a, b)
    if rounding_mode == "trunc":
        q = np.trunc(q)
    elif rounding_mode == "floor":
        q = np.floor_divide(a, b)
    return q


def ref_clamp(x, min=None, max=None):
    if min is not None:
        x = np.maximum(x, min)
    if max is not None:
        x = np.minimum(x, max)
    return x


def where_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    def C(*s):
        return np.asarray(rng.random(s) < 0.5)

    return [
        S(C(2, 3), A(2, 3), A(2, 3), desc="same shapes"),
        S(C(3), A(2, 1), A(1, 3), desc="broadcast all three"),
        S(C(2, 3), A(), A(2, 3), desc="0d x"),
        S(C(), A(2, 3), A(2, 3), desc="0d cond"),
        S(C(2, 3), A(2, 3), scalar(dtype, 0.5), desc="python scalar y"),
        S(C(0, 3), A(0, 3), A(3), desc="size0"),
        S(NC(C(3, 4), "T"), NC(A(3, 4), "T"), NC(A(3, 4), "step"), desc="non-contiguous"),
    ]


def clamp_samples(rng, dtype):
    def A(*s, lo=-2.0, hi=2.0):
        return make(rng, s, dtype, lo, hi)

    lo, hi = (
        scalar(dtype, -0.5 if dtype.is_floating_point else -1),
        scalar(dtype, 0.5 if dtype.is_floating_point else 1),
    )
    return [
        S(A(2, 3), min=lo, max=hi, desc="scalar min and max"),
        S(A(2, 3), min=lo, desc="scalar min only"),
        S(A(2, 3), max=hi, desc="scalar max only"),
        S(A(), min=lo, max=hi, desc="0d"),
        S(A(0, 2), min=lo, desc="size0"),
        S(A(2, 3), min=A(3, lo=-1.5, hi=-0.5), max=A(2, 1, lo=0.5, hi=1.5), desc="tensor bounds, broadcast"),
        S(A(2, 3), min=A(2, 3, lo=-1.5, hi=0.0), desc="tensor min only"),
        S(A(3), max=A(lo=0.0, hi=1.0), desc="0d tensor max"),
        S(NC(A(3, 4), "T"), min=lo, max=hi, desc="transposed"),
    ]


def masked_fill_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    def M(*s):
        return np.asarray(rng.random(s) < 0.5)

    v = scalar(dtype, -0.25 if dtype.is_floating_point else 7)
    return [
        S(A(2, 3), M(2, 3), v, desc="same shape"),
        S(A(2, 3), M(3), v, desc="broadcast mask"),
        S(A(2, 3), M(2, 3), np.asarray(v, _NP[dtype]), desc="0d tensor value"),
        S(A(), M(), v, desc="0d"),
        S(A(0, 3), M(0, 3), v, desc="size0"),
        S(NC(A(3, 4), "T"), M(3, 4), v, desc="transposed"),
    ]


def _u(name, ref, low=-2.0, high=2.0, away=0.0, dtypes=FLOAT16 + INT, out=FLOATIFY, diff=True, inplace=True, tol=None):
    fn = getattr(graphc, name)
    return OpSpec(
        name,
        fn,
        ref,
        unary_samples(low, high, away),
        dtypes=dtypes,
        differentiable=diff,
        out_dtype=out,
        inplace=f"{name}_" if inplace else None,
        method=name,
        tol=tol or {},
    )


def _b(
    name,
    ref,
    a=(-2.0, 2.0, 0.0),
    b=(-2.0, 2.0, 0.0),
    dtypes=FLOAT16 + INT,
    out=SAME,
    diff=True,
    scalar_b=1.5,
    ints=False,
    op=None,
    inplace=None,
    tol=None,
):
    return OpSpec(
        name,
        op or getattr(graphc, name),
        ref,
        binary_samples(a, b, scalar_b, ints),
        dtypes=dtypes,
        differentiable=diff,
        out_dtype=out,
        inplace=inplace if inplace is not None else (f"{name}_" if op is None else None),
        method=name if op is None else None,
        tol=tol or {},
    )


POS = (0.1, 2.0, 0.0)  # a positive domain
NONZERO = (-2.0, 2.0, 0.5)


OPS: list[OpSpec] = [
    # -- unary ------------------------------------------------------------
    _u("neg", np.negative, out=SAME),
    _u("abs", np.abs, away=0.1, out=SAME),
    _u("sign", np.sign, away=0.1, out=SAME),
    _u("exp", np.exp),
    _u("exp2", np.exp2),
    _u("log", np.log, 0.1, 3.0),
    _u("log2", np.log2, 0.1, 3.0),
    _u("log10", np.log10, 0.1, 3.0),
    _u("sqrt", np.sqrt, 0.1, 3.0),
    _u("rsqrt", lambda x: 1.0 / np.sqrt(x), 0.1, 3.0),
    _u("sin", np.sin),
    _u("cos", np.cos),
    _u("tan", np.tan, -1.2, 1.2),
    _u("tanh", np.tanh),
    _u("sigmoid", ref_sigmoid),
    _u("relu", lambda x: np.maximum(x, 0), away=0.1, out=SAME),
    _u("erf", ref_erf),
    _u("log1p", np.log1p, -0.9, 2.0),
    _u("expm1", np.expm1),
    _u("reciprocal", lambda x: 1.0 / x, away=0.2),
    _u("square", lambda x: x * x, out=SAME),
    _u("floor", np.floor, out=SAME),  # zero gradient, as in PyTorch
    _u("ceil", np.ceil, out=SAME),  # zero gradient, as in PyTorch
    _u("round", np.round, out=SAME),  # zero gradient, as in PyTorch
    _u("trunc", np.trunc, out=SAME),  # zero gradient, as in PyTorch
    _u("asin", np.arcsin, -0.9, 0.9),
    _u("acos", np.arccos, -0.9, 0.9),
    _u("atan", np.arctan),
    _u("atanh", np.arctanh, -0.9, 0.9),
    _u("sinh", np.sinh),
    _u("cosh", np.cosh),
    OpSpec(
        "round_half_even",
        graphc.round,
        np.round,
        lambda rng, d: [S(np.asarray([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51], _NP[d]), desc="halves")],
        dtypes=FLOAT16,
        differentiable=False,
    ),
    OpSpec(
        "logical_not",
        graphc.logical_not,
        np.logical_not,
        unary_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="logical_not",
    ),
    OpSpec(
        "bitwise_not",
        graphc.bitwise_not,
        np.invert,
        unary_samples(-5, 5),
        dtypes=(b8, i32, i64, u8),
        differentiable=False,
        method="bitwise_not",
        inplace=None,
    ),
    OpSpec("operator_neg", lambda x: -x, np.negative, unary_samples(), dtypes=FLOAT + INT),
    OpSpec("operator_invert", lambda x: ~x, np.invert, unary_samples(-5, 5), dtypes=(b8, i64), differentiable=False),
    # -- binary -----------------------------------------------------------
    _b("add", np.add),
    _b("sub", np.subtract),
    _b("mul", np.multiply),
    OpSpec(
        "add_alpha",
        lambda a, b: graphc.add(a, b, alpha=2),
        lambda a, b: a + 2 * b,
        binary_samples(),
        dtypes=FLOAT + INT,
    ),
    OpSpec(
        "sub_alpha",
        lambda a, b: graphc.sub(a, b, alpha=0.5),
        lambda a, b: a - 0.5 * b,
        binary_samples(scalar_b=None),
        dtypes=FLOAT,
    ),
    _b("div", np.true_divide, b=NONZERO, out=FLOATIFY),
    OpSpec(
        "div_trunc",
        lambda a, b: graphc.div(a, b, rounding_mode="trunc"),
        lambda a, b: ref_div(a, b, "trunc"),
        binary_samples(a=(-5, 5, 0), b=NONZERO, scalar_b=2),
        dtypes=FLOAT16 + INT,
        differentiable=False,
    ),
    OpSpec(
        "div_floor",
        lambda a, b: graphc.div(a, b, rounding_mode="floor"),
        lambda a, b: ref_div(a, b, "floor"),
        binary_samples(a=(-5, 5, 0), b=NONZERO, scalar_b=2),
        dtypes=FLOAT16 + INT,
        differentiable=False,
    ),
    _b("floor_divide", np.floor_divide, a=(-5, 5, 0), b=NONZERO, diff=False),
    _b("remainder", np.mod, a=(-5, 5, 0), b=NONZERO, dtypes=FLOAT + INT),
    _b("fmod", np.fmod, a=(-5, 5, 0), b=NONZERO, dtypes=FLOAT + INT),
    _b("pow", np.power, a=POS, b=(-2.0, 2.0, 0.0), dtypes=FLOAT16),
    OpSpec(
        "pow_int",
        graphc.pow,
        np.power,
        binary_samples(a=(-3, 3, 0), b=(0, 3, 0), scalar_b=2),
        dtypes=INT,
        differentiable=False,
    ),
    OpSpec(
        "pow_scalar_exponent",
        lambda x: graphc.pow(x, 2),
        lambda x: x**2,
        unary_samples(),
        dtypes=FLOAT16 + INT,
    ),
    OpSpec("pow_scalar_base", lambda x: 2.0**x, lambda x: 2.0**x, unary_samples(), dtypes=FLOAT),
    OpSpec("pow_sqrt", lambda x: x**0.5, np.sqrt, unary_samples(0.1, 3.0), dtypes=FLOAT),
    _b("maximum", np.maximum, scalar_b=None),
    _b("minimum", np.minimum, scalar_b=None),
    _b("atan2", np.arctan2, a=NONZERO, b=NONZERO, dtypes=FLOAT, scalar_b=None),
    _b("logaddexp", np.logaddexp, a=(-3.0, 3.0, 0.0), b=(-3.0, 3.0, 0.0), dtypes=FLOAT, scalar_b=None, inplace=False),
    _b("hypot", np.hypot, a=NONZERO, b=NONZERO, dtypes=FLOAT, scalar_b=None, inplace="hypot_"),
    OpSpec(
        "rsub_operator", lambda x: 2.0 - x, lambda x: 2.0 - x, unary_samples(), dtypes=FLOAT + INT, out_dtype=FLOATIFY
    ),
    OpSpec(
        "rdiv_operator",
        lambda x: 2 / x,
        lambda x: 2 / x,
        unary_samples(away=0.5),
        dtypes=FLOAT + INT,
        out_dtype=FLOATIFY,
    ),
    OpSpec(
        "operator_floordiv",
        lambda a, b: a // b,
        np.floor_divide,
        binary_samples((-5, 5, 0), NONZERO, 2),
        dtypes=FLOAT + INT,
        differentiable=False,
    ),
    OpSpec("operator_mod", lambda a, b: a % b, np.mod, binary_samples((-5, 5, 0), NONZERO, 2), dtypes=FLOAT + INT),
]

for _n, _ref in (
    ("eq", np.equal),
    ("ne", np.not_equal),
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
):
    OPS.append(
        _b(
            _n,
            _ref,
            a=(-2, 2, 0),
            b=(-2, 2, 0),
            ints=True,
            out=BOOL,
            diff=False,
            scalar_b=1,
            dtypes=FLOAT16 + INT + (b8,),
        )
    )
OPS.append(
    OpSpec(
        "operator_lt",
        lambda a, b: a < b,
        np.less,
        binary_samples(ints=True),
        dtypes=FLOAT + INT,
        out_dtype=BOOL,
        differentiable=False,
    )
)
OPS.append(
    OpSpec(
        "operator_eq",
        lambda a, b: a == b,
        np.equal,
        binary_samples(ints=True),
        dtypes=FLOAT + INT,
        out_dtype=BOOL,
        differentiable=False,
    )
)

for _n, _ref in (("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)):
    OPS.append(
        _b(_n, _ref, a=(-1, 1, 0), b=(-1, 1, 0), ints=True, out=BOOL, diff=False, scalar_b=1, dtypes=(b8, f32, i64))
    )
for _n, _ref in (("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor)):
    OPS.append(_b(_n, _ref, a=(-8, 8, 0), b=(-8, 8, 0), diff=False, scalar_b=3, dtypes=(b8, u8, i32, i64)))
for _sym, _ref in (("&", np.bitwise_and), ("|", np.bitwise_or), ("^", np.bitwise_xor)):
    OPS.append(
        OpSpec(
            f"operator{_sym}",
            eval(f"lambda a, b: a {_sym} b"),
            _ref,
            binary_samples((-8, 8, 0), (-8, 8, 0), 3),
            dtypes=(b8, i64),
            differentiable=False,
        )
    )

OPS += [
    # -- ternary and friends ----------------------------------------------
    OpSpec("where", graphc.where, np.where, where_samples, dtypes=FLOAT16 + INT + (b8,)),
    OpSpec("clamp", graphc.clamp, ref_clamp, clamp_samples, dtypes=FLOAT16 + INT, inplace="clamp_", method="clamp"),
    OpSpec(
        "masked_fill",
        graphc.masked_fill,
        lambda x, m, v: np.where(m, v, x).astype(x.dtype),
        masked_fill_samples,
        dtypes=FLOAT16 + INT,
        inplace="masked_fill_",
        method="masked_fill",
    ),
]
