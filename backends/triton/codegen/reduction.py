"""The reductions of a row kernel, read from each op's :class:`~ir.ops.ReduceSpec`.

:class:`RowReductions` is mixed into the tile kernel (:mod:`.tiles`), which calls it with the
reduction nodes of its group: ``emit_reduction_persistent`` for a whole row in registers, and
``init_acc`` / ``update_acc`` / ``final_acc`` around the loop over a long row. Nothing here
names an op: a reduction is its spec's identity, its combine row (whose Triton expression
becomes the ``@triton.jit`` combine function of ``tl.reduce``, so the NaN behaviour of
``maximum`` is the NaN behaviour of ``amax``, in one reduction), its NaN policy and its
accumulation dtype. Arg-reductions (``spec.index``) reduce to the winning value with the same
combine, then to the first index holding it; the first NaN wins over numbers, as in numpy.

Partials of a combine whose result is bool (``all``/``any``) live as int32 0/1: Triton reduces
integer tiles, not ``int1`` ones.
"""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir import ops as ops_table

from .. import exprs as E

_CMP = {"gt": ">", "lt": "<"}


class _Meta:
    def __init__(self, d):
        self.shape, self.dtype = (), d


def _bool_combine(spec, d: dt.DType) -> bool:
    """Whether the spec's combine row makes bools of ``d`` values (logical and/or)."""
    return ops_table.OPS[spec.combine].infer([_Meta(d), _Meta(d)], {})[1].is_bool


def number_literal(value, d: dt.DType) -> str:
    """A Python literal for a scalar of dtype ``d`` (what tl.full and tl.where take)."""
    if d.is_floating_point:
        v = float(value)
        if math.isinf(v):
            return 'float("inf")' if v > 0 else '-float("inf")'
        return repr(v)
    return str(int(value))


class RowReductions:
    """Reduction steps of the row kernel (``self`` is a :class:`~.tiles.TileKernel`)."""

    # -- the spec, in Triton terms ------------------------------------------------------------
    @staticmethod
    def _acc_type(n) -> dt.DType:
        """The compute type partials live in (bool partials are int32 0/1)."""
        spec = n.opdef.reduce
        src = n.inputs[0].dtype
        ct = E.compute_type(src if spec.index else spec.acc_dtype(src))
        return dt.int32 if ct.is_bool or _bool_combine(spec, src) else ct

    def _identity(self, n) -> str:
        return number_literal(n.opdef.reduce.identity(n.inputs[0].dtype), self._acc_type(n))

    def _combine(self, n) -> str:
        """The name of the @triton.jit function merging two partials of ``n``."""
        name = E.combine_helper(n.opdef.reduce.combine, self._acc_type(n))
        self.e.use_helper(name)
        return name

    def reduce_input(self, n) -> str:
        """The reduced node's input as partials: in the accumulation type, NaNs replaced by the
        identity when the spec ignores them."""
        spec = n.opdef.reduce
        v = self.operand(n, 0)
        src = n.inputs[0].dtype
        acc = self._acc_type(n)
        if _bool_combine(spec, src):
            v = f"({v} != 0).to(tl.int32)"
        elif E.compute_type(src) is not acc:
            v = f"{v}.to({E.tl_type(acc)})"
        if spec.nan == "ignore" and src.is_floating_point:
            v = f"tl.where({v} != {v}, {self._identity(n)}, {v})"
        return v

    def _reduce_tile(self, n, tile: str) -> str:
        return f"tl.reduce({tile}, 1, {self._combine(n)}, keep_dims=True)"

    # -- a whole row in registers -----------------------------------------------------------------
    def emit_reduction_persistent(self, n) -> str:
        e = self.e
        var = f"v{n.id}"
        e.comment_node(n)
        if not n.opdef.reduce.index:
            e.emit(f"{var} = {self._reduce_tile(n, f'tl.where(mask, {self.reduce_input(n)}, {self._identity(n)})')}")
        else:
            big = max(self.R, 1)
            x = f"x{n.id}"
            e.emit(f"{x} = {self.reduce_input(n)}")
            e.emit(f"m{n.id} = {self._reduce_tile(n, f'tl.where(mask, {x}, {self._identity(n)})')}")
            e.emit(f"{var} = tl.min(tl.where(mask & ({x} == m{n.id}), roffs, {big}), axis=1, keep_dims=True)")
            self._first_nan(n, f"tl.where(mask & ({x} != {x}), roffs, {big})", var)
            e.emit(f"{var} = tl.where({var} < {big}, {var}, 0).to(tl.int64)")
        self.finish_reduction(n, var)
        return var

    def _first_nan(self, n, positions: str, var: str) -> None:
        """Arg-reductions over floats: the first NaN's index wins."""
        if self._acc_type(n).is_floating_point:
            big = max(self.R, 1)
            self.e.emit(f"nan{n.id} = tl.min({positions}, axis=1, keep_dims=True)")
            self.e.emit(f"{var} = tl.where(nan{n.id} < {big}, nan{n.id}, {var})")

    def finish_reduction(self, n, var) -> None:
        """Partials back to the node's dtype (bool results, half-precision rounding)."""
        e = self.e
        if n.dtype.is_bool:
            e.emit(f"{var} = {var} != 0")
        elif not n.opdef.reduce.index:
            ct = E.compute_type(n.dtype)
            if self._acc_type(n) is not ct:
                e.emit(f"{var} = {var}.to({E.tl_type(ct)})")
            if n.dtype in (dt.float16, dt.bfloat16):
                e.emit(f"{var} = {E.round_to(var, n.dtype)}")
        e.values[n.id] = var

    # -- a long row, in a loop -------------------------------------------------------------------
    def init_acc(self, n) -> None:
        e = self.e
        e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], {self._identity(n)}, {E.tl_type(self._acc_type(n))})")
        if n.opdef.reduce.index:
            big = max(self.R, 1)
            e.emit(f"idx{n.id} = tl.full([XBLOCK, RBLOCK], {big}, tl.int32)")
            if self._acc_type(n).is_floating_point:
                e.emit(f"nanpos{n.id} = tl.full([XBLOCK, RBLOCK], {big}, tl.int32)")

    def update_acc(self, n) -> None:
        e = self.e
        a = f"acc{n.id}"
        e.comment_node(n)
        spec = n.opdef.reduce
        if not spec.index:
            e.emit(f"{a} = {self._combine(n)}({a}, tl.where(mask, {self.reduce_input(n)}, {self._identity(n)}))")
            return
        big = max(self.R, 1)
        x = f"x{n.id}"
        e.emit(f"{x} = {self.reduce_input(n)}")
        if self._acc_type(n).is_floating_point:
            e.emit(f"nanpos{n.id} = tl.minimum(nanpos{n.id}, tl.where(mask & ({x} != {x}), roffs, {big}))")
        # a lane keeps its first winner: a later element replaces it only when strictly better
        e.emit(f"take{n.id} = mask & (({x} {_CMP[spec.better]} {a}) | (idx{n.id} == {big}))")
        e.emit(f"{a} = tl.where(take{n.id}, {x}, {a})")
        e.emit(f"idx{n.id} = tl.where(take{n.id}, roffs, idx{n.id})")

    def final_acc(self, n) -> None:
        e = self.e
        a = f"acc{n.id}"
        var = f"v{n.id}"
        if not n.opdef.reduce.index:
            e.emit(f"{var} = {self._reduce_tile(n, a)}")
        else:
            big = max(self.R, 1)
            e.emit(f"m{n.id} = {self._reduce_tile(n, a)}")
            e.emit(
                f"{var} = tl.min(tl.where(({a} == m{n.id}) & (idx{n.id} < {big}), idx{n.id}, {big}), axis=1, keep_dims=True)"
            )
            self._first_nan(n, f"nanpos{n.id}", var)
            e.emit(f"{var} = tl.where({var} < {big}, {var}, 0).to(tl.int64)")
        self.finish_reduction(n, var)
