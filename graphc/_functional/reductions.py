"""Reductions over dims (``sum``, ``mean``, ``var``, ``max``, ``norm``...), the stable
exp-sums (``logsumexp``, ``softmax``, ``log_softmax``) and ``cumsum``.

Composites are named like PyTorch's ``grad_fn`` (``MeanBackward0``) through
:class:`~graphc._dispatch.composite`; exp-sums subtract the max first."""

from __future__ import annotations

import builtins

from ir import dtypes as dt
from ir.errors import DTypeError

from .._args import norm_dim, norm_dims, reduced_count
from .._dispatch import apply, composite
from .._factories import zeros
from .._grad_mode import is_grad_enabled
from .._tensor import Tensor
from ..return_types import structseq
from ._common import _back, _float_of, _in_float32, _require_float, _tensor_arg, _to, _write_out
from ._singular import singular_values
from .elementwise import (
    abs,
    add,
    div,
    eq,
    exp,
    isinf,
    isnan,
    log,
    logical_not,
    maximum,
    minimum,
    mul,
    ne,
    pow,
    sqrt,
    sub,
)
from .pointwise import where
from .shape import movedim, reshape, squeeze, unsqueeze

__all__ = [
    "sum", "nansum", "prod", "mean", "nanmean", "var", "std", "var_mean", "std_mean", "amax", "amin", "argmax",
    "argmin", "return_types", "max", "min", "all", "any", "count_nonzero", "norm", "logsumexp", "softmax",
    "log_softmax", "cumsum",
]


def _reduce(name, x, dim, keepdim, op):
    axes = norm_dims(dim, x.ndim, op)
    return apply(name, [x], axes=axes, keepdim=bool(keepdim))


def _sum_dtype(x: Tensor, dtype):
    if dtype is not None:
        return _to(x, dtype)
    if x._dtype.is_bool or x._dtype.is_integer:
        return _to(x, dt.int64)
    return x


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` (an int, a tuple, or all dims); ints and bools sum to int64.

    The most called reduction, so written flat: the composite that names the grad_fn is made
    only when the result has one (a third of the frontend's time on a small tensor)."""
    x = _sum_dtype(_tensor_arg(input, "sum"), dtype)
    result = apply("sum", [x], axes=norm_dims(dim, x.ndim, "sum"), keepdim=bool(keepdim))
    if result._grad_fn is not None:
        result = composite("SumBackward0" if dim is None else "SumBackward1", input).result(result)
    return result if out is None else _write_out(out, result)


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` treating NaN as zero (the ``nansum`` primitive)."""
    x = _sum_dtype(_tensor_arg(input, "nansum"), dtype)
    return _write_out(out, _reduce("nansum", x, dim, keepdim, "nansum"))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over ``dim`` (one int, or all dims)."""
    x = _sum_dtype(_tensor_arg(input, "prod"), dtype)
    return _reduce("prod", x, dim, keepdim, "prod")


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Arithmetic mean over ``dim``; floating inputs only, as in PyTorch."""
    x = _tensor_arg(input, "mean")
    if dtype is not None:
        x = _to(x, dtype)
    if not x._dtype.is_differentiable:
        raise DTypeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {x._dtype.name.capitalize()}"
        )
    axes = norm_dims(dim, x.ndim, "mean")
    n = reduced_count(x.shape, axes)
    with composite("MeanBackward0" if dim is None else "MeanBackward1", input) as c:
        x, half = _in_float32(x)
        s = apply("sum", [x], axes=axes, keepdim=bool(keepdim))
        r = mul(s, 1.0 / n) if n else mul(s, float("nan"))
        return _write_out(out, c.result(_back(r, half)))


def nanmean(input, dim=None, keepdim=False):
    x = _tensor_arg(input, "nanmean")
    if not x._dtype.is_differentiable:
        raise DTypeError(
            f"nanmean(): expected input to have floating point or complex dtype but got {x._dtype.name.capitalize()}"
        )
    keep = logical_not(isnan(x))
    return div(sum(where(keep, x, 0), dim, keepdim), sum(keep, dim, keepdim))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's correction by default (``correction=1``)."""
    with composite("VarBackward0", input) as c:
        v, half = _var(input, dim, unbiased, keepdim, correction, "var")
        return c.result(_back(v, half))


def _var(input, dim, unbiased, keepdim, correction, op):
    """(the variance, the dtype to round it to): a half-precision input is reduced in float32
    and its variance left there, for the caller to round (std takes the root first)."""
    x = _tensor_arg(input, op)
    if not x._dtype.is_differentiable:  # (checked before the dim, as PyTorch)
        raise DTypeError(f"{op}: std and var only support floating point and complex dtypes, got {x._dtype}")
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    axes = norm_dims(dim, x.ndim, op)
    n = reduced_count(x.shape, axes)
    corr = _correction(unbiased, correction)
    x, half = _in_float32(x)
    x, half = _cpu_double(x, half)
    mu = apply("sum", [x], axes=axes, keepdim=True)
    mu = mul(mu, 1.0 / n) if n else mu
    dof = n - corr
    if dof <= 0:
        # No degrees of freedom: PyTorch's value is ss / 0 (inf, or 0/0 NaN) and its gradient
        # 2 (x - mean) / dof, with no term through the mean (here inf - inf = NaN everywhere).
        mu = mu.detach()
    d = sub(x, mu)
    sq = apply("real", [mul(d, apply("conj", [d]))]) if d._dtype.is_complex else mul(d, d)  # |x - mean|^2
    ss = apply("sum", [sq], axes=axes, keepdim=bool(keepdim))
    if dof >= 0:
        return div(ss, float(dof)), half
    scaled = mul(ss, 1.0 / dof)  # the value ss / 0, the gradient of ss / dof
    return add(div(ss.detach(), 0.0), sub(scaled, scaled.detach())), half


def _sqrt_zero_grad(s):
    """sqrt(s) whose gradient at ``s == 0`` is 0, PyTorch's choice for std and norms.

    The plain rule gives inf * 0 = nan there: the std of a constant row or the norm of a
    zero-padded vector would poison a whole training step. Both ``where`` s are needed:
    the inner one keeps sqrt's own gradient finite where the outer one discards it.
    """
    if not (s.requires_grad and is_grad_enabled()):  # no gradient to protect: the plain sqrt
        return sqrt(s)
    zero = eq(s, 0)
    return where(zero, 0.0, sqrt(where(zero, 1.0, s)))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt of the variance (its gradient is 0 where it is 0)."""
    with composite("StdBackward0", input) as c:
        v, half = _var(input, dim, unbiased, keepdim, correction, "std")
        return c.result(_back(_sqrt_zero_grad(v), half))


def _dim_or_unbiased(dim, unbiased):
    """``std_mean(x, True)``: a bool in ``dim``'s place is PyTorch's positional ``unbiased``."""
    if isinstance(dim, bool):
        return None, dim
    return dim, unbiased


def _cpu_double(x, half):
    """``(x in float64, float32)`` for a float32 ``x`` on the CPU, else ``(x, half)``: PyTorch's
    CPU variance kernels accumulate float32 in double (its ``acc_type``) and round the result
    once, so graphc does too -- the same bits nearly always, and no overflow of the mean of
    values near 3e38. Half precision accumulates in float32 (``_in_float32``), as PyTorch's."""
    if half is None and x._dtype is dt.float32 and x._device.type == "cpu":
        return _to(x, dt.float64), dt.float32
    return x, half


def _moments_mean(input, dim, keepdim):
    """The mean :func:`var_mean` and :func:`std_mean` return: in double for float32 on the CPU,
    as PyTorch's Welford kernel computes it next to the variance."""
    x, half = _cpu_double(*_in_float32(_float_of(input)))
    return _back(mean(x, dim, keepdim), half)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased = _dim_or_unbiased(dim, unbiased)
    return var(input, dim, unbiased, keepdim, correction=correction), _moments_mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased = _dim_or_unbiased(dim, unbiased)
    return std(input, dim, unbiased, keepdim, correction=correction), _moments_mean(input, dim, keepdim)


def _extreme(name, x, dim, keepdim):
    """amax/amin; bools reduce as uint8 and come back as bool (PyTorch: any/all)."""
    if x._dtype.is_bool:
        return _to(_reduce(name, _to(x, dt.uint8), dim, keepdim, name), dt.bool_)
    return _reduce(name, x, dim, keepdim, name)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim``; ties share the gradient evenly."""
    return _extreme("amax", _tensor_arg(input, "amax"), dim if dim != () else None, keepdim)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim``; ties share the gradient evenly."""
    return _extreme("amin", _tensor_arg(input, "amin"), dim if dim != () else None, keepdim)


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    x = _tensor_arg(input, "argmax")
    if x._dtype.is_bool:
        raise DTypeError("argmax(): does not support bool input (convert with .int() first)")
    if dim is None:
        r = apply("argmax", [reshape(x, (-1,))], axes=(0,), keepdim=False)
        return reshape(r, (1,) * x.ndim) if keepdim else r
    return apply("argmax", [x], axes=(norm_dim(dim, x.ndim, "argmax"),), keepdim=bool(keepdim))


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    x = _tensor_arg(input, "argmin")
    if x._dtype.is_bool:
        raise DTypeError("argmin(): does not support bool input (convert with .int() first)")
    if dim is None:
        r = apply("argmin", [reshape(x, (-1,))], axes=(0,), keepdim=False)
        return reshape(r, (1,) * x.ndim) if keepdim else r
    return apply("argmin", [x], axes=(norm_dim(dim, x.ndim, "argmin"),), keepdim=bool(keepdim))


class return_types:
    """Named tuples returned by max/min/sort-like functions."""
    max = structseq("max", ["values", "indices"])
    min = structseq("min", ["values", "indices"])


def _max_min(name, input, dim, keepdim, other):
    x = _tensor_arg(input, name)
    if isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(x, other) if name == "max" else minimum(x, other)
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        with composite(f"{name.capitalize()}Backward1", input) as c:
            # PyTorch's evenly_distribute_backward: a NaN result's gradient is shared by the NaNs
            # (amax's rule counts elements equal to the result, and nothing equals NaN)
            op = "amax" if name == "max" else "amin"
            if x._dtype.is_floating_point:
                return c.result(apply(op, [x], axes=tuple(range(x.ndim)), keepdim=False, ties="even"))
            return c.result(_extreme(op, x, None, False))
    d = norm_dim(dim, x.ndim, name)
    idx = apply("argmax" if name == "max" else "argmin", [x], axes=(d,), keepdim=True)
    with composite(f"{name.capitalize()}Backward0", input) as c:
        values = apply("gather", [x, idx], axis=d) if x.ndim else apply("copy", [x])
        if not keepdim and x.ndim:
            values = squeeze(values, d)
        values = c.result(values)
    if not keepdim and x.ndim:
        idx = squeeze(idx, d)
    cls = return_types.max if name == "max" else return_types.min
    return cls(values, idx)


def max(input, dim=None, keepdim=False, *, other=None):
    """The maximum: of all elements, or ``(values, indices)`` along ``dim``, or elementwise
    against another tensor."""
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """The minimum: of all elements, ``(values, indices)`` along ``dim``, or elementwise."""
    return _max_min("min", input, dim, keepdim, other)


def all(input, dim=None, keepdim=False):
    x = _to(_tensor_arg(input, "all"), dt.bool_)
    return _reduce("all", x, dim, keepdim, "all")


def any(input, dim=None, keepdim=False):
    x = _to(_tensor_arg(input, "any"), dt.bool_)
    return _reduce("any", x, dim, keepdim, "any")


def count_nonzero(input, dim=None):
    return sum(ne(input, 0), dim)


def _nuclear_norm(input, x, dim, keepdim):
    """The sum of the singular values over two dims (the last two of a matrix by default)."""
    if dim is None:
        if x.ndim != 2:
            raise RuntimeError(f"norm(p='nuc'): expected a 2-D tensor or two dims, got a {x.ndim}-D tensor")
        dim = (-2, -1)
    dims = norm_dims(tuple(dim) if isinstance(dim, (tuple, list)) else (dim,), x.ndim, "norm")
    if len(dims) != 2:
        raise RuntimeError(f"norm(p='nuc'): expected two dims, got dim={dim}")
    with composite("LinalgMatrixNormBackward0", input) as c:
        r = sum(singular_values(movedim(x, dims, (-2, -1)), "norm"), -1)
        if keepdim:
            for d in sorted(dims):
                r = unsqueeze(r, d)
        return c.result(r)


def _abs_pow(x, p: float):
    """``|x| ** p`` for a p-norm, with PyTorch's gradient at ``x == 0`` for ``p < 1``: 0 (its
    ``norm_backward`` masks the zeros), where the power's infinite slope times ``sign(0)`` gave
    NaN. Below 0, ``|0| ** p`` is inf (the norm is 0)."""
    a = abs(x)
    if p >= 1 or not (x.requires_grad and is_grad_enabled()):
        return pow(a, p)
    zero = eq(x, 0)
    return where(zero, 0.0 if p > 0 else float("inf"), pow(where(zero, 1.0, a), p))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (Frobenius / 2-norm by default, ``inf`` for max-abs).

    As in PyTorch, the gradient at a zero vector is 0 (not nan), and the 0-"norm" (the count of
    nonzero entries) has a ``grad_fn`` whose gradient is 0.
    """
    x = _tensor_arg(input, "norm")
    if not x._dtype.is_differentiable:
        raise DTypeError(f"norm: Expected a floating point or complex tensor as input. Got {x._dtype}")
    if dtype is not None:
        x = _to(x, dtype)
    if isinstance(p, str):
        if p == "nuc":
            return _nuclear_norm(input, x, dim, keepdim)
        if p != "fro":
            raise ValueError(f"norm(): p must be a number, 'fro' or 'nuc', got {p!r}")
    if x._dtype.is_complex:
        x = abs(x)  # every norm of a complex vector is the norm of its moduli
    x, half = _in_float32(x)
    if half is not None:
        return _back(norm(x, p, dim, keepdim), half)
    name = "NormBackward1" if dim is not None else "LinalgVectorNormBackward0"
    with composite(name, input) as c:
        if p in ("fro", 2, 2.0, None):
            return c.result(_sqrt_zero_grad(sum(mul(x, x), dim, keepdim)))
        if p == float("inf"):
            return c.result(amax(abs(x), dim if dim is not None else (), keepdim))
        if p == float("-inf"):
            return c.result(amin(abs(x), dim if dim is not None else (), keepdim))
        if p == 1:
            return c.result(sum(abs(x), dim, keepdim))
        if p == 0:
            # 1 per nonzero entry (nan and inf count); x * 0 carries a zero gradient to x
            return c.result(add(sum(where(ne(x, 0), 1.0, mul(x, 0.0)), dim, keepdim), 0.0))
        if p < 0:
            return c.result(pow(sum(_abs_pow(x, p), dim, keepdim), 1.0 / p))
        s = sum(_abs_pow(x, p), dim, keepdim)
        s_zero = eq(s, 0)
        return c.result(where(s_zero, 0.0, pow(where(s_zero, 1.0, s), 1.0 / p)))


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, computed stably (max-subtracted)."""
    x = _float_of(_tensor_arg(input, "logsumexp"))
    axes = norm_dims(dim, x.ndim, "logsumexp")
    with composite("LogsumexpBackward0", input) as c:
        m = _shift(x, axes)
        m = where(isinf(m), 0.0, m)
        s = apply("sum", [exp(sub(x, m))], axes=axes, keepdim=True)
        r = add(log(s), m)
        if not keepdim:
            r = reshape(r, tuple(s_ for i, s_ in enumerate(x.shape) if i not in axes))
        return c.result(r)


def _zeros_kept(x, axes):
    return zeros(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), dtype=x._dtype, device=x._device)


def _shift(x, axes):
    """The max over ``axes`` (kept, outside autograd) that stable exp-sums subtract;
    zeros when a reduced dim is empty (the max has no identity, the sum is 0 anyway)."""
    if x.ndim and builtins.any(x.shape[a] == 0 for a in axes):
        return _zeros_kept(x, axes)
    return apply("amax", [x.detach()], axes=axes, keepdim=True)


def _softmax_args(input, dim, dtype, op: str):
    """The float input (cast to ``dtype``) and the normalized dim; PyTorch's implicit dim when None."""
    x = _tensor_arg(input, op)
    if dtype is not None:
        x = _to(x, dtype)
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    d = norm_dim(dim, x.ndim, op)
    if not x._dtype.is_differentiable:  # PyTorch has no integer kernel (pass dtype= to convert)
        _require_float(x, f"{op}_lastdim_kernel_impl" if d == builtins.max(x.ndim, 1) - 1 else f"{op}_kernel_impl")
    return x, d


def softmax(input, dim=None, dtype=None, _stacklevel=3):
    """exp(x - max) / sum(exp(x - max)) along ``dim``."""
    x, d = _softmax_args(input, dim, dtype, "softmax")
    with composite("SoftmaxBackward0", input) as c:
        m = _shift(x, (d,))
        e = exp(sub(x, m))
        return c.result(div(e, apply("sum", [e], axes=(d,), keepdim=True)))


def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    """x - logsumexp(x) along ``dim``: stable log-probabilities."""
    x, d = _softmax_args(input, dim, dtype, "log_softmax")
    with composite("LogSoftmaxBackward0", input) as c:
        m = _shift(x, (d,))
        shifted = sub(x, m)
        lse = log(apply("sum", [exp(shifted)], axes=(d,), keepdim=True))
        return c.result(sub(shifted, lse))


def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim`` (ints and bools accumulate in int64)."""
    x = _sum_dtype(_tensor_arg(input, "cumsum"), dtype)
    d = norm_dim(dim, x.ndim, "cumsum")
    return apply("cumsum", [x], axis=d)
