"""Products and structured matrices: ``multi_dot``, ``cross``, ``vecdot``, ``vander``,
``diagonal`` (composites of graphc ops, as in PyTorch)."""

from __future__ import annotations

from ir.errors import DTypeError, ShapeError

from .. import _functional as F
from .._factories import arange
from ._core import require, tensor_arg, write_out

__all__ = ["multi_dot", "cross", "vecdot", "vander", "diagonal", "matmul"]

matmul = F.matmul


def _chain_order(dims):
    """The cheapest parenthesization of a matrix chain (the classic dynamic program):
    ``split[i][j]`` is where the product of matrices i..j splits."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors, *, out=None):
    """The product of 2-d matrices in the cheapest order; the first and last may be vectors."""
    tensors = list(tensors)
    require(len(tensors) >= 2, f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    mats = [tensor_arg(t, "linalg.multi_dot", "tensors") for t in tensors]
    first_vec, last_vec = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_vec:
        mats[0] = F.unsqueeze(mats[0], 0)
    if last_vec:
        mats[-1] = F.unsqueeze(mats[-1], -1)
    for i, t in enumerate(mats):
        if t.ndim != 2:
            where = "first" if i == 0 else "last" if i == len(mats) - 1 else "inner"
            raise ShapeError(f"multi_dot(): the {where} tensor must be {'1D or 2D' if where != 'inner' else '2D'} "
                             f"but got {tensors[i].ndim}D")
    for a, b in zip(mats, mats[1:]):
        if a.shape[1] != b.shape[0]:
            raise ShapeError(f"multi_dot(): tensors cannot be chain-multiplied ({a.shape[0]}x{a.shape[1]} and "
                             f"{b.shape[0]}x{b.shape[1]})")
    split = _chain_order([mats[0].shape[0]] + [t.shape[1] for t in mats])

    def product(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return F.matmul(product(i, k), product(k + 1, j))

    r = product(0, len(mats) - 1)
    if first_vec:
        r = F.squeeze(r, 0)
    if last_vec:
        r = F.squeeze(r, -1)
    return write_out(out, r)


def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along ``dim`` (the other dims broadcast)."""
    a, b = tensor_arg(input, "linalg.cross", "input"), tensor_arg(other, "linalg.cross", "other")
    require(a.ndim == b.ndim, "linalg.cross: inputs must have the same number of dimensions.")
    d = dim % max(a.ndim, 1)
    # checked before broadcasting: the cross dim does not broadcast (a size-1 one is refused, as in PyTorch)
    require(a.shape[d] == 3 and b.shape[d] == 3,
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    a, b = F.broadcast_tensors(a, b)
    require(a._dtype is b._dtype, f"linalg.cross: expected scalar type {a._dtype} but found {b._dtype}", DTypeError)

    def pick(t, i):
        return F.narrow(t, d, i, 1)

    parts = [F.sub(F.mul(pick(a, (i + 1) % 3), pick(b, (i + 2) % 3)), F.mul(pick(a, (i + 2) % 3), pick(b, (i + 1) % 3)))
             for i in range(3)]
    return write_out(out, F.cat(parts, d))


def vecdot(x, y, *, dim=-1, out=None):
    """``sum(conj(x) * y, dim)``, broadcasting x and y."""
    x, y = tensor_arg(x, "linalg.vecdot", "x"), tensor_arg(y, "linalg.vecdot", "y")
    return write_out(out, F.sum(F.mul(F.conj(x), y), dim))


def vander(x, *, N=None):
    """The Vandermonde matrix ``x[..., i] ** j`` for j < N (N defaults to x.shape[-1])."""
    x = tensor_arg(x, "linalg.vander", "x")
    require(x.ndim >= 1, "linalg.vander: x must have at least one dimension")
    N = x.shape[-1] if N is None else N
    require(N > 1, f"N must be greater than 1. Got {N}")
    powers = F._to(arange(N, device=x._device), x._dtype)
    return F.pow(F.unsqueeze(x, -1), powers)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """A view-like selection of a diagonal (``graphc.diagonal`` with linalg's default dims)."""
    return F.diagonal(tensor_arg(A, "linalg.diagonal"), offset, dim1, dim2)
