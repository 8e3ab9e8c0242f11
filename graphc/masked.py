"""``graphc.masked``: PyTorch's ``torch.masked`` reductions and normalizations on strided
tensors with a boolean ``mask`` (True: the element takes part).

Each function replaces the masked-out elements by its reduction's identity (0 for sums, 1 for
products, -inf for maxima and soft-maxima...) and then runs the ordinary graphc function, so
results, fully-masked cases (``sum`` 0, ``amax`` -inf, ``mean``/``var``/``softmax`` NaN) and
gradients (none reach masked-out elements) are PyTorch's. ``mask`` broadcasts to the input;
``dim=None`` reduces every dim.
"""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import DTypeError

from . import _factories
from . import _functional as F
from ._args import norm_dim, norm_dims
from ._tensor import Tensor
from .linalg.norms import vector_norm

__all__ = [
    "sum", "prod", "amax", "amin", "argmax", "argmin", "mean", "median", "norm", "var", "std", "logsumexp",
    "cumsum", "cumprod", "softmax", "log_softmax", "softmin", "normalize", "logaddexp",
]

def _input(input, name, dtype):
    if not isinstance(input, Tensor):
        raise TypeError(f"masked.{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    return F._to(input, dtype if not isinstance(dtype, str) else dt.by_name(dtype)) if dtype is not None else input


def _mask(x: Tensor, mask, name) -> Tensor | None:
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked.{name}(): mask must be a Tensor, got {type(mask).__name__}")
    if not mask._dtype.is_bool:
        raise DTypeError(f"masked.{name}(): mask must have dtype bool, got {mask._dtype}")
    return F.broadcast_to(mask, tuple(x.shape))


def _fill(x: Tensor, mask, value) -> Tensor:
    """``x`` with ``value`` where ``mask`` is False."""
    return x if mask is None else F.where(mask, x, value)


def _dims(x, dim, name):
    return norm_dims(dim, x.ndim, f"masked.{name}") if not (isinstance(dim, (tuple, list)) and not dim) else tuple(range(x.ndim))


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _input(input, "sum", dtype)
    return F.sum(_fill(x, _mask(x, mask, "sum"), 0), _dims(x, dim, "sum"), keepdim, dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _input(input, "prod", dtype)
    x = _fill(x, _mask(x, mask, "prod"), 1)
    for d in sorted(_dims(x, dim, "prod"), reverse=True):
        x = F.prod(x, d, keepdim=keepdim)
    return x


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _input(input, "amax", dtype)
    return F.amax(_fill(x, _mask(x, mask, "amax"), -math.inf), _dims(x, dim, "amax"), keepdim)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _input(input, "amin", dtype)
    return F.amin(_fill(x, _mask(x, mask, "amin"), math.inf), _dims(x, dim, "amin"), keepdim)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The index of the largest unmasked element (0 when all are masked), in ``dtype`` (the
    input's by default, as ``torch.masked.argmax`` returns it)."""
    x = _input(input, "argmax", dtype)
    r = F.argmax(_fill(x, _mask(x, mask, "argmax"), -math.inf), dim, keepdim)
    return F._to(r, x._dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _input(input, "argmin", dtype)
    r = F.argmin(_fill(x, _mask(x, mask, "argmin"), math.inf), dim, keepdim)
    return F._to(r, x._dtype)


def _count(x, m, axes, keepdim):
    if m is None:
        n = 1
        for a in axes:
            n *= x.shape[a]
        return n
    return F.sum(F._to(m, dt.to_real(x._dtype) if x._dtype.is_differentiable else dt.default_float()), axes, keepdim)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The mean of the unmasked elements (NaN where there are none)."""
    x = _input(input, "mean", dtype)
    m = _mask(x, mask, "mean")
    axes = _dims(x, dim, "mean")
    return F.div(F.sum(_fill(x, m, 0), axes, keepdim), _count(x, m, axes, keepdim))


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """The lower median of the unmasked elements along ``dim`` (NaN where there are none);
    the gradient reaches the element chosen."""
    x = _input(input, "median", dtype)
    m = _mask(x, mask, "median")
    if dim is None:
        x, m, dim = F.flatten(x), None if m is None else F.flatten(m), 0
    d = norm_dim(dim, x.ndim, "masked.median")
    filled = _fill(x, m, math.inf)
    order = F.sort(filled.detach(), d).indices
    n = F.sum(F._to(m, dt.int64), d, keepdim=True) if m is not None else x.shape[d]
    k = F.floor_divide(F.sub(n, 1), 2) if m is not None else (n - 1) // 2
    pick = F.gather(order, d, F.clamp_min(k, 0) if m is not None else F.full_like(F.narrow(order, d, 0, 1), k))
    r = F.gather(x, d, pick)
    if m is not None:
        r = F.where(F.eq(n, 0), math.nan, r)
    return r if keepdim else F.squeeze(r, d)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The vector ``ord``-norm of the unmasked elements (0 where there are none)."""
    x = _input(input, "norm", dtype)
    m = _mask(x, mask, "norm")
    fill = math.inf if ord == -math.inf else 0
    return vector_norm(_fill(x, m, fill), ord, _dims(x, dim, "norm"), keepdim)


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    """The variance of the unmasked elements (``correction`` 1 by default; NaN without elements)."""
    x = _input(input, "var", dtype)
    m = _mask(x, mask, "var")
    axes = _dims(x, dim, "var")
    corr = correction if correction is not None else (0 if unbiased is False else 1)
    n = _count(x, m, axes, True)
    mu = F.div(F.sum(_fill(x, m, 0), axes, keepdim=True), n)
    dev = _fill(F.sub(x, mu), m, 0)
    sq = F.real(F.mul(dev, F.conj(dev))) if dev._dtype.is_complex else F.mul(dev, dev)
    denom = F.sub(_count(x, m, axes, keepdim), corr)
    denom = F.where(F.le(denom, 0), math.nan, denom) if isinstance(denom, Tensor) else (denom if denom > 0 else math.nan)
    return F.div(F.sum(sq, axes, keepdim), denom)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return F.sqrt(var(input, dim, unbiased, correction=correction, keepdim=keepdim, dtype=dtype, mask=mask))


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """log(sum(exp)) of the unmasked elements (-inf where there are none)."""
    x = _input(input, "logsumexp", dtype)
    return F.logsumexp(_fill(x, _mask(x, mask, "logsumexp"), -math.inf), _dims(x, dim, "logsumexp"), keepdim)


def cumsum(input, dim, *, dtype=None, mask=None):
    """The running sum along ``dim`` where masked-out elements count as 0."""
    x = _input(input, "cumsum", dtype)
    return F.cumsum(_fill(x, _mask(x, mask, "cumsum"), 0), dim)


def _running_product(x: Tensor, d: int) -> Tensor:
    """Inclusive prefix products along ``d`` by doubling (Hillis and Steele): log2(n) steps of
    multiplying by the sequence shifted right (padded with ones), so it traces and differentiates."""
    n = x.shape[d]
    step = 1
    while step < n:
        shifted = F.narrow(x, d, 0, n - step)
        ones = _factories.ones_like(F.narrow(x, d, 0, step))
        x = F.mul(x, F.cat([ones, shifted], d))
        step *= 2
    return x


def cumprod(input, dim, *, dtype=None, mask=None):
    """The running product along ``dim`` where masked-out elements count as 1."""
    x = _input(input, "cumprod", dtype)
    x = _fill(x, _mask(x, mask, "cumprod"), 1)
    return _running_product(x, norm_dim(dim, x.ndim, "masked.cumprod")) if x.ndim else x


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax over the unmasked elements (0 at masked ones; NaN where all are masked)."""
    x = _input(input, "softmax", dtype)
    return F.softmax(_fill(x, _mask(x, mask, "softmax"), -math.inf), dim)


def log_softmax(input, dim, *, dtype=None, mask=None):
    x = _input(input, "log_softmax", dtype)
    return F.log_softmax(_fill(x, _mask(x, mask, "log_softmax"), -math.inf), dim)


def softmin(input, dim, *, dtype=None, mask=None):
    x = _input(input, "softmin", dtype)
    return F.softmax(_fill(F.neg(x), _mask(x, mask, "softmin"), -math.inf), dim)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """``x / max(norm(x), eps)`` over the unmasked elements (masked ones become 0)."""
    x = _input(input, "normalize", dtype)
    m = _mask(x, mask, "normalize")
    xm = _fill(x, m, 0)
    nrm = norm(xm, ord, dim, keepdim=True)
    return F.div(xm, F.clamp_min(nrm, eps))


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """``logaddexp`` where a masked-out operand counts as -inf (its term vanishes)."""
    x = _input(input, "logaddexp", dtype)
    y = _input(other, "logaddexp", dtype)
    return F.logaddexp(_fill(x, _mask(x, input_mask, "logaddexp"), -math.inf),
                       _fill(y, _mask(y, other_mask, "logaddexp"), -math.inf))

