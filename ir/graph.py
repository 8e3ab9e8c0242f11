"""The graph IR: an SSA DAG of nodes with explicit inputs, outputs and mutations.

A :class:`Node` is one value: an op from :mod:`ir.ops`, its ordered inputs
(other nodes), its attributes, and its inferred shape and dtype. A
:class:`Graph` owns nodes in a topological order (the order they were added,
which passes keep valid), names its ``inputs`` (``input`` nodes) and
``outputs``, and lists ``mutations``: pairs ``(input, value)`` meaning "write
``value`` back into that input after running". Mutations are data, not
side effects, so every pass stays functional.

``structural_hash()`` depends only on ops, attributes, shapes, dtypes and
wiring (not on node ids), which makes it the compile-cache key.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import networkx as nx
import numpy as np

from . import dtypes as dt
from . import ops as ops_table
from .dtypes import DType
from .ops.core import is_broadcast_view, is_scalar_constant, scalar_value  # noqa: F401  (graph queries)
from .ops.evaluate import round_bf16
from .printer import format_attrs, format_graph, format_node


class Node:
    """One SSA value of a graph. Create nodes with :meth:`Graph.add`."""

    __slots__ = ("id", "op", "inputs", "attrs", "shape", "dtype", "meta")

    def __init__(self, id: int, op: str, inputs: tuple, attrs: dict, shape: tuple, dtype: DType):
        self.id = id
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.shape = shape
        self.dtype = dtype
        self.meta: dict = {}  # free-form annotations (source line, kernel id, ...)

    @property
    def opdef(self) -> ops_table.OpDef:
        return ops_table.OPS[self.op]

    @property
    def kind(self) -> str:
        return ops_table.OPS[self.op].kind

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def name(self) -> str:
        return f"%{self.id}"

    def __repr__(self) -> str:
        return f"<Node {format_node(self)}>"


def view_root(n, inside=()):
    """Follow view nodes from ``n`` back to the first non-view (or a node in ``inside``, a set
    of ids); returns ``(root, views)`` with the views ordered from the root outwards."""
    chain = []
    while n.id not in inside and n.kind == ops_table.VIEW:
        chain.append(n)
        n = n.inputs[0]
    return n, chain[::-1]


def leaving_aliases(graph, materialized=()) -> set:
    """Ids of the values leaving ``graph`` (outputs, then mutation values) that would alias
    an input, a constant, a buffer in ``materialized`` (ids of reused buffers) or an earlier
    leaving value: a program returns copies of those, so callers never share memory."""
    out, seen = set(), set()
    for o in list(graph.outputs) + [v for _, v in graph.mutations]:
        root, _ = view_root(o)
        if root.kind == ops_table.SOURCE or is_scalar_constant(root) or root.id in seen or root.id in materialized:
            out.add(o.id)
        seen.add(root.id)
    return out


def _canonical(value) -> str:
    """A deterministic text form of an attribute value for hashing."""
    if isinstance(value, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"array({value.dtype.str},{value.shape},{digest})"
    if isinstance(value, DType):
        return value.name
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, float):
        return repr(float(value))
    return repr(value)


class Graph:
    """A DAG of nodes in topological order, with explicit inputs, outputs and mutations."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.nodes: list[Node] = []
        self.inputs: list[Node] = []
        self.outputs: list[Node] = []
        self.mutations: list[tuple[Node, Node]] = []
        self._next_id = 0

    # -- building ---------------------------------------------------------
    def add(self, op: str, inputs: Iterable[Node] = (), **attrs) -> Node:
        """Append a node for ``op``; shape and dtype come from the op table's rules."""
        inputs = tuple(inputs)
        opdef = ops_table.get(op)
        shape, dtype = opdef.infer(inputs, attrs)
        node = Node(self._next_id, op, inputs, attrs, shape, dtype)
        self._next_id += 1
        self.nodes.append(node)
        return node

    def add_input(self, shape, dtype: DType, name: str | None = None) -> Node:
        node = self.add("input", shape=tuple(shape), dtype=dtype, name=name or f"in{len(self.inputs)}")
        self.inputs.append(node)
        return node

    def add_constant(self, value, dtype: DType) -> Node:
        value = np.asarray(value, dtype=dtype.numpy_dtype)
        if dtype is dt.bfloat16:  # stored as float32: the value bfloat16 holds, as every result
            value = round_bf16(value)
        return self.add("constant", shape=tuple(value.shape), dtype=dtype, value=value)

    # -- queries -----------------------------------------------------------
    def users(self) -> dict[Node, list[Node]]:
        """Each node's users, in order (a user appears once per use)."""
        out: dict[Node, list[Node]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n)
        return out

    def live_nodes(self) -> list[Node]:
        """Nodes that an output or a mutation depends on, plus every input, in order."""
        live: set[int] = set()
        stack = list(self.outputs) + [v for _, v in self.mutations] + [t for t, _ in self.mutations]
        while stack:
            n = stack.pop()
            if n.id in live:
                continue
            live.add(n.id)
            stack.extend(n.inputs)
        return [n for n in self.nodes if n.id in live or n.op == "input"]

    def structural_hash(self) -> str:
        """A hex digest of the graph's structure (ops, attrs, shapes, dtypes, wiring)."""
        h = hashlib.sha256()
        pos = {}
        for i, n in enumerate(self.nodes):
            pos[n.id] = i
            attrs = {k: v for k, v in n.attrs.items() if k != "name"}
            h.update(
                f"{n.op}|{_canonical(attrs)}|{n.shape}|{n.dtype.name}|"
                f"{[pos[x.id] for x in n.inputs]};".encode()
            )
        h.update(f"in{[pos[n.id] for n in self.inputs]}".encode())
        h.update(f"out{[pos[n.id] for n in self.outputs]}".encode())
        h.update(f"mut{[(pos[a.id], pos[b.id]) for a, b in self.mutations]}".encode())
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __str__(self) -> str:
        return format_graph(self)

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.inputs)} inputs, {len(self.nodes)} nodes, {len(self.outputs)} outputs>"

    # -- export --------------------------------------------------------------
    def to_networkx(self):
        """A ``networkx.MultiDiGraph``: one vertex per node id with ``op``, ``shape``,
        ``dtype``, ``attrs`` and ``label``; one edge per use, keyed by input position."""
        g = nx.MultiDiGraph(name=self.name)
        outputs = {n.id for n in self.outputs}
        for n in self.nodes:
            g.add_node(
                n.id,
                op=n.op,
                kind=n.kind,
                shape=tuple(n.shape),
                dtype=n.dtype.short,
                attrs=format_attrs(n),
                label=f"%{n.id} {n.op}",
                is_input=n.op == "input",
                is_output=n.id in outputs,
                **{k: v for k, v in n.meta.items() if isinstance(v, (str, int, float))},
            )
        for n in self.nodes:
            for pos, i in enumerate(n.inputs):
                g.add_edge(i.id, n.id, key=pos, position=pos)
        return g
