"""Triton code generation: a fused schedule becomes readable ``@triton.jit`` kernels and a host
program that launches them.

``emitter``  the kernel object (launch, autotune, ahead-of-time signature) and the text emitter
``layout``   where values live in a tile and which reads it can express (shared with the
             fusion policy, :mod:`backends.triton.policy`)
``tiles``    pointwise and row (reduction) kernels; ``reduction`` their per-op reduction steps
``matmul``   ``tl.dot`` tiles with a fused epilogue
``single``   gather/scatter/index ops, concat, pad, cumsum, creation and random ops
``program``  the host program, :class:`Program` and :func:`compile_schedule`
"""

from .emitter import CONFIG, CodegenError, TritonKernel
from .program import Program, compile_schedule

__all__ = ["CONFIG", "CodegenError", "Program", "TritonKernel", "compile_schedule"]
