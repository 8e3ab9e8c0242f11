"""Normalization: ``layer_norm``, ``group_norm``, ``batch_norm``, ``normalize`` and
``cosine_similarity``."""

from __future__ import annotations

from ... import _functional as _F
from ..._dispatch import composite
from ..._functional._common import _back, _in_float32
from ...autograd.grad_mode import no_grad
from ._common import _arg, _reshape

__all__ = [
    "layer_norm", "group_norm", "batch_norm", "normalize", "cosine_similarity",
]



def _affine(y, weight, bias, shape=None):
    """``y * weight + bias`` (either may be None); ``shape`` reshapes them to broadcast per channel."""
    if weight is not None:
        y = _F.mul(y, weight if shape is None else _reshape(weight, shape))
    if bias is not None:
        y = _F.add(y, bias if shape is None else _reshape(bias, shape))
    return y


def _scaled(d, var, eps):
    """The centred ``d`` over its standard deviation: ``d / sqrt(var + eps)``."""
    return _F.mul(d, _F.rsqrt(_F.add(var, eps)))


def _by_running_stats(x, running_mean, running_var, eps, shape, message: str):
    """Eval mode: ``x`` normalized by the running statistics (reshaped to ``shape``)."""
    if running_mean is None or running_var is None:
        raise RuntimeError(message)
    rm = _F._to(_reshape(running_mean, shape), x._dtype)
    rv = _F._to(_reshape(running_var, shape), x._dtype)
    return _scaled(_F.sub(x, rm), rv, eps)

def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims (biased variance), then scale and shift."""
    x = _arg(input, "layer_norm")
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(ns) > x.ndim or tuple(x.shape[x.ndim - len(ns) :]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, {', '.join(str(s) for s in ns)}], "
            f"but got input of size{list(x.shape)}"
        )
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    with composite("NativeLayerNormBackward0", input, weight, bias) as cmp:
        x, half = _in_float32(x)  # (half precision normalizes in float32, as PyTorch)
        mu = _F.mean(x, axes, keepdim=True)
        d = _F.sub(x, mu)
        var = _F.mean(_F.mul(d, d), axes, keepdim=True)
        return cmp.result(_back(_affine(_scaled(d, var, eps), weight, bias), half))


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over groups of channels (and all spatial dims), then scale and shift per channel."""
    x = _arg(input, "group_norm")
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of shape {list(x.shape)} and num_groups={num_groups}"
        )
    with composite("NativeGroupNormBackward0", input, weight, bias) as cmp:
        x, half = _in_float32(x)
        g = _reshape(x, (n, num_groups, -1))
        mu = _F.mean(g, 2, keepdim=True)
        d = _F.sub(g, mu)
        var = _F.mean(_F.mul(d, d), 2, keepdim=True)
        y = _reshape(_scaled(d, var, eps), tuple(x.shape))
        return cmp.result(_back(_affine(y, weight, bias, (1, c) + (1,) * (x.ndim - 2)), half))


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Batch normalization over dim 1 (channels) of (N, C, ...) inputs.

    In training, normalizes with the batch's mean and biased variance and, when
    running stats are given, updates them in place under ``no_grad``
    (``running = (1 - momentum) * running + momentum * batch``, the variance
    unbiased); in eval, normalizes with the running stats.
    """
    x = _arg(input, "batch_norm")
    if x.ndim < 2:
        if x.ndim == 1 and x.numel() == 0:
            return _F.mul(x, 1.0)  # PyTorch returns the empty batch as it is
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got 1) (batch_norm of a {x.ndim}-D input of shape {list(x.shape)}; it expects (N, C, ...))")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    with composite("NativeBatchNormBackward0", input, weight, bias) as cmp:
        x, half = _in_float32(x)  # (half precision normalizes in float32, as PyTorch)
        if training:
            count = x.numel() // c if c else 0
            if count <= 1:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {list(x.shape)}"
                )
            mu = _F.mean(x, axes, keepdim=True)
            d = _F.sub(x, mu)
            var = _F.mean(_F.mul(d, d), axes, keepdim=True)
            if running_mean is not None or running_var is not None:
                with no_grad():
                    if running_mean is not None:
                        running_mean.mul_(1.0 - momentum).add_(
                            _F._to(_reshape(mu.detach(), (c,)), running_mean._dtype), alpha=momentum
                        )
                    if running_var is not None:
                        unbiased = _F.mul(_reshape(var.detach(), (c,)), count / (count - 1))
                        running_var.mul_(1.0 - momentum).add_(_F._to(unbiased, running_var._dtype), alpha=momentum)
            y = _scaled(d, var, eps)
        else:
            y = _by_running_stats(
                x, running_mean, running_var, eps, shape, "batch_norm: running_mean and running_var are required in eval mode"
            )
        return cmp.result(_back(_affine(y, weight, bias, shape), half))


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim``."""
    x = _arg(input, "normalize")
    n = _F.clamp_min(_F.norm(x, p, dim, keepdim=True), eps)
    return _F.div(x, n)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (after broadcasting them together)."""
    x1, x2 = _F.broadcast_tensors(x1, x2)
    # Each normalized first, then the dot product, as PyTorch: the same rounding (dot / (n1 n2)
    # differs in the last bit for most rows), and n1 * n2 cannot overflow.
    u1 = _F.div(x1, _F.clamp_min(_F.norm(x1, 2, dim, keepdim=True), eps))
    u2 = _F.div(x2, _F.clamp_min(_F.norm(x2, 2, dim, keepdim=True), eps))
    return _F.sum(_F.mul(u1, u2), dim)
