"""Finite differences and integration along a dim: ``diff``, ``gradient`` (central
differences with one- or second-order edges, uniform or coordinate spacing), ``trapezoid``
(``trapz``) and ``cumulative_trapezoid``. Slices and arithmetic only, so they fuse, trace and
differentiate."""

from __future__ import annotations

import numbers

from ir import dtypes as dt
from ir.errors import ShapeError
from ir.ops import fmt_shape

from .._args import norm_dim
from .._tensor import Tensor
from ._common import _float_of, _tensor_arg, _to
from .elementwise import add, div, logical_xor, mul, sub
from .joining import cat
from .layout import clone
from .reductions import cumsum, sum
from .shape import _slice, expand, reshape

__all__ = ["diff", "gradient", "trapezoid", "trapz", "cumulative_trapezoid"]


def _sl(x, d, start, stop):
    return _slice(x, d, start, stop)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``x[i+1] - x[i]``; for bools, xor),
    after joining ``prepend``/``append`` to the input there."""
    x = _tensor_arg(input, "diff")
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = norm_dim(dim, x.ndim, "diff")
    source, parts = x, []
    for extra in (prepend, x, append):
        if extra is None:
            continue
        if extra is not x:
            extra = extra if isinstance(extra, Tensor) else None
            if extra is None:
                raise TypeError("diff(): prepend and append must be tensors")
            if extra.ndim == 0:
                shape = list(x.shape)
                shape[d] = 1
                extra = expand(reshape(extra, (1,) * x.ndim), tuple(shape))
        parts.append(extra)
    if len(parts) > 1:
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = _sl(x, d, 1, m), _sl(x, d, 0, m - 1)
        x = logical_xor(hi, lo) if x._dtype.is_bool else sub(hi, lo)
    return clone(x) if x is source else x  # n == 0 or an empty dim: still a new tensor


def _spacings(x, spacing, dims):
    """Per dim: a number (uniform step) or a 1-d coordinate tensor."""
    if spacing is None:
        return [1.0] * len(dims)
    if isinstance(spacing, (numbers.Number, Tensor)) and not (isinstance(spacing, Tensor) and spacing.ndim == 1):
        v = spacing.item() if isinstance(spacing, Tensor) else spacing
        return [v] * len(dims)
    spacing = list(spacing)
    if len(spacing) == 1 and len(dims) > 1 and isinstance(spacing[0], numbers.Number):
        return spacing * len(dims)
    if len(spacing) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or its length to match the "
                           f"number of dimensions in dim, got {len(spacing)} for {len(dims)} dims")
    out = []
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor) and s.ndim == 0:
            s = s.item()
        if isinstance(s, Tensor):
            if s.ndim != 1 or s.shape[0] != x.shape[d]:
                raise ShapeError(f"torch.gradient expected each tensor of spacing to be 1-D with the size of dim {d} "
                                 f"({x.shape[d]}), got {fmt_shape(s.shape)}")
        out.append(s)
    return out


def _along(t, d, ndim):
    """A 1-d tensor shaped to broadcast along dim ``d`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[d] = t.shape[0]
    return reshape(t, tuple(shape))


def _gradient_1d(x, d, h, edge_order):
    n = x.shape[d]
    if n < edge_order + 1:
        raise RuntimeError(f"torch.gradient expected each dimension size to be at least edge_order+1, got {n} at dim {d}")

    def at(a, b):
        return _sl(x, d, a, b)

    if not isinstance(h, Tensor):
        interior = div(sub(at(2, n), at(0, n - 2)), 2.0 * h)
        if edge_order == 1:
            first = div(sub(at(1, 2), at(0, 1)), h)
            last = div(sub(at(n - 1, n), at(n - 2, n - 1)), h)
        else:
            first = div(add(add(mul(at(0, 1), -1.5), mul(at(1, 2), 2.0)), mul(at(2, 3), -0.5)), h)
            last = div(add(add(mul(at(n - 3, n - 2), 0.5), mul(at(n - 2, n - 1), -2.0)), mul(at(n - 1, n), 1.5)), h)
        return cat([first, interior, last], d)
    # coordinates: non-uniform central differences (second-order accurate interior)
    c = _to(h, x._dtype)
    dx = sub(_sl(c, 0, 1, n), _sl(c, 0, 0, n - 1))  # [n-1]
    h1 = _along(_sl(dx, 0, 0, n - 2), d, x.ndim)  # x_i - x_{i-1}
    h2 = _along(_sl(dx, 0, 1, n - 1), d, x.ndim)  # x_{i+1} - x_i
    denom = mul(mul(h1, h2), add(h1, h2))
    interior = div(add(sub(mul(mul(h1, h1), at(2, n)), mul(mul(h2, h2), at(0, n - 2))),
                       mul(sub(mul(h2, h2), mul(h1, h1)), at(1, n - 1))), denom)
    d0 = _along(_sl(dx, 0, 0, 1), d, x.ndim)
    dl = _along(_sl(dx, 0, n - 2, n - 1), d, x.ndim)
    if edge_order == 1:
        first = div(sub(at(1, 2), at(0, 1)), d0)
        last = div(sub(at(n - 1, n), at(n - 2, n - 1)), dl)
    else:
        d1 = _along(_sl(dx, 0, 1, 2), d, x.ndim)
        a = div(_neg(add(mul(d0, 2.0), d1)), mul(d0, add(d0, d1)))
        b = div(add(d0, d1), mul(d0, d1))
        cc = div(_neg(d0), mul(d1, add(d0, d1)))
        first = add(add(mul(a, at(0, 1)), mul(b, at(1, 2))), mul(cc, at(2, 3)))
        dm = _along(_sl(dx, 0, n - 3, n - 2), d, x.ndim)
        a = div(dl, mul(dm, add(dm, dl)))
        b = div(_neg(add(dl, dm)), mul(dm, dl))
        cc = div(add(mul(dl, 2.0), dm), mul(dl, add(dm, dl)))
        last = add(add(mul(a, at(n - 3, n - 2)), mul(b, at(n - 2, n - 1))), mul(cc, at(n - 1, n)))
    return cat([first, interior, last], d)


def _neg(t):
    return mul(t, -1.0)


def gradient(input, *, spacing=None, dim=None, edge_order=1):
    """Estimates of the derivative along each of ``dim`` (default: every dim) by central
    differences; ``spacing`` is a step (number) per dim or 1-d coordinates per dim; the edges
    use one-sided differences of ``edge_order`` 1 or 2. Returns one tensor per dim."""
    x = _float_of(_tensor_arg(input, "gradient"))
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}")
    if dim is None:
        dims = list(range(x.ndim))
    else:
        dims = [norm_dim(d, x.ndim, "gradient") for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
    hs = _spacings(x, spacing, dims)
    return tuple(_gradient_1d(x, d, h, edge_order) for d, h in zip(dims, hs))


def _trap_dtype(y):
    return y if y._dtype.is_floating_point else _to(y, dt.default_float())


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim``: with sample points ``x`` (1-d, or shaped like ``y``)
    or a uniform spacing ``dx`` (default 1)."""
    yt = _trap_dtype(_tensor_arg(y, "trapezoid"))
    d = norm_dim(dim, yt.ndim, "trapezoid")
    n = yt.shape[d]
    if n == 0:
        return sum(yt, d)
    pair = add(_sl(yt, d, 1, n), _sl(yt, d, 0, n - 1))
    if x is None:
        return mul(sum(pair, d), (1.0 if dx is None else dx) / 2.0)
    if dx is not None:
        raise RuntimeError("trapezoid: received both x and dx; give one of them")
    xt = _tensor_arg(x, "trapezoid")
    xd = d if xt.ndim == yt.ndim else norm_dim(-1, xt.ndim, "trapezoid")
    if xt.shape[xd] != n:
        raise ShapeError(f"trapezoid: There must be one `x` value for each sample point, got {xt.shape[xd]} and {n}")
    widths = sub(_sl(xt, xd, 1, n), _sl(xt, xd, 0, n - 1))
    if xt.ndim == 1 and yt.ndim > 1:
        widths = _along(widths, d, yt.ndim)
    return div(sum(mul(widths, pair), d), 2.0)


def trapz(y, x=None, *, dx=None, dim=-1):
    """Alias of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid rule along ``dim`` (one element shorter than ``y`` there)."""
    yt = _trap_dtype(_tensor_arg(y, "cumulative_trapezoid"))
    d = norm_dim(dim, yt.ndim, "cumulative_trapezoid")
    n = yt.shape[d]
    if n == 0:
        return yt
    pair = add(_sl(yt, d, 1, n), _sl(yt, d, 0, n - 1))
    if x is None:
        return mul(cumsum(pair, d), (1.0 if dx is None else dx) / 2.0)
    xt = _tensor_arg(x, "cumulative_trapezoid")
    xd = d if xt.ndim == yt.ndim else norm_dim(-1, xt.ndim, "cumulative_trapezoid")
    widths = sub(_sl(xt, xd, 1, n), _sl(xt, xd, 0, n - 1))
    if xt.ndim == 1 and yt.ndim > 1:
        widths = _along(widths, d, yt.ndim)
    return div(cumsum(mul(widths, pair), d), 2.0)

