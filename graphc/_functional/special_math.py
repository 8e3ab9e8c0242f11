"""Math functions whose PyTorch signature is not a plain row binding: ``polygamma(n, x)`` (the
order first, an int), ``frexp`` (two outputs, from two rows), ``ldexp``, ``mvlgamma``.
The rows they use are in ``ir/ops/special.py`` and ``ir/ops/bits.py``."""

from __future__ import annotations

import math

from ir import dtypes as dt
from ir.errors import DTypeError

from .._dispatch import apply
from ..return_types import structseq
from ._common import _float_of, _promote, _tensor_arg, _to, _write_out
from .elementwise import SPECIAL, add, exp2, lgamma, mul, sub

__all__ = ["polygamma", "frexp", "ldexp", "mvlgamma"]

_FrexpResult = structseq("frexp", ["mantissa", "exponent"])


def polygamma(n, input, *, out=None):
    """The n-th derivative of the digamma function (``n`` a non-negative int), as ``torch.polygamma``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return SPECIAL["polygamma"](n, _float_of(_tensor_arg(input, "polygamma")), out=out)


def frexp(input, *, out=None):
    """Mantissa in [0.5, 1) (with the input's sign) and int32 exponent: ``input == mantissa * 2**exponent``."""
    x = _tensor_arg(input, "frexp")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"frexp: expected a floating-point input, got {x._dtype} (torch.frexp() only supports floating-point dtypes)")
    result = _FrexpResult(apply("frexp_mantissa", [x]), apply("frexp_exponent", [x]))
    if out is not None:
        _write_out(out[0], result.mantissa)
        _write_out(out[1], result.exponent)
        return _FrexpResult(*out)
    return result


def ldexp(input, other, *, out=None):
    """``input * 2 ** other`` (integers promote to the default float), as ``torch.ldexp``."""
    (a, b), dtype = _promote(input, other)
    if not dtype.is_floating_point:
        a, b = _to(a, dt.default_float()), _to(b, dt.default_float())
    return _write_out(out, mul(a, exp2(b)))




def mvlgamma(input, p):
    """The multivariate log-gamma of dimension ``p``: ``sum_j lgamma(x - j/2) + p(p-1)/4 log(pi)``."""
    x = _tensor_arg(input, "mvlgamma")
    if not x._dtype.is_floating_point:
        raise DTypeError(f"mvlgamma: expected a floating-point input, got {x._dtype}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if x._data is not None and x.numel() and bool((x <= (p - 1) / 2).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    total = lgamma(x)
    for j in range(1, p):
        total = add(total, lgamma(sub(x, j / 2.0)))
    return add(total, p * (p - 1) / 4.0 * math.log(math.pi))

