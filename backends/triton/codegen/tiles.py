"""Pointwise and row (reduction) kernels: one node walker over a flat or a 2-d tile.

``pointwise``
    a flat block of ``XBLOCK`` elements of the output shape per program, masked for the tail
    unless the blocks tile the size exactly (``EVEN``); each input is read through index
    arithmetic from its own strides (passed as kernel arguments, so views — transposes,
    slices, broadcasts — never force a copy). An input whose layout is dense gets a ``C<j>``
    constexpr flag at launch, and then its offsets are the flat index itself (no div/mod),
    which lets Triton vectorize the access.
``reduction``
    a row kernel: ``XBLOCK`` rows of the domain per program, reduced over ``axes``. Short rows
    use the *persistent* form (the whole row in registers: every reduction of the row —
    softmax's max and sum, layer norm's mean and variance — and the elementwise prologue and
    epilogue in one pass over memory); long rows the *looped* form (one loop over the row per
    stage of dependent reductions, recomputing the cheap prologue).

Which values live where, and which reads a tile can express, is :mod:`.layout`'s to say.
"""

from __future__ import annotations

from ir import ops as ops_table
from ir.graph import view_root
from ir.printer import format_node

from .. import _env
from .. import exprs as E
from ..memory import contiguous_strides
from .emitter import CONFIG, Emitter, TritonKernel, next_pow2, pointwise_config, prod, scalar_value
from .layout import TileLayout
from .reduction import RowReductions


class TileKernel(RowReductions):
    """Pointwise (1-d flat tile) and reduction (XBLOCK x RBLOCK tile) kernels."""

    def __init__(self, group, name):
        self.g = group
        self.name = name
        self.layout = L = TileLayout(group.kind, group.domain, group.axes)
        self.domain, self.axes, self.reduction = L.domain, L.axes, L.reduction
        self.rdims, self.xdims, self.keep, self.nokeep = L.rdims, L.xdims, L.keep, L.nokeep
        self.R = prod(self.domain[d] for d in self.rdims)
        self.M = prod(self.domain[d] for d in self.xdims)
        self.trailing = self.rdims == list(range(len(self.domain) - len(self.rdims), len(self.domain)))
        self.e = Emitter(name, group.kind, group.nodes)
        # Short rows stay in registers (persistent); a column reduction (reduced dims outside the
        # kept ones) only while its tile can still be wide along the contiguous kept dims.
        limit = CONFIG["persistent_rblock_max"] if self.trailing else min(CONFIG["persistent_rblock_max"], 64)
        self.persistent = (not self.reduction) or next_pow2(self.R) <= limit
        self.RB = next_pow2(self.R) if self.persistent else None

    def big(self) -> bool:
        """Whether offsets may pass 2**31 (then index math is int64)."""
        sizes = [prod(self.domain)] + [prod(n.shape) for n in self.g.inputs]
        return max(sizes) >= (1 << 31) - (1 << 20)

    def pid(self) -> str:
        return "tl.program_id(0).to(tl.int64)" if self.big() else "tl.program_id(0)"

    # -- spaces: which tile a value lives in (see .layout) --------------------------------
    def space(self, n) -> str:
        return self.layout.space(n)

    def cdims(self, shape, space) -> tuple:
        return self.layout.cdims(shape, space)

    # -- coordinates ------------------------------------------------------------------------
    def coord(self, d: int) -> str:
        e = self.e
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        D = self.domain
        if not self.reduction:
            flat, dims = "xoffs", list(range(len(D)))
        elif d in self.axes:
            flat, dims = "roffs", self.rdims
        else:
            flat, dims = "xoffs", self.xdims
        pos = dims.index(d)
        inner = prod(D[k] for k in dims[pos + 1 :])
        expr = flat if inner == 1 else f"({flat} // {inner})"
        if pos > 0:
            expr = f"{expr} % {D[d]}"
        name = f"{'r' if (self.reduction and d in self.axes) else 'x'}{d}_"
        e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def flat_of(self, omap) -> str | None:
        """The offset of a dense operand read with mapping ``omap`` when it is a tile's flat index."""
        used = [x for x in omap if x is not None]
        if not self.reduction:
            if used == [d for d in range(len(self.domain)) if self.domain[d] != 1]:
                return "xoffs"
            return None
        if used == [d for d in self.xdims if self.domain[d] != 1]:
            return "xoffs"
        if self.trailing and used == [d for d in range(len(self.domain)) if self.domain[d] != 1] and self.rdims:
            return f"xoffs * {self.R} + roffs" if self.M > 1 else "roffs"
        return None

    def masks_for(self, omap) -> str:
        """The mask of a load indexed by ``omap``: by rows only, along the row only (weights of a
        layer norm: one [1, RBLOCK] load a program), or both."""
        if not self.reduction:
            return "xmask"
        along_r = any(x is not None and x in self.axes for x in omap)
        along_x = any(x is not None and x not in self.axes for x in omap)
        if along_r:
            return "mask" if along_x else "rmask"
        return "xmask"

    # -- operands -------------------------------------------------------------------------------
    def operand(self, n, i) -> str:
        """The value of input ``i`` of node ``n``: a literal, a value of this kernel, or a load."""
        r = self.layout.read(n, i, self.g.inside)
        if r.kind == "literal":
            return E.literal(scalar_value(r.root), r.root.dtype)
        if r.kind == "inside":
            return self.e.values[r.root.id]
        spec = self.e.add_input(r.root)
        coords = {d: self.coord(r.omap[d]) for d in spec.stride_dims}
        return self.e.load_operand(spec, coords, self.masks_for(r.omap), self.flat_of(r.omap), r.root.dtype)

    def levels(self) -> dict:
        lv = {}
        for n in self.g.nodes:
            ins = []
            for i in n.inputs:
                root, _ = view_root(i, self.g.inside)
                ins.append(lv.get(root.id, 0))
            base = max(ins, default=0)
            lv[n.id] = base + 1 if n.kind == ops_table.REDUCE else base
        return lv

    def generate(self) -> TritonKernel:
        e = self.e
        g = self.g
        outputs = set(o.id for o in g.outputs)
        for n in g.nodes:
            self.layout.check_node(n, g.inside)  # the policy accepted the group: this is a bug if it raises
        if not self.reduction:
            N = prod(self.domain)
            e.constexprs.append("XBLOCK")
            e.even = True
            e.emit(f"xoffs = {self.pid()} * XBLOCK + tl.arange(0, XBLOCK)")
            e.emit(f"xmask = None if EVEN else xoffs < {N}  # EVEN: the blocks tile the {N} elements exactly")
            self.out_names = {o.id: e.add_output(o) for o in g.outputs}
            for n in g.nodes:
                e.elementwise(n, self.operand)
                if n.id in outputs:
                    e.store(self.out_names[n.id], "xoffs", e.values[n.id], "xmask", n)
            return self.finish()
        e.constexprs.extend(["XBLOCK", "RBLOCK"])
        e.emit(f"xoffs = {self.pid()} * XBLOCK + tl.arange(0, XBLOCK)[:, None]")
        e.emit(f"xmask = xoffs < {self.M}")
        e.emit("rbase = tl.arange(0, RBLOCK)[None, :]")
        self.out_names = {o.id: e.add_output(o) for o in g.outputs}
        if self.persistent:
            e.emit("roffs = rbase")
            e.emit(f"rmask = roffs < {self.R}")
            e.emit("mask = xmask & rmask")
            for n in g.nodes:
                self.emit_node(n)
                if n.id in outputs:
                    self.store_node(n)
            return self.finish()
        self.generate_looped(outputs)
        return self.finish()

    def emit_node(self, n) -> None:
        if n.kind == ops_table.REDUCE:
            self.emit_reduction_persistent(n)
        else:
            self.e.elementwise(n, self.operand)

    def store_node(self, n) -> None:
        e = self.e
        if self.space(n) == "row":
            e.store(self.out_names[n.id], "xoffs", e.values[n.id], "xmask", n)
        else:
            off = self.flat_of(self.cdims(self.domain, "dom"))
            if off is None:
                c = contiguous_strides(self.domain)
                off = (
                    " + ".join(f"{self.coord(d)} * {c[d]}" for d in range(len(self.domain)) if self.domain[d] != 1)
                    or "0"
                )
            e.store(self.out_names[n.id], off, e.values[n.id], "mask", n)

    def generate_looped(self, outputs) -> None:
        e = self.e
        g = self.g
        lv = self.levels()
        by_id = {n.id: n for n in g.nodes}
        reds = [n for n in g.nodes if n.kind == ops_table.REDUCE]
        dom_out = [n for n in g.nodes if n.id in outputs and n.kind != ops_table.REDUCE and self.space(n) == "dom"]
        passes = max([lv[n.id] - 1 for n in reds] + [lv[n.id] for n in dom_out] + [0]) + 1
        done_rows = set()

        def emit_rows(level):
            for n in g.nodes:
                if (
                    n.kind != ops_table.REDUCE
                    and self.space(n) == "row"
                    and lv[n.id] <= level
                    and n.id not in done_rows
                ):
                    done_rows.add(n.id)
                    e.elementwise(n, self.operand)
                    if n.id in outputs:
                        self.store_node(n)

        def dom_deps(targets):
            need, stack = set(), list(targets)
            while stack:
                n = stack.pop()
                if n.id in need:
                    continue
                need.add(n.id)
                for i in n.inputs:
                    root, _ = view_root(i, g.inside)
                    if root.id in g.inside and root.kind != ops_table.REDUCE and self.space(root) == "dom":
                        stack.append(root)
            return need

        emit_rows(0)
        for p in range(passes):
            stage_reds = [n for n in reds if lv[n.id] == p + 1]
            stage_out = [n for n in dom_out if lv[n.id] == p]
            targets = [
                by_id[view_root(n.inputs[0], g.inside)[0].id]
                for n in stage_reds
                if view_root(n.inputs[0], g.inside)[0].id in g.inside
            ]
            need = dom_deps([t for t in targets if t.kind != ops_table.REDUCE and self.space(t) == "dom"] + stage_out)
            e.emit(f"# pass {p + 1} of {passes} over the row")
            for n in stage_reds:
                self.init_acc(n)
            e.emit(f"for roff in range(0, {self.R}, RBLOCK):")
            e.depth += 1
            e.push()
            e.emit("roffs = roff + rbase")
            e.emit(f"rmask = roffs < {self.R}")
            e.emit("mask = xmask & rmask")
            for n in g.nodes:
                if n.id in need:
                    e.elementwise(n, self.operand)
            for n in stage_reds:
                self.update_acc(n)
            for n in stage_out:
                self.store_node(n)
            e.pop()
            e.depth -= 1
            for n in stage_reds:
                self.final_acc(n)
                if n.id in outputs:
                    self.store_node(n)
            emit_rows(p + 1)


    def finish(self) -> TritonKernel:
        g = self.g
        e = self.e
        fn_name = self.name
        D = self.domain
        if not self.reduction:
            doc = [f"pointwise over {list(D)} ({prod(D)} elements), XBLOCK elements per program"]
        else:
            form = "persistent (whole row in registers)" if self.persistent else "looped"
            doc = [f"row kernel over {list(D)} reducing axes {list(self.axes)}: {self.M} rows of {self.R}, {form}"]
        source = e.source(fn_name, doc)
        k = TritonKernel(
            name=self.name,
            kind=g.kind,
            source=source,
            fn_name=fn_name,
            node_ids=[n.id for n in g.nodes],
            node_text=[format_node(n) for n in g.nodes],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
        )
        if not self.reduction:
            N = prod(D)
            k.numel = N
            k.even = (N, "XBLOCK")
            k.configure = pointwise_config(N)
            k.grid = lambda cfg, N=N: ((N + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
            k.aot_config = {"XBLOCK": min(1024, next_pow2(N)), "num_warps": 4}
        else:
            M, Rn = self.M, self.R
            k.numel = M  # rows; R may be 0 (reductions of empty rows still write their identity)
            k.configure = row_config(M, Rn, self.persistent, self.trailing)
            k.grid = lambda cfg, M=M: ((M + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
            cfg = row_config(M, Rn, self.persistent, self.trailing, gpu=True)(k)
            k.aot_config = cfg
        return k


def row_config(M, Rn, persistent, trailing, gpu=False):
    def configure(kernel):
        interp = _env.interpreting() and not gpu
        # Tiles of at most a few thousand elements per program keep every live value in registers.
        # Rows reduced over their trailing (contiguous) dims read along RBLOCK; "column" reductions
        # (kept dims inside the reduced ones) read along XBLOCK, so they take wide XBLOCKs.
        if persistent:
            rb = next_pow2(Rn)
            if interp:
                xb = min(next_pow2(M), max(1, (1 << 15) // rb))
            else:
                xb = min(next_pow2(M), max(1, (2048 if trailing else 4096) // rb))
        elif interp:
            rb = next_pow2(min(Rn, CONFIG["looped_rblock"]))
            xb = min(next_pow2(M), max(1, (1 << 14) // rb))
        elif trailing:
            rb, xb = next_pow2(min(Rn, CONFIG["looped_rblock"])), 1
        else:
            rb, xb = min(next_pow2(Rn), 64), min(next_pow2(M), 64)
        cfg = {"XBLOCK": xb, "RBLOCK": rb}
        if not interp:
            cfg["num_warps"] = max(1, min(16, next_pow2(xb * rb // 512)))
        return cfg

    return configure
