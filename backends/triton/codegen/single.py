"""Kernels for ops that fuse with nothing: gather / index_select (pointwise with an indexed
load), scatter_add / index_add / index_copy (a copy, then ``tl.atomic_add`` or a store over the
updates), concat (strided copies into slices of the output), pad, convolution windows
(``im2col``/``col2im``), cumsum (``tl.cumsum`` with a
carry for long rows), full, iota, random (``tl.rand`` / ``tl.randn`` on the op's seed).

``SingleKernel.generate()`` returns (kernels, host lines): the host lines allocate the output,
check indices where needed, and launch the kernels.
"""

from __future__ import annotations

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.ops.im2col import padding_of
from ir.passes.fusion import SINGLE
from ir.printer import format_node

from .. import _env
from .. import exprs as E
from ..memory import contiguous_strides
from .emitter import Emitter, TritonKernel, next_pow2, pointwise_config, prod
from .reduction import number_literal


def _plus(expr: str, k: int) -> str:
    """``expr + k`` as generated code reads it: ``x``, ``x + 2`` or ``x - 1``."""
    return expr if k == 0 else f"{expr} + {k}" if k > 0 else f"{expr} - {-k}"


class SingleKernel:
    """Kernels for ops that fuse with nothing: gather/scatter, concat, pad, cumsum, creation, random.

    ``generate()`` returns (kernels, host lines) — the host lines allocate the
    output and launch the kernels (some ops take a copy and then a kernel)."""

    def __init__(self, node, name, codegen):
        self.n = node
        self.name = name
        self.cg = codegen
        self.bounds = None  # (index node, size, axis) of a kernel that reads through indices

    def pointwise_emitter(self, domain):
        e = Emitter(self.name, SINGLE, [self.n])
        e.constexprs.append("XBLOCK")
        e.emit("xoffs = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)")
        e.emit(f"xmask = xoffs < {prod(domain)}")
        self.domain = tuple(domain)
        return e

    def coord(self, e, d):
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        D = self.domain
        inner = prod(D[d + 1 :])
        expr = "xoffs" if inner == 1 else f"(xoffs // {inner})"
        if d > 0:
            expr = f"{expr} % {D[d]}"
        name = f"x{d}_"
        e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def load_full(self, e, node, coords: dict, mask="xmask", dense=None) -> str:
        """Load ``node`` (an input) at operand coordinates ``coords`` (dim -> expression)."""
        spec = e.add_input(node)
        cs = {d: coords[d] for d in spec.stride_dims}
        return e.load_operand(spec, cs, mask, dense, node.dtype)

    def make_kernel(self, e, doc, numel, kind=SINGLE) -> TritonKernel:
        n = self.n
        k = TritonKernel(
            name=self.name,
            kind=kind,
            source=e.source(self.name, doc),
            fn_name=self.name,
            node_ids=[n.id],
            node_text=[format_node(n)],
            inputs=e.inputs,
            outputs=e.outputs,
            scalars=e.scalars,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
        )
        k.numel = numel
        k.checks = self.bounds is not None
        k.configure = pointwise_config(numel)
        k.grid = lambda cfg, N=numel: ((N + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
        k.aot_config = {"XBLOCK": min(1024, next_pow2(numel)), "num_warps": 4}
        return k

    def generate(self):
        n = self.n
        op = n.op
        fn = self.gen_scan if n.kind == ops_table.SCAN else getattr(self, "gen_" + op, None)
        if fn is None:
            if n.kind == ops_table.REDUCE and n.numel == 0:
                return [], [f"{self.cg.v(n)} = R.empty({tuple(n.shape)!r}, D{n.id})"]
            raise UnsupportedError(f"Triton codegen: no kernel for op {op!r}")
        return fn()

    # -- creation and random -------------------------------------------------------------
    def gen_full(self):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        e.store(
            out,
            "xoffs",
            f"tl.full([XBLOCK], {E.literal(n.attrs['value'], n.dtype)}, {E.tl_type(E.compute_type(n.dtype))})",
            "xmask",
            n,
        )
        k = self.make_kernel(e, [f"fill {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [])

    def gen_iota(self):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        axis = n.attrs["axis"]
        c = self.coord(e, axis) if n.shape[axis] != 1 else "(xoffs * 0)"
        e.store(out, "xoffs", f"{c}.to({E.tl_type(E.compute_type(n.dtype))})", "xmask", n)
        k = self.make_kernel(e, [f"iota along axis {axis} of {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [])

    def gen_random_uniform(self):
        return self.gen_random("tl.rand")

    def gen_random_normal(self):
        return self.gen_random("tl.randn")

    def gen_random(self, fn):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.scalars.append("seed")
        e.comment_node(n)
        e.emit(f"v = {fn}(seed, xoffs)  # Philox, counter = element index")
        e.store(out, "xoffs", E.round_to("v", n.dtype) if n.dtype is not dt.float64 else "v.to(tl.float64)", "xmask", n)
        k = self.make_kernel(e, [f"{fn} numbers for {list(n.shape)} from the seed input"], n.numel)
        seed = self.cg.v(n.inputs[0])
        return [k], self.alloc_launch(k, [], scalars=f"[R.scalar_int({seed}) & 0x7FFFFFFFFFFFFFFF]")

    # -- pad ----------------------------------------------------------------------------------
    def gen_pad(self):
        n = self.n
        x = n.inputs[0]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        pads = n.attrs["pads"]
        value = n.attrs.get("value", 0)
        e.comment_node(n)
        conds, coords = [], {}
        for d, (lo, hi) in enumerate(pads):
            if x.shape[d] == 1 and lo == 0 and hi == 0:
                continue
            c = self.coord(e, d) if n.shape[d] != 1 else "0"
            src = f"({c} - {lo})" if lo else c
            coords[d] = src
            if lo > 0:
                conds.append(f"({src} >= 0)")
            if hi > 0 or lo < 0 or True:
                conds.append(f"({src} < {x.shape[d]})")
            if lo < 0:
                conds.append(f"({src} >= 0)")
        e.emit("inside = xmask" + "".join(f" & {c}" for c in dict.fromkeys(conds)))
        v = self.load_full(e, x, coords, mask="inside")
        fill = E.literal(value, x.dtype)
        e.store(out, "xoffs", f"tl.where(inside, {v}, {fill})", "xmask", n)
        k = self.make_kernel(e, [f"pad {list(x.shape)} by {list(pads)} -> {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [x])

    # -- gather / index_select -------------------------------------------------------------------
    def _index_value(self, e, idx_node, coords, size, axis, mask="xmask"):
        """Load the index for each lane and say which lanes are in range (``[0, size)``: the
        frontend has wrapped negative indices where PyTorch does).

        Out-of-range lanes are neither read nor written. Under the interpreter the host program
        checks the indices before the launch (an IndexError naming the op, the index and the
        size, as the numpy backend raises); on a GPU the kernel asserts it when compiled with
        GRAPHC_TRITON_DEBUG=1 (a device-side assert, as PyTorch's)."""
        n = self.n
        iv = self.load_full(e, idx_node, coords, mask=mask)
        if not e.input_of[idx_node.id].stride_dims:
            iv = f"({iv} + xoffs * 0)"  # one index for every lane: make it a block like them
        e.emit(f"ix = {iv}.to(tl.int64)")
        e.emit(f"ok = {mask} & (ix >= 0) & (ix < {size})  # out-of-range lanes are not read or written")
        e.emit(
            f'tl.device_assert(ok | ({mask} == 0), "{n.op}: index out of bounds for dimension {axis} with size {size}")'
        )
        self.bounds = (idx_node, size, axis)
        return "ix"

    def gen_gather(self):
        n = self.n
        x, idx = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        cs = {d: self.coord(e, d) for d in range(len(n.shape)) if n.shape[d] != 1}
        ix = self._index_value(e, idx, cs, x.shape[axis] if x.shape else 1, axis)
        xc = {d: cs.get(d, "0") for d in range(len(x.shape))}
        xc[axis] = ix
        v = self.load_full(e, x, xc, mask="ok")
        e.store(out, "xoffs", v, "xmask", n)
        k = self.make_kernel(e, [f"gather along axis {axis}: out[i] = x[i with axis {axis} <- idx[i]]"], n.numel)
        return [k], self.alloc_launch(k, [x, idx])

    def gen_index_select(self):
        n = self.n
        x, idx = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        k_idx = len(idx.shape)
        cs = {d: self.coord(e, d) for d in range(len(n.shape)) if n.shape[d] != 1}
        ic = {j: cs.get(axis + j, "0") for j in range(k_idx)}
        ix = self._index_value(e, idx, ic, x.shape[axis], axis)
        v = self.load_full(e, x, _indexed_coords(cs, ix, len(x.shape), axis, k_idx), mask="ok")
        e.store(out, "xoffs", v, "xmask", n)
        k = self.make_kernel(e, [f"index_select along axis {axis}"], n.numel)
        return [k], self.alloc_launch(k, [x, idx])

    # -- scatter-style updates: out = copy(x), then a kernel over the updates ---------------------------
    def _update(self, src_shape, idx_coords_of, out_coords_of, mode):
        n = self.n
        x, idx, src = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(src_shape)
        out = e.add_output(n)  # read-modify-write: the host code copies x into it first
        e.comment_node(n)
        cs = {d: self.coord(e, d) for d in range(len(src_shape)) if src_shape[d] != 1}
        size = x.shape[axis] if x.shape else 1
        ix = self._index_value(e, idx, idx_coords_of(cs), size, axis)
        v = self.load_full(e, src, {d: cs.get(d, "0") for d in range(len(src.shape))}, mask="ok")
        oc = out_coords_of(cs, ix)
        c = contiguous_strides(x.shape)
        off = (
            " + ".join(
                f"{oc[d]} * {c[d]}" if c[d] != 1 else f"{oc[d]}"
                for d in range(len(x.shape))
                if x.shape[d] != 1 or d == axis
            )
            or "0"
        )
        val = f"{v}.to({out}.dtype.element_ty)"
        if mode == "add":
            e.emit(f"tl.atomic_add({out} + {off}, {val}, mask=ok)  # repeated indices accumulate")
        else:
            e.emit(f"tl.store({out} + {off}, {val}, mask=ok)")
        k = self.make_kernel(e, [f"{n.op} along axis {axis} over the {list(src_shape)} updates"], prod(src_shape))
        v_out = self.cg.v(n)
        lines = self.bounds_check() + [
            f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})",
            f"R.copy_into({v_out}, {self.cg.v(x)})",
            f"{self.cg.kname(k)}.launch([{', '.join(self.cg.v(s.node) for s in k.inputs)}], [{v_out}])",
        ]
        return [k], lines

    def gen_scatter_add(self):
        n = self.n
        axis = n.attrs["axis"]
        shape = tuple(n.inputs[1].shape)
        return self._update(
            shape,
            lambda cs: {d: cs.get(d, "0") for d in range(len(shape))},
            lambda cs, ix: {d: (ix if d == axis else cs.get(d, "0")) for d in range(len(n.shape))},
            "add",
        )

    def _index_update(self, mode):
        n = self.n
        x, idx, src = n.inputs
        axis = n.attrs["axis"]
        k_idx = len(idx.shape)
        shape = tuple(src.shape)

        def out_coords(cs, ix):
            return _indexed_coords(cs, ix, len(x.shape), axis, k_idx)

        return self._update(shape, lambda cs: {j: cs.get(axis + j, "0") for j in range(k_idx)}, out_coords, mode)

    def gen_index_add(self):
        return self._index_update("add")

    def gen_index_copy(self):
        return self._index_update("store")

    # -- convolution windows (ir/ops/im2col.py) -------------------------------------------------
    def gen_im2col(self):
        """Each window entry copies the pixel its window and kernel tap read; a tap in the
        padding around the image (``padding_of``) loads nothing and reads 0."""
        n = self.n
        x = n.inputs[0]
        (kh, kw), (sh, sw), (dh, dw) = n.attrs["kernel"], n.attrs["stride"], n.attrs["dilation"]
        (top, bottom), (left, right) = padding_of(n.attrs)
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        c = {d: self.coord(e, d) if n.shape[d] != 1 else "0" for d in range(5)}
        e.emit(f"tap_h = {c[2]} // {kw}")
        e.emit(f"tap_w = {c[2]} % {kw}")
        e.emit(f"px_h = {_plus(f'{c[3]} * {sh} + tap_h * {dh}', -top)}")
        e.emit(f"px_w = {_plus(f'{c[4]} * {sw} + tap_w * {dw}', -left)}")
        mask = "xmask"
        if top or bottom or left or right:
            e.emit(f"inside = xmask & (px_h >= 0) & (px_h < {x.shape[2]}) & (px_w >= 0) & (px_w < {x.shape[3]})")
            mask = "inside"
        xc = {0: c[0], 1: c[1], 2: "px_h", 3: "px_w"}
        e.store(out, "xoffs", self.load_full(e, x, xc, mask=mask), "xmask", n)
        doc = (f"im2col: the {kh}x{kw} windows of {list(x.shape)}, stride {(sh, sw)}, dilation {(dh, dw)}, "
               f"padding {((top, bottom), (left, right))}")
        k = self.make_kernel(e, [doc], n.numel)
        return [k], self.alloc_launch(k, [x])

    def gen_col2im(self):
        """Each pixel sums the window entries that read it: per kernel tap (unrolled), the one
        window whose tap lands on the pixel, where the stride puts a window there."""
        n = self.n
        g = n.inputs[0]
        (kh, kw), (sh, sw), (dh, dw) = n.attrs["kernel"], n.attrs["stride"], n.attrs["dilation"]
        (top, _), (left, _) = padding_of(n.attrs)
        oh, ow = g.shape[3], g.shape[4]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        c = {d: self.coord(e, d) if n.shape[d] != 1 else "0" for d in range(4)}
        e.emit(f"acc = tl.zeros([XBLOCK], dtype={E.tl_type(E.compute_type(n.dtype))})")
        for axis, taps, s, dil, count, pad in (("h", kh, sh, dh, oh, top), ("w", kw, sw, dw, ow, left)):
            pixel = c[2 if axis == "h" else 3]  # the pixel's place in the padded image: + pad
            for i in range(taps):
                e.emit(f"{axis}{i} = {_plus(pixel, pad - i * dil)}")
                hit = f"({axis}{i} >= 0) & ({axis}{i} < {s * count})"
                e.emit(f"ok_{axis}{i} = {hit}" + (f" & ({axis}{i} % {s} == 0)" if s > 1 else ""))
        for i in range(kh):
            for j in range(kw):
                e.emit(f"m{i}_{j} = xmask & ok_h{i} & ok_w{j}")
                gc = {0: c[0], 1: c[1], 2: str(i * kw + j), 3: f"(h{i} // {sh})" if sh > 1 else f"h{i}",
                      4: f"(w{j} // {sw})" if sw > 1 else f"w{j}"}
                e.emit(f"acc += {self.load_full(e, g, gc, mask=f'm{i}_{j}')}")
        e.store(out, "xoffs", "acc", "xmask", n)
        doc = f"col2im: {list(g.shape)} windows ({kh}x{kw}, stride {(sh, sw)}, dilation {(dh, dw)}) summed into {list(n.shape)}"
        k = self.make_kernel(e, [doc], n.numel)
        return [k], self.alloc_launch(k, [g])

    # -- concat: strided copies into slices of the output --------------------------------------------------
    def gen_concat(self):
        n = self.n
        axis = n.attrs["axis"]
        v_out = self.cg.v(n)
        lines = [f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})"]
        start = 0
        for x in n.inputs:
            size = x.shape[axis]
            if size:
                starts = [0] * len(n.shape)
                stops = list(n.shape)
                starts[axis], stops[axis] = start, start + size
                attrs = {"starts": tuple(starts), "stops": tuple(stops), "steps": (1,) * len(n.shape)}
                lines.append(f"R.copy_into(R.view({v_out}, 'slice', {attrs!r}, {tuple(x.shape)!r}), {self.cg.v(x)})")
            start += size
        return [], lines

    # -- cumsum: a row scan with a carry across chunks ----------------------------------------------------------
    def gen_scan(self):
        """A scan row (its ReduceSpec): ``tl.associative_scan`` with the combine row's function over
        RBLOCK-wide chunks of each row, and a carry of the chunks before."""
        n = self.n
        x = n.inputs[0]
        D = tuple(x.shape)
        if not D:
            return [], [f"{self.cg.v(n)} = R.copy({self.cg.v(x)})"]
        axis = n.attrs["axis"]
        L = D[axis]
        others = [d for d in range(len(D)) if d != axis]
        M = prod(D[d] for d in others)
        e = Emitter(self.name, SINGLE, [n])
        e.constexprs.extend(["XBLOCK", "RBLOCK"])
        out = e.add_output(n)
        e.comment_node(n)
        e.emit("xoffs = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]")
        e.emit(f"xmask = xoffs < {M}")
        xc = {}
        for pos, d in enumerate(others):
            inner = prod(D[k] for k in others[pos + 1 :])
            expr = "xoffs" if inner == 1 else f"(xoffs // {inner})"
            if pos > 0:
                expr = f"{expr} % {D[d]}"
            if D[d] != 1:
                e.emit(f"x{d}_ = {expr}")
                xc[d] = f"x{d}_"
        spec = n.opdef.reduce
        acc = E.compute_type(spec.acc_dtype(x.dtype))
        combine = E.combine_helper(spec.combine, acc)
        e.use_helper(combine)
        ident = number_literal(spec.identity(x.dtype), acc)
        e.emit(f"carry = tl.full([XBLOCK, 1], {ident}, {E.tl_type(acc)})")
        e.emit(f"for roff in range(0, {L}, RBLOCK):")
        e.depth += 1
        e.emit("roffs = roff + tl.arange(0, RBLOCK)[None, :]")
        e.emit(f"mask = xmask & (roffs < {L})")
        coords = dict(xc)
        coords[axis] = "roffs"
        spec = e.add_input(x)
        v = e.load_operand(spec, {d: coords[d] for d in spec.stride_dims}, "mask", None, x.dtype)
        if E.compute_type(x.dtype) is not acc:
            v = f"{v}.to({E.tl_type(acc)})"
        e.emit(f"t = tl.where(mask, {v}, {ident})")
        e.emit(f"s = {combine}(carry, tl.associative_scan(t, 1, {combine}))")
        c = contiguous_strides(D)
        off = " + ".join(f"{coords[d]} * {c[d]}" if c[d] != 1 else coords[d] for d in range(len(D)) if D[d] != 1) or "0"
        ct = E.compute_type(n.dtype)
        e.store(out, off, E.round_to("s" if ct is acc else f"s.to({E.tl_type(ct)})", n.dtype), "mask", n)
        e.emit(f"carry = {combine}(carry, tl.reduce(t, 1, {combine}, keep_dims=True))")
        e.depth -= 1
        k = TritonKernel(
            name=self.name,
            kind=SINGLE,
            source=e.source(self.name, [f"{n.op} along axis {axis}: {M} rows of {L}, RBLOCK-wide chunks with a carry"]),
            fn_name=self.name,
            node_ids=[n.id],
            node_text=[format_node(n)],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
        )
        k.numel = M if L else 0

        def configure(kernel, M=M, L=L):
            rb = min(next_pow2(L), 1024)
            if _env.interpreting():
                return {"XBLOCK": min(next_pow2(M), max(1, (1 << 14) // rb)), "RBLOCK": rb}
            return {"XBLOCK": max(1, min(next_pow2(M), 2048 // rb)), "RBLOCK": rb, "num_warps": 4}

        k.configure = configure
        k.grid = lambda cfg, M=M: ((M + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
        k.aot_config = {
            "XBLOCK": max(1, min(next_pow2(M), 2048 // min(next_pow2(L), 1024))),
            "RBLOCK": min(next_pow2(L), 1024),
            "num_warps": 4,
        }
        return [k], self.alloc_launch(k, [x])

    # -- host code ------------------------------------------------------------------------------------------------
    def bounds_check(self) -> list:
        """Host lines that raise IndexError for out-of-range indices (under the interpreter,
        where the indices are host memory; on a GPU the kernel's device-side assert does it)."""
        if self.bounds is None or not _env.interpreting():
            return []
        idx, size, axis = self.bounds
        return [f"R.check_index({self.cg.v(idx)}, {size}, {self.n.op!r}, {axis})"]

    def alloc_launch(self, k, ins, scalars=None):
        n = self.n
        v_out = self.cg.v(n)
        lines = self.bounds_check() + [f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})"]
        sc = f", {scalars}" if scalars else ""
        lines.append(f"{self.cg.kname(k)}.launch([{', '.join(self.cg.v(s.node) for s in k.inputs)}], [{v_out}]{sc})")
        return lines


def _indexed_coords(cs, ix, ndim: int, axis: int, k_idx: int) -> dict:
    """Coordinates into the indexed tensor of rank ``ndim``: ``ix`` along ``axis``; the other dims
    come from the result's coordinates ``cs``, whose ``k_idx`` index dims stand at ``axis``."""
    return {d: ix if d == axis else cs.get(d if d < axis else d - 1 + k_idx, "0") for d in range(ndim)}
