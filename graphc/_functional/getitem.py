"""``tensor[key]`` and ``tensor[key] = value`` with NumPy/PyTorch indexing rules.

Basic keys (ints, slices, ``None``, ``...``) give views: one ``slice``
primitive plus one ``reshape``. Advanced keys (integer tensors, lists, bool
masks) gather: the advanced dims are brought together, merged into one, and
read with one ``index_select`` over combined flat indices, so gradients flow
through the ordinary ``index_select`` rule. Bool masks become integer
indices first (their count depends on the values, so they need eager data).

Assignment with a basic key writes through the view (``copy_``); with an
advanced key it becomes an ``index_copy`` over the flat positions the key
selects, written back in place. ``masked_select(x, mask)`` is ``x[mask]``.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError
from ir.ops import broadcast_shapes, fmt_shape

from .. import _state
from .._dispatch import apply, composite
from .._factories import _from_array, tensor
from .._grad_mode import INFERENCE_TENSOR_MESSAGE, is_inference_mode_enabled
from .._inplace import _check_overlap, _inplace_result, cast_for_write, check_no_overlap, copy_
from .._tensor import Tensor
from ._common import _operand
from .elementwise import add, mul
from .indexing import _checked_index
from .shape import broadcast_tensors, expand, permute, reshape

__all__ = ["masked_select"]


def _to_index_tensor(k, device):
    if isinstance(k, Tensor):
        return k
    arr = np.asarray(k)
    if arr.size == 0 and arr.dtype.kind == "f":  # x[[]] / x[range(0)]: an empty integer index
        arr = arr.astype(np.int64)
    if arr.dtype == object:
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {k!r}")
    if arr.dtype.kind == "b":
        return tensor(arr, dtype=dt.bool_, device=device)
    if arr.dtype.kind not in "iu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return tensor(arr.astype(np.int64), device=device)


def _sequence_as_tuple(key):
    """PyTorch's reading of a list key (``treatSequenceAsTuple``): a list shorter than 32 that
    holds a tensor, a sequence, a slice, ``...`` or None is a tuple of indices, so
    ``x[[[0, 1], [1, 2]]]`` is ``x[[0, 1], [1, 2]]`` and ``x[[slice(None), 1]]`` is ``x[:, 1]``.
    (NumPy dropped the rule in 1.23 and reads such a list as one index array.)"""
    if key.__class__ is list and len(key) < 32 and any(
        k is None or k is Ellipsis or isinstance(k, (Tensor, list, tuple, range, slice, np.ndarray)) for k in key
    ):
        return tuple(key)
    return key


def _expand_key(x: Tensor, key):
    """The key as a list with lists/arrays turned into tensors and ``...`` expanded."""
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if isinstance(k, (tuple, range)):  # inside a key, a tuple or range is a sequence of indices (PyTorch)
            k = list(k)
        if isinstance(k, (list, np.ndarray)) and not (isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu"):
            k = _to_index_tensor(k, x._device)
        elif isinstance(k, np.integer):
            k = int(k)
        elif isinstance(k, np.ndarray):
            k = int(k)
        elif isinstance(k, Tensor) and k.ndim == 0 and k._dtype.is_integer and k._data is not None:
            k = int(k.item())
        elif isinstance(k, (bool, np.bool_)):  # x[True] adds a dim of size 1, x[False] one of size 0
            k = tensor(bool(k), device=x._device)
        elif not (k is None or k is Ellipsis or isinstance(k, (int, slice, Tensor))):
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                f"valid indices (got {type(k).__name__})"
            )
        items.append(k)
    consumed = 0
    for k in items:
        if isinstance(k, Tensor) and k._dtype.is_bool:
            consumed += max(k.ndim, 1) if k.ndim else 0
        elif k is not None and k is not Ellipsis:
            consumed += 1
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    n_ellipsis = sum(1 for k in items if k is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_ellipsis:
        i = items.index(Ellipsis)
        items[i : i + 1] = [slice(None)] * (x.ndim - consumed)
    else:
        items += [slice(None)] * (x.ndim - consumed)
    return items


def _mask_to_indices(mask: Tensor):
    mask._need_data("boolean-mask indexing")
    idx = np.nonzero(np.asarray(mask._host()))
    return [tensor(i.astype(np.int64), device=mask._device) for i in idx]


def _basic_getitem(x: Tensor, key):
    """``x[key]`` for a key of ints, slices, ``None`` and one ``...`` (the common case, in one
    pass and without isinstance chains); None for any other key or any error, which the general
    path then handles or reports."""
    if key.__class__ is not tuple:
        key = (key,)
    data = x._data
    shape = data.shape if data is not None else tuple(x.shape)
    ndim = len(shape)
    consumed = 0
    ellipsis = None
    for i, k in enumerate(key):
        c = k.__class__
        if c is int or c is slice:
            consumed += 1
        elif k is Ellipsis:
            if ellipsis is not None:
                return None
            ellipsis = i
        elif k is not None:
            return None
    if consumed > ndim:
        return None
    if ellipsis is not None:
        key = key[:ellipsis] + (_FULL,) * (ndim - consumed) + key[ellipsis + 1 :]
    starts, stops, steps, mid_shape = [], [], [], []
    name = None
    dim = 0
    for k in key:
        if k is None:
            mid_shape.append(1)
            name = "UnsqueezeBackward0"
            continue
        size = shape[dim]
        dim += 1
        if k.__class__ is int:
            if not -size <= k < size:
                return None
            k %= size
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
            name = "SelectBackward0"
        elif k == _FULL:
            starts.append(0)
            stops.append(size)
            steps.append(1)
            mid_shape.append(size)
        else:
            if k.step is not None and k.step <= 0:
                return None
            start, stop, step = k.indices(size)
            if stop < start:
                stop = start
            starts.append(start)
            stops.append(stop)
            steps.append(step)
            mid_shape.append((stop - start + step - 1) // step)
            name = "SliceBackward0"
    if dim < ndim:
        rest = shape[dim:]
        starts += [0] * len(rest)
        stops += rest
        steps += [1] * len(rest)
        mid_shape += rest
    y = x
    starts, stops = tuple(starts), tuple(stops)
    if starts != _ZEROS[: len(starts)] or stops != shape or steps.count(1) != len(steps):
        y = apply("slice", [y], starts=starts, stops=stops, steps=tuple(steps))
    mid_shape = tuple(mid_shape)
    if y is x or mid_shape != (y._data.shape if y._data is not None else tuple(y.shape)):
        y = apply("reshape", [y], shape=mid_shape)  # x[...] and x[:] are views too, not x
    if name is None or y._grad_fn is None:
        return y
    with composite(name, x) as c:
        return c.result(y)


_ZEROS = (0,) * 64


_FULL = slice(None)


def _check_masks(x: Tensor, items) -> None:
    """A bool mask must have the shape of the dims it indexes (PyTorch refuses others; numpy
    would read a shorter mask as a list of indices of 0 and 1)."""
    dim = 0
    for k in items:
        if k is None:
            continue
        if isinstance(k, Tensor) and k._dtype.is_bool:
            for i, n in enumerate(k.shape):
                if dim + i >= x.ndim or x.shape[dim + i] != n:
                    raise IndexError(
                        f"The shape of the mask {fmt_shape(k.shape)} at index {i} does not match the shape of the "
                        f"indexed tensor {fmt_shape(x.shape)} at index {dim + i}"
                    )
            dim += k.ndim
        else:
            dim += 1


def _has_mask(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(
        (isinstance(k, Tensor) and k._dtype.is_bool) or (isinstance(k, np.ndarray) and k.dtype == np.bool_)
        or (isinstance(k, list) and k and isinstance(k[0], (bool, np.bool_)))
        for k in keys
    )


def getitem(x: Tensor, key) -> Tensor:
    y = _basic_getitem(x, key)
    if y is not None:
        return y
    key = _sequence_as_tuple(key)
    items = _expand_key(x, key)
    _check_masks(x, items)
    # Bool masks become one integer index tensor per masked dim.
    expanded = []
    for k in items:
        if isinstance(k, Tensor) and k._dtype.is_bool:
            if k.ndim == 0:
                # x[True] adds a dim of size 1; x[False] a dim of size 0 (that new dim indexed
                # by no position, below)
                expanded.append(None if bool(k) else _NONE_OF_NEW_DIM)
                continue
            expanded.extend(_mask_to_indices(k))
        else:
            expanded.append(k)

    starts, stops, steps = [], [], []
    mid_shape = []  # shape after the basic part, advanced dims kept
    adv = []  # (position in mid_shape, index tensor)
    dim = 0
    for k in expanded:
        if k is None or k is _NONE_OF_NEW_DIM:
            if k is _NONE_OF_NEW_DIM:
                adv.append((len(mid_shape), tensor(np.zeros(0, np.int64), device=x._device)))
            mid_shape.append(1)
            continue
        size = x.shape[dim]
        if isinstance(k, int):
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
            # PyTorch selects integer dims before advanced indexing: x[1, :, [0]] has
            # shape [3, 1] for x of shape [2, 3, 2] (NumPy would give [1, 3]).
            k %= size
            starts.append(k), stops.append(k + 1), steps.append(1)
        elif isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = k.indices(size)
            starts.append(start), stops.append(max(stop, start)), steps.append(step)
            mid_shape.append(len(range(start, max(stop, start), step)))
        else:  # integer index tensor
            if not k._dtype.is_integer:
                raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {k._dtype}")
            starts.append(0), stops.append(size), steps.append(1)
            adv.append((len(mid_shape), _normalize_index(k, size, dim)))
            mid_shape.append(size)
        dim += 1

    y = x
    if any(s != 0 or e != n or st != 1 for s, e, st, n in zip(starts, stops, steps, x.shape)):
        y = apply("slice", [y], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
    if tuple(mid_shape) != tuple(y.shape) or y is x:  # x[...] and x[:] are views too, not x
        y = apply("reshape", [y], shape=tuple(mid_shape))
    if not adv:
        return _basic_grad_fn_name(x, y, expanded)
    return _advanced(y, adv)


_NONE_OF_NEW_DIM = object()  # x[False]: a new dim of size 1, indexed by an empty index


def _basic_grad_fn_name(x: Tensor, y: Tensor, items) -> Tensor:
    """Name ``y``'s grad_fn as PyTorch does, after the last index applied
    (``x[0]`` SelectBackward0, ``x[:, 1:]`` SliceBackward0, ``x[None]`` UnsqueezeBackward0)."""
    name = None
    for k in items:
        if isinstance(k, int):
            name = "SelectBackward0"
        elif isinstance(k, slice) and k != slice(None):
            name = "SliceBackward0"
        elif k is None:
            name = "UnsqueezeBackward0"
    if name is None or y is x:
        return y
    with composite(name, x) as c:
        return c.result(y)


def _normalize_index(idx: Tensor, size: int, dim: int) -> Tensor:
    """int64 indices into a dim of ``size``, negatives counted from the end (PyTorch wraps
    advanced indices); out-of-range entries raise (see :func:`_checked_index`)."""
    idx = apply("cast", [idx], dtype=dt.int64) if idx._dtype is not dt.int64 else idx
    return _checked_index(idx, size, "", dim, wrap=True)


def _advanced(y: Tensor, adv) -> Tensor:
    positions = [p for p, _ in adv]
    indices = broadcast_tensors(*[i for _, i in adv])
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    first = positions[0] if adjacent else 0
    rest = [d for d in range(y.ndim) if d not in positions]
    order = rest[:first] + positions + rest[first:]
    if order != list(range(y.ndim)):
        y = permute(y, order)
    sizes = [y.shape[first + i] for i in range(len(positions))]
    flat = None
    stride = 1
    for idx, size in zip(reversed(indices), reversed(sizes)):
        term = mul(idx, stride) if stride != 1 else idx
        flat = term if flat is None else add(flat, term)
        stride *= size
    merged = tuple(y.shape[:first]) + (stride,) + tuple(y.shape[first + len(positions) :])
    y = reshape(y, merged)
    return apply("index_select", [y, flat], axis=first)


def setitem(x: Tensor, key, value) -> None:
    if x._inference and not is_inference_mode_enabled():
        raise RuntimeError(INFERENCE_TENSOR_MESSAGE)
    key = _sequence_as_tuple(key)
    value_requires_grad = isinstance(value, Tensor) and (value.requires_grad or value._node is not None)
    if _state.active_tracer() is None and x._node is None and not x.requires_grad and not value_requires_grad and not (
        x._base is not None and x._base.requires_grad
    ) and not _ints_with_advanced(key):
        if _has_mask(key):
            _check_masks(x, _expand_key(x, key))
        _fast_setitem(x, key, value)
        return
    items = _expand_key(x, key)
    _check_masks(x, items)
    basic = all(k is None or isinstance(k, (int, slice)) for k in items)
    if basic:
        copy_(getitem(x, tuple(items)), value)
        return
    # Advanced: write through the flat positions the key selects.
    if isinstance(value, Tensor):
        check_no_overlap(x, (value,), "index_put_", full=True)
        if value._dtype is not x._dtype:
            value = _value_for(x, key, value)
    ids = getitem(_from_array(np.arange(x.numel(), dtype=np.int64).reshape(tuple(x.shape))), key)
    v = _operand(value, x._dtype, x._device)
    if tuple(v.shape) != tuple(ids.shape):
        try:
            fits = broadcast_shapes(tuple(v.shape), tuple(ids.shape)) == tuple(ids.shape)
        except ShapeError:
            fits = False
        if not fits:
            raise ShapeError(
                f"index_put_: shape mismatch: value tensor of shape {fmt_shape(v.shape)} cannot be "
                f"broadcast to indexing result of shape {fmt_shape(ids.shape)}"
            )
        v = expand(v, tuple(ids.shape))
    updated = apply(
        "index_copy",
        [reshape(x, (-1,)), reshape(ids, (-1,)), reshape(v, (-1,))],
        axis=0,
    )
    _inplace_result(x, reshape(updated, tuple(x.shape)), "index_put_")


def _ints_with_advanced(key) -> bool:
    """Keys like ``[1, :, [0]]``, where PyTorch applies the integers first and NumPy does not."""
    keys = key if isinstance(key, tuple) else (key,)
    has_int = any(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in keys)
    return has_int and any(isinstance(k, (list, np.ndarray, Tensor)) for k in keys)


def _fast_setitem(x: Tensor, key, value) -> None:
    """No autograd and no tracing involved: numpy assignment through the view."""

    def conv(k):
        if isinstance(k, Tensor):
            return np.asarray(k._host())
        if isinstance(k, list):
            return np.asarray(k)
        return k

    np_key = tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)
    if isinstance(value, Tensor):
        if value._data.__class__ is np.ndarray and x._data.__class__ is np.ndarray and _same_buffer(x, value):
            if _basic_key(key):  # the written-to tensor is x[key] (x[3:] = x[:3] is fine)
                check_no_overlap(_from_array(x._data[np_key]), (value,), "copy_")
            else:
                check_no_overlap(x, (value,), "index_put_", full=True)
        if value._dtype is not x._dtype:
            value = _value_for(x, key, value)
        v = np.asarray(value._host())
    else:
        v = value
    _check_overlap(x, "index_put_")
    try:
        with np.errstate(invalid="ignore"):
            x._data[np_key] = v
    except ValueError as e:
        raise ShapeError(f"index_put_: cannot assign values of shape {list(np.shape(v))}: {e}") from None
    except IndexError as e:
        raise IndexError(str(e)) from None
    x._version.value += 1


def _same_buffer(x: Tensor, value: Tensor) -> bool:
    xd, vd = x._data, value._data
    return (xd.base if xd.base is not None else xd) is (vd.base if vd.base is not None else vd)


def _basic_key(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in keys)


def _value_for(x: Tensor, key, value: Tensor) -> Tensor:
    """A tensor value cast to ``x``'s dtype for ``x[key] = value``, as PyTorch's setitem does.

    A basic key writes through a view with copy_, which casts to any dtype (``x_int[1] =
    tensor(-3.9)`` stores -3); so does a bool-mask key with a 0-d value (PyTorch's
    masked_fill_). Other advanced keys go through index_put_, which wants the dtypes to match:
    a value that would have to narrow to another kind (float into int) raises PyTorch's error.
    """
    keys = key if isinstance(key, tuple) else (key,)
    masks_only = all(
        k._dtype.is_bool if isinstance(k, Tensor) else not isinstance(k, (list, np.ndarray)) or np.asarray(k).dtype == bool
        for k in keys
    )
    if _basic_key(key) or (value.ndim == 0 and masks_only):
        return cast_for_write(value, x._dtype)
    if value._dtype.category > x._dtype.category:
        raise DTypeError(
            "index_put_: Index put requires the source and destination dtypes match, got "
            f"{x._dtype} for the destination and {value._dtype} for the source (values of shape "
            f"{list(value.shape)}; cast them with .to({x._dtype}))."
        )
    return value


def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` (broadcast with it) is True, as a 1-d tensor."""
    x, m = broadcast_tensors(input, mask)
    out = getitem(x, m)
    return apply("copy", [out]) if x.ndim == 0 else out  # a 0-d mask indexes as a view
