"""Creating tensors: ``tensor``, ``zeros``, ``rand``, ``arange``, the ``*_like`` and
``new_*`` families, and the numpy bridge (``from_numpy`` shares memory).

Constant-valued factories run the ``full`` / ``iota`` primitives and random
ones the ``random_uniform`` / ``random_normal`` primitives with a seed from
the generator, so inside ``@graphc.compile`` they trace like any op.

This module sits below the math (:mod:`graphc._functional` converts lists with
:func:`tensor`); the few factories built from arithmetic (``randint``,
``normal``, a traced ``arange``) use the Tensor's operators, which
:mod:`graphc._methods` attaches.
"""

from __future__ import annotations

import numpy as np

from backends.numpy.kernels import finish
from ir import dtypes as dt

from . import _layout
from . import random as _random
from ._dispatch import active_tracer, apply, constant
from ._grad_mode import no_grad
from ._layout import check_layout, check_memory_format, contiguous_format, preserve_format, suggest_format
from ._tensor import Tensor, _rebuild  # noqa: F401  (_rebuild: older pickles name graphc._factories._rebuild)
from .device import as_device, default_device


def _shape_arg(args, op: str) -> tuple:
    """Shapes given as ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` or ``f(size)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = int(a.item())
        if not isinstance(a, int) or isinstance(a, bool):
            try:
                a = a.__index__()
            except AttributeError:
                raise TypeError(f"{op}: sizes must be ints, got {type(a).__name__}") from None
        out.append(a)
    return tuple(out)


def _dtype_arg(dtype) -> dt.DType | None:
    if dtype is None or isinstance(dtype, dt.DType):
        return dtype
    if isinstance(dtype, str):
        return dt.by_name(dtype.replace("torch.", "").replace("graphc.", ""))
    if dtype in (float,):
        return dt.float64
    if dtype in (complex,):
        return dt.complex128
    if dtype in (int,):
        return dt.int64
    if dtype in (bool,):
        return dt.bool_
    try:
        return dt.from_numpy(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a graphc dtype (e.g. graphc.float32), got {dtype!r}") from None


def _finish(t: Tensor, requires_grad: bool, device) -> Tensor:
    dev = as_device(device) if device is not None else default_device()
    if dev.type != "cpu":
        t = t.to(dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _from_array(arr: np.ndarray, dtype: dt.DType | None = None, device=None) -> Tensor:
    """Wrap a numpy array (no copy) as a tensor."""
    dtype = dtype or dt.from_numpy(arr.dtype)
    return Tensor._wrap(arr, dtype, as_device(None) if device is None else as_device(device))


def _infer_dtype(data) -> dt.DType:
    """PyTorch's inference: bools stay bool, ints become int64, floats the default float."""
    arr = np.asarray(data)
    kind = arr.dtype.kind
    if kind == "b":
        return dt.bool_
    if kind in "iu":
        return dt.int64
    if kind == "f":
        return dt.default_float()
    if kind == "c":
        return dt.default_complex()
    if kind == "O":
        big = _first_big_int(data)
        if big is not None:
            raise RuntimeError(f"tensor(): the integer {big} does not fit in int64 (Overflow when unpacking long long)")
        raise TypeError("tensor(): could not infer a dtype from a ragged or non-numeric sequence")
    raise TypeError(f"tensor(): unsupported data of numpy kind {arr.dtype}")


_PYTHON_SCALAR_DTYPES = {bool: lambda: dt.bool_, int: lambda: dt.int64, float: dt.default_float, complex: dt.default_complex}


def _sequence_dtype(data) -> dt.DType | None:
    """PyTorch's dtype for a (nested) list holding numpy scalars, or None when it holds none.

    PyTorch gives each element its own dtype (a numpy scalar its numpy dtype, a Python float the
    default float, a Python int int64) and promotes them pairwise with ``promote_types``: so
    ``[np.float64(1), 2.0]`` is float64 and ``[np.int32(1), np.float32(2)]`` float32, where numpy
    itself would say float64. The walk looks at each row's set of element types, not each element.
    """
    found: list = []
    has_numpy = False

    def walk(seq):
        nonlocal has_numpy
        for typ in set(map(type, seq)):
            if typ in (list, tuple):
                for sub in seq:
                    if type(sub) is typ:
                        walk(sub)
            elif issubclass(typ, np.generic):
                has_numpy = True
                found.append(dt.from_numpy(np.dtype(typ)))
            elif typ in _PYTHON_SCALAR_DTYPES:
                found.append(_PYTHON_SCALAR_DTYPES[typ]())
            else:
                raise _NotScalars

    try:
        walk(data)
    except _NotScalars:
        return None
    if not has_numpy:
        return None
    out = found[0]
    for d in found[1:]:
        out = dt.promote_types(out, d)
    return out


class _NotScalars(Exception):
    """An element that is neither a number nor a sequence: inference falls back to numpy's."""


def _first_big_int(data):
    """The first Python int in (nested) ``data`` outside int64's range, or None."""
    if isinstance(data, (list, tuple)):
        for d in data:
            big = _first_big_int(d)
            if big is not None:
                return big
        return None
    if isinstance(data, int) and not isinstance(data, bool) and not -(2**63) <= data < 2**63:
        return data
    return None


def _nested_tensors_to_array(data):
    if isinstance(data, Tensor):
        return np.asarray(data._host())
    if isinstance(data, (list, tuple)):
        if any(isinstance(d, (Tensor, list, tuple)) for d in data):
            return np.array([_nested_tensors_to_array(d) for d in data])
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    dtype = _dtype_arg(dtype)
    if isinstance(data, Tensor):
        if data._node is not None:
            return data.to(dtype) if dtype else apply("copy", [data])
        arr = np.array(data._host(), copy=True)
        dtype = dtype or data._dtype
    else:
        if isinstance(data, (np.ndarray, np.generic)):  # a numpy scalar keeps its dtype, as in PyTorch
            dtype = dtype or dt.from_numpy(data.dtype)
        elif dtype is None and isinstance(data, (list, tuple)):
            dtype = _sequence_dtype(data)
        data = _nested_tensors_to_array(data)
        try:
            dtype = dtype or _infer_dtype(data)
        except ValueError:
            raise TypeError("tensor(): expected a rectangular nested sequence of numbers") from None
        try:
            with np.errstate(over="ignore"):  # a float beyond the dtype's range is +-inf, as in PyTorch
                arr = np.array(data, dtype=dtype.numpy_dtype)
        except ValueError as e:
            raise ValueError(f"tensor(): {e}") from None
        except OverflowError:
            raise RuntimeError(
                f"tensor(): a value does not fit in {dtype} ({_first_big_int(data) or 'out of range'}; "
                "Overflow when unpacking long long)"
            ) from None
    arr = finish(arr.astype(dtype.numpy_dtype, copy=False), dtype)
    if not arr.flags.writeable or not arr.flags.owndata:
        arr = arr.copy()
    return _finish(_from_array(arr, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a numpy array or tensor when it can."""
    dtype = _dtype_arg(dtype)
    if isinstance(data, Tensor) and (dtype is None or data._dtype is dtype):
        return data if device is None else data.to(device)
    if isinstance(data, np.ndarray) and (dtype is None or dtype.numpy_dtype == data.dtype) and as_device(device).type == "cpu":
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor: ``copy=None`` shares memory when it can (as ``as_tensor``),
    ``copy=True`` always copies, ``copy=False`` shares or raises (PyTorch's errors)."""
    dtype = _dtype_arg(dtype)
    if copy is False:
        if isinstance(obj, np.generic):
            raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it in a ndarray. ")
        if not isinstance(obj, (Tensor, np.ndarray)):
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        have = obj._dtype if isinstance(obj, Tensor) else dt.from_numpy(obj.dtype)
        if dtype is not None and dtype is not have:
            raise ValueError(f"can't alias tensor with dtype '{have}' into dtype '{dtype}'.")
    if copy:
        t = obj.to(dtype or obj._dtype, copy=True) if isinstance(obj, Tensor) else tensor(obj, dtype=dtype)
        t = t if device is None else t.to(device)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad and not t.requires_grad:
        t = (t.detach() if t is obj else t).requires_grad_(True)
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory: writes to either show in both."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return _from_array(ndarray, dt.from_numpy(ndarray.dtype))


def _full(shape, value, dtype, device, requires_grad):
    tracer = active_tracer()
    if tracer is not None:
        t = apply("full", [], shape=tuple(shape), dtype=dtype, value=value)
    else:
        arr = np.full(tuple(shape), value, dtype=dtype.numpy_dtype)
        t = _from_array(arr, dtype)
    return _finish(t, requires_grad, device)


def _float_default(dtype):
    return _dtype_arg(dtype) or dt.default_float()


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, memory_format=None, pin_memory=False, layout=None) -> Tensor:
    """A tensor whose values are not initialized (graphc fills it with zeros)."""
    check_layout(layout, "empty")
    fmt = check_memory_format(memory_format, "empty")
    make = lambda shape: _full(shape, 0, _float_default(dtype), device, False)  # noqa: E731
    return _formatted(_shape_arg(size, "empty"), fmt, "empty", make, requires_grad)


def _formatted(shape, fmt, op, make, requires_grad):
    """``make(shape)`` in memory format ``fmt`` (a channels-last tensor gets NHWC strides)."""
    with no_grad():
        t = make(tuple(shape))
    if fmt is not preserve_format and fmt is not contiguous_format:
        order = _layout.dim_order(fmt.name, len(shape), op)
        if isinstance(t._data, np.ndarray):
            t._data = _layout.laid_out(t._data, order)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False) -> Tensor:
    """A tensor of zeros."""
    check_layout(layout, "zeros")
    return _full(_shape_arg(size, "zeros"), 0, _float_default(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False) -> Tensor:
    """A tensor of ones."""
    check_layout(layout, "ones")
    return _full(_shape_arg(size, "ones"), 1, _float_default(dtype), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype inferred from the value)."""
    check_layout(layout, "full")
    if dtype is None:
        # numpy integers give int64 as Python ints do; any other numpy scalar (np.float64, np.bool_)
        # gives the default float or complex, as in PyTorch
        integral = isinstance(fill_value, (int, np.integer))
        dtype = (dt.bool_ if isinstance(fill_value, bool) else dt.int64 if integral else
                 dt.default_complex() if isinstance(fill_value, (complex, np.complexfloating)) else dt.default_float())
    return _full(_shape_arg((size,) if isinstance(size, int) else tuple(size), "full"), fill_value, _dtype_arg(dtype), device, requires_grad)


# PyTorch's C type names, as its random ops' errors name them.
_C_NAMES = {"uint8": ("unsigned char", "Byte"), "int8": ("signed char", "Char"), "int16": ("short int", "Short"),
            "int32": ("int", "Int"), "int64": ("long", "Long"), "bool": ("bool", "Bool")}


def _check_random_shape(shape):
    for n in shape:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(shape)}")


def _check_float_random(dtype, kernel):
    """rand/randn of an integer dtype: PyTorch's NotImplementedError (its kernel has no such case)."""
    if not (dtype.is_floating_point or dtype.is_complex):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_C_NAMES[dtype.name][1]}\'')


def _random_op(op, shape, dtype, device, requires_grad, generator):
    _check_random_shape(shape)
    if dtype.is_complex:  # PyTorch: independent real and imaginary parts; normals of variance 1/2 each
        parts = _random_op(op, (2,) + tuple(shape), dt.to_real(dtype), None, False, generator)
        re, im = parts[0], parts[1]
        if op == "random_normal":
            re, im = re * 0.5**0.5, im * 0.5**0.5
        return _finish(apply("complex", [re, im]), requires_grad, device)
    tracer = active_tracer()
    if tracer is not None:
        seed = tracer.random_seed(generator)
    else:
        seed = constant(_random.next_seed(generator), dt.int64)
    t = apply(op, [seed], shape=tuple(shape), dtype=dtype)
    return _finish(t, requires_grad, device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Uniform random numbers in [0, 1)."""
    check_layout(layout, "rand")
    _check_float_random(_float_default(dtype), "check_uniform_bounds")
    return _random_op("random_uniform", _shape_arg(size, "rand"), _float_default(dtype), device, requires_grad, generator)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Standard normal random numbers."""
    check_layout(layout, "randn")
    _check_float_random(_float_default(dtype), "normal_kernel_cpu")
    return _random_op("random_normal", _shape_arg(size, "randn"), _float_default(dtype), device, requires_grad, generator)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Random integers in [low, high) (int64 by default)."""
    check_layout(layout, "randint")
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size), PyTorch's two-argument form
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = _dtype_arg(dtype) or dt.int64
    _check_int_bounds(low, high, dtype)
    u = _random_op("random_uniform", _shape_arg((size,) if isinstance(size, int) else tuple(size), "randint"), dt.float64, None, False, generator)
    r = ((u * float(high - low)).floor() + float(low)).to(dtype)
    return _finish(r, requires_grad, device)


def _check_int_bounds(low, high, dtype) -> None:
    """[low, high) must fit ``dtype`` (PyTorch's check; graphc would wrap around)."""
    if dtype.name not in _C_NAMES:
        return
    info = (0, 1) if dtype.is_bool else (int(np.iinfo(dtype.numpy_dtype).min), int(np.iinfo(dtype.numpy_dtype).max))
    name = _C_NAMES[dtype.name][0]
    if not info[0] <= low <= info[1]:
        raise RuntimeError(f"from is out of bounds for {name}")
    if not info[0] <= high - 1 <= info[1]:
        raise RuntimeError(f"to - 1 is out of bounds for {name}")


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1."""
    check_layout(layout, "randperm")
    gen = generator or _random.default_generator
    trace = active_tracer()
    if trace is not None:  # a host shuffle: baked into the graph, so later calls run eagerly
        _random._traced(gen, "graphc.randperm()")
        rng = np.random.default_rng(trace.draw_seed(gen) if trace.pin else gen.next_seed())
    else:
        rng = gen.numpy_rng()
    arr = rng.permutation(n).astype((_dtype_arg(dtype) or dt.int64).numpy_dtype)
    return _finish(_from_array(arr, _dtype_arg(dtype) or dt.int64), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, layout=None):
    """Normal random numbers of the given mean and std (numbers, or tensors giving the shape)."""
    check_layout(layout, "normal")
    _check_std(std)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        shape = (mean if isinstance(mean, Tensor) else std).shape
        return randn(tuple(shape), generator=generator) * std + mean
    return randn(tuple(size), generator=generator, dtype=dtype, device=device) * std + mean


def _check_std(std) -> None:
    """PyTorch refuses a negative std (graphc would flip the samples' sign); a tensor std is
    checked when it has values (not on tracers)."""
    if isinstance(std, Tensor):
        if std._data is not None and bool((std < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else float."""
    check_layout(layout, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        dtype = dt.int64 if all(isinstance(v, int) for v in vals) else dt.default_float()
    dtype = _dtype_arg(dtype)
    if dtype is dt.int64 and not all(isinstance(v, int) for v in vals):
        # PyTorch reads float bounds and step as int64 first (toward zero): arange(0, 3, 1.5,
        # dtype=int64) is [0, 1, 2], and a step of 0.5 is a zero step
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError(f"arange: step must be nonzero (the step {vals[2]} is 0 as {dtype})")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start {start}, end {end}, step {step})"
        )
    n = max(0, int(np.ceil((end - start) / step)))
    if dtype.is_integer:  # (the other integer dtypes count from the float arguments, PyTorch's way)
        start, step = int(start), int(step)
    if active_tracer() is not None:
        ramp = apply("iota", [], shape=(n,), dtype=dtype, axis=0)
        return ramp * step + start if (start, step) != (0, 1) else ramp
    if dtype.is_integer:
        arr = (start + np.arange(n, dtype=np.int64) * step).astype(dtype.numpy_dtype)
    else:
        arr = (start + np.arange(n, dtype=np.float64) * step).astype(dtype.numpy_dtype)
    return _finish(_from_array(arr[:n], dtype), requires_grad, device)


def range_(start, end, step=1, *, dtype=None, device=None, layout=None, pin_memory=False):
    check_layout(layout, "range")
    return arange(start, end + step / 2 if step > 0 else end - abs(step) / 2, step, dtype=dtype or dt.default_float(), device=device)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """``steps`` evenly spaced values from start to end, inclusive."""
    check_layout(layout, "linspace")
    dtype = _float_default(dtype)
    arr = np.linspace(float(start), float(end), int(steps), dtype=np.float64).astype(dtype.numpy_dtype)
    return _finish(_from_array(arr, dtype), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, layout=None, pin_memory=False):
    check_layout(layout, "logspace")
    dtype = _float_default(dtype)
    arr = np.power(base, np.linspace(start, end, steps)).astype(dtype.numpy_dtype)
    return _finish(_from_array(arr, dtype), False, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """The identity matrix (n x m)."""
    check_layout(layout, "eye")
    m = n if m is None else m
    dtype = _float_default(dtype)
    return _finish(_from_array(np.eye(n, m, dtype=dtype.numpy_dtype), dtype), requires_grad, device)


def _like(name, fn):
    def like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None, pin_memory=False):
        check_layout(layout, name)
        fmt = _like_format(input, memory_format, name)
        dtype = _dtype_arg(dtype) or input._dtype
        device = device if device is not None else input._device
        return _formatted(tuple(input.shape), fmt, name, lambda shape: fn(shape, dtype, device, False), requires_grad)

    like.__name__ = name
    like.__doc__ = f"Like ``{name[:-5]}`` with the shape (and by default the dtype and device) of ``input``."
    return like


empty_like = _like("empty_like", lambda s, d, dev, rg: empty(s, dtype=d, device=dev, requires_grad=rg))
zeros_like = _like("zeros_like", lambda s, d, dev, rg: zeros(s, dtype=d, device=dev, requires_grad=rg))
ones_like = _like("ones_like", lambda s, d, dev, rg: ones(s, dtype=d, device=dev, requires_grad=rg))


def _like_format(input, memory_format, op):
    """The format a ``*_like`` result gets: ``preserve_format`` (the default) keeps ``input``'s."""
    fmt = check_memory_format(memory_format, op)
    return suggest_format(input) if fmt is preserve_format else fmt


def _check_float_like(name, dtype):
    if not dtype.is_floating_point:
        raise TypeError(f'"{name}" not implemented for \'{dtype.name.capitalize()}\': pass dtype=graphc.float')
    return dtype


rand_like = _like("rand_like", lambda s, d, dev, rg: rand(s, dtype=_check_float_like("rand_like", d), device=dev, requires_grad=rg))
randn_like = _like("randn_like", lambda s, d, dev, rg: randn(s, dtype=_check_float_like("randn_like", d), device=dev, requires_grad=rg))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None, pin_memory=False):
    check_layout(layout, "full_like")
    fmt = _like_format(input, memory_format, "full_like")
    dtype = _dtype_arg(dtype) or input._dtype
    device = device if device is not None else input._device
    make = lambda shape: full(shape, fill_value, dtype=dtype, device=device)  # noqa: E731
    return _formatted(tuple(input.shape), fmt, "full_like", make, requires_grad)


def randint_like(input, low, high=None, *, dtype=None, device=None, layout=None, pin_memory=False):
    check_layout(layout, "randint_like")
    return randint(low, high, tuple(input.shape), dtype=_dtype_arg(dtype) or input._dtype, device=device)


# Tensor.new_* methods: the tensor's dtype and device unless given.


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_tensor")
    return tensor(data, dtype=_dtype_arg(dtype) or self._dtype, device=device or self._device, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_empty")
    return empty(*size, dtype=_dtype_arg(dtype) or self._dtype, device=device or self._device, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_zeros")
    return zeros(*size, dtype=_dtype_arg(dtype) or self._dtype, device=device or self._device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_ones")
    return ones(*size, dtype=_dtype_arg(dtype) or self._dtype, device=device or self._device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_full")
    return full(size, fill_value, dtype=_dtype_arg(dtype) or self._dtype, device=device or self._device, requires_grad=requires_grad)
