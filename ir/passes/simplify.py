"""Simplification: dead-code elimination, CSE, constant folding, algebraic identities
and view canonicalization — all functional rewrites of an ``ir.Graph``.

The rewrites are generic: they read the rows of the op table — algebraic properties
(identity and absorbing elements, involution, idempotence, commutativity for CSE), reduction
specs, the views' stride rules (a view that maps the contiguous layout to itself is the
identity) and ``compose``/``rewrite`` hooks that rows declare for their own patterns (a
reshape of a reshape, ``x ** 2``, a ``where`` on a constant condition) — never lists of op
names. Constant folding evaluates rows with their numpy implementations
(:mod:`ir.ops.evaluate`).

:func:`simplify` returns a new graph; the input graph is left as it was, so every stage can
be dumped side by side. Rewrites never change a value's shape or dtype, and never touch graph
inputs, outputs' identities or mutation targets.
"""

from __future__ import annotations

import logging

import numpy as np

from .. import ops as ops_table
from ..graph import Graph, _canonical, scalar_value
from ..ops.evaluate import run_op
from ..ops.movement import contiguous_strides

log = logging.getLogger("graphc.passes")

# Small constants are folded; bigger ones would bloat the graph.
FOLD_LIMIT = 64


def _is_value(n, value) -> bool:
    v = scalar_value(n)
    return v is not None and complex(v) == complex(value)


def _same_type(a, n) -> bool:
    return tuple(a.shape) == tuple(n.shape) and a.dtype is n.dtype


def _view_is_identity(n) -> bool:
    x = n.inputs[0]
    if tuple(x.shape) != tuple(n.shape):
        return False
    contig = contiguous_strides(x.shape)
    return n.opdef.strided(tuple(x.shape), contig, 0, n.attrs, tuple(n.shape)) == (contig, 0)


def _identity_of(n):
    """The existing node ``n`` equals (an algebraic identity), or None."""
    row, ins = n.opdef, n.inputs
    kind = row.kind
    if kind == ops_table.VIEW:
        return ins[0] if _view_is_identity(n) else None
    if kind == ops_table.CAST:
        return ins[0] if ins[0].dtype is n.dtype else None
    if kind == ops_table.PAD:
        return ins[0] if all(lo == 0 and hi == 0 for lo, hi in n.attrs["pads"]) else None
    if kind == ops_table.REDUCE:
        spec = row.reduce
        if spec.index or spec.nan == "ignore" or not _same_type(ins[0], n):
            return None
        shape = ins[0].shape  # a 0-d input reduces over nothing (PyTorch lets dim 0 name it)
        return ins[0] if all(a >= len(shape) or shape[a] == 1 for a in n.attrs["axes"]) else None
    if kind != ops_table.ELEMENTWISE:
        return None
    p = row.props
    if p.noop:
        return ins[0]
    if len(ins) == 1 and ins[0].op == n.op:
        if p.involution:
            return ins[0].inputs[0]
        if p.idempotent:
            return ins[0]
    if len(ins) == 2:
        a, b = ins
        if p.idempotent and a is b and _same_type(a, n):
            return a
        if p.identity is not None:
            if _is_value(b, p.identity) and _same_type(a, n):
                return a
            if p.identity_side == "both" and _is_value(a, p.identity) and _same_type(b, n):
                return b
    hook = row.extra.get("rewrite")
    if hook is not None:
        out = hook(n)
        if out is not None and not isinstance(out, tuple) and _same_type(out, n):
            return out
    return None


def _rewrite(n, ins):
    """A cheaper equivalent ``(op, inputs, attrs)`` for ``n`` over rewritten ``ins``, or None."""
    row = n.opdef
    compose = row.extra.get("compose")
    if compose is not None and ins[0].op == n.op:
        return n.op, [ins[0].inputs[0]], compose(ins[0].attrs, n.attrs)
    absorbing = row.props.absorbing
    if absorbing is not None and (n.dtype.is_integer or n.dtype.is_bool) and len(ins) == 2:
        if any(_is_value(i, absorbing) and i.dtype is n.dtype for i in ins):
            return "full", [], {"shape": tuple(n.shape), "dtype": n.dtype, "value": absorbing}
    hook = row.extra.get("rewrite")
    if hook is not None:
        probe = type(n)(-1, n.op, tuple(ins), dict(n.attrs), n.shape, n.dtype)
        out = hook(probe)
        if isinstance(out, tuple):
            return out
    return None


def _swap_last(ndim: int) -> tuple:
    dims = list(range(ndim))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    return tuple(dims)


def _permuted(g: Graph, x, dims):
    """``x`` permuted by ``dims``, composed with a permute ``x`` may already be."""
    compose = x.opdef.extra.get("compose") if x.kind == ops_table.VIEW else None
    if x.op == "permute" and compose is not None:
        dims, x = compose(x.attrs, {"dims": dims})["dims"], x.inputs[0]
    if dims == tuple(range(len(dims))):
        return x
    return g.add("permute", [x], dims=dims)


def _transpose_matmul(g: Graph, n, ins, users):
    """The transpose of a matmul's result -> the matmul of the transposed operands, swapped.

    Weight gradients come out of the matmul rule transposed (the gradient of ``x @ W.T``
    w.r.t. ``W``); computing them in the parameter's own layout makes the optimizer's update
    read contiguous memory instead of a strided view. Only when the matmul has no other user,
    so nothing is computed twice.
    """
    if n.op != "permute" or len(n.shape) < 2 or tuple(n.attrs["dims"]) != _swap_last(len(n.shape)):
        return None
    mm = ins[0]
    if mm.kind != ops_table.MATMUL or n.inputs[0].kind != ops_table.MATMUL or len(users[n.inputs[0]]) != 1:
        return None
    a, b = mm.inputs
    return mm.op, [_permuted(g, b, _swap_last(len(b.shape))), _permuted(g, a, _swap_last(len(a.shape)))], {}


def _fold(n, ins):
    """Evaluate ``n`` at compile time when all its inputs are small constants."""
    row = n.opdef
    if row.kind in (ops_table.SOURCE, ops_table.RANDOM, ops_table.COLLECTIVE) or n.numel > FOLD_LIMIT:
        return None
    if row.kind == ops_table.VIEW and ins and n.numel > ins[0].numel:
        return None  # a broadcast stays a view: materializing it only makes it bigger
    if ins and not all(i.kind == ops_table.SOURCE and "value" in i.attrs for i in ins):
        return None
    if not ins and row.kind != ops_table.CREATION:
        return None
    value = run_op(row, [i.attrs["value"] for i in ins], n.attrs, n.shape, n.dtype)
    return np.array(value, copy=True)


def _constant_key(value, n) -> tuple:
    return ("constant", _canonical(np.asarray(value, dtype=n.dtype.numpy_dtype).reshape(n.shape)), n.dtype.name)


def _cse_key(op, attrs, ins, n):
    row = ops_table.OPS[op]
    if row.kind == ops_table.SOURCE and "value" in attrs:  # the same key as a folded constant's
        return _constant_key(attrs["value"], n)
    if row.kind in (ops_table.RANDOM, ops_table.COLLECTIVE, ops_table.SOURCE):
        return None
    ids = tuple(i.id for i in ins)
    if row.props.commutative:
        ids = tuple(sorted(ids))
    return (op, _canonical(attrs), ids, n.dtype.name, tuple(n.shape))


def simplify(graph: Graph, *, fold: bool = True) -> Graph:
    """A simplified copy of ``graph`` (see the module docstring)."""
    out = Graph(graph.name)
    remap: dict[int, object] = {}
    cse: dict[tuple, object] = {}
    protected = {t.id for t, _ in graph.mutations}
    stats = {"cse": 0, "identity": 0, "fold": 0, "rewrite": 0}

    users = graph.users()
    input_ids = {i.id for i in graph.inputs}
    for n in graph.live_nodes():
        if n.id in input_ids:
            new = out.add(n.op, **n.attrs)
            out.inputs.append(new)
            new.meta.update(n.meta)
            remap[n.id] = new
            continue
        ins = [remap[i.id] for i in n.inputs]
        op, attrs = n.op, dict(n.attrs)
        rewritten = _rewrite(n, ins) or _transpose_matmul(out, n, ins, users)
        if rewritten is not None:
            op, ins, attrs = rewritten
            stats["rewrite"] += 1
        # A probe node asks the identities about the rewritten inputs.
        probe = type(n)(-1, op, tuple(ins), attrs, n.shape, n.dtype)
        same = _identity_of(probe)
        if same is not None and n.id not in protected:
            remap[n.id] = same
            stats["identity"] += 1
            continue
        if fold:
            value = _fold(probe, ins)
            if value is not None:
                key = _constant_key(value, n)
                if key in cse:
                    remap[n.id] = cse[key]
                else:
                    new = out.add_constant(value.reshape(n.shape), n.dtype)
                    cse[key] = remap[n.id] = new
                stats["fold"] += 1
                continue
        key = _cse_key(op, attrs, ins, n)
        if key is not None and key in cse:
            remap[n.id] = cse[key]
            stats["cse"] += 1
            continue
        new = out.add(op, ins, **attrs)
        new.meta.update(n.meta)
        if key is not None:
            cse[key] = new
        remap[n.id] = new
    out.outputs = [remap[o.id] for o in graph.outputs]
    out.mutations = [(remap[t.id], remap[v.id]) for t, v in graph.mutations]
    result = dce(out)
    log.debug("simplify %s: %s; %d -> %d nodes", graph.name, stats, len(graph), len(result))
    result.meta_stats = stats
    return result


def dce(graph: Graph) -> Graph:
    """Drop nodes no output or mutation needs (in place; returns the graph)."""
    live = {n.id for n in graph.live_nodes()}
    graph.nodes = [n for n in graph.nodes if n.id in live]
    return graph
