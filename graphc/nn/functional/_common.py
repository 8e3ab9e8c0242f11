"""Argument helpers shared by the ``graphc.nn.functional`` modules."""

from __future__ import annotations

import warnings

from ir import dtypes as dt
from ir.errors import DTypeError
from ir.ops.grad import V
from ir.ops.reduce import extreme_pick, taps_inside

from ... import _functional as _F
from ..._dispatch import apply, constant
from ..._functional._common import _TORCH_NAMES
from ..._inplace import _inplace_result
from ..._tensor import Tensor
from ...autograd.engine import _EagerBuilder
from ...autograd.grad_mode import no_grad


def _arg(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _ntuple(x, n: int, name: str = "argument") -> tuple:
    if isinstance(x, (list, tuple)):
        x = tuple(int(v) for v in x)
        if len(x) == 1:
            return x * n
        if len(x) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {x}")
        return x
    return (int(x),) * n


def _pair(x, name: str = "argument") -> tuple:
    return _ntuple(x, 2, name)


def _window_argmax(win: Tensor, out: Tensor, axis: int, padded: dict | None = None) -> Tensor:
    """The offset along ``axis`` of the element each max-pooling window picks: its value is
    ``out`` (``amax(win, axis)``) and its gradient goes there (the ``ties="first"`` rule:
    the first maximum, or the last NaN, as PyTorch's pooling kernels), never a tap that
    ``padded`` (the amax's ``window_padding`` attribute, if any) marks as padding. Not
    differentiable."""
    with no_grad():
        b = _EagerBuilder(win._device)
        valid = None
        if padded:
            valid = V(b, constant(taps_inside(padded["window_padding"], tuple(win.shape), axis), dt.bool_, win._device))
        pick = extreme_pick(V(b, win.detach()), V(b, out.detach()), (axis,), valid).x
        return apply("argmax", [_F._to(pick, dt.uint8)], axes=(axis,), keepdim=False)




def _torch_dtype_name(dtype) -> str:
    """A dtype as PyTorch's C++ errors name it (Double, Long, ...), for messages that match its."""
    return _TORCH_NAMES.get(dtype.name, dtype.name)


def _reshape(x: Tensor, shape) -> Tensor:
    return _F.reshape(x, tuple(shape))


def _scalar_like(value, x: Tensor) -> Tensor:
    return constant(value, x._dtype, x._device)


def _inplace(x: Tensor, result: Tensor, op: str) -> Tensor:
    return _inplace_result(x, result, op)


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean' (or 'sum', 'none') instead.",
        UserWarning,
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return _F.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_same_dtype(op: str, x: Tensor, w: Tensor) -> None:
    if x._dtype is not w._dtype:
        raise DTypeError(
            f"{op}: Input type ({x._dtype}) and weight type ({w._dtype}) should be the same; "
            f"convert one of them, e.g. input.to({w._dtype}) or module.to({x._dtype})"
        )


def _maybe_inplace(x: Tensor, out: Tensor, inplace: bool, op: str) -> Tensor:
    return _inplace(x, out, op + "_") if inplace else out
