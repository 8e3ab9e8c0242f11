"""The Triton backend: fused ``@triton.jit`` kernels for NVIDIA GPUs, testable on any machine.

Importing this package decides the mode (:mod:`._env`): with a CUDA GPU the
kernels run on device memory; without one ``TRITON_INTERPRET=1`` is set
before triton is imported and the same kernels run under Triton's
interpreter on host (numpy) buffers. ``codegen`` turns a fused schedule into
kernels and a host program; ``runtime`` owns device memory and eager single
ops; ``aot`` compiles any generated kernel for a GPU target without a GPU.
"""

from ._env import GPU_PRESENT, NO_GPU_REASON, interpreting  # noqa: F401  (sets TRITON_INTERPRET first)

try:
    import triton  # noqa: F401
except ImportError as e:  # an ImportError still: graphc.cuda reports it as the reason cuda is unavailable
    raise ImportError(f"graphc's Triton backend needs Triton 3.4 or newer: pip install 'graphc[triton]' ({e})") from e

from .codegen import CONFIG, KernelInfo, Program, TritonKernel, compile_schedule  # noqa: E402

__all__ = [
    "CONFIG",
    "GPU_PRESENT",
    "KernelInfo",
    "NO_GPU_REASON",
    "Program",
    "TritonKernel",
    "compile_schedule",
    "interpreting",
]
