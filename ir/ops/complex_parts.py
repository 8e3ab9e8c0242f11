"""Rows that move between real and complex values: ``real``, ``imag``, ``conj``, ``angle`` and
``complex`` (two reals make one complex number).

numpy computes them natively. Their gradient rules are written for complex values in PyTorch's
convention (``grad = dL/dRe + i dL/dIm`` for a real loss ``L``), so each says
``complex_rule=True``: none of them is holomorphic, and the autodiff loop's conjugation trick
(see :class:`~ir.ops.core.OpDef`) does not apply to them. The Triton backend does not lower
complex values; it refuses them by name (``backends/triton/codegen/program.py``).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..errors import DTypeError
from .core import Binding, Props, dtype_float, dtype_numeric, same_dtype
from .elementwise import binary, unary
from .grad import where


def _dtype_part(op, inputs, attrs):
    """real/imag: a complex input's part (the frontend returns a real tensor's ``real`` as is)."""
    d = dtype_numeric(op, inputs, attrs)
    if not d.is_complex:
        raise DTypeError(f"{op.name}: expected a complex input, got {d}")
    return dt.to_real(d)


def _dtype_angle(op, inputs, attrs):
    return dt.to_real(dtype_float(op, inputs, attrs))


def _dtype_complex(op, inputs, attrs):
    d = same_dtype(op, inputs)
    if d not in (dt.float32, dt.float64, dt.float16):
        raise DTypeError(f"complex: expected both inputs to be half, float or double tensors but got {d}")
    return dt.to_complex(d)


def _np_real(x):
    return np.array(np.real(x))  # np.real is a view of a complex array: this row's result has its own memory


def _np_imag(x):
    return np.array(np.imag(x))


def _np_angle(x):
    if np.iscomplexobj(x):
        return np.angle(x)
    # PyTorch: pi for negative reals, 0 otherwise, NaN stays NaN
    return np.where(np.isnan(x), x, np.where(x < 0, np.asarray(np.pi, dtype=x.dtype), np.zeros((), dtype=x.dtype)))


def _np_complex(re, im):
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), dtype=np.result_type(re.dtype, np.complex64))
    out.real = re
    out.imag = im
    return out


def _real_grad(n, g):
    return g.cast(n.in_dtypes[0])


def _imag_grad(n, g):
    return g.cast(n.in_dtypes[0]) * 1j


def _conj_grad(n, g):
    return g.conj()


def _angle_grad(n, g):
    z = n[0]
    if not z.dtype.is_complex:
        return z.zeros()
    # d angle = (x dy - y dx) / |z|^2: the gradient is g * i z / |z|^2, and 0 at z == 0
    r2 = (z * z.conj()).real()
    safe = where(r2.eq(0), 1, r2)
    return where(r2.eq(0), 0, g.cast(z.dtype) * z * 1j / safe.cast(z.dtype))


def _conj_rewrite(n):
    """conj of a real value is the value."""
    x = n.inputs[0]
    return x if not x.dtype.is_complex else None


unary("real", _dtype_part, numpy=_np_real, grad=_real_grad, complex=True, complex_rule=True,
      doc="The real part of a complex value (a copy: graphc has no dtype-changing views).")
unary("imag", _dtype_part, numpy=_np_imag, grad=_imag_grad, complex=True, complex_rule=True,
      doc="The imaginary part of a complex value (a copy).")
unary("conj", numpy=np.conjugate, np_out=("np.conjugate({0}, out={out})",), triton="{0}", grad=_conj_grad, complex=True,
      complex_rule=True, props=Props(involution=True), rewrite=_conj_rewrite,
      binding=Binding(("conj_physical",), inplace=True, out=True),
      doc="The complex conjugate (computed eagerly: graphc has no lazy conjugate bit).")
unary("angle", _dtype_angle, numpy=_np_angle, triton="tl.where({0} < 0, 3.141592653589793, tl.where({0} != {0}, {0}, {zero}))",
      grad=_angle_grad, saves=(0,), complex=True, complex_rule=True,
      binding=Binding(("angle",), promote="float", inplace=False),
      doc="The argument of a complex number in (-pi, pi]; pi for negative reals, 0 for others.")
binary("complex", _dtype_complex, numpy=_np_complex, complex_rule=True,
       grad=(lambda n, g: g.real(), lambda n, g: g.imag()), binding=Binding(("complex",), method=False, inplace=False),
       doc="real + i * imag, from two real tensors of one dtype.")
