"""Triton expressions for the IR's elementwise ops, and the helper functions some need.

Values inside a generated kernel are held in their *compute type*: float16 and
bfloat16 compute in float32 (and are rounded back to their own precision after
every op, so a fused chain rounds where eager execution would), every other
dtype in itself. Bool values are ``tl.int1``; bool buffers are bytes.

Each op's expression comes from its row in the op table (``OpDef.triton``). Ops
without a ``tl`` primitive call a small ``@triton.jit`` helper (the rows'
formulas, :mod:`ir.ops.triton_math`) pasted into the kernel's source; a GPU
build calls CUDA's libdevice instead wherever the row names a libdevice
function (``tanh``, ``pow``, ``atan2``, ``rint``...), since Triton's
interpreter, which runs the tests without a GPU, cannot call libdevice.
"""

from __future__ import annotations

import math
import re

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.ops import triton_math

from . import _env

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
# helpers: the rows' formulas (ir.ops.triton_math), plus the reduction combine


_SOURCES: dict[str, str] = dict(triton_math.HELPERS)

# Helpers that take a LIBDEVICE constexpr (none: a GPU build calls libdevice directly instead).
LIBDEVICE_HELPERS: set = set()

_CALL = re.compile(r"\b(_[a-z0-9_]+)\(")


def helpers_called(text: str) -> list:
    """The helpers ``text`` (an expression or a helper's source) calls."""
    return [h for h in dict.fromkeys(_CALL.findall(text)) if h in _SOURCES]


# name -> (source, helpers it calls)
HELPERS: dict[str, tuple] = {
    name: (src, tuple(h for h in helpers_called(src.split("\n", 2)[-1]) if h != name)) for name, src in _SOURCES.items()
}


def _register(name: str, source: str) -> None:
    _SOURCES[name] = source
    HELPERS[name] = (source, tuple(h for h in helpers_called(source.split("\n", 2)[-1]) if h != name))


def combine_helper(row: str, acc: dt.DType) -> str:
    """The name of a ``@triton.jit`` function merging two ``acc`` partials with elementwise
    ``row`` (a reduction spec's combine), registered as a helper on first use."""
    name = f"_combine_{row}_{acc.short}"
    if name not in HELPERS:
        expr = elementwise(row, ["a", "b"], [acc, acc], acc, lambda h: None)
        out = ops_table.OPS[row].dtype_rule(ops_table.OPS[row], [_Arg(acc), _Arg(acc)], {})
        if out is not acc:  # a bool result (logical and/or) goes back into the int32 partials
            expr = f"({expr}).to({tl_type(acc)})"
        _register(name, f"@triton.jit\ndef {name}(a, b):\n    return {expr}")
    return name


class _Arg:
    def __init__(self, d):
        self.shape, self.dtype = (), d


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


def use_libdevice() -> bool:
    """Whether generated kernels call CUDA's libdevice (a GPU build) or the rows' formulas
    (Triton's interpreter, which cannot call libdevice). ``CONFIG["libdevice"]`` overrides."""
    forced = CONFIG.get("libdevice")
    return (not _env.interpreting()) if forced is None else bool(forced)


CONFIG: dict = {"libdevice": None}


# ----------------------------------------------------------------------------
# elementwise ops: the row's expression


class ExprContext:
    """What a row's Triton expression function sees (see :mod:`ir.ops.elementwise`)."""

    def __init__(self, args, in_dtypes, out, scalar_of):
        self.args = list(args)
        self.in_dtypes = list(in_dtypes)
        self.out = out
        x = in_dtypes[0] if in_dtypes else out
        self.ct = compute_type(x)
        self.fl = x.is_floating_point
        self.f32 = self.ct is dt.float32
        self.is_bool = x.is_bool
        self._scalar_of = scalar_of

    def scalar(self, i):
        return self._scalar_of(i) if self._scalar_of else None

    def lit(self, value) -> str:
        return literal(value, self.ct)


def _pick(template, t: ExprContext):
    if isinstance(template, dict):
        if t.is_bool and "bool" in template:
            return template["bool"]
        if t.fl and t.f32 and "float32" in template:
            return template["float32"]
        if t.fl and "float" in template:
            return template["float"]
        if not t.fl and not t.is_bool and "int" in template:
            return template["int"]
        return template["*"]
    return template


def elementwise(op: str, args: list, in_dtypes: list, out: dt.DType, use_helper, scalar_of=None) -> str:
    """A Triton expression for elementwise ``op`` over compute-type values ``args``, from its row.

    ``use_helper(name)`` registers a helper the expression calls; ``scalar_of(i)`` gives
    input ``i``'s value when it is a scalar constant (rows specialize on it, e.g. ``x ** 2``).
    """
    row = ops_table.OPS[op]
    t = ExprContext(args, in_dtypes, out, scalar_of)
    if row.libdevice and t.fl and use_libdevice():
        return f"libdevice.{row.libdevice}({', '.join(args)})"
    template = _pick(row.triton, t)
    if template is None:
        raise UnsupportedError(f"Triton codegen: the op {op!r} has no Triton expression in its row (ir/ops)")
    if callable(template):
        template = template(t)
        if isinstance(template, str) and "{" not in template:
            expr = template
        else:
            expr = template.format(*args, zero=t.lit(0), one=t.lit(1), ct=tl_type(t.ct))
    else:
        expr = template.format(*args, zero="0.0" if t.fl else "0", one=t.lit(1), ct=tl_type(t.ct))
    called = helpers_called(expr)
    if scalar_of is not None and (called or any(tok in expr for tok in _NEEDS_TENSORS)):
        blocks = [a for i, a in enumerate(args) if t.scalar(i) is None]
        if len(blocks) < len(args):  # every operand a tensor of the block's shape (see _as_block)
            like = blocks[0] if blocks else None
            tensors = [_as_block(a, d, like) if t.scalar(i) is not None else a for i, (a, d) in enumerate(zip(args, in_dtypes))]
            return elementwise(op, tensors, in_dtypes, out, use_helper)
    for h in called:
        use_helper(h)
    return expr


# Expression text that needs tensor operands: a method call on one, and the bitwise operators
# (Triton's interpreter cannot combine a 0-d tensor with a block through them). Helper calls
# need them too: a helper's body calls tl functions on its arguments.
_NEEDS_TENSORS = (".to(", "&", "|", "^")


def _as_block(arg: str, d: dt.DType, like: str | None) -> str:
    """Scalar constant ``arg`` as a tensor of ``d``'s compute type shaped as the block value
    ``like``. A float32 or int32 literal is bare text, a constexpr that tl functions inside a
    helper reject; and Triton's interpreter cannot AND or OR a 0-d tensor with a block."""
    value = arg if arg.startswith("tl.") else f"tl.full([], {arg}, {TL_TYPE[compute_type(d)]})"
    return value if like is None else f"tl.broadcast_to({value}, {like}.shape)"


def cast(a: str, src: dt.DType, dst: dt.DType) -> str:
    """Convert a compute-type value of ``src`` to ``dst``'s compute type."""
    if dst.is_bool:
        return f"({a} != 0)"
    if compute_type(src) is compute_type(dst):
        return a
    return f"{a}.to({TL_TYPE[compute_type(dst)]})"
