"""N-d convolution: ``conv3d``, the transposed convolutions and ``fold``.

Same recipe as :mod:`.conv` in any number of spatial dims: the kernel windows
of the padded input are gathered one spatial dim at a time (strided ``slice``
views per kernel offset, one ``concat``), and the convolution is one batched
``matmul``. A transposed convolution is the convolution of the stride-dilated
input (zeros between the samples) with the flipped, in/out-swapped kernel, so
it needs no rule of its own; ``fold`` (col2im) is a grouped transposed
convolution with a one-hot kernel that puts every column entry back at its
window position, summing overlaps.
"""

from __future__ import annotations

import numpy as np

from ir.errors import ShapeError

from ... import _functional as _F
from ..._dispatch import apply, composite, constant
from ..._tensor import Tensor
from ._common import _arg, _check_same_dtype, _ntuple, _reshape
from .conv import _out_size

__all__ = ["conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "fold"]


def _windows_nd(x: Tensor, kernel, stride, dilation, out) -> Tensor:
    """(N, C, prod(kernel), *out): the kernel windows of the padded (N, C, *spatial) ``x``.

    One stage per spatial dim: its K strided slices (one per kernel offset) are
    stacked on a new kernel axis placed before the spatial axes.
    """
    nsp = len(kernel)
    y = x
    for i in range(nsp):
        shape = tuple(y.shape)
        axis = 2 + i + i  # (N, C, K0..K(i-1), O0..O(i-1), S_i, ...): S_i sits after i kernel and i output axes
        k, s, d, o = kernel[i], stride[i], dilation[i], out[i]
        pieces = []
        for j in range(k):
            starts = [0] * len(shape)
            stops = list(shape)
            steps = [1] * len(shape)
            starts[axis], stops[axis], steps[axis] = j * d, j * d + s * (o - 1) + 1, s
            piece = apply("slice", [y], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
            new = list(piece.shape)
            new.insert(2 + i, 1)
            pieces.append(apply("reshape", [piece], shape=tuple(new)))
        y = pieces[0] if k == 1 else apply("concat", pieces, axis=2 + i)
    n, c = x.shape[0], x.shape[1]
    return _reshape(y, (n, c, int(np.prod(kernel))) + tuple(out))


def _pad_nd(x: Tensor, pads, value=0.0) -> Tensor:
    """Pad (or, for negative amounts, crop) the spatial dims by ``pads`` = ((lo, hi), ...)."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    full = ((0, 0),) * (x.ndim - len(pads)) + tuple(tuple(p) for p in pads)
    return apply("pad", [x], pads=full, value=value)


def _batched(x: Tensor, nsp: int, op: str) -> tuple[Tensor, bool]:
    """``x`` with a batch dim, and whether it had one (PyTorch accepts unbatched inputs)."""
    if x.ndim == nsp + 1:
        return _F.unsqueeze(x, 0), False
    if x.ndim != nsp + 2:
        raise ShapeError(
            f"{op}: Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to {op}, but got input of size: "
            f"{list(x.shape)}"
        )
    return x, True


def _padding(padding, kernel, dilation, stride, nsp, op) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nsp
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
        raise ValueError(f"{op}: Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    p = _ntuple(padding, nsp, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{op}: negative padding is not supported, got {p}")
    return tuple((v, v) for v in p)


def _convnd(x: Tensor, weight: Tensor, bias, stride, pads, dilation, groups: int, op: str) -> Tensor:
    """The batched convolution of (N, C, *S) ``x`` with (O, C/groups, *K) ``weight``; ``pads`` per dim."""
    nsp = x.ndim - 2
    o, cg = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    n, c = x.shape[0], x.shape[1]
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{cg * groups} channels, but got {c} channels instead"
        )
    if o % groups:
        raise RuntimeError(f"{op}: out_channels ({o}) must be divisible by groups ({groups})")
    out = tuple(
        _out_size(x.shape[2 + i], kernel[i], stride[i], pads[i][0] + pads[i][1], dilation[i]) for i in range(nsp)
    )
    if any(v <= 0 for v in out):
        padded = " x ".join(str(x.shape[2 + i] + sum(pads[i])) for i in range(nsp))
        eff = " x ".join(str(dilation[i] * (kernel[i] - 1) + 1) for i in range(nsp))
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({padded}). Kernel size: ({eff}). "
            "Kernel size can't be greater than actual input size"
        )
    kk = int(np.prod(kernel))
    L = int(np.prod(out))
    if kk == 1 and all(s == 1 for s in stride) and all(lo == 0 and hi == 0 for lo, hi in pads):
        cols = x
    else:
        cols = _windows_nd(_pad_nd(x, pads), kernel, stride, dilation, out)
    if groups == 1:
        y = apply("matmul", [_reshape(weight, (o, cg * kk)), _reshape(cols, (n, c * kk, L))])
    else:
        w2 = _reshape(weight, (groups, o // groups, cg * kk))
        y = apply("matmul", [w2, _reshape(cols, (n, groups, cg * kk, L))])
    y = _reshape(y, (n, o) + out)
    if bias is not None:
        y = _F.add(y, _reshape(bias, (1, o) + (1,) * nsp))
    return y


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over (N, C, D, H, W) or (C, D, H, W); weight (O, C/groups, kD, kH, kW).

    ``padding`` is an int, a triple, ``'valid'`` or ``'same'``.
    """
    x, is_batched = _batched(_arg(input, "conv3d"), 3, "conv3d")
    if weight.ndim != 5:
        raise ShapeError(f"conv3d: weight must be 5-D (out, in/groups, kD, kH, kW), got shape {list(weight.shape)}")
    _check_same_dtype("conv3d", x, weight)
    s, d = _ntuple(stride, 3, "stride"), _ntuple(dilation, 3, "dilation")
    pads = _padding(padding, tuple(weight.shape[2:]), d, s, 3, "conv3d")
    with composite("ConvolutionBackward0", input, weight, bias) as cmp:
        out = cmp.result(_convnd(x, weight, bias, s, pads, d, groups, "conv3d"))
    return out if is_batched else _F.squeeze(out, 0)


def _dilate(x: Tensor, stride) -> Tensor:
    """Insert ``s - 1`` zeros between neighbouring samples of each spatial dim (s per dim)."""
    nsp = len(stride)
    for i, s in enumerate(stride):
        if s == 1:
            continue
        axis = x.ndim - nsp + i
        shape = tuple(x.shape)
        size = shape[axis]
        y = _F.unsqueeze(x, axis + 1)
        pads = [(0, 0)] * y.ndim
        pads[axis + 1] = (0, s - 1)
        y = apply("pad", [y], pads=tuple(pads), value=0.0)
        y = _reshape(y, shape[:axis] + (size * s,) + shape[axis + 1 :])
        x = _F._slice(y, axis, 0, (size - 1) * s + 1)
    return x


def _conv_transpose_nd(
    x: Tensor, weight: Tensor, bias, stride, padding, output_padding, groups: int, dilation, op: str
) -> Tensor:
    """Transposed convolution of a batched (N, C_in, *S) ``x`` with (C_in, C_out/groups, *K) ``weight``."""
    nsp = x.ndim - 2
    cin, og = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    if x.shape[1] != cin:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{cin} channels, but got {x.shape[1]} channels instead"
        )
    if cin % groups:
        raise RuntimeError(f"{op}: in_channels ({cin}) must be divisible by groups ({groups})")
    pads = []
    for i in range(nsp):
        edge = dilation[i] * (kernel[i] - 1) - padding[i]
        pads.append((edge, edge + output_padding[i]))
    xd = _dilate(x, stride)
    # weight (C_in, O/g, *K) -> (O, C_in/g, *K), flipped in space.
    w = _reshape(weight, (groups, cin // groups, og) + kernel)
    w = _F.transpose(w, 1, 2)
    w = _reshape(w, (groups * og, cin // groups) + kernel)
    w = _F.flip(w, tuple(range(2, 2 + nsp)))
    for i in range(nsp):
        size = (x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1
        if size <= 0:
            raise RuntimeError(f"{op}: the output size {size} of spatial dim {i} is not positive (input {list(x.shape)})")
    # Negative edges (padding larger than the kernel reach) crop the dilated input first.
    crop = tuple((min(lo, 0), min(hi, 0)) for lo, hi in pads)
    xd = _pad_nd(xd, crop)
    rest = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
    return _convnd(xd, w, bias, (1,) * nsp, rest, dilation, groups, op)


def _output_padding(input_shape, output_size, stride, padding, kernel, dilation, nsp, op):
    if output_size is None:
        return None
    output_size = tuple(int(v) for v in output_size)
    if len(output_size) == nsp + 2:
        output_size = output_size[2:]
    elif len(output_size) == nsp + 1:
        output_size = output_size[1:]
    if len(output_size) != nsp:
        raise ValueError(
            f"{op}: output_size must have {nsp} or {nsp + 2} elements (got {len(output_size)})"
        )
    result = []
    for i in range(nsp):
        lo = (input_shape[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1
        hi = lo + stride[i] - 1
        if not lo <= output_size[i] <= hi:
            raise ValueError(
                f"requested an output size of {list(output_size)}, but valid sizes range from {lo} to {hi} "
                f"(for an input of {list(input_shape)})"
            )
        result.append(output_size[i] - lo)
    return tuple(result)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nsp, op, output_size=None):
    x, is_batched = _batched(_arg(input, op), nsp, op)
    if weight.ndim != nsp + 2:
        raise ShapeError(f"{op}: weight must be {nsp + 2}-D (in, out/groups, *kernel), got shape {list(weight.shape)}")
    _check_same_dtype(op, x, weight)
    s, p = _ntuple(stride, nsp, "stride"), _ntuple(padding, nsp, "padding")
    d = _ntuple(dilation, nsp, "dilation")
    op_ = _output_padding(tuple(x.shape[2:]), output_size, s, p, tuple(weight.shape[2:]), d, nsp, op)
    op_ = op_ if op_ is not None else _ntuple(output_padding, nsp, "output_padding")
    for i in range(nsp):
        if op_[i] >= s[i] and op_[i] >= d[i]:
            raise RuntimeError(
                f"{op}: output padding must be smaller than either stride or dilation, but got "
                f"output_padding={op_[i]}, stride={s[i]}, dilation={d[i]}"
            )
    with composite("ConvolutionBackward0", input, weight, bias) as cmp:
        out = cmp.result(_conv_transpose_nd(x, weight, bias, s, p, op_, groups, d, op))
    return out if is_batched else _F.squeeze(out, 0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution ("deconvolution") over (N, C_in, L); weight (C_in, C_out/groups, K).

    The gradient of :func:`conv1d` with respect to its input, as a layer: output
    length ``(L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution over (N, C_in, H, W); weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-d transposed convolution over (N, C_in, D, H, W); weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3, "conv_transpose3d")


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding local blocks (N, C*kH*kW, L) into a (N, C, H, W) tensor, summing overlaps.

    The adjoint of :func:`unfold`: ``fold(unfold(x))`` multiplies each pixel by the
    number of windows that cover it.
    """
    x = _arg(input, "fold")
    is_batched = x.ndim == 3
    if x.ndim == 2:
        x = _F.unsqueeze(x, 0)
    elif x.ndim != 3:
        raise ShapeError(
            f"fold: Expected 2D or 3D (batch mode) tensor for input with possible 0 batch size and non-zero "
            f"dimensions, but got: {list(x.shape)}"
        )
    out_hw = _ntuple(output_size, 2, "output_size")
    k, d = _ntuple(kernel_size, 2, "kernel_size"), _ntuple(dilation, 2, "dilation")
    p, s = _ntuple(padding, 2, "padding"), _ntuple(stride, 2, "stride")
    kk = k[0] * k[1]
    n, ck, L = x.shape
    if ck % kk:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={ck} and kernel_size={k}"
        )
    blocks = [_out_size(out_hw[i], k[i], s[i], 2 * p[i], d[i]) for i in range(2)]
    if blocks[0] * blocks[1] != L:
        raise RuntimeError(
            f"Given output_size={out_hw}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, expected size "
            f"of input's dimension 2 to match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={L}."
        )
    c = ck // kk
    eye = np.zeros((c * kk, 1) + k, dtype=x._dtype.numpy_dtype)
    for ch in range(c):
        for j in range(kk):
            eye[ch * kk + j, 0, j // k[1], j % k[1]] = 1
    weight = constant(eye, x._dtype, x._device)
    extra = tuple(
        out_hw[i] - ((blocks[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1) for i in range(2)
    )
    with composite("Col2ImBackward0", input) as cmp:
        cols = _reshape(x, (n, ck) + tuple(blocks))
        out = cmp.result(_conv_transpose_nd(cols, weight, None, s, p, extra, c, d, "fold"))
    return out if is_batched else _F.squeeze(out, 0)
