"""Which mutated inputs a numpy program may overwrite in place.

A graph's mutation ``(input, value)`` means "after the call, ``input`` holds
``value``" (an optimizer's ``p.sub_(lr * g)``, a running-stat update). The
program could compute ``value`` into a fresh array and let the caller copy it
back — one more pass over every parameter per training step, and a fresh
array for each — or write it straight into the input's memory, as eager
PyTorch does. That is safe when nothing reads the old value afterwards:

* the value comes out of an elementwise node of a blocked kernel (pointwise,
  or a matmul's epilogue) whose domain is the input's shape, in its dtype;
* inside that kernel the old value is read only at the same positions (the
  input itself, no view of it) by nodes up to the one writing the value, or
  by the matmul, which finishes before its epilogue starts;
* no later step reads the input or any view of it, and no other output or
  mutation value is the input, the value, or a view of either.

Whether the caller's array can take the write is known only at run time
(contiguous, writable, its own memory, no other input a view of it): the
generated code checks that (``runtime.writable_in_place``) and falls back to
a fresh array otherwise.
"""

from __future__ import annotations

from ir import ops as ops_table
from ir.passes.fusion import MATMUL, POINTWISE


def in_place_values(schedule) -> dict:
    """``{value node id: input node}`` for the mutations whose value may be written over the input."""
    g = schedule.graph
    targets = [t for t, _ in g.mutations]
    if not targets:
        return {}
    kernels = [item for kind, item in schedule.steps if kind == "kernel"]
    step_of = {id(item): i for i, (_, item) in enumerate(schedule.steps)}
    chosen = {}
    for t, v in g.mutations:
        if targets.count(t) != 1 or t.op != "input" or tuple(v.shape) != tuple(t.shape) or v.dtype is not t.dtype:
            continue
        k = next((k for k in kernels if v in k.outputs), None)
        aliases = _aliases(g, t)
        if k is None or not _writes_aligned(k, t, v, aliases):
            continue
        # Nothing else may leave sharing the memory: not the old value, nor the new one (an output
        # that is the value or a view of it would alias the caller's tensor).
        shared = aliases | _aliases(g, v)
        if any(o.id in shared for o in g.outputs) or any(o.id in shared for _, o in g.mutations if o is not v):
            continue
        later = schedule.steps[step_of[id(k)] + 1 :]
        if any(_reads(item, kind, aliases) for kind, item in later):
            continue
        chosen[v.id] = t
    return chosen


def _aliases(g, t) -> set:
    """Ids of ``t`` and of every view of it (views of views included)."""
    ids = {t.id}
    for n in g.nodes:
        if n.kind == ops_table.VIEW and n.inputs and n.inputs[0].id in ids:
            ids.add(n.id)
    return ids


def _reads(item, kind, aliases) -> bool:
    if kind == "view":
        return False  # a view reads no memory; its readers are checked themselves
    return any(i.id in aliases for i in item.inputs)


def _writes_aligned(k, t, v, aliases) -> bool:
    """Whether kernel ``k`` can write ``v`` over ``t`` without reading an overwritten element."""
    if k.kind not in (POINTWISE, MATMUL) or tuple(k.domain) != tuple(t.shape) or v.kind != ops_table.ELEMENTWISE:
        return False
    at = k.nodes.index(v)
    for i, n in enumerate(k.nodes):
        reads = [x for x in n.inputs if x.id in aliases]
        if not reads:
            continue
        if n.kind == ops_table.VIEW:
            return False  # a view of t inside the kernel (an expand, a reshape): not aligned
        if k.kind == MATMUL and i == 0:
            continue  # the product reads its operands before the epilogue writes anything
        if i > at or n.kind != ops_table.ELEMENTWISE or tuple(n.shape) != tuple(t.shape):
            return False
        if any(x is not t for x in reads):
            return False
    return True
