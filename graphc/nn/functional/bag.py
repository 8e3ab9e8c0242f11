"""``embedding_bag``: sums, means or maxima of bags of embedding rows.

The bags are segments of one lookup: each looked-up row gets its bag number
from the offsets (a comparison against the offsets, no host round trip), and
the reduction is one matmul with the (bags x lookups) membership matrix for
``sum``/``mean`` or a masked ``amax`` for ``max``, so it compiles and its
gradient is autodiff's.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError

from ... import _functional as _F
from ..._dispatch import apply, composite, constant
from ..._factories import arange
from ..._tensor import Tensor
from ._common import _reshape
from .misc import _renorm_rows_, _scale_grad

__all__ = ["embedding_bag"]


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm=None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights=None,
    include_last_offset: bool = False,
    padding_idx=None,
):
    """Reduce bags of rows of ``weight`` (num_embeddings, dim) without materializing the lookups per bag.

    ``input`` is (B, N) — B bags of N indices, ``offsets`` None — or 1-d with
    ``offsets`` giving each bag's start (``include_last_offset``: the last offset
    ends the last bag). ``mode`` ``'sum'``, ``'mean'`` or ``'max'``; empty bags
    give zeros. ``per_sample_weights`` (``'sum'`` only) scales each lookup;
    ``padding_idx`` entries are left out of their bag (and of its count).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("embedding_bag(): input and weight must be Tensors")
    if weight._dtype.is_integer and not input._dtype.is_integer:
        raise TypeError("embedding_bag(): the first argument is input (indices), the second weight; swap them")
    idx = input
    if not idx._dtype.is_integer:
        raise DTypeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {idx._dtype} instead (while checking arguments for embedding_bag)"
        )
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
                f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
            )
        if tuple(per_sample_weights.shape) != tuple(idx.shape):
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, then it must "
                f"have the same shape as the input ({list(idx.shape)})"
            )
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += num
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length sequences.")
        b, n = idx.shape
        flat = _reshape(idx, (-1,))
        bag = _F.floor_divide(arange(b * n, device=idx._device), max(n, 1))
        nbags = b
        if per_sample_weights is not None:
            per_sample_weights = _reshape(per_sample_weights, (-1,))
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        flat = idx
        offs = _F._to(offsets, dt.int64)
        nbags = offs.shape[0] - 1 if include_last_offset else offs.shape[0]
        if include_last_offset:
            offs = _F.narrow(offs, 0, 0, nbags)
        # bag of lookup j: the number of offsets <= j, minus one.
        pos = _F.unsqueeze(arange(flat.shape[0], device=idx._device), 1)
        bag = _F.sub(_F.sum(_F._to(_F.ge(pos, _F.unsqueeze(offs, 0)), dt.int64), 1), 1)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    _check_lookups(flat, offsets if idx.ndim == 1 else None, num, mode)
    if max_norm is not None:
        _renorm_rows_(weight, flat, float(max_norm), float(norm_type))
    with composite("EmbeddingBagBackward0", weight, per_sample_weights) as cmp:
        rows = apply("index_select", [weight, flat], axis=0)  # (M, D)
        if scale_grad_by_freq:
            rows = _scale_grad(rows, flat)
        member = _F.eq(_F.unsqueeze(arange(nbags, device=idx._device), 1), _F.unsqueeze(bag, 0))  # (B, M)
        if padding_idx is not None:
            member = _F.logical_and(member, _F.unsqueeze(_F.ne(flat, padding_idx), 0))
        if mode == "max":
            big = constant(float("-inf"), weight._dtype, weight._device)
            vals = _F.where(_F.unsqueeze(member, 2), _F.unsqueeze(rows, 0), big)  # (B, M, D)
            out = _F.amax(vals, 1) if flat.shape[0] else _F.mul(_F.sum(vals, 1), 0.0)
            empty = _F.unsqueeze(_F.logical_not(_F.any(member, 1)), 1)
            out = _F.where(empty, constant(0.0, weight._dtype, weight._device), out)
        else:
            m = _F._to(member, weight._dtype)
            if per_sample_weights is not None:
                m = _F.mul(m, _F.unsqueeze(_F._to(per_sample_weights, weight._dtype), 0))
            out = _F.matmul(m, rows)
            if mode == "mean":
                count = _F.clamp_min(_F.sum(_F._to(member, weight._dtype), 1, keepdim=True), 1.0)
                out = _F.div(out, count)
        return cmp.result(out)


def _check_lookups(flat: Tensor, offsets, num: int, mode: str) -> None:
    """PyTorch's RuntimeErrors for offsets that do not start at 0 or run past the input (which
    would otherwise drop or invent lookups silently) and for indices outside the table. Eager host
    values only: a traced or device tensor has no values to look at here."""
    if offsets is not None and isinstance(offsets._data, np.ndarray) and offsets.numel():
        offs = offsets._data
        if int(offs[0]) != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. "
                f"However, got {int(offs[0])}"
            )
        if int(offs[-1]) > flat.shape[0]:
            raise RuntimeError(
                f"offsets[-1] can not be greater than input's length {flat.shape[0]} but got offsets[-1] of {int(offs[-1])}"
            )
    if isinstance(flat._data, np.ndarray) and flat.numel():
        bad = np.flatnonzero((flat._data < 0) | (flat._data >= num))
        if bad.size:
            i = int(bad[0])
            v = int(flat._data.reshape(-1)[i])
            if mode == "max":
                raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be {v}")
            raise RuntimeError(f"Index {i} of input takes value {v} which is not in the valid range [0, {num})")
