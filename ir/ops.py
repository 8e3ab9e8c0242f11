"""The op table: every primitive of the IR, declared once.

A primitive is a row: its name, its *kind* (backends implement kinds
generically, so a new elementwise op is a row here, an expression per backend
and a gradient rule), the number of tensor inputs, the attribute names, a
shape rule and a dtype rule. Rules receive the inputs' metadata (anything with
``shape`` and ``dtype``) and the attributes, validate them and return the
output's shape or dtype; they raise the errors of :mod:`ir.errors` naming the
op, so a bad call fails where the user made it.

Primitives are strict, like JAX's lax: elementwise inputs already share one
dtype (the frontend promotes and inserts ``cast``), reductions take explicit
non-negative axes. Composite functions (softmax, layer norm, ...) live in the
frontend, built from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import dtypes as dt
from .errors import DimError, DTypeError, ShapeError

# Kinds. Backends dispatch on these, never on a list of op names.
SOURCE = "source"  # graph inputs and constants
ELEMENTWISE = "elementwise"  # unary/binary/ternary maps, with broadcasting
CAST = "cast"
REDUCE = "reduce"
SCAN = "scan"
VIEW = "view"  # movement ops that can be expressed as a strided view
PAD = "pad"
MATMUL = "matmul"
INDEX = "index"  # gather/scatter along an axis
CONCAT = "concat"
CREATION = "creation"  # full, iota
RANDOM = "random"


@dataclass(frozen=True)
class OpDef:
    """One primitive.

    ``saves`` lists what the gradient rule reads: input indices and/or
    ``"out"``. Eager autograd keeps exactly those alive, and checks their
    version counters when the rule reads them.
    """

    name: str
    kind: str
    arity: int  # number of tensor inputs; -1 for variadic (concat)
    shape_rule: Callable
    dtype_rule: Callable
    attrs: tuple = ()
    differentiable: bool = True
    saves: tuple = ()
    grad_name: str = ""
    doc: str = ""
    extra: dict = field(default_factory=dict)

    def infer(self, inputs, attrs):
        """(shape, dtype) of the output for these inputs and attributes."""
        if self.arity >= 0 and len(inputs) != self.arity:
            raise TypeError(f"{self.name}: expected {self.arity} inputs, got {len(inputs)}")
        shape = tuple(self.shape_rule(self, inputs, attrs))
        dtype = self.dtype_rule(self, inputs, attrs)
        return shape, dtype


OPS: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} declared twice")
    OPS[op.name] = op
    return op


def get(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown IR op {name!r}") from None


# ----------------------------------------------------------------------------
# Shape helpers


def fmt_shape(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def broadcast_shapes(*shapes, op: str = "broadcast") -> tuple:
    """numpy/PyTorch broadcasting of ``shapes``, or a ShapeError naming ``op``."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, size in enumerate(s):
            j = ndim - len(s) + i
            if out[j] == 1:
                out[j] = size
            elif size != 1 and size != out[j]:
                shown = " and ".join(fmt_shape(x) for x in shapes)
                raise ShapeError(
                    f"{op}: shapes {shown} cannot be broadcast: the size {out[j]} must match "
                    f"the size {size} at non-singleton dimension {j - ndim} (sizes are aligned "
                    "from the right; each pair must be equal or one of them 1)"
                )
    return tuple(out)


def check_axes(op: str, axes, ndim: int) -> None:
    for a in axes:
        if not (0 <= a < max(ndim, 1)):
            raise DimError(f"{op}: axis {a} out of range for a {ndim}-d input")


# ----------------------------------------------------------------------------
# Shape rules


def _shape_broadcast(op, inputs, attrs):
    return broadcast_shapes(*(x.shape for x in inputs), op=op.name)


def _shape_of_attr(op, inputs, attrs):
    return attrs["shape"]


def _shape_reduce(op, inputs, attrs):
    (x,) = inputs
    axes = attrs["axes"]
    check_axes(op.name, axes, len(x.shape))
    if len(x.shape) == 0:
        return ()
    for a in axes:
        if x.shape[a] == 0 and op.name in ("amax", "amin", "argmax", "argmin"):
            raise ShapeError(
                f"{op.name}: cannot reduce over axis {a} of size 0 in shape {fmt_shape(x.shape)} "
                "(the reduction has no identity)"
            )
    if attrs.get("keepdim", False):
        return tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    return tuple(s for i, s in enumerate(x.shape) if i not in axes)


def _shape_same(op, inputs, attrs):
    return inputs[0].shape


def _shape_reshape(op, inputs, attrs):
    (x,) = inputs
    shape = attrs["shape"]
    n_in, n_out = _prod(x.shape), _prod(shape)
    if n_in != n_out or any(s < 0 for s in shape):
        raise ShapeError(
            f"{op.name}: shape {fmt_shape(shape)} is invalid for an input of shape "
            f"{fmt_shape(x.shape)} ({n_in} elements)"
        )
    return shape


def _shape_permute(op, inputs, attrs):
    (x,) = inputs
    dims = attrs["dims"]
    if sorted(dims) != list(range(len(x.shape))):
        raise DimError(
            f"{op.name}: dims {tuple(dims)} are not a permutation of the {len(x.shape)} dims "
            f"of shape {fmt_shape(x.shape)}"
        )
    return tuple(x.shape[d] for d in dims)


def _shape_expand(op, inputs, attrs):
    (x,) = inputs
    shape = attrs["shape"]
    if len(shape) < len(x.shape):
        raise ShapeError(
            f"{op.name}: cannot expand shape {fmt_shape(x.shape)} to fewer dims {fmt_shape(shape)}"
        )
    lead = len(shape) - len(x.shape)
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise ShapeError(
                f"{op.name}: the expanded size {shape[lead + i]} must match the existing size "
                f"{s} at non-singleton dimension {i}; target {fmt_shape(shape)}, "
                f"input {fmt_shape(x.shape)}"
            )
    return shape


def _slice_len(start, stop, step):
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


def _shape_slice(op, inputs, attrs):
    (x,) = inputs
    out = []
    for size, start, stop, step in zip(x.shape, attrs["starts"], attrs["stops"], attrs["steps"]):
        if step == 0:
            raise ValueError(f"{op.name}: slice step cannot be zero")
        out.append(_slice_len(start, stop, step))
    return tuple(out)


def _shape_pad(op, inputs, attrs):
    (x,) = inputs
    pads = attrs["pads"]
    if len(pads) != len(x.shape):
        raise ShapeError(f"{op.name}: {len(pads)} pad pairs for a {len(x.shape)}-d input")
    out = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
    if any(s < 0 for s in out):
        raise ShapeError(f"{op.name}: padding {pads} makes a negative size from {fmt_shape(x.shape)}")
    return out


def _shape_matmul(op, inputs, attrs):
    a, b = inputs
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ShapeError(
            f"{op.name}: primitive needs 2-d or batched inputs, got {fmt_shape(a.shape)} "
            f"and {fmt_shape(b.shape)}"
        )
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"matmul: shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)} cannot be multiplied "
            f"(the last dim of the first, {a.shape[-1]}, must equal the second-to-last dim of "
            f"the second, {b.shape[-2]})"
        )
    try:
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    except ShapeError:
        raise ShapeError(
            f"matmul: the batch dims {fmt_shape(a.shape[:-2])} of {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape[:-2])} of {fmt_shape(b.shape)} cannot be broadcast (sizes are aligned "
            "from the right; each pair must be equal or one of them 1)"
        ) from None
    return batch + (a.shape[-2], b.shape[-1])


def _shape_gather(op, inputs, attrs):
    x, idx = inputs
    axis = attrs["axis"]
    if len(idx.shape) != len(x.shape):
        raise ShapeError(
            f"{op.name}: index {fmt_shape(idx.shape)} must have as many dims as the input "
            f"{fmt_shape(x.shape)}"
        )
    for d, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and si > sx:
            raise ShapeError(
                f"{op.name}: index size {si} exceeds input size {sx} at dim {d} "
                f"(index {fmt_shape(idx.shape)}, input {fmt_shape(x.shape)})"
            )
    return idx.shape


def _shape_scatter_add(op, inputs, attrs):
    x, idx, src = inputs
    if len(idx.shape) != len(x.shape) or tuple(idx.shape) != tuple(src.shape):
        raise ShapeError(
            f"{op.name}: index {fmt_shape(idx.shape)} and src {fmt_shape(src.shape)} must match "
            f"and have the dims of the input {fmt_shape(x.shape)}"
        )
    return x.shape


def _shape_index_select(op, inputs, attrs):
    x, idx = inputs
    axis = attrs["axis"]
    check_axes(op.name, (axis,), len(x.shape))
    return x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1 :]


def _shape_index_update(op, inputs, attrs):
    x, idx, src = inputs
    axis = attrs["axis"]
    check_axes(op.name, (axis,), len(x.shape))
    expect = x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1 :]
    if tuple(src.shape) != expect:
        raise ShapeError(
            f"{op.name}: values of shape {fmt_shape(src.shape)} do not fit the indexed shape "
            f"{fmt_shape(expect)}"
        )
    return x.shape


def _shape_concat(op, inputs, attrs):
    axis = attrs["axis"]
    first = inputs[0].shape
    check_axes(op.name, (axis,), len(first))
    total = 0
    for i, x in enumerate(inputs):
        s = x.shape
        if len(s) != len(first) or any(a != b for d, (a, b) in enumerate(zip(s, first)) if d != axis):
            raise ShapeError(
                f"cat: sizes of tensors must match except in dimension {axis}: tensor 0 has shape "
                f"{fmt_shape(first)}, tensor {i} has shape {fmt_shape(s)}"
            )
        total += s[axis]
    return first[:axis] + (total,) + first[axis + 1 :]


def _prod(xs):
    n = 1
    for s in xs:
        n *= s
    return n


# ----------------------------------------------------------------------------
# Dtype rules


def _same_dtype(op, inputs):
    d0 = inputs[0].dtype
    for x in inputs[1:]:
        if x.dtype is not d0:
            raise DTypeError(
                f"{op.name}: inputs must share one dtype, got "
                + ", ".join(str(x.dtype) for x in inputs)
            )
    return d0


def _dtype_same(op, inputs, attrs):
    return _same_dtype(op, inputs)


def _dtype_float(op, inputs, attrs):
    d = _same_dtype(op, inputs)
    if not d.is_floating_point:
        raise DTypeError(f"{op.name}: expected a floating-point input, got {d}")
    return d


def _dtype_numeric(op, inputs, attrs):
    d = _same_dtype(op, inputs)
    if d.is_bool:
        raise DTypeError(f"{op.name}: not defined for bool inputs; convert with .int() or .float()")
    return d


def _dtype_integral(op, inputs, attrs):
    d = _same_dtype(op, inputs)
    if d.is_floating_point:
        raise DTypeError(f"{op.name}: expected integer or bool inputs, got {d}")
    return d


def _dtype_bool_out(op, inputs, attrs):
    _same_dtype(op, inputs)
    return dt.bool_


def _dtype_where(op, inputs, attrs):
    cond, x, y = inputs
    if not cond.dtype.is_bool:
        raise DTypeError(f"where: condition must be bool, got {cond.dtype}")
    return _same_dtype(op, [x, y])


def _dtype_attr(op, inputs, attrs):
    return attrs["dtype"]


def _dtype_int64(op, inputs, attrs):
    return dt.int64


def _dtype_first(op, inputs, attrs):
    return inputs[0].dtype


def _dtype_index(op, inputs, attrs):
    idx = inputs[1]
    if not idx.dtype.is_integer:
        raise DTypeError(f"{op.name}: index must be an integer tensor, got {idx.dtype}")
    if len(inputs) == 3 and inputs[2].dtype is not inputs[0].dtype:
        raise DTypeError(
            f"{op.name}: source dtype {inputs[2].dtype} must match the input dtype {inputs[0].dtype}"
        )
    return inputs[0].dtype


def _dtype_matmul(op, inputs, attrs):
    a, b = inputs
    if a.dtype is not b.dtype:
        raise DTypeError(
            f"matmul: expected both inputs to have the same dtype, got {a.dtype} and {b.dtype}"
        )
    if a.dtype.is_bool:
        raise DTypeError("matmul: not defined for bool inputs")
    return a.dtype


# ----------------------------------------------------------------------------
# The table


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _elementwise(name, arity, dtype_rule, saves=(), differentiable=True, grad_name=None, doc=""):
    register(
        OpDef(
            name=name,
            kind=ELEMENTWISE,
            arity=arity,
            shape_rule=_shape_broadcast,
            dtype_rule=dtype_rule,
            differentiable=differentiable,
            saves=saves,
            grad_name=grad_name or f"{_camel(name)}Backward0",
            doc=doc,
            extra={"arity": arity},
        )
    )


# Sources.
register(OpDef("input", SOURCE, 0, _shape_of_attr, _dtype_attr, ("shape", "dtype", "name")))
register(OpDef("constant", SOURCE, 0, _shape_of_attr, _dtype_attr, ("shape", "dtype", "value")))

# Unary maps that keep the dtype (ints included).
for _n in ("neg", "abs", "sign", "relu", "floor", "ceil", "round", "trunc", "copy"):
    _elementwise(
        _n,
        1,
        _dtype_numeric if _n not in ("copy",) else _dtype_same,
        saves=(0,) if _n in ("abs", "relu") else (),
        # sign and the roundings are differentiable with a zero gradient, as in PyTorch.
        grad_name={"copy": "CloneBackward0"}.get(_n),
    )
# Unary maps defined on floats only (the frontend casts integers to float first).
_UNARY_FLOAT_SAVES = {
    "exp": ("out",),
    "exp2": ("out",),
    "log": (0,),
    "log2": (0,),
    "sqrt": ("out",),
    "rsqrt": ("out",),
    "sin": (0,),
    "cos": (0,),
    "tan": ("out",),
    "tanh": ("out",),
    "sigmoid": ("out",),
    "erf": (0,),
    "log1p": (0,),
    "expm1": ("out",),
    "reciprocal": ("out",),
    "asin": (0,),
    "acos": (0,),
    "atan": (0,),
    "sinh": (0,),
    "cosh": (0,),
}
for _n, _s in _UNARY_FLOAT_SAVES.items():
    _elementwise(_n, 1, _dtype_float, saves=_s)
for _n in ("isnan", "isinf", "isfinite"):
    _elementwise(_n, 1, _dtype_bool_out, differentiable=False)
_elementwise("logical_not", 1, _dtype_bool_out, differentiable=False)
_elementwise("bitwise_not", 1, _dtype_integral, differentiable=False)

# Binary maps.
_elementwise("add", 2, _dtype_same)
_elementwise("sub", 2, _dtype_same)
_elementwise("mul", 2, _dtype_same, saves=(0, 1))
_elementwise("div", 2, _dtype_float, saves=(0, 1))
_elementwise("pow", 2, _dtype_numeric, saves=(0, 1, "out"))
_elementwise("maximum", 2, _dtype_same, saves=(0, 1))
_elementwise("minimum", 2, _dtype_same, saves=(0, 1))
_elementwise("atan2", 2, _dtype_float, saves=(0, 1))
_elementwise("floor_divide", 2, _dtype_numeric, differentiable=False)
_elementwise("remainder", 2, _dtype_numeric, saves=(0, 1))
for _n in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"):
    _elementwise(_n, 2, _dtype_bool_out, differentiable=False)
for _n in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    _elementwise(_n, 2, _dtype_integral, differentiable=False)

# Ternary.
_elementwise("where", 3, _dtype_where, saves=(0,))

register(
    OpDef(
        "cast",
        CAST,
        1,
        _shape_same,
        _dtype_attr,
        ("dtype",),
        grad_name="ToCopyBackward0",
        doc="Convert to attrs['dtype'] (float to int truncates toward zero, as in PyTorch).",
    )
)

# Reductions over attrs['axes'] (sorted, non-negative), keeping dims when attrs['keepdim'].
for _n, _dr, _diff, _saves in (
    ("sum", _dtype_numeric, True, ()),
    ("prod", _dtype_numeric, True, (0, "out")),
    ("amax", _dtype_numeric, True, (0, "out")),
    ("amin", _dtype_numeric, True, (0, "out")),
    ("all", _dtype_bool_out, False, ()),
    ("any", _dtype_bool_out, False, ()),
):
    register(
        OpDef(
            _n,
            REDUCE,
            1,
            _shape_reduce,
            _dr,
            ("axes", "keepdim"),
            differentiable=_diff,
            saves=_saves,
            grad_name=f"{_camel(_n)}Backward0" if _n != "sum" else "SumBackward1",
        )
    )
for _n in ("argmax", "argmin"):
    register(
        OpDef(_n, REDUCE, 1, _shape_reduce, _dtype_int64, ("axes", "keepdim"), differentiable=False)
    )

register(
    OpDef(
        "cumsum", SCAN, 1, _shape_same, _dtype_numeric, ("axis",), grad_name="CumsumBackward0"
    )
)

# Views: each is a strided view of its input (flip uses negative strides).
register(OpDef("reshape", VIEW, 1, _shape_reshape, _dtype_first, ("shape",), grad_name="ViewBackward0"))
register(OpDef("permute", VIEW, 1, _shape_permute, _dtype_first, ("dims",), grad_name="PermuteBackward0"))
register(OpDef("expand", VIEW, 1, _shape_expand, _dtype_first, ("shape",), grad_name="ExpandBackward0"))
register(
    OpDef(
        "slice",
        VIEW,
        1,
        _shape_slice,
        _dtype_first,
        ("starts", "stops", "steps"),
        grad_name="SliceBackward0",
        doc="Per dim: start, stop, step already clipped to the input (step may be negative).",
    )
)
register(OpDef("pad", PAD, 1, _shape_pad, _dtype_first, ("pads", "value"), grad_name="ConstantPadNdBackward0"))

register(OpDef("matmul", MATMUL, 2, _shape_matmul, _dtype_matmul, saves=(0, 1), grad_name="MmBackward0"))

register(OpDef("gather", INDEX, 2, _shape_gather, _dtype_index, ("axis",), saves=(1,), grad_name="GatherBackward0"))
register(
    OpDef("scatter_add", INDEX, 3, _shape_scatter_add, _dtype_index, ("axis",), saves=(1,), grad_name="ScatterAddBackward0")
)
register(
    OpDef(
        "index_select",
        INDEX,
        2,
        _shape_index_select,
        _dtype_index,
        ("axis",),
        saves=(1,),
        grad_name="IndexBackward0",
        doc="x.shape[:axis] + idx.shape + x.shape[axis+1:]; negative indices wrap.",
    )
)
register(
    OpDef(
        "index_add",
        INDEX,
        3,
        _shape_index_update,
        _dtype_index,
        ("axis",),
        saves=(1,),
        grad_name="IndexAddBackward0",
        doc="x with src added at idx along axis (repeated indices accumulate).",
    )
)
register(
    OpDef(
        "index_copy",
        INDEX,
        3,
        _shape_index_update,
        _dtype_index,
        ("axis",),
        saves=(1,),
        grad_name="IndexPutBackward0",
        doc="x with src written at idx along axis (x[..., idx, ...] = src).",
    )
)
register(OpDef("concat", CONCAT, -1, _shape_concat, _dtype_same, ("axis",), grad_name="CatBackward0"))

register(OpDef("full", CREATION, 0, _shape_of_attr, _dtype_attr, ("shape", "dtype", "value"), differentiable=False))
register(
    OpDef(
        "iota",
        CREATION,
        0,
        _shape_of_attr,
        _dtype_attr,
        ("shape", "dtype", "axis"),
        differentiable=False,
        doc="Each element is its index along attrs['axis'].",
    )
)
register(
    OpDef(
        "random_uniform",
        RANDOM,
        1,
        _shape_of_attr,
        _dtype_attr,
        ("shape", "dtype"),
        differentiable=False,
        doc="Uniform [0, 1) numbers; input 0 is the int64 seed, so each call can draw afresh.",
    )
)
register(
    OpDef(
        "random_normal",
        RANDOM,
        1,
        _shape_of_attr,
        _dtype_attr,
        ("shape", "dtype"),
        differentiable=False,
        doc="Standard normal numbers; input 0 is the int64 seed.",
    )
)
