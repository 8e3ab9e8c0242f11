"""numpy code generation: a fused schedule becomes readable Python source.

Each kernel is a Python function whose docstring lists the IR nodes it
implements. Pointwise kernels run in cache-sized blocks with ``out=``
buffers from per-thread scratch (no full-size temporaries); reduction
kernels process blocks of rows, computing every reduction and elementwise
step of the row block while it is in cache; matmul kernels call
``np.matmul`` (BLAS) and run their epilogue blocked. Ops that fuse with
nothing call the eager kernel of their kind. A ``run`` function strings the
kernels together with the views between them and the memory plan's buffers.

Generated source is kept on the :class:`Program` (``program.source``, and
per kernel ``program.kernels[i].source``) so a user can read what runs.
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

import numpy as np

from backends.base import KernelInfo
from backends.base import Program as BaseProgram
from backends.loader import load_source
from ir import dtypes as dt
from ir import ops as ops_table
from ir.graph import is_scalar_constant, leaving_aliases
from ir.passes.fusion import MATMUL, POINTWISE, REDUCTION, SINGLE
from ir.passes.memory import plan_memory
from ir.printer import format_node

from . import allocator
from . import kernels as K
from . import runtime as R
from .eager import _EXTOBJ as _ERRSTATE
from .eager import _IGNORE as _IGNORE_ALL
from .inplace import in_place_values
from .statements import (
    annotate,
    blas_sum_call,
    emit_expr,
    emit_out,
    numpy_result_dtype,
    reduce_call,
    rows_sum_reduce,
    scalar_literal,
    shape_with,
    unrolled_reduce,
    vecdot_reduce,
    view_expr,
    writes_in_place,
)


def _doc_lines(kernel) -> list:
    return [format_node(n) for n in kernel.nodes]


def blocked_call(rows: int, row_elems: int, prelude: list, body: list, slots: list, threads: str = "") -> list:
    """A kernel body run over row blocks: ``body`` (with ``prelude``, which may slice with ``lo``
    and ``hi``) inside ``block(lo, hi, s)``, ``slots`` the ``(dtype name, row shape)`` of its
    scratch ``t0, t1...``.

    When the kernel fits one block on the calling thread (the runtime's block sizes say so, read
    at call time), the same statements run inline instead: defining the block function, the
    hand-off to ``R.run_blocks`` and its scratch list cost ~2 us per kernel, most of a small
    kernel's time (a compiled training step on small tensors runs dozens of them).
    """
    # Inline, a block is every row: slices ``[lo:hi]`` (always along a dim of ``rows``) are whole.
    lines = [f"    if R.one_block({rows}, {row_elems}):", f"        lo, hi = 0, {rows}"]
    lines.extend("        " + x.replace("[lo:hi]", "") for x in prelude)
    if slots:
        lines.append("        n = hi - lo")
        lines.extend(f"        t{j} = np.empty(({rows},) + {rest!r}, dtype=np.{d})" for j, (d, rest) in enumerate(slots))
    lines.extend("        " + x.replace("[lo:hi]", "") for x in body)
    lines.append("    else:")
    lines.append("        def block(lo, hi, s):")
    lines.extend("            " + x for x in prelude)
    if slots:
        lines.append("            n = hi - lo")
        lines.append("            " + ", ".join(f"t{j}" for j in range(len(slots))) + " = "
                     + ", ".join(f"s[{j}][:n]" for j in range(len(slots))))
    lines.extend("            " + x for x in body)
    spec = "[" + ", ".join(f"(np.{d}, {rest!r})" for d, rest in slots) + "]"
    lines.append(f"        R.run_blocks({rows}, {row_elems}, block, {spec}{threads})")
    return lines


class NumpyCodegen:
    """Turns a :class:`~ir.passes.fusion.Schedule` into a :class:`Program`."""

    def __init__(self, schedule, name="graph"):
        self.schedule = schedule
        self.graph = schedule.graph
        self.name = name
        self.plan = plan_memory(schedule)
        self.consts: dict[str, object] = {}
        self.env_ready: set = set()  # node ids with a value in run()'s scope
        self.kernels: list[KernelInfo] = []
        self.kernel_src: list[str] = []
        self.private_slots: list = []  # (elements, dtype) of buffers only one kernel uses

    # -- naming ------------------------------------------------------------
    @staticmethod
    def v(n) -> str:
        return f"v{n.id}"

    def ones(self, length: int, dtype) -> str:
        """A constant ones vector (the second operand of a sum as a dot product)."""
        name = f"ONES{length}_{dtype.numpy_dtype.name}"
        self.consts[name] = np.ones(length, dtype=dtype.numpy_dtype)
        return name

    def const(self, n) -> str:
        name = f"C{n.id}"
        self.consts[name] = np.asarray(n.attrs["value"], dtype=n.dtype.numpy_dtype) if n.op == "constant" else np.full(n.shape, n.attrs["value"], dtype=n.dtype.numpy_dtype)
        return name

    # -- kernels -------------------------------------------------------------
    def pointwise_body(self, k, nodes, outputs, domain, inputs, fname, scratch_name, extra_inputs=(), after_blas=False):
        """Blocked out= code for elementwise ``nodes`` over ``domain``.

        ``after_blas``: a matmul epilogue, run on the calling thread alone. Right after a
        product, OpenBLAS's own threads still spin on the other cores, and a second thread of
        ours competes with them: the SGD update epilogue of a 512x512 weight took 300 us on two
        threads, 150 us on one."""
        ins = list(inputs) + [n for n in extra_inputs if n not in inputs]
        params = [f"i{j}" for j in range(len(ins))] + [f"o{j}" for j in range(len(outputs))]
        lines = [f"def {fname}({', '.join(params)}):"]
        doc = [format_node(n) for n in nodes]
        lines.append('    """' + "\n    ".join(doc) + '\n    """')
        in_name = {n.id: f"i{j}" for j, n in enumerate(ins)}
        out_name = {n.id: f"o{j}" for j, n in enumerate(outputs)}
        update = axpy_form(nodes, outputs, domain, in_name)
        if update is not None:
            scale = in_name[update.s.id] if update.s.id in in_name else scalar_literal(update.s)
            if update.sign == 0.0:  # an fma: rounded once whether or not BLAS applies
                lines.append(
                    f"    R.fma_into({in_name[update.x.id]}, {scale}, {in_name[update.a.id]}, o0)"
                    f"  # %{nodes[0].id}: one BLAS axpy where it applies"
                )
                return lines, ins
            lines.append(
                f"    R.axpy_into(o0, {in_name[update.a.id]}, {in_name[update.x.id]}, {scale}, {update.sign:+.1f})"
                f"  # %{nodes[1].id}: one BLAS axpy where it applies"
            )
            return lines, ins
        # Flat blocks need contiguous operands: a view (a broadcast, a transpose) would be copied
        # whole by the flattening, so kernels reading one block along the first axis instead.
        full = all(tuple(n.shape) == tuple(domain) and n.kind != ops_table.VIEW for n in ins) and len(domain) >= 1
        if len(domain) == 0:
            rows, row_elems, flat = None, 1, False
        elif full and len(domain) > 1:
            flat = True
            rows = int(np.prod(domain))
            row_elems = 1
            for name in list(in_name.values()) + list(out_name.values()):
                lines.append(f"    {name} = R.flat({name})")
        else:
            flat = False
            rows = domain[0]
            row_elems = int(np.prod(domain[1:])) if len(domain) > 1 else 1

        hoisted: dict = {}

        def sliced(name, shape):
            if rows is None:
                return name
            if flat or (len(shape) == len(domain) and shape[0] == domain[0] and domain[0] != 1):
                if name.startswith("o"):
                    return f"{name}[lo:hi]"
                if name not in hoisted:
                    hoisted[name] = f"b{name}"
                return hoisted[name]
            return name

        body = []
        # Scratch slots: reuse a slot once its value is dead.
        users_left = {}
        for n in nodes:
            for i in n.inputs:
                users_left[i.id] = users_left.get(i.id, 0) + 1
        free, slot_of, next_slot = {}, {}, [0]
        slot_dtypes: list = []
        names = {}
        for n in nodes:
            args = []
            for i in n.inputs:
                if is_scalar_constant(i):
                    args.append(scalar_literal(i))
                elif i.id in names:
                    args.append(names[i.id])
                elif i.id in in_name:
                    args.append(sliced(in_name[i.id], i.shape))
                else:
                    # a broadcast view of an internal value
                    root = i
                    chain = []
                    while root.id not in names and root.kind == ops_table.VIEW:
                        chain.append(root)
                        root = root.inputs[0]
                    expr = names.get(root.id) or sliced(in_name[root.id], root.shape)
                    if flat and all(int(np.prod(v.shape)) == rows for v in chain):
                        args.append(expr)  # only unit dims change: the same flat block
                        continue
                    for vnode in reversed(chain):
                        if flat:
                            # Flat blocks: every value has the domain's shape, so a broadcast-like view
                            # here only adds or drops size-1 dims; it reads the same elements in the
                            # same order, and reshaping the block to the whole view's shape would fail.
                            continue
                        expr = view_expr(vnode, expr, "(hi - lo,) + " + repr(tuple(vnode.shape[1:])) if rows is not None and len(vnode.shape) == len(domain) else None)
                    args.append(expr)
            dead = []
            for i in n.inputs:
                if i.id in slot_of:
                    users_left[i.id] -= 1
                    if users_left[i.id] == 0 and i.id not in out_name and i not in dead:
                        dead.append(i)
            if writes_in_place(n):
                # a single elementwise ufunc may write over an input it is the last reader of
                for i in dead:
                    free.setdefault(i.dtype.numpy_dtype.name, []).append(slot_of[i.id])
                dead = []
            if n.id in out_name:
                target = sliced(out_name[n.id], n.shape)
            else:
                dtype = n.dtype.numpy_dtype
                candidates = free.get(dtype.name, [])
                slot = candidates.pop() if candidates else None
                if slot is None:
                    slot = next_slot[0]
                    next_slot[0] += 1
                    slot_dtypes.append(dtype.name)
                slot_of[n.id] = slot
                target = f"t{slot}"
            body.extend(annotate(emit_out(n, args, target), n))
            if n.dtype is dt.bfloat16:
                body.append(f"{target}[...] = K.round_bf16({target})")
            names[n.id] = target
            for i in dead:
                free.setdefault(i.dtype.numpy_dtype.name, []).append(slot_of[i.id])
        if rows is None:
            lines.extend(f"    t{j} = np.empty((), dtype=np.{d})" for j, d in enumerate(slot_dtypes))
            lines.extend("    " + s for s in body)
        else:
            rest = () if flat else tuple(domain[1:])
            prelude = [f"{local} = {name}[lo:hi]" for name, local in hoisted.items()]
            slots = [(d, rest) for d in slot_dtypes]
            lines.extend(blocked_call(rows, row_elems, prelude, body, slots, ", threads=1" if after_blas else ""))
        return lines, ins

    def reduction_body(self, k, fname):
        """Row-block code for a reduction kernel."""
        domain, axes = tuple(k.domain), tuple(k.axes)
        b = next((a for a in range(len(domain)) if a not in axes), None)
        if b is not None and (domain[b] <= 1 or any(a < b for a in axes)):
            # Blocks of rows pay when rows are contiguous runs (reductions over trailing axes).
            # Reducing a leading axis (a bias gradient summed over the batch) would block over
            # small strided pieces; numpy's own reduction over the whole array is faster.
            b = None
        row_of: dict[int, object] = {}
        keep = tuple(1 if i in axes else s for i, s in enumerate(domain))
        nokeep = tuple(s for i, s in enumerate(domain) if i not in axes)

        def row_axis_for_shape(shape):
            if b is None:
                return None
            shape = tuple(shape)
            if shape == domain or shape == keep:
                return b
            if shape == nokeep:
                return b - sum(1 for a in axes if a < b)
            return "?"

        blocked = b is not None
        for n in k.nodes:
            r = row_axis_for_shape(n.shape)
            if r == "?":
                blocked = False
            row_of[n.id] = r
        ins, outs = list(k.inputs), list(k.outputs)
        params = [f"i{j}" for j in range(len(ins))] + [f"o{j}" for j in range(len(outs))]
        lines = [f"def {fname}({', '.join(params)}):"]
        lines.append('    """' + "\n    ".join(_doc_lines(k)) + '\n    """')
        in_name = {n.id: f"i{j}" for j, n in enumerate(ins)}
        out_name = {n.id: f"o{j}" for j, n in enumerate(outs)}
        rows = domain[b] if blocked else None

        def slice_axis(axis, ndim, name):
            if axis is None:
                return name
            parts = [":"] * ndim
            parts[axis] = "lo:hi"
            return f"{name}[{', '.join(parts)}]"

        def external(i, consumer_shape, consumer_row):
            """Slice an external operand along the row axis of its consumer."""
            name = in_name[i.id]
            if not blocked or consumer_row is None:
                return name
            axis = consumer_row - (len(consumer_shape) - len(i.shape))
            if 0 <= axis < len(i.shape) and i.shape[axis] == consumer_shape[consumer_row] and i.shape[axis] != 1:
                return slice_axis(axis, len(i.shape), name)
            return name

        names, body = {}, []

        def misaligned(r, shape, consumer_shape, consumer_row) -> bool:
            """Whether a blocked value whose row axis is ``r`` lands on another axis of its consumer
            (numpy aligns shapes from the right: a row-reduced (n,) read by an (m, n) op runs along
            its columns, so the consumer needs the whole value, not its block of rows)."""
            if not blocked or consumer_row is None or r is None:
                return False
            return r + len(consumer_shape) - len(shape) != consumer_row

        def value(i, consumer_shape, consumer_row):
            if is_scalar_constant(i):
                return scalar_literal(i)
            if i.id in names:
                if misaligned(row_of.get(i.id), i.shape, consumer_shape, consumer_row):
                    return "__unblockable__"
                return names[i.id]
            if i.id in in_name:
                return external(i, consumer_shape, consumer_row)
            # internal broadcast view
            chain, root = [], i
            while root.id not in names and root.kind == ops_table.VIEW:
                chain.append(root)
                root = root.inputs[0]
            if root.id not in names:
                return external(root, consumer_shape, consumer_row)
            expr = names[root.id]
            r = row_of.get(root.id)
            for vnode in reversed(chain):
                r = _view_row(vnode, r)
                shape = None
                if blocked and r is not None:
                    shape = shape_with(vnode.shape, r, "hi - lo")
                elif blocked and r is None and vnode.op == "expand":
                    return "__unblockable__"
                expr = view_expr(vnode, expr, shape)
            if misaligned(r, i.shape, consumer_shape, consumer_row):
                return "__unblockable__"
            return expr

        # Blocked kernels whose values all run along the row axis write with out= into
        # per-thread block scratch (reused once a value is dead) and straight into the
        # output slices: no allocation per block, temporaries stay in cache.
        if blocked and all(row_of[n.id] == 0 for n in k.nodes):
            return self._reduction_out_form(k, lines, value, names, out_name, axes, rows, domain)
        for n in k.nodes:
            name = f"t{n.id}"
            unrolled = None
            if n.kind == ops_table.REDUCE:
                src = value(n.inputs[0], domain, b if blocked else None)
                unrolled = unrolled_reduce(n, src, None, name)
                expr = (None if blocked else blas_sum_call(n, src)) or reduce_call(n, src)
            else:
                args = [value(i, tuple(n.shape), row_of[n.id]) for i in n.inputs]
                expr = emit_expr(n, args)
            if "__unblockable__" in expr:
                return None
            if not blocked and n.id in out_name and n.kind != ops_table.REDUCE:
                # an output of an unblocked kernel is computed into its array (out=): no
                # temporary, no copy, and where's bitwise blend instead of np.where
                target = out_name[n.id]
                body.extend(annotate(emit_out(n, args, target), n))
                if n.dtype is dt.bfloat16:
                    body.append(f"{target}[...] = K.round_bf16({target})")
                names[n.id] = target
                continue
            if unrolled is not None:
                body.extend(annotate(unrolled, n))
            elif numpy_result_dtype(n) == n.dtype.numpy_dtype:
                body.append(f"{name} = {expr}  # %{n.id}")
            else:  # numpy widens (an int32 sum counts in int64): back to the IR dtype
                body.append(f"{name} = np.asarray({expr}).astype(np.{n.dtype.numpy_dtype.name}, copy=False)  # %{n.id}")
            if n.dtype is dt.bfloat16:
                body.append(f"{name} = K.round_bf16({name})")
            names[n.id] = name
            if n.id in out_name:
                target = slice_axis(row_of[n.id] if blocked else None, len(n.shape), out_name[n.id])
                body.append(f"{target}[...] = {name}")
        if blocked:
            row_elems = int(np.prod(domain)) // max(1, domain[b])
            lines.extend(blocked_call(rows, row_elems, [], body, []))
        else:
            lines.extend("    " + s for s in body)
        return lines

    def _reduction_out_form(self, k, lines, value, names, out_name, axes, rows, domain):
        """Row-block code with out= targets (``value`` resolves operands, reading ``names``)."""
        inside = {n.id for n in k.nodes}

        def root_of(i):
            while i.id not in inside and i.kind == ops_table.VIEW:
                i = i.inputs[0]
            return i

        # A sum over the last axis of a product that nothing else reads is one np.vecdot of the
        # product's operands: the product array is never made (see vecdot_reduce).
        readers: dict = {}
        for n in k.nodes:
            for i in n.inputs:
                readers.setdefault(root_of(i).id, []).append((n, i))
        dot_of, folded = {}, set()
        for n in k.nodes:
            m = n.inputs[0] if n.kind == ops_table.REDUCE else None
            if (
                m is not None
                and m.id in inside
                and m.id not in out_name
                and m.kind == ops_table.ELEMENTWISE
                and m.opdef.np_ufunc == "multiply"
                and readers.get(m.id) == [(n, m)]
                and all(len(i.shape) and i.shape[-1] == domain[-1] for i in m.inputs)
                and vecdot_reduce(n, ("a", "b"), "t") is not None
            ):
                dot_of[n.id] = m
                folded.add(m.id)

        def operands_of(n):
            return list(dot_of[n.id].inputs) if n.id in dot_of else ([] if n.id in folded else list(n.inputs))

        last_use = {}
        for idx, n in enumerate(k.nodes):
            for i in operands_of(n):
                r = root_of(i)
                if r.id in inside:
                    last_use[r.id] = idx
        body, slots, free, slot_of = [], [], {}, {}
        def release_inputs(n, idx):
            for i in operands_of(n):
                r = root_of(i)
                if last_use.get(r.id) == idx and r.id not in out_name and r.id in slot_of:
                    key_r, slot_r = slot_of.pop(r.id)
                    free.setdefault(key_r, []).append(slot_r)

        for idx, n in enumerate(k.nodes):
            if n.id in folded:
                continue
            if writes_in_place(n):
                # one elementwise ufunc may write over an input it is the last reader of
                release_inputs(n, idx)
            if n.id in out_name:
                target = f"{out_name[n.id]}[lo:hi]"
            else:
                key = (n.dtype.numpy_dtype.name, tuple(n.shape[1:]))
                pool = free.get(key) or []
                if pool:
                    slot = pool.pop()
                else:
                    slot = len(slots)
                    slots.append(key)
                target = f"t{slot}"
                k_slot = slot
            if n.kind == ops_table.REDUCE:
                if n.id in dot_of:
                    m = dot_of[n.id]
                    stmts = vecdot_reduce(n, [value(i, tuple(m.shape), 0) for i in m.inputs], target)
                else:
                    src = value(n.inputs[0], domain, 0)
                    stmts = unrolled_reduce(n, src, target) or rows_sum_reduce(
                        n, src, target, lambda: self.ones(n.inputs[0].shape[-1], n.dtype)
                    )
                    stmts = stmts or [reduce_call(n, src, target)]
                body.extend(annotate(stmts, n))
            else:
                args = [value(i, tuple(n.shape), 0) for i in n.inputs]
                body.extend(annotate(emit_out(n, args, target), n))
            if n.dtype is dt.bfloat16:
                body.append(f"{target}[...] = K.round_bf16({target})")
            names[n.id] = target
            release_inputs(n, idx)
            if n.id not in out_name:
                slot_of[n.id] = (key, k_slot)
        if any("__unblockable__" in line for line in body):
            return None  # a value is read along another axis than its rows: whole arrays instead
        row_elems = int(np.prod(domain)) // max(1, domain[0])
        lines.extend(blocked_call(rows, row_elems, [], body, slots))
        return lines

    def write_kernel(self, k):
        fname = f"k{k.id}_{k.kind}"
        if k.kind == POINTWISE:
            lines, ins = self.pointwise_body(k, k.nodes, k.outputs, k.domain, k.inputs, fname, f"S{k.id}")
            return fname, lines, ins, list(k.outputs)
        if k.kind == REDUCTION:
            lines = self.reduction_body(k, fname)
            if lines is None:  # fall back: whole arrays in one block
                saved = k.domain
                k.domain = ()
                lines = self.reduction_body(k, fname)
                k.domain = saved
            return fname, lines, list(k.inputs), list(k.outputs)
        if k.kind == MATMUL:
            mm = k.nodes[0]
            epilogue = k.nodes[1:]
            a, b = mm.inputs
            # An operand that fusion inlines as a literal (a one-element constant) is an array
            # to np.matmul: pass it in like any input.
            ins = list(k.inputs) + [n for n in (a, b) if n not in k.inputs]
            outs = list(k.outputs)
            params = [f"i{j}" for j in range(len(ins))] + [f"o{j}" for j in range(len(outs))]
            lines = [f"def {fname}({', '.join(params)}):"]
            lines.append('    """' + "\n    ".join(_doc_lines(k)) + '\n    """')
            in_name = {n.id: f"i{j}" for j, n in enumerate(ins)}
            out_name = {n.id: f"o{j}" for j, n in enumerate(outs)}
            bias_add = bias_add_form(mm, epilogue, outs, in_name)
            product = mm
            if bias_add is not None:
                # the bias goes into the product's buffer first and BLAS adds the product to it
                product, bias = bias_add
                epilogue = epilogue[1:]
            target = out_name.get(product.id)
            if target is None:
                # The product only feeds the epilogue: a buffer kept with the program (one per
                # calling thread), so large products do not page-fault fresh memory on every call.
                target = f"M{k.id}"
                slot = len(self.plan.slot_elems) + len(self.private_slots)
                self.private_slots.append((mm.numel, mm.dtype))
                lines.append(f"    {target} = B.get({slot}, {tuple(mm.shape)!r})")
            mm_dst = target
            if bias_add is not None:
                lines.append(f"    R.matmul_bias_into({in_name[a.id]}, {in_name[b.id]}, {in_name[bias.id]}, {target})  # %{product.id}")
            else:
                lines.append(f"    np.matmul({in_name[a.id]}, {in_name[b.id]}, out={target})")
            if mm.dtype is dt.bfloat16:
                lines.append(f"    {mm_dst}[...] = K.round_bf16({mm_dst})")
            if epilogue:
                sub_name = f"{fname}_epilogue"
                ep_outs = [n for n in outs if n.id != product.id]
                # the matmul's operands too when the epilogue reads them (x @ w + w)
                ep_ins = [n for n in ins if any(n in e.inputs for e in epilogue)] + [product]
                sub_lines, sub_ins = self.pointwise_body(
                    k, epilogue, ep_outs, k.domain, ep_ins, sub_name, f"S{k.id}", after_blas=True
                )
                lines[0:0] = sub_lines + [""]
                args = [mm_dst if n.id == product.id else in_name[n.id] for n in sub_ins] + [out_name[n.id] for n in ep_outs]
                lines.append(f"    {sub_name}({', '.join(args)})")
            return fname, lines, ins, outs
        # single
        n = k.nodes[0]
        ins = list(n.inputs)
        attrs_name = f"A{k.id}"
        self.consts[attrs_name] = dict(n.attrs)
        params = [f"i{j}" for j in range(len(ins))]
        lines = [f"def {fname}({', '.join(params)}):"]
        lines.append(f'    """{format_node(n)}"""')
        lines.append(f"    return R.run_op({n.op!r}, [{', '.join(params)}], {attrs_name}, {tuple(n.shape)!r}, D{k.id}, N{k.id})")
        self.consts[f"N{k.id}"] = format_node(n)
        self.consts[f"D{k.id}"] = n.dtype
        return fname, lines, ins, [n]

    # -- program ---------------------------------------------------------------
    def _drop_unused_constants(self, run: list) -> list:
        """Constants that every kernel inlined as literals need no assignment in ``run``."""
        text = "\n".join(run)
        keep = []
        for line in run:
            m = re.fullmatch(r"    (v\d+) = (C\d+)", line)
            if m and len(re.findall(rf"\b{m.group(1)}\b", text)) == 1:
                self.consts.pop(m.group(2), None)
                continue
            keep.append(line)
        return keep

    def generate(self):
        g = self.graph
        run = ["def run(inputs):", f'    """{self.name}: {len(self.schedule.kernels)} kernels; {self.plan.describe()}"""']
        if g.inputs:
            run.append("    " + ", ".join(self.v(n) for n in g.inputs) + ("," if len(g.inputs) == 1 else "") + " = inputs")
        for n in g.inputs:
            self.env_ready.add(n.id)
        in_place = {v: t for v, t in in_place_values(self.schedule).items() if v not in self.plan.slot_of}
        if in_place:
            run.append("    VB = R.view_bases(inputs)  # inputs others view: never overwritten in place")
        for kind, item in self.schedule.steps:
            if kind == "view":
                n = item
                if n.op == "input":
                    continue
                if n.op in ("constant", "full") or n.kind == ops_table.SOURCE:
                    run.append(f"    {self.v(n)} = {self.const(n)}")
                elif n.kind == ops_table.VIEW:
                    run.append(f"    {self.v(n)} = {view_expr(n, self.v(n.inputs[0]))}  # {format_node(n)}")
                else:
                    run.append(f"    {self.v(n)} = {self.const(n)}")
                self.env_ready.add(n.id)
                continue
            k = item
            fname, lines, ins, outs = self.write_kernel(k)
            src = "\n".join(lines)
            self.kernel_src.append(src)
            self.kernels.append(KernelInfo(f"k{k.id}_{k.kind}", k.kind, src, k.node_ids(), _doc_lines(k)))
            if k.kind == SINGLE:
                run.append(f"    {self.v(outs[0])} = {fname}({', '.join(self.v(i) for i in ins)})")
            else:
                for o in outs:
                    if o.id in self.plan.slot_of:
                        slot = self.plan.slot_of[o.id]
                        shape = tuple(o.shape)
                        run.append(f"    {self.v(o)} = B.get({slot}, {shape!r})")
                    elif o.id in in_place:  # a mutation's value, written over its input (see .inplace)
                        t = self.v(in_place[o.id])
                        run.append(f"    {self.v(o)} = {t} if R.writable_in_place({t}, VB) else {fresh_output(o)}")
                    else:
                        run.append(f"    {self.v(o)} = {fresh_output(o)}")
                args = [self.v(i) for i in ins] + [self.v(o) for o in outs]
                run.append(f"    {fname}({', '.join(args)})")
            for o in outs:
                self.env_ready.add(o.id)
        results = []
        for o in list(g.outputs) + [v for _, v in g.mutations]:
            name = self.v(o)
            if o.id not in self.env_ready:
                name = scalar_literal(o) if is_scalar_constant(o) else name
            results.append(name)
        aliases = leaving_aliases(g, self.plan.slot_of)
        ret = [f"np.array({r})" if o.id in aliases else r for r, o in zip(results, list(g.outputs) + [v for _, v in g.mutations])]
        run.append("    return [" + ", ".join(ret) + "]")
        run = self._drop_unused_constants(run)
        header = [
            f"# graphc numpy program for graph {self.name!r}",
            f"# {len(self.schedule.kernels)} kernels; {self.plan.describe()}",
            "import numpy as np",
            "from backends.numpy import kernels as K, runtime as R",
            "",
        ]
        scratch = []
        source = "\n".join(header + scratch + [""] + ["\n".join([s, ""]) for s in self.kernel_src] + run) + "\n"
        return source



def bias_add_form(mm, epilogue, outputs, in_name):
    """``(add, bias)`` when the epilogue starts by adding a bias row to a 2-D product that
    nothing else reads (``x @ w.T + b``), else None: :func:`runtime.matmul_bias_into` then
    lets BLAS add the product onto the bias (gemm's ``beta``) instead of a pass of its own."""
    if not epilogue or mm.dtype not in (dt.float32, dt.float64) or len(mm.shape) != 2:
        return None
    add = epilogue[0]
    if add.op != "add" or mm not in add.inputs or mm in outputs or add.dtype is not mm.dtype:
        return None
    if any(mm in e.inputs for e in epilogue[1:]) or tuple(add.shape) != tuple(mm.shape):
        return None
    others = [n for n in add.inputs if n is not mm]
    if len(others) != 1:
        return None
    bias = others[0]
    if bias.id not in in_name or bias.dtype is not mm.dtype or tuple(bias.shape) not in ((mm.shape[1],), (1, mm.shape[1])):
        return None
    return add, bias


class AxpyForm(NamedTuple):
    a: object  # the value updated
    x: object  # the array scaled
    s: object  # the scalar (a 0-d value or a scalar constant)
    sign: float  # +1.0: a + x * s; -1.0: a - x * s; 0.0: fma(x, s, a), a + x * s rounded once


def axpy_form(nodes, outputs, domain, in_name):
    """The kernel ``out = a -/+ x * s`` (an SGD update: ``p - lr * g``) as an :class:`AxpyForm`,
    else None: exactly a ``mul`` of a full-shape ``x`` by a scalar ``s``, read only by a ``sub``
    or ``add`` with a full-shape ``a``, all of one float dtype; the sum is the one output; ``a``
    and ``x`` are kernel inputs (``in_name``), ``s`` an input or a scalar constant."""
    if len(nodes) == 1 and nodes[0].op == "fma" and len(outputs) == 1 and outputs[0] is nodes[0] and domain:
        return _fma_form(nodes[0], domain, in_name)
    if len(nodes) != 2 or len(outputs) != 1 or outputs[0] is not nodes[1] or not domain:
        return None
    mul, combine = nodes
    if mul.op != "mul" or combine.op not in ("sub", "add") or mul not in combine.inputs:
        return None
    dtype = combine.dtype
    if dtype not in (dt.float32, dt.float64) or any(n.dtype is not dtype for n in (*mul.inputs, *combine.inputs)):
        return None
    full = tuple(domain)
    x = next((n for n in mul.inputs if tuple(n.shape) == full), None)
    s = next((n for n in mul.inputs if n is not x), None)
    if x is None or s is None or tuple(s.shape) != () or x.kind == ops_table.VIEW:
        return None
    if combine.op == "sub":
        if combine.inputs[1] is not mul or combine.inputs[0] is mul:
            return None
        a, sign = combine.inputs[0], -1.0
    else:
        others = [n for n in combine.inputs if n is not mul]
        if len(others) != 1:
            return None
        a, sign = others[0], 1.0
    if tuple(a.shape) != full or a.kind == ops_table.VIEW or tuple(combine.shape) != full:
        return None
    if a.id not in in_name or x.id not in in_name or not (s.id in in_name or is_scalar_constant(s)):
        return None
    return AxpyForm(a, x, s, sign)


def _fma_form(n, domain, in_name):
    """An ``fma`` kernel ``x * s + a`` with one scalar factor and full-shape ``x`` and ``a``
    (kernel inputs, not views), of one float dtype: an :class:`AxpyForm` with sign 0."""
    full = tuple(domain)
    if n.dtype not in (dt.float32, dt.float64) or any(i.dtype is not n.dtype for i in n.inputs):
        return None
    x, y, a = n.inputs
    if tuple(x.shape) == () and tuple(y.shape) == full:
        x, y = y, x
    if tuple(y.shape) != () or tuple(x.shape) != full or tuple(a.shape) != full or tuple(n.shape) != full:
        return None
    if x.kind == ops_table.VIEW or a.kind == ops_table.VIEW or x.id not in in_name or a.id not in in_name:
        return None
    if not (y.id in in_name or is_scalar_constant(y)):
        return None
    return AxpyForm(a, x, y, 0.0)


def fresh_output(node) -> str:
    """The expression allocating ``node``'s output: large ones come from the output cache
    (``backends.numpy.allocator``), which spares them a page fault per call."""
    shape, dtype = tuple(node.shape), f"np.{node.dtype.numpy_dtype.name}"
    if node.numel * node.dtype.numpy_dtype.itemsize >= allocator.MIN_BYTES:
        return f"R.output({shape!r}, {dtype})"
    return f"np.empty({shape!r}, dtype={dtype})"


def _view_row(vnode, r):
    """Row axis of a view's output given its input's row axis (None: broadcast)."""
    if r is None:
        return None
    in_shape, out_shape = vnode.inputs[0].shape, vnode.shape
    if vnode.op == "expand":
        return r + len(out_shape) - len(in_shape)
    if vnode.op == "reshape":
        k = sum(1 for s in in_shape[:r] if s != 1)
        count = 0
        for j, s in enumerate(out_shape):
            if s != 1:
                if count == k:
                    return j
                count += 1
    return None


class Buffers(threading.local):
    """The memory plan's reusable slots (and kernels' private buffers), per calling thread.

    Allocated on first use and kept, so a replay in a loop touches no fresh memory. They
    belong to the thread, not to the program: two threads running the same cached program
    at once (a compiled function called from a thread pool, or the fused eager backward of
    two training loops) must not write each other's intermediates. ``threading.local`` runs
    ``__init__`` again in each thread that first touches the object, and frees that
    thread's arrays when it ends.
    """

    def __init__(self, plan, private=()):
        slots = [(n, d) for n, d in zip(plan.slot_elems, plan.slot_dtype)] + list(private)
        self.specs = [(max(1, n), d.numpy_dtype) for n, d in slots]
        self.arrays = [None] * len(slots)
        self.views: dict = {}  # (slot, shape) -> the view handed out: made once, not per call

    def get(self, slot, shape):
        view = self.views.get((slot, shape))
        if view is None:
            arr = self.arrays[slot]
            if arr is None:
                elems, dtype = self.specs[slot]
                arr = self.arrays[slot] = np.empty(elems, dtype=dtype)
            n = 1
            for s in shape:
                n *= s
            view = self.views[(slot, shape)] = arr[:n].reshape(shape)
        return view


class Program(BaseProgram):
    """A compiled numpy program: call ``program(inputs)`` with numpy arrays."""

    def __call__(self, inputs):
        # Silent on inf/nan like the eager kernels (and PyTorch); pool threads are set up alike.
        # numpy keeps the error state in a context variable: setting it directly costs 0.2 us
        # where entering np.errstate costs 0.9 us, a tenth of a small compiled call.
        if _ERRSTATE is None:  # pragma: no cover - numpy < 2
            with np.errstate(all="ignore"):
                return self.fn(inputs)
        token = _ERRSTATE.set(_IGNORE_ALL)
        try:
            return self.fn(inputs)
        finally:
            _ERRSTATE.reset(token)


def compile_schedule(schedule, name: str = "graph") -> Program:
    """Generate, compile and return the numpy :class:`Program` for ``schedule``."""
    gen = NumpyCodegen(schedule, name)
    source = gen.generate()
    namespace = {
        "np": np, "K": K, "R": R, "O": K.row_functions(), "B": Buffers(gen.plan, gen.private_slots),
        "__name__": "graphc_numpy_program",
    }
    namespace.update(gen.consts)
    fn = load_source(source, f"numpy-{name}", namespace, "run")
    return Program(name, source, gen.kernels, fn, gen.plan)
