"""Copies that promise a layout: ``contiguous``, ``clone(memory_format=...)``, and the copy
``reshape`` makes when it cannot view.

The ``copy`` primitive writes a C-contiguous result (as generated code and the Triton
backend do); ``preserve_format`` (``clone()``'s default) and ``channels_last`` then lay the
copy out in the order PyTorch gives (:mod:`graphc._layout` computes it). Under
``@graphc.compile`` tracers have no memory: a copy is contiguous there, as it is in the
generated program.
"""

from __future__ import annotations

import numpy as np

from .. import _layout
from .._dispatch import apply
from .._tensor import Tensor
from ._common import _tensor_arg

__all__ = ["contiguous", "clone"]


def _strides(x: Tensor):
    """``x``'s strides in elements, or None for a tracer or device tensor (no host layout)."""
    if not isinstance(x._data, np.ndarray):
        return None
    item = x._data.itemsize
    return tuple(s // item for s in x._data.strides)


def _lay_out(out: Tensor, order) -> Tensor:
    """Give the fresh copy ``out`` the dense layout ``order`` (outer to inner), in place."""
    data = out._data
    if isinstance(data, np.ndarray) and order != tuple(range(data.ndim)):
        out._data = _layout.laid_out(data, order)
    return out


def contiguous(input, memory_format=None):
    """This tensor when it already has the layout ``memory_format`` asks for (default
    ``graphc.contiguous_format``), else a copy that has it."""
    x = _tensor_arg(input, "contiguous")
    name = _layout.format_name(memory_format, "contiguous_format", "contiguous")
    if name == "preserve_format":
        raise RuntimeError("contiguous(): preserve memory format is unsupported by the contiguous operator")
    if name == "contiguous_format":
        return x if x.is_contiguous() else apply("copy", [x])
    order = _layout.dim_order(name, x.ndim, "contiguous")
    strides = _strides(x)
    if strides is not None and _layout.has_layout(x.shape, strides, order):
        return x
    return _lay_out(apply("copy", [x]), order)


def clone(input, *, memory_format=None):
    """A copy with its own memory; gradients flow back to ``input``.

    The copy keeps ``input``'s layout by default (``graphc.preserve_format``: a transposed
    tensor stays transposed, a broadcast one becomes contiguous), or takes the one
    ``memory_format`` names.
    """
    x = _tensor_arg(input, "clone")
    name = _layout.format_name(memory_format, "preserve_format", "clone")
    out = apply("copy", [x])
    strides = _strides(x)
    if name == "preserve_format":
        if strides is None or x._data.flags.c_contiguous:
            return out
        return _lay_out(out, _layout.preserved_order(x.shape, strides))
    return _lay_out(out, _layout.dim_order(name, x.ndim, "clone"))
