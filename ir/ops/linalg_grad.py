"""Gradient rules of the linear-algebra rows, written as IR (so they compose, fuse and
differentiate again), and the matrix vocabulary they are written in.

The formulas are PyTorch's backward formulas (``FunctionsManual.cpp``: ``cholesky_backward``,
``linalg_solve_triangular`` and ``linalg_solve`` backward, ``linalg_lu_backward``,
``linalg_qr_backward``, ``linalg_eig_backward``, ``svd_backward``, ``slogdet`` and
``linalg_matrix_exp`` backward), in PyTorch's convention for complex values (the gradient of a
real loss ``L`` is ``dL/dRe + i dL/dIm``): every row here says ``complex_rule=True``.

A row with several results returns them *packed* in one tensor (see
:mod:`ir.ops.linalg_lapack`); its rule receives the packed gradient and unpacks it with the same
layout. Parts the user never read arrive as zeros, which every formula below accepts (PyTorch
skips them as undefined; the value is the same).

Writing the rules needs matrices built from nothing: ``eye`` and triangle masks come from
``iota`` rows, ``diag_embed``/``diagonal`` from a mask, so a rule needs no row beyond the table.
"""

from __future__ import annotations

from .. import dtypes as dt
from .grad import V, iota, sum_to, where

# ----------------------------------------------------------------------------
# matrix vocabulary over rule values


def _offset_mask(like: V, m: int, n: int, test) -> V:
    """A bool (m, n) mask of ``test(j - i)``."""
    i = iota(like, (m, n), 0)
    j = iota(like, (m, n), 1)
    return test(j - i)


def tril(x: V, k: int = 0) -> V:
    m, n = x.shape[-2:]
    return where(_offset_mask(x, m, n, lambda d: d <= k), x, 0)


def triu(x: V, k: int = 0) -> V:
    m, n = x.shape[-2:]
    return where(_offset_mask(x, m, n, lambda d: d >= k), x, 0)


def eye(like: V, m: int, n: int | None = None, dtype=None) -> V:
    n = m if n is None else n
    return _offset_mask(like, m, n, lambda d: d.eq(0)).cast(dtype or like.dtype)


def diag_embed(v: V) -> V:
    """(..., n) -> (..., n, n) with ``v`` on the diagonal."""
    n = v.shape[-1]
    rows = v.reshape(v.shape[:-1] + (1, n))
    return where(_offset_mask(v, n, n, lambda d: d.eq(0)), rows, 0)


def diagonal(x: V) -> V:
    """The main diagonal of square matrices ``x[..., n, n]``."""
    n = x.shape[-1]
    return where(_offset_mask(x, n, n, lambda d: d.eq(0)), x, 0).sum((x.ndim - 1,), keepdim=False)


def block(x: V, r0: int, r1: int, c0: int, c1: int) -> V:
    """``x[..., r0:r1, c0:c1]``."""
    lead = x.ndim - 2
    return x.op("slice", starts=(0,) * lead + (r0, c0), stops=tuple(x.shape[:lead]) + (r1, c1), steps=(1,) * x.ndim)


def column(x: V, rows: int, c: int) -> V:
    """``x[..., :rows, c]``."""
    v = block(x, 0, rows, c, c + 1)
    return v.reshape(v.shape[:-1])


def row(x: V, r: int, cols: int) -> V:
    """``x[..., r, :cols]``."""
    v = block(x, r, r + 1, 0, cols)
    return v.reshape(v.shape[:-2] + (cols,))


def mm(a: V, b: V) -> V:
    return a.op("matmul", b)


def cat(parts, axis: int) -> V:
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    return parts[0].op("concat", *parts[1:], axis=axis % parts[0].ndim)


def trsolve(a: V, b: V, *, upper: bool, left: bool = True, unit: bool = False) -> V:
    return a.op("linalg_solve_triangular", b, upper=upper, left=left, unitriangular=unit)


def as_dtype(x: V, dtype) -> V:
    return x if x.dtype is dtype else x.cast(dtype)


def _spread(v: V, axis: int) -> V:
    """(..., n) -> (..., 1, n) (axis -2) or (..., n, 1) (axis -1), for broadcasting over a matrix."""
    shape = v.shape[:-1] + ((1, v.shape[-1]) if axis == -2 else (v.shape[-1], 1))
    return v.reshape(shape)


def _eig_gaps(vals: V) -> V:
    """``E[i, j] = vals[j] - vals[i]`` off the diagonal and 1 on it (the divisor of the
    eigenvector terms)."""
    n = vals.shape[-1]
    e = _spread(vals, -2) - _spread(vals, -1)
    return where(_offset_mask(vals, n, n, lambda d: d.eq(0)), 1, e)


def _unused(*cotangents: V) -> V:
    """True (per matrix of the batch) where every entry of the given cotangents is 0: the
    eigen-/singular vectors are not used, only the values."""
    total = None
    for c in cotangents:
        axes = (c.ndim - 2, c.ndim - 1)
        part = c.abs().sum(axes, keepdim=True)
        total = part if total is None else total + part.cast(total.dtype)
    return total.eq(0)


def _vector_terms(num: V, den: V, unused: V) -> V:
    """``num / den``, or 0 where the vectors' cotangent is 0. The vector terms divide by value
    gaps (and singular values) that are 0 for repeated (or zero) values -- the identity, a
    zero matrix; when only the values are used PyTorch leaves those terms out, where 0 / 0
    would make every entry of the gradient NaN. With the vectors used, a zero gap still gives
    inf or NaN, as in PyTorch."""
    return where(unused, 0, num / den)


# ----------------------------------------------------------------------------
# the rules


def cholesky_grad(n, g):
    """A = L L^H: gA = L^{-H} Phi L^{-1}, Phi = tril(L^H gL) with its strictly lower part
    mirrored and its diagonal halved (Murray 2016)."""
    L = n.out
    phi = tril(mm(L.mH, g))
    phi = (phi + tril(phi, -1).mH) * 0.5
    x = trsolve(L.mH, phi, upper=True)
    return [trsolve(L, x, upper=False, left=False)]


def solve_triangular_grad(n, g):
    upper, left, unit = n.attrs["upper"], n.attrs["left"], n.attrs["unitriangular"]
    A, X = n[0], n.out
    gB = trsolve(A.mH, g, upper=not upper, left=left, unit=unit)
    out = [None, sum_to(gB, n.in_shapes[1]) if n.needs(1) else None]
    if n.needs(0):
        gA = -(mm(gB, X.mH) if left else mm(X.mH, gB))
        gA = triu(gA, 1 if unit else 0) if upper else tril(gA, -1 if unit else 0)
        out[0] = sum_to(gA, n.in_shapes[0])
    return out


def solve_grad(n, g):
    A, X = n[0], n.out
    gB = A.mH.op("linalg_solve", g, check=False)
    return [sum_to(-mm(gB, X.mH), n.in_shapes[0]) if n.needs(0) else None,
            sum_to(gB, n.in_shapes[1]) if n.needs(1) else None]


def inv_grad(n, g):
    X = n.out
    return [-mm(mm(X.mH, g), X.mH)]


def _permute_rows(packed: V, x: V, m: int, n_cols: int) -> V:
    """``P @ x`` for the row order stored in the LU pack: ``(P x)[r] = x[invperm[r]]``."""
    inv = column(packed, m, n_cols + 2).real().cast(dt.int64)
    idx = inv.reshape(inv.shape + (1,)).expand(x.shape)
    return x.op("gather", idx, axis=x.ndim - 2)


def lu_factor_grad(n, g):
    """The gradient of A = P L U through the packed LU (PyTorch's ``linalg_lu_backward``)."""
    packed = n.out
    m, ncols = n.in_shapes[0][-2:]
    k = min(m, ncols)
    LU = block(packed, 0, m, 0, ncols)
    gLU = block(g, 0, m, 0, ncols)
    L = tril(block(LU, 0, m, 0, k), -1) + eye(LU, m, k)
    U = triu(block(LU, 0, k, 0, ncols))
    gL = tril(block(gLU, 0, m, 0, k), -1)
    gU = triu(block(gLU, 0, k, 0, ncols))
    if m == ncols:
        phi = tril(mm(L.mH, gL), -1) + triu(mm(gU, U.mH))
        x = trsolve(U.mH, phi, upper=False, left=False)
        gA = trsolve(L.mH, x, upper=True, unit=True)
    elif m < ncols:  # wide: U = [U1 | U2]
        U1 = block(U, 0, k, 0, k)
        phi = tril(mm(L.mH, gL) - mm(gU, U.mH), -1)
        x = trsolve(U1.mH, phi, upper=False, left=False)
        x = cat([x + block(gU, 0, k, 0, k), block(gU, 0, k, k, ncols)], -1)
        gA = trsolve(L.mH, x, upper=True, unit=True)
    else:  # tall: L = [L1; L2]
        L1 = block(L, 0, k, 0, k)
        phi = triu(mm(gU, U.mH) - mm(L.mH, gL))
        x = trsolve(L1.mH, phi, upper=True, unit=True)
        x = cat([x + block(gL, 0, k, 0, k), block(gL, k, m, 0, k)], -2)
        gA = trsolve(U.mH, x, upper=False, left=False)
    return [_permute_rows(packed, gA, m, ncols)]


def _qr_square_like(Q, R, gQ, gR):
    """m >= n: gA = (gQ + Q S) R^{-H}, S = T + T^H - Re(diag T), T = triu(gR R^H - Q^H gQ)."""
    T = triu(mm(gR, R.mH) - mm(Q.mH, gQ))
    S = T + T.mH - diag_embed(diagonal(T).real().cast(T.dtype))
    return trsolve(R.mH, gQ + mm(Q, S), upper=False, left=False)


def qr_grad(n, g):
    mode = n.attrs["mode"]
    m, ncols = n.in_shapes[0][-2:]
    if mode == "r":
        raise NotImplementedError(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
            "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    if mode == "complete" and m > ncols:
        raise NotImplementedError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    q = min(m, ncols) if mode == "reduced" else m
    packed = n.out
    Q, R = block(packed, 0, m, 0, q), block(packed, 0, q, q, q + ncols)
    gQ, gR = block(g, 0, m, 0, q), block(g, 0, q, q, q + ncols)
    if m >= ncols:
        return [_qr_square_like(Q, R, gQ, gR)]
    # wide: A = [X | Y] with X = Q R1 and Y = Q R2
    R1, R2 = block(R, 0, m, 0, m), block(R, 0, m, m, ncols)
    gR1, gR2 = block(gR, 0, m, 0, m), block(gR, 0, m, m, ncols)
    Y = block(n[0], 0, m, m, ncols)
    gX = _qr_square_like(Q, R1, gQ + mm(Y, gR2.mH), gR1)
    del R2
    return [cat([gX, mm(Q, gR2)], -1)]


def eigh_grad(n, g):
    """A = V diag(L) V^H: gA = V (diag(gL) + skew(V^H gV) / E) V^H."""
    size = n.in_shapes[0][-1]
    packed = n.out
    vals = row(packed, 0, size).real()
    vecs = block(packed, 1, size + 1, 0, size)
    gvals = row(g, 0, size).real()
    gvecs = block(g, 1, size + 1, 0, size)
    x = mm(vecs.mH, gvecs)
    x = (x - x.mH) * 0.5
    inner = _vector_terms(x, as_dtype(_eig_gaps(vals), x.dtype), _unused(gvecs))
    inner = where(_offset_mask(inner, size, size, lambda d: d.eq(0)), as_dtype(_spread(gvals, -2), inner.dtype), inner)
    return [mm(mm(vecs, inner), vecs.mH)]


def eig_grad(n, g):
    """A = V diag(L) V^{-1} (V's columns of norm 1):
    gA = V^{-H} (diag(gL) + (V^H gV - V^H V diag(Re diag(V^H gV))) / conj(E)) V^H."""
    size = n.in_shapes[0][-1]
    packed = n.out
    vals = row(packed, 0, size)
    vecs = block(packed, 1, size + 1, 0, size)
    gvals = row(g, 0, size)
    gvecs = block(g, 1, size + 1, 0, size)
    x = mm(vecs.mH, gvecs)
    re_diag = diagonal(x).real().cast(x.dtype)
    inner = _vector_terms(x - mm(vecs.mH, vecs * _spread(re_diag, -2)), _eig_gaps(vals).conj(), _unused(gvecs))
    inner = where(_offset_mask(inner, size, size, lambda d: d.eq(0)), _spread(gvals, -2), inner)
    gA = vecs.mH.op("linalg_solve", mm(inner, vecs.mH), check=False)
    return [gA if n.in_dtypes[0].is_complex else gA.real()]


def svd_grad(n, g):
    """A = U diag(S) V^H (PyTorch's ``svd_backward``; with full_matrices only the first k
    columns of U and V enter, as there)."""
    m, ncols = n.in_shapes[0][-2:]
    k = min(m, ncols)
    ku = m if n.attrs["full_matrices"] else k
    packed = n.out
    U, S, Vm = block(packed, 0, m, 0, k), column(packed, k, ku).real(), block(packed, 0, ncols, ku + 1, ku + 1 + k)
    gU, gS, gV = block(g, 0, m, 0, k), column(g, k, ku).real(), block(g, 0, ncols, ku + 1, ku + 1 + k)
    cd = U.dtype
    uhgu = mm(U.mH, gU)
    uhgu = uhgu - uhgu.mH
    vhgv = mm(Vm.mH, gV)
    vhgv = vhgv - vhgv.mH
    S2 = S * S
    E = where(_offset_mask(S, k, k, lambda d: d.eq(0)), 1, _spread(S2, -2) - _spread(S2, -1))
    Sc = as_dtype(S, cd)
    unused = _unused(gU, gV)
    inner = _vector_terms(uhgu * _spread(Sc, -2) + _spread(Sc, -1) * vhgv, as_dtype(E, cd), unused)
    inner = inner + diag_embed(as_dtype(gS, cd))
    if cd.is_complex:
        inner = inner + diag_embed(_vector_terms(diagonal(uhgu), Sc * 2, unused.reshape(unused.shape[:-1])))
    if m > ncols:
        gA = mm(U, inner)
        gus = _vector_terms(gU, _spread(Sc, -2), unused)
        gA = gA + gus - mm(U, mm(U.mH, gus))
        return [mm(gA, Vm.mH)]
    if m < ncols:
        gA = mm(inner, Vm.mH)
        svh = _vector_terms(gV.mH, _spread(Sc, -1), unused)
        gA = gA + svh - mm(mm(svh, Vm), Vm.mH)
        return [mm(U, gA)]
    return [mm(mm(U, inner), Vm.mH)]


def det_grad(n, g):
    """d det(A) = tr(adj(A) dA); with A = U diag(S) V^H, adj(A)^H = conj(det U) det V U diag(p) V^H
    where p_i is the product of the other singular values: defined for singular A too."""
    A = n[0]
    size = n.in_shapes[0][-1]
    packed = A.op("linalg_svd", full_matrices=False)
    U, S, Vm = block(packed, 0, size, 0, size), column(packed, size, size).real(), block(packed, 0, size, size + 1, 2 * size + 1)
    others = where(_offset_mask(S, size, size, lambda d: d.eq(0)), 1, _spread(S, -2).expand(S.shape[:-1] + (size, size)))
    p = others.op("prod", axes=(others.ndim - 1,), keepdim=False)
    phase = U.op("linalg_det").conj() * Vm.op("linalg_det")
    gA = mm(U * _spread(as_dtype(p, A.dtype), -2), Vm.mH)
    scale = g * phase
    return [gA * scale.reshape(scale.shape + (1, 1))]


def slogdet_grad(n, g):
    """gA = conj(c) A^{-H} with c = g_logabsdet + i Im(conj(g_sign) sign) (0 imaginary part for
    real matrices, whose sign is locally constant)."""
    A = n[0]
    packed = n.out
    lead = A.ndim - 2
    sign = packed.op("slice", starts=(0,) * lead + (0,), stops=tuple(packed.shape[:lead]) + (1,), steps=(1,) * (lead + 1))
    g_sign = g.op("slice", starts=(0,) * lead + (0,), stops=tuple(g.shape[:lead]) + (1,), steps=(1,) * (lead + 1))
    g_logabs = g.op("slice", starts=(0,) * lead + (1,), stops=tuple(g.shape[:lead]) + (2,), steps=(1,) * (lead + 1))
    c = g_logabs.real()
    if A.dtype.is_complex:
        c = c.cast(A.dtype) + (g_sign.conj() * sign).imag().cast(A.dtype) * 1j
    inv = A.op("linalg_inv", check=False)
    c = c.reshape(c.shape[:-1] + (1, 1))
    return [c.conj() * inv.mH]


def matrix_exp_grad(n, g):
    """gA = exp([[A^H, g], [0, A^H]])[:n, n:] (the Fréchet derivative's adjoint)."""
    A = n[0]
    size = A.shape[-1]
    ah = A.mH
    zero = A.zeros()
    big = cat([cat([ah, g], -1), cat([zero, ah], -1)], -2)
    return [block(big.op("linalg_matrix_exp"), 0, size, size, 2 * size)]
