"""The drawing model every renderer shares, and the builders that make it.

A :class:`VGraph` is what gets drawn: boxes (:class:`VNode`) with label lines,
a fill and stroke, CSS classes and a dict of details (shown on hover);
edges; and clusters (fused kernels). Builders turn an ``ir.Graph`` (optionally
with kernels from a compile report), a stage of a report, or a tensor's
autograd history into one; the text, DOT, SVG and HTML renderers only read
the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ir.graph import Graph
from ir.printer import format_attrs, format_node, format_type

from .._tensor import Tensor

# Fills by op kind (ir.ops kinds) and special roles.
KIND_FILL = {
    "input": "#dbeafe",
    "source": "#f1f5f9",
    "creation": "#f1f5f9",
    "random": "#fce7f3",
    "elementwise": "#ffffff",
    "cast": "#ffffff",
    "reduce": "#fef3c7",
    "scan": "#fef3c7",
    "view": "#ede9fe",
    "pad": "#ede9fe",
    "concat": "#ede9fe",
    "matmul": "#fee2e2",
    "index": "#dcfce7",
}
KIND_LEGEND = [
    ("input", "input"),
    ("constant", "source"),
    ("elementwise", "elementwise"),
    ("reduce", "reduce"),
    ("view", "view"),
    ("matmul", "matmul"),
    ("index", "index"),
]
STROKE = "#475569"
OUTPUT_STROKE = "#15803d"
BACKWARD_STROKE = "#c2410c"
UPDATE_STROKE = "#7c3aed"

# Kernel cluster colors (Tableau 10), cycled; the cluster background is a light tint.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

MAX_LINE = 46  # label lines are cut here; the full text is in the details


def kernel_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@dataclass
class VNode:
    id: str
    lines: list
    fill: str = "#ffffff"
    stroke: str = STROKE
    classes: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    cluster: object = None
    dashed: bool = False
    bold: bool = False  # thicker border (outputs)
    shape: str = "box"  # box | ellipse (tensors in autograd graphs)


@dataclass
class VEdge:
    src: str
    dst: str
    port: int = 0
    nports: int = 1
    classes: list = field(default_factory=list)
    dashed: bool = False


@dataclass
class VCluster:
    key: object
    label: str
    color: str
    source: str = ""
    kind: str = ""
    nodes: list = field(default_factory=list)


@dataclass
class VGraph:
    title: str
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    clusters: dict = field(default_factory=dict)
    legend: list = field(default_factory=list)  # (label, fill, stroke, dashed)
    subtitle: str = ""
    kind: str = "ir"  # ir | autograd


def _cut(s: str, n: int = MAX_LINE) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# ----------------------------------------------------------------------------
# ir.Graph


def phases(graph) -> dict:
    """Each node's phase: 'forward', 'backward' (recorded while autograd ran
    backward: ``meta['phase']``) or 'update' (after the backward, reading its
    results — optimizer steps)."""
    out = {}
    any_bwd = any(n.meta.get("phase") == "backward" for n in graph.nodes)
    for n in graph.nodes:
        p = n.meta.get("phase")
        if p == "backward":
            out[n.id] = "backward"
        elif any_bwd and n.op != "input" and any(out.get(i.id) in ("backward", "update") for i in n.inputs):
            out[n.id] = "update"
        else:
            out[n.id] = p if isinstance(p, str) and p else "forward"
    return out


def kernel_map(graph, kernels=None) -> tuple[dict, dict]:
    """(node id -> kernel index, kernel index -> VCluster) from report kernels or ``meta['kernel']``."""
    of: dict = {}
    clusters: dict = {}
    if kernels:
        for i, k in enumerate(kernels):
            clusters[i] = VCluster(
                i, getattr(k, "name", f"k{i}"), kernel_color(i), getattr(k, "source", "") or "", getattr(k, "kind", "")
            )
            for nid in getattr(k, "nodes", []) or []:
                of.setdefault(nid, i)
    else:
        for n in graph.nodes:
            k = n.meta.get("kernel")
            if isinstance(k, int):
                of[n.id] = k
                if k not in clusters:
                    clusters[k] = VCluster(k, f"k{k}", kernel_color(k))
    ids = {n.id for n in graph.nodes}
    of = {nid: k for nid, k in of.items() if nid in ids}
    for nid, k in of.items():
        clusters[k].nodes.append(nid)
    clusters = {k: c for k, c in clusters.items() if c.nodes}
    return of, clusters


def graph_model(
    graph,
    *,
    kernels=None,
    clusters: bool = True,
    show_phases: bool = True,
    title: str | None = None,
    subtitle: str = "",
) -> VGraph:
    """The drawing of an ``ir.Graph``: one box per node (op, type, attrs, source line)."""
    vg = VGraph(title or f"graph {graph.name}", subtitle=subtitle)
    users: dict = {n.id: [] for n in graph.nodes}
    for n in graph.nodes:
        for i in n.inputs:
            if i.id in users:
                users[i.id].append(n.id)
    outputs = {}
    for pos, n in enumerate(graph.outputs):
        outputs.setdefault(n.id, []).append(pos)
    writes = {}
    for t, v in graph.mutations:
        writes.setdefault(v.id, []).append(t.id)
    phase = phases(graph) if show_phases else {}
    kof, kclusters = kernel_map(graph, kernels) if clusters else ({}, {})
    vg.clusters = kclusters
    kinds_seen = set()
    phases_seen = set()
    for n in graph.nodes:
        kind = "input" if n.op == "input" else n.kind
        kinds_seen.add("source" if n.op == "constant" else kind)
        head = f"%{n.id} {n.op}"
        if n.op == "input" and n.attrs.get("name"):
            head += f" {n.attrs['name']}"
        lines = [_cut(head), format_type(n)]
        attrs = format_attrs(n)
        if attrs:
            lines.append(_cut(attrs))
        src = n.meta.get("source")
        if src:
            lines.append(_cut(str(src)))
        for pos in outputs.get(n.id, ()):
            lines.append(f"→ output {pos}")
        for t in writes.get(n.id, ()):
            lines.append(f"→ writes %{t}")
        p = phase.get(n.id, "forward")
        phases_seen.add(p)
        classes = ["op-" + n.op, "kind-" + kind, "phase-" + p]
        stroke, dashed = STROKE, False
        if p == "backward":
            stroke, dashed = BACKWARD_STROKE, True
        elif p == "update":
            stroke = UPDATE_STROKE
        if n.id in outputs:
            classes.append("output")
            stroke = OUTPUT_STROKE if p == "forward" else stroke
        if n.id in writes:
            classes.append("mutation")
        details = {
            "node": f"%{n.id}",
            "op": n.op,
            "kind": n.kind,
            "type": format_type(n),
            "text": format_node(n),
        }
        if attrs:
            details["attrs"] = attrs
        if n.inputs:
            details["inputs"] = ", ".join(f"%{i.id}" for i in n.inputs)
        if users[n.id]:
            details["users"] = ", ".join(f"%{u}" for u in users[n.id])
        if src:
            details["source"] = str(src)
        if show_phases and phases_seen != {"forward"}:
            details["phase"] = p
        k = kof.get(n.id)
        if k is not None:
            details["kernel"] = kclusters[k].label
            classes.append(f"kernel-{k}")
        for key, v in n.meta.items():
            if key not in ("source", "phase", "kernel") and isinstance(v, (str, int, float, bool)):
                details[f"meta.{key}"] = str(v)
        vg.nodes.append(
            VNode(
                str(n.id),
                lines,
                fill=KIND_FILL.get("source" if n.op == "constant" else kind, "#ffffff"),
                stroke=stroke,
                classes=classes,
                details=details,
                cluster=k,
                dashed=dashed,
                bold=n.id in outputs or n.id in writes,
            )
        )
        nin = len(n.inputs)
        for pos, i in enumerate(n.inputs):
            ecls = []
            if phase.get(n.id) == "backward":
                ecls.append("backward")
            vg.edges.append(VEdge(str(i.id), str(n.id), pos, nin, ecls, dashed=phase.get(n.id) == "backward"))
    for label, kind in KIND_LEGEND:
        if kind in kinds_seen:
            vg.legend.append((label, KIND_FILL[kind], STROKE, False))
    if "backward" in phases_seen:
        vg.legend.append(("backward", "#ffffff", BACKWARD_STROKE, True))
    if "update" in phases_seen:
        vg.legend.append(("update", "#ffffff", UPDATE_STROKE, False))
    if outputs:
        vg.legend.append(("output", "#ffffff", OUTPUT_STROKE, False))
    return vg


def subgraph(graph, keep: set, name: str | None = None):
    """A new ``ir.Graph`` with only the nodes in ``keep`` (ids kept; every kept
    node's inputs must be kept too), with the outputs and mutations among them."""
    g = Graph(name or graph.name)
    m = {}
    for n in graph.nodes:
        if n.id not in keep or any(i.id not in m for i in n.inputs):
            continue
        g._next_id = n.id
        new = g.add(n.op, [m[i.id] for i in n.inputs], **n.attrs)
        new.meta.update(n.meta)
        m[n.id] = new
    g._next_id = max(m, default=-1) + 1
    g.inputs = [m[n.id] for n in graph.inputs if n.id in m]
    g.outputs = [m[n.id] for n in graph.outputs if n.id in m]
    g.mutations = [(m[t.id], m[v.id]) for t, v in graph.mutations if t.id in m and v.id in m]
    return g


def forward_subgraph(graph):
    """The forward part of a traced training step (no backward or update nodes)."""
    ph = phases(graph)
    keep = {nid for nid, p in ph.items() if p == "forward"}
    used = {i.id for n in graph.nodes if n.id in keep for i in n.inputs}
    used |= {n.id for n in graph.outputs}
    keep = {n.id for n in graph.nodes if n.id in keep and (n.inputs or n.op == "input" or n.id in used)}
    return subgraph(graph, keep, graph.name)


# ----------------------------------------------------------------------------
# compile reports

STAGES = [
    ("traced_forward", "traced (forward)"),
    ("after_autodiff", "after autodiff"),
    ("after_simplify", "after simplify"),
    ("after_fusion", "after fusion"),
]
STAGE_TITLES = dict(STAGES)


def is_report(obj) -> bool:
    return all(hasattr(obj, a) for a in ("traced", "optimized", "kernels", "function"))


def stage_graph(report, stage: str):
    """The ``ir.Graph`` of one stage of a report, and whether it has kernel clusters."""
    if stage == "traced_forward":
        return forward_subgraph(report.traced), False
    if stage == "after_autodiff":
        return report.traced, False
    if stage == "after_simplify":
        return report.optimized, False
    if stage == "after_fusion":
        return report.optimized, True
    raise ValueError(f"unknown stage {stage!r}; expected one of {[s for s, _ in STAGES]}")


def report_model(report, stage: str = "after_fusion") -> VGraph:
    g, clustered = stage_graph(report, stage)
    title = f"{report.function}{report.signature} — {STAGE_TITLES[stage]}"
    sub = f"{len(g.nodes)} nodes"
    if clustered:
        sub += f", {len(report.kernels)} kernels ({report.backend})"
    return graph_model(g, kernels=report.kernels if clustered else None, clusters=clustered, title=title, subtitle=sub)


# ----------------------------------------------------------------------------
# autograd history (like torchviz's make_dot)


def _shape_text(t) -> str:
    dtype = getattr(t, "dtype", None)
    short = getattr(dtype, "short", str(dtype))
    return f"{short}[{','.join(str(s) for s in tuple(t.shape))}]"


def autograd_model(roots, params: dict | None = None, show_attrs: bool = False, title: str | None = None) -> VGraph:
    """The grad_fn graph behind ``roots`` (a tensor or several): a box per grad_fn
    (its name, and the forward op's output type), the leaf tensors that
    AccumulateGrad writes to (with their shapes), and the output tensors."""
    if not isinstance(roots, (list, tuple)):
        roots = [roots]
    names = {id(v): k for k, v in (params or {}).items()}
    vg = VGraph(title or "autograd graph", kind="autograd")
    seen: dict = {}

    def vid(obj) -> str:
        key = id(obj)
        if key not in seen:
            seen[key] = f"a{len(seen)}"
        return seen[key]

    added: set = set()

    def add_tensor(t, role):
        nid = vid(t)
        if nid in added:
            return nid
        added.add(nid)
        name = names.get(id(t), "")
        lines = ([name] if name else []) + [_shape_text(t)]
        if role == "output":
            lines.append("output")
        fill = "#d9f99d" if role == "output" else "#bfdbfe"
        vg.nodes.append(
            VNode(
                nid,
                lines,
                fill=fill,
                stroke=STROKE,
                classes=["tensor", role],
                details={
                    "tensor": name or role,
                    "type": _shape_text(t),
                    "requires_grad": str(getattr(t, "requires_grad", "")),
                },
                shape="ellipse",
            )
        )
        return nid

    def fn_node(fn):
        nid = vid(fn)
        if nid in added:
            return nid
        added.add(nid)
        name = fn.name() if hasattr(fn, "name") else type(fn).__name__
        lines = [name]
        details = {"grad_fn": name}
        op = getattr(fn, "op", None)
        inner = fn
        while op is None and getattr(inner, "inner", None) is not None:  # composite: show the primitive
            inner = inner.inner
            op = getattr(inner, "op", None)
        if op is not None:
            shape = getattr(inner, "shape", None)
            dtype = getattr(inner, "dtype", None)
            ty = f"{getattr(dtype, 'short', dtype)}[{','.join(str(s) for s in shape)}]" if shape is not None else ""
            lines.append(f"{op} → {ty}" if ty else op)
            details["forward op"] = op
            if ty:
                details["output"] = ty
            attrs = getattr(inner, "attrs", None)
            if attrs:
                text = ", ".join(f"{k}={v}" for k, v in attrs.items() if not k.startswith("_"))
                if text:
                    details["attrs"] = text
                    if show_attrs:
                        lines.append(_cut("{" + text + "}"))
            ins = getattr(inner, "in_shapes", None)
            if ins:
                details["inputs"] = ", ".join(str(list(s)) for s in ins)
        fill = "#e5e7eb" if name != "AccumulateGrad" else "#d1d5db"
        vg.nodes.append(VNode(nid, lines, fill=fill, classes=["grad_fn", name], details=details))
        return nid

    stack = []
    for t in roots:
        out_id = add_tensor(t, "output")
        fn = getattr(t, "grad_fn", None)
        if fn is not None:
            vg.edges.append(VEdge(fn_node(fn), out_id))
            stack.append(fn)
        elif getattr(t, "requires_grad", False):
            pass  # a leaf: just the tensor
    done: set = set()
    while stack:
        fn = stack.pop()
        if id(fn) in done:
            continue
        done.add(id(fn))
        me = fn_node(fn)
        var = getattr(fn, "variable", None) if type(fn).__name__ == "AccumulateGrad" else None
        if var is not None:
            vg.edges.append(VEdge(add_tensor(var, "leaf"), me))
        nexts = [nf for nf, _ in getattr(fn, "next_functions", ()) if nf is not None]
        for k, nf in enumerate(nexts):
            vg.edges.append(VEdge(fn_node(nf), me, k, len(nexts)))
            stack.append(nf)
    vg.legend = [
        ("output", "#d9f99d", STROKE, False),
        ("leaf tensor", "#bfdbfe", STROKE, False),
        ("grad_fn", "#e5e7eb", STROKE, False),
    ]
    return vg


def kind_of(obj) -> str:
    """What ``obj`` is to draw: ``"graph"`` (an ir.Graph), ``"report"`` or ``"autograd"`` (tensors)."""
    if isinstance(obj, Graph):
        return "graph"
    if is_report(obj):
        return "report"
    if isinstance(obj, Tensor) or (isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj)):
        return "autograd"
    raise TypeError(
        f"graphc.viz cannot draw a {type(obj).__name__}: pass an ir.Graph, a compile Report "
        "(compiled_fn.explain(*args)) or a tensor with autograd history"
    )
