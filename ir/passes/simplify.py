"""Simplification: dead-code elimination, CSE, constant folding, algebraic identities
and view canonicalization — all functional rewrites of an ``ir.Graph``.

:func:`simplify` returns a new graph; the input graph is left as it was, so
every stage can be dumped side by side. Rewrites never change a value's
shape or dtype, and never touch graph inputs, outputs' identities or
mutation targets.
"""

from __future__ import annotations

import logging

import numpy as np

from .. import ops as ops_table
from ..graph import Graph, _canonical

log = logging.getLogger("graphc.passes")

# Small constants are folded; bigger ones would bloat the graph.
FOLD_LIMIT = 64


def _is_scalar_const(n, value=None) -> bool:
    while n.op in ("expand", "reshape") and n.inputs[0].numel == 1:  # a broadcast scalar
        n = n.inputs[0]
    if n.op == "constant" and n.attrs["value"].size == 1:
        return value is None or float(n.attrs["value"].reshape(-1)[0]) == value
    if n.op == "full":
        return value is None or float(n.attrs["value"]) == value
    return False


def _broadcasts_to(a_shape, out_shape) -> bool:
    return tuple(a_shape) == tuple(out_shape)


def _identity_of(n):
    """The node ``n`` is equal to (an algebraic identity), or None."""
    op, ins = n.op, n.inputs
    if op in ("reshape", "expand") and tuple(ins[0].shape) == tuple(n.shape):
        return ins[0]
    if op == "permute" and tuple(n.attrs["dims"]) == tuple(range(len(n.shape))):
        return ins[0]
    if op == "slice" and all(
        s == 0 and e == size and st == 1 for s, e, st, size in zip(n.attrs["starts"], n.attrs["stops"], n.attrs["steps"], ins[0].shape)
    ):
        return ins[0]
    if op == "cast" and ins[0].dtype is n.dtype:
        return ins[0]
    if op == "copy":
        return ins[0]
    if op == "pad" and all(lo == 0 and hi == 0 for lo, hi in n.attrs["pads"]):
        return ins[0]
    if op in ("sum", "amax", "amin", "prod") and not n.attrs["axes"] and tuple(ins[0].shape) == tuple(n.shape):
        return ins[0]
    if op in ("sum", "amax", "amin", "prod") and all(ins[0].shape[a] == 1 for a in n.attrs["axes"]) and tuple(ins[0].shape) == tuple(n.shape):
        return ins[0]
    if op == "neg" and ins[0].op == "neg":
        return ins[0].inputs[0]
    if n.dtype.is_floating_point or n.dtype.is_integer:
        if op == "mul":
            a, b = ins
            if _is_scalar_const(b, 1.0) and _broadcasts_to(a.shape, n.shape):
                return a
            if _is_scalar_const(a, 1.0) and _broadcasts_to(b.shape, n.shape):
                return b
        if op == "add":
            a, b = ins
            if _is_scalar_const(b, 0.0) and _broadcasts_to(a.shape, n.shape):
                return a
            if _is_scalar_const(a, 0.0) and _broadcasts_to(b.shape, n.shape):
                return b
        if op == "sub" and _is_scalar_const(ins[1], 0.0) and _broadcasts_to(ins[0].shape, n.shape):
            return ins[0]
        if op == "div" and _is_scalar_const(ins[1], 1.0) and _broadcasts_to(ins[0].shape, n.shape):
            return ins[0]
        if op == "pow" and _is_scalar_const(ins[1], 1.0) and _broadcasts_to(ins[0].shape, n.shape):
            return ins[0]
    if op == "where" and _is_scalar_const(ins[0]):
        # A constant condition (the pow rule's `y == 0` on a constant y) picks one branch.
        taken = ins[1] if _is_scalar_const(ins[0], 1.0) else ins[2]
        if _broadcasts_to(taken.shape, n.shape) and taken.dtype is n.dtype:
            return taken
    return None


def _compose_views(g: Graph, n, ins):
    """reshape(reshape(x)) -> reshape(x); permute(permute(x)) -> permute(x)."""
    if n.op == "reshape" and ins[0].op == "reshape":
        return ("reshape", [ins[0].inputs[0]], {"shape": n.attrs["shape"]})
    if n.op == "permute" and ins[0].op == "permute":
        inner, outer = ins[0].attrs["dims"], n.attrs["dims"]
        return ("permute", [ins[0].inputs[0]], {"dims": tuple(inner[d] for d in outer)})
    if n.op == "expand" and ins[0].op == "expand":
        return ("expand", [ins[0].inputs[0]], {"shape": n.attrs["shape"]})
    if n.op == "pow" and _is_scalar_const(ins[1], 2.0) and tuple(ins[0].shape) == tuple(n.shape):
        # x ** 2 -> x * x: one multiply instead of a call to pow.
        return ("mul", [ins[0], ins[0]], {})
    return None


def _swap_last(ndim: int) -> tuple:
    dims = list(range(ndim))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    return tuple(dims)


def _permuted(g: Graph, x, dims):
    """``permute(x, dims)``, composed with a permute ``x`` may already be."""
    if x.op == "permute":
        inner = x.attrs["dims"]
        dims, x = tuple(inner[d] for d in dims), x.inputs[0]
    if dims == tuple(range(len(dims))):
        return x
    return g.add("permute", [x], dims=dims)


def _transpose_matmul(g: Graph, n, ins, users):
    """permute(matmul(a, b), swap last two) -> matmul(b^T, a^T).

    Weight gradients come out of the matmul rule transposed (the gradient of ``x @ W.T``
    w.r.t. ``W``); computing them in the parameter's own layout makes the optimizer's
    update read contiguous memory instead of a strided view. Only when the matmul has
    no other user, so nothing is computed twice.
    """
    if n.op != "permute" or n.inputs[0].op != "matmul" or len(users[n.inputs[0]]) != 1:
        return None
    if len(n.shape) < 2 or tuple(n.attrs["dims"]) != _swap_last(len(n.shape)):
        return None
    mm = ins[0]
    if mm.op != "matmul":
        return None
    a, b = mm.inputs
    swap_b, swap_a = _swap_last(len(b.shape)), _swap_last(len(a.shape))
    return ("matmul", [_permuted(g, b, swap_b), _permuted(g, a, swap_a)], {})


def _fold(n, ins):
    """Evaluate ``n`` at compile time when all its inputs are small constants."""
    opdef = ops_table.OPS[n.op]
    if opdef.kind in (ops_table.SOURCE, ops_table.RANDOM, "collective") or n.numel > FOLD_LIMIT:
        return None
    if opdef.kind == ops_table.VIEW and ins and n.numel > ins[0].numel:
        return None  # a broadcast stays a view: materializing it only makes it bigger
    if not ins or not all(i.op == "constant" for i in ins):
        if not (opdef.kind == ops_table.CREATION and n.numel <= FOLD_LIMIT and not ins):
            return None
    from backends.numpy.kernels import run_op  # numpy is the reference evaluator

    value = run_op(opdef, [i.attrs["value"] for i in ins], n.attrs, n.shape, n.dtype)
    return np.array(value, copy=True)


def _constant_key(value, n) -> tuple:
    return ("constant", _canonical(np.asarray(value, dtype=n.dtype.numpy_dtype).reshape(n.shape)), n.dtype.name)


def simplify(graph: Graph, *, fold: bool = True) -> Graph:
    """A simplified copy of ``graph`` (see the module docstring)."""
    out = Graph(graph.name)
    remap: dict[int, object] = {}
    cse: dict[tuple, object] = {}
    protected = {t.id for t, _ in graph.mutations}
    stats = {"cse": 0, "identity": 0, "fold": 0, "views": 0}

    users = graph.users()
    for n in graph.live_nodes():
        if n.op == "input":
            new = out.add("input", **n.attrs)
            out.inputs.append(new)
            new.meta.update(n.meta)
            remap[n.id] = new
            continue
        ins = [remap[i.id] for i in n.inputs]
        op, attrs = n.op, dict(n.attrs)
        composed = _compose_views(out, n, ins)
        if composed is None:
            composed = _transpose_matmul(out, n, ins, users)
        if composed is not None:
            op, ins, attrs = composed
            stats["views"] += 1
        # Build a probe node to ask identities on the rewritten inputs.
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
        key = None
        if op == "constant":  # the same key as a folded constant's, so the two merge
            key = _constant_key(attrs["value"], n)
        elif ops_table.OPS[op].kind != ops_table.RANDOM:
            key = (op, _canonical(attrs), tuple(i.id for i in ins), n.dtype.name, tuple(n.shape))
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
