"""Dump folders: every stage of one compilation, as text and pictures.

``GRAPHC_DUMP=dir`` makes :func:`graphc.compile` call :func:`dump_report`
for every compilation; it writes ``dir/<function>_<hash>/`` (the hash is the
traced graph's structural hash, so each signature gets its own folder)::

    index.html               links to everything below, with the fused graph inline
    report.html              interactive page: one tab per stage, kernels, program
    report.txt               all stages as text, and the kernels
    report.json              the graphs and kernels (graphc viz report.json -o x.html)
    1_traced_forward.txt/.svg/.dot   the forward part of the traced graph
    2_after_autodiff.txt/.svg/.dot   the whole traced graph, backward nodes dashed
    3_after_simplify.txt/.svg/.dot   after CSE, folding, algebra, DCE
    4_after_fusion.txt/.svg/.dot     kernels drawn as colored clusters
    kernels/<kernel>.py      the generated source of each kernel
    program.py               the whole generated program
    meta.json                function, signature, sizes, timings

and refreshes ``dir/index.html``, a list of every compilation in ``dir``.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re

from ._dot import render_dot
from ._html import report_html
from ._json import to_json
from ._model import STAGES, report_model
from ._svg import layout_model, render_svg
from ._text import report_text, stage_text


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or "fn"


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def folder_name(report) -> str:
    return f"{_safe(report.function)}_{report.traced.structural_hash()[:10]}"


def dump_report(report, target_dir) -> str:
    """Write the dump folder of ``report`` under ``target_dir``; returns its path."""
    target_dir = os.fspath(target_dir)
    folder = os.path.join(target_dir, folder_name(report))
    os.makedirs(os.path.join(folder, "kernels"), exist_ok=True)

    files = []  # (stage title, basename)
    models = {}
    for i, (stage, title) in enumerate(STAGES, 1):
        base = f"{i}_{stage}"
        vg = report_model(report, stage)
        lay = layout_model(vg)
        vg._layout = lay
        models[stage] = vg
        _write(os.path.join(folder, base + ".txt"), stage_text(report, stage))
        _write(os.path.join(folder, base + ".svg"), render_svg(vg, lay))
        _write(os.path.join(folder, base + ".dot"), render_dot(vg))
        files.append((title, base, len(vg.nodes)))

    kernel_files = []
    for k in report.kernels:
        name = _safe(k.name) + ".py"
        header = [f"# kernel {k.name} ({k.kind}) of {report.function}{report.signature}, {report.backend} backend"]
        header.append("# covers the optimized graph's nodes:")
        for line in k.node_text or [f"%{i}" for i in k.nodes]:
            header.append(f"#   {line}")
        _write(os.path.join(folder, "kernels", name), "\n".join(header) + "\n\n" + (k.source or ""))
        kernel_files.append((k, name))
    _write(os.path.join(folder, "program.py"), report.program_source or "")
    _write(os.path.join(folder, "report.txt"), report_text(report))
    _write(os.path.join(folder, "report.json"), to_json(report))
    _write(os.path.join(folder, "report.html"), report_html(report, models=models))
    meta = {
        "function": report.function,
        "signature": report.signature,
        "backend": report.backend,
        "traced_nodes": len(report.traced),
        "optimized_nodes": len(report.optimized),
        "kernels": len(report.kernels),
        "timings": dict(report.timings or {}),
        "hash": report.traced.structural_hash(),
        "written": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    _write(os.path.join(folder, "meta.json"), json.dumps(meta, indent=1))
    _write(os.path.join(folder, "index.html"), _index_html(report, files, kernel_files))
    try:
        write_listing(target_dir)
    except OSError:
        pass
    return folder


_PAGE_CSS = """body{font:14px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#0f172a}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}
td,th{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}
.preview{border:1px solid #e2e8f0;border-radius:8px;overflow:auto;max-height:80vh}.preview img{display:block;max-width:100%}
a{color:#2563eb}.muted{color:#64748b}"""


def _index_html(report, files, kernel_files) -> str:
    e = html.escape
    times = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in (report.timings or {}).items())
    rows = "".join(
        f'<tr><td>{e(title)}</td><td>{n}</td><td><a href="{base}.svg">svg</a></td><td><a href="{base}.txt">text</a></td>'
        f'<td><a href="{base}.dot">dot</a></td></tr>'
        for title, base, n in files
    )
    krows = "".join(
        f'<tr><td><a href="kernels/{e(name)}">{e(k.name)}</a></td><td>{e(k.kind)}</td><td><code>{e(" ".join("%" + str(i) for i in k.nodes))}</code></td></tr>'
        for k, name in kernel_files
    )
    fused = files[-1][1]
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(report.function)} — graphc dump</title>
<style>{_PAGE_CSS}</style></head><body>
<h1>{e(report.function)}<span class="muted">{e(report.signature)}</span></h1>
<p>{e(report.backend)} backend · {len(report.traced)} traced nodes · {len(report.optimized)} after simplify ·
{len(report.kernels)} kernels{(" · " + e(times)) if times else ""}</p>
<p><a href="report.html"><b>Interactive report</b></a> (every stage; hover nodes, click kernels for their source) ·
<a href="report.txt">report.txt</a> · <a href="report.json">report.json</a> · <a href="program.py">program.py</a> ·
<a href="../index.html">all compilations</a></p>
<h2>Stages</h2><table><tr><th>stage</th><th>nodes</th><th colspan="3">files</th></tr>{rows}</table>
<h2>Kernels</h2><table><tr><th>kernel</th><th>kind</th><th>nodes</th></tr>{krows}</table>
<h2>After fusion</h2><div class="preview"><img src="{fused}.svg" alt="the optimized graph with its kernels"></div>
</body></html>"""


def write_listing(target_dir: str) -> str:
    """(Re)write ``target_dir/index.html``: one row per dump folder in it."""
    e = html.escape
    rows = []
    for name in sorted(os.listdir(target_dir)):
        meta_path = os.path.join(target_dir, name, "meta.json")
        if not os.path.isfile(meta_path):
            continue
        try:
            with open(meta_path, encoding="utf-8") as f:
                m = json.load(f)
        except (OSError, ValueError):
            continue
        total = sum(m.get("timings", {}).values()) * 1e3
        rows.append(
            f'<tr><td><a href="{e(name)}/index.html">{e(m.get("function", name))}</a></td><td><code>{e(m.get("signature", ""))}</code></td>'
            f"<td>{m.get('traced_nodes', '')}</td><td>{m.get('optimized_nodes', '')}</td><td>{m.get('kernels', '')}</td>"
            f'<td>{e(m.get("backend", ""))}</td><td>{total:.1f} ms</td><td><a href="{e(name)}/report.html">report</a></td></tr>'
        )
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>graphc dumps</title>
<style>{_PAGE_CSS}</style></head><body><h1>graphc compilations</h1>
<p class="muted">{e(os.path.abspath(target_dir))}</p>
<table><tr><th>function</th><th>signature</th><th>traced</th><th>optimized</th><th>kernels</th><th>backend</th><th>compile time</th><th></th></tr>
{"".join(rows)}</table></body></html>"""
    path = os.path.join(target_dir, "index.html")
    _write(path, page)
    return path
