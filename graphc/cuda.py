"""``graphc.cuda``: NVIDIA GPUs through the Triton backend.

``is_available()`` is True only where Triton and a CUDA driver with a GPU are
present; elsewhere every cuda request raises a DeviceError that says why.
Importing this module registers the Triton runtime as the backend of ``cuda``
devices (:func:`graphc.device.register_backend`); the probe runs on first use.
"""

from __future__ import annotations

import ctypes

from ir.errors import DeviceError

from . import random as _random
from .device import register_backend


def _probe() -> str | None:
    """None when a GPU can be used, else the reason it cannot."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no CUDA driver (libcuda.so.1) was found on this machine"
    count = ctypes.c_int(0)
    if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return "the CUDA driver reports no GPU"
    try:
        import triton  # noqa: F401  # optional heavy dependency: only probed when a GPU is present
    except ImportError:
        return "Triton is not installed (pip install 'graphc[triton]')"
    try:
        from backends.triton import runtime  # optional backend: imports triton
    except ImportError as e:
        return f"graphc's Triton runtime is not available ({e})"
    if runtime.interpreting():
        return "TRITON_INTERPRET=1 is set, so the Triton backend runs its kernels on host buffers"
    return None


_reason: list = []


def _unavailable_reason() -> str | None:
    if not _reason:
        _reason.append(_probe())
    return _reason[0]


def is_available() -> bool:
    """Whether graphc can run tensors on a CUDA GPU here."""
    return _unavailable_reason() is None


def device_count() -> int:
    return 1 if is_available() else 0


def _backend():
    reason = _unavailable_reason()
    if reason is not None:
        raise DeviceError(
            f"CUDA is not available: {reason}. Keep tensors on the CPU (the default), or check "
            "graphc.cuda.is_available() before moving them with .to('cuda')."
        )
    from backends.triton import runtime  # optional backend: imports triton

    return runtime


register_backend("cuda", _backend)


def synchronize() -> None:
    """Wait for all GPU work to finish (a no-op without a GPU)."""
    if is_available():
        _backend().synchronize()


def manual_seed(seed: int) -> None:
    _random.manual_seed(seed)


manual_seed_all = manual_seed
