"""Fusion: partition a graph's nodes into kernels, and say why nodes were not fused.

A :class:`Kernel` is a group of nodes that a backend runs as one unit. Kinds:

``pointwise``
    elementwise and cast nodes over one output shape (inputs may broadcast);
``reduction``
    a row kernel: reductions over the same axes of one *domain* shape, with
    their elementwise prologue (on the domain) and epilogue (on the domain or
    the reduced shape) — softmax and layer norm are one such kernel each;
``matmul``
    one matmul and its elementwise epilogue (bias, activation, scale);
``single``
    any other op, alone (gather, concat, pad, cumsum, random, ...).

View nodes (reshape, permute, expand, slice) are not kernels: backends apply
them to materialized buffers as strided views (numpy views, or index
arithmetic in Triton). Inside a fused group only broadcast-like views
(``expand``, and reshapes that only add or drop size-1 dims) are allowed.

Legality: a node joins a producer's kernel only if no other input of it
comes from a kernel that depends on that producer's kernel (no cycles), and
a reduction or matmul is never duplicated. The final kernel graph is checked
to be acyclic with networkx. Every refusal is logged at debug level on the
``graphc.fusion`` logger with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx

from .. import ops as ops_table
from ..graph import Graph, is_broadcast_view, is_scalar_constant
from .collectives import order_collectives

log = logging.getLogger("graphc.fusion")

POINTWISE, REDUCTION, MATMUL, SINGLE = "pointwise", "reduction", "matmul", "single"

_ELEMENTWISE_KINDS = (ops_table.ELEMENTWISE, ops_table.CAST)


@dataclass
class Kernel:
    """A fused group of nodes, in topological order."""

    id: int
    kind: str
    nodes: list = field(default_factory=list)
    domain: tuple = ()  # reduction: the full shape reduced over; pointwise/matmul: output shape
    axes: tuple = ()  # reduction axes
    inputs: list = field(default_factory=list)  # nodes read from outside the kernel
    outputs: list = field(default_factory=list)  # nodes of the kernel used outside it

    @property
    def name(self) -> str:
        first = next((n for n in self.nodes if n.op not in ("reshape", "expand")), self.nodes[0])
        ops = "_".join(dict.fromkeys(n.op for n in self.nodes if n.kind not in (ops_table.VIEW,)))
        return f"k{self.id}_{self.kind}_{ops[:40] or first.op}"

    def node_ids(self) -> list:
        return [n.id for n in self.nodes]

    def __repr__(self) -> str:
        return f"<Kernel {self.name}: nodes {[f'%{n.id}' for n in self.nodes]}>"


@dataclass
class Schedule:
    """The fused program: kernels in execution order, plus free view nodes."""

    graph: Graph
    kernels: list
    kernel_of: dict  # node id -> kernel id (views and sources are absent)
    steps: list  # ("kernel", Kernel) or ("view", node), in a valid execution order





class _Fuser:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.kernels: dict[int, Kernel] = {}
        self.kernel_of: dict[int, int] = {}
        self.next_id = 0
        self.deps: dict[int, set] = {}  # kernel id -> kernel ids it reads from (direct)
        self.users = graph.users()
        self.position = {n.id: i for i, n in enumerate(graph.nodes)}

    def new_kernel(self, kind, n, domain=(), axes=()):
        k = Kernel(self.next_id, kind, [n], tuple(domain), tuple(axes))
        self.next_id += 1
        self.kernels[k.id] = k
        self.kernel_of[n.id] = k.id
        self.deps[k.id] = set()
        self._add_deps(k.id, n)
        return k

    def _producer_kernels(self, n):
        """Kernels whose values ``n`` reads (through free views)."""
        out = set()
        stack = list(n.inputs)
        while stack:
            i = stack.pop()
            if i.id in self.kernel_of:
                out.add(self.kernel_of[i.id])
            elif i.kind == ops_table.VIEW:
                stack.extend(i.inputs)
        return out

    def _add_deps(self, kid, n):
        self.deps[kid] |= {k for k in self._producer_kernels(n) if k != kid}

    def _reaches(self, src: int, dst: int) -> bool:
        """Whether kernel ``dst`` (transitively) reads from kernel ``src``."""
        seen, stack = set(), [dst]
        while stack:
            k = stack.pop()
            if k == src:
                return True
            if k in seen:
                continue
            seen.add(k)
            stack.extend(self.deps[k])
        return False

    def join(self, k: Kernel, n) -> bool:
        """Add ``n`` to ``k`` if that creates no cycle."""
        for other in self._producer_kernels(n):
            if other != k.id and self._reaches(k.id, other):
                log.debug("not fusing %%%d into %s: it also reads kernel k%d, which depends on it (cycle)", n.id, k.name, other)
                return False
        k.nodes.append(n)
        self.kernel_of[n.id] = k.id
        self._add_deps(k.id, n)
        return True

    def candidate_kernels(self, n):
        """Producer kernels of ``n`` reached directly or through broadcast views."""
        found = []
        for i in n.inputs:
            j = i
            while j.id not in self.kernel_of and j.kind == ops_table.VIEW and is_broadcast_view(j):
                j = j.inputs[0]
            if j.id in self.kernel_of:
                kid = self.kernel_of[j.id]
                if kid not in found:
                    found.append(kid)
        return [self.kernels[k] for k in found]

    def _via_views_ok(self, n, k: Kernel) -> bool:
        """Views between ``n`` and kernel ``k`` must be broadcast-like to fuse."""
        for i in n.inputs:
            j = i
            while j.id not in self.kernel_of and j.kind == ops_table.VIEW:
                if not is_broadcast_view(j):
                    if self._producer_kernels(j) == {k.id}:
                        log.debug("not fusing %%%d into %s: %s view %%%d in between is not a broadcast", n.id, k.name, j.op, j.id)
                        return False
                    break
                j = j.inputs[0]
        return True

    def place_elementwise(self, n):
        shape = tuple(n.shape)
        for k in self.candidate_kernels(n):
            fits = (
                (k.kind == POINTWISE and k.domain == shape)
                or (k.kind == REDUCTION and shape in (k.domain, _reduced(k.domain, k.axes, True), _reduced(k.domain, k.axes, False)))
                or (k.kind == MATMUL and k.domain == shape)
            )
            if not fits:
                log.debug("not fusing %%%d (%s %s) into %s: shape differs from the kernel's domain %s", n.id, n.op, list(shape), k.name, list(k.domain))
                continue
            if not self._via_views_ok(n, k):
                continue
            if self.join(k, n):
                self.absorb_siblings(k, n)
                return
        self._log_view_refusals(n)
        self.new_kernel(POINTWISE, n, shape)

    def _log_view_refusals(self, n) -> None:
        """Say why ``n`` did not join producers it reads through a non-broadcast view."""
        direct = {k.id for k in self.candidate_kernels(n)}
        for i in n.inputs:
            j = i
            while j.id not in self.kernel_of and j.kind == ops_table.VIEW:
                if not is_broadcast_view(j):
                    for kid in self._producer_kernels(j) - direct:
                        log.debug(
                            "not fusing %%%d (%s) into %s: it reads that kernel through %s view %%%d, which is not a broadcast",
                            n.id, n.op, self.kernels[kid].name, j.op, j.id,
                        )
                    break
                j = j.inputs[0]

    def absorb_siblings(self, k: Kernel, n) -> None:
        """Merge the other producer kernels of ``n`` that fit ``k`` (horizontal fusion), so
        ``0.5 * x * (1 + tanh(...))`` is one kernel rather than two with a full-size temporary."""
        for other in self.candidate_kernels(n):
            if other.id == k.id or other.id not in self.kernels:
                continue
            # A matmul kernel takes an epilogue only: a sibling would have to run before the
            # matmul (and may even feed it), which its codegen cannot express.
            fits = (other.kind == POINTWISE and other.domain == k.domain and k.kind != MATMUL) or (
                other.kind == REDUCTION and k.kind == REDUCTION and other.domain == k.domain and other.axes == k.axes
            )
            if not fits:
                continue
            if self._path_between(k.id, other.id) or self._path_between(other.id, k.id):
                log.debug("not merging %s into %s: another kernel lies between them", other.name, k.name)
                continue
            if self._reads_through_view(k, other) or self._reads_through_view(other, k):
                log.debug("not merging %s into %s: one reads the other through a view that is not a broadcast", other.name, k.name)
                continue
            self.merge(k, other)

    def _reads_through_view(self, reader: Kernel, producer: Kernel) -> bool:
        """Whether a node of ``reader`` reads ``producer`` through a non-broadcast view (a
        slice, a reshape): in one kernel that value would be read at other positions than
        the block being computed, so the two must stay apart."""
        for n in reader.nodes:
            for i in n.inputs:
                j, through = i, False
                while j.id not in self.kernel_of and j.kind == ops_table.VIEW:
                    through = through or not is_broadcast_view(j)
                    j = j.inputs[0]
                if through and self.kernel_of.get(j.id) == producer.id:
                    return True
        return False

    def _path_between(self, src: int, dst: int) -> bool:
        """Whether ``dst`` reads from ``src`` through at least one other kernel."""
        return any(d != src and self._reaches(src, d) for d in self.deps[dst])

    def merge(self, k: Kernel, other: Kernel) -> None:
        k.nodes = sorted(k.nodes + other.nodes, key=lambda m: self.position[m.id])
        for m in other.nodes:
            self.kernel_of[m.id] = k.id
        self.deps[k.id] = (self.deps[k.id] | self.deps[other.id]) - {k.id, other.id}
        del self.deps[other.id]
        del self.kernels[other.id]
        for deps in self.deps.values():
            if other.id in deps:
                deps.discard(other.id)
                deps.add(k.id)
        self.deps[k.id].discard(k.id)

    def place_reduce(self, n):
        domain, axes = tuple(n.inputs[0].shape), tuple(n.attrs["axes"])
        for k in self.candidate_kernels(n):
            if k.kind == POINTWISE and k.domain == domain and self._via_views_ok(n, k):
                # Prologue: the pointwise group becomes this reduction's row kernel.
                if self.join(k, n):
                    k.kind, k.axes = REDUCTION, axes
                    self.absorb_siblings(k, n)
                    return
            elif k.kind == REDUCTION and k.domain == domain and k.axes == axes and self._via_views_ok(n, k):
                if self.join(k, n):
                    self.absorb_siblings(k, n)
                    return
            else:
                log.debug(
                    "not fusing reduction %%%d into %s: different domain or axes (%s over %s; the kernel: %s %s over %s)",
                    n.id, k.name, list(domain), list(axes), k.kind, list(k.domain), list(k.axes),
                )
        self.new_kernel(REDUCTION, n, domain, axes)

    def run(self) -> Schedule:
        for n in self.graph.live_nodes():
            kind = n.kind
            if kind == ops_table.SOURCE or (is_scalar_constant(n)):
                continue
            if kind == ops_table.VIEW:
                continue
            if kind in _ELEMENTWISE_KINDS:
                self.place_elementwise(n)
            elif kind == ops_table.REDUCE and n.numel > 0:
                self.place_reduce(n)
            elif kind == ops_table.MATMUL:
                self.new_kernel(MATMUL, n, tuple(n.shape))
            else:
                self.new_kernel(SINGLE, n, tuple(n.shape))
        return self.finish()

    def finish(self) -> Schedule:
        g = nx.DiGraph()
        g.add_nodes_from(self.kernels)
        for kid, deps in self.deps.items():
            for d in deps:
                g.add_edge(d, kid)
        if not nx.is_directed_acyclic_graph(g):
            raise AssertionError("fusion produced a cycle between kernels; this is a bug in ir/passes/fusion.py")
        users = self.users
        outputs = {o.id for o in self.graph.outputs} | {v.id for _, v in self.graph.mutations}

        def escapes(n, inside) -> bool:
            """Whether n's value is needed outside its kernel (looking through views)."""
            if n.id in outputs:
                return True
            for u in users[n]:
                if u.kind == ops_table.VIEW and u.id not in self.kernel_of:
                    if escapes(u, inside):
                        return True
                elif u.id not in inside:
                    return True
            return False

        for k in self.kernels.values():
            inside = {n.id for n in k.nodes}
            ins = []
            for n in k.nodes:
                for i in n.inputs:
                    root = i
                    while root.id not in inside and root.kind == ops_table.VIEW:
                        root = root.inputs[0]
                    if root.id in inside or is_scalar_constant(i) or i in ins:
                        continue
                    ins.append(i)
            k.inputs = ins
            k.outputs = [n for n in k.nodes if escapes(n, inside)]
        materialized = {n.id for k in self.kernels.values() for n in k.outputs}
        # Execution order: topological over kernels; views right after their input exists.
        order = list(nx.lexicographical_topological_sort(g))
        steps, done = [], set()
        pending_views = [n for n in self.graph.live_nodes() if n.kind == ops_table.VIEW or n.kind == ops_table.SOURCE or is_scalar_constant(n)]

        def flush_views():
            progress = True
            while progress:
                progress = False
                for v in list(pending_views):
                    if all(i.id in done and (i.id in materialized or i.id not in self.kernel_of) for i in v.inputs):
                        steps.append(("view", v))
                        done.add(v.id)
                        pending_views.remove(v)
                        progress = True

        flush_views()
        for kid in order:
            k = self.kernels[kid]
            steps.append(("kernel", k))
            done.update(n.id for n in k.nodes)
            flush_views()
        kernels = [self.kernels[kid] for kid in order]
        for new_id, k in enumerate(kernels):
            k.id = new_id
        kernel_of = {n.id: k.id for k in kernels for n in k.nodes}
        for k in kernels:
            for n in k.nodes:
                n.meta["kernel"] = k.id
        return Schedule(self.graph, kernels, kernel_of, steps)


def _reduced(domain, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(domain))
    return tuple(s for i, s in enumerate(domain) if i not in axes)


def fuse(graph: Graph) -> Schedule:
    """Partition ``graph`` into kernels (see the module docstring)."""
    return _Fuser(order_collectives(graph)).run()
