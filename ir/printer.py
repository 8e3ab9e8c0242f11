"""Readable text form of graphs, one line a node, in the manner of a jaxpr::

    graph f(%0: f32[5,3], %1: f32[3]) {
      %2 = mul %0, %1 : f32[5,3]
      %3 = sum %2 {axes=(1,), keepdim=False} : f32[5]
      return %3
    }
"""

from __future__ import annotations

import numpy as np


def format_type(node) -> str:
    return f"{node.dtype.short}[{','.join(str(s) for s in node.shape)}]"


def _format_value(v) -> str:
    if isinstance(v, np.ndarray):
        if v.size <= 4:
            return np.array2string(v, separator=",").replace("\n", "")
        return f"<array {v.dtype}{list(v.shape)}>"
    if hasattr(v, "short"):
        return v.short
    return repr(v)


def format_attrs(node) -> str:
    attrs = {k: v for k, v in node.attrs.items() if not (node.op in ("input", "constant", "full", "iota") and k in ("shape", "dtype"))}
    if node.op == "input":
        attrs.pop("name", None)
    if not attrs:
        return ""
    return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in attrs.items()) + "}"


def format_node(node) -> str:
    args = ", ".join(f"%{i.id}" for i in node.inputs)
    attrs = format_attrs(node)
    parts = [f"%{node.id} = {node.op}"]
    if args:
        parts.append(args)
    if attrs:
        parts.append(attrs)
    line = " ".join(parts) + f" : {format_type(node)}"
    src = node.meta.get("source")
    if src:
        line += f"  # {src}"
    return line


def format_graph(graph) -> str:
    """The whole graph as text: signature, one line a node, return and mutations."""
    sig = ", ".join(
        f"%{n.id}: {format_type(n)}" + (f" ({n.attrs.get('name')})" if n.attrs.get("name") else "")
        for n in graph.inputs
    )
    lines = [f"graph {graph.name}({sig}) {{"]
    for n in graph.nodes:
        if n.op == "input":
            continue
        lines.append("  " + format_node(n))
    for target, value in graph.mutations:
        lines.append(f"  write %{value.id} -> %{target.id}")
    lines.append("  return " + ", ".join(f"%{n.id}" for n in graph.outputs))
    lines.append("}")
    return "\n".join(lines)
