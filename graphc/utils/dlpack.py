"""DLPack both ways: ``graphc.from_dlpack(obj)`` and ``Tensor.__dlpack__``/``__dlpack_device__``.

Zero-copy exchange with numpy, PyTorch, JAX, CuPy and anything else that speaks DLPack: the
other library's memory becomes a graphc tensor's buffer (and the reverse) without copying,
so a write through either side is seen by the other.

* CPU tensors export through numpy's own ``__dlpack__`` on the tensor's buffer (a numpy
  array). ``bfloat16`` is stored as float32 on the CPU, so it cannot be shared as bfloat16:
  exporting one raises ``BufferError`` (convert with ``.float()`` first).
* CUDA tensors export a ``DLManagedTensor`` capsule built here with ``ctypes`` over the
  device buffer (the buffer stays alive until the consumer calls the deleter).
* Import reads the ``DLManagedTensor`` (legacy or versioned capsule) with ``ctypes``: CPU
  memory becomes a strided numpy view, CUDA memory a device array of the Triton backend,
  each holding the producer's capsule until the tensor is gone, when it calls the deleter.
  CPU ``bfloat16`` arrives by copy (graphc's CPU storage for it is float32).

The layouts follow the DLPack header (``dlpack.h``, version 1.0).
"""

from __future__ import annotations

import ctypes
import weakref

import numpy as np

from ir import dtypes as dt

from .._tensor import Tensor
from ..device import as_device, backend_for

__all__ = ["from_dlpack", "to_dlpack"]

# device types (DLDeviceType)
kDLCPU, kDLCUDA, kDLCUDAHost, kDLCUDAManaged = 1, 2, 3, 13
# dtype codes (DLDataTypeCode)
kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLBool = 0, 1, 2, 4, 6

_LEGACY, _VERSIONED = b"dltensor", b"dltensor_versioned"
_USED_LEGACY, _USED_VERSIONED = b"used_dltensor", b"used_dltensor_versioned"


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("version", DLPackVersion),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", _Deleter),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_CapsuleDestructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_raw_is_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_IsValid", _api))
_raw_get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_GetPointer", _api))

_DTYPE_CODES = {
    dt.bool_: (kDLBool, 8),
    dt.uint8: (kDLUInt, 8),
    dt.int8: (kDLInt, 8),
    dt.int16: (kDLInt, 16),
    dt.int32: (kDLInt, 32),
    dt.int64: (kDLInt, 64),
    dt.float16: (kDLFloat, 16),
    dt.bfloat16: (kDLBfloat, 16),
    dt.float32: (kDLFloat, 32),
    dt.float64: (kDLFloat, 64),
}
_DTYPE_OF = {v: k for k, v in _DTYPE_CODES.items()}
_DTYPE_OF[(kDLUInt, 1)] = dt.bool_  # some producers describe bool as a 1-bit unsigned integer


# -- export (CUDA; CPU goes through numpy) -------------------------------------------------------

_exported: dict[int, tuple] = {}  # address of a DLManagedTensor -> what must live until its deleter


@_Deleter
def _delete_exported(address):
    _exported.pop(address, None)


@_CapsuleDestructor
def _capsule_destructor(capsule):
    """Free an exported tensor whose capsule was never consumed (it still has its first name)."""
    if _raw_is_valid(capsule, _LEGACY):
        _delete_exported(_raw_get_pointer(capsule, _LEGACY))


def _device_capsule(t: Tensor):
    arr = t._data
    code, bits = _DTYPE_CODES[t.dtype]
    ndim = t.ndim
    shape = (ctypes.c_int64 * max(ndim, 1))(*arr.shape)
    strides = (ctypes.c_int64 * max(ndim, 1))(*arr.estrides)
    managed = DLManagedTensor()
    managed.dl_tensor.data = arr.data_ptr()
    managed.dl_tensor.device = DLDevice(kDLCUDA, t.device.index or 0)
    managed.dl_tensor.ndim = ndim
    managed.dl_tensor.dtype = DLDataType(code, bits, 1)
    managed.dl_tensor.shape = shape
    managed.dl_tensor.strides = strides
    managed.dl_tensor.byte_offset = 0
    managed.manager_ctx = None
    managed.deleter = _delete_exported
    address = ctypes.addressof(managed)
    _exported[address] = (managed, shape, strides, arr)  # the buffer lives until the deleter runs
    return _api.PyCapsule_New(address, _LEGACY, ctypes.cast(_capsule_destructor, ctypes.c_void_p))


def _tensor_dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of this tensor's memory (zero-copy), for ``xp.from_dlpack(tensor)``."""
    if self._data is None:
        self._need_data("__dlpack__")
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
        raise BufferError(f"__dlpack__: cannot export a {self.device} tensor to device {tuple(dl_device)}")
    if self._device.type == "cpu":
        if self.dtype is dt.bfloat16:
            raise BufferError(
                "__dlpack__: graphc stores CPU bfloat16 tensors as float32, so they cannot be shared as "
                "bfloat16; export tensor.float() instead"
            )
        kwargs = {"stream": stream}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if copy is not None:
            kwargs["copy"] = copy
        return self._data.__dlpack__(**kwargs)
    if copy:
        return _device_capsule(self.clone())
    backend_for(self._device).synchronize()  # the consumer's stream then sees finished values
    return _device_capsule(self)


def _tensor_dlpack_device(self):
    """``(device type, device id)`` as DLPack numbers them: (1, 0) for the CPU, (2, i) for cuda:i."""
    if self._device.type == "cpu":
        return (kDLCPU, 0)
    return (kDLCUDA, self._device.index or 0)


Tensor.__dlpack__ = _tensor_dlpack
Tensor.__dlpack_device__ = _tensor_dlpack_device


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor`` (PyTorch's ``torch.utils.dlpack.to_dlpack``)."""
    return tensor.__dlpack__()


# -- import ------------------------------------------------------------------------------------


class _Imported:
    """Holds a consumed capsule's managed tensor; calls its deleter when the last view is gone."""

    def __init__(self, address: int, versioned: bool, capsule):
        self.address = address
        self.versioned = versioned
        self.capsule = capsule  # keeps the producer's capsule object (and what it owns) alive
        weakref.finalize(self, _call_deleter, address, versioned)


def _call_deleter(address: int, versioned: bool) -> None:
    struct = DLManagedTensorVersioned if versioned else DLManagedTensor
    managed = struct.from_address(address)
    fn = ctypes.cast(managed.deleter, ctypes.c_void_p).value
    if fn:
        # called with the GIL held: a producer's deleter may release Python objects (numpy's does)
        ctypes.PYFUNCTYPE(None, ctypes.c_void_p)(fn)(address)


class _HostView:
    """What numpy reads to view imported CPU memory (``__array_interface__``); it keeps the owner."""

    def __init__(self, interface, owner):
        self.__array_interface__ = interface
        self.owner = owner


def _consume(capsule):
    """``(DLTensor, owner)`` of a DLPack capsule, which is renamed to 'used' (ours now)."""
    if _api.PyCapsule_IsValid(capsule, _VERSIONED):
        address = _api.PyCapsule_GetPointer(capsule, _VERSIONED)
        managed = DLManagedTensorVersioned.from_address(address)
        if managed.version.major > 1:
            raise BufferError(f"from_dlpack: DLPack version {managed.version.major} is newer than graphc reads (1)")
        _api.PyCapsule_SetName(capsule, _USED_VERSIONED)
        return managed.dl_tensor, _Imported(address, True, capsule)
    if _api.PyCapsule_IsValid(capsule, _LEGACY):
        address = _api.PyCapsule_GetPointer(capsule, _LEGACY)
        managed = DLManagedTensor.from_address(address)
        _api.PyCapsule_SetName(capsule, _USED_LEGACY)
        return managed.dl_tensor, _Imported(address, False, capsule)
    raise BufferError("from_dlpack: the capsule is not an unconsumed DLPack tensor ('dltensor')")


def _layout(tensor: DLTensor):
    ndim = tensor.ndim
    shape = tuple(int(tensor.shape[i]) for i in range(ndim))
    if tensor.strides:
        strides = tuple(int(tensor.strides[i]) for i in range(ndim))
    else:
        strides, acc = [], 1
        for s in reversed(shape):
            strides.append(acc)
            acc *= max(s, 1)
        strides = tuple(reversed(strides))
    return shape, strides


def _dtype_of(tensor: DLTensor) -> dt.DType:
    key = (int(tensor.dtype.code), int(tensor.dtype.bits))
    if int(tensor.dtype.lanes) != 1 or key not in _DTYPE_OF:
        raise BufferError(
            f"from_dlpack: unsupported DLPack dtype (code {key[0]}, bits {key[1]}, lanes {tensor.dtype.lanes})"
        )
    return _DTYPE_OF[key]


def _extent(shape, strides, itemsize) -> tuple[int, int]:
    """The lowest and one-past-highest byte offsets a strided array touches."""
    if any(s == 0 for s in shape):
        return 0, 0
    lo = sum(st * (s - 1) for s, st in zip(shape, strides) if st < 0) * itemsize
    hi = sum(st * (s - 1) for s, st in zip(shape, strides) if st > 0) * itemsize + itemsize
    return lo, hi


def _host_tensor(tensor: DLTensor, owner) -> Tensor:
    dtype = _dtype_of(tensor)
    shape, strides = _layout(tensor)
    itemsize = tensor.dtype.bits // 8
    base = (tensor.data or 0) + int(tensor.byte_offset)
    if dtype is dt.bfloat16:  # stored as float32 in graphc: widen the 16 high bits (a copy)
        raw = np.asarray(_HostView(_interface(base, shape, strides, "<u2", 2), owner))
        wide = (raw.astype(np.uint32) << 16).view(np.float32)
        return Tensor._wrap(np.ascontiguousarray(wide), dtype)
    typestr = "|b1" if dtype is dt.bool_ else np.dtype(dtype.numpy_dtype).str
    arr = np.asarray(_HostView(_interface(base, shape, strides, typestr, itemsize), owner))
    return Tensor._wrap(arr, dtype)


def _interface(ptr, shape, strides, typestr, itemsize):
    if not any(s == 0 for s in shape) and ptr == 0:
        raise BufferError("from_dlpack: the tensor has a null data pointer")
    return {
        "version": 3,
        "shape": shape,
        "typestr": typestr,
        "data": (ptr or 1 << 12, False),  # a size-0 array still needs a non-null address
        "strides": tuple(s * itemsize for s in strides),
    }


class _ExternalBlock:
    """A device buffer owned by another library, in the shape of the Triton backend's blocks."""

    __slots__ = ("ptr", "size", "owner", "__weakref__")

    def __init__(self, ptr: int, size: int, owner):
        self.ptr, self.size, self.owner = ptr, size, owner


def _device_tensor(tensor: DLTensor, owner, device_id: int) -> Tensor:
    dtype = _dtype_of(tensor)
    shape, strides = _layout(tensor)
    if any(s < 0 for s in strides):
        raise BufferError("from_dlpack: negative strides on a cuda tensor are not supported")
    device = as_device(f"cuda:{device_id}")
    backend = backend_for(device)  # raises a clear DeviceError without a GPU
    itemsize = tensor.dtype.bits // 8
    _, hi = _extent(shape, strides, itemsize)
    block = _ExternalBlock(int(tensor.data or 0) + int(tensor.byte_offset), hi, owner)
    # The backend's strided device-array type, found through the protocol (a size-0 transfer), so
    # this does not depend on where the Triton backend keeps it; device storage is named by dtype.
    array_type = type(backend.from_host(np.zeros((0,), np.float32), dt.float32))
    arr = array_type(block, 0, shape, strides, dtype.name)
    return Tensor._wrap(arr, dtype, device)


class _CapsuleSource:
    """A bare capsule (``to_dlpack`` output) seen as a DLPack producer."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule


def from_dlpack(ext_tensor) -> Tensor:
    """A graphc tensor sharing the memory of ``ext_tensor``: any object with ``__dlpack__``
    (numpy arrays, PyTorch/JAX/CuPy tensors) or a DLPack capsule.

    >>> t = graphc.from_dlpack(np.arange(3.0))   # no copy: writes show on both sides
    """
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if hasattr(ext_tensor, "__dlpack__"):
        device_type, device_id = ext_tensor.__dlpack_device__()
        if device_type == kDLCUDA:
            # legacy default stream: graphc's kernels run there, so the producer orders its work before it
            capsule = ext_tensor.__dlpack__(stream=1)
        elif device_type in (kDLCPU, kDLCUDAHost, kDLCUDAManaged):
            capsule = ext_tensor.__dlpack__()
        else:
            raise BufferError(f"from_dlpack: graphc cannot read memory of DLPack device type {device_type}")
    elif type(ext_tensor).__name__ == "PyCapsule":
        capsule = ext_tensor
    else:
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got {type(ext_tensor).__name__}")
    tensor, owner = _consume(capsule)
    device_type = int(tensor.device.device_type)
    if device_type in (kDLCPU, kDLCUDAHost, kDLCUDAManaged):
        return _host_tensor(tensor, owner)
    if device_type == kDLCUDA:
        return _device_tensor(tensor, owner, int(tensor.device.device_id))
    raise BufferError(f"from_dlpack: graphc cannot read memory of DLPack device type {device_type}")
