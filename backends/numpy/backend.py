"""The numpy backend as graphc sees it (:class:`backends.base.Backend`): CPU tensors.

Values are numpy arrays; eager ops run the kernels of :mod:`.kernels`, compiled schedules
become generated numpy source (:mod:`.codegen`). It fuses everything fusion's own rules allow
(the base :class:`~ir.passes.fusion.FusionPolicy`).
"""

from __future__ import annotations

import numpy as np

from backends.base import Backend

from . import codegen, kernels


class NumpyBackend(Backend):
    """numpy on the CPU: eager kernels per op kind, generated blocked and threaded programs."""

    name = "numpy"
    device_type = "cpu"

    def run_op(self, opdef, arrays, attrs, shape, dtype):
        return kernels.run_op(opdef, arrays, attrs, shape, dtype)

    def compile(self, schedule, name: str = "graph") -> codegen.Program:
        return codegen.compile_schedule(schedule, name)

    def to_host(self, array) -> np.ndarray:
        return np.asarray(array)


BACKEND = NumpyBackend()
