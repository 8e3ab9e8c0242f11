"""Matrix products (``matmul`` with NumPy's rules for 1-d and batched operands, ``mm``,
``bmm``, ``mv``, ``dot``, ``outer``, ``addmm``) and matrix structure (``tril``,
``triu``, ``diagonal``, ``diag``, ``trace``)."""

from __future__ import annotations

import builtins

from ir import dtypes as dt
from ir.errors import DTypeError, DTypeNotImplementedError, ShapeError
from ir.ops import fmt_shape

from .._args import norm_dim
from .._dispatch import apply, composite, constant
from .._factories import arange, zeros
from .._tensor import Tensor
from ._common import _tensor_arg, _to, _with_zero_grad, _write_out
from .elementwise import add, ge, le, mul
from .pointwise import where
from .reductions import sum
from .shape import reshape, squeeze, unsqueeze

__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "addmm", "tril", "triu",
    "diagonal", "diag", "trace",
]


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch rules: 1-d operands are vectors, batch dims broadcast."""
    a, b = _tensor_arg(input, "matmul"), _tensor_arg(other, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: both arguments need at least 1 dimension, got {a.ndim}-d and {b.ndim}-d"
        )
    if a._dtype is not b._dtype:
        raise DTypeError(
            f"matmul: expected both inputs to have the same dtype, but got {a._dtype} and {b._dtype}"
        )
    if isinstance(out, Tensor) and out._dtype is not a._dtype:  # PyTorch's matmul kernels do not cast into out
        raise DTypeError(f"matmul: expected out tensor to have dtype {a._dtype}, but got {out._dtype} instead")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise ShapeError(
                f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                f"[{b.shape[0]}] to have the same number of elements, but got {a.shape[0]} and "
                f"{b.shape[0]} elements respectively"
            )
        with composite("DotBackward0", a, b) as c:
            r = apply("matmul", [reshape(a, (1, -1)), reshape(b, (-1, 1))])
            return _write_out(out, c.result(reshape(r, ())))
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(str(s) for s in a2.shape[-2:])} and "
            f"{'x'.join(str(s) for s in b2.shape[-2:])}): matmul of {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape)} needs the last dim of the first to equal the "
            f"{'only' if b.ndim == 1 else 'second-to-last'} dim of the second"
        )
    name = "MmBackward0" if a.ndim == 2 and b.ndim == 2 else ("MvBackward0" if b.ndim == 1 and a.ndim == 2 else "BmmBackward0")
    with composite(name, a, b) as c:
        r = apply("matmul", [a2, b2])
        if a.ndim == 1:
            r = squeeze(r, -2)
        if b.ndim == 1:
            r = squeeze(r, -1)
        return _write_out(out, c.result(r))


def mm(input, mat2, *, out=None):
    """2-d matrix product."""
    for name, t in (("input", input), ("mat2", mat2)):
        if _tensor_arg(t, "mm").ndim != 2:
            raise ShapeError(f"mm: {name} must be a matrix, got a {t.ndim}-d tensor of shape {fmt_shape(t.shape)}")
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-d tensors with equal batch size."""
    a, b = _tensor_arg(input, "bmm"), _tensor_arg(mat2, "bmm")
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: batch1 and batch2 must be 3D tensors, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    return matmul(a, b, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product."""
    a, v = _tensor_arg(input, "mv"), _tensor_arg(vec, "mv")
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"mv: expected a matrix and a vector, got {fmt_shape(a.shape)} and {fmt_shape(v.shape)}")
    return matmul(a, v, out=out)


def dot(input, other, *, out=None):
    """Inner product of two 1-d tensors."""
    a, b = _tensor_arg(input, "dot"), _tensor_arg(other, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b, out=out)


def vdot(input, other, *, out=None):
    """Inner product of two 1-d tensors with the first conjugated: ``sum(conj(a) * b)`` (for
    real tensors, ``dot``)."""
    a = _tensor_arg(input, "vdot")
    return dot(apply("conj", [a]) if a._dtype.is_complex else a, other, out=out)


def outer(input, vec2):
    """The outer product of two vectors."""
    for name, v in (("self", input), ("vec2", vec2)):
        if _tensor_arg(v, "outer").ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return mul(unsqueeze(input, -1), unsqueeze(vec2, 0))


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    if isinstance(out, Tensor) and out._dtype is not _tensor_arg(mat1, "addmm")._dtype:
        raise DTypeError(f"addmm: expected out tensor to have dtype {mat1._dtype}, but got {out._dtype} instead")
    low = mat1._dtype  # bf16/f16: the product and the sum in float32, rounded once (PyTorch's CPU kernel)
    fused = low in (dt.bfloat16, dt.float16) and getattr(input, "_dtype", low) is low and mat2._dtype is low
    with composite("AddmmBackward0", input, mat1, mat2) as c:
        if fused:
            input, mat1, mat2 = (_to(t, dt.float32) if isinstance(t, Tensor) else t for t in (input, mat1, mat2))
        r = matmul(mat1, mat2)
        if alpha != 1:
            r = mul(r, alpha)
        r = _beta_sum(input, r, beta)
        return _write_out(out, c.result(_to(r, low) if fused else r))


def _beta_sum(input, r: Tensor, beta) -> Tensor:
    """``beta * input + r``. With beta == 0 input's values are ignored, its NaNs and infs
    included (PyTorch's rule), but it still gets a zero gradient."""
    return add(mul(input, beta) if beta != 1 else input, r) if beta != 0 else _with_zero_grad(r, input)


def _tri(input, diagonal, lower: bool):
    x = _tensor_arg(input, "tril" if lower else "triu")
    if x.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    rows, cols = x.shape[-2], x.shape[-1]
    i = reshape(arange(rows, device=x._device), (rows, 1))
    j = reshape(arange(cols, device=x._device), (1, cols))
    # j <= i + diagonal rather than j - i <= diagonal: the comparison broadcasts a row against a
    # column straight into the bool mask, with no full-size int64 difference before it
    shifted = add(i, diagonal) if diagonal else i
    keep = le(j, shifted) if lower else ge(j, shifted)
    return where(keep, x, constant(0, x._dtype, x._device))


def tril(input, diagonal=0):
    """Lower triangle (elements with j - i <= diagonal); the rest zero."""
    return _tri(input, diagonal, True)


def triu(input, diagonal=0):
    """Upper triangle (elements with j - i >= diagonal); the rest zero."""
    return _tri(input, diagonal, False)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` of dims ``dim1`` and ``dim2``, as a view (the ``diagonal`` row):
    writes through it reach ``input``, as in PyTorch (``x.diagonal().fill_(1)``)."""
    x = _tensor_arg(input, "diagonal")
    if x.ndim < 2:
        raise RuntimeError(f"diagonal: expected a tensor with at least 2 dims, got a {x.ndim}-d tensor")
    d1, d2 = norm_dim(dim1, x.ndim, "diagonal"), norm_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply("diagonal", [x], offset=int(offset), dim1=d1, dim2=d2)


def diag(input, diagonal=0):
    x = _tensor_arg(input, "diag")
    if x.ndim == 2:  # a copy (torch.diagonal is the view)
        return apply("copy", [globals()["diagonal"](x, diagonal)])
    if x.ndim != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")
    n = x.shape[0] + builtins.abs(diagonal)
    out = zeros(n * n, dtype=x._dtype, device=x._device)
    idx = arange(x.shape[0], device=x._device)
    pos = add(mul(add(idx, builtins.max(-diagonal, 0)), n), add(idx, builtins.max(diagonal, 0)))
    return reshape(apply("index_add", [out, pos, x], axis=0), (n, n))


def trace(input, *fn_args):
    """The sum of the main diagonal of a matrix (PyTorch's ``torch.trace``)."""
    if callable(input) and not isinstance(input, Tensor):  # graphc.trace(fn, *args) was the tracer
        raise TypeError(
            "graphc.trace(input) is the matrix trace (as torch.trace); to trace a function into an ir.Graph "
            "use graphc.compiler.trace(fn, *args)"
        )
    if fn_args:
        raise TypeError(f"trace() takes 1 positional argument but {1 + len(fn_args)} were given")
    x = _tensor_arg(input, "trace")
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    if x._dtype.is_bool:
        raise DTypeNotImplementedError("\"trace\" not implemented for 'Bool' (convert with .int() first)")
    return sum(diagonal(x))
