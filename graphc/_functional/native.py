"""PyTorch's ``native_*`` functions, which return the statistics their backward uses along
with the result: ``native_layer_norm``, ``native_group_norm``, ``native_batch_norm``, and two
backward helpers that are plain formulas: ``native_dropout_backward`` and
``max_pool2d_with_indices_backward``. Composites of rows, so they trace and differentiate."""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import ShapeError
from ir.ops import fmt_shape

from .._dispatch import apply
from .._tensor import Tensor
from ._common import _tensor_arg, _to
from .elementwise import add, mul, rsqrt, sub
from .indexing import scatter_add
from .reductions import mean
from .shape import reshape

__all__ = [
    "native_layer_norm", "native_group_norm", "native_batch_norm", "native_dropout_backward",
    "max_pool2d_with_indices_backward",
]


def _stats(x, axes, eps):
    m = mean(x, axes, keepdim=True)
    d = sub(x, m)
    var = mean(mul(d, d), axes, keepdim=True)  # biased, as normalization uses
    return m, rsqrt(add(var, eps)), d


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """``(out, mean, rstd)``: layer norm over the trailing ``normalized_shape`` dims, with the
    per-row mean and reciprocal std (shaped with those dims kept as 1)."""
    x = _tensor_arg(input, "native_layer_norm")
    shape = tuple(normalized_shape)
    k = len(shape)
    if tuple(x.shape[x.ndim - k :]) != shape:
        raise ShapeError(f"native_layer_norm: normalized_shape {list(shape)} does not match the trailing dims of the "
                         f"input {fmt_shape(x.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    m, rstd, d = _stats(x, axes, eps)
    out = mul(d, rstd)
    if weight is not None:
        out = mul(out, weight)
    if bias is not None:
        out = add(out, bias)
    return out, m, rstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """``(out, mean, rstd)``: group norm of an [N, C, *] input in ``group`` groups; the
    statistics are [N, group]."""
    x = _tensor_arg(input, "native_group_norm")
    if C % group:
        raise ShapeError(f"native_group_norm: the number of channels {C} must be divisible by the groups {group}")
    g = reshape(x, (N, group, (C // group) * HxW))
    m, rstd, d = _stats(g, (2,), eps)
    out = reshape(mul(d, rstd), tuple(x.shape))
    affine = (C,) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = mul(out, reshape(weight, affine))
    if bias is not None:
        out = add(out, reshape(bias, affine))
    return out, reshape(m, (N, group)), reshape(rstd, (N, group))


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """``(out, save_mean, save_invstd)``: batch norm over every dim but 1. Training uses the
    batch statistics and updates ``running_mean``/``running_var`` in place (unbiased variance,
    as PyTorch); evaluation uses the running ones (and returns empty statistics)."""
    x = _tensor_arg(input, "native_batch_norm")
    axes = (0,) + tuple(range(2, x.ndim))
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        m, rstd, d = _stats(x, axes, eps)
        out = mul(d, rstd)
        save_mean, save_invstd = reshape(m, (c,)), reshape(rstd, (c,))
        n = math.prod(x.shape[a] for a in axes)
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mul(save_mean.detach(), momentum))
        if running_var is not None:
            var = mean(mul(d, d), axes).detach()
            running_var.mul_(1 - momentum).add_(mul(var, momentum * n / max(n - 1, 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("native_batch_norm: running_mean and running_var must be defined in evaluation mode")
        out = mul(sub(x, reshape(running_mean, shape)), reshape(rsqrt(add(running_var, eps)), shape))
        save_mean = save_invstd = apply("full", [], shape=(0,), dtype=x._dtype, value=0, _device=x._device)
    if weight is not None:
        out = mul(out, reshape(weight, shape))
    if bias is not None:
        out = add(out, reshape(bias, shape))
    return out, save_mean, save_invstd


def native_dropout_backward(grad_output, mask, scale):
    """The gradient through dropout: ``grad_output * mask * scale``."""
    g = _tensor_arg(grad_output, "native_dropout_backward")
    return mul(mul(g, _to(mask, g._dtype)), scale)


def max_pool2d_with_indices_backward(grad_output, input, kernel_size, stride, padding, dilation, ceil_mode, indices):
    """The gradient of ``max_pool2d``: each output's gradient added at the input position its
    index (flat over the last two dims) names."""
    g = _tensor_arg(grad_output, "max_pool2d_with_indices_backward")
    x = _tensor_arg(input, "max_pool2d_with_indices_backward")
    if not isinstance(indices, Tensor) or tuple(indices.shape) != tuple(g.shape):
        raise ShapeError("max_pool2d_with_indices_backward: indices must have the shape of grad_output")
    lead = tuple(x.shape[:-2])
    hw = x.shape[-2] * x.shape[-1]
    flat_g = reshape(g, lead + (-1,))
    flat_i = reshape(_to(indices, dt.int64), lead + (-1,))
    zeros = apply("full", [], shape=lead + (hw,), dtype=g._dtype, value=0, _device=g._device)
    return reshape(scatter_add(zeros, -1, flat_i, flat_g), tuple(x.shape))
