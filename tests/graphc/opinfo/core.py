"""The spec (:class:`OpSpec`), sample plumbing (:class:`S`, :class:`NC`, ``to_graphc``,
``to_numpy``, ``make``) and the dtypes and tolerances every table module uses."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import graphc

f16, f32, f64 = graphc.float16, graphc.float32, graphc.float64
i32, i64, u8, b8 = graphc.int32, graphc.int64, graphc.uint8, graphc.bool

FLOAT = (f32, f64)
FLOAT16 = (f16, f32, f64)
INT = (i32, i64)

# (rtol, atol) per dtype. float16 results are rounded to 11 bits (2**-11 ~ 4.9e-4).
TOLERANCES = {
    f16: (2e-3, 2e-3),
    f32: (1e-5, 1e-5),
    f64: (1e-7, 1e-7),
}

_NP = {f16: np.float16, f32: np.float32, f64: np.float64, i32: np.int32, i64: np.int64, u8: np.uint8, b8: np.bool_}


# ----------------------------------------------------------------------------
# samples


class NC:
    """An argument stored non-contiguously: ``"T"`` (last two dims stored swapped,
    so the tensor is a transposed view) or ``"step"`` (every other element of a
    buffer twice as long in the last dim)."""

    def __init__(self, arr, how: str = "T"):
        self.arr = np.asarray(arr)
        self.how = how

    def __repr__(self):
        return f"NC({self.how}, {self.arr.shape})"


def layout(arr: np.ndarray, how: str) -> np.ndarray:
    """A fresh array equal to ``arr`` in the non-contiguous layout ``how``."""
    if how == "T":
        assert arr.ndim >= 2
        out = np.ascontiguousarray(np.swapaxes(arr, -1, -2)).swapaxes(-1, -2)
    elif how == "step":
        assert arr.ndim >= 1
        buf = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
        buf[..., ::2] = arr
        out = buf[..., ::2]
    else:
        raise ValueError(how)
    assert not out.flags.c_contiguous or out.size <= 1
    return out


@dataclass
class S:
    """One sample: positional and keyword arguments, a description, and whether
    gradcheck runs on it (``grad``); ``dtype`` overrides the spec's out dtype."""

    args: tuple
    kwargs: dict
    desc: str = ""
    grad: bool = True
    dtype: object = None

    def __init__(self, *args, desc="", grad=True, dtype=None, **kwargs):
        self.args, self.kwargs, self.desc, self.grad, self.dtype = args, kwargs, desc, grad, dtype


def to_graphc(obj, requires_grad: bool = False):
    """Sample arguments as graphc values (fresh tensors; float ones may require grad)."""
    if isinstance(obj, NC):
        t = graphc.from_numpy(layout(obj.arr, obj.how))
        assert not t.is_contiguous() or t.numel() <= 1
    elif isinstance(obj, np.ndarray):
        t = graphc.from_numpy(obj.copy())
    elif isinstance(obj, list) and obj and all(isinstance(o, (np.ndarray, NC)) for o in obj):
        return [to_graphc(o, requires_grad) for o in obj]
    elif isinstance(obj, tuple):
        return tuple(to_graphc(o, requires_grad) for o in obj)
    elif isinstance(obj, dict):
        return {k: to_graphc(v, requires_grad) for k, v in obj.items()}
    else:
        return obj
    if requires_grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def to_numpy(obj):
    """Sample arguments for the reference: float arrays in float64, the rest as given."""
    if isinstance(obj, NC):
        obj = obj.arr
    if isinstance(obj, np.ndarray):
        return obj.astype(np.float64) if obj.dtype.kind == "f" else obj.copy()
    if isinstance(obj, list) and obj and all(isinstance(o, (np.ndarray, NC)) for o in obj):
        return [to_numpy(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(to_numpy(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    return obj


def tensors_in(obj) -> list:
    """Every tensor in a nested argument structure, in order."""
    if isinstance(obj, graphc.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in tensors_in(o)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in tensors_in(v)]
    return []


def replace_tensors(obj, it):
    """``obj`` with its tensors replaced, in order, by the items of ``it``."""
    if isinstance(obj, graphc.Tensor):
        return next(it)
    if isinstance(obj, list):
        return [replace_tensors(o, it) for o in obj]
    if isinstance(obj, tuple):
        return tuple(replace_tensors(o, it) for o in obj)
    if isinstance(obj, dict):
        return {k: replace_tensors(v, it) for k, v in obj.items()}
    return obj


def as_list(out) -> list:
    """An op's results as a list (one result, or a tuple/list of them)."""
    return list(out) if isinstance(out, (list, tuple)) else [out]


def make(rng, shape, dtype, low=-2.0, high=2.0, away=0.0) -> np.ndarray:
    """Random values of ``dtype`` in [low, high]; with ``away``, |x| >= away (a symmetric
    range is assumed) to keep clear of kinks and poles."""
    shape = tuple(shape)
    if dtype is b8:
        return np.asarray(rng.random(shape) < 0.5)
    npd = _NP[dtype]
    if dtype.is_floating_point:
        if away:
            x = rng.uniform(away, high, shape) * rng.choice([-1.0, 1.0], shape)
        else:
            x = rng.uniform(low, high, shape)
        return np.asarray(x, dtype=npd)
    lo, hi = math.ceil(low), math.floor(high)
    if dtype is u8:
        lo = max(lo, 0)
    if away:
        x = rng.integers(max(1, math.ceil(away)), hi + 1, shape) * rng.choice([-1, 1], shape)
    else:
        x = rng.integers(lo, hi + 1, shape)
    return np.asarray(x, dtype=npd)


def scalar(dtype, value):
    """A Python scalar of ``dtype``'s kind (weak in type promotion)."""
    if dtype is b8:
        return bool(value)
    return float(value) if dtype.is_floating_point else int(value)


# ----------------------------------------------------------------------------
# the spec


def SAME(d):
    return d


def BOOL(d):
    return b8


def FLOATIFY(d):
    return d if d.is_floating_point else f32


def INT64IFY(d):
    return d if d.is_floating_point else i64


def I64(d):
    return i64


@dataclass
class OpSpec:
    name: str
    op: Callable
    ref: Callable
    samples: Callable  # (rng, dtype) -> list[S]
    dtypes: tuple = FLOAT
    differentiable: bool = True
    out_dtype: Callable = SAME  # input dtype -> result dtype (or a tuple, one per output)
    tol: dict = field(default_factory=dict)  # per-dtype (rtol, atol) overrides
    inplace: str | None = None  # name of the Tensor method that does it in place
    method: str | None = None  # name of the Tensor method that does it out of place

    def tolerance(self, dtype):
        return self.tol.get(dtype, TOLERANCES.get(dtype, (0, 0)))

    def sample_list(self, dtype) -> list:
        rng = np.random.default_rng(zlib.crc32(f"{self.name}/{dtype.name}".encode()))
        return self.samples(rng, dtype)
