"""The Triton backend's runtime: device memory, arrays, and eager single ops.

Two modes (see :mod:`backends.triton._env`):

``gpu``
    Memory comes from the CUDA driver (``libcuda.so`` through ctypes:
    ``cuMemAlloc`` / ``cuMemFree`` / ``cuMemcpyHtoD`` / ``cuMemcpyDtoH`` /
    ``cuMemsetD8``), on the device's primary context and its default stream,
    through a caching allocator with size-bucketed free lists (like PyTorch's:
    a freed block goes back to its bucket and is handed out again without a
    driver call; work on one stream keeps the reuse safe). A
    :class:`DeviceArray` is a strided view of such a block: pointer, shape,
    strides in elements, offset, element type. Views are metadata only. It
    answers what Triton's launcher asks of a tensor argument: ``data_ptr()``
    and ``dtype`` (Triton 3.4-3.9 read ``str(arg.dtype).split('.')[-1]`` and
    canonicalize it, so a plain name such as ``"bfloat16"`` is enough).

``interpreter``
    No GPU: generated kernels run under Triton's interpreter on numpy
    buffers. Values are plain numpy arrays (graphc's CPU tensors' own
    buffers, no copy); at a launch each is wrapped in a :class:`HostArray`,
    which answers the interpreter's copy-in/copy-out protocol without copying
    (the "device" buffer already is host memory).

Eager single ops on cuda tensors (:func:`run_op`) build a one-node graph,
compile it through the same code generator and cache the program per op
signature (op, attributes, input shapes and dtypes).
"""

from __future__ import annotations

import ctypes
import threading
import weakref

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import CudaError, DeviceError, UnsupportedError

from . import _env

interpreting = _env.interpreting  # kernels run under Triton's interpreter

# Whether values live in device memory (DeviceArray). Normally exactly when kernels are
# compiled for a GPU; tests set it to True under the interpreter with a host-memory stand-in
# for the driver, which runs every device-memory code path without a GPU.
FORCE_DEVICE_MEMORY: bool | None = None


def device_memory() -> bool:
    """Whether arrays are :class:`DeviceArray` values (GPU memory) rather than numpy buffers."""
    if FORCE_DEVICE_MEMORY is not None:
        return FORCE_DEVICE_MEMORY
    return not interpreting()


# ----------------------------------------------------------------------------
# element types


def storage_name(d: dt.DType) -> str:
    """The element type a device buffer of graphc dtype ``d`` is stored in."""
    return d.name  # bool is one byte; bfloat16 is real bfloat16 on the device


_STORAGE_ITEMSIZE = {
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
_TRITON_NAME = {"bool": "uint8"}


def triton_pointer_type(d: dt.DType, interpreter: bool = False) -> str:
    """The Triton signature type of a pointer to a buffer of graphc dtype ``d`` ("*fp32")."""
    name = d.numpy_dtype.name if interpreter else storage_name(d)
    name = _TRITON_NAME.get(name, name)
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
# interpreter mode: numpy buffers


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
        self.dtype = _TRITON_NAME.get(name, name)
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
        driver().dtoh(buf, self.block.ptr)
        return _HostStorage(buf.ctypes.data, buf)

    def copy_(self, host):
        driver().htod(self.block.ptr, host.keep)
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


# ----------------------------------------------------------------------------
# the CUDA driver





class _Driver:
    """The few CUDA driver calls graphc needs, through ctypes over libcuda.so."""

    def __init__(self):
        try:
            self.lib = lib = ctypes.CDLL("libcuda.so.1")
        except OSError as e:
            raise DeviceError(f"CUDA is not available: no CUDA driver ({e})") from None
        u64, sz = ctypes.c_uint64, ctypes.c_size_t
        lib.cuMemAlloc_v2.argtypes = [ctypes.POINTER(u64), sz]
        lib.cuMemFree_v2.argtypes = [u64]
        lib.cuMemcpyHtoD_v2.argtypes = [u64, ctypes.c_void_p, sz]
        lib.cuMemcpyDtoH_v2.argtypes = [ctypes.c_void_p, u64, sz]
        lib.cuMemcpyDtoD_v2.argtypes = [u64, u64, sz]
        lib.cuMemsetD8_v2.argtypes = [u64, ctypes.c_ubyte, sz]
        self.check(lib.cuInit(0), "cuInit")
        dev = ctypes.c_int(0)
        self.check(lib.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
        self.device = dev.value
        ctx = ctypes.c_void_p()
        # The primary context: the one Triton's launcher (and PyTorch, where present) use too.
        self.check(lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
        self.check(lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        self.ctx = ctx

    def check(self, status: int, what: str) -> None:
        if status != 0:
            msg = ctypes.c_char_p()
            self.lib.cuGetErrorString(status, ctypes.byref(msg))
            text = msg.value.decode() if msg.value else "unknown error"
            raise CudaError(f"CUDA driver call {what} failed with error {status}: {text}")

    def ensure_current(self) -> None:
        self.check(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    def alloc(self, nbytes: int) -> int:
        ptr = ctypes.c_uint64(0)
        status = self.lib.cuMemAlloc_v2(ctypes.byref(ptr), nbytes)
        if status == 2:  # CUDA_ERROR_OUT_OF_MEMORY
            raise MemoryError(f"CUDA out of memory allocating {nbytes / 2**20:.1f} MiB")
        self.check(status, "cuMemAlloc")
        return ptr.value

    def free(self, ptr: int) -> None:
        self.check(self.lib.cuMemFree_v2(ptr), "cuMemFree")

    def htod(self, dst: int, src: np.ndarray) -> None:
        self.check(self.lib.cuMemcpyHtoD_v2(dst, src.ctypes.data, src.nbytes), "cuMemcpyHtoD")

    def dtoh(self, dst: np.ndarray, src: int) -> None:
        self.check(self.lib.cuMemcpyDtoH_v2(dst.ctypes.data, src, dst.nbytes), "cuMemcpyDtoH")

    def dtod(self, dst: int, src: int, nbytes: int) -> None:
        self.check(self.lib.cuMemcpyDtoD_v2(dst, src, nbytes), "cuMemcpyDtoD")

    def memset(self, dst: int, value: int, nbytes: int) -> None:
        self.check(self.lib.cuMemsetD8_v2(dst, value, nbytes), "cuMemsetD8")

    def synchronize(self) -> None:
        self.check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")

    def attribute(self, attr: int) -> int:
        v = ctypes.c_int(0)
        self.check(self.lib.cuDeviceGetAttribute(ctypes.byref(v), attr, self.device), "cuDeviceGetAttribute")
        return v.value


_driver: _Driver | None = None
_driver_lock = threading.Lock()
_thread = threading.local()  # whether this thread has made the primary context current


def driver() -> _Driver:
    """The process's CUDA driver binding (created on first use; needs a GPU)."""
    global _driver
    d = _driver
    if d is not None:
        if not getattr(_thread, "current", False) and hasattr(d, "ensure_current"):
            d.ensure_current()  # a CUDA context is current per thread
            _thread.current = True
        return d
    if _driver is None:
        with _driver_lock:
            if _driver is None:
                if not device_memory():
                    raise DeviceError(
                        "CUDA tensors are not available while TRITON_INTERPRET=1: the Triton backend then "
                        "runs its kernels under Triton's interpreter on host (CPU) buffers"
                    )
                _driver = _Driver()
                _thread.current = True
    return _driver


# ----------------------------------------------------------------------------
# the caching allocator

_SMALL = 1 << 20  # blocks up to 1 MiB round to 512 B, larger ones to 2 MiB


def _bucket(nbytes: int) -> int:
    nbytes = max(nbytes, 1)
    if nbytes <= _SMALL:
        return (nbytes + 511) // 512 * 512
    return (nbytes + (2 << 20) - 1) // (2 << 20) * (2 << 20)


class CachingAllocator:
    """Size-bucketed free lists over ``cuMemAlloc``: freed blocks are reused, not returned.

    ``empty_cache()`` gives the cached blocks back to the driver (also done
    once, automatically, when an allocation fails for lack of memory).
    """

    def __init__(self):
        self.free_lists: dict[int, list[int]] = {}
        self.lock = threading.Lock()
        self.allocated = 0  # bytes in live blocks
        self.cached = 0  # bytes in free lists
        self.driver_allocs = 0

    def malloc(self, nbytes: int) -> tuple[int, int]:
        size = _bucket(nbytes)
        with self.lock:
            lst = self.free_lists.get(size)
            if lst:
                self.cached -= size
                self.allocated += size
                return lst.pop(), size
        try:
            ptr = driver().alloc(size)
        except MemoryError:
            self.empty_cache()
            ptr = driver().alloc(size)
        with self.lock:
            self.allocated += size
            self.driver_allocs += 1
        return ptr, size

    def release(self, ptr: int, size: int) -> None:
        with self.lock:
            self.free_lists.setdefault(size, []).append(ptr)
            self.allocated -= size
            self.cached += size

    def empty_cache(self) -> None:
        with self.lock:
            lists, self.free_lists = self.free_lists, {}
            self.cached = 0
        d = driver()
        d.synchronize()
        for ptrs in lists.values():
            for p in ptrs:
                d.free(p)

    def stats(self) -> dict:
        return {"allocated_bytes": self.allocated, "cached_bytes": self.cached, "driver_allocs": self.driver_allocs}


allocator = CachingAllocator()


class _Block:
    """One allocation; returned to the allocator when the last array using it is gone."""

    __slots__ = ("ptr", "size", "__weakref__")

    def __init__(self, nbytes: int):
        self.ptr, self.size = allocator.malloc(nbytes)
        weakref.finalize(self, allocator.release, self.ptr, self.size)


# ----------------------------------------------------------------------------
# DeviceArray


class _Flags:
    __slots__ = ("c_contiguous", "writeable")

    def __init__(self, c_contiguous: bool):
        self.c_contiguous = c_contiguous
        self.writeable = True


def contiguous_strides(shape) -> tuple:
    out, acc = [], 1
    for s in reversed(tuple(shape)):
        out.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(out))


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

    def __init__(self, block: _Block, offset: int, shape, estrides, storage: str):
        self.block = block
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.estrides = tuple(int(s) for s in estrides)
        self.storage = storage
        self.dtype = _TRITON_NAME.get(storage, storage)

    # -- creation ------------------------------------------------------------
    @classmethod
    def empty(cls, shape, storage: str) -> "DeviceArray":
        shape = tuple(int(s) for s in shape)
        n = 1
        for s in shape:
            n *= s
        block = _Block(n * _STORAGE_ITEMSIZE[storage])
        return cls(block, 0, shape, contiguous_strides(shape), storage)

    # -- numpy-like metadata --------------------------------------------------------
    @property
    def itemsize(self) -> int:
        return _STORAGE_ITEMSIZE[self.storage]

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
        strides = _reshape_strides(self.shape, self.estrides, shape)
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
        other = (
            other if isinstance(other, DeviceArray) else from_host(np.asarray(other, dtype=_host_dtype(self.storage)))
        )
        total = run_op(ops_table.OPS["add"], [self, _cast_like(other, self)], {}, self.shape, _gdtype(self.storage))
        copy_into(self, total)
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


def _host_dtype(storage: str):
    return np.bool_ if storage == "bool" else (np.float32 if storage == "bfloat16" else np.dtype(storage))


def _gdtype(storage: str) -> dt.DType:
    return dt.by_name(storage)


def _cast_like(x: DeviceArray, like: DeviceArray) -> DeviceArray:
    if x.storage == like.storage:
        return x
    return run_op(ops_table.OPS["cast"], [x], {"dtype": _gdtype(like.storage)}, x.shape, _gdtype(like.storage))


def _reshape_strides(old_shape, old_strides, new_shape):
    """Strides that view ``old`` as ``new_shape`` without a copy, or None (PyTorch's computeStride)."""
    numel = 1
    for s in old_shape:
        numel *= s
    if numel == 0 or not old_shape:
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = old_strides[-1]
    tensor_numel, view_numel = 1, 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        if tensor_d == 0 or (
            old_shape[tensor_d - 1] != 1 and old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride
        ):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = old_strides[tensor_d - 1]
                tensor_numel, view_numel = 1, 1
    if view_d != -1:
        return None
    return tuple(new_strides)


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


def synchronize() -> None:
    """Wait for all queued GPU work (no-op under the interpreter)."""
    if device_memory() and _driver is not None:
        driver().synchronize()


def empty_cache() -> None:
    """Return the caching allocator's free blocks to the driver."""
    if device_memory() and _driver is not None:
        allocator.empty_cache()


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
    """View op ``node_op`` of ``a`` (numpy view, or DeviceArray metadata; a copy only where a
    reshape cannot be expressed with strides)."""
    shape = tuple(shape)
    if not isinstance(a, DeviceArray):
        from backends.numpy.kernels import run_op as np_run_op

        return np_run_op(ops_table.OPS[node_op], [a], attrs, shape, None)
    if node_op == "reshape":
        return a.reshape(shape)
    if node_op == "permute":
        dims = attrs["dims"]
        return a.as_strided([a.shape[d] for d in dims], [a.estrides[d] for d in dims])
    if node_op == "expand":
        lead = len(shape) - a.ndim
        strides = [0] * lead + [0 if s == 1 and t != 1 else st for s, t, st in zip(a.shape, shape[lead:], a.estrides)]
        return a.as_strided(shape, strides)
    if node_op == "slice":
        offset = a.offset
        strides = []
        for st, start, step in zip(a.estrides, attrs["starts"], attrs["steps"]):
            offset += start * st
            strides.append(st * step)
        if any(s == 0 for s in shape):
            offset = a.offset
        return a.as_strided(shape, strides, offset)
    raise KeyError(node_op)


def constant(value: np.ndarray, dtype: dt.DType):
    """A program constant in the current mode's memory."""
    value = np.asarray(value, dtype=dtype.numpy_dtype)
    if not device_memory():
        return value
    return from_host(value, dtype)


def copy_into(dst, src) -> None:
    """``dst[...] = src`` (broadcast, cast) with a Triton copy kernel."""
    from .codegen import copy_kernel

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
    n = dst.size
    if n == 0:
        return
    if isinstance(src, DeviceArray) and src.storage == dst.storage and dst.is_contiguous() and src.is_contiguous():
        driver().dtod(dst.data_ptr(), src.data_ptr(), dst.nbytes)
        return
    copy_kernel(dst, src)


# ----------------------------------------------------------------------------
# eager single ops

_op_cache: dict = {}
_op_cache_lock = threading.Lock()


def _array_dtype(a) -> dt.DType:
    if isinstance(a, DeviceArray):
        return _gdtype(a.storage)
    return dt.from_numpy(np.asarray(a).dtype)


def run_op(opdef, arrays, attrs, shape, dtype):
    """Run one primitive eagerly (cuda tensors): views are metadata, everything else runs
    a generated one-node program, compiled once per op signature."""
    from ir.graph import Graph, _canonical

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
    in_dtypes = [_array_dtype(a) for a in arrays]
    clean = {k: v for k, v in attrs.items() if not k.startswith("_")}
    key = (opdef.name, _canonical(clean), tuple((tuple(a.shape), d.name) for a, d in zip(arrays, in_dtypes)))
    program = _op_cache.get(key)
    if program is None:
        from ir.passes.fusion import fuse

        from .codegen import compile_schedule

        g = Graph(f"eager_{opdef.name}")
        ins = [g.add_input(tuple(a.shape), d) for a, d in zip(arrays, in_dtypes)]
        node = g.add(opdef.name, ins, **clean)
        g.outputs.append(node)
        program = compile_schedule(fuse(g), g.name, quiet=True)
        with _op_cache_lock:
            _op_cache[key] = program
    (out,) = program(arrays)
    return out
