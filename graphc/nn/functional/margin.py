"""Margin and embedding losses: ``margin_ranking_loss``, ``hinge_embedding_loss``,
``soft_margin_loss``, ``cosine_embedding_loss``, ``triplet_margin_loss``,
``triplet_margin_with_distance_loss``, ``multi_margin_loss``,
``multilabel_margin_loss`` and ``multilabel_soft_margin_loss``."""

from __future__ import annotations

from ir.errors import ShapeError

from ... import _functional as _F
from ..._dispatch import composite
from ..._factories import arange
from ..._grad_mode import is_grad_enabled
from ..._tensor import Tensor
from ._common import _arg, _legacy_reduction, _reduce, _reshape, _scalar_like
from .activation import logsigmoid, softplus
from .distance import pairwise_distance

__all__ = [
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "triplet_margin_with_distance_loss", "multi_margin_loss", "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
]


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin): ``target`` = 1 says input1 should rank higher."""
    x1 = _arg(input1, "margin_ranking_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not (x1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: "
            f"{x1.size()}, input2: {input2.size()}, target: {target.size()} "
        )
    loss = _F.clamp_min(_F.add(_F.mul(_F.neg(target), _F.sub(x1, input2)), margin), 0.0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None, reduction="mean"):
    """x where target = 1, max(0, margin - x) where target = -1 (x usually a distance)."""
    x = _arg(input, "hinge_embedding_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    zero = _scalar_like(0, x)
    clamp = _F.clamp_min(_F.rsub(x, margin), 0.0)
    loss = _F.add(_F.where(_F.ne(target, 1), clamp, zero), _F.where(_F.ne(target, -1), x, zero))
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), the two-class logistic loss for targets in {-1, 1}."""
    x = _arg(input, "soft_margin_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if isinstance(target, Tensor) and target.requires_grad and is_grad_enabled():  # PyTorch has no target gradient
        raise RuntimeError(
            "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. "
            "This input cannot have requires_grad True."
        )
    with composite("SoftMarginLossBackward0", input, target) as cmp:
        return cmp.result(_reduce(softplus(_F.neg(_F.mul(target, x))), reduction))


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1 (cos over dim 1)."""
    x1 = _arg(input1, "cosine_embedding_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if x1.ndim != input2.ndim or x1.ndim not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss: 1D target tensor expects 2D input tensors, but found inputs with sizes "
            f"{list(x1.shape)} and {list(input2.shape)}."
        )
    if target.ndim != x1.ndim - 1:
        raise RuntimeError(
            f"cosine_embedding_loss: expected a {x1.ndim - 1}D target for {x1.ndim}D inputs, got target of size "
            f"{list(target.shape)}"
        )
    dim = x1.ndim - 1
    eps = 1e-12
    prod = _F.sum(_F.mul(x1, input2), dim)
    m1 = _F.add(_F.sum(_F.mul(x1, x1), dim), eps)
    m2 = _F.add(_F.sum(_F.mul(input2, input2), dim), eps)
    cos = _F.div(prod, _F.sqrt(_F.mul(m1, m2)))
    zero = _scalar_like(0, cos)
    pos = _F.where(_F.eq(target, 1), _F.rsub(cos, 1.0), zero)
    neg = _F.where(_F.eq(target, -1), _F.clamp_min(_F.sub(cos, margin), 0.0), zero)
    return _reduce(_F.add(pos, neg), reduction)


def _triplet(anchor, positive, negative, dist, margin, swap, reduction, op):
    a = _arg(anchor, op)
    if not (a.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            f"got: anchor {a.ndim}D, positive {positive.ndim}D, and negative {negative.ndim}D inputs"
        )
    if margin <= 0:
        raise ValueError(f"{op}: expected margin to be greater than 0, got {margin} instead")
    d_pos = dist(a, positive)
    d_neg = dist(a, negative)
    if swap:
        d_neg = _F.minimum(d_neg, dist(positive, negative))
    return _reduce(_F.clamp_min(_F.add(_F.sub(d_pos, d_neg), margin), 0.0), reduction)


def triplet_margin_loss(
    anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6, swap: bool = False,
    size_average=None, reduce=None, reduction="mean",
):
    """max(d(a, p) - d(a, n) + margin, 0) with d the p-norm :func:`pairwise_distance`;
    ``swap`` uses the smaller of d(a, n) and d(p, n)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)

    def dist(u, v):
        return pairwise_distance(u, v, p, eps)

    return _triplet(anchor, positive, negative, dist, margin, swap, reduction, "triplet_margin_loss")


def triplet_margin_with_distance_loss(
    anchor, positive, negative, *, distance_function=None, margin: float = 1.0, swap: bool = False, reduction="mean"
):
    """:func:`triplet_margin_loss` with any ``distance_function(u, v)`` (default: the Euclidean distance)."""
    dist = distance_function if distance_function is not None else pairwise_distance
    return _triplet(anchor, positive, negative, dist, margin, swap, reduction, "triplet_margin_with_distance_loss")


def _class_target(x: Tensor, target: Tensor, op: str):
    if not isinstance(target, Tensor) or not target._dtype.is_integer:
        raise RuntimeError(f"{op}: expected target of an integer (Long) dtype")
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(x.shape)}")


def multi_margin_loss(
    input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """Multi-class hinge loss: sum over j != y of max(0, margin - x[y] + x[j])^p / C (times weight[y])."""
    x = _arg(input, "multi_margin_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _class_target(x, target, "multi_margin_loss")
    unbatched = x.ndim == 1
    x2 = _F.unsqueeze(x, 0) if unbatched else x
    t = _reshape(target, (-1,))
    c = x2.shape[1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise ShapeError(f"multi_margin_loss: inconsistent weight size, expected a 1-d tensor of size {c}, got "
                         f"{list(weight.shape)}")
    picked = _F.gather(x2, 1, _F.unsqueeze(t, 1))  # (N, 1)
    z = _F.relu(_F.add(_F.sub(x2, picked), margin))  # (PyTorch's kernel: a gradient only where z > 0)
    if p == 2:
        z = _F.mul(z, z)
    if weight is not None:
        z = _F.mul(z, _F.unsqueeze(_F.index_select(weight, 0, t), 1))
    cls = _reshape(_arange(c, x), (1, c))
    others = _F.ne(cls, _F.unsqueeze(t, 1))
    loss = _F.div(_F.sum(_F.where(others, z, _scalar_like(0, z)), 1), float(c))
    if unbatched:
        loss = _F.squeeze(loss, 0)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: target rows list class indices, ended by the first -1;
    sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C."""
    x = _arg(input, "multilabel_margin_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _class_target(x, target, "multilabel_margin_loss")
    if tuple(target.shape) != tuple(x.shape):
        raise RuntimeError(
            f"multilabel_margin_loss: inconsistent target size: {list(target.shape)} for input of size: {list(x.shape)}"
        )
    unbatched = x.ndim == 1
    x2 = _F.unsqueeze(x, 0) if unbatched else x
    t = _F.unsqueeze(target, 0) if unbatched else target
    n, c = x2.shape
    # valid[j]: j comes before the first -1.
    ended = _F.cumsum(_F._to(_F.eq(t, -1), x2._dtype), 1)
    valid = _F.eq(ended, 0)
    safe = _F.where(valid, t, _F.mul(t, 0))
    cls = _reshape(_arange(c, x), (1, 1, c))
    hit = _F.logical_and(_F.eq(_F.unsqueeze(safe, 2), cls), _F.unsqueeze(valid, 2))  # (N, J, C)
    is_target = _F.any(hit, 1)  # (N, C)
    xt = _F.gather(x2, 1, safe)  # (N, J)
    margins = _F.relu(_F.add(_F.sub(_F.unsqueeze(x2, 1), _F.unsqueeze(xt, 2)), 1.0))  # (N, J, C); strict, as multi_margin
    mask = _F.logical_and(_F.unsqueeze(valid, 2), _F.logical_not(_F.unsqueeze(is_target, 1)))
    loss = _F.div(_F.sum(_F.where(mask, margins, _scalar_like(0, margins)), (1, 2)), float(c))
    if unbatched:
        loss = _F.squeeze(loss, 0)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Per-class logistic loss averaged over the C classes: -(t log s(x) + (1 - t) log s(-x)), s = sigmoid."""
    x = _arg(input, "multilabel_soft_margin_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = _F.neg(_F.add(_F.mul(target, logsigmoid(x)), _F.mul(_F.rsub(target, 1.0), logsigmoid(_F.neg(x)))))
    if weight is not None:
        loss = _F.mul(loss, weight)
    loss = _F.div(_F.sum(loss, x.ndim - 1), float(x.shape[-1]))
    return _reduce(loss, reduction)


def _arange(n: int, like: Tensor) -> Tensor:
    return arange(n, device=like._device)
