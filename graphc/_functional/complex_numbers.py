"""Complex numbers: ``real``/``imag``, ``conj``, ``angle``, ``sgn``, ``polar``, ``complex``,
``view_as_real``/``view_as_complex`` and the predicates around them.

The rows are in ``ir/ops/complex_parts.py``; numpy computes complex values natively. graphc has no
dtype-changing views and no lazy conjugate bit, so ``real``, ``imag``, ``view_as_real`` and
``view_as_complex`` return new tensors (PyTorch returns views; values and gradients are the same,
writes through the result do not reach the input) and ``conj`` conjugates eagerly
(``is_conj()`` is always False, ``resolve_conj`` is the identity).
"""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError, UnsupportedError
from ir.ops import fmt_shape

from .._dispatch import apply, composite
from .._factories import ones
from ._common import _promote, _tensor_arg, _to
from .elementwise import abs, cos, eq, mul, sign, sin
from .joining import stack
from .pointwise import where

__all__ = [
    "real", "imag", "conj", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "sgn", "polar",
    "view_as_real", "view_as_complex", "isreal",
]

def real(input):
    """The real part: a real tensor (for a real input, the input itself, as in PyTorch)."""
    x = _tensor_arg(input, "real")
    return apply("real", [x]) if x._dtype.is_complex else x


def imag(input):
    """The imaginary part of a complex tensor (a real tensor)."""
    x = _tensor_arg(input, "imag")
    if not x._dtype.is_complex:
        raise DTypeError("imag is not implemented for tensors with non-complex dtypes.")
    return apply("imag", [x])


def conj(input):
    """The complex conjugate; a real tensor is returned as it is."""
    x = _tensor_arg(input, "conj")
    return apply("conj", [x]) if x._dtype.is_complex else x


def resolve_conj(input):
    """The identity: graphc conjugates eagerly, so no tensor carries a conjugate bit."""
    return _tensor_arg(input, "resolve_conj")


def resolve_neg(input):
    """The identity: graphc has no lazy negation bit."""
    return _tensor_arg(input, "resolve_neg")


def is_conj(input) -> bool:
    return False


def is_neg(input) -> bool:
    return False


def sgn(input, *, out=None):
    """``z / |z|`` for complex ``z`` (0 at 0); ``sign`` for real tensors."""
    x = _tensor_arg(input, "sgn")
    if not x._dtype.is_complex:
        return sign(x, out=out)
    with composite("SgnBackward0", x) as c:
        r = abs(x)
        zero = eq(r, 0)
        safe = _to(where(zero, 1.0, r), x._dtype)  # no 0/0 in the branch where() drops: its gradient stays finite
        result = c.result(where(zero, 0.0, x / safe))
    if out is not None:
        out.copy_(result)
        return out
    return result


def polar(abs, angle, *, out=None):  # noqa: A002 - PyTorch's argument names
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``."""
    (r, theta), d = _promote(abs, angle)
    if not d.is_floating_point:
        raise DTypeError(f"polar: expected abs and angle to be float or double tensors, got {d}")
    with composite("PolarBackward0", r, theta) as c:
        result = c.result(apply("complex", [mul(r, cos(theta)), mul(r, sin(theta))]))
    if out is not None:
        out.copy_(result)
        return out
    return result


def view_as_real(input):
    """A complex tensor of shape ``s`` as a real tensor of shape ``s + (2,)`` (real, imaginary);
    a new tensor, not a view (graphc has no dtype-changing views)."""
    x = _tensor_arg(input, "view_as_real")
    if not x._dtype.is_complex:
        raise DTypeError(f"view_as_real is only supported for complex tensors, got {x._dtype}")
    return stack([apply("real", [x]), apply("imag", [x])], -1)


def view_as_complex(input):
    """A real tensor of shape ``s + (2,)`` as the complex tensor of shape ``s`` (a new tensor)."""
    x = _tensor_arg(input, "view_as_complex")
    if x._dtype not in (dt.float32, dt.float64, dt.float16):
        raise DTypeError(f"view_as_complex is only supported for float, double and half tensors, but got a tensor of scalar type: {x._dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ShapeError(f"Tensor must have a last dimension of size 2, got shape {fmt_shape(x.shape)}")
    if x._dtype is dt.float16:
        raise UnsupportedError("view_as_complex: graphc has no complex32 (chalf) dtype")
    return apply("complex", [x[..., 0], x[..., 1]])


def isreal(input):
    """True where the imaginary part is 0 (everywhere for real tensors)."""
    x = _tensor_arg(input, "isreal")
    if not x._dtype.is_complex:
        return ones(tuple(x.shape), dtype=dt.bool_, device=x._device)
    return eq(apply("imag", [x]), 0)

