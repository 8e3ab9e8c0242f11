"""Reverse-mode autodiff: the backprop loop over the gradient rules of the op table's rows.

Each row carries its rule (``OpDef.grad``, written with :mod:`ir.ops.grad` values). Rules never
touch data: they record ops through a *builder* — ``b.op(name, inputs, **attrs)`` and
``b.scalar(value, dtype)`` — whose values expose ``shape`` and ``dtype``. Two builders exist:

* :class:`GraphBuilder` appends nodes to an :class:`ir.Graph`; this is the
  graph pass :func:`grad_graph` that ``@graphc.compile`` uses;
* graphc's eager engine passes a builder whose ``op`` runs the op at once on
  tensors (and records it again when ``create_graph=True``).

Both walk the same :func:`backprop` loop with the same rules, so eager
gradients, compiled gradients and gradients of gradients agree by
construction, and the backward graph is made of ordinary primitives that fuse
and differentiate again.

The loop gives a rule a context ``n`` over the forward node — the builder's context offers
``attrs``, ``shape``, ``dtype``, ``in_shapes``, ``in_dtypes``, ``input(i)``, ``output()`` and
``needs(i)`` — and the gradient ``g`` of its output; the rule returns one gradient (or
``None``) per input, each of the input's shape. Rules read saved values only for inputs whose
gradient is needed, so eager mode keeps PyTorch's "modified by an inplace operation" check
precise.
"""

from __future__ import annotations

from .. import ops as ops_table
from ..errors import AutogradError
from ..ops.grad import RuleCtx, V, zeros

# ----------------------------------------------------------------------------
# the shared reverse loop


def missing_rule(op: str):
    return AutogradError(f"autodiff: the primitive {op!r} has no gradient rule (its row in ir/ops has no grad=)")


def vjp(builder, ctx, g):
    """The input gradients of one node: its custom vector-Jacobian product (an opaque compiled
    call carries one) or its row's rule. ``g`` and the results are builder values."""
    custom = getattr(ctx, "custom_vjp", None)
    if custom is not None:
        return custom(builder, ctx, g)
    row = ops_table.OPS[ctx.op]
    rule = row.grad
    if rule is None:
        raise missing_rule(ctx.op)
    if not row.complex_rule and (ctx.dtype.is_complex or any(d.is_complex for d in ctx.in_dtypes)):
        # A rule written for real numbers, on complex values: PyTorch's convention asks for
        # g * conj(f'(z)), which is conj(rule(conj(g))) for a rule computing g * f'(z).
        grads = rule(RuleCtx(ctx, builder), V(builder, builder.op("conj", [g])))
        return [None if v is None else v.conj().x for v in grads]
    return [None if v is None else v.x for v in rule(RuleCtx(ctx, builder), V(builder, g))]


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
        in_grads = vjp(builder, ctx, g)
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
            if n.id in wrt_ids or (ops_table.OPS[n.op].differentiable and n.dtype.is_differentiable):
                depends.add(n.id)
    builder = GraphBuilder(graph)
    seeds = {}
    for i, out in enumerate(outputs):
        if grad_outputs is not None and grad_outputs[i] is not None:
            g = grad_outputs[i]
        else:
            if out.shape != ():
                raise AutogradError(f"grad can be implicitly created only for scalar outputs, got shape {list(out.shape)}")
            if out.dtype.is_complex:
                raise AutogradError("grad can be implicitly created only for real scalar outputs, got a complex one")
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
    return [captured[w.id] if w.id in captured else zeros(builder, w.shape, w.dtype).x for w in wrt]
