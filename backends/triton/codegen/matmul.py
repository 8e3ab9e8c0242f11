"""Matmul kernels: ``tl.dot`` over ``BLOCK_M x BLOCK_N`` tiles, with the elementwise epilogue
(bias, activation, scale) applied to the accumulator tile before its only store.

Grouped program order for L2 reuse, batch dims on ``program_id(1)`` (each operand's batch
dims broadcast against the output's), fp32 accumulation (fp64 for float64, through an explicit
multiply-and-sum where the installed Triton has no float64 ``tl.dot``: :mod:`..compat`),
``EVEN_K`` unmasked loads when ``BLOCK_K`` divides K, and tile autotuning on a GPU.
"""

from __future__ import annotations

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.passes.fusion import MATMUL
from ir.printer import format_node

from .. import _env, compat
from .. import exprs as E
from .emitter import CONFIG, CodegenError, TritonKernel, next_pow2, prod
from .tiles import TileKernel


class MatmulKernel(TileKernel):
    """``tl.dot`` tiles with fp32 accumulation (fp64 for float64) and a fused elementwise epilogue."""

    def __init__(self, group, name):
        super().__init__(group, name)
        self.mm = group.nodes[0]
        if self.mm.kind != ops_table.MATMUL:
            raise CodegenError(name, "the matmul group does not start with its matmul")
        self.reduction = False
        a, b = self.mm.inputs
        self.Mm, self.K = a.shape[-2], a.shape[-1]
        self.Nn = b.shape[-1]
        self.batch = tuple(self.mm.shape[:-2])

    def coord(self, d: int) -> str:
        e = self.e
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        nd = len(self.domain)
        if d == nd - 2:
            name = "rm[:, None]"
        elif d == nd - 1:
            name = "rn[None, :]"
        else:
            inner = prod(self.batch[d + 1 :])
            expr = "bid" if inner == 1 else f"(bid // {inner})"
            if d > 0:
                expr = f"{expr} % {self.batch[d]}"
            name = f"b{d}_"
            e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def flat_of(self, omap):
        return None

    def masks_for(self, omap):
        """A mask of the load's own block shape (Triton 3.4 broadcasts a mask to the pointer
        block, never the pointer to the mask): rows, columns, both, or none."""
        nd = len(self.domain)
        rows, cols = nd - 2 in omap, nd - 1 in omap
        if rows and cols:
            return "mask"
        if rows or cols:
            return "mmask" if rows else "nmask"
        return None  # indexed by batch coordinates only: a scalar load, in bounds

    def generate(self) -> TritonKernel:
        e = self.e
        g = self.g
        mm = self.mm
        a, b = mm.inputs
        ins = []
        for n in g.nodes:
            self.layout.check_node(n, g.inside)  # the policy accepted the group: this is a bug if it raises
        for x in (a, b):
            ins.append(e.add_input(x, flag_ok=False))
        sa, sb = ins
        M, N, K = self.Mm, self.Nn, self.K
        in_dt = a.dtype
        ct = E.compute_type(in_dt)
        use_dot = in_dt.is_floating_point
        e.constexprs.extend(["BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "EVEN_K"])
        self.out_names = {o.id: e.add_output(o) for o in g.outputs}
        e.emit("pid = tl.program_id(0)")
        if self.batch:
            e.emit("bid = tl.program_id(1)")
        e.emit(f"num_pid_m = ({M} + BLOCK_M - 1) // BLOCK_M")
        e.emit(f"num_pid_n = ({N} + BLOCK_N - 1) // BLOCK_N")
        e.emit("# grouped order: GROUP_M row-tiles share their B columns in L2")
        e.emit("num_pid_in_group = GROUP_M * num_pid_n")
        e.emit("group_id = pid // num_pid_in_group")
        e.emit("first_pid_m = group_id * GROUP_M")
        e.emit("group_size_m = tl.minimum(num_pid_m - first_pid_m, GROUP_M)")
        e.emit("pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)")
        e.emit("pid_n = (pid % num_pid_in_group) // group_size_m")
        i64 = ".to(tl.int64)" if max(M * K, K * N, M * N * max(1, prod(self.batch))) >= (1 << 31) - (1 << 20) else ""
        e.emit(f"rm = pid_m{i64} * BLOCK_M + tl.arange(0, BLOCK_M)")
        e.emit(f"rn = pid_n{i64} * BLOCK_N + tl.arange(0, BLOCK_N)")
        e.emit("rk = tl.arange(0, BLOCK_K)")
        e.emit(f"ram = rm % {M}  # wrapped rows/cols: loads stay in bounds, stores are masked")
        e.emit(f"rbn = rn % {N}")
        # batch offsets of A and B (their batch dims broadcast against the output's)
        for spec, x in ((sa, a), (sb, b)):
            xb = tuple(x.shape[:-2])
            lead = len(self.batch) - len(xb)
            terms = []
            for j, s in enumerate(xb):
                if s != 1:
                    terms.append(f"{self.coord(lead + j)} * {spec.name}_s{j}")
            e.emit(f"{spec.name}_boff = {' + '.join(terms) if terms else '0'}")
        nd_a, nd_b = len(a.shape), len(b.shape)

        def stride(spec, d, nd):
            return f"{spec.name}_s{d}" if spec.shape[d] != 1 else "0"

        am, ak = stride(sa, nd_a - 2, nd_a), stride(sa, nd_a - 1, nd_a)
        bk, bn = stride(sb, nd_b - 2, nd_b), stride(sb, nd_b - 1, nd_b)
        e.emit(f"a_ptrs = {sa.name} + {sa.name}_boff + ram[:, None] * {am} + rk[None, :] * {ak}")
        e.emit(f"b_ptrs = {sb.name} + {sb.name}_boff + rk[:, None] * {bk} + rbn[None, :] * {bn}")
        acc_t = "tl.float32" if ct.is_floating_point and ct is not dt.float64 else E.tl_type(ct)
        if in_dt.is_bool:
            raise UnsupportedError("matmul of bool tensors is not supported")
        e.emit(f"acc = tl.zeros((BLOCK_M, BLOCK_N), dtype={acc_t})")
        e.emit(f"# {format_node(mm)}")
        e.emit(f"for k in range(0, ({K} + BLOCK_K - 1) // BLOCK_K):")
        e.depth += 1
        # bfloat16 buffers hold float32 under the interpreter: the loads say which type they are
        conv = ".to(tl.bfloat16)" if in_dt is dt.bfloat16 else ""
        e.emit("if EVEN_K:")
        e.emit(f"    av = tl.load(a_ptrs){conv}")
        e.emit(f"    bv = tl.load(b_ptrs){conv}")
        e.emit("else:")
        e.emit(f"    av = tl.load(a_ptrs, mask=rk[None, :] < {K} - k * BLOCK_K, other=0){conv}")
        e.emit(f"    bv = tl.load(b_ptrs, mask=rk[:, None] < {K} - k * BLOCK_K, other=0){conv}")
        if use_dot and in_dt is dt.bfloat16:
            e.on_gpu = True
            e.emit("if ON_GPU:")
            e.emit("    acc = tl.dot(av, bv, acc)")
            e.emit("else:  # Triton's interpreter multiplies bfloat16 tiles as raw bits: widen them first")
            e.emit('    acc = tl.dot(av.to(tl.float32), bv.to(tl.float32), acc, input_precision="ieee")')
        elif in_dt is dt.float64 and compat.FP64_DOT:
            e.emit(f'acc = tl.dot(av, bv, acc, input_precision="ieee"{compat.DOT_FP64_ARGS})')
        elif in_dt is dt.float64:  # this Triton has no float64 tl.dot (compat.FP64_DOT)
            e.emit("acc += tl.sum(av[:, :, None] * bv[None, :, :], axis=1)  # exact fp64, without tl.dot")
        elif use_dot:
            prec = ""
            if in_dt is dt.float32 and not CONFIG["allow_tf32"]:
                prec = ', input_precision="ieee"'
            e.emit(f"acc = tl.dot(av, bv, acc{prec})")
        else:
            e.emit("acc += tl.sum(av[:, :, None] * bv[None, :, :], axis=1)")
        e.emit(f"a_ptrs += BLOCK_K * {ak}")
        e.emit(f"b_ptrs += BLOCK_K * {bk}")
        e.depth -= 1
        e.emit(f"mmask = rm[:, None] < {M}")
        e.emit(f"nmask = rn[None, :] < {N}")
        e.emit("mask = mmask & nmask")
        conv = (
            f"acc.to({E.tl_type(E.compute_type(mm.dtype))})" if acc_t != E.tl_type(E.compute_type(mm.dtype)) else "acc"
        )
        e.emit(f"v{mm.id} = {E.round_to(conv, mm.dtype)}")
        e.values[mm.id] = f"v{mm.id}"
        out_off = f"rm[:, None] * {N} + rn[None, :]"
        if self.batch:
            out_off = f"bid * {M * N} + " + out_off
        outputs = set(self.out_names)
        if mm.id in outputs:
            e.store(self.out_names[mm.id], out_off, e.values[mm.id], "mask", mm)
        for n in g.nodes[1:]:
            if n.kind not in (ops_table.ELEMENTWISE, ops_table.CAST) or tuple(n.shape) != self.domain:
                raise CodegenError(self.name, f"%{n.id} cannot be a matmul epilogue")
            e.elementwise(n, self.operand)
            if n.id in outputs:
                e.store(self.out_names[n.id], out_off, e.values[n.id], "mask", n)
        doc = [
            f"matmul {a.dtype.short}{list(a.shape)} @ {b.dtype.short}{list(b.shape)} -> {list(mm.shape)}"
            + (" with a fused epilogue" if len(g.nodes) > 1 else "")
            + f"; {acc_t[3:]} accumulation"
        ]
        source = e.source(self.name, doc)
        nb = prod(self.batch)
        k = TritonKernel(
            name=self.name,
            kind=MATMUL,
            source=source,
            fn_name=self.name,
            node_ids=[n.id for n in g.nodes],
            node_text=[format_node(n) for n in g.nodes],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
            on_gpu=e.on_gpu,
        )
        k.numel = M * N * nb
        small = not use_dot or in_dt is dt.float64

        def configure(kernel, M=M, N=N, K=K):
            if _env.interpreting():
                bm = min(max(next_pow2(M), 16), 64)
                bn = min(max(next_pow2(N), 16), 64)
                bk = min(max(next_pow2(K), 16), 64)
                if small:
                    bm, bn, bk = min(bm, 16), min(bn, 16), min(bk, 16)
                return {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8, "EVEN_K": K % bk == 0}
            return mm_default(M, N, K, small)

        k.configure = configure
        k.grid = lambda cfg, M=M, N=N, nb=nb: (
            ((M + cfg["BLOCK_M"] - 1) // cfg["BLOCK_M"]) * ((N + cfg["BLOCK_N"] - 1) // cfg["BLOCK_N"]),
            nb,
        )
        if not small and M * N * K >= (1 << 24):
            k.tunable = [dict(c, EVEN_K=K % c["BLOCK_K"] == 0) for c in MM_CONFIGS]
        k.aot_config = mm_default(M, N, K, small)
        return k


MM_CONFIGS = [
    {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 3},
    {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 4},
    {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 64, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 5},
]


def mm_default(M, N, K, small):
    if small:
        return {
            "BLOCK_M": 32,
            "BLOCK_N": 32,
            "BLOCK_K": 16,
            "GROUP_M": 8,
            "EVEN_K": K % 16 == 0,
            "num_warps": 4,
            "num_stages": 2,
        }
    bm = 128 if M >= 128 else max(16, next_pow2(M))
    bn = 128 if N >= 128 else max(16, next_pow2(N))
    bk = 64 if K >= 64 else max(16, next_pow2(K))
    return {
        "BLOCK_M": bm,
        "BLOCK_N": bn,
        "BLOCK_K": bk,
        "GROUP_M": 8,
        "EVEN_K": K % bk == 0,
        "num_warps": 8 if bm * bn >= 16384 else 4,
        "num_stages": 3,
    }
