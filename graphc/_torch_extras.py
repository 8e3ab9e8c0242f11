"""Smaller ``torch.*`` names that ported scripts reach for: the math constants, the in-place
function forms (``torch.exp_(x)`` is ``x.exp_()``), legacy norms and products, predicates,
``frombuffer``, ``binomial``/``poisson`` sampling and the process-wide switches.

Every function is a thin call of an existing op or Tensor method; nothing here adds math.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from backends.numpy import runtime as _threads
from ir import dtypes as dt

from . import _functional as _F
from . import linalg as _linalg
from . import random as _random
from ._factories import _from_array, arange
from ._tensor import Tensor

__all__ = [
    "pi", "e", "inf", "nan", "newaxis",
    "detach", "detach_", "fill_", "index_put_", "is_nonzero", "is_same_size", "is_signed", "is_storage", "typename",
    "frobenius_norm", "nuclear_norm", "chain_matmul", "vander", "row_stack", "frombuffer", "binomial", "poisson",
    "get_num_interop_threads", "set_num_interop_threads", "set_flush_denormal", "set_warn_always",
    "is_warn_always_enabled", "matrix_rank", "eig", "symeig", "lstsq", "solve",
]

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None

# torch.<name>_(input, *args): the Tensor method of the same name (PyTorch's top-level in-place forms).
INPLACE_FUNCTIONS = """
abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ as_strided_ asin_ asinh_ atan_ atanh_
ceil_ clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ cosh_ deg2rad_ erf_ erfc_ exp2_ exp_ expm1_ fix_
floor_ frac_ gcd_ i0_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_
reciprocal_ resize_as_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_
""".split()


def _inplace_function(name: str):
    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return fn


for _name in INPLACE_FUNCTIONS:
    globals()[_name] = _inplace_function(_name)
__all__ += INPLACE_FUNCTIONS


def detach(input):
    return input.detach()


def detach_(input):
    return input.detach_()


def fill_(input, value):
    return input.fill_(value)


def index_put_(input, indices, values, accumulate: bool = False):
    return input.index_put_(indices, values, accumulate)


def is_nonzero(input) -> bool:
    """The truth of a one-element tensor; PyTorch's error for none or several elements."""
    n = input.numel()
    if n != 1:
        more = "more than one value" if n else "no values"
        raise RuntimeError(f"Boolean value of Tensor with {more} is ambiguous")
    return bool(input.item())


def is_same_size(input, other) -> bool:
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input) -> bool:
    """True for dtypes that hold negative values: not bool, not uint8."""
    return input.dtype not in (dt.bool_, dt.uint8)


def is_storage(obj) -> bool:
    """Always False: graphc has no Storage objects (a tensor's memory is its backend buffer)."""
    return False


def typename(obj) -> str:
    """``'graphc.FloatTensor'`` for tensors (``x.type()``), else the object's qualified name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def frobenius_norm(input, dim, keepdim: bool = False, *, out=None):
    """Deprecated in PyTorch (kept for JIT): ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    return _linalg.vector_norm(input, 2, dim, keepdim, out=out)


def nuclear_norm(input, dim=None, keepdim: bool = False, *, out=None):
    """Deprecated in PyTorch: ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``; the second
    positional argument is ``keepdim`` when it is a bool (aten's two overloads)."""
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return _linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim, out=out)


def chain_matmul(*matrices, out=None):
    """Deprecated: the product of the matrices (``linalg.multi_dot``), with PyTorch's warning."""
    warnings.warn(
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use torch.linalg.multi_dot "
        "instead, which accepts a list of two or more tensors rather than multiple parameters.",
        stacklevel=2,
    )
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if len(matrices) == 1:
        return matrices[0].clone() if out is None else out.copy_(matrices[0])
    return _linalg.multi_dot(list(matrices), out=out)


def vander(x, N=None, increasing: bool = False):
    """The Vandermonde matrix of 1-d ``x``: columns ``x**(N-1), ..., x**0`` (reversed when
    ``increasing``); integer and bool inputs give int64."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    base = x if x.dtype.is_floating_point or x.dtype.is_complex else x.to(dt.int64)
    powers = arange(n, device=x.device)
    out = _F.pow(_F.unsqueeze(base, 1), powers)
    return out if increasing else _F.flip(out, [1])


def row_stack(tensors, *, out=None):
    """Alias of :func:`vstack`."""
    return _F.vstack(tensors) if out is None else out.copy_(_F.vstack(tensors))


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-d tensor that shares memory with a Python buffer (``bytearray``, ``array``, ``mmap``):
    ``count`` elements of ``dtype`` from byte ``offset`` (-1: all the rest)."""
    if isinstance(dtype, dt.DType) and dtype.numpy_dtype is None:
        raise TypeError(f"frombuffer: dtype {dtype} has no buffer layout")
    arr = np.frombuffer(buffer, dtype=dtype.numpy_dtype, count=count, offset=offset)
    if not arr.flags.writeable:
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors.",
                      UserWarning, stacklevel=2)
        arr = arr.copy()
    t = _from_array(arr, dtype)
    return t.requires_grad_() if requires_grad else t


def _sample(gen, draw, *tensors):
    gen = gen or _random.default_generator
    host = [np.asarray(t.detach()._host(), dtype=np.float64) for t in tensors]
    return draw(gen.numpy_rng(), *host)


def binomial(count, prob, generator=None) -> Tensor:
    """Binomial draws: successes in ``count`` trials of probability ``prob`` (elementwise,
    broadcast), in ``count``'s dtype. Drawn on the host from ``generator``'s stream."""
    arr = _sample(generator, lambda rng, n, p: rng.binomial(n.astype(np.int64), np.clip(p, 0, 1)), count, prob)
    return _from_array(np.asarray(arr, dtype=count.dtype.numpy_dtype), count.dtype, count.device)


def poisson(input, generator=None) -> Tensor:
    """Poisson draws with rates ``input`` (elementwise), in ``input``'s dtype, on the host."""
    arr = _sample(generator, lambda rng, lam: rng.poisson(lam), input)
    return _from_array(np.asarray(arr, dtype=input.dtype.numpy_dtype), input.dtype, input.device)


_interop = {"n": None}


def get_num_interop_threads() -> int:
    """graphc has one CPU thread pool (:func:`graphc.get_num_threads`), no separate inter-op
    pool: this reads the value given to :func:`set_num_interop_threads`, else the pool's size."""
    return _interop["n"] or _threads.num_threads()


def set_num_interop_threads(n: int) -> None:
    """Recorded only (graphc runs ops one after another and has no inter-op pool)."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise RuntimeError(f"Expected positive number of threads, got {n!r}")
    _interop["n"] = n


def set_flush_denormal(mode: bool) -> bool:
    """Returns False: numpy gives no control of the CPU's flush-to-zero mode, so denormals are
    kept (PyTorch returns False too where the CPU lacks the setting)."""
    return False


_warn_always = {"on": False}


def set_warn_always(b: bool) -> None:
    """Recorded as PyTorch's flag; graphc's warnings go through Python's ``warnings`` filters,
    which already decide whether a repeated warning shows."""
    _warn_always["on"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _warn_always["on"]


def _removed(name: str, replacement: str):
    def fn(*args, **kwargs):
        raise RuntimeError(
            f"This function was deprecated since version 1.9 and is now removed.\nPlease use the `{replacement}` "
            "function instead."
        )

    fn.__name__ = name
    fn.__doc__ = f"Removed in PyTorch 1.9 (still named in ``torch``): use ``{replacement}``."
    return fn


matrix_rank = _removed("matrix_rank", "torch.linalg.matrix_rank")
eig = _removed("eig", "torch.linalg.eig")
symeig = _removed("symeig", "torch.linalg.eigh")
lstsq = _removed("lstsq", "torch.linalg.lstsq")
solve = _removed("solve", "torch.linalg.solve")
