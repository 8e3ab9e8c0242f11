"""Activations, ``softmax``/``softmin``/``log_softmax`` and ``glu``/``prelu``."""

from __future__ import annotations

import math
import warnings

from ir import dtypes as dt

from ... import _functional as _F
from ..._dispatch import apply, composite, constant
from ..._factories import rand
from ..._functional._common import _back, _in_float32, _require_float
from ..._functional.pointwise import _clamp_row, _number_bounds
from ..._tensor import Tensor
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
    """value where x <= threshold, else x (a NaN stays NaN and keeps its gradient, as in PyTorch)."""
    x = _arg(input, "threshold")
    return _maybe_inplace(x, _F.where(_F.le(x, threshold), _scalar_like(value, x), x), inplace, "threshold")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace: bool = False):
    """x clamped to [min_val, max_val]. The gradient passes strictly inside the bounds (and at
    NaN), as PyTorch's ``hardtanh_backward``; ``clamp``'s passes at the bounds too."""
    x = _arg(input, "hardtanh")
    if not x._dtype.is_floating_point:  # integers stay integers (PyTorch truncates the bounds)
        return _maybe_inplace(x, _F.clamp(x, int(min_val), int(max_val)), inplace, "hardtanh")
    if _number_bounds(x, min_val, max_val):
        return _maybe_inplace(x, _clamp_row("hardtanh", x, min_val, max_val), inplace, "hardtanh")
    lo, hi = _scalar_like(min_val, x), _scalar_like(max_val, x)
    out = _F.where(_F.le(x, min_val), lo, _F.where(_F.ge(x, max_val), hi, x))
    return _maybe_inplace(x, out, inplace, "hardtanh")


def relu6(input, inplace: bool = False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x for x > 0, else negative_slope * x."""
    x = _arg(input, "leaky_relu")
    if x._dtype in (dt.float32, dt.float64) and type(negative_slope) in (int, float):
        # the leaky_relu row (half precision keeps the composite: PyTorch multiplies it by the
        # unrounded slope in float32, as graphc's mul of a half tensor by a number does)
        out = apply("leaky_relu", [x, constant(negative_slope, x._dtype, x._device)])
        return _maybe_inplace(x, out, inplace, "leaky_relu")
    _require_float(x, "leaky_relu_cpu")
    with composite("LeakyReluBackward0", input) as cmp:
        out = cmp.result(_F.where(_F.gt(x, 0), x, _F.mul(x, negative_slope)))
    return _maybe_inplace(x, out, inplace, "leaky_relu")


def _negative_part(x: Tensor) -> tuple[Tensor, Tensor]:
    """(x <= 0, x where x <= 0 else 0): the exponential branch of elu/celu and its input, which
    never overflows and whose derivative at 0 is 1 (``minimum(x, 0)`` would halve it there)."""
    neg = _F.le(x, 0)
    return neg, _F.where(neg, x, _scalar_like(0, x))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x for x > 0, else alpha * (exp(x) - 1); at 0 the gradient is alpha, at NaN 1 (PyTorch's)."""
    x = _arg(input, "elu")
    _require_float(x, "elu_cpu")
    neg, low = _negative_part(x)
    with composite("EluBackward0", input) as cmp:
        out = cmp.result(_F.where(neg, _F.mul(_F.expm1(low), alpha), x))
    return _maybe_inplace(x, out, inplace, "elu")


def selu(input, inplace: bool = False):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    x = _arg(input, "selu")
    return _maybe_inplace(x, _F.mul(elu(x, alpha), scale), inplace, "selu")


def celu(input, alpha: float = 1.0, inplace: bool = False):
    x = _arg(input, "celu")
    _require_float(x, "elu_cpu")
    neg, low = _negative_part(x)
    return _maybe_inplace(x, _F.where(neg, _F.mul(_F.expm1(_F.div(low, alpha)), alpha), x), inplace, "celu")


def gelu(input, approximate: str = "none"):
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula."""
    x = _arg(input, "gelu")
    _require_float(x, "GeluKernelImpl")
    with composite("GeluBackward0", input) as cmp:
        x, half = _in_float32(x)  # PyTorch's half-precision gelu runs in float32: 1 + erf cancels
        if approximate == "none":
            cdf = _F.mul(_F.add(_F.erf(_F.mul(x, 1.0 / math.sqrt(2.0))), 1.0), 0.5)
        elif approximate == "tanh":
            inner = _F.mul(_F.add(x, _F.mul(_F.mul(_F.mul(x, x), x), 0.044715)), math.sqrt(2.0 / math.pi))
            cdf = _F.mul(_F.add(_F.tanh(inner), 1.0), 0.5)
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return cmp.result(_back(_F.mul(x, cdf), half))


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    return _F.sigmoid(_arg(input, "sigmoid"))


def tanh(input):
    return _F.tanh(_arg(input, "tanh"))


def silu(input, inplace: bool = False):
    """x * sigmoid(x) (a.k.a. swish)."""
    x = _arg(input, "silu")
    _require_float(x, "silu_cpu")
    with composite("SiluBackward0", input) as cmp:
        xf, half = _in_float32(x)  # (float16's sigmoid underflows from -11: PyTorch runs it in float32)
        out = cmp.result(_back(_F.mul(xf, _F.sigmoid(xf)), half))
    return _maybe_inplace(x, out, inplace, "silu")


def _log1p_exp(z: Tensor) -> Tensor:
    """log(1 + exp(z)) without overflow, differentiating to sigmoid(z) everywhere.

    ``relu(z) + log1p(exp(-|z|))`` has the same values but differentiates to 0 at z = 0
    (relu's and abs's derivatives are both 0 there) instead of 1/2: softplus, logsigmoid and
    binary_cross_entropy_with_logits all met z = 0 at zero-initialized logits."""
    neg = _F.lt(z, 0)
    zero = _scalar_like(0, z)
    low, high = _F.where(neg, z, zero), _F.where(neg, zero, z)
    return _F.where(neg, _F.log1p(_F.exp(low)), _F.add(high, _F.log1p(_F.exp(_F.neg(high)))))


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (computed without overflow)."""
    x = _arg(input, "softplus")
    _require_float(x, "softplus_cpu")
    z = _F.mul(x, beta) if beta != 1 else x
    sp = _log1p_exp(z)
    if beta != 1:
        sp = _F.div(sp, beta)
    with composite("SoftplusBackward0", input) as cmp:
        return cmp.result(_F.where(_F.gt(z, threshold), x, sp))


def mish(input, inplace: bool = False):
    """x * tanh(softplus(x))."""
    x = _arg(input, "mish")
    _require_float(x, "mish_cpu")
    return _maybe_inplace(x, _F.mul(x, _F.tanh(softplus(x))), inplace, "mish")


def softsign(input):
    x = _arg(input, "softsign")
    return _F.div(x, _F.add(_F.abs(x), 1.0))


def hardsigmoid(input, inplace: bool = False):
    """relu6(x + 3) / 6; the gradient (1/6) passes strictly inside (-3, 3), not at NaN, as
    PyTorch's ``hardsigmoid_backward``."""
    x = _arg(input, "hardsigmoid")
    _require_float(x, "hardsigmoid_cpu")
    shifted = _F.add(x, 3.0)
    inside = _F.logical_and(_F.gt(x, -3.0), _F.lt(x, 3.0))
    clipped = _F.where(inside, shifted, _F.clamp(shifted, 0.0, 6.0).detach())
    return _maybe_inplace(x, _F.div(clipped, 6.0), inplace, "hardsigmoid")


def hardswish(input, inplace: bool = False):
    """x * relu6(x + 3) / 6, in PyTorch's order; the gradient is 0 for x <= -3, x / 3 + 1/2
    below 3 and 1 from 3 on (and at NaN), as PyTorch's ``hardswish_backward``."""
    x = _arg(input, "hardswish")
    _require_float(x, "hardswish_cpu")
    value = _F.div(_F.mul(x, _F.clamp(_F.add(x, 3.0), 0.0, 6.0)), 6.0).detach()
    middle = _F.logical_and(_F.gt(x, -3.0), _F.lt(x, 3.0))
    xm = _F.where(middle, x, _scalar_like(0, x))  # (no inf * 0 in the unused branch's gradient)
    curve = _F.div(_F.mul(xm, _F.add(xm, 3.0)), 6.0)  # = value where middle: the same ops
    above = _F.div(_F.mul(x, 6.0), 6.0)  # = value from 3 on (and at NaN): the same ops, gradient 1
    out = _F.where(_F.le(x, -3.0), value, _F.where(middle, curve, above))
    return _maybe_inplace(x, out, inplace, "hardswish")


def logsigmoid(input):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stably."""
    x = _arg(input, "logsigmoid")
    _require_float(x, "log_sigmoid_cpu")
    with composite("LogSigmoidBackward0", input) as cmp:
        return cmp.result(_F.neg(_log1p_exp(_F.neg(x))))


def tanhshrink(input):
    x = _arg(input, "tanhshrink")
    return _F.sub(x, _F.tanh(x))


def glu(input, dim: int = -1):
    """a * sigmoid(b) for the two halves of ``input`` along ``dim``."""
    x = _arg(input, "glu")
    _require_float(x, "glu_cpu")
    if x.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size {x.shape[dim]}")
    half = x.shape[dim] // 2
    a, b = _F.narrow(x, dim, 0, half), _F.narrow(x, dim, half, half)  # (chunk of an empty dim is one piece)
    return _F.mul(a, _F.sigmoid(b))


def prelu(input, weight):
    """x for x > 0, else weight * x (weight per channel, dim 1)."""
    x = _arg(input, "prelu")
    _require_float(x, "prelu_cpu")
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
    """0 where -lambd <= x <= lambd, else x (NaN stays NaN)."""
    x = _arg(input, "hardshrink")
    _require_float(x, "hardshrink_cpu")
    inside = _F.logical_and(_F.ge(x, -lambd), _F.le(x, lambd))
    with composite("HardshrinkBackward0", input) as cmp:
        return cmp.result(_F.where(inside, _scalar_like(0, x), x))


def softshrink(input, lambd: float = 0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""
    x = _arg(input, "softshrink")
    _require_float(x, "softshrink_check")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    inside = _F.logical_and(_F.ge(x, -lambd), _F.le(x, lambd))
    with composite("SoftshrinkBackward0", input) as cmp:
        # x * 0 inside (PyTorch's -0.0 for negative x; no gradient either way); NaN stays NaN
        shrunk = _F.where(inside, _F.mul(x, 0.0), _F.where(_F.gt(x, lambd), _F.sub(x, lambd), _F.add(x, lambd)))
        return cmp.result(shrunk)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False):
    """Randomized leaky ReLU: negative inputs times a slope drawn from U(lower, upper) per element in
    training, times the mean slope (lower + upper) / 2 in eval."""
    x = _arg(input, "rrelu")
    _require_float(x, "leaky_relu_cpu")
    if training:
        u = rand(tuple(x.shape), dtype=x._dtype, device=x._device)
        slope = _F.add(_F.mul(u, upper - lower), lower)
    else:
        slope = _scalar_like((lower + upper) / 2.0, x)
    with composite("RreluWithNoiseBackward0", input) as cmp:
        # 0 takes the slope in both modes; NaN passes in training (PyTorch's noise is 1 unless
        # x <= 0) and takes the mean slope in eval (there PyTorch runs leaky_relu)
        positive = _F.logical_not(_F.le(x, 0)) if training else _F.gt(x, 0)
        out = cmp.result(_F.where(positive, x, _F.mul(x, slope)))
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
