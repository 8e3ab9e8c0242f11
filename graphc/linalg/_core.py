"""What every ``graphc.linalg`` function shares: argument checks with PyTorch's messages, the
named tuples PyTorch returns, unpacking the rows' packed results, and small matrix helpers
(identity, triangles, batched row gathers) built from graphc ops so that they trace.

The rows are in ``ir/ops/linalg_lapack.py`` (one ``library`` kernel each); a factorization's
results come back packed in one tensor and are sliced out here (views, so gradients flow into
the one row).
"""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops.linalg_lapack import check_dtype, check_matrix

from .. import _functional as F
from .._dispatch import apply
from .._factories import arange, zeros
from .._tensor import Tensor
from ..return_types import structseq


class return_types:
    """PyTorch's named result tuples (``torch.return_types.linalg_qr`` ...)."""

    linalg_cholesky_ex = structseq("linalg_cholesky_ex", ["L", "info"])
    linalg_inv_ex = structseq("linalg_inv_ex", ["inverse", "info"])
    linalg_solve_ex = structseq("linalg_solve_ex", ["result", "info"])
    linalg_qr = structseq("linalg_qr", ["Q", "R"])
    linalg_eigh = structseq("linalg_eigh", ["eigenvalues", "eigenvectors"])
    linalg_eig = structseq("linalg_eig", ["eigenvalues", "eigenvectors"])
    linalg_svd = structseq("linalg_svd", ["U", "S", "Vh"])
    linalg_slogdet = structseq("linalg_slogdet", ["sign", "logabsdet"])
    linalg_lu = structseq("linalg_lu", ["P", "L", "U"])
    linalg_lu_factor = structseq("linalg_lu_factor", ["LU", "pivots"])
    linalg_lu_factor_ex = structseq("linalg_lu_factor_ex", ["LU", "pivots", "info"])
    linalg_lstsq = structseq("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
    linalg_ldl_factor = structseq("linalg_ldl_factor", ["LD", "pivots"])
    linalg_ldl_factor_ex = structseq("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
    qr = structseq("qr", ["Q", "R"])
    svd = structseq("svd", ["U", "S", "V"])
    slogdet = structseq("slogdet", ["sign", "logabsdet"])
    geqrf = structseq("geqrf", ["a", "tau"])
    triangular_solve = structseq("triangular_solve", ["solution", "cloned_coefficient"])
    lu_unpack = structseq("lu_unpack", ["P", "L", "U"])


def tensor_arg(x, name: str, what: str = "A") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")
    return x


def matrix(x, name: str, *, square: bool = True, what: str = "A") -> Tensor:
    """``x`` checked as (a batch of) matrices of a LAPACK dtype."""
    x = tensor_arg(x, name, what)
    check_matrix(name, tuple(x.shape), square=square, what=what)
    check_dtype(name, x._dtype)
    return x


def same_dtype(name: str, a: Tensor, b: Tensor, what=("A", "B")) -> None:
    if a._dtype is not b._dtype:
        raise DTypeError(f"{name}: Expected {what[0]} and {what[1]} to have the same dtype, but found "
                         f"{what[0]} of type {a._dtype} and {what[1]} of type {b._dtype} instead.")


def write_out(out, result):
    """``out=``: one tensor, or a tuple of tensors for a tuple result."""
    if out is None:
        return result
    if isinstance(result, tuple):
        if len(out) != len(result):
            raise TypeError(f"out= expects {len(result)} tensors, got {len(out)}")
        for o, r in zip(out, result):
            F._common._write_out(o, r)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    return F._common._write_out(out, result)


# ----------------------------------------------------------------------------
# packed results


def part(packed: Tensor, rows: int, c0: int, c1: int) -> Tensor:
    """``packed[..., :rows, c0:c1]`` (a view)."""
    return packed[..., :rows, c0:c1]


def real_part(x: Tensor, real: bool) -> Tensor:
    """The real part when ``real`` (values a complex factorization stores as complex)."""
    return apply("real", [x]) if real and x._dtype.is_complex else x


def index_column(packed: Tensor, rows: int, c: int, dtype=dt.int64) -> Tensor:
    """An integer column of a pack (pivots, permutations) as ``dtype``, outside autograd."""
    return F._to(packed.detach()[..., :rows, c], dtype)


# ----------------------------------------------------------------------------
# matrix helpers that trace (built from graphc ops)


def eye_like(x: Tensor, m: int, n: int | None = None, dtype=None) -> Tensor:
    n = m if n is None else n
    i = F.reshape(arange(m, device=x._device), (m, 1))
    j = F.reshape(arange(n, device=x._device), (1, n))
    return F._to(F.eq(i, j), dtype or x._dtype)


def batch_eye(x: Tensor, n: int) -> Tensor:
    """Identity matrices with ``x``'s batch dims (for ``matrix_power(A, 0)``)."""
    e = eye_like(x, n)
    return F.expand(e, tuple(x.shape[:-2]) + (n, n))


def gather_rows(x: Tensor, order: Tensor) -> Tensor:
    """``x[..., order[..., i], :]`` for a batched row order ``order[..., m]``."""
    idx = F.expand(F.unsqueeze(order, -1), tuple(x.shape))
    return F.gather(x, -2, idx)


def inverse_order(order: Tensor) -> Tensor:
    """The inverse of a batched permutation: ``inv[order[i]] = i`` (a scatter, so it traces)."""
    m = order.shape[-1]
    ramp = F.expand(arange(m, device=order._device), tuple(order.shape))
    return F.scatter_add(zeros(tuple(order.shape), dtype=dt.int64, device=order._device), -1, order, ramp)


def perm_matrix(order: Tensor, m: int, dtype) -> Tensor:
    """P with ``P[r, c] = 1`` where ``r == order[c]`` (so ``P.mT @ A == A[order]``)."""
    r = F.reshape(arange(m, device=order._device), (m, 1))
    return F._to(F.eq(r, F.unsqueeze(order, -2)), dtype)


def vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule for ``solve``: B is a (batch of) vector(s) when it is 1-d or has A's shape
    without its last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def require(cond: bool, message: str, exc=ShapeError) -> None:
    if not cond:
        raise exc(message)
