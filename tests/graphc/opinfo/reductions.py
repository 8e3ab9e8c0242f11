"""Reductions, exp-sums (``logsumexp``, ``softmax``) and ``cumsum``."""

from __future__ import annotations

import math

import numpy as np

import graphc

from .core import _NP, BOOL, FLOAT, FLOAT16, I64, INT, INT64IFY, NC, OpSpec, S, b8, f16, f32, i64, make


def _red_samples(rng, dtype, low=-2.0, high=2.0, tuple_dims=True, keepdim=True):
    def A(*shape):
        return make(rng, shape, dtype, low, high)

    out = [
        S(A(2, 3, 2), desc="all dims"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=-1, desc="dim=-1"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(A(1, 3), dim=0, desc="size-1 dim"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]
    if tuple_dims:
        out.append(S(A(2, 3, 2), dim=(0, 2), desc="dim=(0, 2)"))
        out.append(S(A(2, 3, 2), dim=(-1, 0), desc="dim=(-1, 0)"))
    if keepdim:
        out.append(S(A(2, 3, 2), dim=1, keepdim=True, desc="keepdim"))
        if tuple_dims:
            out.append(S(A(2, 3, 2), dim=(0, 1), keepdim=True, desc="tuple keepdim"))
    return out


def reduce_samples(low=-2.0, high=2.0, tuple_dims=True, empty=True):
    def gen(rng, dtype):
        out = _red_samples(rng, dtype, low, high, tuple_dims)
        if empty:
            out.append(S(make(rng, (0, 3), dtype), dim=0, desc="reduce size-0 dim"))
            out.append(S(make(rng, (0, 3), dtype), desc="all of size 0"))
        return out

    return gen


def _axis(x, dim):
    """numpy's axis for PyTorch's ``dim`` (a 0-d tensor reduces over dim 0 or -1 as if 1-d)."""
    if dim is None or x.ndim == 0:
        return None
    return dim


def red_ref(fn):
    def ref(x, dim=None, keepdim=False, **kw):
        out = fn(x, axis=_axis(x, dim), keepdims=keepdim if x.ndim else False, **kw)
        return np.asarray(out)

    return ref


def ref_log_softmax(x, dim):
    if x.ndim == 0:
        return np.zeros_like(x)
    if x.shape[dim] == 0:
        return x.copy()
    m = np.max(x, axis=dim, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))


def ref_softmax(x, dim):
    return np.exp(ref_log_softmax(x, dim))


def ref_logsumexp(x, dim, keepdim=False):
    axis = _axis(x, dim)
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdim and x.ndim:
        r = np.squeeze(r, axis=axis)
    return r.reshape(()) if x.ndim == 0 else r


def ref_norm(x, p=2, dim=None, keepdim=False):
    axis = _axis(x, dim)
    a = np.abs(x)
    if p == math.inf:
        return np.max(a, axis=axis, keepdims=keepdim)
    return np.sum(a**p, axis=axis, keepdims=keepdim) ** (1.0 / p)


def ref_maxmin(np_fn, np_arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return np_fn(x)
        if x.ndim == 0:
            return x.copy(), np.zeros((), np.int64)
        return np_fn(x, axis=dim, keepdims=keepdim), np_arg(x, axis=dim, keepdims=keepdim)

    return ref


def ref_arg(np_arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            r = np_arg(x.reshape(-1))
            return np.asarray(r).reshape((1,) * x.ndim if keepdim else ())
        if x.ndim == 0:
            return np.zeros((), np.int64)
        return np_arg(x, axis=dim, keepdims=keepdim)

    return ref


def prod_samples(rng, dtype):
    def A(*s):
        if not dtype.is_floating_point:
            return make(rng, s, dtype, -2, 2)
        return np.asarray(make(rng, s, dtype, 0.5, 1.5) * make(rng, s, dtype, -1, 1, away=1))

    with_zero = A(2, 3)
    with_zero[0, 1] = 0
    two_zeros = A(2, 3)
    two_zeros[1, 0] = two_zeros[1, 2] = 0
    return [
        S(A(2, 3), desc="all"),
        S(A(2, 3), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=-1, keepdim=True, desc="dim=-1 keepdim"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(with_zero, dim=1, desc="one zero in a row"),
        S(two_zeros, dim=1, desc="two zeros in a row"),
        S(with_zero, desc="zero, all dims"),
        S(make(rng, (0, 3), dtype), dim=0, desc="size0 dim -> ones"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def maxmin_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, -5, 5)

    ties = np.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]).astype(_NP[dtype])
    vi = (dtype, i64)  # (values, indices)
    return [
        S(A(2, 3), desc="all"),
        S(A(2, 3), dim=1, desc="dim=1", dtype=vi),
        S(A(2, 3, 2), dim=-2, desc="dim=-2", dtype=vi),
        S(A(2, 3), dim=0, keepdim=True, desc="dim=0 keepdim", dtype=vi),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0", dtype=vi),
        S(A(1, 3), dim=0, desc="size-1 dim", dtype=vi),
        S(NC(A(3, 4), "T"), dim=1, desc="transposed", dtype=vi),
        S(ties, desc="ties, all dims", grad=dtype.is_floating_point),
    ]


def amax_samples(rng, dtype):
    ties = np.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]).astype(_NP[dtype])
    out = _red_samples(rng, dtype, -5, 5)
    out.append(S(ties, dim=1, desc="ties split the gradient"))
    out.append(S(ties, desc="ties, all dims"))
    return out


def arg_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, -5, 5)

    return [
        S(A(2, 3), desc="flattened"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3), dim=-1, keepdim=True, desc="dim=-1 keepdim"),
        S(A(2, 3), keepdim=True, desc="flattened keepdim"),
        S(A(), desc="0d"),
        S(A(), dim=0, desc="0d dim=0"),
        S(np.asarray([[1, 4, 4], [0, 0, -2]]).astype(_NP[dtype]), dim=1, desc="ties: first index"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def var_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3, 2), desc="all"),
        S(A(2, 3, 2), dim=1, desc="dim=1"),
        S(A(2, 3, 2), dim=(0, -1), desc="dim=(0, -1)"),
        S(A(2, 3, 2), dim=-1, keepdim=True, desc="keepdim"),
        S(A(2, 3), dim=1, unbiased=False, desc="unbiased=False"),
        S(A(2, 3), dim=0, correction=0, desc="correction=0"),
        S(A(4), correction=2, desc="correction=2"),
        S(A(1, 3), dim=0, desc="one element: nan", grad=False),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def ref_var(x, dim=None, keepdim=False, unbiased=True, correction=None):
    ddof = correction if correction is not None else (1 if unbiased else 0)
    return np.var(x, axis=_axis(x, dim), keepdims=keepdim, ddof=ddof)


def ref_std(x, **kw):
    return np.sqrt(ref_var(x, **kw))


def norm_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype, away=0.2)

    return [
        S(A(2, 3), desc="2-norm of all"),
        S(A(2, 3), p=1, desc="p=1"),
        S(A(2, 3), p=math.inf, desc="p=inf"),
        S(A(2, 3), p=3, desc="p=3"),
        S(A(2, 3), dim=1, desc="dim=1"),
        S(A(2, 3, 2), p=2, dim=(0, 2), keepdim=True, desc="dim tuple keepdim"),
        S(A(3), dim=-1, desc="vector"),
        S(NC(A(3, 4), "T"), dim=0, desc="transposed"),
    ]


def logsumexp_samples(rng, dtype):
    def A(*s, lo=-2, hi=2):
        return make(rng, s, dtype, lo, hi)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3, 2), (0, 2), desc="dim tuple"),
        S(A(2, 3), -1, keepdim=True, desc="keepdim"),
        S(A(2, 3, lo=500, hi=510), 1, desc="large values (stable)"),
        S(A(), 0, desc="0d"),
        S(A(2, 0), 1, desc="over a size-0 dim: -inf"),
        S(A(0, 3), 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, desc="transposed"),
    ]


def softmax_samples(rng, dtype):
    def A(*s, lo=-2, hi=2):
        return make(rng, s, dtype, lo, hi)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3), 0, desc="dim=0"),
        S(A(2, 3, 2), -2, desc="dim=-2"),
        S(A(2, 3, lo=500, hi=510), -1, desc="large values (stable)"),
        S(A(2, 3, lo=-510, hi=-500), -1, desc="very negative values (stable)"),
        S(A(1, 3), 0, desc="size-1 dim"),
        S(A(0, 3), 1, desc="size0"),
        S(A(2, 0), 1, desc="over a size-0 dim"),
        S(A(), 0, desc="0d"),
        S(np.zeros((), _NP[dtype]), 0, desc="0d zero (1, not 0/0)"),
        S(NC(A(3, 4), "T"), 1, desc="transposed"),
    ]


def cumsum_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 1, desc="dim=1"),
        S(A(2, 3, 2), 0, desc="dim=0"),
        S(A(2, 3), -1, desc="dim=-1"),
        S(A(), 0, desc="0d"),
        S(A(0, 3), 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, desc="transposed"),
    ]


def nansum_samples(rng, dtype):
    out = reduce_samples()(rng, dtype)
    if dtype in FLOAT16:
        x = make(rng, (3, 4), dtype)
        x[0, 1] = x[2, 3] = np.nan
        out += [S(x, desc="NaNs, all dims"), S(x, dim=1, desc="NaNs, dim=1"), S(x, dim=0, keepdim=True, desc="NaNs keepdim")]
    return out


OPS: list[OpSpec] = [
    # -- reductions -------------------------------------------------------
    OpSpec(
        "sum",
        graphc.sum,
        red_ref(np.sum),
        reduce_samples(),
        dtypes=FLOAT16 + INT + (b8,),
        out_dtype=INT64IFY,
        method="sum",
        tol={f16: (4e-3, 4e-3)},
    ),
    OpSpec(
        "nansum",
        graphc.nansum,
        red_ref(np.nansum),
        nansum_samples,
        dtypes=FLOAT16 + INT,
        out_dtype=INT64IFY,
        method="nansum",
        tol={f16: (4e-3, 4e-3)},
    ),
    OpSpec(
        "mean", graphc.mean, red_ref(np.mean), reduce_samples(), dtypes=FLOAT16, method="mean", tol={f16: (4e-3, 4e-3)}
    ),
    OpSpec("prod", graphc.prod, red_ref(np.prod), prod_samples, dtypes=FLOAT + INT, out_dtype=INT64IFY, method="prod"),
    OpSpec("max", graphc.max, ref_maxmin(np.max, np.argmax), maxmin_samples, dtypes=FLOAT16 + INT, method="max"),
    OpSpec("min", graphc.min, ref_maxmin(np.min, np.argmin), maxmin_samples, dtypes=FLOAT16 + INT, method="min"),
    OpSpec("amax", graphc.amax, red_ref(np.max), amax_samples, dtypes=FLOAT + INT, method="amax"),
    OpSpec("amin", graphc.amin, red_ref(np.min), amax_samples, dtypes=FLOAT + INT, method="amin"),
    OpSpec(
        "argmax",
        graphc.argmax,
        ref_arg(np.argmax),
        arg_samples,
        dtypes=FLOAT + INT,
        differentiable=False,
        out_dtype=I64,
        method="argmax",
    ),
    OpSpec(
        "argmin",
        graphc.argmin,
        ref_arg(np.argmin),
        arg_samples,
        dtypes=FLOAT + INT,
        differentiable=False,
        out_dtype=I64,
        method="argmin",
    ),
    OpSpec("var", graphc.var, ref_var, var_samples, dtypes=FLOAT, method="var"),
    OpSpec("std", graphc.std, ref_std, var_samples, dtypes=FLOAT, method="std"),
    OpSpec(
        "all",
        graphc.all,
        red_ref(np.all),
        reduce_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="all",
    ),
    OpSpec(
        "any",
        graphc.any,
        red_ref(np.any),
        reduce_samples(-1, 1),
        dtypes=(b8, f32, i64),
        differentiable=False,
        out_dtype=BOOL,
        method="any",
    ),
    OpSpec("norm", graphc.norm, ref_norm, norm_samples, dtypes=FLOAT, method="norm"),
    OpSpec("logsumexp", graphc.logsumexp, ref_logsumexp, logsumexp_samples, dtypes=FLOAT, method="logsumexp"),
    OpSpec(
        "softmax",
        graphc.softmax,
        ref_softmax,
        softmax_samples,
        dtypes=FLOAT16,
        method="softmax",
        tol={f16: (4e-3, 4e-3)},
    ),
    OpSpec("log_softmax", graphc.log_softmax, ref_log_softmax, softmax_samples, dtypes=FLOAT, method="log_softmax"),
    OpSpec(
        "cumsum",
        graphc.cumsum,
        lambda x, d: np.cumsum(x, axis=d if x.ndim else None).reshape(x.shape),
        cumsum_samples,
        dtypes=FLOAT + INT,
        out_dtype=INT64IFY,
        method="cumsum",
    ),
]
