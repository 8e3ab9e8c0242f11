"""numpy functions take graphc tensors: ``np.sum(t)``, ``np.concatenate([t, u])``, ``np.linalg.norm(t)``.

``Tensor.__array__`` gives numpy the values (a host copy for device tensors) and
``__array_priority__`` makes numpy defer binary operators to the tensor's reflected
ones (``ndarray + tensor`` is a tensor). ``__array_function__`` covers the numpy
functions that would otherwise call a same-named tensor method with numpy's keywords
(``np.sum(t)`` calls ``t.sum(axis=None, out=None)``): the tensors among the arguments
are read as arrays and numpy computes the result, as for any array-like. A tracer has no
values, so it raises the usual TracingError there.
"""

from __future__ import annotations

import numpy as np

from ._tensor import Tensor


def _as_arrays(obj):
    if isinstance(obj, Tensor):
        return np.asarray(obj)
    if isinstance(obj, (list, tuple)):
        converted = [_as_arrays(o) for o in obj]
        return type(obj)(converted) if isinstance(obj, list) else tuple(converted)
    return obj


def _array_function(self, func, types, args, kwargs):
    return func(*_as_arrays(args), **{k: _as_arrays(v) for k, v in kwargs.items()})


Tensor.__array_function__ = _array_function
