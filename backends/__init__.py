"""Code generation and runtimes. ``numpy`` runs on the CPU, ``triton`` on NVIDIA GPUs.

Backends read ``ir`` and never import ``graphc``. Each implements :class:`base.Backend` and is
registered here for its device type; graphc finds them with :func:`backend_for_device` (by
device) or :func:`backend_named` (``graphc.compile(backend=...)``). The Triton backend is
loaded on first use: importing it imports Triton and decides its mode.
"""

from .base import (
    Backend,
    KernelInfo,
    Program,
    backend_for_device,
    backend_named,
    register_backend,
    registered_backends,
)
from .numpy.backend import BACKEND as _NUMPY


def _triton():
    from .triton import BACKEND  # optional heavy dependency: imports triton, sets its mode

    return BACKEND


register_backend("numpy", "cpu", lambda: _NUMPY)
register_backend("triton", "cuda", _triton)

__all__ = [
    "Backend",
    "KernelInfo",
    "Program",
    "backend_for_device",
    "backend_named",
    "register_backend",
    "registered_backends",
]
