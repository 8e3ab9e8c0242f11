"""Scans, products and elementwise composites of the operator surface (issue 14): ``cumprod``,
``cummax``/``cummin``, ``logcumsumexp``, ``einsum``, ``tensordot``, ``inner``, ``kron``, the
``add*`` BLAS forms, ``cross``, ``cdist``, ``dist``, ``block_diag``, ``cartesian_prod``,
``combinations``, ``deg2rad``, ``frac``, ``logit``, ``renorm``, ``fmax``/``fmin``, ``round(decimals)``,
``cosine_similarity``. References are numpy (float64) or plain loops."""

from __future__ import annotations

import itertools

import numpy as np

import graphc

from .core import BOOL, FLOAT, FLOATIFY, INT, INT64IFY, NC, OpSpec, S, i64, make


def _A(rng, dtype, low=-2.0, high=2.0, away=0.0):
    return lambda *s: make(rng, s, dtype, low, high, away)


# ----------------------------------------------------------------------------
# scans


def scan_samples(rng, dtype):
    A = _A(rng, dtype, -1.5, 1.5)
    return [
        S(A(3, 5), 1, desc="dim 1"),
        S(A(3, 5), 0, desc="dim 0"),
        S(A(2, 3, 4), -1, desc="dim -1"),
        S(A(), 0, desc="0d"),
        S(A(0, 3), 0, desc="size 0"),
        S(NC(A(3, 4), "T"), 1, desc="transposed"),
    ]


def cumprod_zero_samples(rng, dtype):
    x = make(rng, (2, 6), dtype, -1.5, 1.5, away=0.3)
    x[0, 2] = 0
    x[1, 1] = x[1, 4] = 0
    return scan_samples(rng, dtype) + [S(x, 1, desc="zeros")]


def ref_running(better):
    """values and the index of the latest element that set (or tied, or is NaN) the running extreme."""

    def ref(x, dim):
        if x.ndim == 0:
            return x.copy(), np.zeros((), np.int64)
        xm = np.moveaxis(x, dim, -1)
        vals, idx = np.empty_like(xm), np.zeros(xm.shape, np.int64)
        for pos in np.ndindex(*xm.shape[:-1]):
            best, at = None, 0
            for j, v in enumerate(xm[pos]):
                if best is None or (isinstance(best, float) and np.isnan(best)):
                    take = best is None or (np.isnan(v) if isinstance(v, float) else False)
                else:
                    take = (isinstance(v, float) and np.isnan(v)) or better(v, best) or v == best
                if take:
                    best, at = v, j
                vals[pos + (j,)], idx[pos + (j,)] = best, at
        return np.moveaxis(vals, -1, dim), np.moveaxis(idx, -1, dim)

    return ref


def cummax_samples(rng, dtype):
    out = scan_samples(rng, dtype)
    if dtype.is_floating_point:
        x = make(rng, (2, 6), dtype)
        x[0, 2] = x[1, 1] = x[1, 4] = np.nan
        out.append(S(x, 1, desc="NaNs", grad=False))
        out.append(S(np.asarray([[1.0, 3.0, 3.0, 2.0, 3.0]], dtype=x.dtype), 1, desc="ties take the later index",
                     grad=False))
    else:
        out.append(S(np.asarray([[1, 3, 3, 2, 3]], dtype=np.int64).astype(make(rng, (1,), dtype).dtype), 1, desc="ties"))
    return out


def ref_logcumsumexp(x, dim):
    if x.ndim == 0:
        return x.copy()
    return np.logaddexp.accumulate(x, axis=dim)


# ----------------------------------------------------------------------------
# products


def einsum_samples(rng, dtype):
    A = _A(rng, dtype)
    return [
        S("ij,jk->ik", A(3, 4), A(4, 2), desc="matmul"),
        S("ij,jk,kl->il", A(2, 5), A(5, 3), A(3, 2), desc="chain of three"),
        S("bij,bjk->bik", A(2, 3, 4), A(2, 4, 2), desc="batched"),
        S("ii->i", A(3, 3), desc="diagonal"),
        S("ii", A(3, 3), desc="trace (implicit output)"),
        S("i,j->ij", A(3), A(4), desc="outer"),
        S("ij->ji", A(2, 3), desc="transpose"),
        S("...ij,...jk", A(2, 3, 4), A(4, 5), desc="ellipsis broadcast"),
        S("ij,ij->", A(2, 3), A(2, 3), desc="full contraction"),
        S("bi,bi->b", A(4, 3), A(1, 3), desc="size-1 broadcast"),
        S("i,i", A(0), A(0), desc="size 0"),
        S("ij,jk->ik", NC(A(3, 4), "T"), A(4, 2), desc="transposed"),
        S(" ab , bc -> ca ", A(2, 3), A(3, 2), desc="spaces"),
    ]


def ref_einsum(eq, *ops):
    return np.einsum(eq, *ops)


def tensordot_samples(rng, dtype):
    A = _A(rng, dtype)
    return [
        S(A(2, 3, 4), A(3, 4, 5), desc="dims=2"),
        S(A(2, 3), A(3, 4), 1, desc="dims=1"),
        S(A(2, 3), A(4, 5), 0, desc="dims=0 (outer)"),
        S(A(2, 3, 4), A(4, 2, 3), ([1, 2], [2, 0]), desc="lists"),
        S(A(3, 4), A(4, 3), ([-1], [0]), desc="negative dims"),
    ]


def ref_tensordot(a, b, dims=2):
    return np.tensordot(a, b, dims)


def inner_samples(rng, dtype):
    A = _A(rng, dtype)
    return [
        S(A(3), A(3), desc="vectors"),
        S(A(2, 3), A(4, 3), desc="matrices"),
        S(A(2, 3, 4), A(4), desc="3d and 1d"),
        S(A(), A(2, 3), desc="0-d first"),
        S(A(2, 3), A(), desc="0-d second"),
    ]


def kron_samples(rng, dtype):
    A = _A(rng, dtype)
    return [
        S(A(2, 3), A(3, 2), desc="matrices"),
        S(A(3), A(2, 2), desc="1d and 2d"),
        S(A(2, 1, 2), A(2, 3), desc="3d and 2d"),
        S(A(), A(3), desc="0d"),
    ]


def blas_samples(kind):
    def gen(rng, dtype):
        A = _A(rng, dtype)
        if kind == "addmv":
            return [S(A(3), A(3, 4), A(4), desc="plain"), S(A(1), A(3, 4), A(4), beta=0.5, alpha=2, desc="broadcast, beta, alpha"),
                    S(A(3), NC(A(3, 4), "T"), A(4), beta=0, desc="beta=0")]
        if kind == "addr":
            return [S(A(3, 4), A(3), A(4), desc="plain"), S(A(4), A(3), A(4), beta=2, alpha=-1, desc="broadcast input")]
        if kind == "baddbmm":
            return [S(A(2, 3, 5), A(2, 3, 4), A(2, 4, 5), desc="plain"), S(A(3, 5), A(2, 3, 4), A(2, 4, 5), alpha=0.5,
                                                                              desc="broadcast input")]
        return [S(A(3, 5), A(2, 3, 4), A(2, 4, 5), desc="plain"), S(A(5), A(4, 3, 2), A(4, 2, 5), beta=0.25, alpha=3,
                                                                     desc="broadcast, beta, alpha")]

    return gen


def _blas_ref(kind):
    def ref(inp, a, b, beta=1, alpha=1):
        if kind == "addmv":
            prod = a @ b
        elif kind == "addr":
            prod = np.outer(a, b)
        elif kind == "baddbmm":
            prod = a @ b
        else:
            prod = np.einsum("bij,bjk->ik", a, b)
        base = np.broadcast_to(inp, prod.shape) * beta if beta != 0 else np.zeros(prod.shape)
        return base + alpha * prod

    return ref


def cross_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(4, 3), A(4, 3), desc="last dim"), S(A(3, 5), A(3, 1), 0, desc="dim 0, broadcast"),
            S(A(2, 3, 4), A(2, 3, 4), desc="default: first dim of size 3")]


def ref_cross(a, b, dim=None):
    a, b = np.broadcast_arrays(a, b)
    if dim is None:
        dim = [i for i, s in enumerate(a.shape) if s == 3][0]
    return np.cross(a, b, axis=dim)


def cdist_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(4, 3), A(5, 3), desc="p=2"), S(A(2, 4, 3), A(2, 2, 3), 1.0, desc="batched p=1"),
            S(A(4, 3), A(5, 3), 3.0, desc="p=3"), S(A(4, 3), A(5, 3), float("inf"), desc="p=inf", grad=False),
            S(A(4, 3), A(5, 3), 0.0, desc="p=0", grad=False)]


def ref_cdist(a, b, p=2.0):
    d = a[..., :, None, :] - b[..., None, :, :]
    return np.linalg.norm(d, ord=p, axis=-1) if p != 0 else np.count_nonzero(d, axis=-1).astype(a.dtype)


def dist_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), A(3, 4), desc="p=2"), S(A(3, 4), A(4), 1, desc="broadcast p=1"), S(A(5), A(5), 3.5, desc="p=3.5")]


def ref_dist(a, b, p=2):
    return np.asarray(np.linalg.norm((a - b).reshape(-1), ord=p))


def block_diag_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2, 3), A(1, 1), A(2, 2), desc="matrices"), S(A(2, 2), A(), A(3), desc="0d and 1d")]


def ref_block_diag(*ms):
    ms = [m.reshape(1, 1) if m.ndim == 0 else m.reshape(1, -1) if m.ndim == 1 else m for m in ms]
    out = np.zeros((sum(m.shape[0] for m in ms), sum(m.shape[1] for m in ms)), ms[0].dtype)
    r = c = 0
    for m in ms:
        out[r : r + m.shape[0], c : c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out


def cartesian_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(2), A(3), desc="two"), S(A(2), A(1), A(2), desc="three"), S(A(3), desc="one")]


def ref_cartesian(*ts):
    if len(ts) == 1:
        return ts[0]
    return np.asarray(list(itertools.product(*ts)))


def combinations_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(4), desc="r=2"), S(A(4), 3, desc="r=3"), S(A(3), 2, True, desc="with replacement"),
            S(A(2), 3, desc="r > n: empty")]


def ref_combinations(x, r=2, with_replacement=False):
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(list(x), r))
    return np.asarray(rows, dtype=x.dtype).reshape(len(rows), r)


# ----------------------------------------------------------------------------
# elementwise composites


def unary_samples(low, high, away=0.0):
    def gen(rng, dtype):
        A = _A(rng, dtype, low, high, away)
        return [S(A(3, 4), desc="2d"), S(A(), desc="0d"), S(A(0, 2), desc="size 0"), S(NC(A(3, 4), "T"), desc="transposed")]

    return gen


def logit_samples(rng, dtype):
    A = _A(rng, dtype, 0.05, 0.95)
    return [S(A(3, 4), desc="plain"), S(A(3, 4), 0.2, desc="eps clamps"), S(A(), desc="0d")]


def ref_logit(x, eps=None):
    p = np.clip(x, eps, 1 - eps) if eps is not None else x
    return np.log(p / (1 - p))


def inf_samples(rng, dtype):
    x = make(rng, (3, 4), dtype)
    if dtype.is_floating_point:
        x[0, 1], x[2, 2], x[1, 0] = np.inf, -np.inf, np.nan
    return [S(x, desc="with infs")]


def renorm_samples(rng, dtype):
    A = _A(rng, dtype)
    return [S(A(3, 4), 2, 0, 1.5, desc="p=2 dim 0"), S(A(2, 3, 2), 1, 1, 2.0, desc="p=1 dim 1"),
            S(A(3, 4), 3.0, -1, 0.5, desc="p=3 dim -1")]


def ref_renorm(x, p, dim, maxnorm):
    axes = tuple(i for i in range(x.ndim) if i != dim % x.ndim)
    norm = np.sum(np.abs(x) ** p, axis=axes, keepdims=True) ** (1.0 / p)
    return x * np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def fmax_samples(rng, dtype):
    A = _A(rng, dtype)
    a, b = A(3, 4), A(3, 4)
    if dtype.is_floating_point:
        a[0, 0], b[0, 1], a[1, 1], b[1, 1] = np.nan, np.nan, np.nan, np.nan
    return [S(A(3, 4), A(3, 4), desc="plain"), S(A(3, 4), A(4), desc="broadcast"),
            S(a, b, desc="NaNs are ignored", grad=False)]


def round_samples(rng, dtype):
    A = _A(rng, dtype, -50, 50)
    return [S(A(3, 4), decimals=2, desc="decimals=2", grad=False), S(A(3, 4), decimals=-1, desc="decimals=-1",
                                                                     grad=False),
            S(A(3, 4), desc="decimals=0", grad=False)]


def ref_round(x, decimals=0):
    if decimals == 0:
        return np.round(x)
    s = 10.0 ** abs(decimals)
    return np.round(x * s) / s if decimals > 0 else np.round(x / s) * s


def cosine_samples(rng, dtype):
    A = _A(rng, dtype)
    z = np.zeros((2, 3), dtype=A(1).dtype)
    return [S(A(3, 4), A(3, 4), desc="dim 1"), S(A(2, 3), A(1, 3), 0, desc="broadcast along dim"),
            S(A(4, 1, 3), A(5, 3), -1, desc="broadcast batch"), S(z, A(2, 3), desc="zero vector (eps)", grad=False)]


def ref_cosine(a, b, dim=1, eps=1e-8):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt(np.sum(a * a, axis=dim, keepdims=True)), eps)
    nb = np.maximum(np.sqrt(np.sum(b * b, axis=dim, keepdims=True)), eps)
    return np.sum((a / na) * (b / nb), axis=dim)


OPS: list[OpSpec] = [
    OpSpec("cumprod", graphc.cumprod, lambda x, d: np.cumprod(x, axis=d) if x.ndim else x.copy(), cumprod_zero_samples,
           dtypes=FLOAT + INT, out_dtype=INT64IFY, method="cumprod", inplace="cumprod_"),
    OpSpec("logcumsumexp", graphc.logcumsumexp, ref_logcumsumexp, scan_samples, method="logcumsumexp"),
    OpSpec("cummax", graphc.cummax, ref_running(lambda v, b: v > b), cummax_samples, dtypes=FLOAT + INT,
           out_dtype=lambda d: (d, i64), method="cummax"),
    OpSpec("cummin", graphc.cummin, ref_running(lambda v, b: v < b), cummax_samples, dtypes=FLOAT + INT,
           out_dtype=lambda d: (d, i64), method="cummin"),
    OpSpec("einsum", graphc.einsum, ref_einsum, einsum_samples),
    OpSpec("tensordot", graphc.tensordot, ref_tensordot, tensordot_samples, dtypes=FLOAT + (i64,)),
    OpSpec("inner", graphc.inner, np.inner, inner_samples, dtypes=FLOAT + (i64,), method="inner"),
    OpSpec("kron", graphc.kron, np.kron, kron_samples, dtypes=FLOAT + (i64,), method="kron"),
    OpSpec("addmv", graphc.addmv, _blas_ref("addmv"), blas_samples("addmv"), method="addmv", inplace="addmv_"),
    OpSpec("addr", graphc.addr, _blas_ref("addr"), blas_samples("addr"), method="addr", inplace="addr_"),
    OpSpec("baddbmm", graphc.baddbmm, _blas_ref("baddbmm"), blas_samples("baddbmm"), method="baddbmm",
           inplace="baddbmm_"),
    OpSpec("addbmm", graphc.addbmm, _blas_ref("addbmm"), blas_samples("addbmm"), method="addbmm", inplace="addbmm_"),
    OpSpec("cross", graphc.cross, ref_cross, cross_samples, dtypes=FLOAT + (i64,), method="cross"),
    OpSpec("cdist", graphc.cdist, ref_cdist, cdist_samples),
    OpSpec("dist", graphc.dist, ref_dist, dist_samples, method="dist"),
    OpSpec("block_diag", graphc.block_diag, ref_block_diag, block_diag_samples, dtypes=FLOAT + (i64,)),
    OpSpec("cartesian_prod", graphc.cartesian_prod, ref_cartesian, cartesian_samples, dtypes=FLOAT + (i64,)),
    OpSpec("combinations", graphc.combinations, ref_combinations, combinations_samples, dtypes=FLOAT + (i64,)),
    OpSpec("deg2rad", graphc.deg2rad, np.deg2rad, unary_samples(-400, 400), dtypes=FLOAT + INT, out_dtype=FLOATIFY,
           method="deg2rad", inplace="deg2rad_"),
    OpSpec("rad2deg", graphc.rad2deg, np.rad2deg, unary_samples(-7, 7), dtypes=FLOAT + INT, out_dtype=FLOATIFY,
           method="rad2deg", inplace="rad2deg_"),
    OpSpec("frac", graphc.frac, lambda x: x - np.trunc(x), unary_samples(-5, 5, away=0.1), method="frac",
           inplace="frac_"),
    OpSpec("logit", graphc.logit, ref_logit, logit_samples, method="logit", inplace="logit_"),
    OpSpec("isposinf", graphc.isposinf, np.isposinf, inf_samples, dtypes=FLOAT + INT, out_dtype=BOOL,
           differentiable=False, method="isposinf"),
    OpSpec("isneginf", graphc.isneginf, np.isneginf, inf_samples, dtypes=FLOAT + INT, out_dtype=BOOL,
           differentiable=False, method="isneginf"),
    OpSpec("positive", graphc.positive, lambda x: x, unary_samples(-2, 2), dtypes=FLOAT + INT, method="positive"),
    OpSpec("renorm", graphc.renorm, ref_renorm, renorm_samples, method="renorm", inplace="renorm_"),
    OpSpec("fmax", graphc.fmax, np.fmax, fmax_samples, dtypes=FLOAT + INT, method="fmax", inplace="fmax_"),
    OpSpec("fmin", graphc.fmin, np.fmin, fmax_samples, dtypes=FLOAT + INT, method="fmin", inplace="fmin_"),
    OpSpec("round_decimals", graphc.round, ref_round, round_samples, method="round", inplace="round_",
           tol={graphc.float32: (1e-5, 1e-4)}),
    OpSpec("cosine_similarity", graphc.cosine_similarity, ref_cosine, cosine_samples),
]


