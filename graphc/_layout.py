"""Layouts, memory formats and strides: PyTorch's layout promises, computed once.

``graphc.strided`` is the one layout there is (graphc tensors are strided views of dense
buffers); a sparse layout is refused with a clear error. Memory formats are real: a
``channels_last`` tensor has PyTorch's NHWC strides, which ``stride()`` and
``is_contiguous(memory_format=...)`` report as PyTorch does. Values never depend on the format.

``contiguous()``, ``reshape`` when it must copy and ``clone(memory_format=...)``
promise a layout, and code relies on it (``y.transpose(1, 2).contiguous().view(B, T, C)``
in every attention block). The strides a result must have are computed here;
the functional layer (:mod:`graphc._functional.layout`) makes the copies.

As in PyTorch, strides of size-1 dimensions do not matter for contiguity, and a
tensor with no elements is contiguous in every format.

This module imports nothing from graphc (``Tensor.is_contiguous`` reads it).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "layout", "memory_format", "strided", "sparse_coo", "sparse_csr",
    "preserve_format", "contiguous_format", "channels_last", "channels_last_3d",
]


class _Named:
    """A singleton known by its name: prints as ``graphc.<name>``, pickles as the module's singleton."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"graphc.{self.name}"

    def __reduce__(self):
        return self.name


class layout(_Named):
    """A tensor layout (PyTorch's ``torch.layout``): ``graphc.strided`` is the one graphc has."""

    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")


def check_layout(value, op: str) -> None:
    """Accept ``None`` or ``graphc.strided``; anything else raises naming ``op``."""
    if value is None or value is strided:
        return
    if isinstance(value, layout):
        raise NotImplementedError(f"{op}: graphc supports only the strided layout (got layout={value!r})")
    raise TypeError(f"{op}(): argument 'layout' must be graphc.layout, not {type(value).__name__}")


class memory_format(_Named):
    """A memory layout name (PyTorch's ``torch.memory_format``): ``graphc.contiguous_format``,
    ``graphc.preserve_format``, ``graphc.channels_last`` (4-d, NHWC), ``graphc.channels_last_3d``
    (5-d, NDHWC)."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

FORMATS = {f.name: f for f in (contiguous_format, preserve_format, channels_last, channels_last_3d)}
_CHANNELS_LAST_RANK = {"channels_last": 4, "channels_last_3d": 5}


def format_name(fmt, default: str, op: str) -> str:
    """The name of ``fmt`` (None: ``default``); a TypeError for anything that is not a format."""
    if fmt is None:
        return default
    # By name, so that another definition of the same singletons (or PyTorch's own, which
    # print as torch.channels_last) is understood too.
    name = None if isinstance(fmt, str) else getattr(fmt, "name", None) or str(fmt).rsplit(".", 1)[-1]
    if name not in FORMATS:
        raise TypeError(f"{op}(): argument 'memory_format' must be a graphc.memory_format, not {type(fmt).__name__}")
    return name


def dim_order(name: str, ndim: int, op: str) -> tuple:
    """Dimensions from outermost to innermost in memory for format ``name`` (not preserve)."""
    if name == "contiguous_format":
        return tuple(range(ndim))
    rank = _CHANNELS_LAST_RANK[name]
    if ndim != rank:
        raise RuntimeError(f"{op}: required rank {rank} tensor to use {name} format, got a {ndim}-d tensor")
    return (0,) + tuple(range(2, ndim)) + (1,)


def dense_strides(shape, order) -> tuple:
    """Strides (in elements) of a dense layout of ``shape`` whose dims run ``order`` outer to inner."""
    strides = [0] * len(shape)
    acc = 1
    for d in reversed(order):
        strides[d] = acc
        acc *= max(int(shape[d]), 1)
    return tuple(strides)


def has_layout(shape, strides, order) -> bool:
    """Whether ``strides`` are the dense layout ``order`` (size-1 dims ignored; empty: yes)."""
    if any(s == 0 for s in shape):
        return True
    expected = dense_strides(shape, order)
    return all(n == 1 or s == e for n, s, e in zip(shape, strides, expected))


def preserved_order(shape, strides) -> tuple:
    """The dim order ``clone()``/``empty_like`` keep (``preserve_format``), from ``strides``.

    Dims run by decreasing stride, so a permuted dense tensor keeps its strides and a
    strided slice of one gets the compact layout in the same order; a broadcast tensor
    (a stride of 0 on a dim longer than 1) gets the contiguous layout. Ties keep the dims'
    order (size-1 dims sit where they are).
    """
    ndim = len(shape)
    if any(st == 0 and n > 1 for n, st in zip(shape, strides)):
        return tuple(range(ndim))
    big = sorted((d for d in range(ndim) if shape[d] != 1), key=lambda d: -abs(strides[d]))
    order, it = [], iter(big)
    for d in range(ndim):  # size-1 dims keep their place; the others take the sorted order
        order.append(d if shape[d] == 1 else next(it))
    return tuple(order)


def check_memory_format(value, op: str) -> memory_format:
    """The memory format given (``None`` reads as ``preserve_format``), checked."""
    return FORMATS[format_name(value, "preserve_format", op)]


def suggest_format(x) -> memory_format:
    """The format ``x``'s strides follow: a channels-last format for a 4-d (5-d) tensor strided
    that way and not also row-major, else ``contiguous_format``."""
    if x._data is None or x.ndim not in (4, 5) or x.is_contiguous():
        return contiguous_format
    fmt = channels_last if x.ndim == 4 else channels_last_3d
    return fmt if has_layout(x.shape, x.stride(), dim_order(fmt.name, x.ndim, "")) else contiguous_format


def laid_out(data: np.ndarray, order) -> np.ndarray:
    """The values of ``data`` in a fresh dense buffer whose dims run ``order`` outer to inner."""
    if order == tuple(range(data.ndim)):
        return np.ascontiguousarray(data)
    buf = np.empty(tuple(data.shape[d] for d in order), dtype=data.dtype).transpose(np.argsort(order))
    np.copyto(buf, data)
    return buf


def grad_layout(param, arr: np.ndarray, copy: bool) -> np.ndarray:
    """``arr``, a new gradient for a tensor whose host array is ``param``, laid out as PyTorch's
    gradient layout contract says: with ``param``'s strides when those are dense and
    non-overlapping (a permuted parameter gets a permuted ``.grad``), else row-major. Code that
    reads ``.grad`` relies on it (``p.grad.view(-1)``, optimizers flattening gradients), and the
    incoming gradient's own layout is an accident of the backward graph (the weight gradient of
    ``linear`` arrives transposed). A copy when ``copy`` or when ``arr`` is laid out otherwise.
    ``param`` without a host array (a device tensor) gets the row-major layout."""
    if arr.flags.c_contiguous and (
        not isinstance(param, np.ndarray) or param.flags.c_contiguous or param.ndim != arr.ndim
    ):  # the common case, decided without computing a dim order (this runs on every backward)
        return arr.copy() if copy else arr
    order = tuple(range(arr.ndim))
    if isinstance(param, np.ndarray) and not param.flags.c_contiguous and param.ndim == arr.ndim:
        strides = tuple(s // param.itemsize for s in param.strides)
        dense = preserved_order(param.shape, strides)
        if has_layout(param.shape, strides, dense):
            order = dense
    arr_strides = tuple(s // arr.itemsize for s in arr.strides)
    if has_layout(arr.shape, arr_strides, order) and all(s >= 0 for s in arr_strides):
        return arr.copy(order="K") if copy else arr
    if order == tuple(range(arr.ndim)):
        return np.array(arr, order="C", copy=True)
    return laid_out(arr, order)
