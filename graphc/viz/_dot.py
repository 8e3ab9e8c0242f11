"""DOT (Graphviz) text of a :class:`~graphc.viz._model.VGraph`.

A plain subset of the language that ``dot``, pydot and networkx all read:
one ``nID`` statement per node with quoted attributes, one ``nA -> nB``
statement per edge (in operand order), and a ``subgraph cluster_K`` per fused
kernel listing its members.
"""

from __future__ import annotations

from ._model import VGraph


def q(s) -> str:
    """A DOT quoted string."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def node_name(nid: str) -> str:
    return "n" + "".join(c if c.isalnum() or c == "_" else "_" for c in str(nid))


def render_dot(vg: VGraph) -> str:
    lines = [f"digraph {q(vg.title)} {{"]
    lines.append(f"  graph [rankdir=TB, fontname=monospace, fontsize=12, labelloc=t, label={q(vg.title)}];")
    lines.append('  node [shape=box, style="rounded,filled", fontname=monospace, fontsize=10];')
    lines.append('  edge [color="#64748b", arrowsize=0.7];')
    for key, c in vg.clusters.items():
        lines.append(f"  subgraph {q('cluster_' + str(key))} {{")
        lines.append(
            f'    label={q(c.label)}; style="filled,rounded"; color={q(c.color)}; fillcolor={q(c.color + "30")}; fontcolor={q(c.color)};'
        )
        for nid in c.nodes:
            lines.append(f"    {node_name(nid)};")
        lines.append("  }")
    for n in vg.nodes:
        attrs = {
            "label": "\n".join(n.lines),
            "fillcolor": n.fill,
            "color": n.stroke,
            "tooltip": "\n".join(f"{k}: {v}" for k, v in n.details.items()),
            "class": " ".join(["node"] + n.classes),
            "id": f"node-{n.id}",
        }
        style = ["filled"] + (["rounded"] if n.shape == "box" else []) + (["dashed"] if n.dashed else [])
        attrs["style"] = ",".join(style)
        if n.shape != "box":
            attrs["shape"] = n.shape
        if n.bold:
            attrs["penwidth"] = "2.4"
        body = ", ".join(f"{k}={q(v)}" for k, v in attrs.items())
        lines.append(f"  {node_name(n.id)} [{body}];")
    known = {n.id for n in vg.nodes}
    for e in vg.edges:
        if e.src not in known or e.dst not in known:
            continue
        extra = ' [style="dashed"]' if e.dashed else ""
        lines.append(f"  {node_name(e.src)} -> {node_name(e.dst)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
