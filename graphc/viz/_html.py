"""A self-contained interactive HTML page: inline SVG, CSS and JavaScript, no network.

One page shows one or more *views* (a graph, or each stage of a compile
report, plus kernel and program sources). In a graph view: drag or scroll to
pan, Ctrl+scroll or the +/- buttons to zoom, hover a node for its details
(and its edges light up), click a node or a kernel cluster to show that
kernel's generated source, type ``%12`` or an op name in the search box.
"""

from __future__ import annotations

import html
import json

from ._model import STAGES, report_model
from ._svg import render_svg
from ._text import report_text

CSS = """
*{box-sizing:border-box}
body{margin:0;font:13px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;color:#0f172a;background:#f8fafc;
 display:flex;flex-direction:column;height:100vh;overflow:hidden}
header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;padding:8px 14px;background:#0f172a;color:#e2e8f0}
header h1{font-size:15px;margin:0;font-weight:600}
header .sub{color:#94a3b8}
nav{display:flex;gap:4px;flex-wrap:wrap}
nav button,.tools button{background:#1e293b;color:#e2e8f0;border:1px solid #334155;border-radius:5px;padding:3px 9px;
 cursor:pointer;font:inherit}
nav button.active{background:#2563eb;border-color:#2563eb;color:#fff}
.tools{margin-left:auto;display:flex;gap:4px;align-items:center}
.tools input{background:#1e293b;color:#e2e8f0;border:1px solid #334155;border-radius:5px;padding:3px 8px;width:170px;font:inherit}
main{flex:1;display:flex;min-height:0}
#canvas{flex:1;position:relative;overflow:hidden;background:#fff;cursor:grab}
#canvas.dragging{cursor:grabbing}
.view{position:absolute;inset:0;display:none}
.view.active{display:block}
.view svg.graphc-graph{width:100%;height:100%;display:block;user-select:none}
.view.text{overflow:auto;padding:12px 16px;cursor:auto}
.view.text pre{margin:0 0 18px;font:12px/1.45 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;white-space:pre}
.view.text h3{margin:14px 0 4px;font-size:13px}
aside{width:380px;max-width:40vw;border-left:1px solid #e2e8f0;background:#fff;display:flex;flex-direction:column;min-height:0}
aside h2{font-size:13px;margin:0;padding:8px 12px;border-bottom:1px solid #e2e8f0;background:#f1f5f9}
#details{padding:8px 12px;overflow:auto;max-height:45%}
#details table{border-collapse:collapse;width:100%}
#details td{vertical-align:top;padding:2px 4px;border-bottom:1px solid #f1f5f9;word-break:break-word}
#details td.k{color:#64748b;white-space:nowrap;width:1%}
#details .hint{color:#64748b}
#source{flex:1;margin:0;padding:8px 12px;overflow:auto;background:#0f172a;color:#e2e8f0;
 font:11.5px/1.45 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;white-space:pre}
#tip{position:fixed;pointer-events:none;background:#0f172aee;color:#f8fafc;padding:6px 8px;border-radius:6px;
 font:11.5px/1.4 ui-monospace,Menlo,Consolas,monospace;max-width:520px;display:none;z-index:10;white-space:pre-wrap}
svg .node{cursor:pointer}
svg .node:hover rect,svg .node:hover ellipse{stroke-width:2.6}
svg .cluster{cursor:pointer}
svg .cluster:hover path{fill-opacity:.3}
svg .cluster.sel path{fill-opacity:.45}
svg .node.hl rect,svg .node.hl ellipse{stroke:#2563eb;stroke-width:2.6}
svg .edge.hl{stroke:#2563eb;stroke-width:2.2}
svg .node.found rect,svg .node.found ellipse{stroke:#dc2626;stroke-width:3}
svg.dim .node:not(.hl){opacity:.35}
svg.dim .edge:not(.hl){opacity:.2}
"""

JS = r"""
(function(){
const DATA = JSON.parse(document.getElementById('graphc-data').textContent);
const canvas = document.getElementById('canvas');
const tip = document.getElementById('tip');
const details = document.getElementById('details');
const source = document.getElementById('source');
const state = {};
let current = null;

function esc(s){return String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function table(obj){
  let h = '<table>';
  for (const k in obj) h += '<tr><td class="k">' + esc(k) + '</td><td>' + esc(obj[k]) + '</td></tr>';
  return h + '</table>';
}
function viewOf(el){ return el.closest('.view'); }
function svgOf(view){ return view ? view.querySelector('svg.graphc-graph') : null; }

function setBox(svg){
  const s = state[svg.id];
  svg.setAttribute('viewBox', s.x + ' ' + s.y + ' ' + s.w + ' ' + s.h);
}
function fit(svg, whole){
  const W = +svg.getAttribute('width'), H = +svg.getAttribute('height');
  const cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
  let scale = whole ? Math.min(cw / W, ch / H) : Math.min(1, cw / W);
  scale = Math.max(scale, 1e-3);
  const w = cw / scale, h = ch / scale;
  state[svg.id] = {x: (W - w) / 2, y: whole ? (H - h) / 2 : 0, w: w, h: h, cw: cw};
  setBox(svg);
}
function zoom(svg, factor, cx, cy){
  const s = state[svg.id];
  const r = svg.getBoundingClientRect();
  const fx = cx === undefined ? 0.5 : (cx - r.left) / r.width;
  const fy = cy === undefined ? 0.5 : (cy - r.top) / r.height;
  const px = s.x + fx * s.w, py = s.y + fy * s.h;
  s.w *= factor; s.h *= factor;
  s.x = px - fx * s.w; s.y = py - fy * s.h;
  setBox(svg);
}
function show(key){
  document.querySelectorAll('.view').forEach(v => v.classList.toggle('active', v.dataset.view === key));
  document.querySelectorAll('nav button').forEach(b => b.classList.toggle('active', b.dataset.view === key));
  current = document.querySelector('.view[data-view="' + key + '"]');
  const svg = svgOf(current);
  if (svg && !state[svg.id]) fit(svg, false);
}
document.querySelectorAll('nav button').forEach(b => b.addEventListener('click', () => show(b.dataset.view)));

function kernelInfo(view, k){
  const ks = DATA.kernels[view.dataset.view] || {};
  return ks[k];
}
function centerOn(svg, el){
  const b = el.getBBox();
  const off = svg.querySelector('g.graph').transform.baseVal.consolidate().matrix.f;
  const s = state[svg.id];
  if (s.cw / s.w < 0.9) { s.w = s.cw / 0.9; s.h = (canvas.clientHeight || 600) / 0.9; }
  s.x = b.x + b.width / 2 - s.w / 2; s.y = Math.max(0, b.y + off - 40);
  setBox(svg);
}
function showKernel(view, k, center){
  const svg = svgOf(view);
  if (svg) {
    svg.querySelectorAll('.cluster.sel').forEach(e => e.classList.remove('sel'));
    const c = svg.querySelector('.cluster[data-kernel="' + k + '"]');
    if (c) { c.classList.add('sel'); if (center) centerOn(svg, c); }
  }
  const info = kernelInfo(view, k);
  if (!info) { source.textContent = '(no generated source for kernel ' + k + ')'; return; }
  source.textContent = '# ' + info.name + ' (' + info.kind + '): nodes ' + info.nodes.map(i => '%' + i).join(' ') + '\n\n' + info.source;
}
function nodeDetails(view, id){
  const d = (DATA.nodes[view.dataset.view] || {})[id];
  return d || {};
}
function highlight(svg, id){
  svg.querySelectorAll('.hl').forEach(e => e.classList.remove('hl'));
  if (id === null) { svg.classList.remove('dim'); return; }
  svg.classList.add('dim');
  const p = svg.id.slice(0, -3);
  const n = document.getElementById(p + 'node-' + id);
  if (n) n.classList.add('hl');
  svg.querySelectorAll('.edge').forEach(e => {
    if (e.dataset.src === id || e.dataset.dst === id) {
      e.classList.add('hl');
      const other = e.dataset.src === id ? e.dataset.dst : e.dataset.src;
      const o = document.getElementById(p + 'node-' + other);
      if (o) o.classList.add('hl');
    }
  });
}

canvas.addEventListener('mouseover', ev => {
  const n = ev.target.closest('.node');
  if (!n) return;
  const view = viewOf(n);
  const d = nodeDetails(view, n.dataset.id);
  tip.innerHTML = esc(Object.keys(d).map(k => k + ': ' + d[k]).join('\n'));
  tip.style.display = 'block';
  details.innerHTML = table(d);
  highlight(svgOf(view), n.dataset.id);
});
canvas.addEventListener('mousemove', ev => {
  if (tip.style.display === 'block') {
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }
});
canvas.addEventListener('mouseout', ev => {
  const n = ev.target.closest('.node');
  if (!n) return;
  tip.style.display = 'none';
  highlight(svgOf(viewOf(n)), null);
});
let drag = null, moved = false;
canvas.addEventListener('mousedown', ev => {
  const svg = svgOf(current);
  if (!svg || ev.button !== 0) return;
  drag = {x: ev.clientX, y: ev.clientY, s: Object.assign({}, state[svg.id]), svg: svg};
  moved = false;
  canvas.classList.add('dragging');
});
window.addEventListener('mousemove', ev => {
  if (!drag) return;
  const r = drag.svg.getBoundingClientRect();
  const s = state[drag.svg.id];
  const dx = (ev.clientX - drag.x) * drag.s.w / r.width, dy = (ev.clientY - drag.y) * drag.s.h / r.height;
  if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) > 3) moved = true;
  s.x = drag.s.x - dx; s.y = drag.s.y - dy;
  setBox(drag.svg);
});
window.addEventListener('mouseup', () => { drag = null; canvas.classList.remove('dragging'); });
canvas.addEventListener('click', ev => {
  if (moved) return;
  const n = ev.target.closest('.node');
  const c = ev.target.closest('.cluster');
  const view = viewOf(ev.target);
  if (!view) return;
  if (n) {
    details.innerHTML = table(nodeDetails(view, n.dataset.id));
    if (n.dataset.kernel !== undefined) showKernel(view, n.dataset.kernel);
  } else if (c) {
    const info = kernelInfo(view, c.dataset.kernel);
    details.innerHTML = table(info ? {kernel: info.name, kind: info.kind, nodes: info.nodes.map(i => '%' + i).join(' ')} : {kernel: c.dataset.kernel});
    showKernel(view, c.dataset.kernel);
  }
});
canvas.addEventListener('wheel', ev => {
  const svg = svgOf(current);
  if (!svg) return;
  ev.preventDefault();
  if (ev.ctrlKey || ev.metaKey) {
    zoom(svg, Math.exp(ev.deltaY * 0.01), ev.clientX, ev.clientY);
  } else {
    const s = state[svg.id];
    const r = svg.getBoundingClientRect();
    s.x += (ev.shiftKey ? ev.deltaY : ev.deltaX) * s.w / r.width;
    s.y += (ev.shiftKey ? 0 : ev.deltaY) * s.h / r.height;
    setBox(svg);
  }
}, {passive: false});
document.getElementById('zin').onclick = () => { const s = svgOf(current); if (s) zoom(s, 0.8); };
document.getElementById('zout').onclick = () => { const s = svgOf(current); if (s) zoom(s, 1.25); };
document.getElementById('zfit').onclick = () => { const s = svgOf(current); if (s) fit(s, true); };
document.getElementById('search').addEventListener('keydown', ev => {
  if (ev.key !== 'Enter') return;
  const svg = svgOf(current);
  if (!svg) return;
  const q = ev.target.value.trim().replace(/^%/, '');
  svg.querySelectorAll('.found').forEach(e => e.classList.remove('found'));
  if (!q) return;
  const p = svg.id.slice(0, -3);
  let hits = [];
  const byId = document.getElementById(p + 'node-' + q);
  if (byId) hits = [byId]; else hits = Array.from(svg.querySelectorAll('.node.op-' + CSS.escape(q)));
  hits.forEach(h => h.classList.add('found'));
  if (hits.length) {
    const t = hits[0].transform.baseVal.consolidate().matrix;
    const s = state[svg.id];
    const off = svg.querySelector('g.graph').transform.baseVal.consolidate().matrix.f;
    s.x = t.e - s.w / 2; s.y = t.f + off - s.h / 2;
    setBox(svg);
    const d = nodeDetails(current, hits[0].dataset.id);
    details.innerHTML = table(d) + (hits.length > 1 ? '<p class="hint">' + hits.length + ' matches</p>' : '');
  }
});
window.addEventListener('resize', () => {  // keep the scale and the top-left corner
  const svg = svgOf(current);
  if (!svg || !state[svg.id]) return;
  const s = state[svg.id], cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
  const k = s.cw / s.w;
  s.w = cw / k; s.h = ch / k; s.cw = cw;
  setBox(svg);
});
// Deep links: page.html#view=after_fusion&kernel=3 or #node=12 (shareable, and for screenshots).
const q = new URLSearchParams(location.hash.slice(1));
show(q.get('view') && document.querySelector('.view[data-view="' + q.get('view') + '"]') ? q.get('view') : DATA.initial);
if (current && q.get('kernel') !== null) {
  const info = kernelInfo(current, q.get('kernel'));
  if (info) details.innerHTML = table({kernel: info.name, kind: info.kind, nodes: info.nodes.map(i => '%' + i).join(' ')});
  showKernel(current, q.get('kernel'), true);
}
if (current && q.get('node') !== null) {
  const svg = svgOf(current);
  if (svg) highlight(svg, q.get('node'));
  details.innerHTML = table(nodeDetails(current, q.get('node')));
}
})();
"""


def _json_script(data) -> str:
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(title: str, views: list, initial: str | None = None, subtitle: str = "") -> str:
    """A page with ``views``: dicts ``{"key", "title", and either "vgraph" (+ "layout",
    "kernels": {index: info}) or "texts": [(heading, text), ...]}``."""
    nav, bodies = [], []
    data = {"nodes": {}, "kernels": {}, "initial": initial or (views[0]["key"] if views else "")}
    for i, v in enumerate(views):
        key = v["key"]
        nav.append(f'<button data-view="{html.escape(key)}">{html.escape(v["title"])}</button>')
        if "vgraph" in v:
            vg = v["vgraph"]
            prefix = f"v{i}-"
            svg = render_svg(vg, v.get("layout"), id_prefix=prefix, standalone=False)
            bodies.append(f'<div class="view" data-view="{html.escape(key)}">{svg}</div>')
            data["nodes"][key] = {n.id: n.details for n in vg.nodes}
            data["kernels"][key] = {
                str(k): {"name": c.label, "kind": c.kind, "source": c.source, "nodes": c.nodes}
                for k, c in vg.clusters.items()
            }
        else:
            parts = []
            for heading, text in v.get("texts", []):
                if heading:
                    parts.append(f"<h3>{html.escape(heading)}</h3>")
                parts.append(f"<pre>{html.escape(text)}</pre>")
            bodies.append(f'<div class="view text" data-view="{html.escape(key)}">{"".join(parts)}</div>')
    nav_html = f"<nav>{''.join(nav)}</nav>" if len(views) > 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{html.escape(title)}</h1><span class="sub">{html.escape(subtitle)}</span>{nav_html}
<div class="tools"><input id="search" placeholder="find %id or op, Enter" aria-label="find a node">
<button id="zin" title="zoom in">+</button><button id="zout" title="zoom out">−</button><button id="zfit" title="fit the whole graph">fit</button></div>
</header>
<main><div id="canvas">{"".join(bodies)}</div>
<aside><h2>Details</h2><div id="details"><p class="hint">Hover a node for its details; click a node or a
kernel cluster for the kernel's generated source. Drag or scroll to pan, Ctrl+scroll to zoom.</p></div>
<pre id="source"></pre></aside></main>
<div id="tip"></div>
<script type="application/json" id="graphc-data">{_json_script(data)}</script>
<script>{JS}</script>
</body></html>
"""


def report_html(report, title: str | None = None, models: dict | None = None) -> str:
    """The page of a compile report: one tab per stage, the kernels, the program and the text."""
    views = []
    for stage, stitle in STAGES:
        vg = (models or {}).get(stage) or report_model(report, stage)
        views.append({"key": stage, "title": stitle, "vgraph": vg, "layout": getattr(vg, "_layout", None)})
    views.append(
        {
            "key": "kernels",
            "title": f"kernels ({len(report.kernels)})",
            "texts": [
                (f"{k.name} ({k.kind}): nodes " + " ".join(f"%{i}" for i in k.nodes), k.source) for k in report.kernels
            ],
        }
    )
    views.append({"key": "program", "title": "program", "texts": [("", report.program_source or "")]})
    views.append({"key": "text", "title": "text", "texts": [("", report_text(report))]})
    times = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in (report.timings or {}).items())
    sub = f"{report.backend} backend · {len(report.traced)} traced nodes → {len(report.optimized)} · {len(report.kernels)} kernels"
    if times:
        sub += f" · {times}"
    return render_html(title or f"{report.function}{report.signature}", views, initial="after_fusion", subtitle=sub)
