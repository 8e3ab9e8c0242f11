"""Singular values from the ``linalg_svd`` row: what ``graphc.linalg.svdvals`` and the nuclear
norm (``graphc.norm(p='nuc')``) read. It sits in the functional layer so that ``norm`` keeps
one definition for ``graphc.norm``, ``graphc.functional.norm`` and ``Tensor.norm``."""

from __future__ import annotations

from ir.ops.linalg_lapack import check_dtype, check_matrix, svd_layout

from .._dispatch import apply
from .._tensor import Tensor
from .shape import _slice, squeeze


def singular_values(A: Tensor, name: str) -> Tensor:
    """The singular values of (a batch of) matrices, descending and real; differentiable
    through the row's one rule."""
    check_matrix(name, tuple(A.shape), square=False)
    check_dtype(name, A._dtype)
    m, n = A.shape[-2:]
    layout, _ = svd_layout(m, n, False)
    rows, c0, c1 = layout["S"]
    packed = apply("linalg_svd", [A], full_matrices=False)
    s = squeeze(_slice(_slice(packed, packed.ndim - 2, 0, rows), packed.ndim - 1, c0, c1), -1)
    return apply("real", [s]) if s._dtype.is_complex else s
