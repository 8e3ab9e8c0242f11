"""Scheduling collectives: every all-reduce starts as early and waits as late as it can.

See :func:`order_collectives`; the rows are in :mod:`ir.ops.collective`.
"""

from __future__ import annotations

import heapq

from .. import ops as ops_table
from ..ops.collective import START, WAIT


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
    if not any(ops_table.OPS[n.op].kind == ops_table.COLLECTIVE for n in nodes):
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
