"""Elementwise composites PyTorch has as functions: ``deg2rad``, ``rad2deg``, ``frac``,
``logit`` (with ``eps``), ``isposinf``/``isneginf``, ``positive``, and ``renorm`` (rescale
slices whose p-norm exceeds a bound). Each is a few rows, so it fuses, traces and
differentiates through them."""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import DTypeError, DTypeNotImplementedError

from .._args import norm_dim
from .._dispatch import apply, composite
from .._grad_mode import is_grad_enabled
from ._common import _float_of, _tensor_arg, _write_out
from .elementwise import (
    abs,
    add,
    div,
    eq,
    gt,
    isinf,
    log,
    log1p,
    logical_and,
    logical_or,
    lt,
    mul,
    neg,
    pow,
    sqrt,
    sub,
    trunc,
)
from .pointwise import clamp, where
from .reductions import amax, sum

__all__ = ["deg2rad", "rad2deg", "frac", "logit", "isposinf", "isneginf", "positive", "renorm"]


def deg2rad(input, *, out=None):
    """Degrees to radians (integers become the default float)."""
    x = _float_of(_tensor_arg(input, "deg2rad"))
    return _write_out(out, mul(x, math.pi / 180.0))


def rad2deg(input, *, out=None):
    """Radians to degrees (integers become the default float)."""
    x = _float_of(_tensor_arg(input, "rad2deg"))
    return _write_out(out, mul(x, 180.0 / math.pi))


def frac(input, *, out=None):
    """The fractional part, ``x - trunc(x)`` (keeps the sign of ``x``); floats only."""
    x = _tensor_arg(input, "frac")
    if not x._dtype.is_floating_point:
        raise DTypeNotImplementedError(f'"frac_cpu" not implemented for \'{x._dtype.name.capitalize()}\': frac expects a floating-point input')
    with composite("FracBackward0", input) as c:
        return _write_out(out, c.result(sub(x, trunc(x))))


def logit(input, eps=None, *, out=None):
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to [eps, 1 - eps] (and the
    gradient is zero outside that range, as in PyTorch)."""
    x = _float_of(_tensor_arg(input, "logit"))
    with composite("LogitBackward0", input) as c:
        if eps is not None:
            p = clamp(x, eps, 1.0 - eps)
            return _write_out(out, c.result(log(div(p, sub(1.0, p)))))
        # At 0 and 1 the quotient's gradient is 0 * inf: there log(x) - log1p(-x) gives the
        # same -inf / inf with PyTorch's infinite gradient; each branch reads a safe 0.5
        # where it is not taken, so the branch not taken adds no NaN either.
        edge = logical_or(eq(x, 0.0), eq(x, 1.0))
        inner, at_edge = where(edge, 0.5, x), where(edge, x, 0.5)
        quotient = log(div(inner, sub(1.0, inner)))
        y = where(edge, sub(log(at_edge), log1p(neg(at_edge))), quotient)
        if x.requires_grad and is_grad_enabled():
            # Outside [0, 1] PyTorch's gradient is NaN, as the value: sqrt(-(|x| + 1)) gives both
            # there (fed x only there, so its NaN gradient reaches no other element).
            outside = logical_or(lt(x, 0.0), gt(x, 1.0))
            y = where(outside, sqrt(neg(add(abs(where(outside, x, 0.0)), 1.0))), y)
        return _write_out(out, c.result(y))


def isposinf(input, *, out=None):
    """True where the element is +inf."""
    x = _tensor_arg(input, "isposinf")
    if not x._dtype.is_floating_point:
        return _write_out(out, apply("full", [], shape=tuple(x.shape), dtype=dt.bool_, value=False, _device=x._device))
    return _write_out(out, logical_and(isinf(x), gt(x, 0)))


def isneginf(input, *, out=None):
    """True where the element is -inf."""
    x = _tensor_arg(input, "isneginf")
    if not x._dtype.is_floating_point:
        return _write_out(out, apply("full", [], shape=tuple(x.shape), dtype=dt.bool_, value=False, _device=x._device))
    return _write_out(out, logical_and(isinf(x), lt(x, 0)))


def positive(input):
    """``input`` itself (unary plus); not defined for bool, as in PyTorch."""
    x = _tensor_arg(input, "positive")
    if x._dtype.is_bool:
        raise DTypeError("The `+` operator, on a bool tensor is not supported.")
    return x


def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along ``dim`` (all dims but ``dim``) whose ``p``-norm exceeds ``maxnorm`` is
    scaled by ``maxnorm / (norm + 1e-7)``, as PyTorch does; others are kept."""
    x = _tensor_arg(input, "renorm")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"renorm: expected a floating-point input, got {x._dtype}")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if x.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions")
    d = norm_dim(dim, x.ndim, "renorm")
    axes = tuple(i for i in range(x.ndim) if i != d)
    with composite("RenormBackward0", input) as c:
        if p == math.inf:
            norm = amax(abs(x), axes, keepdim=True)
        else:
            # (a zero slice's norm is a constant 0: pow(0, 1/p) would differentiate to inf and
            # give the slice NaN gradients, where PyTorch's pass the gradient through)
            total = sum(pow(abs(x), p), axes, keepdim=True)
            nonzero = gt(total, 0.0)
            norm = where(nonzero, pow(where(nonzero, total, 1.0), 1.0 / p), 0.0)
        factor = where(norm > maxnorm, div(maxnorm, norm + 1e-7), 1.0)
        return _write_out(out, c.result(mul(x, factor)))
