"""Argument handling shared by every functional module: PyTorch's dtype promotion with weak
Python scalars, operands, ``out=``, and the cast that records an IR op only when needed."""

from __future__ import annotations

import re

import numpy as np

from ir import dtypes as dt
from ir.errors import AutogradError, DTypeError, DTypeNotImplementedError, ShapeError
from ir.ops import fmt_shape

from .._dispatch import apply, constant
from .._factories import tensor
from .._grad_mode import is_grad_enabled
from .._inplace import copy_
from .._tensor import Tensor

Number = (int, float, bool, complex)
_WEAK = frozenset((int, float))  # Python numbers that take a float tensor's dtype



def _device_of(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x._device
    return None


def _to(x: Tensor, dtype: dt.DType) -> Tensor:
    """Cast (recorded as an IR op) when the dtype differs."""
    if x._dtype is dtype:
        return x
    if x._data is None and hasattr(x.__class__, "weak_scalar"):  # a traced Python number
        cast = x._trace.cast_scalar(x, dtype)
        if cast is not None:
            return cast
    return apply("cast", [x], dtype=dtype)


def _operand(x, dtype: dt.DType, device) -> Tensor:
    if isinstance(x, Tensor):
        return _to(x, dtype)
    if isinstance(x, (list, tuple)):
        return tensor(x, dtype=dtype, device=device)
    if not isinstance(x, Number) and not hasattr(x, "dtype"):
        raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")
    return constant(x, dtype, device)


def _promote(*xs) -> tuple:
    """Operands converted to their common PyTorch result dtype."""
    if len(xs) == 2:  # the common cases of every binary op, decided without result_type
        a, b = xs
        if isinstance(a, Tensor):
            d = a._dtype
            if isinstance(b, Tensor):
                if b._dtype is d:
                    return xs, d
            elif b.__class__ in _WEAK and d.category == dt.FLOATING and not hasattr(a.__class__, "weak_scalar"):
                return (a, constant(b, d, a._device)), d  # a float tensor and a Python number
    converted = []
    for x in xs:
        if isinstance(x, (list, tuple, np.ndarray)):
            x = tensor(x)
        converted.append(x)
    dtype = dt.result_type(*converted)
    device = _device_of(*converted)
    return tuple(_operand(x, dtype, device) for x in converted), dtype


def _promote_float(*xs) -> tuple:
    """Operands of an op whose result is floating even for integer inputs (true division,
    xlogy, copysign, atan2...), each converted straight to that result dtype.

    PyTorch casts every operand from its own dtype to the float one. Promoting to the common
    integer dtype first (as :func:`_promote` does) wraps a number or 0-d tensor that dtype
    cannot hold: ``uint8_tensor / -2`` became ``4 / 254`` and ``int32_tensor / 2**40`` a
    division by zero."""
    converted = [tensor(x) if isinstance(x, (list, tuple, np.ndarray)) else x for x in xs]
    dtype = dt.result_type(*converted)
    if not dtype.is_differentiable:
        dtype = dt.default_float()
    device = _device_of(*converted)
    return tuple(_operand(x, dtype, device) for x in converted), dtype


def _with_zero_grad(result: Tensor, *inputs) -> Tensor:
    """``result``, with the ``inputs`` (tensors that broadcast to it) joined to its graph at a
    zero gradient: for outputs whose PyTorch backward gives an input zeros (a rounded quotient,
    addmm's input at beta=0) where graphc's formula does not read the input at all. A ``where``
    that never takes the input: its values (NaN, inf) never reach the result."""
    needs = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not needs or not is_grad_enabled():
        return result
    never = apply("full", [], shape=tuple(result.shape), dtype=dt.bool_, value=False, _device=result._device)
    for t in needs:
        result = apply("where", [never, _to(t, result._dtype), result])
    return result


_TORCH_NAMES = {
    "float64": "Double", "float32": "Float", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
    "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
}


def _require_float(x: Tensor, kernel: str) -> None:
    """Refuse an integer or bool ``x`` as PyTorch's float-only kernels do: a
    ``NotImplementedError`` ``"gelu" not implemented for 'Long'`` (``kernel`` names the op)."""
    d = x._dtype
    if not (d.is_floating_point or d.is_complex):
        raise DTypeNotImplementedError(f'"{kernel}" not implemented for \'{_TORCH_NAMES.get(d.name, d.name)}\'')


def _float_of(x: Tensor) -> Tensor:
    """Integer and bool tensors become the default float (as ``torch.exp(int_tensor)`` does)."""
    if x._dtype.is_differentiable:  # floating or complex
        return x
    return _to(x, dt.default_float())


_HALF = (dt.float16, dt.bfloat16)


def _in_float32(x: Tensor) -> tuple[Tensor, object]:
    """``(x in float32, its dtype)`` for a float16/bfloat16 ``x``, else ``(x, None)``.

    PyTorch computes reductions and normalizations of half-precision tensors in float32 (its
    "opmath") and rounds only the result: in float16 a sum of squares overflows once |x| > 256
    (layer_norm of [300, -300, 0, 1] came out all zeros, var inf) and a sum of 60000s at two
    terms. Callers compute with the first and round their result back with :func:`_back`."""
    if x._dtype in _HALF:
        return _to(x, dt.float32), x._dtype
    return x, None


def _back(result: Tensor, dtype) -> Tensor:
    return result if dtype is None else _to(result, dtype)


def _write_out(out, result: Tensor) -> Tensor:
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, got {type(out).__name__}")
    if (result.requires_grad or out.requires_grad) and is_grad_enabled():
        _out_grad_error(out, result)
    if tuple(out.shape) != tuple(result.shape):
        if out.numel() != 0:
            raise ShapeError(
                f"out=: the output has shape {fmt_shape(out.shape)} but the result has shape "
                f"{fmt_shape(result.shape)}"
            )
        out._data = result._data.astype(out._dtype.numpy_dtype)
        return out
    if result._dtype.category > out._dtype.category:  # (copy_ would narrow; out= may not, as in PyTorch)
        raise DTypeError(
            f"out=: result type {result._dtype.name.capitalize()} can't be cast to the desired output type "
            f"{out._dtype.name.capitalize()} (the result has shape {fmt_shape(result.shape)})"
        )
    copy_(out, result)
    return out


def _out_grad_error(out: Tensor, result: Tensor) -> None:
    """PyTorch's refusal of ``out=`` while autograd records an input (or ``out``) that
    requires grad: the written ``out`` would carry a history its caller did not ask for (and
    that its other users do not expect), so the op must be called without ``out=``."""
    fn = result.grad_fn
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"Backward\d*$", "", fn.name())).lower() if fn else "out="
    raise AutogradError(
        f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of the "
        f"arguments requires grad (result {fmt_shape(result.shape)} {result._dtype}, out "
        f"{fmt_shape(out.shape)} {out._dtype}). Call it without out=, or under graphc.no_grad()."
    )


def _tensor_arg(x, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
