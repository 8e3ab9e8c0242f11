"""Running reductions along a dim: ``cumprod``, ``cummax``, ``cummin``, ``logcumsumexp``.

Each is a scan row of the op table (``ir/ops/reduce.py``), so it runs in numpy (the combine
row's ``ufunc.accumulate``), in generated code and as a Triton ``associative_scan``, and
differentiates with the row's rule. ``cummax``/``cummin`` also return the index of each
running extreme: the latest position that set it (ties and NaNs take the later index, as in
PyTorch); their values are gathered at those indices, so the gradient is gather's, the one
PyTorch gives (each output's gradient goes to the element it came from).
"""

from __future__ import annotations

from ir import dtypes as dt

from .._args import norm_dim
from .._dispatch import apply, composite
from ..return_types import structseq
from ._common import _require_float, _tensor_arg, _to, _write_out
from .elementwise import eq, isnan, logical_or
from .pointwise import where
from .reductions import _sum_dtype

__all__ = ["cumprod", "cummax", "cummin", "logcumsumexp"]

_cummax_t = structseq("cummax", ["values", "indices"])
_cummin_t = structseq("cummin", ["values", "indices"])


def _dim(x, dim, op):
    return norm_dim(dim, x.ndim, op) if x.ndim else 0


def cumprod(input, dim, *, dtype=None, out=None):
    """Running product along ``dim`` (ints and bools accumulate in int64, as in PyTorch).

    >>> graphc.cumprod(graphc.tensor([1.0, 2.0, 3.0]), 0)
    tensor([1., 2., 6.])
    """
    x = _sum_dtype(_tensor_arg(input, "cumprod"), dtype)
    return _write_out(out, apply("cumprod", [x], axis=_dim(x, dim, "cumprod")))


def logcumsumexp(input, dim, *, out=None):
    """``log(cumsum(exp(x)))`` along ``dim``, without overflow (floating-point inputs only, as PyTorch)."""
    x = _tensor_arg(input, "logcumsumexp")
    _require_float(x, "logcumsumexp_out_cpu")
    return _write_out(out, apply("logcumsumexp", [x], axis=_dim(x, dim, "logcumsumexp")))


def _running_extreme(name, input, dim, out):
    x = _tensor_arg(input, name)
    d = _dim(x, dim, name)
    if x.ndim == 0:
        res = (apply("copy", [x]), apply("full", [], shape=(), dtype=dt.int64, value=0, _device=x._device))
        return _cummax_t(*res) if name == "cummax" else _cummin_t(*res)
    work = _to(x, dt.uint8) if x._dtype.is_bool else x
    running = apply(name, [work.detach()], axis=d)
    record = eq(work, running)  # this element sets (or ties) the running extreme
    if work._dtype.is_floating_point:
        record = logical_or(record, isnan(work))
    pos = apply("iota", [], shape=tuple(x.shape), dtype=dt.int64, axis=d, _device=x._device)
    indices = apply("cummax", [where(record, pos, 0)], axis=d)
    with composite("CummaxBackward0" if name == "cummax" else "CumminBackward0", input) as c:
        values = c.result(apply("gather", [x, indices], axis=d))
    res = (values, indices)
    if out is not None:
        res = (_write_out(out[0], values), _write_out(out[1], indices))
    return _cummax_t(*res) if name == "cummax" else _cummin_t(*res)


def cummax(input, dim, *, out=None):
    """``(values, indices)``: the running maximum along ``dim`` and where each came from.

    >>> graphc.cummax(graphc.tensor([1, 3, 2, 3]), 0)
    cummax(values=tensor([1, 3, 3, 3]), indices=tensor([0, 1, 1, 3]))
    """
    return _running_extreme("cummax", input, dim, out)


def cummin(input, dim, *, out=None):
    """``(values, indices)``: the running minimum along ``dim`` and where each came from."""
    return _running_extreme("cummin", input, dim, out)
