"""The language gradient rules are written in: values with operators, over a builder.

A rule never touches data. It receives ``(n, g)``: ``n`` describes the forward node
(``n[i]`` is input ``i`` as a value, ``n.out`` the output, ``n.attrs``, ``n.in_shapes``,
``n.in_dtypes``, ``n.shape``, ``n.dtype``, ``n.needs(i)``) and ``g`` is the gradient of the
output. Values are :class:`V`: arithmetic and comparisons on them record IR ops through the
builder they carry, so a rule reads like the math::

    grad=lambda n, g: g * (1 - n.out * n.out)        # tanh

Python numbers become constants of the other operand's dtype. Unary elementwise rows are
methods (``x.exp()``, ``x.rsqrt()``); any row is ``x.op(name, *others, **attrs)``.

Two builders exist (see :mod:`ir.passes.autodiff`): one appends nodes to an ``ir.Graph``
(the graph pass ``@graphc.compile`` uses), the eager engine's runs each op at once on tensors.
Both walk one ``backprop`` loop with these rules, so eager gradients, compiled gradients and
gradients of gradients agree by construction.

Elementwise rows give one rule per input (``grad=(rule_x, rule_y)``, or one function for a
unary row); :func:`per_input` turns them into a full rule that runs only the rules whose
input needs a gradient and sums each result back to its input's shape (undoing broadcasting).
"""

from __future__ import annotations

import numbers

from .. import dtypes as dt
from .core import ELEMENTWISE, OPS


class V:
    """A value inside a gradient rule (a graph node or a tensor, wrapped with its builder)."""

    __slots__ = ("b", "x")

    def __init__(self, b, x):
        self.b = b
        self.x = x

    # -- metadata -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self.x.shape)

    @property
    def dtype(self):
        return self.x.dtype

    @property
    def ndim(self) -> int:
        return len(self.x.shape)

    # -- building --------------------------------------------------------------
    def _lift(self, other):
        if isinstance(other, V):
            return other.x
        if isinstance(other, (numbers.Number, bool)):
            return self.b.scalar(other, self.x.dtype)
        return other

    def op(self, name: str, *others, **attrs) -> "V":
        """Record op ``name`` with this value first, then ``others``."""
        return V(self.b, self.b.op(name, [self.x] + [self._lift(o) for o in others], **attrs))

    def _rop(self, name, other) -> "V":
        return V(self.b, self.b.op(name, [self._lift(other), self.x]))

    def __add__(self, o):
        return self.op("add", o)

    def __radd__(self, o):
        return self._rop("add", o)

    def __sub__(self, o):
        return self.op("sub", o)

    def __rsub__(self, o):
        return self._rop("sub", o)

    def __mul__(self, o):
        return self.op("mul", o)

    def __rmul__(self, o):
        return self._rop("mul", o)

    def __truediv__(self, o):
        return self.op("div", o)

    def __rtruediv__(self, o):
        return self._rop("div", o)

    def __pow__(self, o):
        return self.op("pow", o)

    def __neg__(self):
        return self.op("neg")

    def __gt__(self, o):
        return self.op("gt", o)

    def __ge__(self, o):
        return self.op("ge", o)

    def __lt__(self, o):
        return self.op("lt", o)

    def __le__(self, o):
        return self.op("le", o)

    def __and__(self, o):
        return self.op("logical_and", o)

    def __or__(self, o):
        return self.op("logical_or", o)

    def __invert__(self):
        return self.op("logical_not")

    def eq(self, o) -> "V":
        return self.op("eq", o)

    def ne(self, o) -> "V":
        return self.op("ne", o)

    __hash__ = object.__hash__

    def __getattr__(self, name):
        # Unary elementwise rows as methods: x.exp(), x.sign(), x.rsqrt() ...
        row = OPS.get(name)
        if row is not None and row.kind == ELEMENTWISE and row.arity == 1:
            return lambda: self.op(name)
        raise AttributeError(name)

    def conj(self) -> "V":
        """The complex conjugate (the value itself when it is real)."""
        return self.op("conj") if self.x.dtype.is_complex else self

    def real(self) -> "V":
        """The real part (the value itself when it is real)."""
        return self.op("real") if self.x.dtype.is_complex else self

    def imag(self) -> "V":
        return self.op("imag")

    @property
    def mH(self) -> "V":
        """The conjugate transpose of the last two dims."""
        return self.mT.conj()

    def cast(self, dtype) -> "V":
        return self if self.x.dtype is dtype else self.op("cast", dtype=dtype)

    def float_like(self, other: "V") -> "V":
        """This (bool or integer) value as ``other``'s dtype."""
        return self.cast(other.dtype)

    def sum(self, axes, keepdim=True) -> "V":
        return self.op("sum", axes=tuple(axes), keepdim=keepdim)

    def reshape(self, shape) -> "V":
        shape = tuple(shape)
        return self if self.shape == shape else self.op("reshape", shape=shape)

    def expand(self, shape) -> "V":
        shape = tuple(shape)
        return self if self.shape == shape else self.op("expand", shape=shape)

    def permute(self, dims) -> "V":
        return self.op("permute", dims=tuple(dims))

    @property
    def mT(self) -> "V":
        dims = list(range(self.ndim))
        dims[-1], dims[-2] = dims[-2], dims[-1]
        return self.permute(dims)

    def zeros(self, shape=None) -> "V":
        """Zeros of this value's dtype, in ``shape`` (default: this value's)."""
        return zeros(self.b, self.shape if shape is None else shape, self.dtype)


def zeros(b, shape, dtype) -> V:
    return V(b, b.op("full", [], shape=tuple(shape), dtype=dtype, value=0))


def iota(like: V, shape, axis: int, dtype=None) -> V:
    """Each element's index along ``axis`` (int64 by default), in ``like``'s graph: the ramps
    one-hot selects and masks compare against."""
    return V(like.b, like.b.op("iota", [], shape=tuple(shape), dtype=dtype or dt.int64, axis=axis))


def where(cond: V, a, b) -> V:
    """``a`` where ``cond`` holds, else ``b`` (numbers take the other branch's dtype)."""
    like = a if isinstance(a, V) else b
    return cond.op("where", like._lift(a), like._lift(b))


def sum_to(g: V, shape) -> V:
    """Sum ``g`` down to ``shape`` (undo broadcasting)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1]
    if axes:
        g = g.sum(axes, keepdim=True)
    return g.reshape(shape)


def unreduce(g: V, n) -> V:
    """Broadcast a reduction's gradient (or output) back over the reduced axes of ``n``."""
    in_shape = tuple(n.in_shapes[0])
    keep = tuple(1 if i in n.attrs["axes"] else s for i, s in enumerate(in_shape))
    return g.reshape(keep).expand(in_shape)


class RuleCtx:
    """What a rule sees of the forward node: a thin face over the autodiff context."""

    __slots__ = ("ctx", "b")

    def __init__(self, ctx, b):
        self.ctx = ctx
        self.b = b

    def __getitem__(self, i: int) -> V:
        return V(self.b, self.ctx.input(i))

    @property
    def out(self) -> V:
        return V(self.b, self.ctx.output())

    @property
    def attrs(self) -> dict:
        return self.ctx.attrs

    @property
    def shape(self) -> tuple:
        return tuple(self.ctx.shape)

    @property
    def dtype(self):
        return self.ctx.dtype

    @property
    def in_shapes(self) -> list:
        return self.ctx.in_shapes

    @property
    def in_dtypes(self) -> list:
        return self.ctx.in_dtypes

    def needs(self, i: int) -> bool:
        return self.ctx.needs(i)

    def zeros(self, i: int, dtype=None) -> V:
        """Zeros shaped like input ``i`` (a zero gradient)."""
        return zeros(self.b, self.ctx.in_shapes[i], dtype or self.ctx.dtype)


ZERO = "zero"  # a per-input rule that is a zero gradient (sign, floor: PyTorch's zero grads)


def per_input(rules):
    """A full rule from one rule per input of an elementwise row (see the module docstring)."""
    if callable(rules) or rules == ZERO:
        rules = (rules,)

    def rule(n, g):
        out = []
        for i, r in enumerate(rules):
            if r is None or not n.needs(i):
                out.append(None)
            elif r == ZERO:
                out.append(n.zeros(i, g.dtype))
            else:
                out.append(sum_to(r(n, g), n.in_shapes[i]))
        return out + [None] * (len(n.in_shapes) - len(out))

    rule.per_input = rules
    return rule
