"""The reductions of a row kernel: how each reduction op starts, folds a tile and finishes.

:class:`RowReductions` is mixed into the tile kernel (:mod:`.tiles`), which calls it with the
reduction nodes of its group: ``emit_reduction_persistent`` for a whole row in registers, and
``init_acc`` / ``update_acc`` / ``final_acc`` around the loop over a long row. These methods
name ops; they are to be replaced by code that reads the op table's reduction specs.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt

from .. import exprs as E


class RowReductions:
    """Reduction steps of the row kernel (``self`` is a :class:`~.tiles.TileKernel`)."""

    # -- reductions ----------------------------------------------------------------------------------
    @staticmethod
    def _red_type(n):
        """The type a reduction compares/accumulates its input in (bool argmax compares int32)."""
        ct = E.compute_type(n.inputs[0].dtype)
        return dt.int32 if ct.is_bool else ct

    def reduce_input(self, n) -> str:
        v = self.operand(n, 0)
        if n.inputs[0].dtype.is_bool and n.op in ("argmax", "argmin"):
            return f"{v}.to(tl.int32)"
        return v

    def reduce_init(self, n):
        """(identity, Triton type) of a max/min-style reduction's accumulator."""
        ct = self._red_type(n)
        tt = E.tl_type(ct)
        op = n.op
        if op in ("sum", "prod", "all", "any"):
            return None
        if op in ("amax", "argmax"):
            ident = '-float("inf")' if ct.is_floating_point else str(np.iinfo(ct.numpy_dtype).min)
        else:
            ident = 'float("inf")' if ct.is_floating_point else str(np.iinfo(ct.numpy_dtype).max)
        return ident, tt

    def emit_reduction_persistent(self, n) -> str:
        e = self.e
        v = self.reduce_input(n)
        var = f"v{n.id}"
        e.comment_node(n)
        e.emit(f"{var} = {self.reduce_expr(n, v, 'mask')}")
        self.finish_reduction(n, var)
        return var

    def reduce_expr(self, n, v, mask) -> str:
        """The reduction of tile ``v`` (lanes outside ``mask`` ignored) to an [XBLOCK, 1] value."""
        ct = self._red_type(n)
        op = n.op
        fl = ct.is_floating_point
        if op == "sum":
            src = v if not n.inputs[0].dtype.is_bool else f"{v}.to(tl.int64)"
            return f"tl.sum(tl.where({mask}, {src}, 0), axis=1, keep_dims=True)"
        if op == "prod":
            self.e.use_helper("_prod_combine")
            return f"tl.reduce(tl.where({mask}, {v}, 1), 1, _prod_combine, keep_dims=True)"
        if op == "all":
            return f"tl.min(tl.where({mask}, ({v} != 0).to(tl.int32), 1), axis=1, keep_dims=True) != 0"
        if op == "any":
            return f"tl.max(tl.where({mask}, ({v} != 0).to(tl.int32), 0), axis=1, keep_dims=True) != 0"
        ident, _ = self.reduce_init(n)
        fn = "tl.max" if op in ("amax", "argmax") else "tl.min"
        if op in ("amax", "amin"):
            expr = f"{fn}(tl.where({mask}, {v}, {ident}), axis=1, keep_dims=True)"
            if fl:
                self.e.emit(f"nan_{n.id} = tl.max(tl.where({mask} & ({v} != {v}), 1, 0), axis=1, keep_dims=True)")
                expr = f'tl.where(nan_{n.id} > 0, float("nan"), {expr})'
            return expr
        # argmax / argmin: first index of the extreme value (first NaN wins, as numpy)
        e = self.e
        e.emit(f"m_{n.id} = {fn}(tl.where({mask}, {v}, {ident}), axis=1, keep_dims=True)")
        e.emit(
            f"i_{n.id} = tl.min(tl.where({mask} & ({v} == m_{n.id}), roffs, {max(self.R, 1)}), axis=1, keep_dims=True)"
        )
        if fl:
            e.emit(
                f"n_{n.id} = tl.min(tl.where({mask} & ({v} != {v}), roffs, {max(self.R, 1)}), axis=1, keep_dims=True)"
            )
            e.emit(f"i_{n.id} = tl.where(n_{n.id} < {max(self.R, 1)}, n_{n.id}, i_{n.id})")
        e.emit(f"i_{n.id} = tl.where(i_{n.id} < {max(self.R, 1)}, i_{n.id}, 0)")
        return f"i_{n.id}.to(tl.int64)"

    def finish_reduction(self, n, var) -> None:
        e = self.e
        if n.op not in ("argmax", "argmin", "all", "any"):
            ct = E.compute_type(n.dtype)
            if n.op == "sum" and n.inputs[0].dtype.is_bool:
                e.emit(f"{var} = {var}.to({E.tl_type(ct)})")
            if n.dtype in (dt.float16, dt.bfloat16):
                e.emit(f"{var} = {E.round_to(var, n.dtype)}")
        e.values[n.id] = var

    def init_acc(self, n) -> None:
        e = self.e
        ct = self._red_type(n)
        op = n.op
        if op == "sum":
            tt = "tl.int64" if n.inputs[0].dtype.is_bool else E.tl_type(ct)
            e.emit(f"acc{n.id} = tl.zeros([XBLOCK, RBLOCK], {tt})")
        elif op == "prod":
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], 1, {E.tl_type(ct)})")
        elif op in ("all", "any"):
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], {1 if op == 'all' else 0}, tl.int32)")
        else:
            ident, tt = self.reduce_init(n)
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], {ident}, {tt})")
            if ct.is_floating_point:
                e.emit(f"nan{n.id} = tl.full([XBLOCK, RBLOCK], {max(self.R, 1)}, tl.int32)")
            if op in ("argmax", "argmin"):
                e.emit(f"idx{n.id} = tl.full([XBLOCK, RBLOCK], {max(self.R, 1)}, tl.int32)")

    def update_acc(self, n) -> None:
        e = self.e
        v = self.reduce_input(n)
        ct = self._red_type(n)
        a = f"acc{n.id}"
        e.comment_node(n)
        op = n.op
        if op == "sum":
            src = v if not n.inputs[0].dtype.is_bool else f"{v}.to(tl.int64)"
            e.emit(f"{a} = {a} + tl.where(mask, {src}, 0)")
        elif op == "prod":
            e.emit(f"{a} = {a} * tl.where(mask, {v}, 1)")
        elif op == "all":
            e.emit(f"{a} = tl.minimum({a}, tl.where(mask, ({v} != 0).to(tl.int32), 1))")
        elif op == "any":
            e.emit(f"{a} = tl.maximum({a}, tl.where(mask, ({v} != 0).to(tl.int32), 0))")
        else:
            better = ">" if op in ("amax", "argmax") else "<"
            if ct.is_floating_point:
                e.emit(f"nan{n.id} = tl.minimum(nan{n.id}, tl.where(mask & ({v} != {v}), roffs, {max(self.R, 1)}))")
            if op in ("amax", "amin"):
                e.emit(f"{a} = tl.where(mask & ({v} {better} {a}), {v}, {a})")
            else:
                e.emit(f"take{n.id} = mask & (({v} {better} {a}) | (idx{n.id} == {max(self.R, 1)}))")
                e.emit(f"{a} = tl.where(take{n.id}, {v}, {a})")
                e.emit(f"idx{n.id} = tl.where(take{n.id}, roffs, idx{n.id})")

    def final_acc(self, n) -> None:
        e = self.e
        a = f"acc{n.id}"
        var = f"v{n.id}"
        ct = self._red_type(n)
        op = n.op
        big = max(self.R, 1)
        if op == "sum":
            e.emit(f"{var} = tl.sum({a}, axis=1, keep_dims=True)")
        elif op == "prod":
            e.use_helper("_prod_combine")
            e.emit(f"{var} = tl.reduce({a}, 1, _prod_combine, keep_dims=True)")
        elif op == "all":
            e.emit(f"{var} = tl.min({a}, axis=1, keep_dims=True) != 0")
        elif op == "any":
            e.emit(f"{var} = tl.max({a}, axis=1, keep_dims=True) != 0")
        elif op in ("amax", "amin"):
            fn = "tl.max" if op == "amax" else "tl.min"
            e.emit(f"{var} = {fn}({a}, axis=1, keep_dims=True)")
            if ct.is_floating_point:
                e.emit(f'{var} = tl.where(tl.min(nan{n.id}, axis=1, keep_dims=True) < {big}, float("nan"), {var})')
        else:
            fn = "tl.max" if op == "argmax" else "tl.min"
            e.emit(f"m{n.id} = {fn}({a}, axis=1, keep_dims=True)")
            e.emit(
                f"{var} = tl.min(tl.where(({a} == m{n.id}) & (idx{n.id} < {big}), idx{n.id}, {big}), axis=1, keep_dims=True)"
            )
            if ct.is_floating_point:
                e.emit(f"n{n.id} = tl.min(nan{n.id}, axis=1, keep_dims=True)")
                e.emit(f"{var} = tl.where(n{n.id} < {big}, n{n.id}, {var})")
            e.emit(f"{var} = tl.where({var} < {big}, {var}, 0).to(tl.int64)")
        self.finish_reduction(n, var)
