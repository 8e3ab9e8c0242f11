"""Shapes and views: ``view``/``reshape``, squeezing, permutations, ``expand``, slicing
views (``narrow``, ``flip``) and repetition. View ops share memory eagerly and are
traced as views (:func:`graphc._dispatch.apply` does the bookkeeping)."""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import ShapeError
from ir.ops import OPS, fmt_shape
from ir.ops import broadcast_shapes as _broadcast_shapes

from .._args import infer_shape, norm_dim, norm_dims, reduced_count
from .._dispatch import apply, composite
from .._factories import _shape_arg
from .._tensor import Size, Tensor
from ._common import _tensor_arg

__all__ = [
    "view", "reshape", "view_as", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze", "permute",
    "transpose", "swapaxes", "swapdims", "t", "adjoint", "movedim", "moveaxis", "expand", "expand_as",
    "broadcast_to", "broadcast_tensors", "broadcast_shapes", "narrow", "flip", "fliplr", "flipud",
    "repeat", "tile",
]


def _viewable(x: Tensor, shape) -> bool:
    """Whether ``x`` can be seen with ``shape`` without a copy: the reshape row's stride rule on
    ``x``'s layout (a tracer's layout is the one eager would have)."""
    data = x._data
    if data is None:
        if x._trace.layout(x) is None:
            return False  # the tracer itself came from a copy-making reshape: contiguous then
    elif data.flags.c_contiguous:
        return True  # every shape of the same size views C-contiguous memory (the rule's answer, at C speed)
    shape = tuple(shape)
    return OPS["reshape"].strided(tuple(x.shape), tuple(x.stride()), 0, {"shape": shape}, shape) is not None


def view(input, *shape):
    """The same memory seen with another shape (``-1`` infers one size).

    Fails, as in PyTorch, when the strides do not allow it; ``reshape`` copies then.
    """
    x = _tensor_arg(input, "view")
    if len(shape) == 1 and isinstance(shape[0], dt.DType):
        raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
    new = infer_shape(_shape_arg(shape, "view"), x.numel(), "view", x.shape)
    if not _viewable(x, new):
        raise ShapeError(
            f"view size is not compatible with input tensor's size and stride (at least one "
            f"dimension spans across two contiguous subspaces): view of shape {fmt_shape(x.shape)} "
            f"with strides {x.stride()} as {fmt_shape(new)}. Use .reshape(...) instead."
        )
    return apply("reshape", [x], shape=new)


def reshape(input, *shape):
    """Another shape: a view when the strides allow, else a copy."""
    x = _tensor_arg(input, "reshape")
    new = infer_shape(_shape_arg(shape, "reshape"), x.numel(), "reshape", x.shape)
    if not _viewable(x, new):
        x = apply("copy", [x])  # C-contiguous: the reshape below is then a view of it
    return apply("reshape", [x], shape=new)


def view_as(input, other):
    return view(input, tuple(other.shape))


def reshape_as(input, other):
    return reshape(input, tuple(other.shape))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    x = _tensor_arg(input, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    s = norm_dim(start_dim, x.ndim, "flatten")
    e = norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(x.shape[:s]) + (-1 if x.numel() else reduced_count(x.shape, range(s, e + 1)),) + tuple(x.shape[e + 1 :])
    return reshape(x, shape)


def unflatten(input, dim, sizes):
    x = _tensor_arg(input, "unflatten")
    d = norm_dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    known = 1
    for n in sizes:
        known *= n if n != -1 else 1
    fits = sizes.count(-1) <= 1 and (known == x.shape[d] if -1 not in sizes else known and x.shape[d] % known == 0)
    if not fits:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} ({x.shape[d]}) "
            "in the input tensor"
        )
    sizes = tuple(x.shape[d] // known if n == -1 else n for n in sizes)  # -1 from this dim alone
    return reshape(x, tuple(x.shape[:d]) + sizes + tuple(x.shape[d + 1 :]))


def squeeze(input, dim=None):
    """Remove dims of size 1 (all of them, or those in ``dim``)."""
    x = _tensor_arg(input, "squeeze")
    if dim is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    elif isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = []  # squeeze(x, ()) removes nothing (norm_dims would read () as "all dims")
    else:
        axes = [a for a in norm_dims(dim if isinstance(dim, (tuple, list)) else (dim,), x.ndim, "squeeze") if x.ndim and x.shape[a] == 1]
    if not axes:
        return apply("reshape", [x], shape=tuple(x.shape))
    with composite("SqueezeBackward0" if dim is None else "SqueezeBackward1", input) as c:
        return c.result(apply("reshape", [x], shape=tuple(s for i, s in enumerate(x.shape) if i not in axes)))


def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    x = _tensor_arg(input, "unsqueeze")
    d = norm_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(d, 1)
    with composite("UnsqueezeBackward0", input) as c:
        return c.result(apply("reshape", [x], shape=tuple(shape)))


def permute(input, *dims):
    """Reorder dims (a view)."""
    x = _tensor_arg(input, "permute")
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ShapeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
            f"len(dims) = {len(dims)}".replace("(sparse_coo)", "")
        )
    return apply("permute", [x], dims=tuple(norm_dim(d, x.ndim, "permute") for d in dims))


def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    x = _tensor_arg(input, "transpose")
    if x.ndim == 0:
        return apply("reshape", [x], shape=())
    d0, d1 = norm_dim(dim0, x.ndim, "transpose"), norm_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    with composite("TransposeBackward0", input) as c:
        return c.result(apply("permute", [x], dims=tuple(dims)))


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a matrix (1-d and 0-d tensors are returned as they are)."""
    x = _tensor_arg(input, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    if x.ndim < 2:
        return apply("reshape", [x], shape=tuple(x.shape))
    with composite("TBackward0", input) as c:
        return c.result(apply("permute", [x], dims=(1, 0)))


def _check_matrix(x, name: str) -> None:
    if x.ndim < 2:
        raise ShapeError(f"{name} is only supported on matrices or batches of matrices. Got {x.ndim}-D tensor.")


def _matrix_transpose(input):
    """The last two dims swapped (``mT``); a 0-d or 1-d input is refused as in PyTorch."""
    x = _tensor_arg(input, "mT")
    _check_matrix(x, "tensor.mT")
    return transpose(x, -2, -1)


def adjoint(input):
    """The conjugate transpose of the last two dims (``mH``): a view for real tensors."""
    _check_matrix(_tensor_arg(input, "adjoint"), "tensor.adjoint()")
    t = transpose(input, -2, -1)
    return apply("conj", [t]) if t._dtype.is_complex else t


def movedim(input, source, destination):
    x = _tensor_arg(input, "movedim")
    src = [norm_dim(s, x.ndim, "movedim") for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [norm_dim(s, x.ndim, "movedim") for s in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    if x.ndim == 0:  # dims 0 and -1 name the tensor itself
        return permute(x, ())
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


moveaxis = movedim


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (``-1`` keeps a size)."""
    x = _tensor_arg(input, "expand")
    sizes = _shape_arg(sizes, "expand")
    if len(sizes) < x.ndim:
        raise ShapeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return apply("expand", [x], shape=shape)


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def broadcast_to(input, size):
    return expand(input, tuple(size))


def broadcast_tensors(*tensors):
    shape = _broadcast_shapes(*(t.shape for t in tensors), op="broadcast_tensors")
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    """The shape tensors of these shapes broadcast to; an int ``n`` is the shape ``(n,)``."""
    normalized = []
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        if any(not isinstance(n, int) or n < 0 for n in s):
            raise RuntimeError(f"broadcast_shapes: shapes must be tuples of non-negative ints, got {s}")
        normalized.append(s)
    return Size(_broadcast_shapes(*normalized, op="broadcast_shapes"))


def _slice(x: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    starts, stops, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    starts[dim], stops[dim], steps[dim] = start, stop, step
    return apply("slice", [x], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def narrow(input, dim, start, length):
    """Elements ``start .. start+length`` along ``dim`` (a view)."""
    x = _tensor_arg(input, "narrow")
    d = norm_dim(dim, x.ndim, "narrow")
    if start < 0:
        start += x.shape[d]
    if start < 0 or start + length > x.shape[d] or length < 0:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({x.shape[d]}).")
    return _slice(x, d, start, start + length)


def flip(input, dims):
    """Reverse the order of elements along ``dims`` (a view with negative strides)."""
    x = _tensor_arg(input, "flip")
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    # () flips nothing (norm_dims would read it as "all dims"); a 0-d tensor has one element
    axes = norm_dims(dims, x.ndim, "flip") if dims else ()
    if x.ndim == 0:
        axes = ()
    starts, stops, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    for a in axes:
        starts[a], stops[a], steps[a] = x.shape[a] - 1, -1, -1
    with composite("FlipBackward0", input) as c:
        r = apply("slice", [x], starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
        return c.result(apply("copy", [r]))


def fliplr(input):
    x = _tensor_arg(input, "fliplr")
    if x.ndim < 2:
        raise ShapeError(f"fliplr: Input must be >= 2-d, got a {x.ndim}-d tensor.")
    return flip(x, (1,))


def flipud(input):
    x = _tensor_arg(input, "flipud")
    if x.ndim < 1:
        raise ShapeError("flipud: Input must be >= 1-d, got a 0-d tensor.")
    return flip(x, (0,))


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along each dim (new leading dims allowed)."""
    x = _tensor_arg(input, "repeat")
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    inter, expanded, final = [], [], []
    for r, s in zip(sizes, x.shape):
        inter += [1, s]
        expanded += [r, s]
        final.append(r * s)
    with composite("RepeatBackward0", input) as c:
        return c.result(_reshape_copy(expand(reshape(x, tuple(inter)), tuple(expanded)), tuple(final)))


def _reshape_copy(x: Tensor, shape: tuple) -> Tensor:
    """``x`` copied into a new contiguous tensor of ``shape`` (never a view of ``x``, as
    PyTorch's repeat and repeat_interleave, even when every repeat is 1)."""
    return apply("reshape", [apply("copy", [x])], shape=shape)


def tile(input, dims):
    x = _tensor_arg(input, "tile")
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)
