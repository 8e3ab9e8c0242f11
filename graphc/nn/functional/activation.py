"""Activations, ``softmax``/``softmin``/``log_softmax`` and ``glu``/``prelu``."""

from __future__ import annotations

import math
import warnings

from ... import _functional as _F
from ..._dispatch import composite
from ..._factories import rand
from ._common import _arg, _maybe_inplace, _reshape, _scalar_like

__all__ = [
    "relu", "relu_", "threshold", "hardtanh", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "sigmoid",
    "tanh", "silu", "softplus", "mish", "softsign", "hardsigmoid", "hardswish", "logsigmoid", "tanhshrink", "glu",
    "prelu", "softmax", "softmin", "log_softmax", "hardshrink", "softshrink", "rrelu", "rrelu_",
    "elu_", "celu_", "selu_", "hardtanh_", "leaky_relu_", "threshold_", "gumbel_softmax",
]


def relu(input, inplace: bool = False):
    """max(x, 0)."""
    return _F.relu(_arg(input, "relu"), inplace=inplace)


def relu_(input):
    return relu(input, inplace=True)


def threshold(input, threshold, value, inplace: bool = False):
    """x where x > threshold, else value."""
    x = _arg(input, "threshold")
    return _maybe_inplace(x, _F.where(_F.gt(x, threshold), x, _scalar_like(value, x)), inplace, "threshold")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace: bool = False):
    """x clamped to [min_val, max_val]."""
    x = _arg(input, "hardtanh")
    if not x._dtype.is_floating_point:  # integers stay integers (PyTorch truncates the bounds)
        min_val, max_val = int(min_val), int(max_val)
    return _maybe_inplace(x, _F.clamp(x, min_val, max_val), inplace, "hardtanh")


def relu6(input, inplace: bool = False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x for x > 0, else negative_slope * x."""
    x = _arg(input, "leaky_relu")
    with composite("LeakyReluBackward0", input) as cmp:
        out = cmp.result(_F.where(_F.gt(x, 0), x, _F.mul(x, negative_slope)))
    return _maybe_inplace(x, out, inplace, "leaky_relu")


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x for x > 0, else alpha * (exp(x) - 1)."""
    x = _arg(input, "elu")
    neg = _F.mul(_F.expm1(_F.minimum(x, _scalar_like(0, x))), alpha)
    with composite("EluBackward0", input) as cmp:
        out = cmp.result(_F.where(_F.gt(x, 0), x, neg))
    return _maybe_inplace(x, out, inplace, "elu")


def selu(input, inplace: bool = False):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    x = _arg(input, "selu")
    return _maybe_inplace(x, _F.mul(elu(x, alpha), scale), inplace, "selu")


def celu(input, alpha: float = 1.0, inplace: bool = False):
    x = _arg(input, "celu")
    neg = _F.mul(_F.expm1(_F.div(_F.minimum(x, _scalar_like(0, x)), alpha)), alpha)
    return _maybe_inplace(x, _F.where(_F.gt(x, 0), x, neg), inplace, "celu")


def gelu(input, approximate: str = "none"):
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula."""
    x = _arg(input, "gelu")
    with composite("GeluBackward0", input) as cmp:
        if approximate == "none":
            cdf = _F.mul(_F.add(_F.erf(_F.mul(x, 1.0 / math.sqrt(2.0))), 1.0), 0.5)
        elif approximate == "tanh":
            inner = _F.mul(_F.add(x, _F.mul(_F.mul(_F.mul(x, x), x), 0.044715)), math.sqrt(2.0 / math.pi))
            cdf = _F.mul(_F.add(_F.tanh(inner), 1.0), 0.5)
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return cmp.result(_F.mul(x, cdf))


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    return _F.sigmoid(_arg(input, "sigmoid"))


def tanh(input):
    return _F.tanh(_arg(input, "tanh"))


def silu(input, inplace: bool = False):
    """x * sigmoid(x) (a.k.a. swish)."""
    x = _arg(input, "silu")
    with composite("SiluBackward0", input) as cmp:
        out = cmp.result(_F.mul(x, _F.sigmoid(x)))
    return _maybe_inplace(x, out, inplace, "silu")


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (computed without overflow)."""
    x = _arg(input, "softplus")
    z = _F.mul(x, beta) if beta != 1 else x
    sp = _F.add(_F.relu(z), _F.log1p(_F.exp(_F.neg(_F.abs(z)))))
    if beta != 1:
        sp = _F.div(sp, beta)
    with composite("SoftplusBackward0", input) as cmp:
        return cmp.result(_F.where(_F.gt(z, threshold), x, sp))


def mish(input, inplace: bool = False):
    """x * tanh(softplus(x))."""
    x = _arg(input, "mish")
    return _maybe_inplace(x, _F.mul(x, _F.tanh(softplus(x))), inplace, "mish")


def softsign(input):
    x = _arg(input, "softsign")
    return _F.div(x, _F.add(_F.abs(x), 1.0))


def hardsigmoid(input, inplace: bool = False):
    """relu6(x + 3) / 6."""
    x = _arg(input, "hardsigmoid")
    return _maybe_inplace(x, _F.div(_F.clamp(_F.add(x, 3.0), 0.0, 6.0), 6.0), inplace, "hardsigmoid")


def hardswish(input, inplace: bool = False):
    """x * relu6(x + 3) / 6."""
    x = _arg(input, "hardswish")
    return _maybe_inplace(x, _F.mul(x, hardsigmoid(x)), inplace, "hardswish")


def logsigmoid(input):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stably."""
    x = _arg(input, "logsigmoid")
    with composite("LogSigmoidBackward0", input) as cmp:
        return cmp.result(_F.sub(_F.minimum(x, _scalar_like(0, x)), _F.log1p(_F.exp(_F.neg(_F.abs(x))))))


def tanhshrink(input):
    x = _arg(input, "tanhshrink")
    return _F.sub(x, _F.tanh(x))


def glu(input, dim: int = -1):
    """a * sigmoid(b) for the two halves of ``input`` along ``dim``."""
    x = _arg(input, "glu")
    if x.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size {x.shape[dim]}")
    a, b = _F.chunk(x, 2, dim)
    return _F.mul(a, _F.sigmoid(b))


def prelu(input, weight):
    """x for x > 0, else weight * x (weight per channel, dim 1)."""
    x = _arg(input, "prelu")
    w = weight
    if x.ndim >= 2 and weight.numel() > 1:
        w = _reshape(weight, (1, weight.numel()) + (1,) * (x.ndim - 2))
    return _F.where(_F.gt(x, 0), x, _F.mul(w, x))


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (max-subtracted)."""
    x = _arg(input, "softmax")
    if dim is None:
        dim = _softmax_dim("softmax", x.ndim)
    return _F.softmax(x, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    x = _arg(input, "softmin")
    if dim is None:
        dim = _softmax_dim("softmin", x.ndim)
    return _F.softmax(_F.neg(x), dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """x - logsumexp(x) along ``dim``."""
    x = _arg(input, "log_softmax")
    if dim is None:
        dim = _softmax_dim("log_softmax", x.ndim)
    return _F.log_softmax(x, dim, dtype=dtype)


def hardshrink(input, lambd: float = 0.5):
    """x where |x| > lambd, else 0."""
    x = _arg(input, "hardshrink")
    with composite("HardshrinkBackward0", input) as cmp:
        return cmp.result(_F.where(_F.gt(_F.abs(x), lambd), x, _scalar_like(0, x)))


def softshrink(input, lambd: float = 0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""
    x = _arg(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    with composite("SoftshrinkBackward0", input) as cmp:
        shrunk = _F.where(_F.gt(x, lambd), _F.sub(x, lambd), _F.where(_F.lt(x, -lambd), _F.add(x, lambd), _scalar_like(0, x)))
        return cmp.result(shrunk)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False):
    """Randomized leaky ReLU: negative inputs times a slope drawn from U(lower, upper) per element in
    training, times the mean slope (lower + upper) / 2 in eval."""
    x = _arg(input, "rrelu")
    if training:
        u = rand(tuple(x.shape), dtype=x._dtype, device=x._device)
        slope = _F.add(_F.mul(u, upper - lower), lower)
    else:
        slope = _scalar_like((lower + upper) / 2.0, x)
    with composite("RreluWithNoiseBackward0", input) as cmp:
        out = cmp.result(_F.where(_F.ge(x, 0), x, _F.mul(x, slope)))
    return _maybe_inplace(x, out, inplace, "rrelu")


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False):
    return rrelu(input, lower, upper, training, inplace=True)


def elu_(input, alpha: float = 1.0):
    return elu(input, alpha, inplace=True)


def celu_(input, alpha: float = 1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu_(input, negative_slope: float = 0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """A sample of the Gumbel-softmax (Concrete) distribution: softmax((logits + g) / tau), g ~ Gumbel(0, 1).

    With ``hard`` the value is one-hot at the argmax while the gradient is the soft sample's
    (straight-through).
    """
    x = _arg(logits, "gumbel_softmax")
    u = rand(tuple(x.shape), dtype=x._dtype, device=x._device)
    gumbels = _F.neg(_F.log(_F.neg(_F.log(_F.clamp_min(u, 1e-20)))))  # -log(Exp(1)) samples
    y = _F.softmax(_F.div(_F.add(x, gumbels), tau), dim)
    if not hard:
        return y
    index = _F.argmax(y, dim, keepdim=True)
    one_hot = _F.scatter(_F.mul(y.detach(), 0.0), dim, index, 1.0)
    return _F.add(_F.sub(one_hot, y.detach()), y)
