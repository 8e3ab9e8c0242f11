"""Linear-algebra rows: factorizations, solves, inverses, determinants and the matrix exponential.

Each is a ``library`` row: one call into numpy's LAPACK (or :mod:`ir.ops.lapack_np`), batched
over leading dims, compiled as a ``single`` kernel (the numpy backend calls the row; the Triton
backend makes a labelled host call). Gradient rules are in :mod:`ir.ops.linalg_grad`.

**Packed results.** An IR node has one output. A factorization with several results returns
them side by side in one tensor, along the last axis, each part in the top rows (the rest is
zero); :data:`LAYOUTS` gives each row's parts as ``(rows, first column, last column)`` and the
frontend and the rules slice them out the same way:

* ``linalg_qr``: ``[Q | R]``, shape ``(m, q + n)``;
* ``linalg_eigh``/``linalg_eig``: eigenvalues in row 0, eigenvectors below: ``(n + 1, n)``;
* ``linalg_svd``: ``[U | S as a column | V]`` (``V``, not ``Vh``): ``(max(m, n), ku + 1 + kv)``;
* ``linalg_lu_factor``: ``[LU | pivots | perm | invperm]`` (index columns as numbers): ``(m, n + 3)``;
* ``linalg_slogdet``: ``(..., 2)``: sign, log|det|;
* ``linalg_ldl_factor``: ``[LD | pivots | info (row 0)]``: ``(n, n + 2)``;
* ``geqrf``: ``[a | tau]``: ``(m, n + 1)``.

Real parts of complex factorizations (eigenvalues of Hermitian matrices, singular values) are
stored as complex numbers with zero imaginary part; the frontend takes their real part.

Dtypes: float32, float64, complex64 and complex128, as PyTorch's CPU kernels; errors (singular,
not positive-definite) are :class:`ir.errors.LinAlgError` with PyTorch's messages, raised when the
row's ``check`` attribute is set; the ``_ex`` forms read ``linalg_info`` instead.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..errors import DTypeError, ShapeError
from . import lapack_ldl as LDL
from . import lapack_np as L
from . import linalg_grad as G
from .core import LIBRARY, OpDef, broadcast_shapes, fmt_shape, register

_LAPACK_DTYPES = (dt.float32, dt.float64, dt.complex64, dt.complex128)


def public_name(name: str) -> str:
    return name.replace("linalg_", "linalg.")


# ----------------------------------------------------------------------------
# shape and dtype rules


def check_dtype(name: str, d) -> None:
    if d in _LAPACK_DTYPES:
        return
    if d in (dt.float16, dt.bfloat16):
        raise DTypeError(f"{name}: Low precision dtypes not supported. Got {d}")
    raise DTypeError(f"{name}: Expected a floating point or complex tensor as input. Got {d}")


def check_matrix(name: str, shape, square=True, what="A") -> None:
    if len(shape) < 2:
        raise ShapeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if square and shape[-1] != shape[-2]:
        raise ShapeError(f"{name}: {what} must be batches of square matrices, but they are {shape[-2]} by {shape[-1]} matrices")


def _dtype_lapack(op, inputs, attrs):
    d = inputs[0].dtype
    check_dtype(public_name(op.name), d)
    for x in inputs[1:]:
        if x.dtype is not d:
            raise DTypeError(f"{public_name(op.name)}: Expected all inputs to have the same dtype, got {d} and {x.dtype}")
    return d


def _dtype_complex_out(op, inputs, attrs):
    return dt.to_complex(_dtype_lapack(op, inputs, attrs))


def _square(op, inputs, attrs):
    check_matrix(public_name(op.name), inputs[0].shape)
    return tuple(inputs[0].shape)


def _batch(op, inputs, attrs):
    check_matrix(public_name(op.name), inputs[0].shape)
    return tuple(inputs[0].shape[:-2])


def _solve_shape(op, inputs, attrs):
    a, b = inputs
    name = public_name(op.name)
    check_matrix(name, a.shape, what="A")
    if len(b.shape) < 2:
        raise ShapeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    left = attrs.get("left", True)
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        raise ShapeError(
            f"{name}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
            f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    return broadcast_shapes(a.shape[:-2], b.shape[:-2], op=name) + tuple(b.shape[-2:])


# ----------------------------------------------------------------------------
# packed layouts: part name -> (rows, first column, last column)


def qr_layout(m, n, mode):
    q = min(m, n) if mode in ("reduced", "r") else m
    return {"Q": (m, 0, q), "R": (q, q, q + n)}, (m, q + n)


def eig_layout(n):
    """Eigenvalues in row 0, eigenvectors (columns) in rows 1..n."""
    return {}, (n + 1, n)


def svd_layout(m, n, full):
    k = min(m, n)
    ku, kv = (m, n) if full else (k, k)
    return {"U": (m, 0, ku), "S": (k, ku, ku + 1), "V": (n, ku + 1, ku + 1 + kv)}, (max(m, n), ku + 1 + kv)


def lu_layout(m, n):
    k = min(m, n)
    return {"LU": (m, 0, n), "pivots": (k, n, n + 1), "perm": (m, n + 1, n + 2), "invperm": (m, n + 2, n + 3)}, (m, n + 3)


def _packed_shape(layout_of):
    def rule(op, inputs, attrs):
        shape = inputs[0].shape
        check_matrix(public_name(op.name), shape, square=op.name in ("linalg_eigh", "linalg_eig"))
        _, (rows, cols) = layout_of(shape, attrs)
        return tuple(shape[:-2]) + (rows, cols)

    return rule


LAYOUTS = {
    "linalg_qr": lambda shape, attrs: qr_layout(shape[-2], shape[-1], attrs["mode"]),
    "linalg_eigh": lambda shape, attrs: eig_layout(shape[-1]),
    "linalg_eig": lambda shape, attrs: eig_layout(shape[-1]),
    "linalg_svd": lambda shape, attrs: svd_layout(shape[-2], shape[-1], attrs["full_matrices"]),
    "linalg_lu_factor": lambda shape, attrs: lu_layout(shape[-2], shape[-1]),
}


def _pack(shape, dtype, layout, parts) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype.numpy_dtype)
    for name, value in parts.items():
        rows, c0, c1 = layout[name]
        out[..., :rows, c0:c1] = value
    return out


# ----------------------------------------------------------------------------
# numpy implementations: f(arrays, attrs, shape, dtype)


def _np_cholesky(arrays, attrs, shape, dtype):
    return L.cholesky(arrays[0], attrs["check"])


def _np_solve_triangular(arrays, attrs, shape, dtype):
    a, b = arrays
    return L.solve_triangular(a, b, attrs["upper"], attrs["left"], attrs["unitriangular"])


def _np_solve(arrays, attrs, shape, dtype):
    return L.solve(arrays[0], arrays[1], attrs["check"])


def _np_inv(arrays, attrs, shape, dtype):
    return L.inv(arrays[0], attrs["check"])


def _np_det(arrays, attrs, shape, dtype):
    return np.linalg.det(arrays[0])


def _np_slogdet(arrays, attrs, shape, dtype):
    sign, logabs = np.linalg.slogdet(arrays[0])
    return np.stack([np.asarray(sign, dtype=dtype.numpy_dtype), np.asarray(logabs, dtype=dtype.numpy_dtype)], axis=-1)


def _np_qr(arrays, attrs, shape, dtype):
    a = arrays[0]
    m, n = a.shape[-2:]
    layout, _ = qr_layout(m, n, attrs["mode"])
    q, r = np.linalg.qr(a, mode="complete" if attrs["mode"] == "complete" else "reduced")
    return _pack(shape, dtype, layout, {"Q": q, "R": r})


def _np_eigh(arrays, attrs, shape, dtype):
    w, v = np.linalg.eigh(arrays[0], UPLO="U" if attrs["upper"] else "L")
    return _eig_pack(shape, dtype, w, v)


def _eig_pack(shape, dtype, w, v):
    out = np.zeros(shape, dtype=dtype.numpy_dtype)
    out[..., 0, :] = w
    out[..., 1:, :] = v
    return out


def _np_eig(arrays, attrs, shape, dtype):
    w, v = np.linalg.eig(arrays[0])
    return _eig_pack(shape, dtype, w, v)


def _np_svd(arrays, attrs, shape, dtype):
    a = arrays[0]
    m, n = a.shape[-2:]
    layout, _ = svd_layout(m, n, attrs["full_matrices"])
    u, s, vh = np.linalg.svd(a, full_matrices=attrs["full_matrices"])
    return _pack(shape, dtype, layout, {"U": u, "S": s[..., None], "V": np.conj(np.swapaxes(vh, -1, -2))})


def _np_lu_factor(arrays, attrs, shape, dtype):
    a = arrays[0]
    m, n = a.shape[-2:]
    lu, piv, perm, info = L.lu_factor(a)
    if attrs["check"]:
        L.raise_singular("linalg.lu_factor", info, "lu")
    invperm = np.argsort(perm, axis=-1)
    layout, _ = lu_layout(m, n)
    return _pack(shape, dtype, layout, {"LU": lu, "pivots": piv[..., None], "perm": perm[..., None],
                                        "invperm": invperm[..., None]})


def _np_matrix_exp(arrays, attrs, shape, dtype):
    return L.matrix_exp(arrays[0])


def _np_info(arrays, attrs, shape, dtype):
    what = attrs["of"]
    if what == "cholesky":
        return L.cholesky_info(arrays[0])
    return L.lu_info(arrays[0])


def _np_pivots_to_perm(arrays, attrs, shape, dtype):
    return L.pivots_to_perm(arrays[0], attrs["m"])


def _np_geqrf(arrays, attrs, shape, dtype):
    a = arrays[0]
    m, n = a.shape[-2:]
    h, tau = np.linalg.qr(a, mode="raw")
    out = np.zeros(shape, dtype=dtype.numpy_dtype)
    out[..., :, :n] = np.swapaxes(h, -1, -2)
    out[..., : tau.shape[-1], n] = tau
    return out


def _np_ldl_factor(arrays, attrs, shape, dtype):
    a = arrays[0]
    n = a.shape[-1]
    ld, piv, info = LDL.ldl_factor(a, attrs["hermitian"])
    out = np.zeros(shape, dtype=dtype.numpy_dtype)
    out[..., :, :n] = ld
    out[..., :, n] = piv
    out[..., 0, n + 1] = info
    return out


def _np_ldl_solve(arrays, attrs, shape, dtype):
    ld, piv, b = arrays
    return LDL.ldl_solve(ld, piv, b, attrs["hermitian"])


# ----------------------------------------------------------------------------
# the rows


def library(name, arity, shape_rule, dtype_rule, numpy, attrs=(), *, grad=None, saves=(), grad_name="", doc=""):
    return register(OpDef(name, LIBRARY, arity, shape_rule, dtype_rule, attrs, differentiable=grad is not None,
                          saves=saves, grad=grad, grad_name=grad_name, doc=doc, numpy=numpy, complex=True,
                          complex_rule=True))


def _index_out(op, inputs, attrs):
    check_dtype(public_name(op.name), inputs[0].dtype)
    return dt.int32


def _shape_pivots(op, inputs, attrs):
    (p,) = inputs
    if len(p.shape) < 1:
        raise ShapeError(f"lu_unpack: pivots must have at least 1 dimension, got {fmt_shape(p.shape)}")
    return tuple(p.shape[:-1]) + (attrs["m"],)


def _dtype_pivots(op, inputs, attrs):
    if not inputs[0].dtype.is_integer:
        raise DTypeError(f"lu_unpack: pivots must be an integer tensor, got {inputs[0].dtype}")
    return dt.int64


def _shape_geqrf(op, inputs, attrs):
    shape = inputs[0].shape
    check_matrix("geqrf", shape, square=False)
    return tuple(shape[:-1]) + (shape[-1] + 1,)


library("linalg_cholesky", 1, _square, _dtype_lapack, _np_cholesky, ("check",), grad=G.cholesky_grad, saves=("out",),
        grad_name="LinalgCholeskyExBackward0", doc="The lower Cholesky factor L of A = L L^H (A's lower triangle).")
library("linalg_solve_triangular", 2, _solve_shape, _dtype_lapack, _np_solve_triangular,
        ("upper", "left", "unitriangular"), grad=G.solve_triangular_grad, saves=(0, "out"),
        grad_name="LinalgSolveTriangularBackward0", doc="A^{-1} B (left) or B A^{-1}, A triangular.")
library("linalg_solve", 2, _solve_shape, _dtype_lapack, _np_solve, ("check",), grad=G.solve_grad, saves=(0, "out"),
        grad_name="LinalgSolveExBackward0", doc="A^{-1} B for matrices B (the frontend handles vectors and left=False).")
library("linalg_inv", 1, _square, _dtype_lapack, _np_inv, ("check",), grad=G.inv_grad, saves=("out",),
        grad_name="LinalgInvExBackward0")
library("linalg_det", 1, _batch, _dtype_lapack, _np_det, grad=G.det_grad, saves=(0,), grad_name="LinalgDetBackward0")
library("linalg_slogdet", 1, lambda op, i, a: _batch(op, i, a) + (2,), _dtype_lapack, _np_slogdet, grad=G.slogdet_grad,
        saves=(0, "out"), grad_name="LinalgSlogdetBackward0", doc="Packed (..., 2): sign, log|det|.")
library("linalg_qr", 1, _packed_shape(LAYOUTS["linalg_qr"]), _dtype_lapack, _np_qr, ("mode",), grad=G.qr_grad,
        saves=(0, "out"), grad_name="LinalgQrBackward0", doc="Packed [Q | R].")
library("linalg_eigh", 1, _packed_shape(LAYOUTS["linalg_eigh"]), _dtype_lapack, _np_eigh, ("upper",), grad=G.eigh_grad,
        saves=("out",), grad_name="LinalgEighBackward0", doc="Packed: eigenvalues (ascending) in row 0, vectors below.")
library("linalg_eig", 1, _packed_shape(LAYOUTS["linalg_eig"]), _dtype_complex_out, _np_eig, grad=G.eig_grad,
        saves=("out",), grad_name="LinalgEigBackward0", doc="Packed (complex): eigenvalues in row 0, vectors below.")
library("linalg_svd", 1, _packed_shape(LAYOUTS["linalg_svd"]), _dtype_lapack, _np_svd, ("full_matrices",),
        grad=G.svd_grad, saves=("out",), grad_name="LinalgSvdBackward0", doc="Packed [U | S | V] (V, not Vh).")
library("linalg_lu_factor", 1, _packed_shape(LAYOUTS["linalg_lu_factor"]), _dtype_lapack, _np_lu_factor, ("check",),
        grad=G.lu_factor_grad, saves=("out",), grad_name="LinalgLuFactorExBackward0",
        doc="Packed [LU | pivots | perm | invperm]: A = P L U with partial pivoting.")
library("linalg_matrix_exp", 1, _square, _dtype_lapack, _np_matrix_exp, grad=G.matrix_exp_grad, saves=(0,),
        grad_name="LinalgMatrixExpBackward0")
def _shape_info(op, inputs, attrs):
    check_matrix("linalg.info", inputs[0].shape, square=attrs["of"] == "cholesky")
    return tuple(inputs[0].shape[:-2])


library("linalg_info", 1, _shape_info, _index_out, _np_info, ("of",),
        doc="LAPACK's info per matrix for the _ex forms: 'cholesky' (first non-PD minor) or 'lu' (first zero pivot).")
library("lu_pivots_to_perm", 1, _shape_pivots, _dtype_pivots, _np_pivots_to_perm, ("m",),
        doc="The row order (A[perm]) that LAPACK's 1-based pivots make.")
def _shape_ldl_factor(op, inputs, attrs):
    check_matrix("linalg.ldl_factor", inputs[0].shape)
    return tuple(inputs[0].shape[:-1]) + (inputs[0].shape[-1] + 2,)


def _shape_ldl_solve(op, inputs, attrs):
    ld, piv, b = inputs
    check_matrix("linalg.ldl_solve", ld.shape, what="LD")
    check_matrix("linalg.ldl_solve", b.shape, square=False, what="B")
    if tuple(piv.shape) != tuple(ld.shape[:-1]):
        raise ShapeError(f"linalg.ldl_solve: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                         f"shape {fmt_shape(piv.shape)} instead")
    if b.shape[-2] != ld.shape[-1]:
        raise ShapeError(f"linalg.ldl_solve: Incompatible shapes of A and B for the equation AX = B "
                         f"({ld.shape[-2]}x{ld.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    return broadcast_shapes(ld.shape[:-2], b.shape[:-2], op="linalg.ldl_solve") + tuple(b.shape[-2:])


def _dtype_ldl_solve(op, inputs, attrs):
    ld, piv, b = inputs
    if not piv.dtype.is_integer:
        raise DTypeError(f"linalg.ldl_solve: Expected pivots to be integers. Got {piv.dtype}")
    return _dtype_lapack(op, [ld, b], attrs)


library("linalg_ldl_factor", 1, _shape_ldl_factor, _dtype_lapack, _np_ldl_factor, ("hermitian",),
        doc="Bunch-Kaufman LDL^T (LDL^H): packed [LD | pivots | info in row 0] (LAPACK's sytrf layout).")
library("linalg_ldl_solve", 3, _shape_ldl_solve, _dtype_ldl_solve, _np_ldl_solve, ("hermitian",),
        doc="Solve A X = B from linalg_ldl_factor's LD and pivots (LAPACK's sytrs).")
library("geqrf", 1, _shape_geqrf, _dtype_lapack, _np_geqrf,
        doc="LAPACK's geqrf: Householder vectors below R's diagonal, tau in the last column (packed).")
