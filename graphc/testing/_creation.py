"""``make_tensor``: a tensor of random values for tests, as ``torch.testing.make_tensor``."""

from __future__ import annotations

import math

from ir import dtypes as dt

from .. import _functional as F
from .._factories import rand, randint
from .._tensor import Tensor
from .._typeinfo import finfo

__all__ = ["make_tensor"]


def _bounds(dtype, low, high):
    if dtype.is_floating_point or dtype.is_complex:
        lo, hi = -9.0, 9.0
    elif dtype is dt.uint8:
        lo, hi = 0, 10
    else:
        lo, hi = -9, 10
    low = lo if low is None else low
    high = hi if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low > high:
        raise ValueError(f"`low` must be less than or equal to `high`, but got {low} > {high}")
    return low, high


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format=None) -> Tensor:
    """A tensor of ``shape`` filled with random values: bools uniformly, integers from ``[low, high)``
    (default ``[-9, 10)``, ``[0, 10)`` for uint8), floats (and the real and imaginary parts of
    complex numbers) from ``[low, high)`` (default ``[-9, 9)``).

    ``exclude_zero`` replaces zeros by 1 (integers) or the dtype's smallest normal number (floats);
    ``noncontiguous`` returns a view whose last dimension has stride 2; ``requires_grad`` makes a
    float leaf that requires grad.

    >>> graphc.testing.make_tensor(2, 3, dtype=graphc.float32, device="cpu", low=-1, high=1).shape
    graphc.Size([2, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if requires_grad and not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"make_tensor: requires_grad=True is not supported for {dtype}")
    if dtype is dt.bool_:
        t = randint(0, 2, shape, device=device).to(dt.bool_)
    elif dtype.is_floating_point or dtype.is_complex:
        low, high = _bounds(dtype, low, high)
        part = lambda: rand(shape, dtype=dt.float64, device=device) * (high - low) + low  # noqa: E731
        t = F.complex(part(), part()).to(dtype) if dtype.is_complex else part().to(dtype)
    else:
        low, high = _bounds(dtype, low, high)
        t = randint(math.ceil(low), math.ceil(high), shape, device=device).to(dtype)
    if exclude_zero:
        if dtype.is_floating_point or dtype.is_complex:
            tiny = _tiny(dtype)
            t = t.masked_fill(t == 0, tiny)
        elif dtype is not dt.bool_:
            t = t.masked_fill(t == 0, 1)
        else:
            t = F.ones_like(t)
    if noncontiguous and t.numel() > 1:
        t = F.repeat_interleave(t, 2, dim=-1)[..., ::2]
    if memory_format is not None:
        t = t.contiguous(memory_format=memory_format)
    return t.requires_grad_() if requires_grad else t


def _tiny(dtype) -> float:
    return float(finfo(dt.to_real(dtype) if dtype.is_complex else dtype).tiny)
