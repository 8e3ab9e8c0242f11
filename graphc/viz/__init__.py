"""``graphc.viz``: draw graphs — IR graphs, compile reports, autograd histories.

Anything drawable is one of:

* an ``ir.Graph`` (``graphc.compiler.trace(f, x)``, ``report.traced``, ``report.optimized``);
* a compile :class:`~graphc._report.Report` (``compiled_fn.explain(*args)``):
  its stages *traced (forward)*, *after autodiff*, *after simplify* and
  *after fusion* (kernels drawn as colored clusters), and the generated code;
* a tensor (or a list of tensors) with autograd history: like torchviz's
  ``make_dot``, a box per ``grad_fn``, ``AccumulateGrad`` into the leaf
  tensors with their shapes, and the output.

Formats: text, DOT, SVG, a self-contained interactive HTML page, JSON (graphs
and reports), and a networkx graph::

    import graphc
    report = step.explain(x, y)
    graphc.viz.save(report, "step.html")            # format from the extension
    graphc.viz.save(report.traced, "traced.svg")
    graphc.viz.save(loss, "loss_autograd.svg", params=dict(model.named_parameters()))
    g = graphc.viz.from_json(open("graph.json").read())

SVG and HTML need no Graphviz and no network: the layout is computed in
Python (:mod:`graphc.viz._layout`). ``GRAPHC_DUMP=dir`` writes
:func:`dump_report` folders for every compilation; ``graphc dump script.py
--out dir`` does it for a script (see ``docs/debugging.md``).
"""

from __future__ import annotations

import os

import networkx as nx

from ._dot import render_dot
from ._dump import dump_report
from ._html import render_html, report_html
from ._json import from_json, to_json
from ._model import STAGES, autograd_model, forward_subgraph, graph_model, kind_of, report_model
from ._svg import render_svg
from ._text import autograd_text, graph_text, report_text, stage_text

__all__ = [
    "to_text",
    "to_dot",
    "to_svg",
    "to_html",
    "to_json",
    "from_json",
    "load",
    "to_networkx",
    "save",
    "make_dot",
    "dump_report",
    "STAGES",
    "forward_subgraph",
]

FORMATS = {".txt": "text", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".html": "html", ".htm": "html", ".json": "json"}


def _vgraph(obj, stage: str | None = None, params=None, show_attrs: bool = False):
    kind = kind_of(obj)
    if kind == "graph":
        return graph_model(obj)
    if kind == "report":
        return report_model(obj, stage or "after_fusion")
    return autograd_model(obj, params=params, show_attrs=show_attrs)


def to_text(obj, stage: str | None = None, params: dict | None = None) -> str:
    """Text: the IR printer's form of a graph (kernels and backward part marked),
    every stage of a report (or one ``stage``), or an autograd tree."""
    kind = kind_of(obj)
    if kind == "graph":
        return graph_text(obj, clusters=any("kernel" in n.meta for n in obj.nodes))
    if kind == "report":
        return stage_text(obj, stage) if stage else report_text(obj)
    return autograd_text(obj, params=params)


def to_dot(obj, stage: str | None = None, params: dict | None = None) -> str:
    """DOT text (Graphviz): kernels become ``subgraph cluster_K``."""
    return render_dot(_vgraph(obj, stage, params))


def to_svg(obj, stage: str | None = None, params: dict | None = None, show_attrs: bool = False) -> str:
    """Standalone SVG text, laid out in Python (no Graphviz needed)."""
    return render_svg(_vgraph(obj, stage, params, show_attrs))


def to_html(obj, params: dict | None = None, title: str | None = None) -> str:
    """A self-contained interactive page. For a report: one tab per stage, plus
    the kernels and the whole program; hover a node for its details, click a
    kernel for its generated source."""
    kind = kind_of(obj)
    if kind == "report":
        return report_html(obj, title=title)
    vg = _vgraph(obj, params=params)
    views = [{"key": "graph", "title": vg.title, "vgraph": vg}]
    if kind == "graph":
        views.append({"key": "text", "title": "text", "texts": [("", to_text(obj))]})
    else:
        views.append({"key": "text", "title": "text", "texts": [("", autograd_text(obj, params=params))]})
    return render_html(title or vg.title, views, subtitle=f"{len(vg.nodes)} nodes")


def load(path) -> object:
    """Read a graph or report JSON file written by :func:`save`."""
    with open(path, encoding="utf-8") as f:
        return from_json(f.read())


def to_networkx(obj):
    """A networkx graph: ``Graph.to_networkx()`` for IR graphs (the optimized
    graph for a report); for autograd, a DiGraph of the drawn vertices."""
    kind = kind_of(obj)
    if kind == "graph":
        return obj.to_networkx()
    if kind == "report":
        return obj.optimized.to_networkx()
    vg = autograd_model(obj)
    g = nx.DiGraph()
    for n in vg.nodes:
        g.add_node(n.id, label="\n".join(n.lines), **{k: v for k, v in n.details.items()})
    for e in vg.edges:
        g.add_edge(e.src, e.dst)
    return g


def make_dot(var, params: dict | None = None, show_attrs: bool = False) -> str:
    """torchviz's ``make_dot`` for graphc tensors: the DOT text of ``var``'s autograd graph."""
    return render_dot(autograd_model(var, params=params, show_attrs=show_attrs))


def save(obj, path, *, format: str | None = None, stage: str | None = None, params: dict | None = None) -> str:
    """Write ``obj`` to ``path`` in the format its extension names
    (``.txt``, ``.dot``, ``.svg``, ``.html``, ``.json``); returns the path."""
    path = os.fspath(path)
    fmt = format or FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise ValueError(
            f"graphc.viz.save: cannot tell the format of {path!r} from its extension; use one of "
            f"{', '.join(sorted(FORMATS))} (PNG needs a rasterizer: open the .svg or .html in a browser)"
        )
    if fmt == "text":
        text = to_text(obj, stage=stage, params=params)
    elif fmt == "dot":
        text = to_dot(obj, stage=stage, params=params)
    elif fmt == "svg":
        text = to_svg(obj, stage=stage, params=params)
    elif fmt == "html":
        text = to_html(obj, params=params)
    elif fmt == "json":
        text = to_json(obj)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path
