"""Arrays of the Triton backend, in either mode, and moving values between host and device.

``gpu`` mode: a :class:`DeviceArray` is a strided view of a device block (:mod:`.driver`):
pointer, shape, strides in elements, offset, element type. Views are metadata only. It
answers what Triton's launcher asks of a tensor argument (``data_ptr()``, ``dtype``) and quacks
like a numpy array where graphc's frontend needs it to.

``interpreter`` mode: values are plain numpy arrays (graphc's CPU tensors' own buffers, no
copy), wrapped at a launch in :class:`~.args.HostArray`.

The functions below (``empty``, ``view``, ``constant``, ``copy_into``, ``kernel_arg``...) work
on both kinds; generated host programs call them.
"""

from __future__ import annotations

import numpy as np

from backends.numpy import kernels as numpy_kernels
from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.ops.movement import contiguous_strides, reshape_strides

from .args import STORAGE_ITEMSIZE, TRITON_NAME, HostArray, InterpretedDeviceArg, storage_name
from .driver import Block, device_memory, driver, interpreting
from .strided_copy import launch_copy


class _Flags:
    __slots__ = ("c_contiguous", "writeable")

    def __init__(self, c_contiguous: bool):
        self.c_contiguous = c_contiguous
        self.writeable = True


def is_contiguous(shape, strides) -> bool:
    """Row-major dense (strides of size-1 dims do not matter)."""
    expect = 1
    for s, st in zip(reversed(tuple(shape)), reversed(tuple(strides))):
        if s == 0:
            return True
        if s != 1 and st != expect:
            return False
        expect *= s
    return True


class DeviceArray:
    """A strided view of device memory: ``(block, offset, shape, strides in elements, dtype)``.

    ``dtype`` is the element type's name as Triton's launcher reads it
    (``"float32"``, ``"bfloat16"``; bool buffers say ``"uint8"``) and
    ``storage`` the real element type. It quacks like a numpy array where
    graphc's frontend needs it to (``shape``, ``strides`` in bytes,
    ``itemsize``, ``flags``, ``np.copyto`` into it, ``np.asarray`` of it,
    which copies to the host).
    """

    __slots__ = ("block", "offset", "shape", "estrides", "storage", "dtype", "__weakref__")

    def __init__(self, block: Block, offset: int, shape, estrides, storage: str):
        self.block = block
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.estrides = tuple(int(s) for s in estrides)
        self.storage = storage
        self.dtype = TRITON_NAME.get(storage, storage)

    # -- creation ------------------------------------------------------------
    @classmethod
    def empty(cls, shape, storage: str) -> "DeviceArray":
        shape = tuple(int(s) for s in shape)
        n = 1
        for s in shape:
            n *= s
        block = Block(n * STORAGE_ITEMSIZE[storage])
        return cls(block, 0, shape, contiguous_strides(shape), storage)

    # -- numpy-like metadata --------------------------------------------------------
    @property
    def itemsize(self) -> int:
        return STORAGE_ITEMSIZE[self.storage]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def strides(self) -> tuple:
        """Strides in bytes, as numpy reports them (``estrides`` holds elements)."""
        return tuple(s * self.itemsize for s in self.estrides)

    @property
    def flags(self) -> _Flags:
        return _Flags(self.is_contiguous())

    @property
    def base(self):
        return None

    def is_contiguous(self) -> bool:
        return is_contiguous(self.shape, self.estrides)

    def data_ptr(self) -> int:
        return self.block.ptr + self.offset * self.itemsize

    def may_share_memory(self, other) -> bool:
        return isinstance(other, DeviceArray) and other.block is self.block

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"DeviceArray({self.storage}{list(self.shape)}, strides={list(self.estrides)}, offset={self.offset})"

    # -- views -----------------------------------------------------------------------
    def as_strided(self, shape, estrides, offset=None) -> "DeviceArray":
        return DeviceArray(self.block, self.offset if offset is None else offset, shape, estrides, self.storage)

    def reshape(self, shape) -> "DeviceArray":
        shape = tuple(int(s) for s in shape)
        if -1 in shape:
            known = 1
            for s in shape:
                if s != -1:
                    known *= s
            shape = tuple(self.size // max(known, 1) if s == -1 else s for s in shape)
        strides = reshape_strides(self.shape, self.estrides, shape)
        if strides is None:
            return self.contiguous().reshape(shape)
        return self.as_strided(shape, strides)

    def contiguous(self) -> "DeviceArray":
        if self.is_contiguous():
            return self
        out = DeviceArray.empty(self.shape, self.storage)
        copy_into(out, self)
        return out

    # -- copies ------------------------------------------------------------------------
    def to_host(self) -> np.ndarray:
        """The values as a fresh numpy array (graphc's CPU storage: bfloat16 as float32)."""
        src = self.contiguous()
        if self.storage == "bfloat16":
            bits = np.empty(self.shape, dtype=np.uint16)
            if bits.size:
                driver().dtoh(bits, src.data_ptr())
            return (bits.astype(np.uint32) << 16).view(np.float32)
        out = np.empty(self.shape, dtype=np.dtype(self.storage if self.storage != "bool" else np.bool_))
        if out.size:
            driver().dtoh(out, src.data_ptr())
        return out

    def copy_(self, src) -> "DeviceArray":
        """Write ``src`` (a DeviceArray or a numpy array, broadcast and cast) into this view."""
        if not isinstance(src, DeviceArray):
            src = from_host(np.asarray(src))
        copy_into(self, src)
        return self

    def copy(self) -> "DeviceArray":
        out = DeviceArray.empty(self.shape, self.storage)
        copy_into(out, self)
        return out

    def fill(self, value) -> None:
        copy_into(self, from_host(np.asarray(value, dtype=_host_dtype(self.storage))))

    def __iadd__(self, other):
        """``a += b`` on the device (the autograd engine accumulates ``.grad`` this way)."""
        if not isinstance(other, DeviceArray):
            other = from_host(np.asarray(other, dtype=_host_dtype(self.storage)))
        if tuple(other.shape) != self.shape:
            other = view(other, "expand", {"shape": self.shape}, self.shape)
        copy_kernel(self, other, accumulate=_ACCUMULATE.get(self.storage, "tl.int64"))
        return self

    # -- numpy interop ---------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        arr = self.to_host()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.copyto:
            dst, src = args[0], args[1]
            if kwargs.get("where", True) is not True:
                return NotImplemented
            if isinstance(dst, DeviceArray):
                dst.copy_(src)
                return None
            np.copyto(dst, src.to_host(), casting=kwargs.get("casting", "same_kind"))
            return None
        if func in (np.may_share_memory, np.shares_memory):
            a, b = args[0], args[1]
            return isinstance(a, DeviceArray) and isinstance(b, DeviceArray) and a.block is b.block
        return NotImplemented




# The type ``a += b`` adds in, by storage (half types add in float32, as PyTorch's opmath).
_ACCUMULATE = {"float16": "tl.float32", "bfloat16": "tl.float32", "float32": "tl.float32", "float64": "tl.float64"}


def _host_dtype(storage: str):
    return np.bool_ if storage == "bool" else (np.float32 if storage == "bfloat16" else np.dtype(storage))


# ----------------------------------------------------------------------------
# host <-> device


def _to_bf16_bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    return np.where(np.isnan(a), np.uint16(0x7FC0), out)


def from_host(array, dtype: dt.DType | None = None) -> DeviceArray:
    """A new device array holding ``array``'s values (``dtype``: graphc's dtype of them)."""
    a = np.asarray(array)
    if dtype is None:
        dtype = dt.from_numpy(a.dtype)
    if dtype.is_complex:
        raise UnsupportedError(f"the Triton backend does not support complex dtypes yet ({dtype}); keep complex tensors on the CPU")
    storage = storage_name(dtype)
    out = DeviceArray.empty(a.shape, storage)
    if a.size == 0:
        return out
    if storage == "bfloat16":
        host = _to_bf16_bits(a)
    else:
        host = np.ascontiguousarray(a, dtype=_host_dtype(storage))
    driver().htod(out.data_ptr(), host)
    return out


def to_host(array) -> np.ndarray:
    """``array``'s values as a numpy array (a copy for device arrays)."""
    if isinstance(array, DeviceArray):
        return array.to_host()
    return np.asarray(array)




# ----------------------------------------------------------------------------
# arrays of either mode: what generated host programs call

def empty(shape, dtype: dt.DType):
    """An uninitialized contiguous array of graphc dtype ``dtype`` for the current mode."""
    if not device_memory():
        return np.empty(tuple(shape), dtype=dtype.numpy_dtype)
    return DeviceArray.empty(shape, storage_name(dtype))


def element_strides(a) -> tuple:
    """Strides in elements of a numpy array or DeviceArray."""
    if isinstance(a, DeviceArray):
        return a.estrides
    item = a.itemsize
    return tuple(s // item for s in a.strides)


def kernel_arg(a):
    """The object passed to a Triton kernel for array ``a``."""
    if isinstance(a, DeviceArray):
        return InterpretedDeviceArg(a) if interpreting() else a
    if not device_memory():
        return HostArray(np.asarray(a))
    return from_host(np.asarray(a))  # a host value reaching a GPU kernel (a small constant): upload


def view(a, node_op: str, attrs: dict, shape):
    """View op ``node_op`` of ``a``: a numpy view, or DeviceArray metadata computed by the view
    row's stride rule (the one definition of view semantics); a copy only where a reshape cannot
    be expressed with strides, as in eager."""
    shape = tuple(shape)
    row = ops_table.OPS[node_op]
    if not isinstance(a, DeviceArray):
        return numpy_kernels.run_op(row, [a], attrs, shape, None)
    layout = row.strided(tuple(a.shape), tuple(a.estrides), a.offset, attrs, shape)
    if layout is None:  # a reshape of a non-contiguous layout
        a = a.contiguous()
        layout = row.strided(tuple(a.shape), tuple(a.estrides), a.offset, attrs, shape)
    strides, offset = layout
    if any(s == 0 for s in shape):  # an empty view reads nothing: keep the base offset in range
        offset = a.offset
    return a.as_strided(shape, strides, offset)


def constant(value: np.ndarray, dtype: dt.DType):
    """A program constant in the current mode's memory."""
    value = np.asarray(value, dtype=dtype.numpy_dtype)
    if not device_memory():
        return value
    return from_host(value, dtype)


def _storage_of(a) -> str:
    return a.storage if isinstance(a, DeviceArray) else np.asarray(a).dtype.name


def copy_kernel(dst, src, accumulate: str | None = None) -> None:
    """Launch the strided copy ``dst[...] = src`` (same shapes; any strides and dtypes), or
    ``dst[...] += src`` computed in Triton type ``accumulate``."""
    to_bool = _storage_of(dst) == "bool" and (accumulate is not None or _storage_of(src) != "bool")
    launch_copy(
        kernel_arg(dst),
        kernel_arg(src),
        tuple(dst.shape),
        element_strides(dst),
        element_strides(src),
        to_bool,
        accumulate,
    )


def copy_into(dst, src) -> None:
    """``dst[...] = src`` (broadcast, cast) with the Triton copy kernel."""
    if not isinstance(dst, DeviceArray):  # interpreter mode: numpy buffers, same Triton kernel
        src = np.asarray(src)
        if tuple(src.shape) != tuple(dst.shape):
            src = np.broadcast_to(src, dst.shape)
        if dst.size:
            copy_kernel(dst, src)
        return
    if not isinstance(src, DeviceArray):
        src = from_host(np.asarray(src))
    if tuple(src.shape) != tuple(dst.shape):
        src = view(src, "expand", {"shape": dst.shape}, dst.shape)
    if dst.size == 0:
        return
    if src.storage == dst.storage and dst.is_contiguous() and src.is_contiguous():
        driver().dtod(dst.data_ptr(), src.data_ptr(), dst.nbytes)
        return
    copy_kernel(dst, src)
