"""Text forms: graphs in the IR printer's syntax (annotated with kernels and
phases), whole reports, and autograd histories as trees."""

from __future__ import annotations

from ir.printer import format_graph, format_node, format_type

from ._model import STAGES, kernel_map, phases, stage_graph


def graph_text(graph, *, kernels=None, clusters: bool = False, show_phases: bool = True) -> str:
    """The printer's text, with ``[k3 name]`` after nodes of a kernel and a
    marker where the backward (and the update) part begins."""
    kof, kcl = kernel_map(graph, kernels) if clusters else ({}, {})
    ph = phases(graph) if show_phases else {}
    if not kof and set(ph.values()) <= {"forward"}:
        return format_graph(graph)
    base = format_graph(graph).split("\n")
    head, tail = base[0], base[1 + sum(1 for n in graph.nodes if n.op != "input") :]
    lines = [head]
    last = "forward"
    for n in graph.nodes:
        if n.op == "input":
            continue
        p = ph.get(n.id, "forward")
        if not n.inputs and p == "forward":
            p = last  # constants do not start a section
        if p != last and p in ("backward", "update"):
            lines.append(
                f"  # ---- {p} ----"
                + ("  (recorded while autograd ran backward)" if p == "backward" else "  (reads gradients)")
            )
        last = p
        line = "  " + format_node(n)
        k = kof.get(n.id)
        if k is not None:
            line += f"  [{kcl[k].label}]"
        lines.append(line)
    lines.extend(tail)
    if kof:
        lines.append("")
        lines.append(f"# {len(kcl)} kernels")
        for k, c in kcl.items():
            lines.append(f"#   {c.label} ({c.kind or 'kernel'}): " + " ".join(f"%{i}" for i in c.nodes))
    return "\n".join(lines)


def stage_text(report, stage: str) -> str:
    g, clustered = stage_graph(report, stage)
    return graph_text(g, kernels=report.kernels if clustered else None, clusters=clustered)


def report_text(report) -> str:
    lines = [
        f"graphc.compile report for {report.function}{report.signature} [{report.backend} backend]",
        f"  traced: {len(report.traced)} nodes; optimized: {len(report.optimized)} nodes; kernels: {len(report.kernels)}",
    ]
    if getattr(report, "timings", None):
        lines.append("  times: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in report.timings.items()))
    for stage, title in STAGES:
        lines += ["", f"== {title} ==", stage_text(report, stage)]
    lines += ["", "== kernels =="]
    for k in report.kernels:
        lines.append(f"-- {k.name} ({k.kind}): nodes {', '.join('%' + str(i) for i in k.nodes)}")
        lines.append(k.source)
    return "\n".join(lines)


def autograd_text(roots, params: dict | None = None) -> str:
    """The grad_fn history as an indented tree; a vertex seen before is not expanded again."""
    if not isinstance(roots, (list, tuple)):
        roots = [roots]
    names = {id(v): k for k, v in (params or {}).items()}
    lines = []
    seen: dict = {}

    def tensor_text(t):
        name = names.get(id(t))
        ty = f"{t.dtype.short}[{','.join(str(s) for s in tuple(t.shape))}]"
        return f"{name} {ty}" if name else ty

    def fn_text(fn):
        s = fn.name()
        inner = fn
        while getattr(inner, "op", None) is None and getattr(inner, "inner", None) is not None:
            inner = inner.inner
        op = getattr(inner, "op", None)
        if op is not None and getattr(inner, "shape", None) is not None:
            s += f"  ({op} -> {inner.dtype.short}[{','.join(str(x) for x in inner.shape)}])"
        var = getattr(fn, "variable", None) if fn.name() == "AccumulateGrad" else None
        if var is not None:
            s += f"  -> leaf {tensor_text(var)}"
        return s

    def walk(fn, prefix, last):
        branch = "└─ " if last else "├─ "
        if id(fn) in seen:
            lines.append(prefix + branch + f"{fn.name()} (#{seen[id(fn)]}, see above)")
            return
        seen[id(fn)] = len(seen)
        lines.append(prefix + branch + f"{fn_text(fn)}  #{seen[id(fn)]}")
        nexts = [nf for nf, _ in fn.next_functions if nf is not None]
        for i, nf in enumerate(nexts):
            walk(nf, prefix + ("   " if last else "│  "), i == len(nexts) - 1)

    for t in roots:
        lines.append(
            f"tensor {tensor_text(t)}" + (f"  grad_fn={t.grad_fn.name()}" if t.grad_fn is not None else "  (leaf)")
        )
        if t.grad_fn is not None:
            walk(t.grad_fn, "", True)
    return "\n".join(lines)


__all__ = ["graph_text", "stage_text", "report_text", "autograd_text", "format_type"]
