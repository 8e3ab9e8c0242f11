"""SVG rendering of a :class:`~graphc.viz._model.VGraph`, laid out in Python.

Structure (the tests and the HTML page rely on it)::

    <svg class="graphc-graph">
      <g class="clusters"> <g class="cluster" data-kernel="3"> ... </g> </g>
      <g class="edges">    <path class="edge" data-src="5" data-dst="9"/> </g>
      <g class="nodes">    <g class="node op-mul ..." id="node-9" data-id="9"> <title/> <rect/> <text/> </g> </g>
    </svg>

One ``g.node`` per graph node; ``data-id`` is the IR node id (or the autograd
vertex id).
"""

from __future__ import annotations

from xml.sax.saxutils import escape as _xml_escape

from ._layout import Layout, layered_layout
from ._model import VGraph, VNode

FONT = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
FONT_SIZE = 11
CHAR_W = 6.7  # advance of a monospace glyph at FONT_SIZE (0.6 em, with a little slack)
LINE_H = 14
PAD_X = 9
PAD_Y = 6
HEADER_H = 70


def esc(s) -> str:
    return _xml_escape(str(s), {'"': "&quot;", "'": "&#39;"})


def measure(n: VNode) -> tuple[float, float]:
    w = max((len(s) for s in n.lines), default=1) * CHAR_W + 2 * PAD_X
    h = len(n.lines) * LINE_H + 2 * PAD_Y
    if n.shape == "ellipse":
        return w * 1.2 + 6, h + 10
    return max(w, 40.0), h


def layout_model(vg: VGraph) -> Layout:
    ids = [n.id for n in vg.nodes]
    sizes = {n.id: measure(n) for n in vg.nodes}
    known = set(ids)
    edges = [(e.src, e.dst, e.port, e.nports) for e in vg.edges if e.src in known and e.dst in known]
    cluster_of = {n.id: n.cluster for n in vg.nodes if n.cluster is not None}
    return layered_layout(ids, sizes, edges, cluster_of)


def _path(points) -> str:
    (x0, y0) = points[0]
    parts = [f"M{x0:.0f},{y0:.0f}"]
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        if abs(ax - bx) < 0.5:
            parts.append(f"L{bx:.0f},{by:.0f}")
        else:
            dy = (by - ay) * 0.5
            parts.append(f"C{ax:.0f},{ay + dy:.0f} {bx:.0f},{by - dy:.0f} {bx:.0f},{by:.0f}")
    return "".join(parts)


def _cluster_shapes(vg: VGraph, lay: Layout, pad: float = 8.0) -> dict:
    """Per cluster: a list of rectangles (x0, y0, x1, y1) whose union is its background."""
    out = {}
    by_cluster: dict = {}
    for n in vg.nodes:
        if n.cluster is not None and n.id in lay.pos:
            by_cluster.setdefault(n.cluster, []).append(n.id)
    for key, ids in by_cluster.items():
        rows: dict = {}
        for nid in ids:
            x, y = lay.pos[nid]
            w, h = lay.size[nid]
            box = (x - w / 2 - pad, y - h / 2 - pad, x + w / 2 + pad, y + h / 2 + pad)
            r = rows.get(lay.layer_of[nid])
            if r is None:
                rows[lay.layer_of[nid]] = list(box)
            else:
                r[0], r[1], r[2], r[3] = min(r[0], box[0]), min(r[1], box[1]), max(r[2], box[2]), max(r[3], box[3])
        order = sorted(rows)
        rows[order[0]][1] -= 14  # room for the label above the first row
        rects = [tuple(rows[order[0]])]
        for a, b in zip(order, order[1:]):
            rb = rows[b]
            rects.append(tuple(rb))
            if b == a + 1:
                ra = rows[a]
                x0, x1 = max(ra[0], rb[0]), min(ra[2], rb[2])
                if x1 - x0 > 6:
                    cx0, cx1 = x0 + 2, x1 - 2
                    rects.append((cx0, ra[3] - 1, cx1, rb[1] + 1))
        out[key] = rects
    return out


def render_svg(vg: VGraph, lay: Layout | None = None, id_prefix: str = "", standalone: bool = True) -> str:
    """The SVG text of ``vg`` (laid out with :func:`layout_model` unless given)."""
    if lay is None:
        lay = layout_model(vg)
    p = id_prefix
    legend_w = sum(len(lbl) * CHAR_W + 34 for lbl, *_ in vg.legend)
    title_w = max(len(vg.title) * 8.2, len(vg.subtitle) * CHAR_W) + 40
    width = max(lay.width, legend_w + 40, title_w)
    height = lay.height + HEADER_H
    out = []
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out.append(
        f'<svg{xmlns} class="graphc-graph" id="{p}svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{esc(FONT)}" font-size="{FONT_SIZE}" '
        f'data-nodes="{len(vg.nodes)}" data-kind="{esc(vg.kind)}">'
    )
    out.append(
        "<style>.node text{text-anchor:middle;fill:#334155}.node text.h{font-weight:bold;fill:#0f172a}"
        ".node text.m{fill:#64748b}</style>"
    )
    out.append(
        f'<defs><marker id="{p}arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>'
    )
    out.append(f'<rect class="background" x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    out.append(
        f'<text class="title" x="20" y="23" font-size="14" font-weight="bold" fill="#0f172a">{esc(vg.title)}</text>'
    )
    if vg.subtitle:
        out.append(f'<text class="subtitle" x="20" y="39" fill="#475569">{esc(vg.subtitle)}</text>')
    # legend
    lx = 20.0
    ly = 58.0
    out.append('<g class="legend">')
    for label, fill, stroke, dashed in vg.legend:
        dash = ' stroke-dasharray="4,2"' if dashed else ""
        out.append(
            f'<rect x="{lx:.0f}" y="{ly - 9:.0f}" width="16" height="11" rx="2" fill="{fill}" stroke="{stroke}"{dash}/>'
        )
        out.append(f'<text x="{lx + 21:.0f}" y="{ly:.0f}" fill="#334155">{esc(label)}</text>')
        lx += len(label) * CHAR_W + 34
    if vg.clusters:
        out.append(
            f'<rect x="{lx:.0f}" y="{ly - 9:.0f}" width="16" height="11" rx="2" fill="{next(iter(vg.clusters.values())).color}" fill-opacity="0.25"/>'
        )
        out.append(f'<text x="{lx + 21:.0f}" y="{ly:.0f}" fill="#334155">fused kernel</text>')
    out.append("</g>")
    out.append(f'<g class="graph" transform="translate(0,{HEADER_H})">')

    # clusters
    out.append('<g class="clusters">')
    shapes = _cluster_shapes(vg, lay) if vg.clusters else {}
    for key, rects in shapes.items():
        c = vg.clusters.get(key)
        if c is None:
            continue
        d = "".join(f"M{x0:.1f},{y0:.1f}H{x1:.1f}V{y1:.1f}H{x0:.1f}Z" for x0, y0, x1, y1 in rects)
        x0, y0 = rects[0][0], rects[0][1]
        out.append(
            f'<g class="cluster" id="{p}cluster-{esc(key)}" data-kernel="{esc(key)}" data-name="{esc(c.label)}">'
            f"<title>{esc(c.label)} ({esc(c.kind)}): {len(c.nodes)} nodes</title>"
            f'<path d="{d}" fill="{c.color}" fill-opacity="0.16" stroke="none"/>'
            f'<text x="{x0 + 6:.1f}" y="{y0 + 13:.1f}" fill="{c.color}" font-weight="bold">{esc(c.label)}</text></g>'
        )
    out.append("</g>")

    # edges
    out.append('<g class="edges" fill="none" stroke="#64748b" stroke-width="1.2">')
    known = lay.pos
    ri = 0
    for e in vg.edges:
        if e.src not in known or e.dst not in known:
            continue
        pts = lay.routes[ri]
        ri += 1
        cls = " ".join(["edge"] + e.classes)
        dash = ' stroke-dasharray="5,3"' if e.dashed else ""
        out.append(
            f'<path class="{cls}" data-src="{esc(e.src)}" data-dst="{esc(e.dst)}" data-port="{e.port}" '
            f'd="{_path(pts)}" marker-end="url(#{p}arrow)"{dash}/>'
        )
    out.append("</g>")

    # nodes
    out.append('<g class="nodes">')
    for n in vg.nodes:
        x, y = lay.pos[n.id]
        w, h = lay.size[n.id]
        cls = " ".join(["node"] + n.classes)
        kern = f' data-kernel="{esc(n.cluster)}"' if n.cluster is not None else ""
        tip = "\n".join(f"{k}: {v}" for k, v in n.details.items() if k != "text")
        sw = 2.4 if n.bold else 1.1
        dash = ' stroke-dasharray="5,3"' if n.dashed else ""
        out.append(
            f'<g class="{esc(cls)}" id="{p}node-{esc(n.id)}" data-id="{esc(n.id)}"{kern} transform="translate({x:.1f},{y:.1f})">'
        )
        if standalone:  # the HTML page shows its own tooltip
            out.append(f"<title>{esc(tip)}</title>")
        if n.shape == "ellipse":
            out.append(
                f'<ellipse rx="{w / 2:.1f}" ry="{h / 2:.1f}" fill="{n.fill}" stroke="{n.stroke}" stroke-width="{sw}"{dash}/>'
            )
        else:
            out.append(
                f'<rect x="{-w / 2:.1f}" y="{-h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="5" '
                f'fill="{n.fill}" stroke="{n.stroke}" stroke-width="{sw}"{dash}/>'
            )
        ty = -h / 2 + (h - len(n.lines) * LINE_H) / 2 + LINE_H - 3
        for i, line in enumerate(n.lines):
            cls = ' class="h"' if i == 0 else (' class="m"' if line.startswith("→") or ":" in line else "")
            out.append(f'<text y="{ty + i * LINE_H:.1f}"{cls}>{esc(line)}</text>')
        out.append("</g>")
    out.append("</g></g></svg>")
    return "\n".join(out)
