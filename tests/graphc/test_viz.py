"""graphc.viz: text/DOT/SVG/HTML/JSON renderings, dump folders, the layout, the browser view.

The fixture compiles a small training step (forward, backward inside the
function, SGD update) once per module; the tests check every rendering of it
against the IR it came from.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

import graphc
from graphc import viz
from ir import dtypes as dt
from ir import serialize
from ir.graph import Graph

STAGES = [s for s, _ in viz.STAGES]


def _training_step():
    graphc.manual_seed(0)
    W1 = graphc.randn(8, 16, requires_grad=True)
    b1 = graphc.zeros(16, requires_grad=True)
    W2 = graphc.randn(16, 4, requires_grad=True)

    def step(x, y):
        h = (x @ W1 + b1).relu()
        logits = h @ W2
        loss = -(graphc.log_softmax(logits, 1).gather(1, y.unsqueeze(1))).mean()
        for p in (W1, b1, W2):
            p.grad = None
        loss.backward()
        with graphc.no_grad():
            for p in (W1, b1, W2):
                p.sub_(0.1 * p.grad)
        return loss

    cstep = graphc.compile(step)
    x = graphc.randn(32, 8)
    y = graphc.randint(0, 4, (32,))
    return cstep.explain(x, y)


@pytest.fixture(scope="module")
def report():
    return _training_step()


@pytest.fixture(scope="module")
def dump_dir(report, tmp_path_factory):
    root = tmp_path_factory.mktemp("dump")
    folder = viz.dump_report(report, root)
    return root, folder


def _svg_nodes(svg_text: str):
    root = ET.fromstring(svg_text)
    nodes = [e for e in root.iter() if "node" in (e.get("class") or "").split()]
    return root, nodes


def _stage_graph(report, stage):
    from graphc.viz._model import stage_graph

    return stage_graph(report, stage)[0]


# ----------------------------------------------------------------------------
# dumps


def test_dump_has_every_stage(report, dump_dir):
    root, folder = dump_dir
    assert os.path.dirname(folder) == str(root)
    assert re.fullmatch(r"step_[0-9a-f]{10}", os.path.basename(folder))
    names = set(os.listdir(folder))
    for i, stage in enumerate(STAGES, 1):
        for ext in ("txt", "svg", "dot"):
            assert f"{i}_{stage}.{ext}" in names
    for f in ("index.html", "report.html", "report.txt", "report.json", "program.py", "meta.json"):
        assert f in names
    kernels = sorted(os.listdir(os.path.join(folder, "kernels")))
    assert len(kernels) == len(report.kernels) > 0
    for k in report.kernels:
        text = open(os.path.join(folder, "kernels", k.name + ".py")).read()
        assert k.source.strip() in text
    assert open(os.path.join(folder, "program.py")).read().strip() == report.program_source.strip()
    index = open(os.path.join(folder, "index.html")).read()
    for i, stage in enumerate(STAGES, 1):
        assert f'href="{i}_{stage}.svg"' in index and f'href="{i}_{stage}.txt"' in index
    for k in report.kernels:
        assert f'href="kernels/{k.name}.py"' in index
    assert 'href="report.html"' in index and 'href="program.py"' in index
    listing = open(os.path.join(root, "index.html")).read()
    assert os.path.basename(folder) + "/index.html" in listing
    meta = json.load(open(os.path.join(folder, "meta.json")))
    assert meta["function"] == "step" and meta["kernels"] == len(report.kernels)


def test_stage_texts(report, dump_dir):
    _, folder = dump_dir
    fwd = open(os.path.join(folder, "1_traced_forward.txt")).read()
    full = open(os.path.join(folder, "2_after_autodiff.txt")).read()
    fused = open(os.path.join(folder, "4_after_fusion.txt")).read()
    assert "backward" not in fwd and "scatter_add" not in fwd  # the gather's gradient is backward-only
    assert "# ---- backward ----" in full and "# ---- update ----" in full
    for k in report.kernels:
        assert f"[{k.name}]" in fused
    assert "matmul" in fwd and "log" in fwd


def test_stage_svgs_parse_with_one_element_per_node(report, dump_dir):
    _, folder = dump_dir
    for i, stage in enumerate(STAGES, 1):
        text = open(os.path.join(folder, f"{i}_{stage}.svg")).read()
        root, nodes = _svg_nodes(text)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        g = _stage_graph(report, stage)
        assert sorted(int(e.get("data-id")) for e in nodes) == sorted(n.id for n in g.nodes), stage
        assert all(e.get("id") == f"node-{e.get('data-id')}" for e in nodes)
        edges = [e for e in root.iter() if "edge" in (e.get("class") or "").split()]
        assert len(edges) == sum(len(n.inputs) for n in g.nodes)
        # every box carries the node's op and its type
        by_id = {int(e.get("data-id")): e for e in nodes}
        for n in g.nodes:
            texts = [t.text for t in by_id[n.id].iter("{http://www.w3.org/2000/svg}text")]
            assert texts[0].startswith(f"%{n.id} {n.op}")
            assert any(f"{n.dtype.short}[" in (t or "") for t in texts)


def test_backward_nodes_are_marked(report, dump_dir):
    _, folder = dump_dir
    traced = report.traced
    bwd = {n.id for n in traced.nodes if n.meta.get("phase") == "backward"}
    assert bwd, "nodes recorded during loss.backward() must carry meta['phase'] = 'backward'"
    assert not any(n.meta.get("phase") == "backward" for n in traced.nodes if n.op == "input")
    # the forward graph ends at the loss; everything else comes later
    first_bwd = min(bwd)
    assert all(n.id < first_bwd for n in traced.nodes if n.op in ("log", "exp", "amax"))
    _, nodes = _svg_nodes(open(os.path.join(folder, "2_after_autodiff.svg")).read())
    marked = {int(e.get("data-id")) for e in nodes if "phase-backward" in e.get("class").split()}
    assert marked == bwd
    fwd = viz.forward_subgraph(traced)
    assert not any(n.id in bwd for n in fwd.nodes)
    assert len(fwd.outputs) == 1  # the loss


def test_fused_kernels_are_clusters(report, dump_dir):
    _, folder = dump_dir
    root, nodes = _svg_nodes(open(os.path.join(folder, "4_after_fusion.svg")).read())
    clusters = [e for e in root.iter() if "cluster" in (e.get("class") or "").split()]
    assert len(clusters) == len([k for k in report.kernels if k.nodes])
    names = {e.get("data-name") for e in clusters}
    assert names == {k.name for k in report.kernels if k.nodes}
    member = {nid: i for i, k in enumerate(report.kernels) for nid in k.nodes}
    for e in nodes:
        nid = int(e.get("data-id"))
        assert e.get("data-kernel") == (str(member[nid]) if nid in member else None)
    # 'after simplify' is the same graph without clusters
    root2, _ = _svg_nodes(open(os.path.join(folder, "3_after_simplify.svg")).read())
    assert not [e for e in root2.iter() if "cluster" in (e.get("class") or "").split()]


def test_dot_reads_back_with_networkx(report, dump_dir):
    pytest.importorskip("pydot")
    from networkx.drawing.nx_pydot import read_dot

    _, folder = dump_dir
    g = report.optimized
    nxg = read_dot(os.path.join(folder, "4_after_fusion.dot"))
    assert sorted(nxg.nodes) == sorted(f"n{n.id}" for n in g.nodes)
    assert nxg.number_of_edges() == sum(len(n.inputs) for n in g.nodes)
    for n in g.nodes:
        for i in n.inputs:
            assert nxg.has_edge(f"n{i.id}", f"n{n.id}")
    assert n.op in nxg.nodes[f"n{n.id}"]["label"]


# ----------------------------------------------------------------------------
# JSON


def test_json_round_trip_preserves_structural_hash(report):
    for g in (report.traced, report.optimized, viz.forward_subgraph(report.traced)):
        text = viz.to_json(g)
        g2 = viz.from_json(text)
        assert g2.structural_hash() == g.structural_hash()
        assert str(g2) == str(g)
        assert [n.meta for n in g2.nodes] == [n.meta for n in g.nodes]
        json.loads(text)  # strict JSON (no NaN)


def test_json_attr_types_round_trip():
    g = Graph("attrs")
    a = g.add_input((3,), dt.float32, "a")
    c = g.add_constant(np.array([1.5, -np.inf, np.nan], np.float32), dt.float32)
    big = g.add_constant(np.arange(6000, dtype=np.float64).reshape(60, 100), dt.float64)
    s = g.add("add", [a, c])
    t = g.add("cast", [s], dtype=dt.float64)
    r = g.add("reshape", [t], shape=(3, 1))
    e = g.add("expand", [r], shape=(3, 4))
    g.outputs = [e, big]
    g.mutations = [(a, s)]
    text = serialize.dumps(g)
    data = json.loads(text)
    assert data["format"] == "graphc.ir"
    g2 = serialize.loads(text)
    assert g2.structural_hash() == g.structural_hash()
    n = {x.id: x for x in g2.nodes}
    assert n[t.id].attrs["dtype"] is dt.float64
    assert n[r.id].attrs["shape"] == (3, 1) and isinstance(n[r.id].attrs["shape"], tuple)
    np.testing.assert_array_equal(n[c.id].attrs["value"], c.attrs["value"])
    assert n[big.id].attrs["value"].dtype == np.float64
    assert [x.id for x in g2.inputs] == [a.id] and [(x.id, y.id) for x, y in g2.mutations] == [(a.id, s.id)]
    with pytest.raises(ValueError):
        serialize.loads(json.dumps({"format": "something else"}))


def test_report_json_round_trip(report, tmp_path):
    path = viz.save(report, tmp_path / "r.json")
    r2 = viz.load(path)
    assert r2.traced.structural_hash() == report.traced.structural_hash()
    assert r2.optimized.structural_hash() == report.optimized.structural_hash()
    assert [k.name for k in r2.kernels] == [k.name for k in report.kernels]
    assert [k.source for k in r2.kernels] == [k.source for k in report.kernels]
    # the reloaded report renders like the original
    assert viz.to_svg(r2) == viz.to_svg(report)


# ----------------------------------------------------------------------------
# save() and the other objects


def test_save_picks_format_by_extension(report, tmp_path):
    g = report.traced
    for ext in ("txt", "dot", "svg", "html", "json"):
        viz.save(g, tmp_path / f"g.{ext}")
    assert open(tmp_path / "g.txt").read().startswith("graph step(")
    assert open(tmp_path / "g.dot").read().startswith("digraph ")
    _svg_nodes(open(tmp_path / "g.svg").read())
    assert open(tmp_path / "g.html").read().startswith("<!DOCTYPE html>")
    assert viz.load(tmp_path / "g.json").structural_hash() == g.structural_hash()
    with pytest.raises(ValueError, match="extension"):
        viz.save(g, tmp_path / "g.png")
    with pytest.raises(TypeError, match="cannot draw"):
        viz.to_svg(42)


def test_graph_source_lines_shown():
    def f(x):
        return (x * 2).relu().sum()

    g = graphc.compiler.trace(f, graphc.randn(3, 4))
    _, nodes = _svg_nodes(viz.to_svg(g))
    srcs = [n.meta.get("source") for n in g.nodes if n.meta.get("source")]
    assert srcs and all("test_viz.py" in s for s in srcs)
    texts = " ".join(t.text or "" for e in nodes for t in e.iter("{http://www.w3.org/2000/svg}text"))
    assert srcs[0] in texts


def test_autograd_history_like_make_dot(tmp_path):
    x = graphc.ones(2, 2, requires_grad=True)
    W = graphc.randn(2, 3, requires_grad=True)
    out = ((x + 2) * (x + 2) * 3).mean() + (x @ W).relu().sum()
    params = {"x": x, "W": W}
    vg = viz._model.autograd_model(out, params=params)
    labels = ["\n".join(n.lines) for n in vg.nodes]
    assert sum(lbl.startswith("AccumulateGrad") for lbl in labels) == 2
    assert "x\nf32[2,2]" in labels and "W\nf32[2,3]" in labels
    assert any(lbl.startswith("MeanBackward0") for lbl in labels)
    assert any(lbl.startswith("MmBackward0") for lbl in labels)
    assert "f32[]\noutput" in labels
    # edges: the leaf feeds its AccumulateGrad, the last grad_fn feeds the output
    ids = {"\n".join(n.lines): n.id for n in vg.nodes}
    edges = {(e.src, e.dst) for e in vg.edges}
    assert any(src == ids["x\nf32[2,2]"] for src, _ in edges)
    assert any(dst == ids["f32[]\noutput"] for _, dst in edges)
    root, nodes = _svg_nodes(viz.to_svg(out, params=params))
    assert len(nodes) == len(vg.nodes) == 14
    dot = viz.make_dot(out, params=params)
    assert dot.count(" -> ") == len(vg.edges)
    text = viz.to_text(out, params=params)
    assert "AccumulateGrad  -> leaf x f32[2,2]" in text and "MeanBackward0" in text
    viz.save(out, tmp_path / "a.html", params=params)
    assert viz.to_networkx(out).number_of_nodes() == 14


def test_to_networkx(report):
    g = viz.to_networkx(report.traced)
    assert g.number_of_nodes() == len(report.traced.nodes)


# ----------------------------------------------------------------------------
# HTML


def test_html_is_self_contained(report, dump_dir):
    _, folder = dump_dir
    page = open(os.path.join(folder, "report.html")).read()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    data = json.loads(
        re.search(r'<script type="application/json" id="graphc-data">(.*?)</script>', page, re.S).group(1)
    )
    assert set(STAGES) <= set(data["nodes"])
    kernels = data["kernels"]["after_fusion"]
    assert [kernels[str(i)]["source"] for i in range(len(report.kernels))] == [k.source for k in report.kernels]
    # one inline SVG per stage, each with one g.node per node of that stage
    for i, stage in enumerate(STAGES):
        n = len(re.findall(rf'<g class="node [^"]*" id="v{i}-node-\d+"', page))
        assert n == len(_stage_graph(report, stage).nodes)
    for word in ("mouseover", "showKernel", "wheel"):
        assert word in page


# ----------------------------------------------------------------------------
# the layout


def _random_graph(n_nodes: int, seed: int = 0) -> Graph:
    rng = random.Random(seed)
    g = Graph("random")
    nodes = [g.add_input((4, 4), dt.float32) for _ in range(4)]
    ops1 = ["exp", "neg", "relu", "tanh"]
    ops2 = ["add", "mul", "sub", "maximum"]
    while len(g.nodes) < n_nodes:
        near = nodes[-10:]
        a = rng.choice(near)
        if rng.random() < 0.5:
            nodes.append(g.add(rng.choice(ops1), [a]))
        else:
            b = rng.choice(nodes) if rng.random() < 0.3 else rng.choice(near)
            nodes.append(g.add(rng.choice(ops2), [a, b]))
    g.outputs = nodes[-3:]
    return g


def test_layout_of_500_nodes_is_fast_and_sane():
    g = _random_graph(500)
    from graphc.viz._model import graph_model
    from graphc.viz._svg import layout_model

    vg = graph_model(g)
    t0 = time.perf_counter()
    lay = layout_model(vg)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"layout of 500 nodes took {elapsed:.2f} s"  # typically ~0.1 s; this guards against blowups
    # every edge goes downwards, nodes of one layer do not overlap
    for n in g.nodes:
        for i in n.inputs:
            assert lay.pos[str(i.id)][1] < lay.pos[str(n.id)][1]
    rows: dict = {}
    for nid, (x, y) in lay.pos.items():
        rows.setdefault(y, []).append((x - lay.size[nid][0] / 2, x + lay.size[nid][0] / 2))
    for spans in rows.values():
        spans.sort()
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            assert a1 <= b0 + 1e-6
    _svg_nodes(viz.to_svg(g))


# ----------------------------------------------------------------------------
# compile integration: GRAPHC_DUMP and GRAPHC_DEBUG


def test_graphc_dump_env_and_debug_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHC_DUMP", str(tmp_path))
    monkeypatch.setenv("GRAPHC_DEBUG", "1")

    @graphc.compile
    def f(x):
        return (x * 2 + 1).relu().sum()

    x = graphc.randn(5, 3)
    f(x)
    f(x)
    err = capsys.readouterr().err
    assert re.search(r"compiled f\(f32\[5, ?3\]\): \d+ nodes -> \d+ after simplify, \d+ kernels, [\d.]+ ms", err), err
    folders = [d for d in os.listdir(tmp_path) if d.startswith("f_")]
    assert len(folders) == 1
    assert os.path.isfile(tmp_path / folders[0] / "4_after_fusion.svg")


# ----------------------------------------------------------------------------
# the page in a real browser


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG decoder (8-bit RGB/RGBA, non-interlaced), zlib + numpy."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:
            cur = line.reshape(w, bpp).cumsum(axis=0).reshape(-1) & 255
        elif f == 2:
            cur = (line + prev) & 255
        else:
            cur_l = [0] * stride
            ln, pv = line.tolist(), prev.tolist()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = pv[i]
                if f == 3:
                    cur_l[i] = (ln[i] + ((a + b) >> 1)) & 255
                else:
                    c = pv[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    cur_l[i] = (ln[i] + pred) & 255
            cur = np.array(cur_l, np.int32)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def test_html_page_renders_in_headless_chromium(report, dump_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium binary found (apt-get install chromium); the browser check is skipped")
    _, folder = dump_dir
    page = os.path.join(folder, "report.html")
    shot = tmp_path / "page.png"
    profile = tempfile.mkdtemp(prefix="graphc-chromium-")
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1000,700", "file://" + page,
    ]  # fmt: skip
    try:
        subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.skip("chromium did not finish within 90 s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert shot.exists(), "chromium wrote no screenshot"
    img = _decode_png(shot.read_bytes())
    assert img.shape[:2] == (700, 1000)
    colors = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colors) > 50, "the screenshot is (nearly) a single color"
    px = img.reshape(-1, 3).astype(int)

    def share(rgb, tol=6):
        return float((np.abs(px - np.array(rgb)).max(axis=1) <= tol).mean())

    assert share((15, 23, 42)) > 0.01  # the page header (#0f172a)
    assert share((255, 255, 255)) > 0.2  # the graph canvas
    assert share((254, 226, 226), tol=10) > 0.0005  # matmul boxes (#fee2e2): the SVG graph was drawn
    assert share((219, 234, 254), tol=10) > 0.0005  # input boxes (#dbeafe)


def test_html_page_interactions_in_headless_chromium(report, dump_dir, tmp_path):
    """Hover and click events run the page's handlers: details, tooltip, kernel source, deep links."""
    import html as html_mod

    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium binary found (apt-get install chromium); the browser check is skipped")
    _, folder = dump_dir
    fused = STAGES.index("after_fusion")
    k0 = report.kernels[0]
    probe = f"""<script>
const n = document.getElementById('v{fused}-node-{k0.nodes[0]}');
n.dispatchEvent(new MouseEvent('mouseover', {{bubbles: true}}));
document.body.dataset.hover = document.getElementById('details').textContent;
document.body.dataset.tip = document.getElementById('tip').style.display;
document.body.dataset.lit = document.querySelectorAll('#v{fused}-svg .edge.hl').length;
document.querySelector('#v{fused}-cluster-0 path').dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
document.body.dataset.source = document.getElementById('source').textContent;
</script></body>"""
    page = open(os.path.join(folder, "report.html")).read().replace("</body>", probe)
    path = tmp_path / "probe.html"
    path.write_text(page)
    profile = tempfile.mkdtemp(prefix="graphc-chromium-")
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", f"file://{path}#view=after_autodiff&node=3",
    ]  # fmt: skip
    try:
        dom = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=90, text=True).stdout
    except subprocess.TimeoutExpired:
        pytest.skip("chromium did not finish within 90 s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = {k: html_mod.unescape(v) for k, v in re.findall(r'data-(\w+)="([^"]*)"', body)}
    assert f"%{k0.nodes[0]}" in attrs["hover"] and "type" in attrs["hover"]
    assert attrs["tip"] == "block"
    assert int(attrs["lit"]) >= 1
    assert attrs["source"].startswith(f"# {k0.name} ({k0.kind})") and k0.source.strip()[:40] in attrs["source"]
    # the deep link selected the 'after autodiff' tab
    assert re.search(r'<button data-view="after_autodiff" class="active"', dom)
