"""``graphc.linalg``: PyTorch's ``torch.linalg`` on graphc's op table.

Factorizations, solves, inverses and determinants are rows of kind ``library``
(``ir/ops/linalg_lapack.py``): one numpy/LAPACK call each, batched over leading dims, compiled
as a ``single`` kernel, with PyTorch's backward formulas as IR gradient rules
(``ir/ops/linalg_grad.py``). Norms, ``pinv``, ``lstsq``, ``cond``, ``matrix_rank``,
``multi_dot``, ``matrix_power`` and the other composites are written from those rows and
graphc ops, as PyTorch writes them. Functions take float32, float64, complex64 and complex128
matrices; errors for singular or non-positive-definite input are :class:`LinAlgError`, and the
``_ex`` forms return an ``info`` tensor instead.

>>> import graphc
>>> A = graphc.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=graphc.float64)
>>> graphc.linalg.cholesky(A)
tensor([[2.0000, 0.0000],
        [0.5000, 1.6583]], dtype=graphc.float64)
"""

from __future__ import annotations

from ir.errors import LinAlgError

from . import legacy  # noqa: F401  (attaches the Tensor methods)
from ._core import return_types
from .decompositions import (
    cholesky,
    cholesky_ex,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    householder_product,
    lu,
    lu_factor,
    lu_factor_ex,
    qr,
    svd,
    svdvals,
)
from .ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .norms import cond, matrix_norm, matrix_rank, norm, vector_norm
from .products import cross, diagonal, matmul, multi_dot, vander, vecdot
from .solvers import (
    det,
    inv,
    inv_ex,
    lstsq,
    lu_solve,
    matrix_exp,
    matrix_power,
    pinv,
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
)

__all__ = [
    "LinAlgError", "return_types", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh",
    "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve",
    "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
    "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
    "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm",
]
