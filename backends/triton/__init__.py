"""The Triton backend: fused ``@triton.jit`` kernels for NVIDIA GPUs, testable on any machine.

Importing this package decides the mode (:mod:`._env`): with a CUDA GPU the kernels run on
device memory; without one ``TRITON_INTERPRET=1`` is set before triton is imported and the
same kernels run under Triton's interpreter on host (numpy) buffers.

Modules, from the bottom up: ``_env`` (mode), ``compat`` (Triton release differences),
``driver`` (CUDA driver, caching allocator), ``args`` (element types, launch arguments),
``jit`` (loading kernel source), ``strided_copy`` (the copy kernel), ``memory``
(``DeviceArray``, host/device transfers, views), ``aot`` (compiling a kernel for a GPU target
without a GPU), ``codegen/`` (kernels and host programs), ``policy`` (what may fuse),
``eager`` (single ops on cuda tensors), ``backend`` (the :class:`~backends.base.Backend`).
"""

from ._env import GPU_PRESENT, NO_GPU_REASON, interpreting  # noqa: F401  (sets TRITON_INTERPRET first)

try:
    import triton  # noqa: F401
except ImportError as e:  # an ImportError still: graphc.cuda reports it as the reason cuda is unavailable
    raise ImportError(f"graphc's Triton backend needs Triton 3.4 to 3.9: pip install 'graphc[triton]' ({e})") from e

from . import compat  # noqa: E402, F401  (refuses a Triton older than the supported range)
from .backend import BACKEND, TritonBackend  # noqa: E402
from .codegen import CONFIG, Program, TritonKernel, compile_schedule  # noqa: E402

__all__ = [
    "BACKEND",
    "CONFIG",
    "GPU_PRESENT",
    "NO_GPU_REASON",
    "Program",
    "TritonBackend",
    "TritonKernel",
    "compile_schedule",
    "interpreting",
]
