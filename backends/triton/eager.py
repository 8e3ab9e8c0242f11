"""Eager single ops on cuda tensors: views are metadata; every other op runs a one-node program.

The one-node graph goes through the same fusion and code generation as compiled functions, and
its program is cached per op signature (op, attributes, input shapes and dtypes) in a bounded
LRU cache, so a warm eager op costs a dictionary lookup and one launch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import DeviceError, UnsupportedError
from ir.graph import Graph, _canonical
from ir.passes.fusion import fuse

from .codegen import compile_schedule
from .driver import device_memory
from .memory import DeviceArray, from_host, view
from .policy import TritonFusionPolicy

OP_CACHE_SIZE = 4096  # programs kept; the least recently used goes first
_op_cache: OrderedDict = OrderedDict()
_op_cache_lock = threading.Lock()
_policy = TritonFusionPolicy()


def _array_dtype(a) -> dt.DType:
    if isinstance(a, DeviceArray):
        return dt.by_name(a.storage)
    return dt.from_numpy(np.asarray(a).dtype)


def _program_for(opdef, arrays, in_dtypes, attrs):
    clean = {k: v for k, v in attrs.items() if not k.startswith("_")}
    key = (opdef.name, _canonical(clean), tuple((tuple(a.shape), d.name) for a, d in zip(arrays, in_dtypes)))
    with _op_cache_lock:
        program = _op_cache.get(key)
        if program is not None:
            _op_cache.move_to_end(key)
            return program
    g = Graph(f"eager_{opdef.name}")
    ins = [g.add_input(tuple(a.shape), d) for a, d in zip(arrays, in_dtypes)]
    g.outputs.append(g.add(opdef.name, ins, **clean))
    program = compile_schedule(fuse(g, policy=_policy), g.name, quiet=True)
    with _op_cache_lock:
        _op_cache[key] = program
        while len(_op_cache) > OP_CACHE_SIZE:
            _op_cache.popitem(last=False)
    return program


def run_op(opdef, arrays, attrs, shape, dtype):
    """Run one primitive eagerly on device arrays (host arrays are uploaded first)."""
    if not device_memory():
        raise DeviceError("CUDA tensors are not available under TRITON_INTERPRET=1 (host buffers only)")
    arrays = [a if isinstance(a, DeviceArray) else from_host(np.asarray(a)) for a in arrays]
    kind = opdef.kind
    if kind == ops_table.VIEW:
        return view(arrays[0], opdef.name, attrs, shape)
    if kind == ops_table.SOURCE:
        if opdef.name == "constant":
            return from_host(np.asarray(attrs["value"], dtype=dtype.numpy_dtype), dtype)
        raise UnsupportedError(f"{opdef.name}: an input node has no eager implementation")
    program = _program_for(opdef, arrays, [_array_dtype(a) for a in arrays], attrs)
    (out,) = program(arrays)
    return out
