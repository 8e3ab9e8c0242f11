"""Products and distances built on ``matmul``: ``einsum`` (with a contraction path),
``tensordot``, ``inner``, ``kron``, the ``add*`` forms of PyTorch's BLAS calls (``addmv``,
``addr``, ``baddbmm``, ``addbmm``), ``cross``, ``cdist``, ``dist``, and the index-built
``block_diag``, ``cartesian_prod`` and ``combinations``.

Everything here is a composite of rows (permute, reshape, matmul, sum, mul, ...), so each is
traced by ``@graphc.compile`` into ops that fuse, and differentiates with those rows' rules.
"""

from __future__ import annotations

import builtins
import itertools
import math

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops import broadcast_shapes, fmt_shape

from .._args import norm_dim
from .._dispatch import apply, composite
from .._factories import tensor
from .._tensor import Tensor
from ._common import _promote, _tensor_arg, _to, _write_out
from .elementwise import abs, eq, mul, ne, pow, sqrt, sub
from .indexing import index_select
from .joining import cat, stack
from .linalg import _beta_sum, diagonal, dot, matmul
from .pointwise import where
from .reductions import _abs_pow, amax, amin, sum
from .shape import expand, permute, reshape, unsqueeze

__all__ = [
    "einsum", "tensordot", "inner", "kron", "addmv", "addr", "baddbmm", "addbmm", "cross", "cdist", "dist",
    "block_diag", "cartesian_prod", "combinations",
]


# ----------------------------------------------------------------------------
# einsum


def _parse_einsum(equation: str, operands):
    """Labels per operand (ints; ellipsis dims are negative, aligned from the right) and the
    output labels, with PyTorch's errors."""
    eq_ = equation.replace(" ", "")
    lhs, arrow, rhs = eq_.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            "einsum(): more operands were provided than specified in the equation"
            if len(operands) > len(terms)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    n_ell = 0
    labels = []
    for term, op in zip(terms, operands):
        if term.count("...") > 1 or "." in term.replace("...", ""):
            raise ValueError(f"einsum(): invalid ellipsis in the subscripts {term!r}")
        chars = term.replace("...", "")
        for c in chars:
            if not c.isalpha():
                raise ValueError(f"einsum(): invalid subscript given at index {equation.index(c)} in the equation "
                                 f"string, subscripts must be in [a-zA-Z]")
        if "..." in term:
            k = op.ndim - len(chars)
            if k < 0:
                raise ShapeError(f"einsum(): the number of subscripts in the equation ({len(chars)}) is more than the "
                                 f"number of dimensions ({op.ndim}) for operand {len(labels)}")
            n_ell = builtins.max(n_ell, k)
            head, _, tail = term.partition("...")
            ls = [ord(c) for c in head] + list(range(-k, 0)) + [ord(c) for c in tail]
        else:
            if len(chars) != op.ndim:
                raise ShapeError(f"einsum(): the number of subscripts in the equation ({len(chars)}) does not match the "
                                 f"number of dimensions ({op.ndim}) for operand {len(labels)} and no ellipsis was given")
            ls = [ord(c) for c in chars]
        labels.append(ls)
    ell = list(range(-n_ell, 0))
    if arrow:
        if rhs.count("...") > 1:
            raise ValueError("einsum(): found more than one ellipsis in the output subscripts")
        seen = set()
        for c in rhs.replace("...", ""):
            if not c.isalpha():
                raise ValueError(f"einsum(): invalid output subscript {c!r}")
            if c in seen:
                raise ValueError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(ord(c) in ls for ls in labels):
                raise ValueError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
            seen.add(c)
        head, has_ell, tail = rhs.partition("...")
        out = [ord(c) for c in head] + (ell if has_ell else []) + [ord(c) for c in tail]
    else:
        counts: dict = {}
        for ls in labels:
            for label in ls:
                if label >= 0:
                    counts[label] = counts.get(label, 0) + 1
        out = ell + sorted(label for label, c in counts.items() if c == 1)
    return labels, out


def _label_sizes(labels, operands):
    sizes: dict = {}
    for i, (ls, op) in enumerate(zip(labels, operands)):
        for label, s in zip(ls, op.shape):
            prev = sizes.get(label)
            if prev is None or prev == 1:
                sizes[label] = s
            elif s != 1 and s != prev:
                name = chr(label) if label >= 0 else "..."
                raise ShapeError(f"einsum(): operands do not broadcast with remapped shapes (original->remapped): "
                                 f"subscript {name} has size {s} for operand {i} which does not broadcast with "
                                 f"previously seen size {prev}")
    return sizes


def _take_diagonals(x, ls):
    """Repeated labels within one operand select the diagonal (``ii->i``)."""
    while len(set(ls)) != len(ls):
        for i, a in enumerate(ls):
            j = ls.index(a, i + 1) if a in ls[i + 1 :] else -1
            if j >= 0:
                x = diagonal(x, 0, i, j)  # the diagonal becomes the last dim
                ls = [b for k, b in enumerate(ls) if k not in (i, j)] + [a]
                break
    return x, ls


def _sum_labels(x, ls, drop):
    axes = tuple(i for i, a in enumerate(ls) if a in drop)
    if not axes:
        return x, ls
    return apply("sum", [x], axes=axes, keepdim=False), [a for a in ls if a not in drop]


def _contract(a, la, b, lb, keep, sizes):
    """One pairwise contraction as a batched matmul: (batch, a-only, summed) @ (batch, summed, b-only)."""
    batch = [x for x in la if x in lb and x in keep]
    summed = [x for x in la if x in lb and x not in keep]
    a_only = [x for x in la if x not in lb]
    b_only = [x for x in lb if x not in la]

    def arrange(t, lt, order):
        t = permute(t, [lt.index(x) for x in order]) if order != lt else t
        want = tuple(sizes[x] for x in order)
        return expand(t, want) if tuple(t.shape) != want else t

    nb = math.prod(sizes[x] for x in batch)
    m = math.prod(sizes[x] for x in a_only)
    k = math.prod(sizes[x] for x in summed)
    n = math.prod(sizes[x] for x in b_only)
    a3 = reshape(arrange(a, la, batch + a_only + summed), (nb, m, k))
    b3 = reshape(arrange(b, lb, batch + summed + b_only), (nb, k, n))
    r = matmul(a3, b3)
    out_labels = batch + a_only + b_only
    return reshape(r, tuple(sizes[x] for x in out_labels)), out_labels


def _greedy_path(labels, out, sizes):
    """Pairs to contract, smallest intermediate first (ties: the leftmost pair)."""
    live = [list(ls) for ls in labels]
    ids = list(range(len(labels)))
    path = []
    while len(live) > 1:
        best = None
        for i, j in itertools.combinations(range(len(live)), 2):
            others = set(out).union(*(set(live[k]) for k in range(len(live)) if k not in (i, j)))
            res = [x for x in dict.fromkeys(live[i] + live[j]) if x in others]
            cost = math.prod(sizes[x] for x in res)
            if best is None or cost < best[0]:
                best = (cost, i, j, res)
        _, i, j, res = best
        path.append((ids[i], ids[j]))
        live = [ls for k, ls in enumerate(live) if k not in (i, j)] + [res]
        ids = [x for k, x in enumerate(ids) if k not in (i, j)] + [len(labels) + len(path) - 1]
    return path


def einsum(equation, *operands):
    """Einstein summation, lowered to permute, reshape, sum and batched ``matmul``.

    Operands are contracted two at a time in a greedy order (the pair giving the smallest
    intermediate first), so ``einsum("ij,jk,kl->il", a, b, c)`` picks the cheaper association;
    repeated labels take diagonals, ``...`` broadcasts, and labels of size 1 broadcast.

    >>> graphc.einsum("bij,bjk->bik", a, b)  # == graphc.bmm(a, b)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    ops = [_tensor_arg(o, "einsum") for o in operands]
    if len({o._dtype for o in ops}) > 1:
        raise DTypeError("einsum(): expected all operands to have the same dtype, got "
                         + ", ".join(str(o._dtype) for o in ops))
    labels, out = _parse_einsum(equation, ops)
    sizes = _label_sizes(labels, ops)
    work = []
    for i, (x, ls) in enumerate(zip(ops, labels)):
        x, ls = _take_diagonals(x, list(ls))
        others = set(out).union(*(set(labels[k]) for k in range(len(ops)) if k != i))
        x, ls = _sum_labels(x, ls, {a for a in ls if a not in others})
        work.append((x, ls))
    items = dict(enumerate(work))
    for step, (i, j) in enumerate(_greedy_path([ls for _, ls in work], out, sizes)):
        (a, la), (b, lb) = items.pop(i), items.pop(j)
        keep = set(out).union(*(set(ls) for _, ls in items.values()))
        items[len(work) + step] = _contract(a, la, b, lb, keep, sizes)  # the path's id for this result
    ((x, ls),) = items.values()
    x, ls = _sum_labels(x, ls, {a for a in ls if a not in out})
    if ls != out:
        x = permute(x, [ls.index(a) for a in out])
    want = tuple(sizes[a] for a in out)
    if tuple(x.shape) != want:
        x = expand(x, want)
    return x if x is not ops[0] else apply("copy", [x])


# ----------------------------------------------------------------------------
# tensordot, inner, kron


def tensordot(a, b, dims=2, out=None):
    """Sum of products over ``dims`` (a count of trailing/leading dims, or two lists of dims)."""
    x, y = _tensor_arg(a, "tensordot"), _tensor_arg(b, "tensordot")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(x.ndim, y.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError(f"both dimension lists should have same length, got {len(da)} and {len(db)}")
        da = [norm_dim(d, x.ndim, "tensordot") for d in da]
        db = [norm_dim(d, y.ndim, "tensordot") for d in db]
    for i, j in zip(da, db):
        if x.shape[i] != y.shape[j]:
            raise ShapeError(f"contracted dimensions need to match, but first has size {x.shape[i]} in dim {i} and "
                             f"second has size {y.shape[j]} in dim {j}")
    (x, y), _ = _promote(x, y)
    fa = [d for d in range(x.ndim) if d not in da]
    fb = [d for d in range(y.ndim) if d not in db]
    k = math.prod(x.shape[d] for d in da)
    xm = reshape(permute(x, fa + da), (math.prod(x.shape[d] for d in fa), k))
    ym = reshape(permute(y, db + fb), (k, math.prod(y.shape[d] for d in fb)))
    r = reshape(matmul(xm, ym), tuple(x.shape[d] for d in fa) + tuple(y.shape[d] for d in fb))
    return _write_out(out, r)


def inner(input, other, *, out=None):
    """Sum of products over the last dims; a plain product when either is 0-d."""
    a, b = _tensor_arg(input, "inner"), _tensor_arg(other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return _write_out(out, mul(a, b))
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner() the last dimension must match on both input tensors but got shapes "
                         f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if a.ndim == 1 and b.ndim == 1:  # PyTorch's inner is dot here (not autocast on the CPU)
        return _write_out(out, dot(a, b))
    return _write_out(out, tensordot(a, b, ([a.ndim - 1], [b.ndim - 1])))


def kron(input, other, *, out=None):
    """Kronecker product: every element of ``input`` times the whole of ``other``, in blocks."""
    a, b = _tensor_arg(input, "kron"), _tensor_arg(other, "kron")
    dtype = dt.promote_types(a._dtype, b._dtype)  # both count as dimensioned (PyTorch reshapes first)
    a, b = _to(a, dtype), _to(b, dtype)
    nd = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    a2 = reshape(a, tuple(s for d in sa for s in (d, 1)))
    b2 = reshape(b, tuple(s for d in sb for s in (1, d)))
    return _write_out(out, reshape(mul(a2, b2), tuple(p * q for p, q in zip(sa, sb))))


# ----------------------------------------------------------------------------
# PyTorch's BLAS-shaped sums: beta * input + alpha * (product)


def _check_scalars(name, dtype, beta, alpha):
    if not dtype.is_floating_point and (isinstance(beta, float) or isinstance(alpha, float)):
        raise RuntimeError(f"{name}: for integral input tensors, argument alpha/beta must not be a floating point number.")


def _blas_sum(name, grad_name, input, product, beta, alpha, out, *tensors):
    x = _tensor_arg(input, name)
    _check_scalars(name, product._dtype, beta, alpha)
    shape = broadcast_shapes(tuple(x.shape), tuple(product.shape), op=name)
    if shape != tuple(product.shape):
        raise ShapeError(f"{name}: the input of shape {fmt_shape(x.shape)} does not broadcast to the product's "
                         f"shape {fmt_shape(product.shape)}")
    with composite(grad_name, input, *tensors) as c:
        r = mul(product, alpha) if alpha != 1 else product
        r = _beta_sum(x, r, beta)
        return _write_out(out, c.result(r))


def _same_dtype(name, *ts):
    d = ts[0]._dtype
    for t in ts[1:]:
        if t._dtype is not d:
            raise DTypeError(f"{name}: expected the tensors to have the same dtype, but got {d} and {t._dtype}")


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    m, v = _tensor_arg(mat, "addmv"), _tensor_arg(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"addmv: expected a matrix and a vector, got {fmt_shape(m.shape)} and {fmt_shape(v.shape)}")
    _same_dtype("addmv", _tensor_arg(input, "addmv"), m, v)
    return _blas_sum("addmv", "AddmvBackward0", input, matmul(m, v), beta, alpha, out, m, v)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    a, b = _tensor_arg(vec1, "addr"), _tensor_arg(vec2, "addr")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"addr: expected 1-D vectors, got {a.ndim}-D and {b.ndim}-D")
    x = _tensor_arg(input, "addr")
    if x._dtype.is_bool and a._dtype.is_bool and b._dtype.is_bool:
        if isinstance(beta, bool) is False and beta not in (0, 1) or alpha not in (0, 1, True, False):
            raise RuntimeError("Boolean beta/alpha only supported for Boolean results.")
    _same_dtype("addr", x, a, b)
    return _blas_sum("addr", "AddrBackward0", input, mul(unsqueeze(a, 1), unsqueeze(b, 0)), beta, alpha, out, a, b)


def _batches(batch1, batch2, op: str):
    """``batch1`` and ``batch2`` checked as 3-d batches of matrices that multiply."""
    a, b = _tensor_arg(batch1, op), _tensor_arg(batch2, op)
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"{op}: batch1 and batch2 must be 3D tensors, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"{op}: batch1 {fmt_shape(a.shape)} and batch2 {fmt_shape(b.shape)} do not multiply")
    return a, b


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (batch1 @ batch2)`` for 3-d batches."""
    a, b = _batches(batch1, batch2, "baddbmm")
    _same_dtype("baddbmm", _tensor_arg(input, "baddbmm"), a, b)
    return _blas_sum("baddbmm", "BaddbmmBackward0", input, matmul(a, b), beta, alpha, out, a, b)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    a, b = _batches(batch1, batch2, "addbmm")
    _same_dtype("addbmm", _tensor_arg(input, "addbmm"), a, b)
    # sum_b A_b B_b is one matmul: [M, B*K] @ [B*K, N]
    n, m, k = a.shape
    p = b.shape[2]
    prod_ = matmul(reshape(permute(a, (1, 0, 2)), (m, n * k)), reshape(b, (n * k, p)))
    return _blas_sum("addbmm", "AddbmmBackward0", input, prod_, beta, alpha, out, a, b)


# ----------------------------------------------------------------------------
# cross product and distances


def cross(input, other, dim=None, *, out=None):
    """The 3-vector cross product along ``dim`` (default: the first dim of size 3), broadcasting the
    other dims (both inputs must have size 3 along ``dim``)."""
    a, b = _tensor_arg(input, "cross"), _tensor_arg(other, "cross")
    if a._dtype is not b._dtype:
        raise DTypeError(f"linalg.cross: expected scalar type {a._dtype} but found {b._dtype}")
    if a.ndim != b.ndim:
        raise ShapeError(f"linalg.cross: inputs must have the same number of dimensions, got {a.ndim} and {b.ndim}")
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape), op="cross")
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise ShapeError(f"no dimension of size 3 in input: shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
        d = dims[0]
    else:
        d = norm_dim(dim, len(shape), "cross")
    if a.shape[d] != 3 or b.shape[d] != 3:  # (the cross dim does not broadcast, as in PyTorch)
        raise ShapeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    a, b = expand(a, shape), expand(b, shape)
    i1 = tensor([1, 2, 0], device=a._device)
    i2 = tensor([2, 0, 1], device=a._device)
    with composite("LinalgCrossBackward0", input, other) as c:
        r = sub(mul(index_select(a, d, i1), index_select(b, d, i2)), mul(index_select(a, d, i2), index_select(b, d, i1)))
        return _write_out(out, c.result(r))


def _safe_root(s, p):
    """``s ** (1/p)`` with a zero gradient where ``s`` is 0 (PyTorch's choice at zero distance)."""
    zero = eq(s, 0)
    r = sqrt(where(zero, 1.0, s)) if p == 2 else pow(where(zero, 1.0, s), 1.0 / p)
    return where(zero, 0.0, r)


def _pnorm(d, p, axes):
    """The p-norm of differences ``d`` over ``axes`` (p = 0, 1, 2, inf, or any positive)."""
    if p == 0:
        return sum(_to(ne(d, 0), d._dtype), axes)
    if p == 1:
        return sum(abs(d), axes)
    if p == math.inf:
        return amax(abs(d), axes) if d.numel() else sum(abs(d), axes)
    if p == -math.inf:
        return amin(abs(d), axes)
    if p == 2:
        return _safe_root(sum(mul(d, d), axes), 2)
    return _safe_root(sum(_abs_pow(d, p), axes), p)  # (gradient 0 at d == 0 for p < 1, as PyTorch)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of ``x1`` [..., P, M] and ``x2`` [..., R, M]."""
    a, b = _tensor_arg(x1, "cdist"), _tensor_arg(x2, "cdist")
    if a.ndim < 2 or b.ndim < 2:
        raise ShapeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D, X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}")
    if not a._dtype.is_floating_point or not b._dtype.is_floating_point:
        raise DTypeError(f"cdist only supports floating-point dtypes, X1 got: {a._dtype}, X2 got: {b._dtype}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    (a, b), _ = _promote(a, b)
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]), op="cdist")
    d = sub(unsqueeze(a, -2), unsqueeze(b, -3))  # [..., P, R, M]
    with composite("CdistBackward0", x1, x2) as c:
        r = _pnorm(d, p, (-1,))
        return c.result(expand(r, batch + (a.shape[-2], b.shape[-2])))


def dist(input, other, p=2):
    """The p-norm of ``input - other`` (broadcast), over all elements."""
    (a, b), _ = _promote(_tensor_arg(input, "dist"), _tensor_arg(other, "dist"))
    if not a._dtype.is_floating_point:
        raise DTypeError(f"dist: expected a floating-point input, got {a._dtype}")
    d = sub(a, b)
    with composite("DistBackward0", input, other) as c:
        return c.result(_pnorm(d, float(p), tuple(range(d.ndim))) if d.ndim else _pnorm(reshape(d, (1,)), float(p), (0,)))


# ----------------------------------------------------------------------------
# block_diag, cartesian_prod, combinations


def block_diag(*tensors):
    """The tensors (0-d, 1-d or 2-d) as blocks on the diagonal of one matrix, zeros elsewhere."""
    mats = []
    for i, t in enumerate(tensors):
        t = _tensor_arg(t, "block_diag")
        if t.ndim > 2:
            raise ShapeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t.ndim} dimensions")
        mats.append(reshape(t, (1, 1)) if t.ndim == 0 else (unsqueeze(t, 0) if t.ndim == 1 else t))
    if not mats:
        return tensor([], dtype=dt.default_float()).reshape(1, 0)
    dtype = mats[0]._dtype
    for m in mats[1:]:
        dtype = dt.promote_types(dtype, m._dtype)
    total = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        w = m.shape[1]
        rows.append(apply("pad", [_to(m, dtype)], pads=((0, 0), (left, total - left - w)), value=0))
        left += w
    return cat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, as rows (``itertools.product``)."""
    ts = [_tensor_arg(t, "cartesian_prod") for t in tensors]
    for t in ts:
        if t.ndim != 1:
            raise ShapeError(f"Expect a 1D vector, but got shape {fmt_shape(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    shape = tuple(t.shape[0] for t in ts)
    cols = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        cols.append(reshape(expand(reshape(t, tuple(view)), shape), (-1,)))
    (cols), _ = _promote(*cols)
    return stack(list(cols), 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-d tensor's elements, as rows (``itertools.combinations``)."""
    x = _tensor_arg(input, "combinations")
    if x.ndim != 1:
        raise ShapeError(f"Expect a 1D vector, but got shape {fmt_shape(x.shape)}")
    if r < 0:
        raise ValueError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return tensor([], dtype=x._dtype, device=x._device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(x.shape[0]), r))
    if not idx:
        return reshape(index_select(x, 0, tensor([], dtype=dt.int64, device=x._device)), (0, r))
    cols = [index_select(x, 0, tensor([c[j] for c in idx], device=x._device)) for j in range(r)]
    return stack(cols, 1)
