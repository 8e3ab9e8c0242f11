"""The Triton backend's fusion policy: fuse only what the tile kernels can express.

Fusion (:mod:`ir.passes.fusion`) shows the policy each proposed join or merge; the policy lays
the proposed group out as a tile (:class:`~.codegen.layout.TileLayout`) and checks every read
that the change adds. It refuses, with the reason, a value broadcast against its consumer along
another dim than it varies (``x - x.sum(1)[None, :]`` on a square ``x``), a node read through a
non-broadcast view of a value of the same group, a node whose shape is neither the domain nor
the reduced shape, and a matmul operand computed inside its own group. The code generator
checks the same layout again and treats a failure as a bug (it never splits a group itself).
"""

from __future__ import annotations

from ir.graph import view_root
from ir.passes.fusion import FusionPolicy, Proposal

from .codegen.layout import LayoutError, TileLayout


class TritonFusionPolicy(FusionPolicy):
    name = "triton"

    def refuse(self, proposal: Proposal) -> str | None:
        layout = TileLayout(proposal.kind, proposal.domain, proposal.axes)
        inside = {n.id for n in proposal.nodes}
        added = {n.id for n in proposal.added}
        try:
            for n in proposal.nodes:
                # only reads the change adds: the group's other reads were checked when they joined
                if n.id in added or any(view_root(i, inside)[0].id in added for i in n.inputs):
                    layout.check_node(n, inside)
        except LayoutError as e:
            return str(e)
        return None
