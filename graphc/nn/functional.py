"""``graphc.nn.functional``: layers, activations and losses as functions, PyTorch's names.

Everything here is written from graphc tensor ops (and so from IR primitives):
autodiff, fusion and ``@graphc.compile`` cover these functions with no rules
of their own. Convolution and pooling use an *unfold* built from strided
``slice`` views of the padded input, one per kernel offset, joined by a single
``concat``; a convolution is then one (batched) ``matmul``.

Where a test can see the autograd record, results carry PyTorch's
``grad_fn`` name (``MseLossBackward0``, ``NllLossBackward0``,
``AddmmBackward0``, ``ConvolutionBackward0``...).

>>> import graphc.nn.functional as F
>>> F.relu(graphc.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

import builtins
import math
import warnings

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError

from .. import _functional as _F
from .._dispatch import apply, composite, constant
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad

__all__ = [
    "linear",
    "bilinear",
    "conv1d",
    "conv2d",
    "unfold",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "tanhshrink",
    "threshold",
    "glu",
    "prelu",
    "sigmoid",
    "tanh",
    "softmax",
    "softmin",
    "log_softmax",
    "dropout",
    "dropout1d",
    "dropout2d",
    "layer_norm",
    "group_norm",
    "batch_norm",
    "embedding",
    "one_hot",
    "pad",
    "normalize",
    "cosine_similarity",
    "scaled_dot_product_attention",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
]

# ----------------------------------------------------------------------------
# helpers


def _arg(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _ntuple(x, n: int, name: str = "argument") -> tuple:
    if isinstance(x, (list, tuple)):
        x = tuple(int(v) for v in x)
        if len(x) == 1:
            return x * n
        if len(x) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {x}")
        return x
    return (int(x),) * n


def _pair(x, name: str = "argument") -> tuple:
    return _ntuple(x, 2, name)


def _reshape(x: Tensor, shape) -> Tensor:
    return _F.reshape(x, tuple(shape))


def _scalar_like(value, x: Tensor) -> Tensor:
    return constant(value, x._dtype, x._device)


def _inplace(x: Tensor, result: Tensor, op: str) -> Tensor:
    from .._inplace import _inplace_result

    return _inplace_result(x, result, op)


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean' (or 'sum', 'none') instead.",
        UserWarning,
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return _F.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_same_dtype(op: str, x: Tensor, w: Tensor) -> None:
    if x._dtype is not w._dtype:
        raise DTypeError(
            f"{op}: Input type ({x._dtype}) and weight type ({w._dtype}) should be the same; "
            f"convert one of them, e.g. input.to({w._dtype}) or module.to({x._dtype})"
        )


# ----------------------------------------------------------------------------
# linear


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


# ----------------------------------------------------------------------------
# unfold: windows of a padded 4-d input as strided slices


def _out_size(size: int, k: int, s: int, pad_total: int, d: int) -> int:
    return (size + pad_total - d * (k - 1) - 1) // s + 1


def _pad4(x: Tensor, top: int, bottom: int, left: int, right: int, value=0.0) -> Tensor:
    if not (top or bottom or left or right):
        return x
    return apply("pad", [x], pads=((0, 0), (0, 0), (top, bottom), (left, right)), value=value)


def _windows(x: Tensor, kernel, stride, dilation, out_hw) -> Tensor:
    """(N, C, KH*KW, OH, OW): the kernel windows of the padded 4-d ``x``.

    Two stages of strided ``slice`` views and one ``concat`` each: the KH row
    offsets give (N, C, KH, OH, Wp), whose KW column offsets give
    (N, C, KH, KW, OH, OW). That is 2 (KH + KW) + 2 ops instead of one per
    kernel offset, no per-pixel work, and a backward of one ``pad`` per slice.
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    n, c, hp, wp = x.shape
    rows = []
    for i in range(kh):
        h0 = i * dh
        piece = apply("slice", [x], starts=(0, 0, h0, 0), stops=(n, c, h0 + sh * (oh - 1) + 1, wp), steps=(1, 1, sh, 1))
        rows.append(apply("reshape", [piece], shape=(n, c, 1, oh, wp)))
    y = rows[0] if kh == 1 else apply("concat", rows, axis=2)  # (N, C, KH, OH, Wp)
    cols = []
    for j in range(kw):
        w0 = j * dw
        piece = apply(
            "slice", [y], starts=(0, 0, 0, 0, w0), stops=(n, c, kh, oh, w0 + sw * (ow - 1) + 1), steps=(1, 1, 1, 1, sw)
        )
        cols.append(apply("reshape", [piece], shape=(n, c, kh, 1, oh, ow)))
    z = cols[0] if kw == 1 else apply("concat", cols, axis=3)  # (N, C, KH, KW, OH, OW)
    return _reshape(z, (n, c, kh * kw, oh, ow))


def _batched4(x: Tensor, op: str) -> tuple[Tensor, bool]:
    if x.ndim == 3:
        return _F.unsqueeze(x, 0), False
    if x.ndim != 4:
        raise ShapeError(
            f"{op}: Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {list(x.shape)}"
        )
    return x, True


def _conv_padding(padding, kernel, dilation, stride, op: str) -> tuple:
    """(top, bottom, left, right) for an int / tuple / 'same' / 'valid' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise ValueError(f"{op}: Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: negative padding is not supported, got {(ph, pw)}")
    return (ph, ph, pw, pw)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a 4-d input: (N, C*KH*KW, L), as ``torch.nn.functional.unfold``."""
    x = _arg(input, "unfold")
    if x.ndim != 4:
        raise ShapeError(f"unfold: expected a 4-D input (N, C, H, W), got shape {list(x.shape)}")
    k, d, s = _pair(kernel_size), _pair(dilation), _pair(stride)
    top, bottom, left, right = _conv_padding(padding, k, d, s, "unfold")
    n, c, h, w = x.shape
    oh, ow = _out_size(h, k[0], s[0], top + bottom, d[0]), _out_size(w, k[1], s[1], left + right, d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"unfold: the kernel {k} (dilation {d}) does not fit the padded input of shape {list(x.shape)}"
        )
    cols = _windows(_pad4(x, top, bottom, left, right), k, s, d, (oh, ow))
    with composite("Im2ColBackward0", input) as cmp:
        return cmp.result(_reshape(cols, (n, c * k[0] * k[1], oh * ow)))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation, as PyTorch) via unfold + one matmul.

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``; ``groups`` splits the
    channels. Input (N, C, H, W) or (C, H, W); weight (O, C/groups, KH, KW).
    """
    x, batched = _batched4(_arg(input, "conv2d"), "conv2d")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must be 4-D (out, in/groups, kH, kW), got shape {list(weight.shape)}")
    _check_same_dtype("conv2d", x, weight)
    o, cg, kh, kw = weight.shape
    n, c, h, w = x.shape
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{cg * groups} channels, but got {c} channels instead"
        )
    if o % groups:
        raise RuntimeError(f"conv2d: out_channels ({o}) must be divisible by groups ({groups})")
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    top, bottom, left, right = _conv_padding(padding, (kh, kw), d, s, "conv2d")
    oh, ow = _out_size(h, kh, s[0], top + bottom, d[0]), _out_size(w, kw, s[1], left + right, d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"conv2d: Calculated padded input size per channel: ({h + top + bottom} x {w + left + right}). "
            f"Kernel size: ({d[0] * (kh - 1) + 1} x {d[1] * (kw - 1) + 1}). Kernel size can't be greater than "
            "actual input size"
        )
    kk = kh * kw
    with composite("ConvolutionBackward0", input, weight, bias) as cmp:
        if kk == 1 and s == (1, 1) and not (top or bottom or left or right):
            cols = x
        else:
            cols = _windows(_pad4(x, top, bottom, left, right), (kh, kw), s, d, (oh, ow))
        L = oh * ow
        if groups == 1:
            out = apply("matmul", [_reshape(weight, (o, cg * kk)), _reshape(cols, (n, c * kk, L))])
        else:
            w2 = _reshape(weight, (groups, o // groups, cg * kk))
            out = apply("matmul", [w2, _reshape(cols, (n, groups, cg * kk, L))])
        out = _reshape(out, (n, o, oh, ow))
        if bias is not None:
            out = _F.add(out, _reshape(bias, (1, o, 1, 1)))
        out = cmp.result(out)
    return out if batched else _F.squeeze(out, 0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over (N, C, L) through :func:`conv2d` with a height of 1."""
    x = _arg(input, "conv1d")
    batched = x.ndim == 3
    if x.ndim == 2:
        x = _F.unsqueeze(x, 0)
    elif x.ndim != 3:
        raise ShapeError(
            f"conv1d: Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: {list(x.shape)}"
        )
    if not isinstance(padding, str):
        padding = (0, _ntuple(padding, 1)[0])
    out = conv2d(
        _F.unsqueeze(x, 2),
        _F.unsqueeze(weight, 2),
        bias,
        (1, _ntuple(stride, 1)[0]),
        padding,
        (1, _ntuple(dilation, 1)[0]),
        groups,
    )
    out = _F.squeeze(out, 2)
    return out if batched else _F.squeeze(out, 0)


# ----------------------------------------------------------------------------
# pooling


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    for kk, pp, dd in zip(k, p, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={pp}, kernel_size={kk}"
            )
    h, w = x.shape[2], x.shape[3]
    oh = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"{op}: Given input size: ({x.shape[1]}x{h}x{w}). Calculated output size: ({x.shape[1]}x{oh}x{ow}). "
            "Output size is too small"
        )
    # Extra padding on the bottom/right so that ceil-mode windows stay in bounds.
    eh = builtins.max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]))
    ew = builtins.max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]))
    return k, s, p, d, (oh, ow), (eh, ew)


def _blocked(x: Tensor, k, out_hw) -> Tensor:
    """(N, C, KH*KW, OH, OW) for non-overlapping windows (stride == kernel, no padding).

    A reshape/permute of ``x`` and one copy: its backward is two copies, where
    strided slices would need an interleaving pad per kernel offset (and numpy
    reduces badly over the tiny window axes of the plain reshape).
    """
    n, c = x.shape[0], x.shape[1]
    (kh, kw), (oh, ow) = k, out_hw
    if x.shape[2] != oh * kh or x.shape[3] != ow * kw:
        x = apply("slice", [x], starts=(0, 0, 0, 0), stops=(n, c, oh * kh, ow * kw), steps=(1, 1, 1, 1))
    b = apply("permute", [_reshape(x, (n, c, oh, kh, ow, kw))], dims=(0, 1, 3, 5, 2, 4))
    return _reshape(b, (n, c, kh * kw, oh, ow))


def _lowest(dtype) -> float:
    if dtype.is_floating_point:
        return float("-inf")
    import numpy as np

    return int(np.iinfo(dtype.numpy_dtype).min)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of a (N, C, H, W) or (C, H, W) input.

    Ties inside a window share the gradient (PyTorch gives it to the first); with
    ``return_indices`` also the flat ``h * W + w`` input position of each maximum.
    """
    x, batched = _batched4(_arg(input, "max_pool2d"), "max_pool2d")
    k, s, p, d, (oh, ow), (eh, ew) = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    n, c, h, w = x.shape
    with composite("MaxPool2DWithIndicesBackward0", input) as cmp:
        if s == k and d == (1, 1) and p == (0, 0) and not (eh or ew) and not return_indices:
            out = apply("amax", [_blocked(x, k, (oh, ow))], axes=(2,), keepdim=False)
        else:
            xp = _pad4(x, p[0], p[0] + eh, p[1], p[1] + ew, _lowest(x._dtype))
            win = _windows(xp, k, s, d, (oh, ow))
            out = apply("amax", [win], axes=(2,), keepdim=False)
        out = cmp.result(out)
    if not batched:
        out = _F.squeeze(out, 0)
    if not return_indices:
        return out
    from .._factories import arange

    with no_grad():
        kidx = apply("argmax", [win], axes=(2,), keepdim=False)  # (N, C, OH, OW) int64
        ki, kj = _F.floor_divide(kidx, k[1]), _F.remainder(kidx, k[1])
        rows = _reshape(_F.mul(arange(oh, device=x._device), s[0]), (oh, 1))
        cols = _reshape(_F.mul(arange(ow, device=x._device), s[1]), (1, ow))
        hh = _F.add(_F.sub(rows, p[0]), _F.mul(ki, d[0]))
        ww = _F.add(_F.sub(cols, p[1]), _F.mul(kj, d[1]))
        idx = _F.add(_F.mul(hh, w), ww)
        if not batched:
            idx = _F.squeeze(idx, 0)
    return out, idx


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, L) through :func:`max_pool2d`."""
    x = _F.unsqueeze(_arg(input, "max_pool1d"), -2)
    one = lambda v: (1, _ntuple(v, 1)[0])  # noqa: E731
    r = max_pool2d(
        x,
        one(kernel_size),
        None if stride is None else one(stride),
        (0, _ntuple(padding, 1)[0]),
        one(dilation),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return _F.squeeze(r[0], -2), _F.squeeze(r[1], -2)
    return _F.squeeze(r, -2)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over sliding windows (zero padding counted unless ``count_include_pad=False``)."""
    x, batched = _batched4(_arg(input, "avg_pool2d"), "avg_pool2d")
    k, s, p, d, (oh, ow), (eh, ew) = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    with composite("AvgPool2DBackward0", input) as cmp:
        if s == k and p == (0, 0) and not (eh or ew):
            total = apply("sum", [_blocked(x, k, (oh, ow))], axes=(2,), keepdim=False)
        else:
            xp = _pad4(x, p[0], p[0] + eh, p[1], p[1] + ew, 0.0)
            total = apply("sum", [_windows(xp, k, s, d, (oh, ow))], axes=(2,), keepdim=False)
        if divisor_override:
            out = _F.div(total, float(divisor_override))
        elif not (eh or ew) and (count_include_pad or p == (0, 0)):
            out = _F.mul(total, 1.0 / (k[0] * k[1]))
        else:
            # The count of the elements each window covers (a shape-only constant).
            from .._factories import ones

            one = ones((1, 1, x.shape[2], x.shape[3]), dtype=x._dtype, device=x._device)
            if count_include_pad:
                one = _pad4(one, p[0], p[0], p[1], p[1], 1.0)
                one = _pad4(one, 0, eh, 0, ew, 0.0)
            else:
                one = _pad4(one, p[0], p[0] + eh, p[1], p[1] + ew, 0.0)
            count = apply("sum", [_windows(one, k, s, d, (oh, ow))], axes=(2,), keepdim=False)
            out = _F.div(total, count)
        out = cmp.result(out)
    return out if batched else _F.squeeze(out, 0)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling over (N, C, L) through :func:`avg_pool2d`."""
    x = _F.unsqueeze(_arg(input, "avg_pool1d"), -2)
    one = lambda v: (1, _ntuple(v, 1)[0])  # noqa: E731
    r = avg_pool2d(
        x,
        one(kernel_size),
        None if stride is None else one(stride),
        (0, _ntuple(padding, 1)[0]),
        ceil_mode,
        count_include_pad,
    )
    return _F.squeeze(r, -2)


def _adaptive(input, output_size, reducer: str, op: str):
    x, batched = _batched4(_arg(input, op), op)
    n, c, h, w = x.shape
    oh, ow = (
        _pair(output_size, "output_size")
        if not isinstance(output_size, (list, tuple))
        else tuple((h, w)[i] if v is None else int(v) for i, v in enumerate(output_size))
    )
    if h % oh == 0 and w % ow == 0:
        out = apply(reducer, [_reshape(x, (n, c, oh, h // oh, ow, w // ow))], axes=(3, 5), keepdim=False)
        if reducer == "sum":
            out = _F.mul(out, 1.0 / ((h // oh) * (w // ow)))
    else:
        rows = []
        for i in range(oh):
            h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            cells = []
            for j in range(ow):
                w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
                cell = apply("slice", [x], starts=(0, 0, h0, w0), stops=(n, c, h1, w1), steps=(1, 1, 1, 1))
                r = apply(reducer, [cell], axes=(2, 3), keepdim=False)
                if reducer == "sum":
                    r = _F.mul(r, 1.0 / ((h1 - h0) * (w1 - w0)))
                cells.append(apply("reshape", [r], shape=(n, c, 1, 1)))
            rows.append(apply("concat", cells, axis=3) if len(cells) > 1 else cells[0])
        out = apply("concat", rows, axis=2) if len(rows) > 1 else rows[0]
    return out if batched else _F.squeeze(out, 0)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (PyTorch's start/end rule per cell)."""
    with composite("AdaptiveAvgPool2DBackward0", input) as cmp:
        return cmp.result(_adaptive(input, output_size, "sum", "adaptive_avg_pool2d"))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d(return_indices=True) is not implemented")
    return _adaptive(input, output_size, "amax", "adaptive_max_pool2d")


# ----------------------------------------------------------------------------
# activations


def relu(input, inplace: bool = False):
    """max(x, 0)."""
    return _F.relu(_arg(input, "relu"), inplace=inplace)


def relu_(input):
    return relu(input, inplace=True)


def _maybe_inplace(x: Tensor, out: Tensor, inplace: bool, op: str) -> Tensor:
    return _inplace(x, out, op + "_") if inplace else out


def threshold(input, threshold, value, inplace: bool = False):
    """x where x > threshold, else value."""
    x = _arg(input, "threshold")
    return _maybe_inplace(x, _F.where(_F.gt(x, threshold), x, _scalar_like(value, x)), inplace, "threshold")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace: bool = False):
    """x clamped to [min_val, max_val]."""
    x = _arg(input, "hardtanh")
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


# ----------------------------------------------------------------------------
# dropout


def _dropout_mask(shape, p: float, x: Tensor) -> Tensor:
    from .._factories import rand

    u = rand(tuple(shape), dtype=x._dtype if x._dtype.is_floating_point else None, device=x._device)
    keep = _F._to(_F.ge(u, p), x._dtype)
    return _F.mul(keep, 1.0 / (1.0 - p))


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    x = _arg(input, "dropout")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        out = _F.mul(x, 0.0)
    else:
        out = _F.mul(x, _dropout_mask(x.shape, p, x))
    return _maybe_inplace(x, out, inplace, "dropout")


def _feature_dropout(input, p, training, inplace, min_ndim, op):
    x = _arg(input, op)
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    batched = x.ndim == min_ndim + 1
    shape = tuple(x.shape[:2]) if batched else tuple(x.shape[:1])
    shape = shape + (1,) * (x.ndim - len(shape))
    out = _F.mul(x, 0.0) if p == 1.0 else _F.mul(x, _dropout_mask(shape, p, x))
    return _maybe_inplace(x, out, inplace, op)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of (N, C, L) / (C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 2, "dropout1d")


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of (N, C, H, W) / (C, H, W) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout2d")


# ----------------------------------------------------------------------------
# normalization


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
        mu = _F.mean(x, axes, keepdim=True)
        d = _F.sub(x, mu)
        var = _F.mean(_F.mul(d, d), axes, keepdim=True)
        y = _F.mul(d, _F.rsqrt(_F.add(var, eps)))
        if weight is not None:
            y = _F.mul(y, weight)
        if bias is not None:
            y = _F.add(y, bias)
        return cmp.result(y)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over groups of channels (and all spatial dims), then scale and shift per channel."""
    x = _arg(input, "group_norm")
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of shape {list(x.shape)} and num_groups={num_groups}"
        )
    with composite("NativeGroupNormBackward0", input, weight, bias) as cmp:
        g = _reshape(x, (n, num_groups, -1))
        mu = _F.mean(g, 2, keepdim=True)
        d = _F.sub(g, mu)
        var = _F.mean(_F.mul(d, d), 2, keepdim=True)
        y = _reshape(_F.mul(d, _F.rsqrt(_F.add(var, eps))), tuple(x.shape))
        shape = (1, c) + (1,) * (x.ndim - 2)
        if weight is not None:
            y = _F.mul(y, _reshape(weight, shape))
        if bias is not None:
            y = _F.add(y, _reshape(bias, shape))
        return cmp.result(y)


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
        raise ValueError(f"batch_norm: expected at least a 2-D input (N, C, ...), got shape {list(x.shape)}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    with composite("NativeBatchNormBackward0", input, weight, bias) as cmp:
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
            y = _F.mul(d, _F.rsqrt(_F.add(var, eps)))
        else:
            if running_mean is None or running_var is None:
                raise RuntimeError("batch_norm: running_mean and running_var are required in eval mode")
            rm = _F._to(_reshape(running_mean, shape), x._dtype)
            rv = _F._to(_reshape(running_var, shape), x._dtype)
            y = _F.mul(_F.sub(x, rm), _F.rsqrt(_F.add(rv, eps)))
        if weight is not None:
            y = _F.mul(y, _reshape(weight, shape))
        if bias is not None:
            y = _F.add(y, _reshape(bias, shape))
        return cmp.result(y)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim``."""
    x = _arg(input, "normalize")
    n = _F.clamp_min(_F.norm(x, p, dim, keepdim=True), eps)
    return _F.div(x, n)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``."""
    n1 = _F.clamp_min(_F.norm(x1, 2, dim, keepdim=False), eps)
    n2 = _F.clamp_min(_F.norm(x2, 2, dim, keepdim=False), eps)
    return _F.div(_F.sum(_F.mul(x1, x2), dim), _F.mul(n1, n2))


# ----------------------------------------------------------------------------
# embedding, one_hot, pad


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at the indices ``input`` (any shape): shape ``input.shape + (dim,)``.

    Rows looked up at ``padding_idx`` receive no gradient.
    """
    idx = _arg(input, "embedding")
    if not idx._dtype.is_integer:
        raise DTypeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {idx._dtype} instead (while checking arguments for embedding)"
        )
    if max_norm is not None or scale_grad_by_freq:
        raise NotImplementedError("embedding: max_norm and scale_grad_by_freq are not implemented")
    with composite("EmbeddingBackward0", weight) as cmp:
        rows = apply("index_select", [weight, _reshape(idx, (-1,))], axis=0)
        out = _reshape(rows, tuple(idx.shape) + (weight.shape[1],))
        if padding_idx is not None:
            if padding_idx < 0:
                padding_idx += weight.shape[0]
            mask = _F.unsqueeze(_F.eq(idx, padding_idx), -1)
            out = _F.where(mask, out.detach(), out)
        return cmp.result(out)


def one_hot(tensor, num_classes: int = -1):
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``."""
    t = _arg(tensor, "one_hot")
    if not t._dtype.is_integer:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    from .._factories import arange

    if num_classes == -1:
        num_classes = int(_F.max(t).item()) + 1 if t.numel() else 0
    return _F._to(_F.eq(_F.unsqueeze(t, -1), arange(num_classes, device=t._device)), dt.int64)


def _narrow(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    return _F._slice(x, dim, start, stop)


def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` from the last dim.

    ``mode`` is ``'constant'`` (negative pads crop), ``'reflect'``, ``'replicate'``
    or ``'circular'``.
    """
    x = _arg(input, "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"Padding length must be divisible by 2 and at most twice the input's dims, got {len(pad)} for a {x.ndim}-d input"
        )
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        v = 0 if value is None else value
        if all(lo == 0 and hi == 0 for lo, hi in pairs):
            return x
        return apply("pad", [x], pads=tuple(pairs), value=v)
    if value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode {mode!r} doesn't take in value argument")
    for dim, (lo, hi) in enumerate(pairs):
        if not (lo or hi):
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding is only supported in constant mode, got {pad}")
        n = x.shape[dim]
        parts = []
        if mode == "reflect":
            if lo >= n or hi >= n:
                raise RuntimeError(
                    f"Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ({lo}, {hi}) at dimension {dim} of input {list(x.shape)}"
                )
            if lo:
                parts.append(_F.flip(_narrow(x, dim, 1, lo + 1), dim))
            parts.append(x)
            if hi:
                parts.append(_F.flip(_narrow(x, dim, n - 1 - hi, n - 1), dim))
        elif mode == "replicate":
            if lo:
                edge = _narrow(x, dim, 0, 1)
                parts.append(_F.expand(edge, tuple(lo if d == dim else s for d, s in enumerate(x.shape))))
            parts.append(x)
            if hi:
                edge = _narrow(x, dim, n - 1, n)
                parts.append(_F.expand(edge, tuple(hi if d == dim else s for d, s in enumerate(x.shape))))
        elif mode == "circular":
            if lo > n or hi > n:
                raise ValueError("Padding value causes wrapping around more than once.")
            if lo:
                parts.append(_narrow(x, dim, n - lo, n))
            parts.append(x)
            if hi:
                parts.append(_narrow(x, dim, 0, hi))
        else:
            raise NotImplementedError(f"pad: mode {mode!r} is not supported (constant, reflect, replicate, circular)")
        x = apply("concat", parts, axis=dim)
    return x


# ----------------------------------------------------------------------------
# attention


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
        from .._factories import ones

        keep = _F.tril(ones((L, S), dtype=dt.bool_, device=query._device))
        scores = _F.masked_fill(scores, _F.logical_not(keep), float("-inf"))
    if attn_mask is not None:
        if attn_mask._dtype.is_bool:
            scores = _F.masked_fill(scores, _F.logical_not(attn_mask), float("-inf"))
        else:
            scores = _F.add(scores, attn_mask)
    attn = _F.softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return _F.matmul(attn, value)


# ----------------------------------------------------------------------------
# losses


def _check_target_size(input, target, op):
    if tuple(target.shape) != tuple(input.shape):
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
            loss = _F.where(_F.lt(d, beta), _F.mul(_F.mul(d, d), 0.5 / beta), _F.sub(d, 0.5 * beta))
        return cmp.result(_reduce(loss, reduction))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    x = _arg(input, "huber_loss")
    _check_target_size(x, target, "huber_loss")
    with composite("HuberLossBackward0", input, target) as cmp:
        d = _F.abs(_F.sub(x, target))
        loss = _F.where(_F.lt(d, delta), _F.mul(_F.mul(d, d), 0.5), _F.mul(_F.sub(d, 0.5 * delta), delta))
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
    if tuple(target.shape[1:]) != tuple(x.shape[2:]):
        raise ValueError(
            f"nll_loss: expected target of shape {[x.shape[0]] + list(x.shape[2:])}, got {list(target.shape)}"
        )
    c = x.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
    with composite("NllLossBackward0", input, target, weight) as cmp:
        valid = _F.ne(target, ignore_index)
        safe = _F.where(valid, target, 0)
        picked = _F.squeeze(apply("gather", [x, _F.unsqueeze(safe, 1)], axis=1), 1)
        if weight is not None:
            w = _reshape(
                apply("index_select", [_F._to(weight, x._dtype), _reshape(safe, (-1,))], axis=0), tuple(safe.shape)
            )
            w = _F.where(valid, w, _scalar_like(0, w))
        else:
            w = _F._to(valid, x._dtype)
        loss = _F.neg(_F.mul(picked, w))
        if reduction == "mean":
            out = _F.div(_F.sum(loss), _F.sum(w))
        elif reduction == "sum":
            out = _F.sum(loss)
        elif reduction == "none":
            out = _F.squeeze(loss, 0) if unbatched else loss
        else:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        return cmp.result(out)


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
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
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
        smooth = _F.div(_F.sum(smooth), denom)
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
    with composite("BinaryCrossEntropyBackward0", input, target, weight) as cmp:
        log_x = _F.clamp_min(_F.log(x), -100.0)
        log_1mx = _F.clamp_min(_F.log(_F.rsub(x, 1.0)), -100.0)
        loss = _F.neg(_F.add(_F.mul(target, log_x), _F.mul(_F.rsub(target, 1.0), log_1mx)))
        if weight is not None:
            loss = _F.mul(loss, weight)
        return cmp.result(_reduce(loss, reduction))


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None
):
    """Sigmoid + binary cross entropy in one stable formula; ``pos_weight`` weighs the positive term."""
    x = _arg(input, "binary_cross_entropy_with_logits")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(x.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({x.size()})")
    with composite("BinaryCrossEntropyWithLogitsBackward0", input, target, weight, pos_weight) as cmp:
        # log(1 + exp(-x)) computed without overflow: relu(-x) + log1p(exp(-|x|)).
        log_sig_neg = _F.add(_F.relu(_F.neg(x)), _F.log1p(_F.exp(_F.neg(_F.abs(x)))))
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
