"""Likelihood losses: ``gaussian_nll_loss``, ``poisson_nll_loss``, ``ctc_loss`` and
``linear_cross_entropy``.

``ctc_loss`` runs the CTC forward (alpha) recursion of Graves et al. over time
with graphc ops, in log space, on the blank-interleaved targets of the whole
batch at once; its gradient is autodiff's. "Impossible" paths hold a large
finite negative number instead of ``-inf`` so that no ``inf - inf`` reaches the
gradient; a loss that stays at that level is reported as ``inf``, as PyTorch
does (or 0 with ``zero_infinity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ir import dtypes as dt

from ... import _functional as _F
from ... import _state
from ..._dispatch import composite, constant
from ..._factories import arange
from ..._tensor import Tensor
from ._common import _arg, _legacy_reduction, _reduce, _reshape, _scalar_like
from .dense import linear
from .loss import cross_entropy

__all__ = ["gaussian_nll_loss", "poisson_nll_loss", "ctc_loss", "linear_cross_entropy", "LinearCrossEntropyOptions"]


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
    """0.5 * (log(var) + (input - target)^2 / var) [+ 0.5 log(2 pi) with ``full``].

    ``var`` is a number or a tensor of the input's shape, of it without the last
    dim (one variance per sample), or of it with one dim of size 1 (shared along
    that dim: (N, 1, H, W) for an (N, C, H, W) input); it is clamped at ``eps`` for
    stability without stopping its gradient, as PyTorch does.
    """
    x = _arg(input, "gaussian_nll_loss")
    if not isinstance(var, Tensor):
        if float(var) < 0:
            raise ValueError("var has negative entry/entries")
        var = _scalar_like(float(var), x)  # (PyTorch: var * ones_like(input); broadcasting does that)
    else:
        if isinstance(var._data, np.ndarray) and bool((var._data < 0).any()):  # (NaN passes, as in PyTorch)
            raise ValueError("var has negative entry/entries")
        var = _gaussian_var_shape(tuple(x.shape), var)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamp(var, eps) in value, identity in gradient (PyTorch clamps a clone under no_grad). The
    # clamped branch only: var + (eps - var) would make an infinite variance inf - inf = NaN.
    held = var.detach()
    v = _F.where(_F.lt(held, eps), _F.add(_F.sub(var, held), eps), var)
    d = _F.sub(x, target)
    loss = _F.mul(_F.add(_F.log(v), _F.div(_F.mul(d, d), v)), 0.5)
    if full:
        loss = _F.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)


def _gaussian_var_shape(shape: tuple, var: Tensor) -> Tensor:
    """PyTorch 2.13's rule for ``var``: the input's shape; the input's shape less its last dim
    (then unsqueezed to broadcast); or the input's ndim where the sizes that differ from the
    input's add up to exactly 1 (one dim of size 1). Anything else is a ValueError, a 0-d var
    too unless the input is 1-d."""
    vshape = tuple(var.shape)
    if vshape == shape:
        return var
    if shape[:-1] == vshape:
        return _F.unsqueeze(var, -1)
    if len(vshape) == len(shape) and sum(v for s, v in zip(shape, vshape) if s != v) == 1:
        return var
    raise ValueError("var is of incorrect size")


def poisson_nll_loss(
    input, target, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
    reduction: str = "mean",
):
    """Poisson negative log-likelihood: exp(x) - t x (``log_input``) or x - t log(x + eps);
    ``full`` adds Stirling's approximation of log(t!) where t > 1."""
    x = _arg(input, "poisson_nll_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = _F.sub(_F.exp(x), _F.mul(target, x))
    else:
        loss = _F.sub(x, _F.mul(target, _F.log(_F.add(x, eps))))
    if full:
        big = _F.gt(target, 1)
        safe = _F.where(big, target, _scalar_like(1.0, target))
        stirling = _F.add(_F.sub(_F.mul(safe, _F.log(safe)), safe), _F.mul(_F.log(_F.mul(safe, 2 * math.pi)), 0.5))
        loss = _F.add(loss, _F.where(big, stirling, _scalar_like(0.0, stirling)))
    return _reduce(loss, reduction)


_NEG = -1e30  # "log 0" that stays finite through the recursion's gradients


def _lse(*terms: Tensor) -> Tensor:
    m = terms[0]
    for t in terms[1:]:
        m = _F.maximum(m, t)
    m = m.detach()
    s = None
    for t in terms:
        e = _F.exp(_F.sub(t, m))
        s = e if s is None else _F.add(s, e)
    return _F.add(m, _F.log(s))


def _lengths(v, n: int, name: str, device) -> Tensor:
    if isinstance(v, Tensor):
        if v.ndim == 0:
            v = _F.unsqueeze(v, 0)
        return _F._to(v, dt.int64)
    arr = np.asarray(list(v) if not isinstance(v, int) else [v], dtype=np.int64)
    if arr.shape != (n,):
        raise RuntimeError(f"ctc_loss: {name} must have one entry per batch element ({n}), got {arr.shape[0]}")
    return constant(arr, dt.int64, device)


def ctc_loss(
    log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
    zero_infinity: bool = False,
):
    """Connectionist Temporal Classification loss.

    ``log_probs`` (T, N, C) or (T, C) log-softmax outputs; ``targets`` (N, S)
    padded, or 1-d concatenated (then ``target_lengths`` must be known numbers);
    ``input_lengths``/``target_lengths`` per batch element. ``'mean'`` divides
    each loss by its target length, then averages over the batch.
    """
    lp = _arg(log_probs, "ctc_loss")
    unbatched = lp.ndim == 2
    if unbatched:
        lp = _F.unsqueeze(lp, 1)
        if isinstance(targets, Tensor) and targets.ndim == 1:
            targets = _F.unsqueeze(targets, 0)
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got {list(lp.shape)}")
    T, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {c}), got {blank}")
    in_len = _lengths(input_lengths, n, "input_lengths", lp._device)
    tg_len = _lengths(target_lengths, n, "target_lengths", lp._device)
    if not targets._dtype.is_integer:
        raise RuntimeError(f"ctc_loss: targets must be an integer tensor, got {targets._dtype}")
    if targets.ndim == 1:
        # Concatenated targets: split them with the (known) lengths into a padded (N, S) matrix.
        lens = [int(v) for v in np.asarray(tg_len.numpy() if isinstance(tg_len, Tensor) else tg_len).reshape(-1)]
        s_max = max(lens) if lens else 0
        total = sum(lens)
        if total != targets.shape[0]:
            raise RuntimeError(f"ctc_loss: the target lengths sum to {total} but targets has {targets.shape[0]} entries")
        if s_max == 0:
            tg = constant(np.zeros((n, 0), dtype=np.int64), dt.int64, lp._device)
        else:
            pad_idx = np.zeros((n, s_max), dtype=np.int64)
            off = 0
            for b, k in enumerate(lens):
                pad_idx[b, :k] = np.arange(off, off + k)
                off += k
            picked = _F.index_select(targets, 0, constant(pad_idx.reshape(-1), dt.int64, lp._device))
            tg = _reshape(picked, (n, s_max))
    else:
        tg = targets
    _check_ctc_lengths(in_len, tg_len, T, tg.shape[1], targets.ndim == 1)
    s_max = tg.shape[1]
    pos = _reshape(arange(s_max, device=lp._device), (1, s_max))
    valid_t = _F.lt(pos, _F.unsqueeze(tg_len, 1))
    labels = _F.where(valid_t, _F._to(tg, dt.int64), constant(blank, dt.int64, lp._device))  # (N, S)
    L = 2 * s_max + 1
    # Extended labels: blank, l1, blank, l2, ..., blank.
    col = _blank_col(n, blank, lp._device)
    if s_max:
        blanks = _F.add(_F.mul(labels, 0), blank)
        ext = _F.cat([_reshape(_F.stack([blanks, labels], 2), (n, 2 * s_max)), col], 1)
    else:
        ext = col
    # s >= 2 may skip from s - 2 when ext[s] is not blank and differs from ext[s - 2].
    skip = np.zeros((1, L), dtype=bool)
    skip[0, 3::2] = True  # the label positions from the second label on
    prev = _F.cat([col, col, _F.narrow(ext, 1, 0, L - 2)], 1) if L > 2 else ext
    can_skip = _F.logical_and(constant(skip, dt.bool_, lp._device), _F.ne(ext, prev))
    # Emissions for every t: (T, N, L).
    idx = _F.expand(_F.unsqueeze(ext, 0), (T, n, L))
    emit = _F.gather(lp, 2, idx)
    neg = _scalar_like(_NEG, emit)
    init = np.full((1, L), _NEG)
    init[0, 0] = 0.0
    if L > 1:
        init[0, 1] = 0.0
    start_ok = constant(init.astype(lp._dtype.numpy_dtype), lp._dtype, lp._device)
    # With an empty target only the first blank may start.
    start_ok = _F.where(
        _F.logical_and(_F.eq(_reshape(arange(L, device=lp._device), (1, L)), 1), _F.eq(_F.unsqueeze(tg_len, 1), 0)),
        neg,
        start_ok,
    )
    alpha = _F.add(_F.select(emit, 0, 0), start_ok)
    negcol = _F.mul(_F.narrow(alpha, 1, 0, 1).detach(), 0.0) + _NEG
    for t in range(1, T):
        a1 = _F.cat([negcol, _F.narrow(alpha, 1, 0, L - 1)], 1) if L > 1 else negcol
        a2 = _F.cat([negcol, negcol, _F.narrow(alpha, 1, 0, L - 2)], 1) if L > 2 else _F.mul(alpha, 0.0) + _NEG
        a2 = _F.where(can_skip, a2, neg)
        new = _F.add(_lse(alpha, a1, a2), _F.select(emit, 0, t))
        alpha = _F.where(_F.lt(constant(t, dt.int64, lp._device), _F.unsqueeze(in_len, 1)), new, alpha)
    end = _F.unsqueeze(_F.mul(tg_len, 2), 1)
    last = _F.gather(alpha, 1, end)
    before = _F.gather(alpha, 1, _F.clamp_min(_F.sub(end, 1), 0))
    before = _F.where(_F.gt(end, 0), before, neg)
    nll = _F.neg(_F.squeeze(_lse(last, before), 1))  # (N,)
    impossible = _F.gt(nll, -_NEG / 2)
    if zero_infinity:
        nll = _F.where(impossible, _scalar_like(0.0, nll), nll)
    else:
        nll = _F.where(impossible, _scalar_like(float("inf"), nll), nll)
    if reduction == "mean":
        out = _F.mean(_F.div(nll, _F._to(_F.clamp_min(tg_len, 1), nll._dtype)))
    elif reduction == "sum":
        out = _F.sum(nll)
    elif reduction == "none":
        out = _F.squeeze(nll, 0) if unbatched else nll
    else:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    with composite("CtcLossBackward0", log_probs) as cmp:
        return cmp.result(out)


def _check_ctc_lengths(in_len: Tensor, tg_len: Tensor, T: int, S: int, concatenated: bool) -> None:
    """PyTorch's RuntimeErrors for lengths the recursion would read past (or before) its arrays
    in, which would otherwise give a number; skipped while tracing, where they are not known."""
    if _state.active_tracer() is not None:
        return
    where = " (while checking arguments for ctc_loss_allocate_outputs)"
    for name, lengths, top in (("input_lengths", in_len, T), ("target_lengths", tg_len, None)):
        v = np.asarray(lengths.detach()).reshape(-1)
        if v.size and v.min() < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value {int(v.min())}{where}")
        if top is not None and v.size and v.max() > top:
            raise RuntimeError(f"Expected {name} to have value at most {top}, but got value {int(v.max())}{where}")
    longest = int(np.asarray(tg_len.detach()).max(initial=0))
    if not concatenated and longest > S:
        raise RuntimeError(
            f"Expected tensor to have size at least {longest} at dimension 1, but got size {S} for argument #2 "
            f"'targets'{where}"
        )


def _blank_col(n: int, blank: int, device) -> Tensor:
    return constant(np.full((n, 1), blank, dtype=np.int64), dt.int64, device)


@dataclass
class LinearCrossEntropyOptions:
    """Options of the chunked :func:`linear_cross_entropy` (PyTorch's names).

    graphc computes the chunked variant chunk by chunk over the batch with the
    same results as the reference; ``acc_policy``/``acc_dtype`` are accepted.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None


def linear_cross_entropy(
    input, linear_weight, target, *, linear_bias=None, weight=None, reduction: str = "mean", ignore_index=None,
    label_smoothing: float = 0.0, options=None,
):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` in one call.

    ``linear_weight`` is (C, in) or (C, d1, ..., dK, in) for a K-dimensional
    loss; with ``options`` (:class:`LinearCrossEntropyOptions`) the batch is
    processed in chunks of ``batch_chunk_size`` rows.
    """
    x = _arg(input, "linear_cross_entropy")
    if x.ndim < 1 or x.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {x.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    in_features = x.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {x.shape[-1]} and {linear_weight.shape[-1]}, respectively"
        )
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and x.ndim == 1:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires batched input, "
            f"(N, {in_features}), got unbatched input with shape {tuple(x.shape)}"
        )
    logits_shape = tuple(x.shape[:-1]) + (num_classes,) + out_features
    probs = tuple(target.shape) == logits_shape
    if probs and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    w2 = linear_weight
    b2 = linear_bias
    if out_features:
        w2 = _reshape(linear_weight, (int(np.prod(out_features)) * num_classes, in_features))
        if linear_bias is not None:
            b2 = _reshape(linear_bias, (-1,))

    def ce(xs, ts):
        logits = _reshape(linear(xs, w2, b2), tuple(xs.shape[:-1]) + (num_classes,) + out_features)
        return cross_entropy(logits, ts, weight=weight, ignore_index=ignore_index, reduction="none",
                             label_smoothing=label_smoothing)

    chunk = getattr(options, "batch_chunk_size", None) if options is not None else None
    if options is None or x.ndim == 1 or not chunk or chunk >= x.shape[0]:
        logits = _reshape(linear(x, w2, b2), logits_shape)
        return cross_entropy(
            logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
            label_smoothing=label_smoothing,
        )
    losses = [ce(_F.narrow(x, 0, s, min(chunk, x.shape[0] - s)), _F.narrow(target, 0, s, min(chunk, x.shape[0] - s)))
              for s in range(0, x.shape[0], chunk)]
    loss = _F.cat(losses, 0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _F.sum(loss)
    if probs:
        return _F.div(_F.sum(loss), float(loss.numel()))
    valid = _F.ne(target, ignore_index)
    if weight is not None:
        safe = _F.where(valid, target, 0)
        w = _F.where(valid, _reshape(_F.index_select(weight, 0, _reshape(safe, (-1,))), tuple(safe.shape)), _scalar_like(0, loss))
        return _F.div(_F.sum(loss), _F.sum(w))
    return _F.div(_F.sum(loss), _F.sum(_F._to(valid, loss._dtype)))
