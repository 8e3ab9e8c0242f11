"""Matrix products, views and movement (``view`` ... ``roll``), ``tril``/``triu``."""

from __future__ import annotations

import numpy as np

import graphc

from .core import FLOAT, NC, OpSpec, S, b8, i64, make


def ref_tri(lower):
    def ref(x, diagonal=0):
        rows, cols = x.shape[-2:]
        i, j = np.arange(rows)[:, None], np.arange(cols)[None, :]
        keep = (j - i <= diagonal) if lower else (j - i >= diagonal)
        return np.where(keep, x, 0).astype(x.dtype)

    return ref


def matmul_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3), A(3), desc="1d @ 1d"),
        S(A(2, 3), A(3), desc="2d @ 1d"),
        S(A(3), A(3, 2), desc="1d @ 2d"),
        S(A(2, 3), A(3, 2), desc="2d @ 2d"),
        S(A(2, 2, 3), A(2, 3, 2), desc="batched"),
        S(A(2, 1, 2, 3), A(3, 3, 2), desc="broadcast batch dims"),
        S(A(2, 2, 3), A(3, 2), desc="3d @ 2d"),
        S(A(3), A(2, 3, 2), desc="1d @ 3d"),
        S(A(2, 2, 3), A(3), desc="3d @ 1d"),
        S(A(0, 3), A(3, 2), desc="size0 rows"),
        S(A(2, 0), A(0, 3), desc="size0 inner -> zeros"),
        S(A(1, 1), A(1, 1), desc="1x1"),
        S(NC(A(2, 3), "T"), NC(A(3, 2), "T"), desc="transposed operands"),
        S(NC(A(2, 3), "step"), A(3, 2), desc="strided lhs"),
    ]


def two_d(rng, dtype, pairs):
    return [S(*(make(rng, s, dtype) for s in shapes), desc=d) for *shapes, d in pairs]


def mm_samples(rng, dtype):
    out = two_d(rng, dtype, [((2, 3), (3, 4), "2x3 @ 3x4"), ((1, 1), (1, 2), "size1"), ((0, 2), (2, 3), "size0")])
    out.append(S(NC(make(rng, (2, 3), dtype), "T"), make(rng, (3, 2), dtype), desc="transposed"))
    return out


def bmm_samples(rng, dtype):
    out = two_d(
        rng,
        dtype,
        [((2, 2, 3), (2, 3, 2), "batched"), ((1, 1, 2), (1, 2, 1), "size1"), ((0, 2, 3), (0, 3, 1), "empty batch")],
    )
    out.append(S(NC(make(rng, (2, 2, 3), dtype), "T"), make(rng, (2, 3, 2), dtype), desc="transposed"))
    return out


def mv_samples(rng, dtype):
    out = two_d(rng, dtype, [((2, 3), (3,), "2x3 @ 3"), ((0, 2), (2,), "size0 rows"), ((2, 0), (0,), "size0 inner")])
    out.append(S(NC(make(rng, (2, 3), dtype), "T"), NC(make(rng, (3,), dtype), "step"), desc="non-contiguous"))
    return out


def dot_samples(rng, dtype):
    out = two_d(rng, dtype, [((3,), (3,), "3"), ((1,), (1,), "size1"), ((0,), (0,), "size0 -> 0")])
    out.append(S(NC(make(rng, (4,), dtype), "step"), make(rng, (4,), dtype), desc="strided"))
    return out


def view_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), (-1,), desc="-1"),
        S(A(2, 3), (3, -1), desc="(3, -1)"),
        S(A(2, 3, 2), (2, 6), desc="merge"),
        S(A(6), (1, 2, 3), desc="split with size-1"),
        S(A(), (1,), desc="0d -> 1"),
        S(A(1, 1), (), desc="1x1 -> 0d"),
        S(A(0, 3), (-1, 3), desc="size0"),
        S(NC(A(3, 4), "step"), (3, 2, 2), desc="strided: split last dim"),
    ]


def reshape_samples(rng, dtype):
    out = view_samples(rng, dtype)
    out.append(S(NC(make(rng, (3, 4), dtype), "T"), (-1,), desc="transposed -> flat (copies)"))
    out.append(S(NC(make(rng, (2, 3), dtype), "step"), (3, 2), desc="strided (copies)"))
    return out


def squeeze_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 1, 3, 1), desc="all"),
        S(A(2, 1, 3), 1, desc="dim=1"),
        S(A(2, 1, 3), -2, desc="dim=-2"),
        S(A(2, 1, 3), 0, desc="non-size-1 dim: no-op"),
        S(A(1, 2, 1), (0, 2), desc="dim tuple"),
        S(A(), desc="0d"),
        S(A(1), desc="(1,) -> 0d"),
        S(A(0, 1), desc="size0"),
    ]


def unsqueeze_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 0, desc="dim=0"),
        S(A(2, 3), -1, desc="dim=-1"),
        S(A(2, 3), 1, desc="middle"),
        S(A(), 0, desc="0d"),
        S(A(0, 3), 2, desc="size0"),
        S(NC(A(3, 4), "T"), 1, desc="transposed"),
    ]


def permute_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3, 4), (2, 0, 1), desc="(2, 0, 1)"),
        S(A(2, 3, 4), (-1, 0, -2), desc="negative dims"),
        S(A(2, 3), (1, 0), desc="2d"),
        S(A(), (), desc="0d"),
        S(A(0, 2, 1), (1, 2, 0), desc="size0"),
        S(NC(A(3, 4), "T"), (1, 0), desc="transposed"),
    ]


def transpose_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), 0, 1, desc="2d"),
        S(A(2, 3, 4), -1, -3, desc="negative dims"),
        S(A(2, 3, 4), 1, 1, desc="same dim"),
        S(A(0, 3), 0, 1, desc="size0"),
        S(NC(A(3, 4), "T"), 0, 1, desc="transposed back"),
    ]


def t_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), desc="2d"),
        S(A(3), desc="1d"),
        S(A(), desc="0d"),
        S(A(0, 2), desc="size0"),
        S(NC(A(3, 4), "step"), desc="strided"),
    ]


def expand_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 1), (3, 4), desc="(3,1)->(3,4)"),
        S(A(3, 1), (-1, 4), desc="-1 keeps"),
        S(A(3, 1), (2, 3, 4), desc="new leading dim"),
        S(A(), (2, 3), desc="0d"),
        S(A(1), (0,), desc="to size 0"),
        S(A(2, 3), (2, 3), desc="same"),
        S(NC(A(1, 3), "step"), (2, 3), desc="strided"),
    ]


def narrow_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(4, 3), 0, 1, 2, desc="dim 0"),
        S(A(4, 3), -1, 0, 2, desc="dim -1"),
        S(A(4, 3), 1, -2, 2, desc="negative start"),
        S(A(4, 3), 0, 4, 0, desc="empty"),
        S(NC(A(3, 4), "T"), 0, 1, 2, desc="transposed"),
    ]


def flip_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(2, 3), (0,), desc="dim 0"),
        S(A(2, 3), (0, 1), desc="both"),
        S(A(2, 3, 2), (-1,), desc="-1"),
        S(A(0, 3), (1,), desc="size0"),
        S(NC(A(3, 4), "T"), (1,), desc="transposed"),
    ]


def roll_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 4), 1, 0, desc="shift 1 dim 0"),
        S(A(3, 4), (1, -1), (0, 1), desc="two dims"),
        S(A(3, 4), 2, desc="flattened"),
        S(A(3, 4), 5, 1, desc="shift > size"),
        S(A(3, 4), -3, -1, desc="negative shift"),
        S(A(0, 2), 1, 0, desc="size0"),
        S(NC(A(3, 4), "T"), 1, 1, desc="transposed"),
    ]


def tri_samples(rng, dtype):
    def A(*s):
        return make(rng, s, dtype)

    return [
        S(A(3, 3), desc="square"),
        S(A(3, 4), 1, desc="diagonal=1"),
        S(A(4, 3), -1, desc="diagonal=-1"),
        S(A(2, 3, 3), 0, desc="batched"),
        S(A(3, 3), 5, desc="diagonal past the edge"),
        S(A(0, 3), desc="size0"),
        S(NC(A(3, 4), "T"), -2, desc="transposed"),
    ]


OPS: list[OpSpec] = [
    # -- linear algebra ---------------------------------------------------
    OpSpec("matmul", graphc.matmul, np.matmul, matmul_samples, dtypes=FLOAT + (i64,), method="matmul"),
    OpSpec("operator_matmul", lambda a, b: a @ b, np.matmul, matmul_samples, dtypes=FLOAT),
    OpSpec("mm", graphc.mm, np.matmul, mm_samples, dtypes=FLOAT, method="mm"),
    OpSpec("bmm", graphc.bmm, np.matmul, bmm_samples, dtypes=FLOAT, method="bmm"),
    OpSpec("mv", graphc.mv, np.matmul, mv_samples, dtypes=FLOAT, method="mv"),
    OpSpec("dot", graphc.dot, np.dot, dot_samples, dtypes=FLOAT + (i64,), method="dot"),
    # -- views and movement -----------------------------------------------
    OpSpec("view", lambda x, s: x.view(*s), lambda x, s: x.reshape(s), view_samples, dtypes=FLOAT + (i64, b8)),
    OpSpec(
        "reshape", graphc.reshape, lambda x, s: x.reshape(s), reshape_samples, dtypes=FLOAT + (i64,), method="reshape"
    ),
    OpSpec(
        "flatten",
        graphc.flatten,
        lambda x, start_dim=0, end_dim=-1: x.reshape(
            x.shape[:start_dim] + (-1,) + x.shape[(end_dim % x.ndim) + 1 :] if x.ndim else (1,)
        ),
        lambda rng, d: [
            S(make(rng, (2, 3, 2), d), desc="all"),
            S(make(rng, (2, 3, 2), d), start_dim=1, desc="start_dim=1"),
            S(make(rng, (2, 3, 2, 2), d), start_dim=1, end_dim=2, desc="middle"),
            S(make(rng, (), d), desc="0d -> (1,)"),
            S(NC(make(rng, (3, 4), d), "T"), desc="transposed (copies)"),
        ],
        dtypes=FLOAT + (i64,),
        method="flatten",
    ),
    OpSpec(
        "squeeze",
        graphc.squeeze,
        lambda x, dim=None: np.squeeze(
            x,
            axis=tuple(a for a in ((dim,) if isinstance(dim, int) else dim) if x.shape[a] == 1)
            if dim is not None
            else None,
        ),
        squeeze_samples,
        dtypes=FLOAT + (i64,),
        method="squeeze",
    ),
    OpSpec(
        "unsqueeze",
        graphc.unsqueeze,
        lambda x, d: np.expand_dims(x, d),
        unsqueeze_samples,
        dtypes=FLOAT + (i64,),
        method="unsqueeze",
    ),
    OpSpec(
        "permute",
        graphc.permute,
        lambda x, dims: np.transpose(x, dims),
        permute_samples,
        dtypes=FLOAT + (i64,),
        method="permute",
    ),
    OpSpec(
        "transpose",
        graphc.transpose,
        lambda x, a, b: np.swapaxes(x, a, b),
        transpose_samples,
        dtypes=FLOAT + (i64,),
        method="transpose",
    ),
    OpSpec("t", graphc.t, lambda x: x.T, t_samples, dtypes=FLOAT + (i64,), method="t"),
    OpSpec(
        "T",
        lambda x: x.T,
        lambda x: x.T,
        lambda rng, d: t_samples(rng, d) + [S(make(rng, (2, 3, 4), d), desc="3d")],
        dtypes=FLOAT,
    ),
    OpSpec(
        "mT",
        lambda x: x.mT,
        lambda x: np.swapaxes(x, -1, -2),
        lambda rng, d: [S(make(rng, (2, 3, 4), d)), S(NC(make(rng, (3, 2), d), "T"))],
        dtypes=FLOAT,
    ),
    OpSpec(
        "expand",
        lambda x, s: x.expand(*s),
        lambda x, s: np.broadcast_to(
            x, tuple(x.shape[i - (len(s) - x.ndim)] if v == -1 else v for i, v in enumerate(s))
        ),
        expand_samples,
        dtypes=FLOAT + (i64,),
    ),
    OpSpec(
        "contiguous",
        lambda x: x.contiguous(),
        lambda x: x,
        lambda rng, d: [S(NC(make(rng, (3, 4), d), "T")), S(NC(make(rng, (2, 3), d), "step")), S(make(rng, (2, 3), d))],
        dtypes=FLOAT + (i64,),
    ),
    OpSpec(
        "narrow",
        graphc.narrow,
        lambda x, d, s, n: np.take(x, range(s % x.shape[d], s % x.shape[d] + n), axis=d),
        narrow_samples,
        dtypes=FLOAT + (i64,),
        method="narrow",
    ),
    OpSpec("flip", graphc.flip, lambda x, dims: np.flip(x, dims), flip_samples, dtypes=FLOAT + (i64,), method="flip"),
    OpSpec(
        "roll", graphc.roll, lambda x, s, d=None: np.roll(x, s, d), roll_samples, dtypes=FLOAT + (i64,), method="roll"
    ),
    OpSpec("tril", graphc.tril, ref_tri(True), tri_samples, dtypes=FLOAT + (i64,), method="tril", inplace="tril_"),
    OpSpec("triu", graphc.triu, ref_tri(False), tri_samples, dtypes=FLOAT + (i64,), method="triu", inplace="triu_"),
]
