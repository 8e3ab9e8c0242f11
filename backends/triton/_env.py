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

import os
import sys

from backends.probe import gpu_unavailable_reason
from ir.errors import UnsupportedError

_TRUE = ("1", "true", "on", "yes")

NO_GPU_REASON = gpu_unavailable_reason()
GPU_PRESENT = NO_GPU_REASON is None

_triton_was_imported = "triton" in sys.modules
if not GPU_PRESENT and not _triton_was_imported:
    os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")


def interpreting() -> bool:
    """Whether kernels run under Triton's interpreter (host buffers) rather than on a GPU."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in _TRUE


def check_usable() -> None:
    """Raise a clear error when kernels can run neither on a GPU nor under the interpreter.

    That happens when ``triton`` was imported (by someone else) before this
    package could set ``TRITON_INTERPRET=1``: with no GPU there is nowhere to
    run, and with ``TRITON_INTERPRET=1`` set late Triton's own jit helpers are
    compiled-mode functions that the interpreter cannot call.
    """
    if not interpreting():
        if not GPU_PRESENT:
            raise UnsupportedError(
                f"graphc's Triton backend has no GPU here ({NO_GPU_REASON}) and TRITON_INTERPRET is "
                f"set to {os.environ.get('TRITON_INTERPRET')!r}; set TRITON_INTERPRET=1 before starting "
                "Python to run the Triton kernels under Triton's interpreter, or use the numpy backend"
            )
        return
    import triton.language as tl  # optional heavy dependency, imported by the caller already

    if type(tl.standard.sum).__name__ != "InterpretedFunction":
        raise UnsupportedError(
            "triton was imported before TRITON_INTERPRET=1 was set, so Triton's interpreter cannot run "
            "graphc's kernels in this process; set TRITON_INTERPRET=1 in the environment (or import "
            "graphc's Triton backend before triton)"
        )
