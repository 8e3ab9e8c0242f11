"""Discrete Fourier transforms along one axis: ``fft_c2c`` (complex to complex, either sign),
``fft_r2c`` (real to complex, one-sided or full) and ``fft_c2r`` (a Hermitian half-spectrum to
real). ``library`` rows computed by ``numpy.fft``; the frontend (``graphc.fft``) builds the
n-dimensional transforms, ``n``/``s`` resizing and the ``norm`` modes from them.

``scale`` is the factor every row applies after the unnormalized sum: ``"none"``, ``"sqrt"``
(1/sqrt(n)) or ``"n"`` (1/n), with ``n`` the signal length along the axis (the output length for
``fft_c2r``). The gradient rules are the adjoints (PyTorch's ``fft_*_backward``): a transform's
adjoint is the opposite-sign transform with the same scale; ``r2c``'s pads the gradient back to
the full spectrum and keeps the real part; ``c2r``'s is an ``r2c`` whose mirrored bins count
twice.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..errors import DTypeError, ShapeError
from .core import LIBRARY, OpDef, check_axes, register
from .grad import iota

_SCALES = ("none", "sqrt", "n")


def _factor(scale: str, n: int) -> float:
    if scale not in _SCALES:
        raise ValueError(f"fft: scale must be one of {_SCALES}, got {scale!r}")
    if scale == "none" or n == 0:
        return 1.0
    return 1.0 / math.sqrt(n) if scale == "sqrt" else 1.0 / n


def _check(op, x, attrs, want_complex: bool):
    check_axes(op.name, (attrs["axis"],), len(x.shape))
    if len(x.shape) == 0:
        raise ShapeError(f"{op.name}: expected at least a 1-d input")
    d = x.dtype
    if want_complex and not d.is_complex:
        raise DTypeError(f"{op.name}: expected a complex input, got {d}")
    if not want_complex and d not in (dt.float32, dt.float64):
        raise DTypeError(f"{op.name}: expected a float32 or float64 input, got {d}")
    return d


# ----------------------------------------------------------------------------
# shape and dtype rules


def _shape_c2c(op, inputs, attrs):
    _check(op, inputs[0], attrs, True)
    return tuple(inputs[0].shape)


def _shape_r2c(op, inputs, attrs):
    (x,) = inputs
    _check(op, x, attrs, False)
    shape = list(x.shape)
    if attrs["onesided"]:
        shape[attrs["axis"]] = shape[attrs["axis"]] // 2 + 1
    return tuple(shape)


def _shape_c2r(op, inputs, attrs):
    (x,) = inputs
    _check(op, x, attrs, True)
    axis, n = attrs["axis"], attrs["n"]
    if x.shape[axis] != n // 2 + 1:
        raise ShapeError(f"{op.name}: a length-{n} output needs {n // 2 + 1} input bins along axis {axis}, "
                         f"got {x.shape[axis]}")
    if n < 1:
        raise ShapeError(f"Invalid number of data points ({n}) specified")
    shape = list(x.shape)
    shape[axis] = n
    return tuple(shape)


def _dtype_c2c(op, inputs, attrs):
    return inputs[0].dtype


def _dtype_r2c(op, inputs, attrs):
    return dt.to_complex(inputs[0].dtype)


def _dtype_c2r(op, inputs, attrs):
    return dt.to_real(inputs[0].dtype)


# ----------------------------------------------------------------------------
# numpy


def _np_c2c(arrays, attrs, shape, dtype):
    (x,) = arrays
    axis = attrs["axis"]
    n = x.shape[axis]
    if n == 0:
        return np.zeros(shape, dtype=dtype.numpy_dtype)
    # numpy's norm="forward" leaves the inverse unscaled: both directions start unscaled here
    y = np.fft.ifft(x, axis=axis, norm="forward") if attrs["inverse"] else np.fft.fft(x, axis=axis)
    return y * _factor(attrs["scale"], n)


def _np_r2c(arrays, attrs, shape, dtype):
    (x,) = arrays
    axis = attrs["axis"]
    n = x.shape[axis]
    y = np.fft.rfft(x, axis=axis) if attrs["onesided"] else np.fft.fft(x, axis=axis)
    return y * _factor(attrs["scale"], n)


def _np_c2r(arrays, attrs, shape, dtype):
    (x,) = arrays
    n = attrs["n"]
    return np.fft.irfft(x, n=n, axis=attrs["axis"], norm="forward") * _factor(attrs["scale"], n)


# ----------------------------------------------------------------------------
# gradients (adjoints)


def _c2c_grad(n, g):
    return [g.op("fft_c2c", axis=n.attrs["axis"], inverse=not n.attrs["inverse"], scale=n.attrs["scale"])]


def _r2c_grad(n, g):
    axis = n.attrs["axis"]
    size = n.in_shapes[0][axis]
    if n.attrs["onesided"]:
        pads = [(0, 0)] * g.ndim
        pads[axis] = (0, size - g.shape[axis])
        g = g.op("pad", pads=tuple(pads), value=0)
    full = g.op("fft_c2c", axis=axis, inverse=True, scale=n.attrs["scale"])
    return [full.real()]


def _c2r_grad(n, g):
    axis, size = n.attrs["axis"], n.attrs["n"]
    half = g.op("fft_r2c", axis=axis, onesided=True, scale=n.attrs["scale"])
    bins = half.shape[axis]
    twice = size - bins  # bins 1..size-bins have a mirror image in the full spectrum
    shape = [1] * half.ndim
    shape[axis] = bins
    k = iota(half, shape, axis)
    weight = ((k >= 1) & (k <= twice)).cast(half.dtype) + 1  # 2 on mirrored bins, 1 elsewhere
    return [half * weight]


def _row(name, shape_rule, dtype_rule, numpy, grad, attrs, doc):
    grad_name = "Fft" + name[4:].upper() + "Backward0"  # PyTorch's FftC2CBackward0, FftR2CBackward0...
    register(OpDef(name, LIBRARY, 1, shape_rule, dtype_rule, attrs, grad=grad, grad_name=grad_name,
                   doc=doc, numpy=numpy, complex=True, complex_rule=True))


_row("fft_c2c", _shape_c2c, _dtype_c2c, _np_c2c, _c2c_grad, ("axis", "inverse", "scale"),
     "The DFT along attrs['axis'] (sign + when 'inverse'), scaled by attrs['scale'].")
_row("fft_r2c", _shape_r2c, _dtype_r2c, _np_r2c, _r2c_grad, ("axis", "onesided", "scale"),
     "The DFT of a real signal along attrs['axis']: bins 0..n//2 when 'onesided', else all n.")
_row("fft_c2r", _shape_c2r, _dtype_c2r, _np_c2r, _c2r_grad, ("axis", "n", "scale"),
     "The real length-n signal whose one-sided spectrum is the input (imaginary parts of the "
     "self-conjugate bins are ignored), with the + sign.")
