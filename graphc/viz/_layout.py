"""A layered (Sugiyama-style) layout of a DAG, in pure Python.

No Graphviz needed. The steps:

1. **Layers** from ``networkx.topological_generations`` (a node sits one
   layer below its deepest producer); sources are then pulled down to just
   above their first consumer, so a constant used deep in a graph does not
   hang from the top row with a long edge.
2. **Dummy nodes** split edges that span several layers, so that long edges
   take part in ordering and get routed around nodes rather than through them.
3. **Ordering**: a few down/up sweeps of the barycenter heuristic, keeping the
   order with the fewest crossings (counted with a Fenwick tree). Members of a
   cluster are kept next to each other in each layer.
4. **Coordinates**: each layer is placed by isotonic regression (pool
   adjacent violators): every node wants the mean x of its neighbours in the
   layer above (or below), subject to the minimum spacing of its row. A few
   alternating sweeps straighten edges; long edges weigh more.
5. **Routes**: each edge is a polyline from the bottom of its source through
   its dummies to the top of its target, with an input port per operand
   position; renderers draw it as cubic Béziers.

It is linear-ish in the graph's size: a 500-node graph lays out in tens of
milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

RANK_GAP = 46.0  # vertical space between layers
NODE_GAP = 18.0  # horizontal space between nodes
CLUSTER_GAP = 34.0  # ... between nodes of different clusters
DUMMY_GAP = 8.0
MARGIN = 20.0
# Past this many dummy vertices, the longest edges are drawn without them (straight across).
MAX_DUMMIES_MIN = 3000
MAX_DUMMIES_PER_NODE = 6


@dataclass
class Layout:
    """Positions: node centers ``pos[id] = (x, y)``, sizes, edge routes, canvas size."""

    pos: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)
    routes: list = field(default_factory=list)  # one list of (x, y) points per input edge, same order
    width: float = 0.0
    height: float = 0.0
    layer_of: dict = field(default_factory=dict)
    layers: int = 0


def _count_crossings(pairs: list) -> int:
    """Crossings between two adjacent layers, edges given as (upper position, lower position)."""
    pairs.sort()
    n = max(b for _, b in pairs) + 2
    tree = [0] * (n + 1)
    crossings = 0
    seen = 0
    for _, b in pairs:
        # number of earlier edges whose lower end is strictly greater than b
        i = b + 1
        s = 0
        while i > 0:
            s += tree[i]
            i -= i & -i
        crossings += seen - s
        i = b + 1
        while i <= n:
            tree[i] += 1
            i += i & -i
        seen += 1
    return crossings


def _pav(desired: list, weights: list, offsets: list) -> list:
    """Weighted isotonic regression: positions x_i >= x_{i-1} + gap, nearest to ``desired``.

    ``offsets[i]`` is the cumulative minimum distance from node 0 to node i; with
    y_i = x_i - offsets[i] the constraint becomes y non-decreasing.
    """
    blocks: list = []  # [mean, weight, count]
    for d, w, o in zip(desired, weights, offsets):
        blocks.append([d - o, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks[-1]
            wt = w1 + w2
            blocks[-1] = [(m1 * w1 + m2 * w2) / wt, wt, c1 + c2]
    out = []
    i = 0
    for m, _, c in blocks:
        for _ in range(c):
            out.append(m + offsets[i])
            i += 1
    return out


def layered_layout(
    node_ids: list,
    sizes: dict,
    edges: list,
    cluster_of: dict | None = None,
    sweeps: int = 4,
    rank_gap: float = RANK_GAP,
) -> Layout:
    """Lay out a DAG. ``edges`` are ``(src, dst, port, n_ports)``; ``sizes[id] = (w, h)``.

    Returns a :class:`Layout`; ``routes[i]`` is the polyline of ``edges[i]``.
    """
    n_real = len(node_ids)
    index = {v: i for i, v in enumerate(node_ids)}
    # Vertices are ints: 0..n_real-1 the nodes, then the dummies.
    cl_of = [None] * n_real
    for v, c in (cluster_of or {}).items():
        if v in index:
            cl_of[index[v]] = c
    wid = [float(sizes[v][0]) for v in node_ids]
    hgt = [float(sizes[v][1]) for v in node_ids]
    int_edges = []
    for s, d, *_ in edges:
        int_edges.append((index[s], index[d]))

    g = nx.DiGraph()
    g.add_nodes_from(range(n_real))
    g.add_edges_from((s, d) for s, d in int_edges if s != d)
    if not nx.is_directed_acyclic_graph(g):  # defensive: break cycles by dropping back edges
        g.remove_edges_from([(s, d) for s, d in list(g.edges) if s >= d])

    # 1. layers
    layer = [0] * n_real
    for gen_i, gen in enumerate(nx.topological_generations(g)):
        for v in gen:
            layer[v] = gen_i
    # Pull nodes down towards their consumers when that shortens more edges than it
    # lengthens (sources always; a reshape of an input feeding one late op, ...).
    for v in reversed(list(nx.topological_sort(g))):
        out_deg = g.out_degree(v)
        if out_deg and out_deg >= g.in_degree(v):
            cand = min(layer[s] for s in g.successors(v)) - 1
            if cand > layer[v]:
                layer[v] = cand
    low = min(layer, default=0)
    layer = [lay - low for lay in layer]
    n_layers = max(layer, default=-1) + 1

    # 2. dummies (the longest edges go without when there would be too many)
    max_dummies = max(MAX_DUMMIES_MIN, MAX_DUMMIES_PER_NODE * n_real)
    spans = sorted(
        ((layer[d] - layer[s], i) for i, (s, d) in enumerate(int_edges) if s != d and g.has_edge(s, d)), reverse=True
    )
    budget = sum(max(0, sp - 1) for sp, _ in spans)
    no_dummy = set()
    for sp, i in spans:
        if budget <= max_dummies:
            break
        no_dummy.add(i)
        budget -= sp - 1
    preds: list = [[] for _ in range(n_real)]
    succs: list = [[] for _ in range(n_real)]
    key0 = [float(i) for i in range(n_real)]
    chains = []
    for i, (s, d) in enumerate(int_edges):
        if s == d or not g.has_edge(s, d):
            chains.append([s, d])
            continue
        chain = [s]
        if i not in no_dummy:
            c = cl_of[s] if cl_of[s] == cl_of[d] else None
            for lay in range(layer[s] + 1, layer[d]):
                dv = len(layer)
                layer.append(lay)
                preds.append([])
                succs.append([])
                cl_of.append(c)
                wid.append(0.0)
                key0.append(s + 0.5)
                chain.append(dv)
        chain.append(d)
        if len(chain) > 2 or i not in no_dummy:
            for a, b in zip(chain, chain[1:]):
                succs[a].append(b)
                preds[b].append(a)
        chains.append(chain)
    n_all = len(layer)
    is_dummy = [False] * n_real + [True] * (n_all - n_real)

    # 3. ordering: initial order by graph order (dummies after their source), then sweeps
    rows: list = [[] for _ in range(n_layers)]
    for v in range(n_all):
        rows[layer[v]].append(v)
    for r in rows:
        r.sort(key=key0.__getitem__)
    position = [0] * n_all
    for r in rows:
        for i, v in enumerate(r):
            position[v] = i
    has_clusters = any(c is not None for c in cl_of)

    def total_crossings():
        total = 0
        for li in range(n_layers - 1):
            between = [(position[u], position[w]) for u in rows[li] for w in succs[u]]
            if len(between) > 1:
                total += _count_crossings(between)
        return total

    def sort_row(r, neigh):
        bary = [0.0] * len(r)
        for i, v in enumerate(r):
            ns = neigh[v]
            if ns:
                t = 0
                for u in ns:
                    t += position[u]
                bary[i] = t / len(ns)
            else:
                bary[i] = position[v]
        if has_clusters:
            sums: dict = {}
            for i, v in enumerate(r):
                c = cl_of[v]
                if c is not None:
                    e = sums.get(c)
                    if e is None:
                        sums[c] = [bary[i], 1]
                    else:
                        e[0] += bary[i]
                        e[1] += 1
            keys = []
            for i, v in enumerate(r):
                c = cl_of[v]
                if c is None:
                    keys.append((bary[i], "", bary[i], v))
                else:
                    e = sums[c]
                    keys.append((e[0] / e[1], str(c), bary[i], v))
            keys.sort()
            r[:] = [k[3] for k in keys]
        else:
            order = sorted(range(len(r)), key=bary.__getitem__)
            r[:] = [r[i] for i in order]
        for i, v in enumerate(r):
            position[v] = i

    best = [list(r) for r in rows]
    best_c = total_crossings()
    for _ in range(sweeps):
        if best_c == 0:
            break
        for li in range(1, n_layers):
            sort_row(rows[li], preds)
        for li in range(n_layers - 2, -1, -1):
            sort_row(rows[li], succs)
        c = total_crossings()
        if c < best_c:
            best_c = c
            best = [list(r) for r in rows]
    rows = best

    # 4. coordinates
    def gap(a, b):
        if is_dummy[a] or is_dummy[b]:
            return DUMMY_GAP
        if cl_of[a] != cl_of[b]:
            return CLUSTER_GAP
        return NODE_GAP

    offsets_of = []
    x = [0.0] * n_all
    for r in rows:
        offs = [0.0]
        for a, b in zip(r, r[1:]):
            offs.append(offs[-1] + wid[a] / 2 + gap(a, b) + wid[b] / 2)
        offsets_of.append(offs)
        for v, o in zip(r, offs):
            x[v] = o

    def place(li, neigh, neigh2=None):
        r = rows[li]
        if not r:
            return
        desired, weights = [], []
        for v in r:
            ns = neigh[v] if neigh2 is None else neigh[v] + neigh2[v]
            if ns:
                t = 0.0
                for u in ns:
                    t += x[u]
                desired.append(t / len(ns))
                weights.append(4.0 if is_dummy[v] else 1.0 + 0.25 * len(ns))
            else:
                desired.append(x[v])
                weights.append(0.1)
        for v, nx_ in zip(r, _pav(desired, weights, offsets_of[li])):
            x[v] = nx_

    for _ in range(3):
        for li in range(1, n_layers):
            place(li, preds)
        for li in range(n_layers - 2, -1, -1):
            place(li, succs)
    for li in range(n_layers):
        place(li, preds, succs)

    # vertical
    layer_h = [0.0] * n_layers
    for v in range(n_real):
        if hgt[v] > layer_h[layer[v]]:
            layer_h[layer[v]] = hgt[v]
    ys = []
    y = MARGIN
    for h in layer_h:
        ys.append(y + h / 2)
        y += h + rank_gap
    height = y - rank_gap + MARGIN

    min_x = min((x[v] - wid[v] / 2 for v in range(n_all)), default=0.0)
    shift = MARGIN - min_x
    width = max((x[v] + wid[v] / 2 for v in range(n_all)), default=0.0) + shift + MARGIN

    out = Layout(width=max(width, 2 * MARGIN), height=max(height, 2 * MARGIN), layers=n_layers)
    for i, v in enumerate(node_ids):
        out.pos[v] = (x[i] + shift, ys[layer[i]])
        out.size[v] = sizes[v]
        out.layer_of[v] = layer[i]

    # 5. routes
    for (s, d, *port), chain in zip(edges, chains):
        sx, sy = out.pos[s]
        dx, dy = out.pos[d]
        k, nports = (list(port) + [0, 1])[:2] if port else (0, 1)
        w = sizes[d][0]
        spread = min(14.0, (w - 12) / max(nports, 1)) if nports > 1 else 0.0
        px = dx + (k - (nports - 1) / 2) * spread
        pts = [(sx, sy + sizes[s][1] / 2)]
        for dv in chain[1:-1]:
            lay = layer[dv]
            xx = x[dv] + shift
            pts.append((xx, ys[lay] - layer_h[lay] / 2))
            pts.append((xx, ys[lay] + layer_h[lay] / 2))
        pts.append((px, dy - sizes[d][1] / 2))
        out.routes.append(pts)
    return out
