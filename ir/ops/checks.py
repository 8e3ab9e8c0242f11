"""Value checks a program makes at run time: rows that pass their input through unchanged or
raise the user's error.

PyTorch checks some inputs by value (``binary_cross_entropy`` wants probabilities in [0, 1])
and raises before computing anything. Eagerly graphc checks the array it has; a traced
program has no values until it runs, so the frontend puts a check row into the graph and the
generated program raises the same error when the values arrive. A check is a ``library``
row: one ``single`` kernel on the numpy backend, a host call on Triton (as PyTorch's CUDA
kernels assert on the device).
"""

from __future__ import annotations

import numpy as np

from ..errors import ValueCheckError
from .core import LIBRARY, OpDef, dtype_same, register, shape_same


def _np_check_range(arrays, attrs, shape, dtype):
    x = arrays[0]
    if x.size and not ((x >= attrs["low"]) & (x <= attrs["high"])).all():  # NaN fails too
        raise ValueCheckError(attrs["message"])
    return np.array(x, copy=True)  # a fresh result: generated code may write into it


register(OpDef(
    "check_range", LIBRARY, 1, shape_same, dtype_same, ("low", "high", "message"),
    grad=lambda n, g: [g], grad_name="CheckRangeBackward0", numpy=_np_check_range,
    doc="The input unchanged when every element lies in [attrs['low'], attrs['high']] (NaN does "
        "not); else ValueCheckError(attrs['message']).",
))
