"""Attach the functional ops to :class:`Tensor` as methods, operators and ``_`` forms.

Each op is written once in :mod:`graphc._functional`; this module only binds
names. In-place methods are generated from the out-of-place function and
:func:`graphc._inplace._inplace_result`, so ``x.add_(y)`` and ``x + y`` share
their kernel and their gradient rule.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.errors import DeviceError, UnsupportedError
from ir.ops import ELEMENTWISE, OPS

from . import _factories, _inplace, _legacy
from . import _functional as F
from ._dispatch import composite
from ._functional.elementwise import DERIVED
from ._functional.getitem import getitem, setitem
from ._functional.shape import _matrix_transpose
from ._layout import check_memory_format, contiguous_format, preserve_format, strided, suggest_format
from ._tensor import Tensor
from .device import as_device, backend_for

# Methods whose first argument is the tensor.
_METHODS = """
frexp ldexp mvlgamma
log10 round square relu logical_not clone nan_to_num add sub subtract div divide true_divide fmod
pow float_power fmax fmin logical_and logical_or logical_xor equal allclose isclose masked_fill
clamp clip clamp_min clamp_max lerp addcmul addcdiv sum nansum prod mean nanmean var std amax amin
argmax argmin max min all any count_nonzero norm logsumexp softmax log_softmax cumsum matmul mm bmm
mv dot inner outer addmm view reshape view_as reshape_as flatten unflatten squeeze unsqueeze permute
transpose swapaxes swapdims t adjoint movedim moveaxis expand expand_as broadcast_to contiguous
narrow flip fliplr flipud roll tril triu diagonal diag trace split tensor_split chunk unbind select
gather scatter scatter_add index_select index_add index_copy take nonzero argwhere masked_select
sort argsort topk unique repeat tile repeat_interleave type_as
""".split()

for _name in _METHODS:
    setattr(Tensor, _name, getattr(F, _name))

# Methods and in-place forms derived from the op table: every elementwise row with a Binding.
for _row in OPS.values():
    _binding = _row.binding
    if _binding is None or _row.kind != ELEMENTWISE:
        continue
    for _name in _binding.names:
        if _binding.method and _name in DERIVED:  # special.<name> lives only in graphc.special
            setattr(Tensor, _name, DERIVED[_name])

# In-place forms: out-of-place op, then write back.
_INPLACE = """
ldexp mvlgamma
log10 round square relu logical_not nan_to_num add sub subtract div divide true_divide fmod pow
logical_and logical_or logical_xor masked_fill clamp clip clamp_min clamp_max lerp addcmul addcdiv
cumsum tril triu scatter scatter_add index_add index_copy
""".split()


def _make_inplace(fn, name):
    if name == "masked_fill_":  # (its value is a number or a 0-d tensor read as one: no overlap rule)
        def method(self, *args, **kwargs):
            return _inplace._inplace_result(self, fn(self, *args, **kwargs), name)
    else:
        def method(self, *args, **kwargs):
            if args:
                _inplace.check_no_overlap(self, args, name)
            if kwargs:
                _inplace.check_no_overlap(self, kwargs.values(), name)
            return _inplace._inplace_result(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place version of :meth:`{name[:-1]}`: writes into this tensor and returns it."
    return method


for _name in _INPLACE:
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name), _name + "_"))
for _row in OPS.values():
    _binding = _row.binding
    if _binding is not None and _row.kind == ELEMENTWISE and _binding.method and _binding.inplace:
        for _name in _binding.names:
            if _name in DERIVED:
                setattr(Tensor, _name + "_", _make_inplace(DERIVED[_name], _name + "_"))

# polygamma(n, x): the order comes first in the function, after self in the method
Tensor.polygamma = lambda self, n: F.polygamma(n, self)
Tensor.polygamma_ = lambda self, n: _inplace._inplace_result(self, F.polygamma(n, self), "polygamma_")

Tensor.copy_ = _inplace.copy_
Tensor.fill_ = _inplace.fill_
Tensor.zero_ = _inplace.zero_


def _view_inplace(fn, name):
    def method(self, *args, **kwargs):
        return _inplace._inplace_view(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    return method


Tensor.t_ = _view_inplace(F.t, "t_")
Tensor.transpose_ = _view_inplace(F.transpose, "transpose_")
Tensor.squeeze_ = _view_inplace(F.squeeze, "squeeze_")
Tensor.unsqueeze_ = _view_inplace(F.unsqueeze, "unsqueeze_")
Tensor.T = property(lambda self: F.permute(self, tuple(reversed(range(self.ndim)))) if self.ndim != 2 else F.t(self), doc="Dims reversed (the transpose of a matrix).")
Tensor.mT = property(_matrix_transpose, doc="The last two dims swapped.")


# Random in-place fills (used by nn.init).
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with uniform numbers in [a, b)."""
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    u = _factories.rand(tuple(self.shape), generator=generator, dtype=self._dtype if self._dtype.is_floating_point else dt.float32)
    return _inplace._inplace_result(self, F.add(F.mul(u, b - a), a), "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal numbers of the given mean and std."""
    _factories._check_std(std)
    n = _factories.randn(tuple(self.shape), generator=generator, dtype=self._dtype)
    return _inplace._inplace_result(self, F.add(F.mul(n, std), mean), "normal_")


def random_(self, low=0, high=None, *, generator=None):
    """Fill with integers in [low, high); ``random_(to)`` is [0, to), and ``random_()`` spans the
    dtype as PyTorch: [0, 2**(bits-1)) for signed ints (never negative), [0, 256) for uint8,
    and the integers a float represents exactly, [0, 2**(mantissa bits + 1)]."""
    if high is None:
        low, high = 0, low if low else _random_high(self._dtype)
    r = _factories.randint(low, high, tuple(self.shape), generator=generator, dtype=self._dtype)
    return _inplace._inplace_result(self, r, "random_")


def _random_high(dtype) -> int:
    if dtype.is_bool:
        return 2
    if dtype.is_floating_point:
        mantissa = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}[dtype.name]
        return 2 ** (mantissa + 1) + 1
    bits = 8 * dtype.itemsize
    return 2 ** (bits - 1) if dtype.is_signed else 2**bits


Tensor.uniform_ = uniform_
Tensor.normal_ = normal_
Tensor.random_ = random_
for _name, _fn in F.random.METHODS.items():  # multinomial, bernoulli(_), exponential_, ...
    setattr(Tensor, _name, _fn)

# new_* factories.
for _name in ("new_tensor", "new_empty", "new_zeros", "new_ones", "new_full"):
    setattr(Tensor, _name, getattr(_factories, _name))


# -- conversions ------------------------------------------------------------


def _parse_to(args, kwargs):
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    memory_format = check_memory_format(kwargs.pop("memory_format", None), "to")
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, dt.DType):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a._dtype, a._device
        elif isinstance(a, bool):
            continue
        elif a is not None:
            device = a
    return (as_device(device) if device is not None else None), _factories._dtype_arg(dtype), copy, memory_format


def to(self, *args, **kwargs):
    """A tensor with another dtype, device and/or memory format (self when nothing changes)."""
    device, dtype, copy, memory_format = _parse_to(args, kwargs)
    out = self
    if device is not None and device != self._device:
        out = _move(out, device)
    if dtype is not None and dtype is not out._dtype:
        out = F._to(out, dtype)
    if copy and out is self:
        out = F.clone(self)
    return _with_format(self, out, memory_format, "to")


def _with_format(src, out, memory_format, op):
    """``out`` (a conversion of ``src``) in ``memory_format``; ``preserve_format`` keeps ``src``'s."""
    fmt = suggest_format(src) if memory_format is preserve_format else memory_format
    if fmt is contiguous_format and memory_format is preserve_format:
        return out  # row-major source: conversions already give row-major results
    return F.contiguous(out, memory_format=fmt)


def _move(x: Tensor, device):
    if x._node is not None:
        raise DeviceError("moving a tracer between devices inside @graphc.compile is not supported")
    target = backend_for(device)  # raises a clear DeviceError when cuda is unavailable
    source = backend_for(x._device)
    host = source.to_host(x._data) if x._device.type != "cpu" else x._data
    data = target.from_host(host, x._dtype) if device.type != "cpu" else host.copy()
    return Tensor._wrap(data, x._dtype, device)


def cpu(self):
    """This tensor on the CPU."""
    return to(self, "cpu")


def cuda(self, device=None, non_blocking=False):
    """This tensor on a CUDA GPU (needs the Triton backend and a GPU)."""
    return to(self, as_device("cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}"))


def type_(self, dtype=None, non_blocking=False):
    """With no argument: the type name (``'graphc.FloatTensor'``); else a cast."""
    if dtype is None:
        names = {
            "float32": "FloatTensor",
            "float64": "DoubleTensor",
            "float16": "HalfTensor",
            "bfloat16": "BFloat16Tensor",
            "int64": "LongTensor",
            "int32": "IntTensor",
            "int16": "ShortTensor",
            "int8": "CharTensor",
            "uint8": "ByteTensor",
            "bool": "BoolTensor",
        }
        return f"graphc.{names[self._dtype.name]}"
    if isinstance(dtype, _legacy._TensorType):  # t.type(graphc.LongTensor)
        dtype = dtype.dtype
    if isinstance(dtype, str):
        dtype = dtype.rsplit(".", 1)[-1]
        table = {"FloatTensor": dt.float32, "DoubleTensor": dt.float64, "LongTensor": dt.int64, "IntTensor": dt.int32, "HalfTensor": dt.float16, "BoolTensor": dt.bool_, "ByteTensor": dt.uint8}
        dtype = table.get(dtype) or dt.by_name(dtype)
    return F._to(self, _factories._dtype_arg(dtype))


Tensor.to = to
Tensor.cpu = cpu
Tensor.cuda = cuda
Tensor.type = type_
for _name, _dtype in (
    ("float", dt.float32),
    ("double", dt.float64),
    ("half", dt.float16),
    ("bfloat16", dt.bfloat16),
    ("int", dt.int32),
    ("long", dt.int64),
    ("short", dt.int16),
    ("char", dt.int8),
    ("byte", dt.uint8),
    ("bool", dt.bool_),
):
    setattr(Tensor, _name, (lambda d, n: lambda self, memory_format=None: _with_format(
        self, F._to(self, d), check_memory_format(memory_format, n), n))(_dtype, _name))



Tensor.layout = property(lambda self: strided, doc="The tensor's layout: always graphc.strided.")
Tensor.is_floating_point = lambda self: self._dtype.is_floating_point
Tensor.is_complex = lambda self: self._dtype.is_complex


# -- complex numbers (graphc._functional.complex) ------------------------------


def _set_part(which):
    def setter(self, value):
        """``x.real = v``: written in place as ``complex(v, x.imag)`` (graphc's parts are copies)."""
        if not self._dtype.is_complex:
            if which == "imag":
                raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
            self.copy_(value if isinstance(value, Tensor) else _factories.full_like(self, value))
            return
        part = F._to(value if isinstance(value, Tensor) else _factories.full_like(F.real(self), value), dt.to_real(self._dtype))
        re, im = (part, F.imag(self)) if which == "real" else (F.real(self), part)
        self.copy_(F.complex(*F.broadcast_tensors(re, im)))

    return setter


Tensor.real = property(F.real, _set_part("real"), doc="The real part (a copy for complex tensors).")
Tensor.imag = property(F.imag, _set_part("imag"), doc="The imaginary part of a complex tensor (a copy).")
Tensor.mH = property(F.adjoint, doc="The conjugate transpose of the last two dims.")
for _name in ("conj", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "sgn", "isreal"):
    setattr(Tensor, _name, getattr(F, _name))
Tensor.sgn_ = _make_inplace(F.sgn, "sgn_")
Tensor.__complex__ = lambda self: complex(self.item())
Tensor.cfloat = lambda self: F._to(self, dt.complex64)
Tensor.cdouble = lambda self: F._to(self, dt.complex128)


def _chalf(self, memory_format=None):
    raise UnsupportedError("chalf(): graphc has no complex32 dtype (numpy has none to store it in); use cfloat()")


Tensor.chalf = _chalf
Tensor.itemsize = property(lambda self: self._dtype.itemsize, doc="Bytes per element (as element_size()).")
Tensor.nbytes = property(lambda self: self.numel() * self._dtype.itemsize, doc="Bytes of the elements this tensor views.")
Tensor.is_cpu = property(lambda self: self._device.type == "cpu", doc="Whether the tensor is on the CPU.")
Tensor.get_device = lambda self: -1 if self._device.type == "cpu" else (self._device.index or 0)


# -- operators --------------------------------------------------------------


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _iop(name):
    fn = getattr(F, name)

    def method(self, other):
        _inplace.check_no_overlap(self, (other,), f"{name}_")
        return _inplace._inplace_result(self, fn(self, other), f"{name}_")

    return method


def _invert(self):
    return F.logical_not(self) if self._dtype.is_bool else F.bitwise_not(self)


def _is_bool(v) -> bool:
    return isinstance(v, bool) or getattr(v, "dtype", None) is dt.bool_


def _logic(bool_fn, int_fn):
    def op(self, other):  # (reflected: self is the Python number)
        if _is_bool(self) and _is_bool(other):
            return bool_fn(self, other)
        return int_fn(self, other)

    return op


def _rsub(self, other):
    """``number - tensor``: named RsubBackward1 as PyTorch (the rename costs nothing without grad)."""
    out = F.sub(other, self)
    if out._grad_fn is not None:
        out = composite("RsubBackward1", self).result(out)
    return out


_and = _logic(F.logical_and, F.bitwise_and)
_or = _logic(F.logical_or, F.bitwise_or)
_xor = _logic(F.logical_xor, F.bitwise_xor)

_OPERATORS = {
    "__add__": F.add,
    "__radd__": _reflected(F.add),
    "__sub__": F.sub,
    "__rsub__": _rsub,
    "__mul__": F.mul,
    "__rmul__": _reflected(F.mul),
    "__truediv__": F.div,
    # number / tensor is PyTorch's reciprocal(tensor) * number (not a division: the two differ in
    # the last bit for about a quarter of the elements, in every float dtype)
    "__rtruediv__": lambda self, other: F.mul(F.reciprocal(self), other),
    "__floordiv__": F.floor_divide,
    "__rfloordiv__": _reflected(F.floor_divide),
    "__mod__": F.remainder,
    "__rmod__": _reflected(F.remainder),
    "__pow__": F.pow,
    "__rpow__": lambda self, other: F.pow(F._operand(other, dt.result_type(self, other), self._device), self),
    "__matmul__": F.matmul,
    "__rmatmul__": _reflected(F.matmul),
    "__eq__": F.eq,
    "__ne__": F.ne,
    "__lt__": F.lt,
    "__le__": F.le,
    "__gt__": F.gt,
    "__ge__": F.ge,
    "__and__": _and,
    "__rand__": _reflected(_and),
    "__or__": _or,
    "__ror__": _reflected(_or),
    "__xor__": _xor,
    "__rxor__": _reflected(_xor),
    "__neg__": F.neg,
    "__pos__": lambda self: self,
    "__abs__": F.abs,
    "__invert__": _invert,
    "__iadd__": _iop("add"),
    "__isub__": _iop("sub"),
    "__imul__": _iop("mul"),
    "__itruediv__": _iop("div"),
    "__ifloordiv__": _iop("floor_divide"),
    "__imod__": _iop("remainder"),
    "__ipow__": _iop("pow"),
    "__iand__": lambda self, other: _inplace._inplace_result(self, _and(self, other), "__iand__"),
    "__ior__": lambda self, other: _inplace._inplace_result(self, _or(self, other), "__ior__"),
    "__ixor__": lambda self, other: _inplace._inplace_result(self, _xor(self, other), "__ixor__"),
    "__lshift__": F.bitwise_left_shift,
    "__rlshift__": _reflected(F.bitwise_left_shift),
    "__rshift__": F.bitwise_right_shift,
    "__rrshift__": _reflected(F.bitwise_right_shift),
    "__ilshift__": _iop("bitwise_left_shift"),
    "__irshift__": _iop("bitwise_right_shift"),
    "__getitem__": getitem,
    "__setitem__": setitem,
}


def _operator(fn):
    # Python lists and tuples are not operands, as in PyTorch: the operator returns NotImplemented
    # so Python falls back to the sequence's own protocol (`[1, 2] * t` repeats the list through
    # __index__, `t == (1, 2)` is identity-False, `[1, 2] + t` raises TypeError).
    operand_types = (Tensor, int, float, bool, complex, np.number, np.bool_, np.ndarray)

    def op(self, other):
        if not isinstance(other, operand_types):
            return NotImplemented
        return fn(self, other)

    op.__name__ = getattr(fn, "__name__", "op")
    return op


for _name, _fn in _OPERATORS.items():
    if _name in ("__neg__", "__pos__", "__abs__", "__invert__"):
        setattr(Tensor, _name, _fn)
    elif _name in ("__getitem__", "__setitem__"):
        setattr(Tensor, _name, _fn)
    else:
        setattr(Tensor, _name, _operator(_fn))
Tensor.__hash__ = lambda self: id(self)
