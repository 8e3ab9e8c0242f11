"""Device memory on a GPU: the CUDA driver binding and the caching allocator.

Memory comes from the CUDA driver (``libcuda.so`` through ctypes: ``cuMemAlloc`` /
``cuMemFree`` / ``cuMemcpyHtoD`` / ``cuMemcpyDtoH`` / ``cuMemsetD8``), on the device's primary
context and its default stream, through a caching allocator with size-bucketed free lists
(like PyTorch's: a freed block goes back to its bucket and is handed out again without a
driver call; work on one stream keeps the reuse safe).

Without a GPU, values are numpy buffers and none of this runs (:func:`device_memory` is
False); tests replace ``_driver`` with a host-memory stand-in and set
``FORCE_DEVICE_MEMORY`` to run every device-memory path under the interpreter.
"""

from __future__ import annotations

import ctypes
import threading
import weakref

import numpy as np

from ir.errors import CudaError, DeviceError

from . import _env

interpreting = _env.interpreting  # kernels run under Triton's interpreter

# Whether values live in device memory (DeviceArray). Normally exactly when kernels are
# compiled for a GPU; tests set it to True under the interpreter with a host-memory stand-in
# for the driver, which runs every device-memory code path without a GPU.
FORCE_DEVICE_MEMORY: bool | None = None


def device_memory() -> bool:
    """Whether arrays are device arrays (GPU memory) rather than numpy buffers."""
    if FORCE_DEVICE_MEMORY is not None:
        return FORCE_DEVICE_MEMORY
    return not interpreting()


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


class Block:
    """One allocation; returned to the allocator when the last array using it is gone."""

    __slots__ = ("ptr", "size", "__weakref__")

    def __init__(self, nbytes: int):
        self.ptr, self.size = allocator.malloc(nbytes)
        weakref.finalize(self, allocator.release, self.ptr, self.size)




def synchronize() -> None:
    """Wait for all queued GPU work (no-op under the interpreter)."""
    if device_memory() and _driver is not None:
        driver().synchronize()


def empty_cache() -> None:
    """Return the caching allocator's free blocks to the driver."""
    if device_memory() and _driver is not None:
        allocator.empty_cache()
