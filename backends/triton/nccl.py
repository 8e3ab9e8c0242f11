"""NCCL collectives on graphc's device buffers: the GPU engine of ``graphc.distributed``.

NCCL comes from the ``nvidia-nccl-cu12`` wheel (``nvidia/nccl/lib/libnccl.so.2``,
or ``GRAPHC_NCCL_LIBRARY``, or the system's ``libnccl.so.2``), bound through
ctypes like the CUDA driver in :mod:`backends.triton.driver`; buffers are
:class:`~backends.triton.memory.DeviceArray` pointers, no other framework's
tensors. Calls go on the device's default stream, the stream graphc's
kernels run on, so a collective is ordered after the kernels that produced
its input and before those that read its output.

Bootstrap and checks go through the job's MPI group (:class:`MPIGroup`):
rank 0 makes the NCCL unique id and broadcasts it, and each call first
compares its descriptor across ranks as the MPI engine does. Completion is
an event recorded after the call and polled against the timeout; on timeout
the communicator is aborted (``ncclCommAbort``) and the call raises
:class:`~ir.errors.DistributedTimeoutError` instead of hanging.
"""

from __future__ import annotations

import ctypes
import glob
import os
import time

import numpy as np

from ir.errors import DistributedError, DistributedTimeoutError, UnsupportedError

from .driver import driver as _driver
from .memory import copy_into as _copy_into

# ncclDataType_t and ncclRedOp_t values (nccl.h, stable since NCCL 2.0; bfloat16 since 2.10)
_NCCL_DTYPE = {"int8": 0, "uint8": 1, "bool": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7, "float64": 8, "bfloat16": 9}
_NCCL_OP = {"sum": 0, "product": 1, "max": 2, "min": 3, "avg": 4}
_CUDA_ERROR_NOT_READY = 600


def library_path() -> str | None:
    """Where libnccl.so.2 is: ``GRAPHC_NCCL_LIBRARY``, the nvidia-nccl-cu12 wheel, or None (the system's)."""
    env = os.environ.get("GRAPHC_NCCL_LIBRARY")
    if env:
        return env
    try:
        import nvidia.nccl  # reason: the optional nvidia-nccl-cu12 wheel, probed for its library

        for root in nvidia.nccl.__path__:
            found = glob.glob(os.path.join(root, "lib", "libnccl.so*"))
            if found:
                return sorted(found)[0]
    except ImportError:
        pass
    return None


class _UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * 128)]

    @classmethod
    def of(cls, data: bytes) -> "_UniqueId":
        uid = cls()
        ctypes.memmove(ctypes.addressof(uid), data, 128)
        return uid


class _Lib:
    """The NCCL calls graphc makes."""

    def __init__(self):
        path = library_path() or "libnccl.so.2"
        try:
            self.lib = lib = ctypes.CDLL(path)
        except OSError as e:
            raise DistributedError(f"backend 'nccl': cannot load NCCL ({path}): {e}; pip install nvidia-nccl-cu12") from None
        vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
        lib.ncclGetErrorString.restype = ctypes.c_char_p
        lib.ncclCommInitRank.argtypes = [ctypes.POINTER(vp), i, _UniqueId, i]
        lib.ncclAllReduce.argtypes = [vp, vp, sz, i, i, vp, vp]
        lib.ncclBroadcast.argtypes = [vp, vp, sz, i, i, vp, vp]
        lib.ncclAllGather.argtypes = [vp, vp, sz, i, vp, vp]
        lib.ncclReduceScatter.argtypes = [vp, vp, sz, i, i, vp, vp]
        lib.ncclSend.argtypes = [vp, sz, i, i, vp, vp]
        lib.ncclRecv.argtypes = [vp, sz, i, i, vp, vp]
        lib.ncclCommAbort.argtypes = [vp]
        lib.ncclCommDestroy.argtypes = [vp]
        lib.ncclCommGetAsyncError.argtypes = [vp, ctypes.POINTER(i)]

    def check(self, status: int, what: str) -> None:
        if status != 0:
            raise DistributedError(f"{what}: NCCL error {status}: {self.lib.ncclGetErrorString(status).decode()}")

    def version(self) -> int:
        v = ctypes.c_int(0)
        self.check(self.lib.ncclGetVersion(ctypes.byref(v)), "ncclGetVersion")
        return v.value

    def unique_id(self) -> bytes:
        uid = _UniqueId()
        self.check(self.lib.ncclGetUniqueId(ctypes.byref(uid)), "ncclGetUniqueId")
        return ctypes.string_at(ctypes.addressof(uid), 128)  # (.internal would stop at a NUL byte)


_lib: _Lib | None = None


def lib() -> _Lib:
    global _lib
    if _lib is None:
        _lib = _Lib()
    return _lib


class _Event:
    """A CUDA event recorded on the default stream, polled for completion."""

    def __init__(self):
        d = _driver()
        self.d = d
        self.ev = ctypes.c_void_p()
        d.check(d.lib.cuEventCreate(ctypes.byref(self.ev), 2), "cuEventCreate")  # CU_EVENT_DISABLE_TIMING
        d.check(d.lib.cuEventRecord(self.ev, None), "cuEventRecord")

    def query(self) -> bool:
        status = self.d.lib.cuEventQuery(self.ev)
        if status == _CUDA_ERROR_NOT_READY:
            return False
        self.d.check(status, "cuEventQuery")
        return True

    def __del__(self):
        try:
            self.d.lib.cuEventDestroy_v2(self.ev)
        except Exception:  # interpreter shutdown: the driver may be gone
            pass


class NCCLWork:
    """An NCCL call in flight on the stream; ``wait()`` polls its event against the timeout."""

    def __init__(self, group, what: str, finish=None, result=None):
        self.group, self.what, self._finish, self.result_value = group, what, finish, result
        self.event = _Event()
        self.done = False

    def is_completed(self) -> bool:
        if not self.done and self.event.query():
            self._complete()
        return self.done

    def wait(self, timeout: float | None = None):
        limit = self.group.timeout if timeout is None else float(timeout)
        start = time.monotonic()
        while not self.is_completed():
            self.group.check_async(self.what)
            if time.monotonic() - start > limit:
                self.group.abort(f"{self.what} did not complete within {limit:g} s")
                raise DistributedTimeoutError(
                    f"{self.what} did not complete within {limit:g} s: another rank did not take part (it died, "
                    "stopped participating, or waits in a different call); the NCCL communicator was aborted"
                )
            time.sleep(1e-4)
        return self.result_value

    def _complete(self):
        self.done = True
        if self._finish is not None:
            self._finish()


class NCCLGroup:
    """Collectives over an NCCL communicator, one rank per GPU (see the module docstring)."""

    backend = "nccl"

    def __init__(self, ctrl, name: str = "world", timeout: float | None = None):
        self.ctrl = ctrl  # the MPI group: bootstrap and argument checks
        self.name, self.rank, self.size = name, ctrl.rank, ctrl.size
        self.timeout = ctrl.timeout if timeout is None else float(timeout)
        self.lib = lib()
        _driver()  # the CUDA context NCCL will use
        uid = np.frombuffer(self.lib.unique_id() if self.rank == 0 else bytes(128), dtype=np.uint8).copy()
        ctrl.broadcast(uid, 0)
        self.comm = ctypes.c_void_p()
        self.lib.check(
            self.lib.lib.ncclCommInitRank(ctypes.byref(self.comm), self.size, _UniqueId.of(uid.tobytes()), self.rank),
            f"rank {self.rank}: ncclCommInitRank",
        )

    # -- errors --------------------------------------------------------------------------------
    def check_async(self, what: str) -> None:
        err = ctypes.c_int(0)
        self.lib.check(self.lib.lib.ncclCommGetAsyncError(self.comm, ctypes.byref(err)), what)
        if err.value not in (0, 7):  # ncclSuccess, ncclInProgress
            self.abort(what)
            raise DistributedError(f"{what}: NCCL reported error {err.value}: {self.lib.lib.ncclGetErrorString(err.value).decode()}")

    def abort(self, why: str) -> None:
        if self.comm:
            self.lib.lib.ncclCommAbort(self.comm)
            self.comm = ctypes.c_void_p()
        self.ctrl.broken = why

    # -- buffers ---------------------------------------------------------------------------------
    def _dtype(self, arr, call):
        storage = arr.storage
        if storage not in _NCCL_DTYPE:
            raise UnsupportedError(f"rank {self.rank}: {call}: NCCL has no {storage} type; cast the tensor (e.g. to int32)")
        return _NCCL_DTYPE[storage]

    @staticmethod
    def _contiguous(arr):
        if arr.is_contiguous():
            return arr, None
        tmp = arr.contiguous()
        return tmp, lambda: _copy_into(arr, tmp)

    def _begin(self, call, detail, dtype, shape, op="", root=-1):
        if not self.comm:
            raise DistributedError(f"rank {self.rank}: {call}: the NCCL communicator was aborted after an earlier error")
        seq, what = self.ctrl._begin(call, detail)
        self.ctrl._check(call, seq, what, dtype, shape, op, root)
        return what

    def _ret(self, work, async_op):
        if async_op:
            return work
        work.wait()
        return None

    # -- collectives --------------------------------------------------------------------------------
    def all_reduce(self, arr, op="sum", dtype="", async_op=False):
        dtype = dtype or arr.storage
        what = self._begin("all_reduce", f"{dtype}{list(arr.shape)} on cuda, ReduceOp.{op.upper()}", dtype, arr.shape, op)
        buf, back = self._contiguous(arr)
        p = buf.data_ptr()
        self.lib.check(self.lib.lib.ncclAllReduce(p, p, buf.size, self._dtype(buf, what), _NCCL_OP[op], self.comm, None), what)
        return self._ret(NCCLWork(self, what, back, arr), async_op)

    def broadcast(self, arr, src, dtype="", async_op=False):
        dtype = dtype or arr.storage
        what = self._begin("broadcast", f"{dtype}{list(arr.shape)} on cuda from rank {src}", dtype, arr.shape, root=src)
        buf, back = self._contiguous(arr)
        p = buf.data_ptr()
        self.lib.check(self.lib.lib.ncclBroadcast(p, p, buf.size, self._dtype(buf, what), src, self.comm, None), what)
        return self._ret(NCCLWork(self, what, back, arr), async_op)

    def all_gather(self, out, inp, dtype="", async_op=False):
        dtype = dtype or inp.storage
        what = self._begin("all_gather", f"{dtype}{list(inp.shape)} on cuda", dtype, inp.shape)
        src, _ = self._contiguous(inp)
        dst, back = self._contiguous(out)
        self.lib.check(self.lib.lib.ncclAllGather(src.data_ptr(), dst.data_ptr(), src.size, self._dtype(src, what), self.comm, None), what)
        return self._ret(NCCLWork(self, what, back, out), async_op)

    def reduce_scatter(self, out, inp, op="sum", dtype="", async_op=False):
        dtype = dtype or inp.storage
        what = self._begin("reduce_scatter", f"{dtype}{list(inp.shape)} on cuda, ReduceOp.{op.upper()}", dtype, inp.shape, op)
        src, _ = self._contiguous(inp)
        dst, back = self._contiguous(out)
        self.lib.check(
            self.lib.lib.ncclReduceScatter(src.data_ptr(), dst.data_ptr(), dst.size, self._dtype(src, what), _NCCL_OP[op], self.comm, None),
            what,
        )
        return self._ret(NCCLWork(self, what, back, out), async_op)

    def barrier(self, async_op=False):
        return self.ctrl.barrier(async_op)

    def send(self, arr, dst, tag=0, dtype="", async_op=False):
        what = f"rank {self.rank}: send of {arr.storage}{list(arr.shape)} on cuda to rank {dst}"
        buf, _ = self._contiguous(arr)
        self.lib.check(self.lib.lib.ncclSend(buf.data_ptr(), buf.size, self._dtype(buf, what), dst, self.comm, None), what)
        return self._ret(NCCLWork(self, what), async_op)

    def recv(self, arr, src, tag=0, dtype="", async_op=False):
        what = f"rank {self.rank}: recv of {arr.storage}{list(arr.shape)} on cuda from rank {src}"
        buf, back = self._contiguous(arr)
        self.lib.check(self.lib.lib.ncclRecv(buf.data_ptr(), buf.size, self._dtype(buf, what), src, self.comm, None), what)
        return self._ret(NCCLWork(self, what, back, src), async_op)

    def close(self):
        if self.comm:
            self.lib.lib.ncclCommDestroy(self.comm)
            self.comm = ctypes.c_void_p()
