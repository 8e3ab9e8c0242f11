"""Reverse-mode autodiff: one gradient rule per primitive, written with IR ops.

The rules never touch data. They call a *builder* — ``b.op(name, inputs,
**attrs)`` and ``b.scalar(value, dtype)`` — whose values expose ``shape`` and
``dtype``. Two builders exist:

* :class:`GraphBuilder` appends nodes to an :class:`ir.Graph`; this is the
  graph pass :func:`grad_graph` that ``@graphc.compile`` uses;
* graphc's eager engine passes a builder whose ``op`` runs the op at once on
  tensors (and records it again when ``create_graph=True``).

Both walk the same :func:`backprop` loop with the same rules, so eager
gradients, compiled gradients and gradients of gradients agree by
construction, and the backward graph is made of ordinary primitives that fuse
and differentiate again.

A rule receives ``(b, n, g)``: ``n`` describes the forward node (``attrs``,
``shape``, ``dtype``, ``in_shapes``, ``in_dtypes``, ``input(i)``, ``output()``,
``needs(i)``) and ``g`` the gradient of its output. It returns one gradient
(or ``None``) per input, each of the input's shape. Rules read saved values
only for inputs whose gradient is needed, so eager mode keeps PyTorch's
"modified by an inplace operation" check precise.
"""

from __future__ import annotations

import math
from typing import Callable

from .. import ops as ops_table
from ..errors import AutogradError

GRAD_RULES: dict[str, Callable] = {}


def rule(*names):
    def deco(fn):
        for n in names:
            GRAD_RULES[n] = fn
        return fn

    return deco


# ----------------------------------------------------------------------------
# helpers written with builder ops


def _op(b, name, *inputs, **attrs):
    return b.op(name, list(inputs), **attrs)


def _scalar(b, value, like):
    return b.scalar(value, like.dtype)


def _zeros(b, shape, dtype):
    return b.op("full", [], shape=tuple(shape), dtype=dtype, value=0)


def sum_to(b, g, shape):
    """Sum ``g`` down to ``shape`` (undo broadcasting)."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = len(g.shape) - len(shape)
    axes = list(range(lead))
    axes += [lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1]
    if axes:
        g = _op(b, "sum", g, axes=tuple(axes), keepdim=True)
    if tuple(g.shape) != shape:
        g = _op(b, "reshape", g, shape=shape)
    return g


def _unreduce(b, g, n):
    """Broadcast a reduction's gradient back over the reduced axes."""
    in_shape = n.in_shapes[0]
    keep_shape = tuple(1 if i in n.attrs["axes"] else s for i, s in enumerate(in_shape))
    if tuple(g.shape) != keep_shape:
        g = _op(b, "reshape", g, shape=keep_shape)
    if keep_shape != tuple(in_shape):
        g = _op(b, "expand", g, shape=tuple(in_shape))
    return g


def _full_slice(shape):
    return [0] * len(shape), list(shape), [1] * len(shape)


def _flip(b, x, axis):
    starts, stops, steps = _full_slice(x.shape)
    starts[axis], stops[axis], steps[axis] = x.shape[axis] - 1, -1, -1
    return _op(b, "slice", x, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def _pad_axis(b, x, axis, lo, hi):
    if lo == 0 and hi == 0:
        return x
    pads = [(0, 0)] * len(x.shape)
    pads[axis] = (lo, hi)
    return _op(b, "pad", x, pads=tuple(pads), value=0)


# ----------------------------------------------------------------------------
# elementwise


@rule("add")
def _add(b, n, g):
    return [sum_to(b, g, n.in_shapes[0]) if n.needs(0) else None, sum_to(b, g, n.in_shapes[1]) if n.needs(1) else None]


@rule("sub")
def _sub(b, n, g):
    return [
        sum_to(b, g, n.in_shapes[0]) if n.needs(0) else None,
        sum_to(b, _op(b, "neg", g), n.in_shapes[1]) if n.needs(1) else None,
    ]


@rule("mul")
def _mul(b, n, g):
    return [
        sum_to(b, _op(b, "mul", g, n.input(1)), n.in_shapes[0]) if n.needs(0) else None,
        sum_to(b, _op(b, "mul", g, n.input(0)), n.in_shapes[1]) if n.needs(1) else None,
    ]


@rule("div")
def _div(b, n, g):
    y = n.input(1)
    gx = _op(b, "div", g, y)
    out = [sum_to(b, gx, n.in_shapes[0]) if n.needs(0) else None, None]
    if n.needs(1):
        gy = _op(b, "neg", _op(b, "div", _op(b, "mul", gx, n.input(0)), y))
        out[1] = sum_to(b, gy, n.in_shapes[1])
    return out


@rule("pow")
def _pow(b, n, g):
    x, y = n.input(0), n.input(1)
    out = [None, None]
    if n.needs(0):
        ym1 = _op(b, "sub", y, _scalar(b, 1, y))
        d = _op(b, "mul", y, _op(b, "pow", x, ym1))
        # 0 ** 0 has derivative 0 in x (PyTorch masks y == 0).
        d = _op(b, "where", _op(b, "eq", y, _scalar(b, 0, y)), _scalar(b, 0, d), d)
        out[0] = sum_to(b, _op(b, "mul", g, d), n.in_shapes[0])
    if n.needs(1):
        d = _op(b, "mul", n.output(), _op(b, "log", x))
        zero_x = _op(b, "logical_and", _op(b, "eq", x, _scalar(b, 0, x)), _op(b, "ge", y, _scalar(b, 0, y)))
        d = _op(b, "where", zero_x, _scalar(b, 0, d), d)
        out[1] = sum_to(b, _op(b, "mul", g, d), n.in_shapes[1])
    return out


def _minmax(b, n, g, cmp):
    x, y = n.input(0), n.input(1)
    half = _op(b, "mul", g, _scalar(b, 0.5, g))
    zero = _scalar(b, 0, g)
    tie = _op(b, "eq", x, y)
    x_wins = _op(b, cmp, x, y)
    gx = _op(b, "where", tie, half, _op(b, "where", x_wins, g, zero))
    gy = _op(b, "where", tie, half, _op(b, "where", x_wins, zero, g))
    return [sum_to(b, gx, n.in_shapes[0]) if n.needs(0) else None, sum_to(b, gy, n.in_shapes[1]) if n.needs(1) else None]


@rule("maximum")
def _maximum(b, n, g):
    return _minmax(b, n, g, "gt")


@rule("minimum")
def _minimum(b, n, g):
    return _minmax(b, n, g, "lt")


@rule("atan2")
def _atan2(b, n, g):
    y, x = n.input(0), n.input(1)
    denom = _op(b, "add", _op(b, "mul", x, x), _op(b, "mul", y, y))
    gd = _op(b, "div", g, denom)
    return [
        sum_to(b, _op(b, "mul", gd, x), n.in_shapes[0]) if n.needs(0) else None,
        sum_to(b, _op(b, "neg", _op(b, "mul", gd, y)), n.in_shapes[1]) if n.needs(1) else None,
    ]


@rule("remainder")
def _remainder(b, n, g):
    out = [sum_to(b, g, n.in_shapes[0]) if n.needs(0) else None, None]
    if n.needs(1):
        q = _op(b, "floor_divide", n.input(0), n.input(1))
        out[1] = sum_to(b, _op(b, "neg", _op(b, "mul", g, q)), n.in_shapes[1])
    return out


@rule("where")
def _where(b, n, g):
    c = n.input(0)
    zero = _scalar(b, 0, g)
    return [
        None,
        sum_to(b, _op(b, "where", c, g, zero), n.in_shapes[1]) if n.needs(1) else None,
        sum_to(b, _op(b, "where", c, zero, g), n.in_shapes[2]) if n.needs(2) else None,
    ]


def _unary(fn):
    """A rule for a one-input map whose derivative is ``fn(b, n, g)``."""

    def r(b, n, g):
        return [fn(b, n, g) if n.needs(0) else None]

    return r


GRAD_RULES.update(
    {
        "neg": _unary(lambda b, n, g: _op(b, "neg", g)),
        # Piecewise-constant maps: zero gradient (PyTorch's SignBackward0, FloorBackward0, ...).
        **{
            name: _unary(lambda b, n, g: _zeros(b, n.in_shapes[0], g.dtype))
            for name in ("sign", "floor", "ceil", "round", "trunc")
        },
        "copy": _unary(lambda b, n, g: g),
        "abs": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "sign", n.input(0)))),
        "relu": _unary(
            lambda b, n, g: _op(b, "where", _op(b, "gt", n.input(0), _scalar(b, 0, g)), g, _scalar(b, 0, g))
        ),
        "exp": _unary(lambda b, n, g: _op(b, "mul", g, n.output())),
        "exp2": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "mul", n.output(), _scalar(b, math.log(2.0), g)))),
        "log": _unary(lambda b, n, g: _op(b, "div", g, n.input(0))),
        "log2": _unary(lambda b, n, g: _op(b, "div", g, _op(b, "mul", n.input(0), _scalar(b, math.log(2.0), g)))),
        "sqrt": _unary(lambda b, n, g: _op(b, "div", g, _op(b, "mul", n.output(), _scalar(b, 2, g)))),
        "rsqrt": _unary(
            lambda b, n, g: _op(
                b, "mul", g, _op(b, "mul", _scalar(b, -0.5, g), _op(b, "pow", n.output(), _scalar(b, 3, g)))
            )
        ),
        "sin": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "cos", n.input(0)))),
        "cos": _unary(lambda b, n, g: _op(b, "neg", _op(b, "mul", g, _op(b, "sin", n.input(0))))),
        "tan": _unary(
            lambda b, n, g: _op(b, "mul", g, _op(b, "add", _scalar(b, 1, g), _op(b, "mul", n.output(), n.output())))
        ),
        "tanh": _unary(
            lambda b, n, g: _op(b, "mul", g, _op(b, "sub", _scalar(b, 1, g), _op(b, "mul", n.output(), n.output())))
        ),
        "sigmoid": _unary(
            lambda b, n, g: _op(b, "mul", g, _op(b, "mul", n.output(), _op(b, "sub", _scalar(b, 1, g), n.output())))
        ),
        "erf": _unary(
            lambda b, n, g: _op(
                b,
                "mul",
                g,
                _op(
                    b,
                    "mul",
                    _scalar(b, 2.0 / math.sqrt(math.pi), g),
                    _op(b, "exp", _op(b, "neg", _op(b, "mul", n.input(0), n.input(0)))),
                ),
            )
        ),
        "log1p": _unary(lambda b, n, g: _op(b, "div", g, _op(b, "add", n.input(0), _scalar(b, 1, g)))),
        "expm1": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "add", n.output(), _scalar(b, 1, g)))),
        "reciprocal": _unary(
            lambda b, n, g: _op(b, "neg", _op(b, "mul", g, _op(b, "mul", n.output(), n.output())))
        ),
        "asin": _unary(
            lambda b, n, g: _op(
                b, "mul", g, _op(b, "rsqrt", _op(b, "sub", _scalar(b, 1, g), _op(b, "mul", n.input(0), n.input(0))))
            )
        ),
        "acos": _unary(
            lambda b, n, g: _op(
                b,
                "neg",
                _op(b, "mul", g, _op(b, "rsqrt", _op(b, "sub", _scalar(b, 1, g), _op(b, "mul", n.input(0), n.input(0))))),
            )
        ),
        "atan": _unary(
            lambda b, n, g: _op(b, "div", g, _op(b, "add", _scalar(b, 1, g), _op(b, "mul", n.input(0), n.input(0))))
        ),
        "sinh": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "cosh", n.input(0)))),
        "cosh": _unary(lambda b, n, g: _op(b, "mul", g, _op(b, "sinh", n.input(0)))),
    }
)


@rule("cast")
def _cast(b, n, g):
    if not n.needs(0):
        return [None]
    src = n.in_dtypes[0]
    return [_op(b, "cast", g, dtype=src) if g.dtype is not src else g]


# ----------------------------------------------------------------------------
# reductions and scans


@rule("sum")
def _sum(b, n, g):
    return [_unreduce(b, g, n) if n.needs(0) else None]


@rule("amax", "amin")
def _amax(b, n, g):
    if not n.needs(0):
        return [None]
    x = n.input(0)
    out = _unreduce(b, n.output(), n)
    mask = _op(b, "cast", _op(b, "eq", x, out), dtype=g.dtype)
    count = _unreduce(b, _op(b, "sum", mask, axes=n.attrs["axes"], keepdim=True), n)
    return [_op(b, "div", _op(b, "mul", _unreduce(b, g, n), mask), count)]


@rule("prod")
def _prod(b, n, g):
    if not n.needs(0):
        return [None]
    x = n.input(0)
    axes = n.attrs["axes"]
    zero, one = _scalar(b, 0, x), _scalar(b, 1, x)
    is_zero = _op(b, "eq", x, zero)
    x_safe = _op(b, "where", is_zero, one, x)
    # Where x != 0 the product of the others is out / x. Where x == 0 it is the
    # product of the non-zero others if x is the slice's only zero, else 0.
    zeros_in_slice = _unreduce(b, _op(b, "sum", _op(b, "cast", is_zero, dtype=x.dtype), axes=axes, keepdim=True), n)
    prod_nonzero = _unreduce(b, _op(b, "prod", x_safe, axes=axes, keepdim=True), n)
    at_zero = _op(b, "where", _op(b, "eq", zeros_in_slice, one), prod_nonzero, zero)
    others = _op(b, "where", is_zero, at_zero, _op(b, "div", _unreduce(b, n.output(), n), x_safe))
    return [_op(b, "mul", _unreduce(b, g, n), others)]


@rule("cumsum")
def _cumsum(b, n, g):
    if not n.needs(0):
        return [None]
    axis = n.attrs["axis"]
    if len(g.shape) == 0:
        return [g]
    return [_flip(b, _op(b, "cumsum", _flip(b, g, axis), axis=axis), axis)]


# ----------------------------------------------------------------------------
# views and movement


@rule("reshape")
def _reshape(b, n, g):
    return [_op(b, "reshape", g, shape=tuple(n.in_shapes[0])) if n.needs(0) else None]


@rule("permute")
def _permute(b, n, g):
    dims = n.attrs["dims"]
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return [_op(b, "permute", g, dims=tuple(inverse)) if n.needs(0) else None]


@rule("expand")
def _expand(b, n, g):
    return [sum_to(b, g, n.in_shapes[0]) if n.needs(0) else None]


@rule("slice")
def _slice(b, n, g):
    if not n.needs(0):
        return [None]
    in_shape = n.in_shapes[0]
    for axis, (size, start, step) in enumerate(zip(in_shape, n.attrs["starts"], n.attrs["steps"])):
        length = g.shape[axis]
        if start == 0 and step == 1 and length == size:
            continue
        if length == 0:
            return [_zeros(b, in_shape, g.dtype)]
        if step < 0:
            g = _flip(b, g, axis)
            start, step = start + step * (length - 1), -step
        if step > 1:
            # Interleave zeros: [L] -> [L, 1] -> pad to [L, step] -> [L*step] -> first (L-1)*step+1.
            shape = list(g.shape)
            g = _op(b, "reshape", g, shape=tuple(shape[: axis + 1] + [1] + shape[axis + 1 :]))
            g = _pad_axis(b, g, axis + 1, 0, step - 1)
            g = _op(b, "reshape", g, shape=tuple(shape[:axis] + [length * step] + shape[axis + 1 :]))
            g = _pad_axis(b, g, axis, 0, -(step - 1))
        span = (length - 1) * step + 1
        g = _pad_axis(b, g, axis, start, size - start - span)
    return [g]


@rule("pad")
def _pad(b, n, g):
    if not n.needs(0):
        return [None]
    return [_op(b, "pad", g, pads=tuple((-lo, -hi) for lo, hi in n.attrs["pads"]), value=0)]


@rule("concat")
def _concat(b, n, g):
    axis = n.attrs["axis"]
    out, offset = [], 0
    for i, shape in enumerate(n.in_shapes):
        if n.needs(i):
            starts, stops, steps = _full_slice(g.shape)
            starts[axis], stops[axis] = offset, offset + shape[axis]
            out.append(_op(b, "slice", g, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps)))
        else:
            out.append(None)
        offset += shape[axis]
    return out


# ----------------------------------------------------------------------------
# matmul and indexing


def _mT(b, x):
    dims = list(range(len(x.shape)))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    return _op(b, "permute", x, dims=tuple(dims))


@rule("matmul")
def _matmul(b, n, g):
    return [
        sum_to(b, _op(b, "matmul", g, _mT(b, n.input(1))), n.in_shapes[0]) if n.needs(0) else None,
        sum_to(b, _op(b, "matmul", _mT(b, n.input(0)), g), n.in_shapes[1]) if n.needs(1) else None,
    ]


@rule("gather")
def _gather(b, n, g):
    if not n.needs(0):
        return [None, None]
    zeros = _zeros(b, n.in_shapes[0], g.dtype)
    return [_op(b, "scatter_add", zeros, n.input(1), g, axis=n.attrs["axis"]), None]


@rule("scatter_add")
def _scatter_add(b, n, g):
    return [
        g if n.needs(0) else None,
        None,
        _op(b, "gather", g, n.input(1), axis=n.attrs["axis"]) if n.needs(2) else None,
    ]


@rule("index_select")
def _index_select(b, n, g):
    if not n.needs(0):
        return [None, None]
    zeros = _zeros(b, n.in_shapes[0], g.dtype)
    return [_op(b, "index_add", zeros, n.input(1), g, axis=n.attrs["axis"]), None]


@rule("index_add")
def _index_add(b, n, g):
    return [
        g if n.needs(0) else None,
        None,
        _op(b, "index_select", g, n.input(1), axis=n.attrs["axis"]) if n.needs(2) else None,
    ]


@rule("index_copy")
def _index_copy(b, n, g):
    axis = n.attrs["axis"]
    out = [None, None, None]
    if n.needs(0):
        out[0] = _op(b, "index_copy", g, n.input(1), _zeros(b, n.in_shapes[2], g.dtype), axis=axis)
    if n.needs(2):
        out[2] = _op(b, "index_select", g, n.input(1), axis=axis)
    return out


# ----------------------------------------------------------------------------
# the shared reverse loop


def missing_rule(op: str):
    return AutogradError(
        f"autodiff: the primitive {op!r} has no gradient rule; it is marked differentiable "
        "in ir/ops.py but ir/passes/autodiff.py does not define its rule"
    )


def backprop(order, seeds, builder, ctx_of, parents_of, on_grad=None):
    """The reverse sweep shared by the graph pass and the eager engine.

    ``order``: vertices, outputs first (reverse topological order).
    ``seeds``: {vertex: gradient}. ``ctx_of(v)``: the rule context of ``v``,
    or None for a vertex without a rule (a leaf). ``parents_of(v)``: one
    vertex (or None) per input of ``v``. ``on_grad(v, g)`` sees each vertex's
    complete gradient before it flows on, and may replace it (hooks).
    Returns the gradients of the vertices that have no context (leaves).
    """
    grads = dict(seeds)
    leaves = {}
    for v in order:
        g = grads.pop(v, None)
        if g is None:
            continue
        if on_grad is not None:
            g = on_grad(v, g)
            if g is None:
                continue
        ctx = ctx_of(v)
        if ctx is None:
            leaves[v] = g
            continue
        # A context may carry its own vector-Jacobian product (an opaque compiled call);
        # every primitive uses the rule table.
        fn = getattr(ctx, "custom_vjp", None) or GRAD_RULES.get(ctx.op)
        if fn is None:
            raise missing_rule(ctx.op)
        in_grads = fn(builder, ctx, g)
        for parent, gi in zip(parents_of(v), in_grads):
            if parent is None or gi is None:
                continue
            prev = grads.get(parent)
            grads[parent] = gi if prev is None else builder.op("add", [prev, gi])
    return leaves


# ----------------------------------------------------------------------------
# the graph pass


class GraphBuilder:
    """Builds backward nodes into an ``ir.Graph``."""

    def __init__(self, graph):
        self.graph = graph

    def op(self, name, inputs, **attrs):
        return self.graph.add(name, inputs, **attrs)

    def scalar(self, value, dtype):
        return self.graph.add_constant(value, dtype)


class _NodeCtx:
    """Rule context for a node of a graph."""

    __slots__ = ("node", "op", "attrs", "shape", "dtype", "in_shapes", "in_dtypes", "_needs")

    def __init__(self, node, needs):
        self.node = node
        self.op = node.op
        self.attrs = node.attrs
        self.shape = node.shape
        self.dtype = node.dtype
        self.in_shapes = [i.shape for i in node.inputs]
        self.in_dtypes = [i.dtype for i in node.inputs]
        self._needs = needs

    def input(self, i):
        return self.node.inputs[i]

    def output(self):
        return self.node

    def needs(self, i):
        return self._needs[i]


def grad_graph(graph, outputs, wrt, grad_outputs=None):
    """Append to ``graph`` the gradients of ``outputs`` with respect to ``wrt``.

    ``grad_outputs`` default to ones (outputs must then be scalars). Returns
    one node per ``wrt`` entry (a zeros node where the output does not depend
    on it). Works on any graph, so the compile path reuses it unchanged.
    """
    wrt_ids = {w.id for w in wrt}
    # Which nodes depend on a wrt node (only they need gradients). Integer and
    # bool values carry no gradient (as in PyTorch), so a path through them stops.
    depends: set[int] = set()
    for n in graph.nodes:
        if n.id in wrt_ids or any(i.id in depends for i in n.inputs):
            if n.id in wrt_ids or (ops_table.OPS[n.op].differentiable and n.dtype.is_floating_point):
                depends.add(n.id)
    builder = GraphBuilder(graph)
    seeds = {}
    for i, out in enumerate(outputs):
        if grad_outputs is not None and grad_outputs[i] is not None:
            g = grad_outputs[i]
        else:
            if out.shape != ():
                raise AutogradError(f"grad can be implicitly created only for scalar outputs, got shape {list(out.shape)}")
            g = builder.scalar(1, out.dtype)
        seeds[out] = g if out not in seeds else builder.op("add", [seeds[out], g])
    forward = [n for n in graph.nodes if n.id in depends]

    def ctx_of(n):
        if n.id in wrt_ids and n.op == "input" or n.op in ("input", "constant"):
            return None
        return _NodeCtx(n, [i.id in depends for i in n.inputs])

    def parents_of(n):
        return [i if i.id in depends else None for i in n.inputs]

    captured = {}

    def on_grad(n, g):
        if n.id in wrt_ids:
            captured[n.id] = g
        return g

    backprop(list(reversed(forward)), seeds, builder, ctx_of, parents_of, on_grad)
    return [captured[w.id] if w.id in captured else _zeros(builder, w.shape, w.dtype) for w in wrt]
