"""Dense maps: ``linear``, ``bilinear`` and ``scaled_dot_product_attention``."""

from __future__ import annotations

import math

from ir import dtypes as dt

from ... import _functional as _F
from ..._factories import ones
from ._common import _arg, _check_same_dtype, _reshape, _scalar_like
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
    if x.ndim > 2 and bias is not None and weight.ndim == 2 and x.is_contiguous():
        # PyTorch flattens a contiguous input to one addmm (the bias added before rounding, once)
        out = _F.addmm(bias, _F.reshape(x, (-1, x.shape[-1])), _F.t(weight))
        return _F.reshape(out, (*x.shape[:-1], weight.shape[0]))
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
    """softmax(q @ k^T * scale + mask) @ v, with an optional causal mask and dropout.

    A bool ``attn_mask`` marks the positions that *take part* (True); a float one
    is added to the scores. ``enable_gqa`` lets key/value carry fewer heads (dim
    -3) than the query, each repeated to the query heads that share it (grouped
    query attention). As PyTorch documents, an explicit mask with ``is_causal``
    is an error (its math kernel raises; its CPU flash kernel, picked for some
    4-d inputs, applies both instead: graphc always raises).
    """
    _check_sdpa_args(query, key, value, attn_mask, is_causal)
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key, "key"), _repeat_kv_heads(query, value, "value")
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


def _check_sdpa_args(query, key, value, attn_mask, is_causal: bool) -> None:
    """PyTorch's argument checks, with its exception types and messages (an int mask is not added
    to the scores). A mask of fewer than 2 dims broadcasts, as the documented shape rule and
    PyTorch's math kernel do; only its CPU flash kernel (4-d inputs) raises IndexError there."""
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if not (query._dtype is key._dtype and key._dtype is value._dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query._dtype} key.dtype: {key._dtype} and value.dtype: {value._dtype} instead."
        )
    if attn_mask is None:
        return
    if attn_mask._dtype not in (dt.bool_, dt.float32, query._dtype):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
            f"{attn_mask._dtype} and  query.dtype: {query._dtype} instead."
        )
    if is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")


def _repeat_kv_heads(query, kv, name: str):
    """``kv`` with each of its heads (dim -3) repeated to cover the query's heads, in PyTorch's
    order (``repeat_interleave``: heads 0,0,1,1 for 4 query heads over 2)."""
    if query.ndim < 3 or kv.ndim < 3:
        raise IndexError(f"scaled_dot_product_attention(enable_gqa=True): {name} has no head dim (-3)")
    hq, hkv = query.shape[-3], kv.shape[-3]
    if hq == hkv:
        return kv
    if hkv == 0 or hq % hkv:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
    lead, (s, d) = tuple(kv.shape[:-3]), kv.shape[-2:]
    grouped = _F.expand(_F.unsqueeze(kv, -3), lead + (hkv, hq // hkv, s, d))
    return _reshape(grouped, lead + (hq, s, d))
