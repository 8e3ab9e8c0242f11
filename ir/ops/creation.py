"""Rows that make values from nothing: graph inputs, constants, ``full``, ``iota`` and random numbers."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .core import CREATION, RANDOM, SOURCE, OpDef, dtype_attr, register, shape_of_attr


def _np_constant(arrays, attrs, shape, dtype):
    return np.asarray(attrs["value"], dtype=dtype.numpy_dtype)


def _np_input(arrays, attrs, shape, dtype):
    raise ShapeError("an input node has no implementation; bind a value to it")


def _np_full(arrays, attrs, shape, dtype):
    return np.full(shape, attrs["value"], dtype=dtype.numpy_dtype)


def _np_iota(arrays, attrs, shape, dtype):
    axis = attrs["axis"]
    ramp_shape = [1] * len(shape)
    ramp_shape[axis] = shape[axis]
    ramp = np.arange(shape[axis], dtype=dtype.numpy_dtype).reshape(ramp_shape)
    return np.ascontiguousarray(np.broadcast_to(ramp, shape))


def _generator(arrays):
    seed = int(np.asarray(arrays[0]))
    return np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)


def _storage(dtype):
    return dtype.numpy_dtype if dtype.numpy_dtype in (np.float32, np.float64) else np.float32


def _np_random_uniform(arrays, attrs, shape, dtype):
    return _generator(arrays).random(shape, dtype=_storage(dtype))


def _np_random_normal(arrays, attrs, shape, dtype):
    return _generator(arrays).standard_normal(shape, dtype=_storage(dtype))


register(OpDef("input", SOURCE, 0, shape_of_attr, dtype_attr, ("shape", "dtype", "name"), differentiable=False,
               numpy=_np_input))
register(OpDef("constant", SOURCE, 0, shape_of_attr, dtype_attr, ("shape", "dtype", "value"), differentiable=False,
               numpy=_np_constant))
register(OpDef("full", CREATION, 0, shape_of_attr, dtype_attr, ("shape", "dtype", "value"), differentiable=False,
               numpy=_np_full))
register(OpDef("iota", CREATION, 0, shape_of_attr, dtype_attr, ("shape", "dtype", "axis"), differentiable=False,
               numpy=_np_iota, doc="Each element is its index along attrs['axis']."))
register(OpDef("random_uniform", RANDOM, 1, shape_of_attr, dtype_attr, ("shape", "dtype"), differentiable=False,
               numpy=_np_random_uniform,
               doc="Uniform [0, 1) numbers; input 0 is the int64 seed, so each call can draw afresh."))
register(OpDef("random_normal", RANDOM, 1, shape_of_attr, dtype_attr, ("shape", "dtype"), differentiable=False,
               numpy=_np_random_normal, doc="Standard normal numbers; input 0 is the int64 seed."))
