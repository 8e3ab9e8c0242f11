"""What one IR node becomes in generated numpy source: a ufunc call with ``out=``, the row's
``out=`` recipe or callable, a reduction through the combining ufunc's ``reduce`` (or
``np.vecdot``, or unrolled for short axes), a literal for a constant, a view expression.

:mod:`backends.numpy.codegen` strings these statements into kernels; every statement comes from
the node's op-table row, so adding an op adds no code here.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.graph import is_scalar_constant
from ir.ops.core import scalar_value

from . import kernels as K
from .runtime import VECDOT_MAX, sum_matrix


def _checked_args(n, args: list) -> list:
    """``args`` with an integer divisor wrapped in a zero check (rows with ``divisor``)."""
    i = n.opdef.extra.get("divisor") if n.kind == ops_table.ELEMENTWISE else None
    if i is None or not n.dtype.is_integer or 0 in tuple(n.shape):  # (an empty result divides nothing)
        return args
    src = n.inputs[i]
    if is_scalar_constant(src) and scalar_value(src) != 0:
        return args
    return args[:i] + [f"K.check_divisor({args[i]}, {n.op!r})"] + args[i + 1 :]


def emit_out(n, args: list, out: str) -> list:
    """Statements computing elementwise (or cast) node ``n`` of ``args`` into array ``out``:
    the row's ufunc with ``out=``, its ``out=`` recipe, or its callable's result copied in."""
    args = _checked_args(n, args)
    if n.kind == ops_table.CAST:
        if n.dtype.is_bool:
            return [f"np.not_equal({args[0]}, 0, out={out})"]
        if _half_cast(n):
            return [f"R.cast_into({args[0]}, {out})"]
        return [f"np.copyto({out}, {args[0]}, casting='unsafe')"]
    row = n.opdef
    if row.np_ufunc:
        return [f"np.{row.np_ufunc}({', '.join(args)}, out={out})"]
    if row.np_out:
        return [s.format(*args, out=out) for s in row.np_out]
    return [f"{out}[...] = O.{row.name}({', '.join(args)})"]


def emit_expr(n, args: list) -> str:
    """An allocating numpy expression for elementwise (or cast) node ``n`` (row-block kernels)."""
    args = _checked_args(n, args)
    if n.kind == ops_table.CAST:
        if n.dtype.is_bool:
            return f"({args[0]} != 0)"
        if _half_cast(n):
            return f"R.astype({args[0]}, np.{n.dtype.numpy_dtype.name})"
        return f"{args[0]}.astype(np.{n.dtype.numpy_dtype.name})"
    row = n.opdef
    call = f"np.{row.np_ufunc}" if row.np_ufunc else f"O.{row.name}"
    return f"{call}({', '.join(args)})"


def _half_cast(n) -> bool:
    """A float32 <-> float16 cast: numpy converts those one element at a time, the runtime's
    ``cast_into``/``astype`` (``ir.ops.nphalf``) in a few vector passes, bit for bit the same."""
    pair = {n.inputs[0].dtype.numpy_dtype.name, n.dtype.numpy_dtype.name}
    return pair == {"float32", "float16"}


def writes_in_place(n) -> bool:
    """Whether ``n``'s out= form is one ufunc call, which may write over an input it last reads."""
    return n.kind == ops_table.ELEMENTWISE and n.opdef.np_ufunc is not None


def reduce_call(n, src: str, out: str | None = None) -> str:
    """The numpy call of reduction node ``n`` over ``src`` (into ``out`` when given).

    A reduction whose result keeps its input's dtype is its combining row's ufunc ``reduce``
    (``np.add.reduce`` is what ``np.sum`` calls, without ``np.sum``'s Python wrapper)."""
    spec = n.opdef.reduce
    axes = tuple(n.attrs["axes"]) if n.inputs[0].shape else ()  # a 0-d input keeps axes == (0,)
    axis = (str(axes[0]) if axes else "None") if spec.index else repr(axes)
    extra = "".join(f", {k}=np.{np.dtype(v).name}" for k, v in K.reduce_kwargs(spec, n.inputs[0].dtype).items())
    target = f", out={out}" if out is not None else ""
    ufunc = combine_ufunc(n)
    call = f"np.{ufunc}.reduce" if ufunc is not None and len(n.inputs[0].shape) > 0 else f"np.{spec.numpy}"
    return f"{call}({src}, axis={axis}, keepdims={bool(n.attrs['keepdim'])}{target}{extra})"


# A reduction over at most this many elements per output is unrolled into combine ufunc calls:
# numpy reduces a short axis one output at a time (a sum over a size-4 axis of 16K elements
# takes ~80 µs), while three elementwise adds over strided slices take ~20 µs.
UNROLL_MAX = 8
# Sums over the last axis (rows of at least runtime.SUM_BLAS_MIN elements) go through BLAS:
# R.sum_rows, or np.vecdot of a product's operands (one pass, no product array) up to
# runtime.VECDOT_MAX elements, past which a dot's rounding error grows: longer products are
# made and summed by R.sum_rows' blocks.
_HAS_VECDOT = hasattr(np, "vecdot")  # numpy >= 2.0


def combine_ufunc(n) -> str | None:
    """The numpy ufunc that combines partial results of reduction ``n`` (``add`` for a sum), when
    reducing with it is the reduction itself: not an arg-reduction, NaN handled by the ufunc, and
    the result in the input's dtype (no wider accumulator)."""
    spec = n.opdef.reduce
    if spec.index or spec.nan != "combine" or n.dtype is not n.inputs[0].dtype or n.dtype is dt.bfloat16:
        return None
    if K.reduce_kwargs(spec, n.inputs[0].dtype):
        return None
    name = ops_table.OPS[spec.combine].np_ufunc
    return name if isinstance(getattr(np, name or "", None), np.ufunc) else None


def unrolled_reduce(n, src: str, out: str | None, name: str | None = None) -> list | None:
    """Statements reducing ``src`` by node ``n`` as elementwise combine calls over slices of the
    reduced axes (see :data:`UNROLL_MAX`), into ``out`` (or a new array ``name``); None when the
    reduction is not one the combine ufunc computes, or is too long or empty."""
    ufunc = combine_ufunc(n)
    shape = tuple(n.inputs[0].shape)
    axes = tuple(n.attrs["axes"])
    if ufunc is None or not axes or not shape:  # a 0-d input keeps axes == (0,)
        return None
    count = 1
    for a in axes:
        count *= shape[a]
    if not 2 <= count <= UNROLL_MAX:
        return None
    keep = bool(n.attrs["keepdim"])
    picks = [()]
    for a in axes:
        picks = [p + (j,) for p in picks for j in range(shape[a])]

    def piece(p):
        idx = [":"] * len(shape)
        for a, j in zip(axes, p):
            idx[a] = f"{j}:{j + 1}" if keep else str(j)
        while idx and idx[-1] == ":":
            idx.pop()
        return f"{src}[{', '.join(idx)}]"

    first, rest = picks[0], picks[1:]
    if out is None:  # new arrays (a 0-d result is a numpy scalar, which takes no out=)
        lines = [f"{name} = np.{ufunc}({piece(first)}, {piece(rest[0])})"]
        return lines + [f"{name} = np.{ufunc}({name}, {piece(p)})" for p in rest[1:]]
    lines = [f"np.{ufunc}({piece(first)}, {piece(rest[0])}, out={out})"]
    return lines + [f"np.{ufunc}({out}, {piece(p)}, out={out})" for p in rest[1:]]


def blas_sum_call(n, src: str) -> str | None:
    """A whole-array float32/float64 sum over the trailing axes of its input as ``R.sum_blas``
    (BLAS products with ones: :func:`backends.numpy.runtime.sum_rows`) where
    ``R.sum_matrix`` takes it; None for any other reduction."""
    axes = tuple(n.attrs["axes"])
    matrix = sum_matrix(tuple(n.inputs[0].shape), axes, n.dtype) if combine_ufunc(n) == "add" else None
    if matrix is None:
        return None
    return f"R.sum_blas({src}, {matrix}, {tuple(n.shape)}, {axes}, {bool(n.attrs['keepdim'])})"


def _trailing_float_sum(n) -> int:
    """How many trailing axes sum ``n`` adds up where ``R.sum_matrix`` takes it (0: none)."""
    axes = tuple(n.attrs["axes"])
    return len(axes) if combine_ufunc(n) == "add" and sum_matrix(tuple(n.inputs[0].shape), axes, n.dtype) else 0


def vecdot_reduce(n, operands, out: str | None, name: str | None = None) -> list | None:
    """``sum(a * b)`` over the last axis as ``np.vecdot(a, b)`` of ``operands`` (no product
    array). None when the reduction is not a sum of float32/float64 rows of
    ``R.SUM_BLAS_MIN`` to ``R.VECDOT_MAX`` elements."""
    if not _HAS_VECDOT or _trailing_float_sum(n) != 1 or n.inputs[0].shape[-1] > VECDOT_MAX:
        return None
    keep = bool(n.attrs["keepdim"])
    args = ", ".join(operands)
    if out is not None:
        return [f"np.vecdot({args}, out={out}[..., 0])" if keep else f"np.vecdot({args}, out={out})"]
    return [f"{name} = np.vecdot({args})" + ("[..., None]" if keep else "")]


def rows_sum_reduce(n, src: str, out: str, ones) -> list | None:
    """A float32/float64 sum over the trailing axes of a block of rows into ``out``: one
    ``np.vecdot`` per row with the constant ``ones()`` names, ``R.sum_rows`` past
    ``VECDOT_MAX`` elements (a dot's error grows with its length), ``R.sum_trailing`` over
    several axes; None for other reductions.

    Not R.sum_rows' one gemv for all rows: blocks run on several threads, and a gemv inside
    each starting BLAS's own threads made a 4096x4096 layer norm twice as slow."""
    count = _trailing_float_sum(n)
    if count == 0:
        return None
    if count > 1:
        return [f"R.sum_trailing({src}, {count}, {out})"]
    target = f"{out}[..., 0]" if n.attrs["keepdim"] else out
    if n.inputs[0].shape[-1] > VECDOT_MAX:
        return [f"R.sum_rows({src}, out={target})"]
    return [f"np.vecdot({src}, {ones()}, out={target})"]


def scalar_literal(node) -> str:
    value = node.attrs["value"]
    value = np.asarray(value).reshape(-1)[0] if isinstance(value, np.ndarray) else value
    np_name = node.dtype.numpy_dtype.name
    if node.dtype.is_bool:
        return f"np.bool_({bool(value)})"
    if node.dtype.is_floating_point:
        return f"np.{np_name}({_float_literal(float(value))})"
    if node.dtype.is_complex:
        return f"np.{np_name}({complex(value)!r})"
    return f"np.{np_name}({int(value)})"


def _float_literal(value: float) -> str:
    """Python source for a float, ``inf`` and ``nan`` included (repr gives a bare name)."""
    return repr(value) if np.isfinite(value) else f"float({str(value)!r})"


def shape_with(shape, axis, size_expr) -> str:
    parts = [str(s) for s in shape]
    if axis is not None:
        parts[axis] = size_expr
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def annotate(lines: list, n) -> list:
    """Name the IR node a statement computes (its last line holds the value)."""
    return lines[:-1] + [f"{lines[-1]}  # %{n.id}"]


_RESULT_DTYPES: dict = {}


def numpy_result_dtype(n):
    """The dtype numpy's own call for node ``n`` returns (probed once per op and dtypes)."""
    ins = tuple(i.dtype.numpy_dtype for i in n.inputs)
    key = (n.op, ins, n.dtype.name)
    if key not in _RESULT_DTYPES:
        if n.kind == ops_table.CAST:
            out = n.dtype.numpy_dtype if not n.dtype.is_bool else np.dtype(bool)
        elif n.kind == ops_table.REDUCE:
            spec = n.opdef.reduce
            kw = {} if spec.index else K.reduce_kwargs(spec, n.inputs[0].dtype)
            out = np.asarray(getattr(np, spec.numpy)(np.zeros((1,), ins[0]), axis=0, **kw)).dtype
        else:
            with np.errstate(all="ignore"):
                out = np.asarray(n.opdef.numpy(*[np.zeros((1,), d) for d in ins])).dtype
        _RESULT_DTYPES[key] = out
    return _RESULT_DTYPES[key]


def view_expr(node, src: str, shape_override=None) -> str:
    """numpy source of view node ``node`` applied to ``src`` (from the view row)."""
    shape = shape_override or "(" + ", ".join(str(s) for s in node.shape) + ("," if len(node.shape) == 1 else "") + ")"
    return node.opdef.extra["np_src"](src, node.attrs, shape)
