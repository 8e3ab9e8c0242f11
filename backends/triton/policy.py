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

import functools

from ir.graph import view_root
from ir.passes.fusion import FusionPolicy, Proposal

from .codegen.layout import LayoutError, TileLayout


@functools.lru_cache(maxsize=512)
def _layout(kind, domain, axes) -> TileLayout:
    return TileLayout(kind, domain, axes)


class TritonFusionPolicy(FusionPolicy):
    name = "triton"

    def refuse(self, proposal: Proposal) -> str | None:
        """Check the reads the change adds: the group's other reads were checked when their
        nodes joined (a pointwise group that becomes a reduction keeps its values in the dom
        space, where they read alike)."""
        layout = _layout(proposal.kind, proposal.domain, proposal.axes)
        nodes = proposal.nodes
        inside = {n.id for n in nodes}
        added = {n.id for n in proposal.added}
        # a joining node is read by nothing in the kernel; after a merge, either side may read the other
        check = (
            [n for n in nodes if n.id in added or any(view_root(i, inside)[0].id in added for i in n.inputs)]
            if proposal.merge
            else proposal.added
        )
        try:
            for n in check:
                layout.check_node(n, inside)
        except LayoutError as e:
            return str(e)
        return None
