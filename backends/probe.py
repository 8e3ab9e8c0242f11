"""The one GPU probe: is there a CUDA driver that reports a GPU?

Asked by the Triton backend (to choose between running kernels on the GPU and under Triton's
interpreter) and by ``graphc.cuda`` (``is_available()``). It loads ``libcuda.so.1`` through
ctypes and imports nothing else, so asking has no side effect on Triton's mode.
"""

from __future__ import annotations

import ctypes
import threading

_lock = threading.Lock()
_answer: list = []


def _probe() -> str | None:
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no CUDA driver (libcuda.so.1) was found on this machine"
    count = ctypes.c_int(0)
    try:
        if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
            return "the CUDA driver reports no GPU"
    except Exception as e:  # pragma: no cover - odd drivers
        return f"the CUDA driver could not be queried ({e})"
    return None


def gpu_unavailable_reason() -> str | None:
    """None when a CUDA driver reports a GPU, else why not (probed once per process)."""
    with _lock:
        if not _answer:
            _answer.append(_probe())
        return _answer[0]
