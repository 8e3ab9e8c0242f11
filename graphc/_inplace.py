"""In-place ops: compute out of place, write back through the view, keep autograd honest.

``x.add_(y)`` runs ``add(x, y)`` like any op (so its gradient rule and its
kernel are the ordinary ones), checks that the result fits ``x`` (PyTorch's
casting and shape rules for in-place ops), writes it into ``x``'s memory and
bumps the version counter shared by ``x`` and its views. For autograd:

* ``x`` takes the result's ``grad_fn`` (it stops being a leaf);
* when ``x`` is a view of a base with history, the base's history is rebased
  as "base with these positions replaced" (an ``index_copy`` over the view's
  flat positions: PyTorch's CopySlices), and the view is re-derived from it;
* an in-place op on a leaf that requires grad (or a view of one) raises, as
  in PyTorch, while grad mode is on.

Under ``@graphc.compile`` the same write becomes a functional update of the
traced value plus a recorded mutation (see ``graphc.compile``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ir import dtypes as dt
from ir.errors import AutogradError, DTypeError, ShapeError, user_location
from ir.ops import broadcast_shapes, fmt_shape

from . import _state
from ._autograd_graph import AccumulateGrad, GradNode, current_seq, resolve
from ._dispatch import NO_GRAD_VIEW, apply, constant, grad_edge, replay_view
from ._factories import tensor
from ._grad_mode import INFERENCE_TENSOR_MESSAGE, enable_grad, is_grad_enabled, is_inference_mode_enabled, no_grad
from ._tensor import Tensor


def _nonleaf_argument(x: Tensor) -> bool:
    """A tracer standing for a tensor argument with autograd history (``f(a * 1)``): its
    history lies outside the trace, but it is no leaf, so in-place ops on it are allowed."""
    if x._node is None:
        return False
    real = x._trace.real_of(x)
    return real is not None and real._grad_fn is not None


def _check_leaf(x: Tensor, op: str, result: Tensor | None = None) -> None:
    if not is_grad_enabled():
        return
    base = x._base
    if base is not None and x._view_ops is not None:
        meta = x._view_meta
        if meta is not None and (
            x.requires_grad or base.requires_grad or (result is not None and result.requires_grad)
        ):
            _view_write_error(meta, x, op)
    if x._grad_fn is None and x._requires_grad and not _nonleaf_argument(x):
        raise AutogradError(
            f"a leaf Variable that requires grad is being used in an in-place operation ({op}). "
            "Wrap the update in `with graphc.no_grad():` (as an optimizer step does) or work on a clone."
        )
    # A detached alias (``p.data``, ``p.detach()``) has a base but no view ops: writing
    # through it is allowed, as in PyTorch (``f.data.sub_(f.grad.data * lr)``).
    if base is not None and x._view_ops is not None and base._grad_fn is None and base._requires_grad:
        raise AutogradError(
            f"a view of a leaf Variable that requires grad is being used in an in-place operation ({op})."
        )


def _view_write_error(meta, x: Tensor, op: str) -> None:
    """PyTorch's error for an in-place write, recorded by autograd, into a view it forbids
    writing (see ``graphc._dispatch.NO_GRAD_VIEW``): a view made under no_grad (was the write
    meant to be tracked or not?), or an output of unbind/split/chunk (one backward node feeds
    all the outputs and cannot be rebased for one of them)."""
    kind, detail = meta
    shape = f" (a view of shape {list(x.shape)}, written by {op})"
    if kind == NO_GRAD_VIEW:
        what = "A view of a view which was created" if detail else "A view was created"
        raise AutogradError(
            f"{what} in no_grad mode and is being modified inplace with grad mode enabled{shape}. Given that "
            "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
            "both the view and the inplace either both inside the no_grad block (if you don't want the inplace "
            "to be tracked) or both outside (if you want the inplace to be tracked)."
        )
    raise AutogradError(
        f"{detail} is a view and is being modified inplace{shape}. This view is the output of a function "
        "that returns multiple views. Such functions do not allow the output views to be modified inplace. "
        "You should replace the inplace operation by an out-of-place one."
    )


def _fit(x: Tensor, result: Tensor, op: str) -> Tensor:
    """``result`` cast and broadcast to ``x``'s dtype and shape, or PyTorch's error."""
    if result._dtype is not x._dtype:
        if result._dtype.category > x._dtype.category:
            raise DTypeError(
                f"{op}: result type {result._dtype.name.capitalize()} can't be cast to the desired output "
                f"type {x._dtype.name.capitalize()} (in-place ops keep the dtype of the tensor they write into)"
            )
        result = apply("cast", [result], dtype=x._dtype)
    if tuple(result.shape) != tuple(x.shape):
        try:
            target = broadcast_shapes(tuple(result.shape), tuple(x.shape), op=op)
        except ShapeError:
            target = None
        if target != tuple(x.shape):
            raise ShapeError(
                f"{op}: output with shape {fmt_shape(x.shape)} doesn't match the broadcast shape "
                f"{fmt_shape(target if target is not None else result.shape)}"
            )
        result = apply("expand", [result], shape=tuple(x.shape))
    return result


def _check_overlap(x: Tensor, op: str) -> None:
    data = x._data
    if data.size and any(st == 0 and s > 1 for st, s in zip(data.strides, data.shape)):
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )


def check_no_overlap(x: Tensor, inputs, op: str, full: bool = False) -> None:
    """PyTorch's memory-overlap rule for an op that writes ``x`` and reads ``inputs``.

    An input that shares part of ``x``'s memory (``x[1:].add_(x[:-1])``, ``x.add_(x.t())``,
    ``x[1:] = x[:-1]``) raises: in PyTorch the result depends on the order its kernel writes
    the elements in, so it refuses; graphc computes out of place and would silently give a
    different answer. The same memory seen the same way (``x.add_(x)``) is fine, unless
    ``full`` (index_put_ refuses any overlap). As in PyTorch only dense tensors are compared
    (a strided or flipped view is "too hard" and allowed). Cheap when nothing is shared: the
    address ranges are read only for arrays of one buffer.
    """
    xd = x._data
    if xd.__class__ is not np.ndarray:  # a tracer or a device array
        return
    root = xd.base if xd.base is not None else xd
    for a in inputs:
        if not isinstance(a, Tensor):
            continue
        ad = a._data
        if ad.__class__ is not np.ndarray or (ad.base if ad.base is not None else ad) is not root:
            continue
        if _overlap(xd, ad, full):
            raise RuntimeError(
                f"{op}: unsupported operation: some elements of the input tensor and the written-to tensor refer "
                "to a single memory location. Please clone() the tensor before performing the operation. "
                f"(written-to: shape {list(xd.shape)}, strides {x.stride()}, offset {x.storage_offset()}; "
                f"input: shape {list(ad.shape)}, strides {a.stride()}, offset {a.storage_offset()})"
            )


def _overlap(xd: np.ndarray, ad: np.ndarray, full: bool) -> bool:
    """Whether two arrays of one buffer overlap in a way PyTorch refuses (see check_no_overlap)."""
    if ad is xd:
        return full and xd.size > 0
    if not xd.size or not ad.size or not (_dense(xd) and _dense(ad)):
        return False
    x0, a0 = xd.__array_interface__["data"][0], ad.__array_interface__["data"][0]
    x1, a1 = x0 + xd.nbytes, a0 + ad.nbytes
    if x0 == a0 and x1 == a1 and xd.strides == ad.strides:
        return full
    return x0 < a1 and a0 < x1


def _dense(a: np.ndarray) -> bool:
    """PyTorch's is_non_overlapping_and_dense: the elements fill a block of memory, in any
    dim order (a transpose is dense; a stepped slice, a broadcast or a flip is not)."""
    if a.flags.c_contiguous:
        return True
    expected = a.itemsize
    for st, n in sorted((st, n) for st, n in zip(a.strides, a.shape) if n != 1):
        if st != expected:
            return False
        expected *= n
    return True


def _check_writable(x: Tensor, op: str) -> None:
    """Refuse a write into ``x``'s array: overlapping elements, read-only memory."""
    data = x._data
    if 0 in data.strides:  # (only a stride of 0 can make elements overlap)
        _check_overlap(x, op)
    if data.flags.writeable is False:
        raise RuntimeError(f"{op}: the tensor's memory is read-only (it was made from a read-only array)")


def note_writes(t: Tensor, writes: int = 1) -> None:
    """Record ``writes`` in-place writes to ``t``: its version counter (shared with its views)
    and when, which autograd's saved-tensor checks and compiled guards read."""
    t._version.value += writes
    t._version.seq = current_seq()


def _inplace_result(x: Tensor, result: Tensor, op: str = "in-place op") -> Tensor:
    """Write ``result`` into ``x`` (see the module docstring); returns ``x``."""
    if x._inference and not is_inference_mode_enabled():
        raise RuntimeError(INFERENCE_TENSOR_MESSAGE)
    tracer = _state.active_tracer()
    if tracer is not None:
        return tracer.write(x, _keep_history(x, _fit(x, result, op)))
    if result._grad_fn is None and not result._requires_grad and result._dtype is x._dtype:
        data, rdata = x._data, result._data
        if rdata.shape == data.shape and (not is_grad_enabled() or not _has_history(x)):
            # The common case (an optimizer's update, no_grad code): nothing for autograd to
            # record, no cast, no broadcast; the general path below would do just this.
            if rdata is not data:
                _check_writable(x, op)
                np.copyto(data, rdata, casting="unsafe")
            note_writes(x)
            return x
    _check_leaf(x, op, result)
    result = _keep_history(x, _fit(x, result, op))
    if result._data is not x._data:
        _check_writable(x, op)
        if is_grad_enabled() and result._grad_fn is not None:
            _preserve_saved(x, result._grad_fn)
        np.copyto(x._data, result._data, casting="unsafe")
    note_writes(x)
    if is_grad_enabled():
        base = x._base
        tracked = result.requires_grad or x.requires_grad or (base is not None and base.requires_grad)
        if tracked:
            if base is None or x._view_ops is None:
                x._take_grad_fn(result._grad_fn)
            else:
                _copy_slices(x, base, result)
    return x


def _has_history(x: Tensor) -> bool:
    """Whether ``x`` or its base requires grad (an in-place write must then be recorded)."""
    base = x._base
    return x._requires_grad or x._grad_fn is not None or (
        base is not None and (base._requires_grad or base._grad_fn is not None)
    )


def _keep_history(x: Tensor, result: Tensor) -> Tensor:
    """``result`` given a history when it has none of its own but x or it requires grad.

    Writing a constant or a leaf over a tensor (``copy_``, ``fill_``, ``y[()] = 3``)
    records ``where(True, result, x)``: x keeps requiring grad, its old value gets a
    zero gradient and a leaf source its gradient, as PyTorch's CopyBackwards does.
    Writes through views need nothing here: they rebase the base's history.
    """
    if not is_grad_enabled() or result._grad_fn is not None or (x._base is not None and x._view_ops is not None):
        return result
    if not (x.requires_grad or result.requires_grad):
        return result
    return apply("where", [constant(True, dt.bool_, x._device), result, x])


def _preserve_saved(x: Tensor, root) -> None:
    """Give the nodes of the op being written into ``x`` a copy of ``x``'s old values.

    ``y.mul_(w)`` records ``mul(y, w)``, which saves ``y`` for ``w``'s gradient,
    and then overwrites ``y``. PyTorch saves such an input as ``original_self``
    (a clone) so the gradient stays right; here every node reachable from the
    result and recorded since ``x`` was last written, that saved ``x`` (or a view
    of it) at its current version, gets a private copy instead. The node that
    produced ``x``'s current value (and its base's) and nodes recorded elsewhere
    keep the shared tensor, so their later use still raises the "modified by an
    inplace operation" error, as in PyTorch.
    """
    counter, bound = x._version, x._version.seq
    for t in (x, x._base):
        if t is not None and t._grad_fn is not None:
            bound = max(bound, resolve(t._grad_fn)._seq)
    copies: dict = {}

    def preserved(entry):
        t, version = entry
        if t._version is not counter or version != counter.value:
            return entry
        if id(t) not in copies:
            if t._node is not None:  # tracing: a tracer of the value before the write
                copies[id(t)] = t._trace.snapshot(t)
            else:
                copies[id(t)] = _copy_with_history(t)
        return (copies[id(t)], 0)

    stack, seen = [resolve(root)], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, GradNode) or id(node) in seen or node._seq <= bound:
            continue
        seen.add(id(node))
        for key, entry in list(node._saved.items()):
            node._saved[key] = preserved(entry)
        if node._saved_out is not None:
            node._saved_out = preserved(node._saved_out)
        stack.extend(resolve(e) for e in node._next if e is not None)


def _copy_with_history(t: Tensor) -> Tensor:
    """A copy of ``t``'s values that keeps ``t``'s autograd edge (its grad_fn, or its leaf's
    accumulator), like PyTorch's saved ``original_self``: the backward rule that reads it with
    ``create_graph=True`` then differentiates through the value ``t`` had before the write
    (``y.mul_(x)``'s second derivative in ``x``). A detached copy lost that term."""
    c = Tensor._wrap(np.array(t._data, copy=True), t._dtype, t._device)
    edge = grad_edge(t)  # (a view's grad_fn is brought up to date first)
    if isinstance(edge, AccumulateGrad):
        c._requires_grad, c._accumulator = True, edge
    elif edge is not None:
        c._grad_fn = edge
    return c


def _view_index_map(base: Tensor, view_ops) -> Tensor:
    """For each element of the view, its flat position in ``base`` (int64, no grad)."""
    with no_grad():
        ids = Tensor._wrap(np.arange(base.numel(), dtype=np.int64).reshape(tuple(base.shape)), dt.int64, base._device)
        for name, attrs in view_ops:
            ids = apply(name, [ids], **attrs)
    return ids


def _copy_slices(view: Tensor, base: Tensor, value: Tensor) -> None:
    """Rebase the autograd history of ``base`` after ``value`` was written through ``view``."""
    with enable_grad():
        ids = apply("reshape", [_view_index_map(base, view._view_ops)], shape=(view.numel(),))
        flat_base = apply("reshape", [base], shape=(base.numel(),))
        flat_value = apply("reshape", [value], shape=(view.numel(),))
        updated = apply("index_copy", [flat_base, ids, flat_value], axis=0)
        new_base = apply("reshape", [updated], shape=tuple(base.shape))
        base._take_grad_fn(new_base._grad_fn)
        view._take_grad_fn(replay_view(base, view._view_ops)._grad_fn)
        view._view_version = view._version.value


def _inplace_view(x: Tensor, result: Tensor, op: str = "an in-place view op") -> Tensor:
    """Metadata-only in-place ops (``t_``, ``squeeze_``, ``transpose_``): x becomes the view.

    Under a trace, a tracer standing for a tensor the caller holds (an argument, a lifted
    tensor) cannot change shape or strides: a replay writes values back, not metadata. That
    signature runs eagerly (``Unsupported``, with the op and the user's line)."""
    if x._node is not None:
        if x._trace.real_of(x) is not None:
            raise _state.Unsupported(
                f"changes the shape or strides of a tensor it was given or reached in place ({op} at "
                f"{user_location().split(': ', 1)[0]}), which a compiled replay cannot do"
            )
        if x._base is not None and result._base is x._base:  # a view: its view ops follow (writes through it)
            x._view_ops = result._view_ops
        x._node = result._node
        return x
    x._data = result._data
    if is_grad_enabled() and result._grad_fn is not None:
        x._grad_fn = result._grad_fn  # (a retained grad stays on the old node here, as in PyTorch)
    return x


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values into this tensor's memory, broadcast and cast to its dtype.

    Unlike the other in-place ops, which refuse a result they would have to narrow, copy_
    casts to any dtype, as PyTorch's does: float to integer truncates toward zero, to bool is
    ``!= 0``, complex to real drops the imaginary part (with PyTorch's warning). The cast's
    own gradient rule applies, so a copy into an integer or bool tensor has no gradient path.
    """
    if not isinstance(src, Tensor):
        src = tensor(src)
    if src._device != self._device and src._data is not None:
        src = src.to(self._device)
    if src._data is not self._data:
        check_no_overlap(self, (src,), "copy_")
    if src._dtype is not self._dtype:
        src = cast_for_write(src, self._dtype)
    return _inplace_result(self, src, "copy_")


def cast_for_write(src: Tensor, dtype: dt.DType) -> Tensor:
    """``src`` cast to ``dtype`` for a write that may narrow (copy_, setitem), warning as
    PyTorch does when the imaginary part is dropped."""
    if src._dtype.is_complex and not dtype.is_complex:
        warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=3)
    return apply("cast", [src], dtype=dtype)


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
            )
        v = apply("cast", [value], dtype=self._dtype) if value._dtype is not self._dtype else value
    else:
        v = constant(value, self._dtype, self._device)
    return _inplace_result(self, v, "fill_")


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero."""
    return fill_(self, 0)
