"""The matmul row: batched matrix products (the frontend lowers 1-d and broadcasting forms)."""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError, DTypeNotImplementedError, ShapeError
from .core import MATMUL, OpDef, broadcast_shapes, fmt_shape, register
from .grad import sum_to


def _shape_matmul(op, inputs, attrs):
    a, b = inputs
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ShapeError(f"{op.name}: primitive needs 2-d or batched inputs, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"matmul: shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)} cannot be multiplied (the last dim of "
            f"the first, {a.shape[-1]}, must equal the second-to-last dim of the second, {b.shape[-2]})"
        )
    try:
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    except ShapeError:
        raise ShapeError(
            f"matmul: the batch dims {fmt_shape(a.shape[:-2])} of {fmt_shape(a.shape)} and {fmt_shape(b.shape[:-2])} "
            f"of {fmt_shape(b.shape)} cannot be broadcast (sizes are aligned from the right; each pair must be equal "
            "or one of them 1)"
        ) from None
    return batch + (a.shape[-2], b.shape[-1])


def _dtype_matmul(op, inputs, attrs):
    a, b = inputs
    if a.dtype is not b.dtype:
        raise DTypeError(f"matmul: expected both inputs to have the same dtype, got {a.dtype} and {b.dtype}")
    if a.dtype.is_bool:
        raise DTypeNotImplementedError("matmul: not defined for bool inputs")
    return a.dtype


def _np_matmul(arrays, attrs, shape, dtype):
    return np.matmul(*arrays)


def _matmul_grad(n, g):
    return [
        sum_to(g.op("matmul", n[1].mT), n.in_shapes[0]) if n.needs(0) else None,
        sum_to(n[0].mT.op("matmul", g), n.in_shapes[1]) if n.needs(1) else None,
    ]


register(OpDef("matmul", MATMUL, 2, _shape_matmul, _dtype_matmul, saves=(0, 1), grad=_matmul_grad,
               grad_name="MmBackward0", numpy=_np_matmul))
