"""The Triton backend as graphc sees it (:class:`backends.base.Backend`): cuda tensors."""

from __future__ import annotations

from backends.base import Backend

from . import driver, eager, memory
from .codegen import CONFIG, Program, compile_schedule
from .policy import TritonFusionPolicy


class TritonBackend(Backend):
    """Generated Triton kernels on an NVIDIA GPU (or under Triton's interpreter on host buffers)."""

    name = "triton"
    device_type = "cuda"

    def __init__(self):
        self._policy = TritonFusionPolicy()

    def run_op(self, opdef, arrays, attrs, shape, dtype):
        return eager.run_op(opdef, arrays, attrs, shape, dtype)

    def compile(self, schedule, name: str = "graph") -> Program:
        return compile_schedule(schedule, name)

    def fusion_policy(self) -> TritonFusionPolicy:
        return self._policy

    def configure(self, **options) -> None:
        if "allow_tf32" in options:  # the matmul codegen reads it (tl.dot's input_precision)
            CONFIG["allow_tf32"] = bool(options["allow_tf32"])

    def to_host(self, array):
        return memory.to_host(array)

    def from_host(self, array, dtype):
        return memory.from_host(array, dtype)

    def synchronize(self) -> None:
        driver.synchronize()


BACKEND = TritonBackend()
