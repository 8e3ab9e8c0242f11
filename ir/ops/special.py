"""Special-function rows: inverse hyperbolics, the error-function and gamma families, Bessel and
Airy functions, the orthogonal polynomials, and the ``x log y`` family.

Each row is one :func:`~ir.ops.elementwise.unary`/``binary`` call, as in :mod:`ir.ops.elementwise`:
numpy implementation (:mod:`ir.ops.npspecial`, :mod:`ir.ops.npgamma`,
:mod:`ir.ops.polynomials`), Triton expression (:mod:`ir.ops.triton_special`; a GPU build calls the
named libdevice function), gradient where PyTorch has one (its derivatives.yaml formulas), and a
float64 scalar reference (:mod:`ir.ops.special_refs`). Binding names that start with
``special.`` belong to ``graphc.special`` (PyTorch has no method, no in-place form for them).

They are primitives rather than frontend composites because a composite would be inaccurate
(``asinh`` as ``log(x + sqrt(x^2 + 1))`` for negative or small x, ``erfc`` as ``1 - erf``, ``i0``
as a product with ``exp`` that overflows early) or have a NaN value or gradient at a special
point (``sinc`` at 0, ``xlogy`` at x = 0, ``entr`` at 0), or need their own evaluation. Binary
rows whose first input is an order (``polygamma``'s n, ``zeta``'s s, ``igamma``'s a) take it as a
tensor of the other input's dtype (the frontend passes a Python int as a scalar constant, which
generated code inlines), and have no gradient in it, as in PyTorch.
"""

from __future__ import annotations

import math

from . import npgamma, npspecial, polynomials
from . import special_refs as R
from .core import OPS, Binding, Props, dtype_float
from .elementwise import FLOAT, binary, unary
from .grad import V, where

_FIRST = len(OPS)  # the rows this module declares are OPS's entries from here on (NAMES, at the end)
SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)


def _const(v: V, value) -> V:
    """A scalar constant of ``v``'s dtype, as a value (to put a number first in ``op``)."""
    return V(v.b, v.b.scalar(value, v.dtype))


def _plain(*names, inplace=True):
    """A torch.* (and Tensor method) binding that promotes integers to the default float."""
    return Binding(tuple(names), promote=FLOAT, inplace=inplace)


def _special(*names):
    """A torch.special-only binding: a function with out=, no method, no in-place form."""
    return Binding(tuple(f"special.{n}" for n in names), promote=FLOAT, method=False, inplace=False)


def _f(name, numpy, triton, *, libdevice=None, binding=None, ref=None, grad=None, saves=(), arity=1, **kw):
    decl = unary if arity == 1 else binary
    return decl(name, dtype_float, numpy=numpy, triton=triton, libdevice=libdevice, binding=binding, ref=ref,
                grad=grad, saves=saves, **kw)


# ----------------------------------------------------------------------------
# inverse hyperbolics, sinc, x log y

unary("asinh", dtype_float, ufunc="arcsinh", triton="_asinh({0})", libdevice="asinh", ref=math.asinh,
      binding=_plain("asinh", "arcsinh"), grad=lambda n, g: g * (n[0] * n[0] + 1).rsqrt(), saves=(0,))
unary("acosh", dtype_float, ufunc="arccosh", triton="_acosh({0})", libdevice="acosh", ref=R.acosh,
      binding=_plain("acosh", "arccosh"), grad=lambda n, g: g * (n[0] * n[0] - 1).rsqrt(), saves=(0,))
_f("sinc", npspecial.sinc, "_sinc({0})", ref=R.sinc, binding=_plain("sinc", "special.sinc"), saves=(0, "out"),
   grad=lambda n, g: g * where(n[0].eq(0), 0, ((n[0] * math.pi).cos() - n.out) / n[0]))
_f("xlogy", npspecial.xlogy, "_xlogy({0}, {1})", arity=2, ref=R.xlogy, binding=_plain("xlogy", "special.xlogy"),
   grad=(lambda n, g: where(n[0].eq(0) & (n[1] <= 0), 0, g.op("xlogy", n[1])), lambda n, g: g * n[0] / n[1]),
   saves=(0, 1))
_f("xlog1py", npspecial.xlog1py, "_xlog1py({0}, {1})", arity=2, ref=R.xlog1py, binding=_special("xlog1py"),
   grad=(lambda n, g: where(n[0].eq(0) & (n[1] <= -1), 0, g.op("xlog1py", n[1])), lambda n, g: g * n[0] / (n[1] + 1)),
   saves=(0, 1))
_f("entr", npspecial.entr, "_entr({0})", ref=R.entr, binding=_special("entr"),
   grad=lambda n, g: g * -(n[0].log() + 1), saves=(0,))
binary("logaddexp2", dtype_float, ufunc="logaddexp2", triton="_logaddexp2({0}, {1})", ref=R.logaddexp2,
       grad=(lambda n, g: g / (1 + (n[1] - n[0]).exp2()), lambda n, g: g / (1 + (n[0] - n[1]).exp2())), saves=(0, 1),
       props=Props(commutative=True), binding=Binding(("logaddexp2",), inplace=False))  # (ints refused)

# ----------------------------------------------------------------------------
# the error-function family


def _erfc_grad(n, g):
    return g * ((-2.0 / SQRT_PI) * (-(n[0] * n[0])).exp())


_f("erfc", npspecial.erfc, "_erfc({0})", libdevice="erfc", ref=math.erfc, binding=_plain("erfc", "special.erfc"),
   grad=_erfc_grad, saves=(0,))
_f("erfcx", npspecial.erfcx, "_erfcx({0})", libdevice="erfcx", ref=R.erfcx, binding=_special("erfcx"),
   grad=lambda n, g: g * (2 * n[0] * n.out - 2.0 / SQRT_PI), saves=(0, "out"))
_f("erfinv", npspecial.erfinv, "_erfinv({0})", libdevice="erfinv", ref=R.erfinv,
   binding=_plain("erfinv", "special.erfinv"), grad=lambda n, g: g * (0.5 * SQRT_PI) * (n.out * n.out).exp(),
   saves=("out",))
_f("ndtr", npspecial.ndtr, "_ndtr({0})", libdevice="normcdf", ref=R.ndtr, binding=_special("ndtr"),
   grad=lambda n, g: g * (n[0] * n[0] * -0.5).exp() / SQRT_2PI, saves=(0,))
_f("ndtri", npspecial.ndtri, "_ndtri({0})", libdevice="normcdfinv", ref=R.ndtri, binding=_special("ndtri"),
   grad=lambda n, g: g * SQRT_2PI * (n.out * n.out * 0.5).exp(), saves=("out",))
_f("log_ndtr", npspecial.log_ndtr, "_log_ndtr({0})", ref=R.log_ndtr, binding=_special("log_ndtr"),
   grad=lambda n, g: g / SQRT_2PI * (-(n.out + n[0] * n[0] * 0.5)).exp(), saves=(0, "out"))

# ----------------------------------------------------------------------------
# the gamma family

_f("lgamma", npgamma.lgamma, "_lgamma({0})", libdevice="lgamma", ref=R.lgamma,
   binding=_plain("lgamma", "special.gammaln"), grad=lambda n, g: g * n[0].digamma(), saves=(0,))
_f("digamma", npgamma.digamma, "_digamma({0})", ref=R.digamma,
   binding=_plain("digamma", "special.digamma", "special.psi"),
   grad=lambda n, g: g * _const(n[0], 1).op("polygamma", n[0]), saves=(0,))
_f("polygamma", npgamma.polygamma, "_polygamma({0}, {1})", arity=2, ref=R.polygamma,
   binding=_plain("special.polygamma"),  # graphc.polygamma(n, x) is hand-written (n first, an int)
   grad=(None, lambda n, g: g * (n[0] + 1).op("polygamma", n[1])), saves=(0, 1),
   doc="polygamma(n, x): the n-th derivative of digamma; n (first input) integral >= 0, not differentiated.")
_f("zeta", npgamma.zeta, "_zeta({0}, {1})", arity=2, ref=R.zeta, binding=_special("zeta"),
   grad=(None, lambda n, g: g * -n[0] * (n[0] + 1).op("zeta", n[1])), saves=(0, 1),
   doc="Hurwitz zeta(s, q) = sum_k (q + k)^-s; no gradient in s (PyTorch: not implemented).")


def _igamma_dx(n, g):
    a, x = n[0], n[1]
    return g * ((a - 1) * x.log() - x - a.lgamma()).exp()


_f("igamma", npgamma.igamma, "_igamma({0}, {1})", arity=2, ref=R.igamma,
   binding=_plain("igamma", "special.gammainc"), grad=(None, _igamma_dx), saves=(0, 1))
_f("igammac", npgamma.igammac, "_igammac({0}, {1})", arity=2, ref=R.igammac,
   binding=_plain("igammac", "special.gammaincc"), grad=(None, lambda n, g: -_igamma_dx(n, g)), saves=(0, 1))

# ----------------------------------------------------------------------------
# Bessel and Airy functions (PyTorch differentiates i0, i0e, i1, i1e; the rest are non-differentiable)

_f("i0", npspecial.i0, "_i0({0})", libdevice="cyl_bessel_i0", ref=R.i0,
   binding=Binding(("i0", "special.i0", "special.modified_bessel_i0"), promote=FLOAT),
   grad=lambda n, g: g * n[0].i1(), saves=(0,))
_f("i0e", npspecial.i0e, "_i0e({0})", ref=R.i0e, binding=_special("i0e"),
   grad=lambda n, g: g * (n[0].i1e() - n[0].sign() * n.out), saves=(0, "out"))
_f("i1", npspecial.i1, "_i1({0})", libdevice="cyl_bessel_i1", ref=R.i1, binding=_special("i1", "modified_bessel_i1"),
   grad=lambda n, g: g * where(n[0].eq(0), 0.5, n[0].i0() - n.out / n[0]), saves=(0, "out"))
_f("i1e", npspecial.i1e, "_i1e({0})", ref=R.i1e, binding=_special("i1e"),
   grad=lambda n, g: g * where(n[0].eq(0), 0.5, n[0].i0e() - n.out * (n[0].sign() + 1 / n[0])), saves=(0, "out"))
for _name, _np, _tr, _lib, _ref in (
    ("bessel_j0", npspecial.j0, "_j0({0})", "j0", R.j0),
    ("bessel_j1", npspecial.j1, "_j1({0})", "j1", R.j1),
    ("bessel_y0", npspecial.y0, "_y0({0})", "y0", R.y0),
    ("bessel_y1", npspecial.y1, "_y1({0})", "y1", R.y1),
    ("modified_bessel_k0", npspecial.k0, "_k0({0})", None, R.k0),
    ("modified_bessel_k1", npspecial.k1, "_k1({0})", None, R.k1),
    ("scaled_modified_bessel_k0", npspecial.k0e, "_k0e({0})", None, R.k0e),
    ("scaled_modified_bessel_k1", npspecial.k1e, "_k1e({0})", None, R.k1e),
    ("airy_ai", npspecial.airy_ai, "_airy_ai({0})", None, R.airy_ai),
    ("spherical_bessel_j0", npspecial.spherical_j0, "_sph_j0({0})", None, R.spherical_j0),
):
    _f(_name, _np, _tr, libdevice=_lib, ref=_ref, binding=_special(_name))

# ----------------------------------------------------------------------------
# orthogonal polynomials: binary (x, n), by recurrence (see ir/ops/polynomials.py)

for _name in polynomials.KINDS:
    binary(_name, dtype_float, numpy=polynomials.numpy_impl(_name), triton=f"_{_name}({{0}}, {{1}})",
           ref=polynomials.reference(_name), binding=_special(_name),
           doc=f"torch.special.{_name}(x, n): the degree-n polynomial at x (n truncated toward 0; n < 0 gives 0).")

NAMES = tuple(list(OPS)[_FIRST:])
