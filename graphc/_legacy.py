"""PyTorch's legacy constructors: ``graphc.Tensor(data)`` / ``graphc.Tensor(*sizes)`` and the
typed classes ``graphc.FloatTensor``, ``LongTensor``, ... that older scripts still call.

As in PyTorch: a sequence or array argument is data (copied into the class's dtype: the
default float for ``Tensor``), int arguments or a ``Size`` are a shape (graphc fills it with
zeros where PyTorch leaves memory uninitialized), no argument is an empty 1-d tensor, and a
tensor argument is returned as an alias (same dtype). ``isinstance(x, graphc.FloatTensor)``
checks the dtype (and the CPU device), as PyTorch's ``tensortype`` does.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt

from . import _factories
from ._tensor import Size, Tensor

__all__ = ["LEGACY_TYPES"]


def _construct(dtype, args, device):
    if not args:
        return _factories.empty(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0].detach()
    if isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool) or (len(args) == 1 and isinstance(args[0], Size)):
        return _factories.zeros(*args, dtype=dtype, device=device)
    if len(args) == 1:
        data = args[0]
        if not isinstance(data, (list, tuple, np.ndarray)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return _factories.tensor(data, dtype=dtype, device=device)
    raise TypeError(f"new(): invalid arguments {tuple(type(a).__name__ for a in args)}: expected data or sizes")


def _tensor_new(cls, *args, device=None):
    t = _construct(dt.default_float(), args, device)
    return t if cls is Tensor else cls._wrap(t._data, t._dtype, t._device)


def _tensor_init(self, *args, **kwargs):
    """Construction happens in ``__new__``."""


Tensor.__new__ = _tensor_new
Tensor.__init__ = _tensor_init


class _TensorType(type):
    """The metaclass of FloatTensor & co: calling one constructs, isinstance checks the dtype."""

    def __call__(cls, *args, device=None):
        return _construct(cls.dtype, args, device)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'graphc.{cls.__name__}'>"


_NAMES = {
    "FloatTensor": dt.float32, "DoubleTensor": dt.float64, "HalfTensor": dt.float16, "BFloat16Tensor": dt.bfloat16,
    "LongTensor": dt.int64, "IntTensor": dt.int32, "ShortTensor": dt.int16, "CharTensor": dt.int8,
    "ByteTensor": dt.uint8, "BoolTensor": dt.bool_,
}
LEGACY_TYPES = {name: _TensorType(name, (), {"dtype": d, "__module__": "graphc"}) for name, d in _NAMES.items()}
