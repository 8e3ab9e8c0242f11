"""What a kernel launch hands to Triton: element types, and arrays as tensor arguments.

Triton's launcher asks a tensor argument for ``data_ptr()`` and ``dtype`` (Triton 3.4-3.9
read ``str(arg.dtype).split('.')[-1]`` and canonicalize it, so a plain name such as
``"bfloat16"`` is enough). Under the interpreter it also copies each argument's storage to the
host before a launch and back after it, through ``untyped_storage()``, ``new_empty`` and
``set_``: :class:`HostArray` answers that protocol for numpy buffers without copying (they
already are host memory) and :class:`InterpretedDeviceArg` for device arrays (a real copy in
and out, for debugging on a GPU machine with ``TRITON_INTERPRET=1``, and for the
device-memory tests without a GPU).
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt

from . import driver as D

# ----------------------------------------------------------------------------
# element types

def storage_name(d: dt.DType) -> str:
    """The element type a device buffer of graphc dtype ``d`` is stored in."""
    return d.name  # bool is one byte; bfloat16 is real bfloat16 on the device


STORAGE_ITEMSIZE = {
    "bool": 1,
    "uint8": 1,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
}

# The name Triton's launcher sees (it canonicalizes e.g. "float32" -> fp32). Bool buffers
# are passed as uint8: generated kernels compare loads with 0 and store 0/1.
TRITON_NAME = {"bool": "uint8"}


def triton_pointer_type(d: dt.DType, interpreter: bool = False) -> str:
    """The Triton signature type of a pointer to a buffer of graphc dtype ``d`` ("*fp32")."""
    name = d.numpy_dtype.name if interpreter else storage_name(d)
    name = TRITON_NAME.get(name, name)
    return "*" + _canonical(name)


def _canonical(name: str) -> str:
    return {
        "uint8": "u8",
        "int8": "i8",
        "int16": "i16",
        "int32": "i32",
        "int64": "i64",
        "float16": "fp16",
        "bfloat16": "bf16",
        "float32": "fp32",
        "float64": "fp64",
        "bool": "u8",
    }[name]



# ----------------------------------------------------------------------------
# arrays as interpreter arguments

class _HostStorage:
    """What the interpreter takes for a tensor's storage: host memory already."""

    __slots__ = ("ptr", "keep")

    def __init__(self, ptr, keep):
        self.ptr = ptr
        self.keep = keep

    def data_ptr(self) -> int:
        return self.ptr

    def cpu(self):
        return self

    def copy_(self, other):  # same memory: nothing to copy back
        return self


class HostArray:
    """A numpy array as a Triton (interpreter) kernel argument, without a copy.

    Triton's interpreter copies each tensor argument's storage to the host
    before a launch and back after it; here the memory is host memory, so
    ``untyped_storage().cpu()`` is the storage itself and the copies are no-ops.
    """

    __slots__ = ("array", "dtype", "_ptr")

    def __init__(self, array: np.ndarray):
        self.array = array
        name = array.dtype.name
        self.dtype = TRITON_NAME.get(name, name)
        self._ptr = array.__array_interface__["data"][0]

    def data_ptr(self) -> int:
        return self._ptr

    def untyped_storage(self):
        return _HostStorage(self._ptr, self.array)

    def new_empty(self, *args, **kwargs):
        return HostArray(self.array)

    def set_(self, storage, offset=0, size=None, stride=None):
        return self

    def storage_offset(self) -> int:
        return 0

    def size(self):
        return tuple(self.array.shape)

    def stride(self):
        item = self.array.itemsize
        return tuple(s // item for s in self.array.strides)

    def copy_(self, other):
        return self

    def __repr__(self) -> str:
        return f"HostArray({self.dtype}{list(self.array.shape)})"


class _DeviceStorage:
    """A device block as the interpreter's "storage": ``cpu()`` copies it to the host,
    ``copy_(host)`` writes it back."""

    __slots__ = ("block",)

    def __init__(self, block):
        self.block = block

    def data_ptr(self) -> int:
        return self.block.ptr

    def cpu(self):
        buf = np.empty(self.block.size, dtype=np.uint8)
        D.driver().dtoh(buf, self.block.ptr)
        return _HostStorage(buf.ctypes.data, buf)

    def copy_(self, host):
        D.driver().htod(self.block.ptr, host.keep)
        return self


class _HostShell:
    """The host-side argument the interpreter builds with ``new_empty`` + ``set_``."""

    __slots__ = ("dtype", "itemsize", "ptr", "storage")

    def __init__(self, dtype, itemsize):
        self.dtype, self.itemsize, self.ptr, self.storage = dtype, itemsize, 0, None

    def set_(self, storage, offset=0, size=None, stride=None):
        self.storage = storage
        self.ptr = storage.data_ptr() + offset * self.itemsize
        return self

    def data_ptr(self) -> int:
        return self.ptr

    def untyped_storage(self):
        return self.storage


class InterpretedDeviceArg:
    """A :class:`DeviceArray` as an argument of an *interpreted* kernel: Triton's interpreter
    copies its block to the host before the launch and back after it (debugging on a GPU
    machine with TRITON_INTERPRET=1, and the device-memory tests without a GPU)."""

    __slots__ = ("a", "dtype")

    def __init__(self, a):
        self.a = a
        self.dtype = a.dtype

    def data_ptr(self) -> int:
        return self.a.data_ptr()

    def untyped_storage(self):
        return _DeviceStorage(self.a.block)

    def new_empty(self, *args, **kwargs):
        return _HostShell(self.dtype, self.a.itemsize)

    def storage_offset(self) -> int:
        return self.a.offset

    def size(self):
        return self.a.shape

    def stride(self):
        return self.a.estrides

