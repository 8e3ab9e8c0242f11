"""``multi_head_attention_forward``: the functional form of ``nn.MultiheadAttention``.

PyTorch's algorithm step by step (in-projection, optional key/value biases and
zero attention, masks folded into one additive float mask, scaled dot-product
attention per head, out-projection) from graphc ops, so it fuses and compiles.
"""

from __future__ import annotations

import math
import warnings

from ... import _functional as _F
from ..._factories import zeros
from ..._tensor import Tensor
from ._common import _reshape
from .activation import softmax
from .dense import linear, scaled_dot_product_attention
from .misc import dropout, pad

__all__ = ["multi_head_attention_forward"]


def _canonical_mask(mask, name: str, other_name: str, other, target_dtype):
    """A bool mask (True = masked) as an additive float mask of ``target_dtype``; float masks pass."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(mask).__name__}")
    if mask._dtype.is_bool:
        base = zeros(tuple(mask.shape), dtype=target_dtype, device=mask._device)
        return _F.masked_fill(base, mask, float("-inf"))
    if not mask._dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and other._dtype is not mask._dtype:
        warnings.warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
            UserWarning,
            stacklevel=3,
        )
    return mask


def _in_projection(q, k, v, w, b, same: bool):
    if same:
        proj = linear(q, w, b)
        return tuple(_F.chunk(proj, 3, -1))
    wq, wk, wv = _F.chunk(w, 3, 0)
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = _F.chunk(b, 3, 0)
    return linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)


def _out_projection(out, weight, bias, tgt_len: int, bsz: int, embed_dim: int, is_batched: bool):
    """The heads' outputs (N*H, L, hd) concatenated per position and projected: (L, N, E), or (L, E)."""
    out = _reshape(_F.transpose(out, 0, 1), (tgt_len * bsz, embed_dim))
    out = _reshape(linear(out, weight, bias), (tgt_len, bsz, embed_dim))
    return out if is_batched else _F.squeeze(out, 1)


def multi_head_attention_forward(
    query,
    key,
    value,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight,
    out_proj_bias,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
):
    """Multi-head attention of (L, N, E) queries over (S, N, E) keys/values (or unbatched (L, E)).

    Returns ``(output (L, N, E), weights)`` where the weights are (N, L, S)
    averaged over heads (``average_attn_weights``), (N, H, L, S) per head, or
    None without ``need_weights``. Bool masks mark *masked* positions with True;
    float masks are added to the scores.
    """
    is_batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(
            f"query, key and value should be all 2-D (unbatched) or all 3-D (batched), got {query.ndim}-D, "
            f"{key.ndim}-D and {value.ndim}-D tensors"
        )
    if not is_batched:
        query, key, value = _F.unsqueeze(query, 1), _F.unsqueeze(key, 1), _F.unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = _F.unsqueeze(key_padding_mask, 0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask."
        )
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", "attn_mask", attn_mask, query._dtype)
    attn_mask = _canonical_mask(attn_mask, "attn_mask", "key_padding_mask", None, query._dtype)
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or v_proj_weight is None")
        bq = bk = bv = None
        if in_proj_bias is not None:
            bq, bk, bv = _F.chunk(in_proj_bias, 3, 0)
        q, k, v = linear(query, q_proj_weight, bq), linear(key, k_proj_weight, bk), linear(value, v_proj_weight, bv)
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        same = query is key and key is value
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, same)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be {(tgt_len, src_len)}."
                )
            attn_mask = _F.unsqueeze(attn_mask, 0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = _F.cat([k, _F.expand(_reshape(bias_k, (1, 1, embed_dim)), (1, bsz, embed_dim))], 0)
        v = _F.cat([v, _F.expand(_reshape(bias_v, (1, 1, embed_dim)), (1, bsz, embed_dim))], 0)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    q = _F.transpose(_reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    if static_k is None:
        k = _F.transpose(_reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1)
    else:
        if tuple(static_k.shape[::2]) != (bsz * num_heads, head_dim):
            raise AssertionError(f"expecting static_k of shape ({bsz * num_heads}, S, {head_dim}), got {list(static_k.shape)}")
        k = static_k
    if static_v is None:
        v = _F.transpose(_reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1)
    else:
        if tuple(static_v.shape[::2]) != (bsz * num_heads, head_dim):
            raise AssertionError(f"expecting static_v of shape ({bsz * num_heads}, S, {head_dim}), got {list(static_v.shape)}")
        v = static_v
    if add_zero_attn:
        zk = zeros((bsz * num_heads, 1, head_dim), dtype=k._dtype, device=k._device)
        k = _F.cat([k, zk], 1)
        v = _F.cat([v, zeros((bsz * num_heads, 1, head_dim), dtype=v._dtype, device=v._device)], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got {tuple(key_padding_mask.shape)}"
            )
        kpm = _reshape(_F.expand(_reshape(key_padding_mask, (bsz, 1, 1, src_len)), (bsz, num_heads, 1, src_len)),
                       (bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else _F.add(attn_mask, kpm)
    if not training:
        dropout_p = 0.0
    if not need_weights:
        # PyTorch's path here is scaled_dot_product_attention, whose safe softmax gives a query
        # with every key masked a zero row (output: the out-projection's bias) and no gradient,
        # where a plain softmax gives NaN in the output and in every parameter's gradient. This is
        # the path every Transformer layer takes, so one fully padded sequence would poison training.
        out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p)  # (N*H, L, hd)
        return _out_projection(out, out_proj_weight, out_proj_bias, tgt_len, bsz, embed_dim, is_batched), None
    scale = math.sqrt(1.0 / head_dim)
    scores = _F.matmul(_F.mul(q, scale), _F.transpose(k, -2, -1))  # (N*H, L, S)
    if attn_mask is not None:
        scores = _F.add(scores, attn_mask)
    weights = softmax(scores, -1)  # a fully masked row is NaN here, as in PyTorch's need_weights path
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    out = _out_projection(_F.matmul(weights, v), out_proj_weight, out_proj_bias, tgt_len, bsz, embed_dim, is_batched)
    w = _reshape(weights, (bsz, num_heads, tgt_len, src_len))
    if average_attn_weights:
        w = _F.mean(w, 1)
    if not is_batched:
        w = _F.squeeze(w, 0)
    return out, w

