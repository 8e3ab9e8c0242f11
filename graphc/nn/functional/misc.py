"""Dropout (elementwise, and of whole channels), lookups and encodings (``embedding``,
``one_hot``) and ``pad``."""

from __future__ import annotations

import warnings

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError

from ... import _functional as _F
from ..._dispatch import apply, composite, constant
from ..._factories import _from_array, arange, rand
from ..._functional.indexing import _checked_index
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ._common import _arg, _maybe_inplace, _reshape

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "embedding",
    "one_hot", "pad",
]


def _dropout_mask(shape, p: float, x: Tensor) -> Tensor:
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


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) inputs."""
    x = _arg(input, "dropout3d")
    if x.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            UserWarning,
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, 4, "dropout3d")


_SELU_ALPHA = 1.7580993408473766  # scale * alpha of SELU: the value SELU saturates to, negated


def _alpha_dropout(x: Tensor, p: float, training: bool, inplace: bool, feature: bool, op: str) -> Tensor:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _maybe_inplace(x, _F.mul(x, 0.0), inplace, op)
    shape = tuple(x.shape)
    if feature:
        shape = shape[:2] + (1,) * (x.ndim - 2)
    keep = _F._to(_F.ge(rand(shape, dtype=x._dtype, device=x._device), p), x._dtype)
    a = 1.0 / ((_SELU_ALPHA**2 * p + 1) * (1 - p)) ** 0.5
    # kept: a * x + alpha * a * p; dropped: -alpha * a + alpha * a * p (keeps mean 0 and variance 1 for SELU nets)
    b = _F.add(_F.mul(_F.sub(keep, 1.0), _SELU_ALPHA * a), _SELU_ALPHA * a * p)
    out = _F.add(_F.mul(x, _F.mul(keep, a)), b)
    return _maybe_inplace(x, out, inplace, op)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and an affine
    map keeps the self-normalizing mean and variance."""
    return _alpha_dropout(_arg(input, "alpha_dropout"), p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """:func:`alpha_dropout` of whole channels of (N, C, *) inputs."""
    return _alpha_dropout(_arg(input, "feature_alpha_dropout"), p, training, inplace, True, "feature_alpha_dropout")


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
    n_rows = weight.shape[0]
    if padding_idx is not None and not -n_rows <= padding_idx < n_rows:
        raise AssertionError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({n_rows})")
    flat = _checked_index(_reshape(idx, (-1,)), n_rows, "embedding")
    if max_norm is not None:
        _renorm_rows_(weight, flat, float(max_norm), float(norm_type))
    with composite("EmbeddingBackward0", weight) as cmp:
        rows = apply("index_select", [weight, flat], axis=0)
        if scale_grad_by_freq:
            rows = _scale_grad(rows, flat)
        out = _reshape(rows, tuple(idx.shape) + (weight.shape[1],))
        if padding_idx is not None:
            if padding_idx < 0:
                padding_idx += weight.shape[0]
            mask = _F.unsqueeze(_F.eq(idx, padding_idx), -1)
            out = _F.where(mask, out.detach(), out)
        return cmp.result(out)


def _renorm_rows_(weight: Tensor, flat: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the looked-up rows of ``weight`` whose norm exceeds ``max_norm`` (PyTorch's
    ``embedding_renorm_``: scale max_norm / (norm + 1e-7))."""
    with no_grad():
        rows = apply("index_select", [weight, flat], axis=0)
        norms = _F.norm(rows, norm_type, 1, keepdim=True)
        scale = _F.where(_F.gt(norms, max_norm), _F.div(max_norm, _F.add(norms, 1e-7)), _scalar(1.0, rows))
        new = _F.mul(rows, scale)
        # Repeated indices write the same row value, so the scatter order does not matter.
        index = _F.expand(_F.unsqueeze(flat, 1), tuple(rows.shape))
        weight.copy_(_F.scatter(weight.detach(), 0, index, new))


def _scale_grad(rows: Tensor, flat: Tensor) -> Tensor:
    """``rows`` whose gradient is divided by how often each index occurs in the lookup."""
    with no_grad():
        counts = _F.sum(_F._to(_F.eq(_F.unsqueeze(flat, 1), _F.unsqueeze(flat, 0)), rows._dtype), 1, keepdim=True)
        inv = _F.reciprocal(counts)
    # value rows, gradient inv * grad: rows * inv + stop_grad(rows * (1 - inv))
    return _F.add(_F.mul(rows, inv), _F.mul(rows, _F.rsub(inv, 1.0)).detach())


def _scalar(value, like: Tensor) -> Tensor:
    return constant(value, like._dtype, like._device)


def one_hot(tensor, num_classes: int = -1):
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``."""
    t = _arg(tensor, "one_hot")
    if not t._dtype.is_integer:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(_F.max(t).item()) + 1 if t.numel() else 0
    if isinstance(t._data, np.ndarray):
        if t.numel():
            if int(t._data.min()) < 0:
                raise RuntimeError("one_hot: class values must be non-negative.")
            if int(t._data.max()) >= num_classes:
                raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({num_classes}).")
        # eager on the host: zeros and one store per row (the comparison with every class and
        # its int64 cast below were 5x PyTorch's time on 256 labels x 256 classes)
        out = np.zeros(t._data.shape + (num_classes,), dtype=np.int64)
        if out.size:
            out.reshape(-1, num_classes)[np.arange(t.numel()), t._data.reshape(-1)] = 1
        return _from_array(out, dt.int64, t._device)
    if t._data is None:  # traced: the compiled program checks the range (else a bad class is a zero row)
        t = _checked_index(t, num_classes, "one_hot")
    return _F._to(_F.eq(_F.unsqueeze(t, -1), arange(num_classes, device=t._device)), dt.int64)


def _narrow(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    return _F._slice(x, dim, start, stop)


_PAD_RANKS = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` from the last dim.

    ``mode`` is ``'constant'`` (negative pads crop), ``'reflect'``, ``'replicate'``
    or ``'circular'``; the last three pad 1, 2 or 3 dims of a batched or unbatched
    input (a 2-long pad of a 2-d or 3-d input, a 4-long one of a 3-d or 4-d input...),
    as PyTorch's kernels, which raise NotImplementedError otherwise.
    """
    x = _arg(input, "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ShapeError("Padding length must be divisible by 2")
    if len(pad) // 2 > x.ndim:
        raise ShapeError(
            f"Padding length should be less than or equal to two times the input dimension but got padding length "
            f"{len(pad)} and input of dimension {x.ndim}"
        )
    npad = len(pad) // 2
    pairs = [(0, 0)] * x.ndim
    for i in range(npad):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        v = 0 if value is None else value
        if all(lo == 0 and hi == 0 for lo, hi in pairs):
            return apply("copy", [x])  # a new tensor, as PyTorch
        return apply("pad", [x], pads=tuple(pairs), value=v)
    if value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode {mode!r} doesn't take in value argument")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (constant, reflect, replicate, circular)")
    if npad not in (1, 2, 3) or x.ndim not in (npad + 1, npad + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n{_PAD_RANKS}")
    if all(lo == 0 and hi == 0 for lo, hi in pairs):
        return apply("copy", [x])
    if mode == "circular":
        return _pad_circular(x, pairs)
    dims = range(x.ndim - npad, x.ndim)
    if mode == "reflect":
        for dim in dims:
            lo, hi = pairs[dim]
            if lo >= x.shape[dim] or hi >= x.shape[dim]:
                raise RuntimeError(
                    f"Argument #{2 + len(pad)}: Padding size should be less than the corresponding input dimension, "
                    f"but got: padding ({lo}, {hi}) at dimension {dim} of input {list(x.shape)}"
                )
    out = [x.shape[d] + sum(pairs[d]) for d in dims]
    if all(n < 1 for n in out):
        names = "DHW"[3 - npad:]
        sizes = ", ".join(f"{c}: {x.shape[d]}" for c, d in zip(names, dims))
        if npad == 3:
            sizes = sizes.replace(", ", " ", 1)  # PyTorch's "(D: 3 H: 4, W: 5)"
        raise ShapeError(
            f"input ({sizes}) is too small. Calculated output " + " ".join(f"{c}: {n}" for c, n in zip(names, out))
        )
    # PyTorch reflects (and replicates) the whole input, then crops the negative amounts:
    # (-2, 3) of [0, 1, 2, 3, 4] is [2, 3, 4, 3, 2, 1], not a reflection of the cropped [2, 3, 4].
    for dim in dims:
        lo, hi = pairs[dim]
        n = x.shape[dim]
        parts = []
        if mode == "reflect":
            if lo > 0:
                parts.append(_F.flip(_narrow(x, dim, 1, lo + 1), dim))
            parts.append(x)
            if hi > 0:
                parts.append(_F.flip(_narrow(x, dim, n - 1 - hi, n - 1), dim))
        else:
            if lo > 0:
                edge = _narrow(x, dim, 0, 1)
                parts.append(_F.expand(edge, tuple(lo if d == dim else s for d, s in enumerate(x.shape))))
            parts.append(x)
            if hi > 0:
                edge = _narrow(x, dim, n - 1, n)
                parts.append(_F.expand(edge, tuple(hi if d == dim else s for d, s in enumerate(x.shape))))
        if len(parts) > 1:
            x = apply("concat", parts, axis=dim)
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        x = apply("pad", [x], pads=tuple((min(lo, 0), min(hi, 0)) for lo, hi in pairs), value=0)
    return x


def _pad_circular(x: Tensor, pairs: list) -> Tensor:
    """Circular padding: negative amounts crop first (as PyTorch does), then each dim wraps."""
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        x = apply("pad", [x], pads=tuple((min(lo, 0), min(hi, 0)) for lo, hi in pairs), value=0)
        pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    for dim, (lo, hi) in enumerate(pairs):
        if not (lo or hi):
            continue
        n = x.shape[dim]
        if lo > n or hi > n:
            raise ShapeError("Padding value causes wrapping around more than once.")
        parts = [_narrow(x, dim, n - lo, n)] if lo else []
        parts.append(x)
        if hi:
            parts.append(_narrow(x, dim, 0, hi))
        x = apply("concat", parts, axis=dim)
    return x
