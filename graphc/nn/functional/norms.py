"""More normalizations: ``rms_norm``, ``instance_norm``, ``local_response_norm``."""

from __future__ import annotations

import numpy as np

from ... import _functional as _F
from ..._dispatch import apply, composite
from ..._functional._common import _back, _in_float32
from ...autograd.grad_mode import no_grad
from ._common import _arg, _reshape
from .normalization import _affine, _by_running_stats, _scaled

__all__ = ["rms_norm", "instance_norm", "local_response_norm"]


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2 over the trailing ``normalized_shape`` dims) + eps) * weight.

    ``eps`` defaults to the machine epsilon of the input's dtype, as in PyTorch.
    """
    x = _arg(input, "rms_norm")
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(ns) > x.ndim or tuple(x.shape[x.ndim - len(ns) :]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, {', '.join(str(s) for s in ns)}], "
            f"but got input of size{list(x.shape)}"
        )
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(f"rms_norm: expected weight of shape {list(ns)}, got {list(weight.shape)}")
    if eps is None:
        eps = float(np.finfo(x._dtype.numpy_dtype).eps) if x._dtype.is_floating_point else 1e-6
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    with composite("RmsNormBackward0", input, weight) as cmp:
        x, half = _in_float32(x)  # (half precision normalizes in float32, as PyTorch)
        return cmp.result(_back(_affine(_scaled(x, _F.mean(_F.mul(x, x), axes, keepdim=True), eps), weight, None), half))


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalize each (sample, channel) plane of (N, C, *) over its spatial dims, then scale and shift.

    With ``use_input_stats`` (the default) the statistics are the plane's own and
    the running stats, if given, take the batch-averaged update in place;
    otherwise the running stats normalize.
    """
    x = _arg(input, "instance_norm")
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected a (N, C, *) input with at least one spatial dim, got {list(x.shape)}")
    n, c = x.shape[0], x.shape[1]
    axes = tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    count = int(np.prod(x.shape[2:]))
    with composite("NativeBatchNormBackward0", input, weight, bias) as cmp:
        x, half = _in_float32(x)  # (half precision normalizes in float32, as PyTorch)
        if use_input_stats:
            if count <= 1:
                raise ValueError(
                    f"Expected more than 1 spatial element when training, got input size {list(x.shape)}"
                )
            mu = _F.mean(x, axes, keepdim=True)
            d = _F.sub(x, mu)
            var = _F.mean(_F.mul(d, d), axes, keepdim=True)
            with no_grad():
                if running_mean is not None:
                    m = _F.mean(_reshape(mu.detach(), (n, c)), 0)
                    running_mean.mul_(1.0 - momentum).add_(_F._to(m, running_mean._dtype), alpha=momentum)
                if running_var is not None:
                    v = _F.mul(_F.mean(_reshape(var.detach(), (n, c)), 0), count / (count - 1))
                    running_var.mul_(1.0 - momentum).add_(_F._to(v, running_var._dtype), alpha=momentum)
            y = _scaled(d, var, eps)
        else:
            y = _by_running_stats(
                x, running_mean, running_var, eps, shape,
                "Expected running_mean and running_var to be defined when use_input_stats is false",
            )
        return cmp.result(_back(_affine(y, weight, bias, shape), half))


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta (AlexNet's LRN).

    The window over channels is zero-padded (size // 2 before, (size - 1) // 2
    after) and averaged over ``size``, as PyTorch does.
    """
    x = _arg(input, "local_response_norm")
    if x.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)"
        )
    if x.numel() == 0:
        return x
    c = x.shape[1]
    sq = _F.mul(x, x)
    pads = [(0, 0)] * x.ndim
    pads[1] = (size // 2, (size - 1) // 2)
    padded = apply("pad", [sq], pads=tuple(pads), value=0.0)
    acc = None
    for j in range(size):
        piece = _F._slice(padded, 1, j, j + c)
        acc = piece if acc is None else _F.add(acc, piece)
    div = _F.pow(_F.add(_F.mul(acc, alpha / size), k), beta)
    return _F.div(x, div)

