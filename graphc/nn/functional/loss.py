"""Losses, with PyTorch's ``reduction=`` (and the legacy ``size_average``/``reduce``)."""

from __future__ import annotations

import builtins
import warnings

import numpy as np

from ir import dtypes as dt
from ir.errors import ShapeError, UnsupportedError, ValueCheckError
from ir.ops import broadcast_shapes

from ... import _functional as _F
from ..._dispatch import apply, composite
from ..._tensor import Tensor
from ._common import _arg, _legacy_reduction, _reduce, _reshape, _scalar_like, _torch_dtype_name
from .activation import _log1p_exp

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div",
]


def _check_target_size(input, target, op):
    if tuple(target.shape) != tuple(input.shape):
        broadcast_shapes(tuple(input.shape), tuple(target.shape), op=op)  # a ShapeError naming the loss
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean squared error (grad_fn ``MseLossBackward0``)."""
    x = _arg(input, "mse_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_target_size(x, target, "mse_loss")
    with composite("MseLossBackward0", input, target) as cmp:
        d = _F.sub(x, target)
        sq = _F.mul(d, d)
        if weight is not None:
            sq = _F.mul(sq, weight)
        return cmp.result(_reduce(sq, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean absolute error."""
    x = _arg(input, "l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_target_size(x, target, "l1_loss")
    loss = _F.abs(_F.sub(x, target))
    if weight is not None:
        loss = _F.mul(loss, weight)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    x = _arg(input, "smooth_l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_target_size(x, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    with composite("SmoothL1LossBackward0", input, target) as cmp:
        d = _F.abs(_F.sub(x, target))
        if beta == 0:
            loss = d
        else:
            near = _F.lt(d, beta)
            dn = _F.where(near, d, _scalar_like(0, d))  # (an infinite d's unused square: 0 * inf = NaN)
            loss = _F.where(near, _F.mul(_F.mul(dn, dn), 0.5 / beta), _F.sub(d, 0.5 * beta))
        return cmp.result(_reduce(loss, reduction))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    x = _arg(input, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_target_size(x, target, "huber_loss")
    with composite("HuberLossBackward0", input, target) as cmp:
        d = _F.abs(_F.sub(x, target))
        near = _F.lt(d, delta)
        dn = _F.where(near, d, _scalar_like(0, d))  # (an infinite d's unused square: 0 * inf = NaN)
        loss = _F.where(near, _F.mul(_F.mul(dn, dn), 0.5), _F.mul(_F.sub(d, 0.5 * delta), delta))
        if weight is not None:
            loss = _F.mul(loss, weight)
        return cmp.result(_reduce(loss, reduction))


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean"
):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target`` (N, ...).

    ``weight`` rescales each class; targets equal to ``ignore_index`` contribute
    nothing, and ``'mean'`` divides by the summed weights of the counted targets.
    """
    x = _arg(input, "nll_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not isinstance(target, Tensor):
        raise TypeError(f"nll_loss(): argument 'target' must be Tensor, not {type(target).__name__}")
    if not target._dtype.is_integer:
        raise RuntimeError(
            f"nll_loss: expected scalar type Long for target (class indices) but found {target._dtype}; "
            "use .long(), or pass class probabilities to cross_entropy"
        )
    if target._dtype not in (dt.int64, dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_torch_dtype_name(target._dtype)}")
    unbatched = x.ndim == 1
    if unbatched:
        if target.ndim != 0:
            raise ValueError(
                f"nll_loss: expected a 0-d target for a 1-d input, got target of shape {list(target.shape)}"
            )
        x, target = _F.unsqueeze(x, 0), _F.unsqueeze(target, 0)
    if x.ndim < 2:
        raise ValueError(f"Expected 2 or more dimensions (got {x.ndim})")
    if target.shape[0] != x.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({target.shape[0]}).")
    if x.ndim == 2 and target.ndim > 1:
        raise ShapeError(
            f"nll_loss: 0D or 1D target tensor expected, multi-target not supported (target of shape {list(target.shape)})"
        )
    if tuple(target.shape[1:]) != tuple(x.shape[2:]):
        raise ShapeError(
            f"nll_loss: expected target of shape {[x.shape[0]] + list(x.shape[2:])}, got {list(target.shape)}"
        )
    c = x.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
    plain = False  # every target a class, none ignored, no weights: the loss needs no mask
    if isinstance(target._data, np.ndarray) and target.numel():
        if _every_target_a_class(target._data, c, ignore_index):
            plain = weight is None and x._dtype in _PLAIN_DTYPES and target.numel() < _EXACT_COUNT
        else:
            t = target._data[target._data != ignore_index]
            bad = t[(t < 0) | (t >= c)]
            if bad.size:
                raise IndexError(f"nll_loss: Target {int(bad.flat[0])} is out of bounds (there are {c} classes).")
    with composite("NllLossBackward0", input, target, weight) as cmp:
        # Without a mask (``plain``) every target counts once: the weights are exact ones and
        # their sum the exact count, so leaving them out gives the masked form's values bit for
        # bit in 6 ops instead of 11 (eagerly, a small classifier's loss is mostly per-op cost).
        if plain:
            safe, w = target, None
        else:
            valid = _F.ne(target, ignore_index)
            safe = _F.where(valid, target, 0)
            if weight is not None:
                w = _reshape(
                    apply("index_select", [_F._to(weight, x._dtype), _reshape(safe, (-1,))], axis=0), tuple(safe.shape)
                )
                w = _F.where(valid, w, _scalar_like(0, w))
            else:
                w = _F._to(valid, x._dtype)
        picked = _F.squeeze(apply("gather", [x, _F.unsqueeze(safe, 1)], axis=1), 1)
        if w is None:
            loss = _F.neg(picked)
        else:  # an ignored row adds 0 whatever it holds (-inf * 0 would be NaN)
            loss = _F.where(valid, _F.neg(picked if weight is None else _F.mul(picked, w)), _scalar_like(0, picked))
        if reduction == "mean":
            out = _F.div(_F.sum(loss), float(target.numel())) if w is None else _by_total_weight(_F.sum(loss), _F.sum(w))
        elif reduction == "sum":
            out = _F.sum(loss)
        elif reduction == "none":
            out = _F.squeeze(loss, 0) if unbatched else loss
        else:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        return cmp.result(out)


def _by_total_weight(total: Tensor, weight: Tensor) -> Tensor:
    """``total / weight`` for a 'mean' over the counted targets. With every target ignored the
    value is PyTorch's 0 / 0 = NaN, but no gradient flows (PyTorch's is 0; through 1 / 0 every
    logit's would be NaN, and so every parameter's)."""
    empty = _F.eq(weight, 0)
    safe = _F.where(empty, _scalar_like(1, weight), weight)
    return _F.where(empty, _F.div(total, weight).detach(), _F.div(total, safe))


# The short form's mean divides by the count, which equals the masked form's float sum of ones
# while the count is exact in float32 (and in float64).
_PLAIN_DTYPES = (dt.float32, dt.float64)
_EXACT_COUNT = 1 << 24


def _every_target_a_class(t: np.ndarray, c: int, ignore_index: int) -> bool:
    """Whether every target is in ``[0, c)`` and none can equal ``ignore_index`` (a class index
    itself is ignored only where it occurs: then the masked form runs)."""
    return 0 <= int(t.min()) and int(t.max()) < c and not 0 <= ignore_index < c


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross entropy of logits ``input`` (N, C, ...) against class indices or class probabilities.

    With class indices it is ``nll_loss(log_softmax(input, 1), target)`` (grad_fn
    ``NllLossBackward0``); ``label_smoothing`` mixes in the uniform distribution.
    """
    x = _arg(input, "cross_entropy")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not x._dtype.is_floating_point:
        raise UnsupportedError(f'"log_softmax_lastdim_kernel_impl" not implemented for \'{_torch_dtype_name(x._dtype)}\'')
    if x.ndim == 0:
        raise ShapeError("cross_entropy: expected an input of at least 1 dimension (N, C, ...) or (C,), got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueCheckError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    cdim = 0 if x.ndim == 1 else 1
    c = x.shape[cdim]
    logp = _F.log_softmax(x, cdim)
    wshape = [1] * x.ndim
    wshape[cdim] = c
    if isinstance(target, Tensor) and target._dtype.is_floating_point:
        if tuple(target.shape) != tuple(x.shape):
            raise RuntimeError(
                f"cross_entropy: class-probability targets must have the input's shape {list(x.shape)}, got {list(target.shape)}"
            )
        t = target
        if label_smoothing > 0:
            t = _F.add(_F.mul(t, 1.0 - label_smoothing), label_smoothing / c)
        prod = _F.mul(logp, t)
        if weight is not None:
            prod = _F.mul(prod, _reshape(weight, wshape))
        loss = _F.neg(_F.sum(prod, cdim))
        if reduction == "mean":
            return _F.div(_F.sum(loss), float(builtins.max(x.numel() // c, 1)) if x.ndim > 1 else 1.0)
        return _reduce(loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    valid = _F.ne(target, ignore_index)
    if weight is not None:
        smooth = _F.neg(_F.sum(_F.mul(logp, _reshape(weight, wshape)), cdim))
    else:
        smooth = _F.neg(_F.sum(logp, cdim))
    smooth = _F.where(valid, smooth, _scalar_like(0, smooth))
    if reduction == "mean":
        if weight is not None:
            safe = _F.where(valid, target, 0)
            w = _reshape(
                apply("index_select", [_F._to(weight, x._dtype), _reshape(safe, (-1,))], axis=0), tuple(safe.shape)
            )
            denom = _F.sum(_F.where(valid, w, _scalar_like(0, w)))
        else:
            denom = _F.sum(_F._to(valid, x._dtype))
        smooth = _by_total_weight(_F.sum(smooth), denom)
    elif reduction == "sum":
        smooth = _F.sum(smooth)
    return _F.add(_F.mul(nll, 1.0 - label_smoothing), _F.mul(smooth, label_smoothing / c))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as in PyTorch."""
    x = _arg(input, "binary_cross_entropy")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(x.shape):
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size ({x.size()}) is deprecated. "
            "Please ensure they have the same size."
        )
    if isinstance(target, Tensor) and target._dtype is not x._dtype:
        raise RuntimeError(f"Found dtype {_torch_dtype_name(target._dtype)} but expected {_torch_dtype_name(x._dtype)}")
    message = "binary_cross_entropy: all elements of input should be between 0 and 1"
    if isinstance(x._data, np.ndarray):
        if x.numel() and not ((x._data >= 0) & (x._data <= 1)).all():  # NaN fails too, as in PyTorch
            raise ValueCheckError(message)
    with composite("BinaryCrossEntropyBackward0", input, target, weight) as cmp:
        if not isinstance(x._data, np.ndarray):  # traced or on a device: the program checks when it runs
            x = apply("check_range", [x], low=0.0, high=1.0, message=message)
        loss = _bce_terms(x, target)
        if weight is not None:
            loss = _F.mul(loss, weight)
        return cmp.result(_reduce(loss, reduction))


_LOG_FLOOR = -100.0  # PyTorch clamps BCE's logs here
# PyTorch's backward divides by max(x (1 - x), EPSILON) with EPSILON a C++ float 1e-12, converted to
# the input's dtype: 9.99999996e-13 in float64 as well.
_BCE_EPS = float(np.float32(1e-12))


def _bce_terms(x: Tensor, target) -> Tensor:
    """-(t * max(log x, -100) + (1 - t) * max(log1p(-x), -100)), elementwise, PyTorch's values.

    PyTorch's gradient in x is not this formula's but (x - t) / max(x (1 - x), 1e-12): finite at a
    saturated sigmoid's x = 0 or 1 (where the formula's is 0 * inf = NaN, poisoning every
    parameter behind it) and capped at |x - t| * 1e12 near them (where the formula's grows to
    1e20 at x = 1e-20, or is 0 once the log is clamped). Where that max picks 1e-12 the loss is
    its value, computed from the detached input, plus (x - x.detach()) times that slope (zero in
    value); elsewhere autodiff's gradient is the same quotient, and the formula reads a safe 0.5
    at the capped points."""
    xd = x.detach()
    t = target.detach() if isinstance(target, Tensor) else target
    capped = _F.le(_F.mul(_F.rsub(xd, 1.0), xd), _BCE_EPS)

    def value(p):
        log_p = _F.clamp_min(_F.log(p), _LOG_FLOOR)
        log_1mp = _F.clamp_min(_F.log1p(_F.neg(p)), _LOG_FLOOR)  # log1p(-x), as PyTorch: exact for small x
        return _F.neg(_F.add(_F.mul(target, log_p), _F.mul(_F.rsub(target, 1.0), log_1mp)))

    inside = value(_F.where(capped, _scalar_like(0.5, x), x))
    slope = _F.div(_F.sub(xd, t), _BCE_EPS)
    at_cap = _F.add(value(xd), _F.mul(_F.sub(x, xd), slope))
    return _F.where(capped, at_cap, inside)


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None
):
    """Sigmoid + binary cross entropy in one stable formula; ``pos_weight`` weighs the positive term."""
    x = _arg(input, "binary_cross_entropy_with_logits")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(x.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({x.size()})")
    if isinstance(target, Tensor) and not target._dtype.is_floating_point:  # (PyTorch: no cast of the result)
        raise RuntimeError(
            f"result type {_torch_dtype_name(x._dtype)} can't be cast to the desired output type "
            f"{_torch_dtype_name(target._dtype)}"
        )
    with composite("BinaryCrossEntropyWithLogitsBackward0", input, target, weight, pos_weight) as cmp:
        log_sig_neg = _log1p_exp(_F.neg(x))  # log(1 + exp(-x)), no overflow, its derivative right at 0
        one_minus_t = _F.rsub(target, 1.0)
        if pos_weight is not None:
            log_weight = _F.add(_F.mul(_F.sub(pos_weight, 1.0), target), 1.0)
            loss = _F.add(_F.mul(one_minus_t, x), _F.mul(log_weight, log_sig_neg))
        else:
            loss = _F.add(_F.mul(one_minus_t, x), log_sig_neg)
        if weight is not None:
            loss = _F.mul(loss, weight)
        return cmp.result(_reduce(loss, reduction))


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """KL divergence with ``input`` as log-probabilities; use ``reduction='batchmean'`` for the true KL."""
    x = _arg(input, "kl_div")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = _F.mul(_F.exp(target), _F.sub(target, x))
    else:
        pos = _F.gt(target, 0)
        safe = _F.where(pos, target, _scalar_like(1, target))
        loss = _F.where(pos, _F.mul(target, _F.sub(_F.log(safe), x)), _F.neg(_F.mul(target, x)))
        # PyTorch's xlogy(t, t) - t * x: a negative (invalid) target's log is NaN; the input's
        # gradient stays -t there
        loss = _F.add(loss, _F.where(_F.lt(target, 0), _scalar_like(float("nan"), loss), _scalar_like(0, loss)))
    if reduction == "batchmean":
        return _F.div(_F.sum(loss), float(x.shape[0]) if x.ndim else 1.0)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
            UserWarning,
            stacklevel=2,
        )
    return _reduce(loss, reduction)
