"""Collective primitives: an all-reduce across the ranks of a process group, as IR nodes.

A compiled data-parallel training step keeps its gradient all-reduce inside
the graph (as JAX keeps ``psum`` inside ``jit``), so one program holds the
forward pass, the backward pass, the communication and the optimizer update.
The all-reduce is split into two nodes of kind ``collective``:

``all_reduce_start(x) {reduce_op, group}``
    hands ``x`` to the communication library and returns at once; its value
    is the buffer being reduced, valid only once waited on;
``all_reduce_wait(s) {reduce_op, group}``
    blocks until the reduction started by ``s`` is complete; its value is the
    reduced tensor.

Two nodes rather than one give the schedule its freedom:
:func:`order_collectives` moves every start as early as its input exists and
every wait as late as its first reader allows, so communication overlaps the
rest of backward (and whatever of the optimizer does not need the result).
Fusion treats the kind like any op it does not know, a kernel of its own, so
a collective is a barrier no fused kernel crosses. ``group`` names a process
group that the runtime registered (``"world"`` by default); ``reduce_op`` is one of
:data:`REDUCE_OPS`.

The gradient: an all-reduce SUM is its own adjoint (and AVG's is AVG), under
the SPMD convention that the loss being differentiated is the sum of every
rank's loss. The start's rule all-reduces the incoming gradient, the wait's
passes it through. MAX, MIN and PRODUCT are not differentiable here.

These rows live in their own module while the op table is restructured; they
use only ``ir.ops.register`` and ``ir.passes.autodiff.GRAD_RULES``.
"""

from __future__ import annotations

import heapq

from . import ops as ops_table
from .errors import AutogradError, DTypeError
from .passes.autodiff import GRAD_RULES

COLLECTIVE = "collective"

#: reduce ops, as ``graphc.distributed.ReduceOp`` names them (lower case)
REDUCE_OPS = ("sum", "avg", "product", "min", "max")

START, WAIT = "all_reduce_start", "all_reduce_wait"


def _shape_same(op, inputs, attrs):
    return inputs[0].shape


def _dtype_reduce(op, inputs, attrs):
    x = inputs[0]
    if len(inputs) > (2 if op.name == START else 1):
        raise TypeError(f"{op.name}: expected {'1 or 2 inputs (the tensor, and an order token)' if op.name == START else '1 input'}, got {len(inputs)}")
    rop = attrs.get("reduce_op")
    if rop not in REDUCE_OPS:
        raise ValueError(f"{op.name}: unknown reduce op {rop!r}; expected one of {', '.join(REDUCE_OPS)}")
    if not isinstance(attrs.get("group"), str):
        raise TypeError(f"{op.name}: attrs['group'] must be a process group's name (a str), got {attrs.get('group')!r}")
    if x.dtype.is_bool and rop not in ("max", "min"):
        raise DTypeError(f"{op.name}: ReduceOp.{rop.upper()} is not defined for bool tensors (use MAX for 'any', MIN for 'all')")
    if rop == "avg" and not x.dtype.is_floating_point:
        raise DTypeError(f"{op.name}: ReduceOp.AVG needs a floating-point tensor, got {x.dtype}")
    return x.dtype


ops_table.register(
    ops_table.OpDef(
        START,
        COLLECTIVE,
        -1,  # the tensor, and from order_collectives the previous start (an order token)
        _shape_same,
        _dtype_reduce,
        ("reduce_op", "group"),
        grad_name="AllReduceBackward0",
        doc="Start an all-reduce of input 0 over attrs['group'] with attrs['op']; the value is pending until waited on.",
    )
)
ops_table.register(
    ops_table.OpDef(
        WAIT,
        COLLECTIVE,
        1,
        _shape_same,
        _dtype_reduce,
        ("reduce_op", "group"),
        grad_name="AllReduceBackward0",
        doc="Wait for the all-reduce started by input 0 (an all_reduce_start); the value is the reduced tensor.",
    )
)


# ----------------------------------------------------------------------------
# gradients


def all_reduce(b, x, op: str, group: str):
    """``wait(start(x))`` through builder ``b`` (a graph builder or the eager/tracing one)."""
    s = b.op(START, [x], reduce_op=op, group=group)
    return b.op(WAIT, [s], reduce_op=op, group=group)


def _grad_start(b, n, g):
    rop = n.attrs["reduce_op"]
    if rop not in ("sum", "avg"):
        raise AutogradError(
            f"all_reduce: ReduceOp.{rop.upper()} is not differentiable; only SUM and AVG are "
            "(each is its own adjoint). Detach the tensor before reducing it."
        )
    return [all_reduce(b, g, rop, n.attrs["group"]) if n.needs(0) else None] + [None] * (len(n.in_shapes) - 1)


def _grad_wait(b, n, g):
    return [g]


GRAD_RULES[START] = _grad_start
GRAD_RULES[WAIT] = _grad_wait


# ----------------------------------------------------------------------------
# scheduling


def order_collectives(graph):
    """Reorder ``graph.nodes`` (in place, still topological): starts early, waits late.

    A list schedule over the graph's nodes. Each node is keyed by the first
    (in traced order) ``all_reduce_start`` it feeds: whenever several nodes
    are ready, the work toward the earliest pending start goes first, so a
    bucket's reduction starts as soon as its own gradients exist rather than
    where the traced backward happened to record it. Nodes that feed no start
    keep their traced order after those. An ``all_reduce_wait`` goes only when
    nothing else is ready, the wait whose first reader comes earliest first:
    the program waits for a reduction only where something (the optimizer)
    reads the result.

    MPI and NCCL need every rank to start the collectives in the same order,
    and ranks may trace slightly different graphs (a broadcast's source holds
    the tensor, the others zeros). So first each start gets the previous start
    in traced order (the program order the user wrote, the same on every rank)
    as a second input, an order token no scheduler or fusion can reorder
    across. Waits may complete in any order. Returns ``graph``.
    """
    nodes = graph.nodes
    if not any(ops_table.OPS[n.op].kind == COLLECTIVE for n in nodes):
        return graph
    previous, start_index = None, {}
    for n in nodes:  # chain the starts in traced order: an order token as a second input
        if n.op == START:
            if previous is not None and len(n.inputs) == 1:
                n.inputs = (n.inputs[0], previous)
            previous = n
            start_index[n.id] = len(start_index)
    pos = {n.id: i for i, n in enumerate(nodes)}
    users = graph.users()
    never = len(start_index)
    feeds = {}  # node id -> index of the first start it (transitively) feeds
    for n in reversed(nodes):
        feeds[n.id] = min([start_index.get(n.id, never)] + [feeds[u.id] for u in users[n]])
    missing = {n.id: len({i.id for i in n.inputs}) for n in nodes}

    def key(n):
        if n.op == WAIT:
            return (1, min((pos[u.id] for u in users[n]), default=pos[n.id]), pos[n.id])
        return (0, feeds[n.id], pos[n.id])

    ready = [(key(n), n.id, n) for n in nodes if missing[n.id] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, n = heapq.heappop(ready)
        order.append(n)
        for u in dict.fromkeys(users[n]):
            missing[u.id] -= 1
            if missing[u.id] == 0:
                heapq.heappush(ready, (key(u), u.id, u))
    if len(order) != len(nodes):
        raise AssertionError("order_collectives: the graph has a cycle; this is a bug in the pass that built it")
    graph.nodes = order
    return graph
