"""``ldl_factor``/``ldl_factor_ex``/``ldl_solve``: the Bunch-Kaufman factorization of symmetric
(or Hermitian) indefinite matrices in LAPACK's compact layout (``ir/ops/lapack_ldl.py``).
Not differentiable, as in PyTorch."""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import LinAlgError
from ir.ops import lapack_np as LNP

from .. import _functional as F
from .._dispatch import apply
from ._core import matrix, return_types, same_dtype, tensor_arg, write_out

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]


def _factor(A, hermitian, name):
    A = matrix(A, name)
    n = A.shape[-1]
    packed = apply("linalg_ldl_factor", [A], hermitian=bool(hermitian))
    LD = packed[..., :, :n]
    pivots = F._to(packed[..., :, n], dt.int32)
    info = F._to(F.real(packed[..., 0, n + 1]), dt.int32)
    return LD, pivots, info


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """``(LD, pivots, info)``: L below LD's diagonal, D's 1x1 and 2x2 blocks on and next to it,
    LAPACK's 1-based pivots (negative on both rows of a 2x2 block); ``info`` > 0 marks an exactly
    zero D block (the factorization is complete, D is singular)."""
    LD, pivots, info = _factor(A, hermitian, "linalg.ldl_factor_ex")
    if check_errors:
        info._need_data("linalg.ldl_factor_ex")
        _raise(info._host(), "linalg.ldl_factor_ex")
    return write_out(out, return_types.linalg_ldl_factor_ex(LD, pivots, info))


def _raise(info, name):
    flat = info.reshape(-1)
    bad = [i for i, v in enumerate(flat) if v != 0]
    if bad:
        i = bad[0]
        raise LinAlgError(f"{name}: {LNP.batch_prefix(i, info.shape)}D is singular: its diagonal block {int(flat[i])} "
                          "is exactly zero (the factorization is complete; use ldl_factor_ex to get it anyway)")


def ldl_factor(A, *, hermitian=False, out=None):
    """``(LD, pivots)``; ``LinAlgError`` when D is singular (``ldl_factor_ex`` returns it)."""
    LD, pivots, info = _factor(A, hermitian, "linalg.ldl_factor")
    if info._data is not None:
        _raise(info._host(), "linalg.ldl_factor")
    return write_out(out, return_types.linalg_ldl_factor(LD, pivots))


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """Solve ``A X = B`` from ``ldl_factor``'s results."""
    name = "linalg.ldl_solve"
    LD = matrix(LD, name, what="LD")
    B = matrix(B, name, square=False, what="B")
    same_dtype(name, LD, B, ("LD", "B"))
    return write_out(out, apply("linalg_ldl_solve", [LD, tensor_arg(pivots, name, "pivots"), B], hermitian=bool(hermitian)))

