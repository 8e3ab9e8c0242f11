"""Layout and memory-format names: ``graphc.strided``, ``preserve_format``, ``contiguous_format``,
``channels_last``, ``channels_last_3d``, accepted wherever PyTorch takes ``layout=`` or
``memory_format=``.

graphc tensors are strided views of dense buffers, so ``strided`` is the one layout there
is; a sparse layout is refused with a clear error. Memory formats are real: a
``channels_last`` tensor has PyTorch's NHWC strides (the values are stored as
``(N, H, W, C)`` and seen through a permuted view), which ``is_contiguous(memory_format=...)``
and ``stride()`` report as PyTorch does. Values never depend on the format.
"""

from __future__ import annotations

from ._dispatch import apply
from ._tensor import Tensor

__all__ = [
    "layout", "memory_format", "strided", "sparse_coo", "sparse_csr",
    "preserve_format", "contiguous_format", "channels_last", "channels_last_3d",
]


class layout:
    """A tensor layout (``graphc.strided`` is the one graphc supports)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"graphc.{self._name}"

    def __reduce__(self):
        return (_layout_by_name, (self._name,))


class memory_format:
    """A memory format: the order of dims in memory that a new or converted tensor gets."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"graphc.{self._name}"

    def __reduce__(self):
        return (_format_by_name, (self._name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

_LAYOUTS = {v._name: v for v in (strided, sparse_coo, sparse_csr)}
_FORMATS = {v._name: v for v in (preserve_format, contiguous_format, channels_last, channels_last_3d)}
# dims in memory order, for the formats that are not row-major
_ORDER = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def _layout_by_name(name):
    return _LAYOUTS[name]


def _format_by_name(name):
    return _FORMATS[name]


def check_layout(value, op: str) -> None:
    """Accept ``None`` or ``graphc.strided``; anything else raises naming ``op``."""
    if value is None or value is strided:
        return
    if isinstance(value, layout):
        raise NotImplementedError(f"{op}: graphc supports only the strided layout (got layout={value!r})")
    raise TypeError(f"{op}(): argument 'layout' must be graphc.layout, not {type(value).__name__}")


def check_memory_format(value, op: str):
    """The memory format given (``None`` reads as ``preserve_format``), checked."""
    if value is None:
        return preserve_format
    if not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be graphc.memory_format, not {type(value).__name__}")
    return value


def _order(fmt, ndim: int, op: str):
    rank_order = _ORDER.get(fmt)
    if rank_order is None:
        return None
    rank, order = rank_order
    if ndim != rank:
        raise RuntimeError(f"{op}: required rank {rank} tensor to use {fmt._name} format (got a {ndim}-d tensor)")
    return order


def suggest_format(x: Tensor):
    """The format ``x``'s strides follow: ``channels_last`` for an NHWC-strided 4-d tensor
    that is not also row-major, else ``contiguous_format`` (what ``preserve_format`` keeps)."""
    if x._data is None or x.ndim not in (4, 5) or x.is_contiguous():
        return contiguous_format
    fmt = channels_last if x.ndim == 4 else channels_last_3d
    return fmt if is_contiguous_as(x, fmt) else contiguous_format


def is_contiguous_as(x: Tensor, fmt) -> bool:
    """Whether ``x``'s strides are dense in ``fmt``'s dim order (PyTorch's
    ``is_contiguous(memory_format=...)``; size-1 dims may have any stride)."""
    fmt = check_memory_format(fmt, "is_contiguous")
    rank_order = _ORDER.get(fmt)
    if rank_order is None:
        return x.is_contiguous()
    rank, order = rank_order
    if x.ndim != rank:
        return False
    shape, strides = x.shape, x.stride()
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def to_format(x: Tensor, fmt, op: str, copy: bool = False) -> Tensor:
    """``x`` in memory format ``fmt``: itself when it already is (and no ``copy``), else a copy
    laid out that way. ``preserve_format`` keeps the layout ``x`` has."""
    fmt = check_memory_format(fmt, op)
    if fmt is preserve_format:
        fmt = suggest_format(x)
    order = _order(fmt, x.ndim, op)
    if order is None:
        if not copy and x.is_contiguous():
            return x
        return apply("copy", [x])
    if not copy and x._data is not None and is_contiguous_as(x, fmt):
        return x
    # store as the permuted (dense) tensor, and look at it through the inverse permutation
    inverse = tuple(order.index(d) for d in range(len(order)))
    stored = apply("copy", [apply("permute", [x], dims=order)])
    return apply("permute", [stored], dims=inverse)


def empty_as(shape, fmt, op: str, make):
    """A fresh tensor of ``shape`` in format ``fmt``: ``make(storage_shape)`` fills the storage,
    seen through a permuted view for channels-last formats."""
    order = _order(fmt, len(shape), op) if fmt is not preserve_format else None
    if order is None:
        return make(tuple(shape))
    stored = make(tuple(shape[d] for d in order))
    inverse = tuple(order.index(d) for d in range(len(order)))
    return apply("permute", [stored], dims=inverse)
