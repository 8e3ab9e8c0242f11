"""Tensor methods that PyTorch has and the other method modules do not bind: ``where``,
``vdot``, ``addmm_``, ``fill_diagonal_``, ``float_power_``, ``swapaxes_``, ``hardshrink``,
``prelu``, predicates, the per-element Python ``apply_``/``map_``/``map2_``, the legacy
``new(...)`` constructor and the deprecated out-of-place ``resize``/``resize_as``.

Each is a call of an existing op (imported after :mod:`graphc.nn`, for the two activations).
"""

from __future__ import annotations

import warnings

import numpy as np

from ir import dtypes as dt

from . import _functional as F
from . import _legacy
from ._factories import _from_array
from ._methods import _make_inplace
from ._tensor import Size, Tensor
from ._torch_extras import is_nonzero, is_same_size, is_signed
from .nn import functional as NF


def _where(self, condition, y):
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return F.where(condition, self, y)


def _float_power_(self, exponent):
    """In-place :func:`float_power`: the result is float64 (complex128), so this tensor must be too."""
    want = dt.complex128 if self.dtype.is_complex or (isinstance(exponent, Tensor) and exponent.dtype.is_complex) else dt.float64
    if self.dtype is not want:
        name = {dt.float64: "Double", dt.complex128: "ComplexDouble"}[want]
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_legacy_name(self.dtype)} but the operation's result requires dtype {name}"
        )
    return self.copy_(F.float_power(self, exponent))


def _legacy_name(d) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(d.name, d.name)


def _fill_diagonal_(self, fill_value, wrap: bool = False):
    """Fill the main diagonal (all indices equal) in place. A 2-d tall matrix restarts its
    diagonal below each square block when ``wrap``; a tensor of more dims needs equal sizes."""
    shape = tuple(self.shape)
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = int(np.prod(shape))
    flat = np.zeros(n, dtype=bool)
    if self.ndim == 2:
        rows, cols = shape
        end = n if wrap else min(rows, cols) * cols
        flat[0:end:cols + 1] = True
    else:
        step = sum(shape[0] ** k for k in range(self.ndim))
        flat[0:n:step] = True
    mask = _from_array(flat.reshape(shape), dt.bool_, self.device)
    return self.masked_fill_(mask, fill_value)


def _host_loop(self, fn, others, name: str):
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    a = np.asarray(self._host())
    if np.broadcast_shapes(a.shape, *(tuple(o.shape) for o in others)) != a.shape:
        raise RuntimeError(f"{name}: the other tensors must broadcast to this tensor's shape {tuple(a.shape)}")
    arrays = [a] + [np.broadcast_to(np.asarray(o.detach()._host()), a.shape) for o in others]
    vals = [fn(*(x.item() for x in items)) for items in zip(*(arr.reshape(-1) for arr in arrays))]
    out = np.asarray(vals, dtype=self.dtype.numpy_dtype).reshape(a.shape)
    return self.copy_(_from_array(out, self.dtype, self.device))


def _apply_(self, callable):
    """Replace each element by ``callable(element)`` (Python numbers; CPU tensors only, slow, as
    in PyTorch; no gradient)."""
    return _host_loop(self, callable, (), "apply_")


def _map_(self, tensor, callable):
    """Replace each element by ``callable(self_element, tensor_element)``, ``tensor`` broadcast to
    this tensor's shape (CPU only)."""
    return _host_loop(self, callable, (tensor,), "map_")


def _map2_(self, x, y, callable):
    """Replace each element by ``callable(self_element, x_element, y_element)`` (CPU only)."""
    return _host_loop(self, callable, (x, y), "map2_")


def _new(self, *args, device=None):
    """The legacy constructor in this tensor's dtype and device: ``x.new(2, 3)`` (a shape; zeros
    where PyTorch leaves memory uninitialized), ``x.new([1, 2])`` (data), ``x.new()`` (empty),
    ``x.new(t)`` (an alias of ``t``, which must have this dtype)."""
    if len(args) == 1 and isinstance(args[0], Tensor) and args[0].dtype is not self.dtype:
        raise TypeError(f"expected dtype {self.dtype} (got {args[0].dtype})")
    return _legacy._construct(self.dtype, args, device or self.device)


def _resize(self, *sizes):
    """Deprecated: an autograd-tracked reshape to ``sizes`` (same element count), with PyTorch's warning."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return _checked_resize(self, sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes)


def _resize_as(self, tensor):
    """Deprecated: :meth:`resize` to ``tensor``'s shape."""
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return _checked_resize(self, tuple(tensor.shape))


def _checked_resize(self, sizes):
    sizes = tuple(int(s) for s in sizes)
    n = int(np.prod(sizes))
    if n != self.numel():
        have = "x".join(str(s) for s in self.shape)
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in total), but the given tensor has a size "
            f"of {have} ({self.numel()} elements). autograd's resize can only change the shape of a given tensor, "
            "while preserving the number of elements. "
        )
    return F.reshape(F.contiguous(self), Size(sizes)).clone()


Tensor.where = _where
Tensor.vdot = F.vdot
Tensor.addmm_ = _make_inplace(F.addmm, "addmm_")
Tensor.fill_diagonal_ = _fill_diagonal_
Tensor.float_power_ = _float_power_
Tensor.swapaxes_ = Tensor.transpose_
Tensor.swapdims_ = Tensor.transpose_
Tensor.hardshrink = NF.hardshrink
Tensor.prelu = NF.prelu
Tensor.is_nonzero = is_nonzero
Tensor.is_same_size = is_same_size
Tensor.is_signed = is_signed
Tensor.apply_ = _apply_
Tensor.map_ = _map_
Tensor.map2_ = _map2_
Tensor.new = _new
Tensor.resize = _resize
Tensor.resize_as = _resize_as
