"""Dense maps: ``linear``, ``bilinear`` and ``scaled_dot_product_attention``."""

from __future__ import annotations

import math

from ir import dtypes as dt

from ... import _functional as _F
from ..._factories import ones
from ._common import _arg, _check_same_dtype, _scalar_like
from .misc import dropout

__all__ = [
    "linear", "bilinear", "scaled_dot_product_attention",
]


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; for a 2-d input one ``addmm`` (grad_fn ``AddmmBackward0``)."""
    x = _arg(input, "linear")
    _check_same_dtype("linear", x, weight)
    if x.ndim == 2 and bias is not None:
        return _F.addmm(bias, x, _F.t(weight))
    out = _F.matmul(x, _F.t(weight) if weight.ndim == 2 else weight)
    if bias is not None:
        out = _F.add(out, bias)
    return out


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1 @ W_k @ x2 + b_k`` for weight of shape (out, in1, in2)."""
    x1 = _F.unsqueeze(_F.unsqueeze(input1, -2), -3)  # (..., 1, 1, in1)
    t = _F.matmul(x1, weight)  # (..., out, 1, in2)
    t = _F.squeeze(t, -2)  # (..., out, in2)
    out = _F.sum(_F.mul(t, _F.unsqueeze(input2, -2)), -1)
    if bias is not None:
        out = _F.add(out, bias)
    return out


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale=None,
    enable_gqa: bool = False,
):
    """softmax(q @ k^T * scale + mask) @ v, with an optional causal mask and dropout."""
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = _F.mul(_F.matmul(query, _F.transpose(key, -2, -1)), scale)
    if is_causal:
        keep = _F.tril(ones((L, S), dtype=dt.bool_, device=query._device))
        scores = _F.masked_fill(scores, _F.logical_not(keep), float("-inf"))
    if attn_mask is not None:
        if attn_mask._dtype.is_bool:
            scores = _F.masked_fill(scores, _F.logical_not(attn_mask), float("-inf"))
        else:
            scores = _F.add(scores, attn_mask)
    if attn_mask is None:
        attn = _F.softmax(scores, -1)
    else:
        # PyTorch's safe softmax: a query whose every key is masked out attends to nothing (a
        # zero row, no gradient) instead of 0/0 = NaN, which would reach every input's gradient.
        # The masked-out rows read zeros, so the softmax they skip stays finite too.
        dead = _F.eq(_F.amax(scores, -1, keepdim=True), float("-inf"))
        zero = _scalar_like(0, scores)
        live = _F.softmax(_F.where(dead, zero, scores), -1)
        attn = _F.where(dead, zero, live)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return _F.matmul(attn, value)
