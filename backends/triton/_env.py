"""Where the Triton backend runs: on a GPU, or under Triton's interpreter on host buffers.

Triton reads ``TRITON_INTERPRET`` when ``triton.language`` is imported (its
``@triton.jit`` helpers, ``tl.sum`` included, become interpretable functions
only then), so the decision is made here, before this package imports triton:

* a CUDA driver with a GPU is present and ``TRITON_INTERPRET`` is unset:
  kernels are compiled for the GPU and run on device memory (``gpu`` mode);
* otherwise ``TRITON_INTERPRET=1`` is set (unless the user set it already)
  and the very same generated kernels run under Triton's interpreter on numpy
  buffers (``interpreter`` mode) — slow, meant for testing on any machine.

``TRITON_DEFAULT_FP_FUSION`` is also defaulted to ``1`` (Triton's own default;
Triton 3.9 warns on every compile while it is unset).
"""

from __future__ import annotations

import ctypes
import os
import sys

_TRUE = ("1", "true", "on", "yes")


def _probe_gpu() -> str | None:
    """None when a CUDA driver reports a GPU, else why not."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no CUDA driver (libcuda.so.1) was found"
    count = ctypes.c_int(0)
    try:
        if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
            return "the CUDA driver reports no GPU"
    except Exception as e:  # pragma: no cover - odd drivers
        return f"the CUDA driver could not be queried ({e})"
    return None


NO_GPU_REASON = _probe_gpu()
GPU_PRESENT = NO_GPU_REASON is None

_triton_was_imported = "triton" in sys.modules
if not GPU_PRESENT and not _triton_was_imported:
    os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")


def interpreting() -> bool:
    """Whether kernels run under Triton's interpreter (host buffers) rather than on a GPU."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in _TRUE


def check_interpreter_usable() -> None:
    """Raise a clear error when the interpreter cannot work in this process.

    That happens when ``triton`` was imported (by someone else) before this
    package could set ``TRITON_INTERPRET=1``: Triton's own jit helpers are then
    compiled-mode functions that the interpreter cannot call.
    """
    from ir.errors import UnsupportedError

    if not interpreting():
        if not GPU_PRESENT:
            raise UnsupportedError(
                f"graphc's Triton backend has no GPU here ({NO_GPU_REASON}) and TRITON_INTERPRET is "
                f"set to {os.environ.get('TRITON_INTERPRET')!r}; set TRITON_INTERPRET=1 before starting "
                "Python to run the Triton kernels under Triton's interpreter, or use the numpy backend"
            )
        return
    import triton.language as tl

    if type(tl.standard.sum).__name__ != "InterpretedFunction":
        raise UnsupportedError(
            "triton was imported before TRITON_INTERPRET=1 was set, so Triton's interpreter cannot run "
            "graphc's kernels in this process; set TRITON_INTERPRET=1 in the environment (or import "
            "graphc's Triton backend before triton)"
        )
