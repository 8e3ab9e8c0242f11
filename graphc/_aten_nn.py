"""The ``torch.*`` spellings of neural-network ops, with the argument orders of their aten schemas.

PyTorch exposes ``torch.conv2d``, ``torch.batch_norm``, ``torch.dropout``, ``torch.kl_div`` ... at
the top level with the signatures of its native (aten) functions, which differ from
``torch.nn.functional``'s in places: ``torch.dropout(input, p, train)`` takes ``train``
positionally, ``torch.batch_norm`` takes ``weight, bias`` before the running statistics,
``torch.embedding(weight, indices)`` takes the table first, and the losses take ``reduction`` as
an int (0 none, 1 mean, 2 sum) whose Python default is 0: ``torch.kl_div(a, b)`` is unreduced
in PyTorch 2.13 (its bindings read aten's ``reduction=Mean`` default as 0), and so it is here.
Each function only rearranges its arguments and calls the :mod:`graphc.nn.functional` op, so the
math (and its gradient) is written once.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt

from . import _functional as _F
from ._factories import _from_array, ones_like, rand_like
from .nn import functional as NF
from .nn.functional.bag import _renorm_rows_
from .nn.functional.misc import _dropout_mask

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_tbc",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
    "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_",
    "feature_dropout", "feature_dropout_", "native_dropout",
    "embedding", "embedding_bag", "embedding_renorm_",
    "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
    "adaptive_max_pool1d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
    "bilinear", "celu", "celu_", "selu", "selu_", "prelu", "rrelu", "rrelu_", "threshold", "threshold_",
    "hardshrink", "relu_",
    "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss", "cosine_embedding_loss",
    "poisson_nll_loss", "ctc_loss", "binary_cross_entropy_with_logits",
    "pairwise_distance", "pdist", "grid_sampler", "affine_grid_generator",
]

# Same order as nn.functional: plain aliases.
conv1d = NF.conv1d
conv2d = NF.conv2d
conv3d = NF.conv3d
conv_transpose1d = NF.conv_transpose1d
conv_transpose2d = NF.conv_transpose2d
conv_transpose3d = NF.conv_transpose3d
rms_norm = NF.rms_norm
avg_pool1d = NF.avg_pool1d
adaptive_avg_pool1d = NF.adaptive_avg_pool1d
pixel_shuffle = NF.pixel_shuffle
pixel_unshuffle = NF.pixel_unshuffle
channel_shuffle = NF.channel_shuffle
native_channel_shuffle = NF.native_channel_shuffle
bilinear = NF.bilinear
prelu = NF.prelu
hardshrink = NF.hardshrink
pairwise_distance = NF.pairwise_distance
pdist = NF.pdist

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r) -> str:
    """aten's int reduction enum (0 none, 1 mean, 2 sum) as nn.functional's string."""
    if isinstance(r, str):
        return r
    if r not in _REDUCTIONS:
        raise ValueError(f"{r} is not a valid value for reduction")
    return _REDUCTIONS[r]


def conv_tbc(input, weight, bias, pad: int = 0):
    """1-d convolution of a (time, batch, channels) input with a (kernel, in, out) weight: the
    conv1d of the permuted tensors, output (time', batch, out)."""
    y = NF.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return y.permute(2, 0, 1)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    """``torch.batch_norm``: nn.functional.batch_norm with aten's argument order."""
    return NF.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    """``torch.instance_norm``: nn.functional.instance_norm with aten's argument order."""
    return NF.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True):
    """``torch.layer_norm`` (``cudnn_enable`` is accepted and ignored)."""
    return NF.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True):
    """``torch.group_norm`` (``cudnn_enabled`` is accepted and ignored)."""
    return NF.group_norm(input, num_groups, weight, bias, eps)


def dropout(input, p: float, train: bool):
    """``torch.dropout(input, p, train)``: nn.functional.dropout with ``train`` positional."""
    return NF.dropout(input, p, train)


def dropout_(input, p: float, train: bool):
    return NF.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p: float, train: bool):
    return NF.alpha_dropout(input, p, train)


def alpha_dropout_(input, p: float, train: bool):
    return NF.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input, p: float, train: bool):
    return NF.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p: float, train: bool):
    return NF.feature_alpha_dropout(input, p, train, inplace=True)


def _feature_dropout(input, p: float, train: bool):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train or p == 0.0:
        return None
    if p == 1.0:
        return _F.mul(input, 0.0)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)  # one draw per (batch, channel)
    return _F.mul(input, _dropout_mask(shape, p, input))


def feature_dropout(input, p: float, train: bool):
    """Zero whole channels (dim 1) of an (N, C, *) input with probability ``p``, scaling the rest
    by 1/(1-p): the op behind dropout1d/2d/3d, for any rank >= 2."""
    out = _feature_dropout(input, p, train)
    return input if out is None else out


def feature_dropout_(input, p: float, train: bool):
    out = _feature_dropout(input, p, train)
    return input if out is None else input.copy_(out)


def native_dropout(input, p: float, train):
    """``(output, mask)``: dropout's result and the bool mask of the kept elements
    (``train=None`` means training, as aten's)."""
    if train is False or p == 0.0:
        return input.clone(), ones_like(input, dtype=dt.bool_)
    keep = _F.ge(rand_like(input), p)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return _F.mul(input, _F.mul(_F._to(keep, input.dtype), scale)), keep


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """``torch.embedding(weight, indices, ...)``: the table first, ``padding_idx=-1`` meaning none."""
    padding_idx = None if padding_idx is None or padding_idx < 0 else padding_idx
    return NF.embedding(indices, weight, padding_idx, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_renorm_(input, indices, max_norm: float, norm_type: float):
    """Rescale, in place and without gradient, the rows of ``input`` looked up by ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` (what ``embedding(max_norm=)`` does first)."""
    _renorm_rows_(input, indices.reshape(-1), float(max_norm), float(norm_type))
    return input


_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight, indices, offsets, scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None):
    """``torch.embedding_bag``: ``(output, offset2bag, bag_size, max_indices)``, ``mode`` an int
    (0 sum, 1 mean, 2 max). The last three are integer bookkeeping computed on the host: the bag of
    each lookup, each bag's size, and for ``max`` the argmax row of each bag and feature (else the
    bag sizes). (PyTorch's CPU sum path leaves ``offset2bag`` empty and ``bag_size`` zero.)"""
    name = _BAG_MODES[mode] if not isinstance(mode, str) else mode
    out = NF.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=name, sparse=sparse,
                           per_sample_weights=per_sample_weights, include_last_offset=include_last_offset,
                           padding_idx=padding_idx)
    idx = np.asarray(indices._host()).astype(np.int64)
    if idx.ndim == 2:
        nb, per = idx.shape
        offs = np.arange(0, nb * per, per)
        idx = idx.reshape(-1)
    else:
        offs = np.asarray(offsets._host()).astype(np.int64)
        offs = offs[:-1] if include_last_offset else offs
        nb = len(offs)
    bag = np.searchsorted(offs, np.arange(len(idx)), side="right") - 1
    size = np.bincount(bag, minlength=nb).astype(np.int64) if len(idx) else np.zeros(nb, np.int64)
    if name == "max":
        w = np.asarray(weight.detach()._host())
        maxi = np.zeros((nb, w.shape[1]), np.int64)
        for b in range(nb):
            rows = idx[bag == b]
            if len(rows):
                maxi[b] = rows[np.argmax(w[rows], axis=0)]
    else:
        maxi = size.copy()
    dev = weight.device
    return (out, _from_array(bag.astype(np.int64), device=dev), _from_array(size, device=dev),
            _from_array(maxi, device=dev))


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
    return NF.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
    """``(values, indices)`` of :func:`max_pool1d`."""
    return NF.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
    return NF.max_pool2d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
    return NF.max_pool3d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def adaptive_max_pool1d(input, output_size):
    """``(values, indices)``: aten's adaptive_max_pool1d always returns both."""
    return NF.adaptive_max_pool1d(input, output_size, return_indices=True)


def celu(input, alpha: float = 1.0):
    return NF.celu(input, alpha)


def celu_(input, alpha: float = 1.0):
    return NF.celu(input, alpha, inplace=True)


def selu(input):
    return NF.selu(input)


def selu_(input):
    return NF.selu(input, inplace=True)


def rrelu(input, lower: float = 0.125, upper: float = 1.0 / 3.0, training: bool = False, generator=None):
    """``torch.rrelu`` (``generator`` is accepted; the draw uses the default stream)."""
    return NF.rrelu(input, lower, upper, training)


def rrelu_(input, lower: float = 0.125, upper: float = 1.0 / 3.0, training: bool = False, generator=None):
    return NF.rrelu(input, lower, upper, training, inplace=True)


def threshold(input, threshold, value):
    return NF.threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return NF.threshold(input, threshold, value, inplace=True)


def relu_(input):
    return input.relu_()


def kl_div(input, target, reduction=0, *, log_target: bool = False):
    """``torch.kl_div``: unreduced by default; ``mean`` (1) averages over all elements, as aten's
    does, without the batchmean warning of nn.functional.kl_div."""
    loss = NF.kl_div(input, target, reduction="none", log_target=log_target)
    r = _reduction(reduction)
    return loss if r == "none" else (loss.mean() if r == "mean" else loss.sum())


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return NF.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0):
    return NF.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction=0):
    return NF.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return NF.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):
    """``torch.poisson_nll_loss``: every argument positional and required, as aten's."""
    return NF.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
             zero_infinity: bool = False):
    return NF.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return NF.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                               pos_weight=pos_weight)


_INTERP = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``torch.grid_sampler``: grid_sample with aten's int modes (0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection), 2-d or 3-d by the input's rank."""
    return NF.grid_sample(input, grid, _INTERP[interpolation_mode], _PADDING[padding_mode], align_corners)


def affine_grid_generator(theta, size, align_corners: bool):
    return NF.affine_grid(theta, list(size), align_corners)
