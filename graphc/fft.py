"""``graphc.fft``: PyTorch's ``torch.fft`` — discrete Fourier transforms with ``n``/``s``,
``dim`` and ``norm`` exactly as PyTorch takes them.

Three rows compute one axis each (``ir/ops/fft.py``: ``fft_c2c``, ``fft_r2c``, ``fft_c2r``,
``numpy.fft`` underneath); n-dimensional transforms apply them axis by axis, and resizing a
signal to ``n`` is a slice or a zero pad. Gradients are the rows' adjoints. ``norm`` is
``"backward"`` (default: the inverse divides by n), ``"ortho"`` (both by sqrt(n)) or
``"forward"`` (the forward transform divides by n).

>>> import graphc
>>> graphc.fft.fft(graphc.tensor([1.0, 2.0, 3.0, 4.0]))
tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
"""

from __future__ import annotations

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError

from . import _factories
from . import _functional as F
from ._args import norm_dim
from ._dispatch import apply
from ._tensor import Tensor

__all__ = [
    "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2", "fftn",
    "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]

_NORMS = (None, "backward", "ortho", "forward")


def _scale(norm, inverse: bool) -> str:
    """The rows' ``scale`` for a transform in direction ``inverse`` under ``norm``."""
    if norm not in _NORMS:
        raise ValueError(f"Invalid normalization mode: {norm}")
    if norm == "ortho":
        return "sqrt"
    divides = (norm in (None, "backward")) == inverse
    return "n" if divides else "none"


def _arg(x, name) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x


def _complex(x: Tensor) -> Tensor:
    """Integers and bools become the default float, reals their complex dtype (as PyTorch)."""
    if not x._dtype.is_differentiable:
        x = F._to(x, dt.default_float())
    if x._dtype in (dt.float16, dt.bfloat16):
        x = F._to(x, dt.float32)
    return x if x._dtype.is_complex else F._to(x, dt.to_complex(x._dtype))


def _real(x: Tensor, name: str) -> Tensor:
    if x._dtype.is_complex:
        raise DTypeError(f"{name} expects a real input tensor, but got {x._dtype}")
    if not x._dtype.is_floating_point:
        x = F._to(x, dt.default_float())
    if x._dtype in (dt.float16, dt.bfloat16):
        x = F._to(x, dt.float32)
    return x


def _resize(x: Tensor, axis: int, n: int | None, name: str) -> Tensor:
    """Trim or zero-pad ``x`` to length ``n`` along ``axis``."""
    if n is None:
        return x
    if n < 1:
        raise ShapeError(f"Invalid number of data points ({n}) specified")
    size = x.shape[axis]
    if n < size:
        return F.narrow(x, axis, 0, n)
    if n > size:
        pads = [(0, 0)] * x.ndim
        pads[axis] = (0, n - size)
        return apply("pad", [x], pads=tuple(pads), value=0)
    return x


def _c2c(x, axis, n, scale, inverse, name):
    x = _resize(_complex(x), axis, n, name)
    return apply("fft_c2c", [x], axis=axis, inverse=inverse, scale=scale)


def _r2c(x, axis, n, scale, name, onesided=True):
    x = _resize(_real(x, name), axis, n, name)
    return apply("fft_r2c", [x], axis=axis, onesided=onesided, scale=scale)


def _c2r(x, axis, n, scale, name):
    """The + sign sum of a one-sided spectrum (irfft's, and hfft's on the conjugate)."""
    x = _complex(x)
    n = 2 * (x.shape[axis] - 1) if n is None else n
    if n < 1:
        raise ShapeError(f"Invalid number of data points ({n}) specified")
    x = _resize(x, axis, n // 2 + 1, name)
    return apply("fft_c2r", [x], axis=axis, n=n, scale=scale)


# ----------------------------------------------------------------------------
# one dimension


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """The DFT along ``dim`` (a real input is made complex first)."""
    x = _arg(input, "fft_fft")
    return _out(out, _c2c(x, norm_dim(dim, x.ndim, "fft"), n, _scale(norm, False), False, "fft"))


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse DFT along ``dim``."""
    x = _arg(input, "fft_ifft")
    return _out(out, _c2c(x, norm_dim(dim, x.ndim, "ifft"), n, _scale(norm, True), True, "ifft"))


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The DFT of a real signal: the n // 2 + 1 non-negative frequencies."""
    x = _arg(input, "fft_rfft")
    return _out(out, _r2c(x, norm_dim(dim, x.ndim, "rfft"), n, _scale(norm, False), "rfft"))


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The real signal (length ``n``, default ``2 * (bins - 1)``) of a one-sided spectrum."""
    x = _arg(input, "fft_irfft")
    return _out(out, _c2r(x, norm_dim(dim, x.ndim, "irfft"), n, _scale(norm, True), "irfft"))


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The DFT of a Hermitian-symmetric signal given by its first half: a real spectrum."""
    x = _arg(input, "fft_hfft")
    return _out(out, _c2r(F.conj(_complex(x)), norm_dim(dim, x.ndim, "hfft"), n, _scale(norm, False), "hfft"))


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of ``hfft``: the one-sided inverse DFT of a real signal."""
    x = _arg(input, "fft_ihfft")
    return _out(out, F.conj(_r2c(x, norm_dim(dim, x.ndim, "ihfft"), n, _scale(norm, True), "ihfft")))


def _out(out, result):
    if out is None:
        return result
    out.copy_(result)
    return out


# ----------------------------------------------------------------------------
# n dimensions


def _axes(x: Tensor, s, dim, name):
    """PyTorch's (s, dim) rules: ``dim`` defaults to the last ``len(s)`` dims (all dims when
    ``s`` is None too); ``s[i]`` is the signal length along ``dim[i]`` (-1: unchanged)."""
    if dim is None:
        if s is None:
            axes = list(range(x.ndim))
        else:
            axes = list(range(x.ndim - len(s), x.ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        axes = [norm_dim(d, x.ndim, name) for d in dims]
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{name} dims must be unique")
    if s is not None:
        if len(s) != len(axes):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length, got {len(axes)} and {len(s)}")
        sizes = [None if v == -1 else int(v) for v in s]
    else:
        sizes = [None] * len(axes)
    if any(a < 0 for a in axes):
        raise ShapeError(f"{name}: the input has fewer dims than the transform needs")
    return axes, sizes


def _fftn(x, s, dim, norm, inverse, name):
    x = _complex(_arg(x, name))
    axes, sizes = _axes(x, s, dim, name)
    for a, n in zip(axes, sizes):
        x = _c2c(x, a, n, _scale(norm, inverse), inverse, name)
    return x


def _rfftn(x, s, dim, norm, inverse, name):
    """r2c along the last axis, then c2c (- sign) along the others; scaled as ``inverse`` says."""
    x = _real(_arg(x, name), name)
    axes, sizes = _axes(x, s, dim, name)
    if not axes:
        raise RuntimeError(f"{name} must transform at least one axis")
    scale = _scale(norm, inverse)
    x = _r2c(x, axes[-1], sizes[-1], scale, name)
    for a, n in zip(axes[:-1], sizes[:-1]):
        x = _c2c(x, a, n, scale, False, name)
    return x


def _irfftn(x, s, dim, norm, inverse, name, conj=False):
    """c2c (+ sign) along all but the last axis, then c2r: ``irfftn``, or ``hfftn`` on the
    conjugate (the - sign sum of a Hermitian signal is the + sign sum of its conjugate)."""
    x = _complex(_arg(x, name))
    if conj:
        x = F.conj(x)
    axes, sizes = _axes(x, s, dim, name)
    if not axes:
        raise RuntimeError(f"{name} must transform at least one axis")
    scale = _scale(norm, inverse)
    for a, n in zip(axes[:-1], sizes[:-1]):
        x = _c2c(x, a, n, scale, True, name)
    return _c2r(x, axes[-1], sizes[-1], scale, name)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(out, _fftn(input, s, dim, norm, False, "fftn"))


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(out, _fftn(input, s, dim, norm, True, "ifftn"))


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(out, _rfftn(input, s, dim, norm, False, "rfftn"))


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(out, _irfftn(input, s, dim, norm, True, "irfftn"))


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The n-d ``hfft``: ``irfftn`` of the conjugate, with forward scaling."""
    return _out(out, _irfftn(input, s, dim, norm, False, "hfftn", conj=True))


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The n-d ``ihfft``: the conjugate of ``rfftn`` with inverse scaling."""
    return _out(out, F.conj(_rfftn(input, s, dim, norm, True, "ihfftn")))


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """``fftn`` over the last two dims."""
    return fftn(input, s, dim, norm, out=out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ifftn(input, s, dim, norm, out=out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return rfftn(input, s, dim, norm, out=out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return irfftn(input, s, dim, norm, out=out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ihfftn(input, s, dim, norm, out=out)


# ----------------------------------------------------------------------------
# frequencies and shifts


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies ``[0, 1, ..., n//2 - 1 (or (n-1)//2), -n//2, ..., -1] / (d * n)``."""
    k = _factories.arange(n, dtype=dt.int64, device=device)
    k = F.where(F.lt(k, (n + 1) // 2), k, F.sub(k, n))
    r = F.div(F._to(k, dtype or dt.default_float()), float(d * n))
    return r.requires_grad_(True) if requires_grad else r


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The non-negative sample frequencies ``[0, 1, ..., n // 2] / (d * n)`` of ``rfft``."""
    k = _factories.arange(n // 2 + 1, dtype=dtype or dt.default_float(), device=device)
    r = F.div(k, float(d * n))
    return r.requires_grad_(True) if requires_grad else r


def _shift(input, dim, sign, name):
    x = _arg(input, name)
    dims = list(range(x.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [norm_dim(d, x.ndim, name) for d in dims]
    shifts = [(x.shape[d] // 2) if sign > 0 else -(x.shape[d] // 2) for d in dims]
    return F.roll(x, shifts, dims) if dims else x


def fftshift(input, dim=None):
    """Move the zero frequency to the middle (``roll`` by n // 2 along ``dim``, default all)."""
    return _shift(input, dim, 1, "fftshift")


def ifftshift(input, dim=None):
    """The inverse of ``fftshift``."""
    return _shift(input, dim, -1, "ifftshift")

