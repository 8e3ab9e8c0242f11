"""What a row of the op table is, the registry, and the shape/dtype rules rows share.

A primitive is declared once, as an :class:`OpDef` row that carries its whole
behaviour: shape and dtype rules (which validate and raise the errors of
:mod:`ir.errors` naming the op), its attributes, its gradient rule, the
algebraic properties simplification reads, its numpy implementation, its
Triton expression, and for reductions a :class:`ReduceSpec`. Backends
implement *kinds* generically and read rows; they never branch on op names.

Primitives are strict, like JAX's lax: elementwise inputs already share one
dtype (the frontend promotes and inserts ``cast``), reductions take explicit
non-negative axes. Composite functions (softmax, layer norm, ...) live in the
frontend, built from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from ..errors import DimError, DTypeError, DTypeNotImplementedError, ShapeError

# Kinds. Backends dispatch on these, never on a list of op names.
SOURCE = "source"  # graph inputs and constants
ELEMENTWISE = "elementwise"  # unary/binary/ternary maps, with broadcasting
CAST = "cast"
REDUCE = "reduce"
SCAN = "scan"
VIEW = "view"  # movement ops that are a strided view of their input
PAD = "pad"
MATMUL = "matmul"
INDEX = "index"  # gather/scatter along an axis
CONCAT = "concat"
CREATION = "creation"  # full, iota
RANDOM = "random"
COLLECTIVE = "collective"  # communication between processes (graphc.distributed)
LIBRARY = "library"  # a call into a numerical library (LAPACK, FFT): one `single` kernel, never fused

KINDS = (SOURCE, ELEMENTWISE, CAST, REDUCE, SCAN, VIEW, PAD, MATMUL, INDEX, CONCAT, CREATION, RANDOM, COLLECTIVE,
         LIBRARY)


@dataclass(frozen=True)
class Props:
    """Algebraic facts about an elementwise op that ``simplify`` uses instead of name lists.

    ``identity``: a value ``e`` with ``op(x, e) == x`` (on the sides in ``identity_side``:
    ``"both"``, ``"right"``), exact for every dtype the op takes. ``absorbing``: ``op(x, z) == z``
    for integer and bool dtypes (floats are excluded: ``nan * 0`` is not 0). ``involution``:
    ``op(op(x)) == x``; ``idempotent``: ``op(op(x)) == op(x)`` (unary) or ``op(x, x) == x`` (binary);
    ``noop``: ``op(x) == x`` as a value (a copy: in a functional graph it is the input itself).
    """

    commutative: bool = False
    associative: bool = False
    idempotent: bool = False
    involution: bool = False
    noop: bool = False
    identity: Any = None
    identity_side: str = "both"
    absorbing: Any = None


NO_PROPS = Props()


@dataclass(frozen=True)
class ReduceSpec:
    """How a reduction is computed, read by every backend.

    ``combine``: the elementwise row that merges two partial results (``add`` for sum,
    ``maximum`` for amax: its NaN behaviour is the reduction's). ``identity(dtype)``: the value
    partials start from (and masked lanes hold). ``empty``: whether reducing a size-0 axis is
    defined (it is for sum, not for amax). ``nan``: ``"combine"`` (a NaN does what ``combine``
    does with it) or ``"ignore"`` (NaNs count as the identity: nansum). ``acc(dtype)``: the dtype
    partials accumulate in (float16 and bfloat16 accumulate in float32). ``numpy``: the numpy
    function's name (``np.<numpy>`` is the eager call and what generated code writes).
    ``index``: an arg-reduction (argmax/argmin), whose ``better`` comparison (``"gt"``/``"lt"``)
    picks the winner; the first index wins ties, and the first NaN wins over numbers.
    """

    combine: str
    identity: Callable
    numpy: str
    empty: bool = True
    acc: Callable | None = None
    nan: str = "combine"
    index: bool = False
    better: str = ""

    def acc_dtype(self, d: dt.DType) -> dt.DType:
        return self.acc(d) if self.acc is not None else d


@dataclass(frozen=True)
class Binding:
    """How the frontend exposes a row as PyTorch API (``graphc.name``, ``Tensor.name``,
    ``Tensor.name_``, ``out=``), for the rows whose signature is plain.

    ``names``: PyTorch's name first, then aliases. ``promote``: ``"float"`` (integers and
    bool become the default float first: ``torch.exp(int_tensor)``), ``"same"`` (operands take
    their common result dtype), ``"bool"`` (operands become bool: logical ops), ``"exact"`` (two
    tensor operands must already share one dtype: ``heaviside``).
    """

    names: tuple
    promote: str = "same"
    method: bool = True
    inplace: bool = True
    out: bool = True


@dataclass(frozen=True, eq=False)
class OpDef:
    """One primitive: everything any layer needs to know about it.

    ``saves`` lists what the gradient rule reads: input indices and/or ``"out"``. Eager
    autograd keeps exactly those alive and checks their version counters when the rule reads
    them. ``grad`` is the gradient rule (see :mod:`ir.ops.grad`). ``numpy`` is the eager numpy
    implementation (for elementwise rows, a ufunc-like callable over arrays; for other kinds
    ``f(arrays, attrs, shape, dtype)``); ``np_ufunc`` names the numpy ufunc when ``numpy`` is
    one, so generated code writes into ``out=`` buffers; ``np_out`` gives statements for an
    ``out=`` form otherwise. ``triton`` is the Triton expression (a template over ``{0}``,
    ``{1}``..., a dict of templates by input category, or a function of a context), portable
    to Triton's interpreter; ``libdevice`` names the CUDA libdevice function a GPU build calls
    instead. ``ref`` is an independent float64 reference (a Python scalar function, e.g. from
    ``math``) for the conformance tests. ``strided`` (views) maps an input layout to the view's.

    ``complex``: the row takes complex inputs (rules built on :func:`same_dtype` refuse them
    otherwise, naming the op). ``complex_rule``: the gradient rule is written for complex values
    in PyTorch's convention (``grad = dL/dRe + i dL/dIm``). Other rules are written for real
    numbers; for a complex node the autodiff loop applies them as ``conj(rule(conj(g)))``, which
    is PyTorch's convention for every holomorphic op (``g * conj(f'(z))``) and for every map
    that is linear with real coefficients (views, sums, gathers). Non-holomorphic rows
    (``abs``, ``real``, ``angle``...) and rows mixing real and complex values say
    ``complex_rule=True``.
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
    grad: Callable | None = None
    props: Props = NO_PROPS
    numpy: Callable | None = None
    np_ufunc: str | None = None
    np_out: tuple | None = None
    triton: Any = None
    libdevice: str | None = None
    triton_helpers: dict = field(default_factory=dict)
    reduce: ReduceSpec | None = None
    strided: Callable | None = None
    binding: Binding | None = None
    ref: Callable | None = None
    complex: bool = False
    complex_rule: bool = False
    extra: dict = field(default_factory=dict)

    def infer(self, inputs, attrs):
        """(shape, dtype) of the output for these inputs and attributes."""
        if self.arity >= 0 and len(inputs) != self.arity:
            raise TypeError(f"{self.name}: expected {self.arity} inputs, got {len(inputs)}")
        shape = tuple(self.shape_rule(self, inputs, attrs))
        dtype = self.dtype_rule(self, inputs, attrs)
        return shape, dtype

    def __repr__(self) -> str:
        return f"<OpDef {self.name} ({self.kind})>"


OPS: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    """Add ``op`` to the table (a name may be declared once)."""
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} declared twice")
    if op.kind not in KINDS:
        raise ValueError(f"op {op.name!r}: unknown kind {op.kind!r}")
    OPS[op.name] = op
    return op


def get(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown IR op {name!r}") from None


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# ----------------------------------------------------------------------------
# queries on graph nodes that several passes and both backends ask


def is_scalar_constant(n) -> bool:
    """Whether ``n`` is a one-element ``constant`` or ``full``: backends inline it as a literal.

    Size-0 constants are arrays (they have no value to inline)."""
    return n.op in ("constant", "full") and n.numel == 1


def scalar_value(n):
    """The value of a one-element constant (possibly broadcast by views), else None."""
    while n.kind == VIEW and is_broadcast_view(n) and n.inputs[0].numel == 1:
        n = n.inputs[0]
    if not is_scalar_constant(n):
        return None
    v = n.attrs["value"]
    return np.asarray(v).reshape(-1)[0].item() if isinstance(v, np.ndarray) else v


def is_broadcast_view(n) -> bool:
    """Whether view ``n`` only broadcasts: an ``expand``, or a ``reshape`` that adds or drops
    size-1 dims. Such views may sit inside a fused kernel (they are index arithmetic)."""
    if n.op == "expand":
        return True
    if n.op == "reshape":
        return [s for s in n.inputs[0].shape if s != 1] == [s for s in n.shape if s != 1]
    return False


# ----------------------------------------------------------------------------
# shape helpers


def fmt_shape(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def prod(xs) -> int:
    n = 1
    for s in xs:
        n *= s
    return n


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
# shape and dtype rules shared by several kinds


def shape_broadcast(op, inputs, attrs):
    return broadcast_shapes(*(x.shape for x in inputs), op=op.name)


def shape_of_attr(op, inputs, attrs):
    return attrs["shape"]


def shape_same(op, inputs, attrs):
    return inputs[0].shape


def same_dtype(op, inputs):
    d0 = inputs[0].dtype
    for x in inputs[1:]:
        if x.dtype is not d0:
            raise DTypeError(f"{op.name}: inputs must share one dtype, got " + ", ".join(str(x.dtype) for x in inputs))
    if d0.is_complex and not op.complex:
        refuse_complex(op.name, d0)
    return d0


def refuse_complex(name: str, d) -> None:
    raise DTypeNotImplementedError(f"{name}: not implemented for complex dtype {d} (PyTorch defines it for real numbers only)")


def dtype_same(op, inputs, attrs):
    return same_dtype(op, inputs)


def dtype_float(op, inputs, attrs):
    d = same_dtype(op, inputs)
    if not (d.is_floating_point or d.is_complex):
        raise DTypeNotImplementedError(
            f"{op.name}: expected a floating-point{' or complex' if op.complex else ''} input, got {d}"
        )
    return d


# ops whose bool refusal PyTorch raises as a plain RuntimeError ("Negation, the `-` operator, on a
# bool tensor is not supported", "Boolean inputs not supported for relu"); the others have no bool
# kernel ("floor_vml_cpu" not implemented for 'Bool'): a NotImplementedError
_BOOL_REFUSED_AS_RUNTIME = frozenset({"neg", "relu", "sub"})


def dtype_numeric(op, inputs, attrs):
    d = same_dtype(op, inputs)
    if d.is_bool:
        cls = DTypeError if op.name in _BOOL_REFUSED_AS_RUNTIME else DTypeNotImplementedError
        raise cls(f"{op.name}: not defined for bool inputs; convert with .int() or .float()")
    return d


def dtype_integral(op, inputs, attrs):
    d = same_dtype(op, inputs)
    if d.is_floating_point or d.is_complex:
        raise DTypeNotImplementedError(f"{op.name}: expected integer or bool inputs, got {d}")
    return d


def dtype_bool_out(op, inputs, attrs):
    same_dtype(op, inputs)
    return dt.bool_


def dtype_attr(op, inputs, attrs):
    return attrs["dtype"]


def dtype_int64(op, inputs, attrs):
    return dt.int64


def dtype_first(op, inputs, attrs):
    return inputs[0].dtype
