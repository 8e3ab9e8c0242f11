"""Where each value of a tile kernel lives, and whether a read can be expressed: the one
description of the tile mapping that the code generator and the fusion policy share.

A pointwise (or matmul) kernel is one flat tile over its domain. A reduction kernel over
domain ``D`` reducing ``axes`` is a 2-d tile: rows (the kept dims, along ``XBLOCK``) by the
reduced dims (along ``RBLOCK``). A value there lives either in the *dom* space (shape ``D``:
one element per tile lane) or in the *row* space (the reduced shape, with or without the
kept size-1 dims: one element per row).

Every read of a node's input is one of: a literal (a one-element constant), a value computed
inside the kernel (then, through the broadcast views between them, each of its dims must vary
along the same domain dim as the consumer's — ``x - x.sum(1)[None, :]`` on a square ``x``
broadcasts a per-row value along the columns, which a row tile cannot hold), or a buffer from
outside (then each of its non-broadcast dims must map to a domain dim). :meth:`TileLayout.read`
decides which, or raises :class:`LayoutError` with the reason; the policy asks before fusing,
the code generator asks again while emitting (and treats an error as a bug).
"""

from __future__ import annotations

from dataclasses import dataclass

from ir import ops as ops_table
from ir.graph import is_broadcast_view, is_scalar_constant, view_root
from ir.passes.fusion import REDUCTION


class LayoutError(Exception):
    """A group the tile mapping cannot express; the message says why."""


@dataclass
class Read:
    """How a node reads one input: ``kind`` is "literal", "inside" or "external"."""

    kind: str
    root: object  # the constant, the inside node, or the external buffer's node
    omap: tuple = ()  # external: for each dim of root, the domain dim indexing it (or None)


def broadcast_chain(node, inside):
    """Follow broadcast-like views (expand, reshapes of size-1 dims) from ``node`` back to a
    value inside the group, or outside it and materialized; ``(root, views outwards)``."""
    chain = []
    root = node
    while root.id not in inside and root.kind == ops_table.VIEW and is_broadcast_view(root):
        chain.append(root)
        root = root.inputs[0]
    return root, list(reversed(chain))


def vary_through_views(vary: tuple, views) -> tuple:
    """Which domain dim each dim of a value varies along, after broadcast-like views."""
    for v in views:
        in_shape, out_shape = v.inputs[0].shape, v.shape
        if v.op == "expand":
            lead = len(out_shape) - len(in_shape)
            vary = (None,) * lead + tuple(
                None if (s == 1 and t != 1) else x for s, t, x in zip(in_shape, out_shape[lead:], vary)
            )
        elif v.op == "reshape" and [s for s in in_shape if s != 1] == [s for s in out_shape if s != 1]:
            entries = [x for s, x in zip(in_shape, vary) if s != 1]
            it = iter(entries)
            vary = tuple(next(it) if s != 1 else None for s in out_shape)
        else:
            raise LayoutError(f"view %{v.id} ({v.op}) inside the group is not a broadcast")
    return vary


class TileLayout:
    """The tile geometry of a ``kind`` kernel over ``domain`` (reducing ``axes``)."""

    def __init__(self, kind: str, domain, axes=()):
        self.domain = D = tuple(domain)
        self.reduction = kind == REDUCTION
        self.axes = tuple(axes) if self.reduction and D else ()
        self.rdims = [d for d in range(len(D)) if d in self.axes]
        self.xdims = [d for d in range(len(D)) if d not in self.axes]
        self.keep = tuple(1 if i in self.axes else s for i, s in enumerate(D))
        self.nokeep = tuple(s for i, s in enumerate(D) if i not in self.axes)

    # -- spaces ------------------------------------------------------------------------
    def space(self, n) -> str:
        """"dom" or "row": where node ``n``'s value lives in the tile."""
        if not self.reduction:
            if tuple(n.shape) != self.domain:
                raise LayoutError(f"%{n.id} has shape {list(n.shape)}, not the kernel's {list(self.domain)}")
            return "dom"
        if n.kind == ops_table.REDUCE:
            return "row"
        shape = tuple(n.shape)
        if shape == self.domain:
            return "dom"
        if shape in (self.keep, self.nokeep):
            return "row"
        raise LayoutError(f"%{n.id} has shape {list(shape)}, neither the domain nor the reduced shape")

    def cdims(self, shape, space) -> tuple:
        """For each dim of a value of ``shape`` in ``space``: the domain dim it indexes (or None)."""
        D = self.domain
        if space == "dom":
            return tuple(d if D[d] != 1 else None for d in range(len(D)))
        if len(shape) == len(D):  # keepdim shape
            return tuple(d if (d not in self.axes and D[d] != 1) else None for d in range(len(D)))
        return tuple(d if D[d] != 1 else None for d in self.xdims)

    def node_vary(self, n) -> tuple:
        if n.kind == ops_table.REDUCE:
            return self.cdims(n.shape, "row")
        return self.cdims(n.shape, self.space(n))

    # -- reads ---------------------------------------------------------------------------
    def read(self, n, i, inside) -> Read:
        """How node ``n`` (in the kernel) reads its input ``i``; ``inside``: ids of the kernel's nodes."""
        src = n.inputs[i]
        if is_scalar_constant(src):
            return Read("literal", src)
        reduce = n.kind == ops_table.REDUCE
        cshape = self.domain if reduce else tuple(n.shape)
        consumer = self.cdims(cshape, "dom" if reduce else self.space(n))
        root, views = broadcast_chain(src, inside)
        T = tuple(src.shape)
        off = len(cshape) - len(T)
        if root.id in inside:
            vary = vary_through_views(self.node_vary(root), views)
            for j, x in enumerate(vary):
                if x is not None and T[j] != 1 and consumer[off + j] != x:
                    raise LayoutError(f"%{src.id} is broadcast against %{n.id} along another dim than it varies")
            return Read("inside", root)
        if is_scalar_constant(root):
            return Read("literal", root)
        beyond = root
        while beyond.kind == ops_table.VIEW and beyond.id not in inside:
            beyond = beyond.inputs[0]
        if beyond.id in inside:
            raise LayoutError(f"%{n.id} reads %{beyond.id} of the same kernel through {root.op} view %{root.id}")
        # An external buffer, read through the broadcast views between it and the consumer:
        # each dim of the root buffer is indexed by the domain coordinate its dim maps to.
        labels = vary_through_views(tuple(d if s != 1 else None for d, s in enumerate(root.shape)), views)
        omap_src = tuple(None if T[j] == 1 else consumer[off + j] for j in range(len(T)))
        rmap = [None] * len(root.shape)
        for j, lab in enumerate(labels):
            if lab is not None:
                rmap[lab] = omap_src[j]
        if any(rmap[d] is None for d, s in enumerate(root.shape) if s != 1):
            raise LayoutError(f"cannot index %{root.id} through the views to %{n.id}")
        return Read("external", root, tuple(rmap))

    def check_node(self, n, inside) -> None:
        """Raise :class:`LayoutError` unless every read of ``n`` can be expressed."""
        self.space(n)
        if n.kind == ops_table.MATMUL:
            for x in n.inputs:
                if view_root(x, inside)[0].id in inside:
                    raise LayoutError(f"an operand of matmul %{n.id} is computed inside the group")
            return
        for i in range(len(n.inputs)):
            self.read(n, i, inside)
