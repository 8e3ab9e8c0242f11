"""Triton expressions for the IR's elementwise ops, and the helper functions some need.

Values inside a generated kernel are held in their *compute type*: float16 and
bfloat16 compute in float32 (and are rounded back to their own precision after
every op, so a fused chain rounds where eager execution would), every other
dtype in itself. Bool values are ``tl.int1``; bool buffers are bytes.

Ops without a ``tl`` primitive call a small ``@triton.jit`` helper pasted
into the kernel's source. Each helper takes a ``LIBDEVICE`` constexpr: on a
GPU it is true and the helper calls CUDA's libdevice (``tanh``, ``pow``,
``atan2``, ``rint``...); under Triton's interpreter, which cannot call
libdevice, it is false and the helper evaluates an accurate formula from
``tl`` primitives instead. One source serves both, so the kernel that is
tested under the interpreter is the kernel compiled for the GPU.
"""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import UnsupportedError

TL_TYPE = {
    dt.bool_: "tl.int1",
    dt.uint8: "tl.uint8",
    dt.int8: "tl.int8",
    dt.int16: "tl.int16",
    dt.int32: "tl.int32",
    dt.int64: "tl.int64",
    dt.float16: "tl.float16",
    dt.bfloat16: "tl.bfloat16",
    dt.float32: "tl.float32",
    dt.float64: "tl.float64",
}


def compute_type(d: dt.DType) -> dt.DType:
    """The dtype values of ``d`` are computed in inside a kernel."""
    return dt.float32 if d in (dt.float16, dt.bfloat16) else d


def tl_type(d: dt.DType) -> str:
    return TL_TYPE[d]


def round_to(expr: str, d: dt.DType) -> str:
    """``expr`` (a compute-type value) rounded to ``d``'s own precision when that is narrower."""
    if d in (dt.float16, dt.bfloat16):
        return f"({expr}).to({TL_TYPE[d]}).to(tl.float32)"
    return expr


def literal(value, d: dt.DType) -> str:
    """A scalar constant of dtype ``d`` (in its compute type) as Triton source."""
    ct = compute_type(d)
    if d.is_bool:
        return f"tl.full([], {1 if bool(value) else 0}, tl.int1)"
    if ct.is_floating_point:
        v = float(value)
        if math.isnan(v):
            text = 'float("nan")'
        elif math.isinf(v):
            text = 'float("inf")' if v > 0 else '-float("inf")'
        else:
            text = repr(v)
        if ct is dt.float32:
            return text if not text.startswith("-") else f"({text})"
        return f"tl.full([], {text}, {TL_TYPE[ct]})"
    v = int(value)
    if ct is dt.int32:
        return str(v) if v >= 0 else f"({v})"
    return f"tl.full([], {v}, {TL_TYPE[ct]})"


# ----------------------------------------------------------------------------
# helpers (each a @triton.jit function; ``deps`` lists helpers it calls)


def _atan_series() -> str:
    # atan(a) for |a| <= tan(pi/16): a * sum_k (-1)^k a^(2k) / (2k+1), 12 terms (float64-exact).
    coeffs = [(-1) ** k / (2 * k + 1) for k in range(12)]
    lines = [f"    s = z * 0.0 + {coeffs[-1]!r}"]
    for c in reversed(coeffs[:-1]):
        lines.append(f"    s = s * z + {c!r}")
    return "\n".join(lines)


HELPERS: dict[str, tuple[str, tuple]] = {
    "_expm1": (
        '''@triton.jit
def _expm1(x, LIBDEVICE: tl.constexpr):
    """exp(x) - 1 without cancellation near 0 (Kahan's trick off the GPU)."""
    if LIBDEVICE:
        return libdevice.expm1(x)
    else:
        u = tl.exp(x)
        um1 = u - 1.0
        r = tl.where(u == 1.0, x, um1 * x / tl.log(u))
        r = tl.where(um1 == -1.0, -1.0, r)
        return tl.where(u == float("inf"), u, r)''',
        (),
    ),
    "_log1p": (
        '''@triton.jit
def _log1p(x, LIBDEVICE: tl.constexpr):
    """log(1 + x) without cancellation near 0."""
    if LIBDEVICE:
        return libdevice.log1p(x)
    else:
        u = 1.0 + x
        r = tl.where(u == 1.0, x, tl.log(u) * x / (u - 1.0))
        return tl.where(u == float("inf"), u, r)''',
        (),
    ),
    "_tanh": (
        '''@triton.jit
def _tanh(x, LIBDEVICE: tl.constexpr):
    """tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), signed; accurate near 0."""
    if LIBDEVICE:
        return libdevice.tanh(x)
    else:
        m = _expm1(-2.0 * tl.abs(x), LIBDEVICE)
        t = -m / (m + 2.0)
        return tl.where(x < 0, -t, t)''',
        ("_expm1",),
    ),
    "_sinh": (
        """@triton.jit
def _sinh(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.sinh(x)
    else:
        a = tl.abs(x)
        m = _expm1(a, LIBDEVICE)
        r = tl.where(a > 20.0, tl.exp(a - 0.6931471805599453), 0.5 * (m + m / (m + 1.0)))
        return tl.where(x < 0, -r, r)""",
        ("_expm1",),
    ),
    "_cosh": (
        """@triton.jit
def _cosh(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.cosh(x)
    else:
        e = tl.exp(tl.abs(x) - 0.6931471805599453)
        return e + 0.25 / e""",
        (),
    ),
    "_tan": (
        """@triton.jit
def _tan(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.tan(x)
    else:
        return tl.sin(x) / tl.cos(x)""",
        (),
    ),
    "_atan": (
        '''@triton.jit
def _atan(x, LIBDEVICE: tl.constexpr):
    """atan: two half-angle reductions, then a 12-term series."""
    if LIBDEVICE:
        return libdevice.atan(x)
    else:
        a = tl.abs(x)
        inv = a > 1.0
        a = tl.where(inv, 1.0 / a, a)
        a = a / (1.0 + tl.sqrt(1.0 + a * a))
        a = a / (1.0 + tl.sqrt(1.0 + a * a))
        z = a * a
'''
        + "\n".join("    " + line for line in _atan_series().splitlines())
        + """
        r = 4.0 * a * s
        r = tl.where(inv, 1.5707963267948966 - r, r)
        r = tl.where(x != x, x, r)
        return tl.where(x < 0, -r, r)""",
        (),
    ),
    "_asin": (
        """@triton.jit
def _asin(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.asin(x)
    else:
        r = _atan(x / tl.sqrt((1.0 - x) * (1.0 + x)), LIBDEVICE)
        return tl.where(tl.abs(x) > 1.0, float("nan"), r)""",
        ("_atan",),
    ),
    "_acos": (
        """@triton.jit
def _acos(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.acos(x)
    else:
        r = 2.0 * _atan(tl.sqrt((1.0 - x) / (1.0 + x)), LIBDEVICE)
        return tl.where(tl.abs(x) > 1.0, float("nan"), r)""",
        ("_atan",),
    ),
    "_atan2": (
        """@triton.jit
def _atan2(y, x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.atan2(y, x)
    else:
        # (scalar literals stay inline: a local assigned a Python float would become an fp32 tensor)
        r = _atan(y / x, LIBDEVICE)
        r = tl.where(x < 0, tl.where(y < 0, r - 3.141592653589793, r + 3.141592653589793), r)
        r = tl.where(x == 0, tl.where(y > 0, 1.5707963267948966, tl.where(y < 0, -1.5707963267948966, 0.0 * y)), r)
        return tl.where((x != x) | (y != y), x + y, r)""",
        ("_atan",),
    ),
    "_pow": (
        '''@triton.jit
def _pow(x, y, LIBDEVICE: tl.constexpr):
    """x ** y for floats, with C's pow() special cases."""
    if LIBDEVICE:
        return libdevice.pow(x, y)
    else:
        r = tl.exp2(y * tl.log2(tl.abs(x)))
        y_int = tl.floor(y) == y
        y_odd = y_int & (tl.floor(y * 0.5) * 2.0 != y)
        r = tl.where(x < 0, tl.where(y_int, tl.where(y_odd, -r, r), float("nan")), r)
        return tl.where((y == 0.0) | (x == 1.0), 1.0, r)''',
        (),
    ),
    "_ipow": (
        '''@triton.jit
def _ipow(x, y):
    """x ** y for integers (square and multiply over the exponent's bits)."""
    r = x * 0 + 1 + y * 0
    base = x + y * 0
    e = y + x * 0
    for _ in tl.static_range(32):
        r = tl.where((e & 1) != 0, r * base, r)
        base = base * base
        e = e >> 1
    return r''',
        (),
    ),
    "_rint": (
        '''@triton.jit
def _rint(x, LIBDEVICE: tl.constexpr):
    """Round half to even, as numpy and PyTorch do."""
    if LIBDEVICE:
        return libdevice.rint(x)
    else:
        r = tl.floor(x + 0.5)
        tie = (r - x) == 0.5
        odd = tl.floor(r * 0.5) * 2.0 != r
        r = tl.where(tie & odd, r - 1.0, r)
        return tl.where(tl.abs(x) >= 4503599627370496.0, x, r)''',
        (),
    ),
    "_trunc": (
        """@triton.jit
def _trunc(x, LIBDEVICE: tl.constexpr):
    if LIBDEVICE:
        return libdevice.trunc(x)
    else:
        return tl.where(x < 0, tl.ceil(x), tl.floor(x))""",
        (),
    ),
    "_floordiv_int": (
        '''@triton.jit
def _floordiv_int(a, b):
    """Python's floor division for integers (Triton's // truncates, like C)."""
    q = a // b
    r = a - q * b
    return q - ((r != 0) & ((r < 0) != (b < 0))).to(q.dtype)''',
        (),
    ),
    "_mod_float": (
        '''@triton.jit
def _mod_float(a, b):
    """Python's remainder for floats: the sign of the divisor."""
    r = a % b
    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)''',
        (),
    ),
    "_mod_int": (
        '''@triton.jit
def _mod_int(a, b):
    """Python's remainder for integers (Triton's % follows C)."""
    r = a - (a // b) * b
    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)''',
        (),
    ),
    "_prod_combine": (
        """@triton.jit
def _prod_combine(a, b):
    return a * b""",
        (),
    ),
}

# Helpers that take the LIBDEVICE constexpr.
LIBDEVICE_HELPERS = {name for name, (src, _) in HELPERS.items() if "LIBDEVICE: tl.constexpr" in src.split("\n", 2)[1]}


def helper_closure(names) -> list:
    """``names`` and the helpers they call, callees first."""
    out: list = []

    def visit(n):
        if n in out:
            return
        for d in HELPERS[n][1]:
            visit(d)
        out.append(n)

    for n in sorted(names):
        visit(n)
    return out


# ----------------------------------------------------------------------------
# elementwise ops


def elementwise(op: str, args: list, in_dtypes: list, out: dt.DType, use_helper, scalar_of=None) -> str:
    """A Triton expression for elementwise ``op`` over compute-type values ``args``.

    ``use_helper(name)`` registers a helper and returns its call prefix;
    ``scalar_of(i)`` gives input ``i``'s value when it is a scalar constant
    (used to specialize ``pow`` by small constant exponents).
    """
    a = args[0] if args else None
    b = args[1] if len(args) > 1 else None
    x = in_dtypes[0] if in_dtypes else None
    fl = x is not None and x.is_floating_point
    ct = compute_type(x) if x is not None else None
    is_bool = x is not None and x.is_bool

    def h(name, *xs):
        use_helper(name)
        if name in LIBDEVICE_HELPERS:
            return f"{name}({', '.join(xs)}, LIBDEVICE)"
        return f"{name}({', '.join(xs)})"

    zero = "0.0" if fl else "0"
    if op == "neg":
        return f"-{a}"
    if op == "abs":
        return f"tl.abs({a})"
    if op == "sign":
        if fl:
            return f"tl.where({a} > 0, 1.0, tl.where({a} < 0, -1.0, {a}))"
        return f"tl.where({a} > 0, 1, tl.where({a} < 0, -1, 0)).to({TL_TYPE[ct]})"
    if op == "relu":
        return f"tl.where({a} < 0, {zero}, {a})"
    if op in ("floor", "ceil"):
        return f"tl.{op}({a})" if fl else a
    if op == "round":
        return h("_rint", a) if fl else a
    if op == "trunc":
        return h("_trunc", a) if fl else a
    if op == "copy":
        return a
    if op in ("exp", "exp2", "log", "log2", "sin", "cos", "erf", "rsqrt"):
        return f"tl.{op}({a})"
    if op == "sqrt":
        return f"tl.sqrt_rn({a})" if ct is dt.float32 else f"tl.sqrt({a})"
    if op == "reciprocal":
        return f"1.0 / {a}" if ct is dt.float32 else f"{literal(1.0, ct)} / {a}"
    if op == "sigmoid":
        return f"1.0 / (1.0 + tl.exp(-{a}))"
    if op in ("tan", "tanh", "log1p", "expm1", "asin", "acos", "atan", "sinh", "cosh"):
        return h("_" + op, a)
    if op == "isnan":
        return f"({a} != {a})"
    if op == "isinf":
        return f'(tl.abs({a}) == float("inf"))' if fl else f"({a} != {a})"
    if op == "isfinite":
        return f'(({a} == {a}) & (tl.abs({a}) != float("inf")))' if fl else f"({a} == {a})"
    if op == "logical_not":
        return f"(~{a})" if is_bool else f"({a} == 0)"
    if op == "bitwise_not":
        return f"(~{a})"
    if op == "add":
        return f"({a} | {b})" if is_bool else f"({a} + {b})"
    if op == "sub":
        if is_bool:
            raise UnsupportedError("sub: subtracting bool tensors is not supported; use logical_xor")
        return f"({a} - {b})"
    if op == "mul":
        return f"({a} & {b})" if is_bool else f"({a} * {b})"
    if op == "div":
        return f"({a} / {b})"
    if op == "pow":
        if fl:
            e = scalar_of(1) if scalar_of else None
            if e is not None:
                special = {
                    1.0: f"{a}",
                    2.0: f"({a} * {a})",
                    3.0: f"({a} * {a} * {a})",
                    0.5: f"tl.sqrt({a})",
                    -1.0: f"(1.0 / {a})",
                }
                if float(e) in special and not (float(e) == 0.5 and ct is dt.float32):
                    return special[float(e)]
                if float(e) == 0.5:
                    return f"tl.sqrt_rn({a})"
            return h("_pow", a, b)
        return h("_ipow", a, b)
    if op in ("maximum", "minimum"):
        if is_bool:
            return f"({a} | {b})" if op == "maximum" else f"({a} & {b})"
        if fl:
            return f"tl.{op}({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"
        return f"tl.{op}({a}, {b})"
    if op == "atan2":
        return h("_atan2", a, b)
    if op == "floor_divide":
        if fl:
            return f"tl.floor(tl.math.div_rn({a}, {b}))" if ct is dt.float32 else f"tl.floor({a} / {b})"
        return h("_floordiv_int", a, b)
    if op == "remainder":
        return h("_mod_float", a, b) if fl else h("_mod_int", a, b)
    cmp = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in cmp:
        return f"({a} {cmp[op]} {b})"
    if op in ("logical_and", "logical_or", "logical_xor"):
        sym = {"logical_and": "&", "logical_or": "|", "logical_xor": "^"}[op]
        l = a if is_bool else f"({a} != 0)"
        r = b if in_dtypes[1].is_bool else f"({b} != 0)"
        return f"({l} {sym} {r})"
    if op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        sym = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}[op]
        return f"({a} {sym} {b})"
    if op == "where":
        return f"tl.where({args[0]}, {args[1]}, {args[2]})"
    raise UnsupportedError(f"Triton codegen: no expression for elementwise op {op!r}")


def cast(a: str, src: dt.DType, dst: dt.DType) -> str:
    """Convert a compute-type value of ``src`` to ``dst``'s compute type."""
    if dst.is_bool:
        return f"({a} != 0)"
    if compute_type(src) is compute_type(dst):
        return a
    return f"{a}.to({TL_TYPE[compute_type(dst)]})"
