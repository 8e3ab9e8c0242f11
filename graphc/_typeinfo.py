"""``graphc.finfo`` and ``graphc.iinfo``: the numeric limits of a dtype, as PyTorch reports them.

numpy knows every storage dtype but bfloat16 (stored as float32), whose limits are written out
from its format: 8 exponent bits like float32, 7 stored mantissa bits.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt


def _check(d, want_float: bool, name: str, other: str):
    ok = d.is_floating_point or d.is_complex if want_float else not (d.is_floating_point or d.is_complex or d.is_bool)
    if not isinstance(d, dt.DType) or not ok:
        kind = "a floating point" if want_float else "an integer"
        raise TypeError(f"graphc.{name}() requires {kind} input type. Use graphc.{other} to handle '{d}'")


class finfo:
    """Limits of a floating dtype (complex dtypes report their real part's): ``bits``, ``eps``
    (the gap above 1), ``max``, ``min`` (= -max), ``tiny``/``smallest_normal``, ``resolution``
    (10 ** -precision decimal digits) and ``dtype``."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        if type is None:
            type = dt.default_float()
        _check(type, True, "finfo", "iinfo")
        real = dt.to_real(type) if type.is_complex else type
        if real is dt.bfloat16:
            self.bits, self.eps, self.max = 16, 2.0**-7, float.fromhex("0x1.fep127")
            self.tiny, self.resolution = 2.0**-126, 0.01
        else:
            info = np.finfo(real.numpy_dtype)
            self.bits, self.eps, self.max = info.bits, float(info.eps), float(info.max)
            self.tiny, self.resolution = float(info.smallest_normal), 10.0**-info.precision
        self.min = -self.max
        self.smallest_normal = self.tiny
        self.dtype = real.name

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
            f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype: ``bits``, ``min``, ``max`` and ``dtype``."""

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        _check(type, False, "iinfo", "finfo")
        info = np.iinfo(type.numpy_dtype)
        self.bits, self.min, self.max, self.dtype = info.bits, int(info.min), int(info.max), type.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
